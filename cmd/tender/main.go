// Command tender runs the tender payments server and its tools.
//
//	tender serve   [--addr 127.0.0.1:8080] [--db sqlite:./tender.db]
//	tender init    --db URL --json
//	tender migrate --db URL
//	tender bench   [--duration 10s] …
//	tender ledger  verify --db URL
//	tender version
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/server"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: tender <command> [flags]

commands:
  serve     run the server (creates the database and a first account if needed)
  init      create an organization with one account and print its credentials
  migrate   apply database migrations
  bench     drive a local server with load and report throughput and latency
  webhooks  redeliver events and print an endpoint's delivery log
  ledger    verify the ledger's invariants; account settings; adjustments
  tokens    mint HighLevel bearer tokens with chosen OAuth scopes
  version   print the version
`

// run is main with its dependencies passed in, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], getenv, stdout, stderr)
	case "init":
		err = runInit(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		err = runBench(ctx, args[1:], getenv, stdout, stderr)
	case "webhooks":
		err = runWebhooks(ctx, args[1:], getenv, stdout, stderr)
	case "ledger":
		err = runLedger(ctx, args[1:], getenv, stdout, stderr)
	case "tokens":
		err = runTokens(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tender", version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "tender: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "tender:", err)
		return 1
	}
	return 0
}

func version() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

// configFlags binds the server configuration to flags, after applying the
// TENDER_* environment on top of the defaults.
func configFlags(fs *flag.FlagSet, getenv func(string) string) (*server.Config, error) {
	c := server.DefaultConfig()
	if v := getenv("TENDER_ADDR"); v != "" {
		c.Addr = v
	}
	if v := getenv("TENDER_DB"); v != "" {
		c.DB = v
	}
	if v := getenv("TENDER_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
	if v := getenv("TENDER_SECRET_FILE"); v != "" {
		c.SecretFile = v
	}
	c.Secret = getenv("TENDER_SECRET")
	for name, dst := range map[string]*time.Duration{"TENDER_SIM_LATENCY": &c.SimLatency, "TENDER_SIM_BANK_DELAY": &c.SimBankDelay,
		"TENDER_SETTLEMENT_DELAY": &c.SettlementDelay, "TENDER_SIM_DISPUTE_DELAY": &c.SimDisputeDelay,
		"TENDER_PAYOUT_TRANSIT_DELAY": &c.PayoutTransitDelay} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			*dst = d
		}
	}
	if v := getenv("TENDER_PAYOUT_SCHEDULE"); v != "" {
		c.PayoutSchedule = v
	}
	if v := getenv("TENDER_SQLITE_SYNCHRONOUS"); v != "" {
		c.Synchronous = v
	}
	if v := getenv("TENDER_WEBHOOKS_ALLOW_PRIVATE"); v == "1" || v == "true" {
		c.WebhooksAllowPrivate = true
	}
	if v := getenv("TENDER_HIGHLEVEL_RATE_LIMIT_OFF"); v == "1" || v == "true" {
		c.HighLevelRateLimitOff = true
	}
	if v := getenv("TENDER_POSTGRES_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("TENDER_POSTGRES_CONNS: %w", err)
		}
		c.PostgresConns = n
	}
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on (env TENDER_ADDR)")
	fs.StringVar(&c.DB, "db", c.DB, "database: sqlite:PATH or postgres://… (env TENDER_DB)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env TENDER_LOG_LEVEL)")
	fs.StringVar(&c.SecretFile, "secret-file", c.SecretFile, "file holding the master secret; default PATH.secret beside a SQLite file, ./tender.secret for PostgreSQL (env TENDER_SECRET_FILE, or the secret itself in TENDER_SECRET)")
	fs.DurationVar(&c.SimLatency, "sim-latency", c.SimLatency, "latency the sim processor adds to each call (env TENDER_SIM_LATENCY)")
	fs.DurationVar(&c.SimBankDelay, "sim-bank-delay", c.SimBankDelay, "how long sim bank payments stay pending (env TENDER_SIM_BANK_DELAY)")
	fs.DurationVar(&c.IdempotencyTTL, "idempotency-ttl", c.IdempotencyTTL, "how long idempotency records are kept")
	fs.DurationVar(&c.SettlementDelay, "settlement-delay", c.SettlementDelay, "how long captured money stays pending before it is available, for accounts without their own delay (env TENDER_SETTLEMENT_DELAY)")
	fs.DurationVar(&c.SettleInterval, "settle-interval", c.SettleInterval, "how often the settlement job looks for due money")
	fs.DurationVar(&c.SimDisputeDelay, "sim-dispute-delay", c.SimDisputeDelay, "how long after capture the sim's dispute card 4000000000000259 is disputed (env TENDER_SIM_DISPUTE_DELAY)")
	fs.StringVar(&c.PayoutSchedule, "payout-schedule", c.PayoutSchedule, "payout schedule of accounts without their own: daily (00:00 UTC), weekly (Mondays), manual, or a period such as 6h (env TENDER_PAYOUT_SCHEDULE)")
	fs.Int64Var(&c.PayoutMinimum, "payout-minimum", c.PayoutMinimum, "smallest payout in minor units, for accounts without their own")
	fs.DurationVar(&c.PayoutScanInterval, "payout-scan-interval", c.PayoutScanInterval, "how often the payout job looks for money to pay out")
	fs.DurationVar(&c.PayoutTransitDelay, "payout-transit-delay", c.PayoutTransitDelay, "how long a payout is pending before it completes (env TENDER_PAYOUT_TRANSIT_DELAY)")
	fs.StringVar(&c.Synchronous, "sqlite-synchronous", c.Synchronous, "SQLite synchronous pragma: full or normal (env TENDER_SQLITE_SYNCHRONOUS)")
	fs.IntVar(&c.PostgresConns, "postgres-conns", c.PostgresConns, "PostgreSQL connection pool size (env TENDER_POSTGRES_CONNS)")
	fs.IntVar(&c.WebhookConcurrency, "webhook-concurrency", c.WebhookConcurrency, "webhook deliveries attempted at once")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", c.WebhookTimeout, "timeout of each webhook delivery attempt")
	fs.BoolVar(&c.HighLevelRateLimitOff, "highlevel-rate-limit-off", c.HighLevelRateLimitOff, "turn off HighLevel's rate limits (env TENDER_HIGHLEVEL_RATE_LIMIT_OFF=1)")
	fs.IntVar(&c.HighLevelRateLimit.Burst, "highlevel-rate-burst", c.HighLevelRateLimit.Burst, "HighLevel requests allowed per token and location in each burst interval")
	fs.DurationVar(&c.HighLevelRateLimit.Interval, "highlevel-rate-interval", c.HighLevelRateLimit.Interval, "HighLevel burst interval")
	fs.IntVar(&c.HighLevelRateLimit.Daily, "highlevel-rate-daily", c.HighLevelRateLimit.Daily, "HighLevel requests allowed per token and location per day")
	fs.BoolVar(&c.WebhooksAllowPrivate, "webhooks-allow-private", c.WebhooksAllowPrivate, "let webhook endpoints and HighLevel custom providers' URLs point at loopback and private addresses (plain http only to loopback), for local development (env TENDER_WEBHOOKS_ALLOW_PRIVATE=1)")
	fs.DurationVar(&c.ProviderTimeout, "provider-timeout", c.ProviderTimeout, "timeout of each call to a HighLevel custom provider's queryUrl")
	return &c, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c, err := configFlags(fs, getenv)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := server.New(ctx, *c, stderr)
	if err != nil {
		return err
	}
	boot, err := s.Bootstrap(ctx)
	if err != nil {
		s.Close()
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if boot != nil {
		printBootstrap(stdout, boot, s.URL())
	}
	fmt.Fprintf(stdout, "tender %s serving on %s (%s)\n", version(), s.URL(), s.Store.Engine())
	<-ctx.Done()
	fmt.Fprintln(stdout, "tender: shutting down")
	return s.Close()
}

func printBootstrap(w io.Writer, b *account.Bootstrap, url string) {
	fmt.Fprintf(w, `
