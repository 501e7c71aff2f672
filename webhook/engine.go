package webhook

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// UserAgent is the User-Agent header of every delivery.
const UserAgent = "tender-webhooks/1"

// Limits of what a delivery keeps of a receiver's response.
const (
	// MaxResponseRead is how much of a response body is read; the rest is
	// discarded with the connection.
	MaxResponseRead = 64 << 10
	// MaxExcerpt is how much of the body a delivery attempt records.
	MaxExcerpt = 1 << 10
)

// DefaultSchedule is the default retry schedule: the delay after each
// failed attempt, about three days in all (12 attempts).
var DefaultSchedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 24 * time.Hour,
}

// Outcomes of a delivery attempt, as Metrics.Attempt receives them.
const (
	// OutcomeSucceeded is a 2xx response.
	OutcomeSucceeded = "succeeded"
	// OutcomeHTTPError is a response with any other status (410 included).
	OutcomeHTTPError = "http_error"
	// OutcomeNetworkError is no response: refused, reset, timed out, or a
	// destination the address guard refused.
	OutcomeNetworkError = "network_error"
	// OutcomeLocalError is a failure before sending: the payload, the
	// signature or the endpoint's secret could not be made.
	OutcomeLocalError = "local_error"
)

// Metrics receives the engine's measurements; nil fields are skipped. The
// functions are called from many goroutines at once.
type Metrics struct {
	// Attempt is called after each delivery attempt with the endpoint's
	// dialect, the outcome (one of the Outcome constants) and the attempt's
	// latency (request sent to response body read, or to the error).
	Attempt func(dialect, outcome string, latency time.Duration)
	// FirstAttempt is called when the first attempt of a delivery starts,
	// with the time since its event was recorded: the outbox lag.
	FirstAttempt func(lag time.Duration)
	// Dispatched is called after each fan-out with the number of events
	// claimed and the number of deliveries made for them.
	Dispatched func(events, deliveries int)
}

// Options tune an Engine. Zero fields take the defaults given.
type Options struct {
	// Concurrency is how many deliveries are attempted at once (32).
	Concurrency int
	// MaxPerEndpoint is how many of those may go to one endpoint at once
	// (Concurrency/2, at least 1), so that a slow receiver holds at most
	// that many workers and never blocks the others. As many more of an
	// endpoint's deliveries may wait in memory for its next free slot (up
	// to sixteen times as many for an endpoint that answers faster than a
	// claim commits); beyond that they are deferred in the database.
	MaxPerEndpoint int
	// Timeout bounds each attempt, from dialing to the end of the
	// response body (10s).
	Timeout time.Duration
	// Lease is how long a claimed delivery is held before another worker
	// may take it: it must cover an attempt and recording it. The default
	// is 2×Timeout+30s; it is never less than Timeout+1s.
	Lease time.Duration
	// Schedule is the delay after each failed attempt; after the last
	// one, a delivery fails (DefaultSchedule).
	Schedule []time.Duration
	// Jitter adds up to this fraction of each delay at random, so that
	// retries of many deliveries spread out (0.2; negative for none).
	Jitter float64
	// Seed, when not zero, seeds the jitter, for reproducible tests.
	Seed uint64
	// DisableAfter is how long an endpoint may fail every delivery before
	// it is disabled (5 days).
	DisableAfter time.Duration
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (local development and tests).
	AllowPrivate bool
	// OpenSecret turns an endpoint's SecretSealed into its clear signing
	// secret. Without it every attempt fails with a local error.
	OpenSecret func(sealed string) (string, error)
	// Metrics receives measurements.
	Metrics Metrics
	// PollInterval is how often an idle engine looks for new events and
	// due retries without being woken (50ms).
	PollInterval time.Duration
	// Batch is how many events one fan-out transaction claims (256).
	Batch int
	// StopGrace is how long Stop lets attempts in flight finish before
	// cancelling them (5s). A cancelled attempt is not recorded: its
	// delivery is attempted again when its lease lapses.
	StopGrace time.Duration
	// Transport, if set, replaces the HTTP transport (tests). The address
	// guard is then the transport's business.
	Transport http.RoundTripper
}

func (o *Options) setDefaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.MaxPerEndpoint <= 0 {
		o.MaxPerEndpoint = max(1, o.Concurrency/2)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2*o.Timeout + 30*time.Second
	}
	if o.Lease < o.Timeout+time.Second {
		o.Lease = o.Timeout + time.Second
	}
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	if o.Jitter == 0 {
		o.Jitter = 0.2
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 5 * 24 * time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 5 * time.Second
	}
}

