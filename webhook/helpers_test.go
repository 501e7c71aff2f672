package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
	"github.com/tenderpay/tender/webhook"
)

// testDialect is a minimal webhook.Dialect: names are "test." + the core
// type (none for payment_method.updated), the payload is a small JSON
// envelope, and the signature a hex HMAC-SHA256 of "id.timestamp.body".
type testDialect struct{ name string }

func (d testDialect) Name() string { return d.name }

func (d testDialect) EventName(coreType string) string {
	if coreType == tender.EventPaymentMethodUpdated {
		return ""
	}
	return "test." + coreType
}

func (d testDialect) Payload(ev *tender.Event, name string) ([]byte, error) {
	return json.Marshal(map[string]any{"id": ev.ID, "type": name, "data": ev.Object})
}

func (d testDialect) Sign(secret, msgID string, now time.Time, body []byte) (http.Header, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("Test-Id", msgID)
	h.Set("Test-Timestamp", ts)
	h.Set("Test-Signature", sign(secret, msgID, ts, body))
	return h, nil
}

func sign(secret, msgID, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s.%s.", msgID, ts)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// openSecret is the tests' stand-in for the master-key sealer.
func openSecret(sealed string) (string, error) {
	s, ok := strings.CutPrefix(sealed, "sealed:")
	if !ok {
		return "", fmt.Errorf("not a sealed secret")
	}
	return s, nil
}

// backend is one store engine the tests run on.
type backend struct {
	name string
	// open returns a new handle on the test's one database, closed when
	// the test ends (or earlier by the test).
	open func(t *testing.T) store.Store
}

// forEachBackend runs fn on SQLite, and on PostgreSQL when TENDER_TEST_POSTGRES_URL is
// set (otherwise its subtest is skipped with the reason).
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, sqliteBackend(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := testserver.PostgresURL(t)
		fn(t, backend{name: "postgres", open: func(t *testing.T) store.Store {
			db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 8})
			if err != nil {
				t.Fatalf("postgres.Open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}})
	})
}

// sqliteBackend is a SQLite file in t's temporary directory.
func sqliteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "tender.db")
	return backend{name: "sqlite", open: func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
}

// openSQLite opens a new SQLite store for t.
func openSQLite(t *testing.T) store.Store { return sqliteBackend(t).open(t) }

func itoa(n int) string { return strconv.Itoa(n) }

// fixture is one test's store and tenant.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    store.Store
	scope tender.Scope // account A, test mode
	other tender.Scope // account B, test mode
}

func newFixture(t *testing.T, st store.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), st: st}
	now := time.Now()
	org := &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, now), Name: "Org", CreatedAt: now}
	a := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org.ID, Name: "A", CreatedAt: now}
	b := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org.ID, Name: "B", CreatedAt: now}
	f.write(func(tx store.Tx) error {
		if err := tx.CreateOrganization(f.ctx, org); err != nil {
			return err
		}
		if err := tx.CreateAccount(f.ctx, a); err != nil {
			return err
		}
		return tx.CreateAccount(f.ctx, b)
	})
	f.scope = tender.Scope{OrganizationID: org.ID, AccountID: a.ID, Mode: tender.ModeTest}
	f.other = tender.Scope{OrganizationID: org.ID, AccountID: b.ID, Mode: tender.ModeTest}
	return f
}

// reopen returns a fixture with the same tenants on another store handle.
func (f *fixture) on(st store.Store) *fixture {
	g := *f
	g.st = st
	return &g
}

func (f *fixture) write(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.st.Write(f.ctx, fn); err != nil {
		f.t.Fatalf("Write: %v", err)
	}
}

