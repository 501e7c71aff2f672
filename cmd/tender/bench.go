package main

// tender bench: start a server in this process and drive it over real HTTP
// on 127.0.0.1 for a bounded time, then report throughput and latency.
//
// The load driver lives in bench_load.go; this file holds the flags, the
// server and database setup, and the report.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the bench schema

	"github.com/tenderpay/tender/server"
)

// benchOptions are tender bench's flags.
type benchOptions struct {
	duration      time.Duration
	warmup        time.Duration
	conns         int
	scenario      string
	db            string
	synchronous   string
	simLatency    time.Duration
	postgresConns int
	logLevel      string
	stripeMock    string
	httpFloor     bool
	cpuprofile    string
	// ledger scenario
	ledgerRows     int
	ledgerRequests int
}

// Issue targets on SQLite with synchronous=FULL (see BENCHMARKS.md).
const (
	targetCreatePerSec = 15000
	targetFlowsPerSec  = 3000
)

func parseBenchFlags(args []string, stderr io.Writer) (*benchOptions, error) {
	o := &benchOptions{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: tender bench [flags]

Starts a tender server in this process (127.0.0.1, a SQLite file in a
temporary directory unless --db says otherwise) and drives it over HTTP
with concurrent keep-alive clients for a bounded time per scenario:

  create  POST /payment_intents, a new idempotency key per request
  flow    create intent → pay (card 4242…, capture:false) → capture → partial refund
  ledger  seed --ledger-rows ledger transactions in one account, then measure
          GET /balances, filtered POST /transactions/search pages, cursor pages
          and a CSV download of everything (not part of "all")

The command exits 1 when any request failed.

flags:
`)
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario")
	fs.IntVar(&o.conns, "conns", 64, "concurrent keep-alive clients")
	fs.StringVar(&o.scenario, "scenario", "all", "create, flow, all or ledger")
	fs.IntVar(&o.ledgerRows, "ledger-rows", 1_000_000, "ledger scenario: transactions to seed")
	fs.IntVar(&o.ledgerRequests, "ledger-requests", 1000, "ledger scenario: measured requests per probe")
	fs.StringVar(&o.db, "db", "", "database: empty for a SQLite file in a temporary directory, sqlite:PATH, or a postgres:// URL (a fresh schema is created in it and dropped afterwards)")
	fs.StringVar(&o.synchronous, "sqlite-synchronous", "full", "SQLite synchronous pragma: full or normal")
	fs.DurationVar(&o.simLatency, "sim-latency", 0, "latency the sim processor adds to each call")
	fs.IntVar(&o.postgresConns, "postgres-conns", server.DefaultConfig().PostgresConns, "PostgreSQL connection pool size")
	fs.StringVar(&o.logLevel, "log-level", "warn", "server log level (logs go to stderr)")
	fs.BoolVar(&o.httpFloor, "http-floor", false, "also drive a bare net/http server in this process that answers create's requests without any payment work (the machine's HTTP floor), and compare")
	fs.StringVar(&o.stripeMock, "compare-stripe-mock", "", "URL of a stripe-mock already running on 127.0.0.1 to drive with POST /v1/payment_intents for comparison")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured phases (server and load generator) to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.duration <= 0 || o.duration > time.Hour:
		return nil, errors.New("bench: --duration must be between 0 and 1h")
	case o.warmup < 0 || o.warmup > 10*time.Minute:
		return nil, errors.New("bench: --warmup must be between 0 and 10m")
	case o.conns < 1 || o.conns > 4096:
		return nil, errors.New("bench: --conns must be between 1 and 4096")
	case o.scenario != "create" && o.scenario != "flow" && o.scenario != "all" && o.scenario != "ledger":
		return nil, fmt.Errorf("bench: --scenario must be create, flow, all or ledger, not %q", o.scenario)
	case o.ledgerRows < 1 || o.ledgerRows > 100_000_000:
		return nil, errors.New("bench: --ledger-rows must be between 1 and 100000000")
	case o.ledgerRequests < 1:
		return nil, errors.New("bench: --ledger-requests must be positive")
	}
	if o.stripeMock != "" {
		if err := checkLoopbackURL(o.stripeMock); err != nil {
			return nil, fmt.Errorf("bench: --compare-stripe-mock: %w", err)
		}
	}
	return o, nil
}

// checkLoopbackURL accepts only http URLs on this machine: load is never
// sent anywhere else.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return fmt.Errorf("%q: use an http:// URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: load may only target 127.0.0.1", raw)
	}
	return nil
}

// runBench implements `tender bench`.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}

	c := server.DefaultConfig()
	c.Addr = "127.0.0.1:0"
	c.LogLevel = o.logLevel
	c.Synchronous = o.synchronous
	c.SimLatency = o.simLatency
	c.PostgresConns = o.postgresConns
	// An in-memory master secret: the bench leaves no secret file behind.
	c.Secret = randomHex(32)

	switch {
	case o.db == "":
		dir, err := os.MkdirTemp("", "tender-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.DB = "sqlite:" + filepath.Join(dir, "bench.db")
	case strings.HasPrefix(o.db, "postgres://") || strings.HasPrefix(o.db, "postgresql://"):
		dbURL, drop, err := benchSchema(ctx, o.db)
		if err != nil {
			return err
		}
		defer drop()
		c.DB = dbURL
	default:
		c.DB = o.db
	}

	s, err := server.New(ctx, c, stderr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	boot, err := s.Bootstrap(ctx)
	if err != nil {
		s.Close()
		return fmt.Errorf("bench: %w", err)
	}
	if boot == nil {
		s.Close()
		return errors.New("bench: the database already holds an organization; give --db a new file or leave it empty")
	}
	if err := s.Start(ctx); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer s.Close()

	engine := s.Store.Engine()
	if engine == "sqlite" {
		engine += " (synchronous=" + c.Synchronous + ")"
	}
	fmt.Fprintf(stdout, "tender bench: %s, engine %s, %d conns, %s per scenario (+%s warmup), GOMAXPROCS %d, %d CPUs, %s %s/%s\n",
		time.Now().UTC().Format(time.RFC3339), engine, o.conns, o.duration, o.warmup,
		runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)

	if o.scenario == "ledger" {
		if o.cpuprofile != "" {
			f, err := os.Create(o.cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return runLedgerBench(ctx, o, s, boot.Forward.Test.PrivateKey, boot.AccountID, stdout)
	}
	d := newDriver(s.URL(), o.conns)
	defer d.close()
	tenderAuth := d.forwardHeaders(boot.Forward.Test.PrivateKey, boot.AccountID)
	pmID, err := d.createPaymentMethod(ctx, tenderAuth)
	if err != nil {
		return fmt.Errorf("bench: set-up: %w", err)
	}

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	var results []*benchResult
	run := func(sc scenario) {
		if ctx.Err() != nil {
			return
		}
		if o.warmup > 0 {
			w := d.run(ctx, sc, o.warmup)
			if w.errors > 0 {
				fmt.Fprintf(stderr, "tender bench: %s warmup: %d errors\n", sc.name, w.errors)
				w.printErrors(stderr)
			}
			w.name += " (warmup)"
			if w.errors > 0 {
				results = append(results, w) // counted in the exit status, not printed as a result
			}
		}
		r := d.run(ctx, sc, o.duration)
		r.engine = engine
		results = append(results, r)
		printResult(stdout, r)
		r.printErrors(stderr)
	}
	if o.scenario == "create" || o.scenario == "all" {
		run(createScenario(tenderAuth))
	}
	if o.scenario == "flow" || o.scenario == "all" {
		run(flowScenario(tenderAuth, pmID))
	}
	if o.httpFloor && ctx.Err() == nil {
		sample, err := d.postOnce(ctx, tenderAuth, "/payment_intents", `{"amount":1000,"currency":"USD","description":"bench"}`, "floor-sample")
		if err != nil {
			return fmt.Errorf("bench: set-up: %w", err)
		}
		fs, err := startFloorServer(sample)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer fs.close()
		fd := newDriver(fs.url, o.conns)
		defer fd.close()
		run := func(dur time.Duration) *benchResult { return fd.run(ctx, floorScenario(tenderAuth), dur) }
		if o.warmup > 0 {
			run(o.warmup)
		}
		r := run(o.duration)
		r.engine = "none (net/http and encoding/json only)"
		results = append(results, r)
		printResult(stdout, r)
		r.printErrors(stderr)
	}
	if o.stripeMock != "" {
		sm := newDriver(strings.TrimRight(o.stripeMock, "/"), o.conns)
		defer sm.close()
		sc := stripeMockScenario()
		if o.warmup > 0 {
			sm.run(ctx, sc, o.warmup)
		}
		r := sm.run(ctx, sc, o.duration)
		r.engine = "stripe-mock at " + o.stripeMock
		results = append(results, r)
		printResult(stdout, r)
		r.printErrors(stderr)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	printSummary(stdout, results, s.Store.Engine() == "sqlite" && c.Synchronous == "full")
	var failed int64
	for _, r := range results {
		failed += r.errors
	}
	if failed > 0 {
		return fmt.Errorf("bench: %d requests failed", failed)
	}
	return nil
}

// printResult prints one scenario's line.
func printResult(w io.Writer, r *benchResult) {
	flows := ""
	if r.flowSteps > 0 {
		flows = fmt.Sprintf("  flows/s %9.1f (%d flows)", r.flowsPerSec(), r.flows)
	}
	fmt.Fprintf(w, "%-11s requests/s %9.1f (%d requests in %s)%s  latency p50 %s p90 %s p99 %s max %s  errors %d  engine %s\n",
		r.name, r.requestsPerSec(), r.requests, r.elapsed.Round(time.Millisecond), flows,
		fmtMs(r.percentile(50)), fmtMs(r.percentile(90)), fmtMs(r.percentile(99)), fmtMs(r.max()),
		r.errors, r.engine)
}

// printSummary compares the results with each other and, on SQLite with
// synchronous=FULL, with the targets.
func printSummary(w io.Writer, results []*benchResult, targetsApply bool) {
	byName := map[string]*benchResult{}
	for _, r := range results {
		byName[r.name] = r
	}
	create, flow, sm, floor := byName["create"], byName["flow"], byName["stripe-mock"], byName["http-floor"]
	if create != nil && floor != nil && floor.requestsPerSec() > 0 {
		fmt.Fprintf(w, "side by side: tender create %.1f req/s, HTTP floor %.1f req/s (%.0f%% of the floor)\n",
			create.requestsPerSec(), floor.requestsPerSec(), 100*create.requestsPerSec()/floor.requestsPerSec())
	}
	if create != nil && sm != nil && sm.requestsPerSec() > 0 {
		fmt.Fprintf(w, "side by side: tender create %.1f req/s, stripe-mock %.1f req/s (%.2f×)\n",
			create.requestsPerSec(), sm.requestsPerSec(), create.requestsPerSec()/sm.requestsPerSec())
	}
	if !targetsApply {
		return
	}
	verdict := func(got, want float64) string {
		if got >= want {
			return "met"
		}
		return "NOT met"
	}
	if create != nil {
		fmt.Fprintf(w, "target create ≥ %d req/s: %s (%.1f)\n", targetCreatePerSec, verdict(create.requestsPerSec(), targetCreatePerSec), create.requestsPerSec())
	}
	if flow != nil {
		fmt.Fprintf(w, "target flow ≥ %d flows/s: %s (%.1f)\n", targetFlowsPerSec, verdict(flow.flowsPerSec(), targetFlowsPerSec), flow.flowsPerSec())
	}
}

func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// benchSchema creates a new schema in the PostgreSQL database at base and
// returns a URL that uses it, and a function that drops it.
func benchSchema(ctx context.Context, base string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("bench: --db: %w", err)
	}
	if h := u.Hostname(); h != "" && h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return "", nil, fmt.Errorf("bench: --db %s: the benchmark only runs against a PostgreSQL on 127.0.0.1", h)
		}
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	defer db.Close()
	schema := "tender_bench_" + randomHex(6)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("bench: create schema: %w", err)
	}
	drop := func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