tender created a first organization. Its credentials are shown only this once:

  organization  %s
  account       %s

  Forward API (x-api-key)
    test private key  %s
    test public key   %s
    live private key  %s
    live public key   %s

  HighLevel API (Authorization: Bearer, Version: 2021-07-28)
    company id        %s
    location id       %s
    location token    %s

Try it:
  curl -s %s/payment_intents \
    -H 'x-api-key: %s' -H 'x-account-id: %s' \
    -H 'content-type: application/json' -d '{"amount": 1000}'

`, b.OrganizationID, b.AccountID, b.Forward.Test.PrivateKey, b.Forward.Test.PublicKey,
		b.Forward.Live.PrivateKey, b.Forward.Live.PublicKey, b.HighLevel.CompanyID, b.HighLevel.LocationID, b.HighLevel.Token,
		url, b.Forward.Test.PrivateKey, b.AccountID)
}

func runInit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c, err := configFlags(fs, getenv)
	if err != nil {
		return err
	}
	asJSON := fs.Bool("json", false, "print the credentials as one JSON object")
	name := fs.String("name", "Organization", "the organization's name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := account.New(st).CreateOrganization(ctx, *name)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(b)
	}
	printBootstrap(stdout, b, "http://"+c.Addr)
	return nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c, err := configFlags(fs, getenv)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tender: %s database is migrated\n", st.Engine())
	return st.Close()
}