// endpoint creates an enabled endpoint of the test dialect on scope s,
// subscribed to events, with the secret "secret-" + its id.
func (f *fixture) endpoint(s tender.Scope, url string, events []string, edit func(ep *tender.WebhookEndpoint)) *tender.WebhookEndpoint {
	f.t.Helper()
	if events == nil {
		events = []string{"*"}
	}
	now := time.Now().UTC()
	ep := &tender.WebhookEndpoint{ID: tender.NewID(tender.PrefixEndpoint, now), AccountID: s.AccountID, Mode: s.Mode,
		Dialect: "test", URL: url, Events: events, Enabled: true, CreatedAt: now, UpdatedAt: now}
	ep.SecretSealed = "sealed:secret-" + ep.ID
	if edit != nil {
		edit(ep)
	}
	f.write(func(tx store.Tx) error { return tx.CreateWebhookEndpoint(f.ctx, ep) })
	return ep
}

// events records n events of type typ on scope s, one transaction each,
// and returns their ids.
func (f *fixture) events(s tender.Scope, typ string, n int) []string {
	f.t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		var id string
		f.write(func(tx store.Tx) error {
			now := tx.Now()
			pi := &tender.PaymentIntent{ID: tender.NewID(tender.PrefixPaymentIntent, now), AccountID: s.AccountID, Mode: s.Mode,
				Amount: int64(100 + i), Currency: "USD", Status: tender.IntentCreated}
			obj, err := json.Marshal(pi)
			if err != nil {
				return err
			}
			id = tender.NewID(tender.PrefixEvent, now)
			return tx.CreateEvent(f.ctx, &tender.Event{ID: id, AccountID: s.AccountID, Mode: s.Mode, Type: typ,
				ObjectType: "payment_intent", ObjectID: pi.ID, Object: obj, CreatedAt: now})
		})
		ids = append(ids, id)
	}
	return ids
}

func (f *fixture) deliveries(s tender.Scope, endpointID string) []*tender.Delivery {
	f.t.Helper()
	var out []*tender.Delivery
	err := f.st.Read(f.ctx, func(tx store.Tx) error {
		out = nil
		p := tender.Page{Limit: 500}
		for {
			ds, more, err := tx.ListDeliveriesByEndpoint(f.ctx, s, endpointID, p)
			if err != nil {
				return err
			}
			out = append(out, ds...)
			if !more {
				return nil
			}
			p.StartingAfter = ds[len(ds)-1].ID
		}
	})
	if err != nil {
		f.t.Fatalf("list deliveries: %v", err)
	}
	return out
}

func (f *fixture) attempts(endpointID string) []*tender.DeliveryAttempt {
	f.t.Helper()
	var out []*tender.DeliveryAttempt
	err := f.st.Read(f.ctx, func(tx store.Tx) (err error) {
		out, _, err = tx.ListDeliveryAttempts(f.ctx, endpointID, "", tender.Page{Limit: 10000})
		return err
	})
	if err != nil {
		f.t.Fatalf("list attempts: %v", err)
	}
	return out
}

func (f *fixture) findEndpoint(s tender.Scope, id string) (*tender.WebhookEndpoint, error) {
	var ep *tender.WebhookEndpoint
	err := f.st.Read(f.ctx, func(tx store.Tx) (err error) {
		ep, err = tx.FindWebhookEndpointByID(f.ctx, s, id)
		return err
	})
	return ep, err
}

func (f *fixture) updateEndpoint(ep *tender.WebhookEndpoint) {
	f.t.Helper()
	f.write(func(tx store.Tx) error { return tx.UpdateWebhookEndpoint(f.ctx, ep) })
}

// states counts deliveries by state.
func states(ds []*tender.Delivery) map[string]int {
	m := map[string]int{}
	for _, d := range ds {
		m[d.State]++
	}
	return m
}

// testOptions are engine options for tests: short timings, a short retry
// schedule, private addresses allowed (receivers are on 127.0.0.1).
func testOptions() webhook.Options {
	return webhook.Options{
		Concurrency:  8,
		Timeout:      3 * time.Second,
		Lease:        10 * time.Second,
		Schedule:     []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond},
		Seed:         1,
		AllowPrivate: true,
		OpenSecret:   openSecret,
		PollInterval: 10 * time.Millisecond,
		StopGrace:    time.Second,
	}
}