// Engine fans events out to endpoints and delivers them. Create it with
// New, Register the dialects it serves, then Start it (or Run it).
type Engine struct {
	store  store.Store
	log    *slog.Logger
	opts   Options
	client *http.Client

	dmu      sync.RWMutex
	dialects map[string]Dialect

	dispatchWake chan struct{}
	claimWake    chan struct{}
	// wakes counts Wake calls and ownWrites the engine's committed
	// writes, so that the dispatcher can tell a wake from another
	// command's commit from one its own commits caused (a store may call
	// Wake after every commit, the engine's too).
	wakes, ownWrites atomic.Uint64

	sched scheduler

	events eventCache

	rmu sync.Mutex
	rnd *rand.Rand

	lifeMu sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns an engine over s. It does nothing until started.
func New(s store.Store, log *slog.Logger, opts Options) *Engine {
	opts.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	e := &Engine{store: s, log: log, opts: opts, dialects: make(map[string]Dialect),
		dispatchWake: make(chan struct{}, 1), claimWake: make(chan struct{}, 1),
		events: newEventCache(4096),
		rnd:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	e.client = newClient(opts)
	return e
}

// Register makes the engine deliver to endpoints of d's dialect. An event
// is fanned out only to endpoints whose dialect is registered.
func (e *Engine) Register(d Dialect) {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	e.dialects[d.Name()] = d
}

func (e *Engine) dialect(name string) Dialect {
	e.dmu.RLock()
	defer e.dmu.RUnlock()
	return e.dialects[name]
}

// Options returns the engine's options, defaults filled in.
func (e *Engine) Options() Options { return e.opts }

// Wake makes the engine look for new events now rather than at its next
// poll. The server calls it after commits (any commit: wakes caused by the
// engine's own writes are recognised and skipped); it never blocks.
func (e *Engine) Wake() {
	e.wakes.Add(1)
	poke(e.dispatchWake)
}

// write runs fn in a write transaction of the engine's own.
func (e *Engine) write(ctx context.Context, fn func(tx store.Tx) error) error {
	err := e.store.Write(ctx, fn)
	if err == nil {
		e.ownWrites.Add(1)
	}
	return err
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Start runs the engine in the background until Stop. An engine runs
// once: Start after Stop does nothing.
func (e *Engine) Start(ctx context.Context) {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel, e.done = cancel, make(chan struct{})
	if e.opts.OpenSecret == nil {
		e.log.Error("webhook engine has no OpenSecret: every delivery will fail")
	}
	go func() {
		defer close(e.done)
		e.Run(ctx)
	}()
}

// Stop stops claiming, gives back the deliveries claimed but not started,
// lets attempts in flight finish for up to Options.StopGrace (then cancels
// them, leaving their deliveries to be attempted again when their leases
// lapse), records the outcomes and returns. It may be called more than
// once.
func (e *Engine) Stop() {
	e.lifeMu.Lock()
	cancel, done := e.cancel, e.done
	e.lifeMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Run fans out and delivers until ctx ends, then stops as Stop describes.
func (e *Engine) Run(ctx context.Context) {
	hctx, cancelAttempts := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAttempts()
	results := make(chan *result, e.opts.Concurrency)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		e.record(results)
	}()
	var attempts sync.WaitGroup
	e.sched.reset(hctx, &attempts, results)

	var loops sync.WaitGroup
	loops.Add(2)
	go func() {
		defer loops.Done()
		e.dispatchLoop(ctx)
	}()
	go func() {
		defer loops.Done()
		e.claimLoop(ctx)
	}()
	loops.Wait()

	// Give back what was claimed but not started, then let the attempts
	// in flight finish, for a while.
	e.releaseHeld()
	finished := make(chan struct{})
	go func() {
		attempts.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(e.opts.StopGrace):
		cancelAttempts()
		<-finished
	}
	close(results)
	<-recorded
}

// backoff returns the delay before the attempt after attempt number n
// (1-based), and false when the schedule is spent.
func (e *Engine) backoff(n int) (time.Duration, bool) {
	if n < 1 || n > len(e.opts.Schedule) {
		return 0, false
	}
	d := e.opts.Schedule[n-1]
	if e.opts.Jitter > 0 && d > 0 {
		e.rmu.Lock()
		d += time.Duration(e.rnd.Float64() * e.opts.Jitter * float64(d))
		e.rmu.Unlock()
	}
	return d, true
}

// eventCache keeps recently dispatched events (which never change) so that
// their deliveries need not read them again.
type eventCache struct {
	mu   sync.Mutex
	m    map[string]*tender.Event
	ring []string
	next int
}

func newEventCache(n int) eventCache {
	return eventCache{m: make(map[string]*tender.Event, n), ring: make([]string, n)}
}

func (c *eventCache) add(ev *tender.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[ev.ID]; ok {
		return
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.m, old)
	}
	c.ring[c.next] = ev.ID
	c.next = (c.next + 1) % len(c.ring)
	c.m[ev.ID] = ev
}

func (c *eventCache) get(id string) *tender.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}
