// Package server wires tender together: configuration, the store, the
// services, the dialects' routes, the job worker and the HTTP server. The
// tender command and the end-to-end tests start the same Server.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/api/forhopp"
	"github.com/tenderpay/tender/api/forward"
	"github.com/tenderpay/tender/api/highlevel"
	"github.com/tenderpay/tender/catalog"
	"github.com/tenderpay/tender/job"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/order"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/payout"
	"github.com/tenderpay/tender/processor/customprovider"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/provider"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
	"github.com/tenderpay/tender/webhook"
)

// Config is tender's configuration. DefaultConfig gives the defaults;
// TENDER_* environment variables and then flags override them.
type Config struct {
	Addr            string        `json:"addr"`
	DB              string        `json:"db"`
	SecretFile      string        `json:"secret_file"`
	Secret          string        `json:"-"`
	LogLevel        string        `json:"log_level"`
	MaxBodyBytes    int64         `json:"max_body_bytes"`
	SimLatency      time.Duration `json:"sim_latency"`
	SimBankDelay    time.Duration `json:"sim_bank_delay"`
	IdempotencyTTL  time.Duration `json:"idempotency_ttl"`
	JobInterval     time.Duration `json:"job_interval"`
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`
	Synchronous     string        `json:"sqlite_synchronous"`
	PostgresConns   int           `json:"postgres_conns"`
	// WebhooksAllowPrivate lets webhook endpoints point at loopback and
	// private addresses (local development and tests).
	WebhooksAllowPrivate bool `json:"webhooks_allow_private"`
	// WebhookConcurrency is how many deliveries are attempted at once.
	WebhookConcurrency int `json:"webhook_concurrency"`
	// WebhookTimeout bounds each delivery attempt.
	WebhookTimeout time.Duration `json:"webhook_timeout"`
	// HighLevelRateLimit is HighLevel's per-token-and-location rate limit;
	// HighLevelRateLimitOff turns it off.
	HighLevelRateLimit    highlevel.RateLimit `json:"highlevel_rate_limit"`
	HighLevelRateLimitOff bool                `json:"highlevel_rate_limit_off"`
	// SettlementDelay is how long captured money stays pending before it
	// becomes available, for accounts without a delay of their own.
	SettlementDelay time.Duration `json:"settlement_delay"`
	// SettleInterval is how often the settlement job looks for due money.
	SettleInterval time.Duration `json:"settle_interval"`
	// ProviderTimeout bounds each call to a HighLevel custom provider's
	// queryUrl.
	ProviderTimeout time.Duration `json:"provider_timeout"`
	// SimDisputeDelay is how long after capture the sim's dispute card is
	// disputed.
	SimDisputeDelay time.Duration `json:"sim_dispute_delay"`
	// PayoutSchedule and PayoutMinimum apply to accounts without their
	// own (tender.ParsePayoutSchedule); PayoutScanInterval is how often
	// the payout job looks for money to pay out, PayoutTransitDelay how
	// long a payout is pending before it completes.
	PayoutSchedule     string        `json:"payout_schedule"`
	PayoutMinimum      int64         `json:"payout_minimum"`
	PayoutScanInterval time.Duration `json:"payout_scan_interval"`
	PayoutTransitDelay time.Duration `json:"payout_transit_delay"`
}

// DefaultConfig returns the defaults: 127.0.0.1:8080 on ./tender.db.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8080", DB: "sqlite:./tender.db", LogLevel: "info", MaxBodyBytes: 1 << 20,
		SimBankDelay: 30 * time.Second, IdempotencyTTL: time.Hour, JobInterval: 250 * time.Millisecond,
		ShutdownTimeout: 15 * time.Second, Synchronous: "full", PostgresConns: 16,
		WebhookConcurrency: 32, WebhookTimeout: 10 * time.Second, HighLevelRateLimit: highlevel.DefaultRateLimit,
		SettlementDelay: ledger.DefaultSettlementDelay, SettleInterval: ledger.DefaultSettleInterval,
		ProviderTimeout: customprovider.DefaultTimeout,
		SimDisputeDelay: sim.DefaultDisputeDelay, PayoutSchedule: ledger.DefaultPayoutSchedule, PayoutMinimum: ledger.DefaultPayoutMinimum,
		PayoutScanInterval: payout.DefaultScanInterval, PayoutTransitDelay: payout.DefaultTransitDelay,
	}
}

// Validate checks c before anything opens.
func (c *Config) Validate() error {
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return fmt.Errorf("--db must be sqlite:PATH or a postgres:// URL, not %q", c.DB)
	}
	if c.Synchronous != "full" && c.Synchronous != "normal" {
		return fmt.Errorf("sqlite synchronous must be full or normal")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if rl := c.HighLevelRateLimit; !c.HighLevelRateLimitOff && (rl.Burst < 1 || rl.Interval <= 0 || rl.Daily < 1) {
		return fmt.Errorf("the HighLevel rate limit needs a burst ≥ 1 per positive interval and a daily limit ≥ 1")
	}
	if c.SettlementDelay < 0 {
		return fmt.Errorf("--settlement-delay must not be negative")
	}
	if c.SettleInterval <= 0 {
		return fmt.Errorf("--settle-interval must be positive")
	}
	if _, err := tender.ParsePayoutSchedule(c.PayoutSchedule); err != nil {
		return fmt.Errorf("--payout-schedule must be daily, weekly, manual or a duration of at least 1s, not %q", c.PayoutSchedule)
	}
	if c.PayoutMinimum < 0 || c.PayoutScanInterval <= 0 || c.PayoutTransitDelay < 0 || c.SimDisputeDelay < 0 {
		return fmt.Errorf("--payout-minimum, --payout-transit-delay and --sim-dispute-delay must not be negative, --payout-scan-interval must be positive")
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger returns a JSON logger at c's level.
func (c *Config) NewLogger(w io.Writer) *slog.Logger {
	l, _ := parseLevel(c.LogLevel)
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// OpenStore opens the database named by url (sqlite:PATH or postgres://…),
// creating it and applying migrations. exclusive locks a SQLite file for
// this process alone (what a server needs).
func OpenStore(ctx context.Context, url string, exclusive bool, c Config) (store.Store, error) {
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		if path == "" {
			return nil, errors.New("sqlite: needs a file path, e.g. sqlite:./tender.db")
		}
		return sqlite.Open(ctx, path, sqlite.Options{Exclusive: exclusive, Synchronous: c.Synchronous})
	}
	return postgres.Open(ctx, url, postgres.Options{MaxConns: c.PostgresConns})
}

// LoadSecret returns the installation's master secret (see loadSecret),
// for tools that seal or open secrets outside a running server.
func (c *Config) LoadSecret() ([]byte, error) { return c.loadSecret() }

// loadSecret returns the installation's master secret: from c.Secret, or
// from the secret file (made with 32 random bytes when absent).
func (c *Config) loadSecret() ([]byte, error) {
	if c.Secret != "" {
		return []byte(c.Secret), nil
	}
	path := c.SecretFile
	if path == "" {
		if p, ok := strings.CutPrefix(c.DB, "sqlite:"); ok {
			path = p + ".secret"
		} else {
			path = "tender.secret"
		}
	}
	if b, err := os.ReadFile(path); err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return nil, fmt.Errorf("secret file %s holds fewer than 32 characters", path)
		}
		return []byte(s), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(buf)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return c.loadSecret() // another process made it first
	} else if err != nil {
		return nil, fmt.Errorf("create secret file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(s + "\n"); err != nil {
		return nil, err
	}
	return []byte(s), f.Sync()
}

// Server is a running tender.
type Server struct {
	Config   Config
	Log      *slog.Logger
	Store    store.Store
	Accounts *account.Service
	Payments *payment.Service
	Payouts  *payout.Service
	Sim      *sim.Sim
	// Providers holds HighLevel's provider configurations; CustomProviders
	// is the processor payments go through: a location's connected custom
	// provider, else Sim.
	Providers       *provider.Service
	CustomProviders *customprovider.Processor
	Worker          *job.Worker
	Notify          *notify.Service
	Webhooks        *webhook.Engine
	Metrics         *api.Metrics
	Handler         http.Handler
	// HighLevel is the HighLevel dialect's handler; its services are set
	// here too.
	HighLevel *highlevel.Handler

	http     *http.Server
	ln       net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeErr error
	once     sync.Once
}

// New opens the store and builds every part, without listening yet.
func New(ctx context.Context, c Config, logOut io.Writer) (*Server, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	secret, err := c.loadSecret()
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, c.DB, true, c)
	if err != nil {
		return nil, err
	}
	s := &Server{Config: c, Log: c.NewLogger(logOut), Store: st, Metrics: api.NewMetrics()}
	s.Sim = sim.New(c.SimBankDelay)
	s.Sim.Latency = c.SimLatency
	s.Sim.DisputeDelay = c.SimDisputeDelay
	s.Accounts = account.New(st)
	if len(secret) < 32 {
		st.Close()
		return nil, errors.New("the master secret must be at least 32 characters")
	}
	if s.Providers, err = provider.New(st, secret); err != nil {
		st.Close()
		return nil, err
	}
	s.Providers.AllowPrivate = c.WebhooksAllowPrivate
	s.CustomProviders = customprovider.New(s.Sim, s.Providers, customprovider.NewClient(c.WebhooksAllowPrivate, c.ProviderTimeout, s.Log), s.Log)
	s.Payments = payment.New(st, s.CustomProviders, secret)
	s.Payments.Ledger.SettlementDelay = c.SettlementDelay
	s.Payments.Ledger.SettleInterval = c.SettleInterval
	s.Payments.Ledger.PayoutSchedule, s.Payments.Ledger.PayoutMinimum = c.PayoutSchedule, c.PayoutMinimum
	s.Payouts = payout.New(st, s.Payments.Ledger)
	s.Payouts.ScanInterval, s.Payouts.TransitDelay = c.PayoutScanInterval, c.PayoutTransitDelay
	if s.Notify, err = notify.New(st, secret); err != nil {
		st.Close()
		return nil, err
	}
	s.Notify.AllowPrivate = c.WebhooksAllowPrivate
	s.Webhooks = webhook.New(st, s.Log, webhook.Options{AllowPrivate: c.WebhooksAllowPrivate, OpenSecret: s.Notify.OpenSecret,
		Concurrency: c.WebhookConcurrency, Timeout: c.WebhookTimeout, StopGrace: c.ShutdownTimeout / 2,
		Metrics: webhook.Metrics{Attempt: s.Metrics.WebhookAttempt, FirstAttempt: s.Metrics.WebhookLag}})
	s.Webhooks.Register(forward.NewWebhookDialect(st, s.Payments.ClientSecret))
	hlWebhooks := &highlevel.WebhookDialect{Keys: &highlevel.KeySource{Store: st, Master: secret}}
	s.Webhooks.Register(hlWebhooks)
	s.Webhooks.Register(forhopp.NewWebhookDialect())
	if n, ok := st.(store.CommitNotifier); ok {
		n.OnCommit(s.Webhooks.Wake)
	}
	s.Worker = job.New(st, s.Log)
	s.Worker.Interval = c.JobInterval
	s.Worker.Metrics.Done = s.Metrics.JobDone
	s.Worker.Handle(payment.JobSettleBank, s.Payments.SettleBankPayment)
	s.Worker.Handle(ledger.JobSettle, s.Payments.Ledger.SettleJob)
	s.Worker.Handle(payment.JobOpenDispute, s.Payments.OpenDisputeJob)
	s.Worker.Handle(payout.JobSchedule, s.Payouts.ScheduleJob)
	s.Worker.Handle(payout.JobCreate, s.Payouts.CreateJob)
	s.Worker.Handle(payout.JobComplete, s.Payouts.CompleteJob)
	s.Worker.Every("idempotency.sweep", time.Minute, func(ctx context.Context) error {
		return st.Write(ctx, func(tx store.Tx) error {
			_, err := tx.DeleteExpiredIdempotencyRecords(ctx, tx.Now(), 5000)
			return err
		})
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", s.Metrics.Handler())
	fwd := &forward.Handler{Payments: s.Payments, Payouts: s.Payouts, Accounts: s.Accounts, Idem: forward.NewIdempotency(st, c.IdempotencyTTL), Log: s.Log,
		Notify: s.Notify, Webhooks: s.Webhooks}
	fwd.Register(mux)
	s.HighLevel = &highlevel.Handler{Accounts: s.Accounts, Store: st, Log: s.Log, Notify: s.Notify, Webhook: hlWebhooks,
		PublicKeys: hlWebhooks.Keys.PublicKey}
	s.HighLevel.Catalog = catalog.New(st)
	s.HighLevel.Providers = s.Providers
	s.HighLevel.Orders = order.New(st, s.Payments, s.HighLevel.Catalog)
	s.HighLevel.Orders.Providers = s.CustomProviders
	s.Worker.Handle(order.JobStartProviderSubscription, s.HighLevel.Orders.StartProviderSubscriptionJob)
	if !c.HighLevelRateLimitOff {
		s.HighLevel.Limiter = highlevel.NewLimiter(c.HighLevelRateLimit)
	}
	s.HighLevel.Register(mux)
	mw := &api.Middleware{Log: s.Log, Metrics: s.Metrics, MaxBodyBytes: c.MaxBodyBytes, Dialect: Dialect}
	s.Handler = mw.Wrap(mux)
	return s, nil
}

// Dialect names the dialect that serves path.
func Dialect(path string) string {
	switch {
	case path == "/healthz" || path == "/metrics":
		return "ops"
	case highlevel.IsPath(path):
		return "highlevel"
	default:
		return "forward"
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		_, err := tx.CountOrganizations(ctx)
		return err
	})
	if err != nil {
		s.Log.Error("health check failed", "err", err)
		api.WriteJSON(w, http.StatusServiceUnavailable, []byte(`{"status":"unavailable"}`))
		return
	}
	api.WriteJSON(w, http.StatusOK, []byte(`{"status":"ok","engine":"`+s.Store.Engine()+`"}`))
}

// Bootstrap creates a first organization when the database has none and
// returns its credentials; it returns nil when one exists already.
func (s *Server) Bootstrap(ctx context.Context) (*account.Bootstrap, error) {
	has, err := s.Accounts.HasOrganizations(ctx)
	if err != nil || has {
		return nil, err
	}
	return s.Accounts.CreateOrganization(ctx, "Default organization")
}

// Start listens on the configured address and serves in the background,
// with the job worker.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Config.Addr)
	if err != nil {
		s.Store.Close()
		return err
	}
	s.ln = ln
	s.http = &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)}
	if err := s.Payments.Ledger.EnsureSettleJob(ctx); err != nil {
		ln.Close()
		s.Store.Close()
		return err
	}
	if err := s.Payouts.EnsureScheduleJob(ctx); err != nil {
		ln.Close()
		s.Store.Close()
		return err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.Webhooks.Start(wctx)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error("http server stopped", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.Worker.Run(wctx, s.Config.ShutdownTimeout)
	}()
	s.Log.Info("tender listening", "addr", ln.Addr().String(), "engine", s.Store.Engine())
	return nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops accepting, drains in-flight requests, stops the worker
// (cancelling jobs after the grace period) and closes the database, in
// that order.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
		defer cancel()
		var errs []error
		if s.http != nil {
			errs = append(errs, s.http.Shutdown(ctx))
		}
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		s.Webhooks.Stop()
		errs = append(errs, s.Store.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// ScopeOf returns the scope of an account in a mode, for tools and tests.
func ScopeOf(orgID, accountID string, mode tender.Mode) tender.Scope {
	return tender.Scope{OrganizationID: orgID, AccountID: accountID, Mode: mode}
}