// startEngine starts an engine with the test dialect, stopped when the
// test ends.
func startEngine(t *testing.T, st store.Store, opts webhook.Options) *webhook.Engine {
	t.Helper()
	e := webhook.New(st, nil, opts)
	e.Register(testDialect{name: "test"})
	e.Start(context.Background())
	t.Cleanup(e.Stop)
	return e
}

// hit is one request a receiver got.
type hit struct {
	path      string
	id, typ   string
	signedOK  bool
	userAgent string
	ctype     string
	at        time.Time
}

// receiver is a webhook receiver on 127.0.0.1 that verifies signatures
// with the secrets it is told and answers with respond.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	secrets  map[string]string // endpoint URL path → secret
	hits     []hit
	byID     map[string]int
	inFlight map[string]int
	overlap  int // times an id arrived while a request with it was in flight

	respond atomic.Value // func(r *http.Request) (status int, body string)
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := newReceiverUnstarted(t)
	rc.srv.Start()
	return rc
}

// newReceiverUnstarted returns a receiver whose server the test starts
// (after setting its Listener, if it likes).
func newReceiverUnstarted(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{secrets: map[string]string{}, byID: map[string]int{}, inFlight: map[string]int{}}
	rc.setRespond(func(*http.Request) (int, string) { return 200, `{"ok":true}` })
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setRespond(fn func(r *http.Request) (int, string)) { rc.respond.Store(fn) }

// url returns a URL for path on this (started) receiver.
func (rc *receiver) url(path string) string { return rc.srv.URL + path }

// expect makes the receiver verify requests to ep's path with ep's secret.
func (rc *receiver) expect(ep *tender.WebhookEndpoint) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	u, _ := url.Parse(ep.URL)
	rc.secrets[u.Path], _ = openSecret(ep.SecretSealed)
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get("Test-Id")
	var payload struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &payload)
	rc.mu.Lock()
	secret, known := rc.secrets[r.URL.Path]
	ok := known && payload.ID == id && hmac.Equal([]byte(r.Header.Get("Test-Signature")),
		[]byte(sign(secret, id, r.Header.Get("Test-Timestamp"), body)))
	if rc.inFlight[id] > 0 {
		rc.overlap++
	}
	rc.inFlight[id]++
	rc.mu.Unlock()

	status, resp := rc.respond.Load().(func(*http.Request) (int, string))(r)

	rc.mu.Lock()
	rc.inFlight[id]--
	if status != 0 {
		rc.hits = append(rc.hits, hit{path: r.URL.Path, id: id, typ: payload.Type, signedOK: ok, userAgent: r.UserAgent(),
			ctype: r.Header.Get("Content-Type"), at: time.Now()})
		if status >= 200 && status < 300 {
			rc.byID[id]++
		}
	}
	rc.mu.Unlock()
	if status == 0 {
		// Hang up without answering.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	w.WriteHeader(status)
	io.WriteString(w, resp)
}

// hitsAt returns the requests answered at path.
func (rc *receiver) hitsAt(path string) []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hit
	for _, h := range rc.hits {
		if h.path == path {
			out = append(out, h)
		}
	}
	return out
}

// inFlightNow returns how many requests are being answered.
func (rc *receiver) inFlightNow() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, c := range rc.inFlight {
		n += c
	}
	return n
}

// delivered returns how many distinct ids got a 2xx answer.
func (rc *receiver) delivered() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.byID)
}

func (rc *receiver) snapshot() (hits []hit, byID map[string]int, overlap int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	byID = make(map[string]int, len(rc.byID))
	for k, v := range rc.byID {
		byID[k] = v
	}
	return append([]hit(nil), rc.hits...), byID, rc.overlap
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freePort returns a 127.0.0.1 address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// counter counts metric calls by key.
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[key]++
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}
