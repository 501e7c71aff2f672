package webhook

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
)

// writeCounter counts a store's write transactions.
type writeCounter struct {
	store.Store
	writes atomic.Int64
}

func (w *writeCounter) Write(ctx context.Context, fn func(tx store.Tx) error) error {
	w.writes.Add(1)
	return w.Store.Write(ctx, fn)
}

// A batch of outcomes of every kind, for deliveries to endpoints in every
// state, is recorded in one transaction, each as it would be alone and in
// the batch's order: the attempt rows, the deliveries' new states, the
// endpoints' health (written once each), a 410 and a long failure
// disabling their endpoints (which cancels their pending deliveries, those
// of the batch included), and a result skipped while waiting.
func TestRecordBatch_MixedOutcomes(t *testing.T) {
	t.Parallel()
	engines := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"postgres": func(t *testing.T) store.Store {
			db, err := postgres.Open(context.Background(), postgresSchema(t), postgres.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRecordBatchMixed(t, open(t))
		})
	}
}

func testRecordBatchMixed(t *testing.T, db store.Store) {
	ctx := context.Background()
	st := &writeCounter{Store: db}
	now := time.Now().UTC()
	sc := tender.Scope{AccountID: tender.NewID(tender.PrefixAccount, now), Mode: tender.ModeTest}
	newEP := func(edit func(ep *tender.WebhookEndpoint)) *tender.WebhookEndpoint {
		ep := &tender.WebhookEndpoint{ID: tender.NewID(tender.PrefixEndpoint, now), AccountID: sc.AccountID, Mode: sc.Mode,
			Dialect: "plain", URL: "http://127.0.0.1:1/x", Events: []string{"*"}, Enabled: true, SecretSealed: "s",
			CreatedAt: now, UpdatedAt: now}
		if edit != nil {
			edit(ep)
		}
		return ep
	}
	ok, failing, gone := newEP(nil), newEP(nil), newEP(nil)
	longFailing := newEP(func(ep *tender.WebhookEndpoint) { ep.FailingSince = ptr(now.Add(-6 * 24 * time.Hour)) })
	deleted := newEP(nil)
	eps := []*tender.WebhookEndpoint{ok, failing, gone, longFailing, deleted}

	type row struct {
		ep  *tender.WebhookEndpoint
		res result
	}
	rows := []row{
		{ok, result{status: 200, excerpt: "fine", outcome: OutcomeSucceeded}},
		{ok, result{errText: "tender: sign: no key", outcome: OutcomeLocalError, local: true}},
		{failing, result{status: 500, excerpt: "oops", errText: "", outcome: OutcomeHTTPError}},
		{failing, result{errText: "connection refused", outcome: OutcomeNetworkError}},
		{gone, result{status: 410, excerpt: "gone", outcome: OutcomeHTTPError}},
		{gone, result{status: 500, outcome: OutcomeHTTPError}}, // after the 410: the endpoint is off
		{longFailing, result{status: 503, outcome: OutcomeHTTPError}},
		{deleted, result{status: 500, outcome: OutcomeHTTPError}},
		{ok, result{skipped: "the endpoint is disabled"}},
	}
	var evs []*tender.Event
	var ds []*tender.Delivery
	for range len(rows) + 1 {
		evs = append(evs, &tender.Event{ID: tender.NewID(tender.PrefixEvent, now), AccountID: sc.AccountID, Mode: sc.Mode,
			Type: tender.EventPaymentCreated, ObjectType: "payment_intent", ObjectID: "pi_1", Object: json.RawMessage(`{}`), CreatedAt: now})
	}
	for i, r := range rows {
		ds = append(ds, &tender.Delivery{ID: tender.NewID(tender.PrefixDelivery, now), EventID: evs[i].ID, EndpointID: r.ep.ID,
			AccountID: sc.AccountID, Mode: sc.Mode, State: tender.DeliveryPending, NextAt: now, CreatedAt: now, UpdatedAt: now})
	}
	// A delivery to the 410 endpoint, not in the batch, due later.
	waiting := &tender.Delivery{ID: tender.NewID(tender.PrefixDelivery, now), EventID: evs[len(rows)].ID, EndpointID: gone.ID,
		AccountID: sc.AccountID, Mode: sc.Mode, State: tender.DeliveryPending, NextAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
	err := st.Write(ctx, func(tx store.Tx) error {
		for _, ep := range eps {
			if err := tx.CreateWebhookEndpoint(ctx, ep); err != nil {
				return err
			}
		}
		for _, ev := range evs {
			if err := tx.CreateEvent(ctx, ev); err != nil {
				return err
			}
		}
		return tx.CreateDeliveries(ctx, append(append([]*tender.Delivery{}, ds...), waiting))
	})
	if err != nil {
		t.Fatal(err)
	}
	// The deleted endpoint goes after its delivery was claimed.
	var claimed []*tender.Delivery
	err = st.Write(ctx, func(tx store.Tx) (err error) {
		claimed, err = tx.ClaimDueDeliveries(ctx, 100, time.Hour)
		if err != nil {
			return err
		}
		deleted.Deleted, deleted.UpdatedAt = true, tx.Now()
		return tx.UpdateWebhookEndpoint(ctx, deleted)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != len(rows) {
		t.Fatalf("claimed %d deliveries, want %d", len(claimed), len(rows))
	}

	sched := []time.Duration{time.Minute, time.Hour}
	e := New(st, nil, Options{Schedule: sched, Jitter: -1, DisableAfter: 5 * 24 * time.Hour})
	e.Register(plainDialect{})
	var batch []*result
	for i, r := range rows {
		r.res.w = &work{d: ds[i], ep: r.ep, ev: evs[i], dl: plainDialect{}}
		r.res.latency = time.Duration(i+1) * time.Millisecond
		batch = append(batch, &r.res)
	}
	st.writes.Store(0)
	e.recordBatch(batch, false)
	if n := st.writes.Load(); n != 1 {
		t.Errorf("the batch took %d write transactions, want 1", n)
	}

	var got map[string]*tender.Delivery
	var attempts map[string][]*tender.DeliveryAttempt
	var endpoints map[string]*tender.WebhookEndpoint
	var disabledEvents int
	err = st.Read(ctx, func(tx store.Tx) error {
		got, attempts, endpoints = map[string]*tender.Delivery{}, map[string][]*tender.DeliveryAttempt{}, map[string]*tender.WebhookEndpoint{}
		for _, d := range append(append([]*tender.Delivery{}, ds...), waiting) {
			g, err := tx.FindDeliveryByID(ctx, sc, d.ID)
			if err != nil {
				return err
			}
			got[d.ID] = g
			as, _, err := tx.ListDeliveryAttempts(ctx, d.EndpointID, d.ID, tender.Page{Limit: 10})
			if err != nil {
				return err
			}
			attempts[d.ID] = as
		}
		for _, ep := range eps[:4] {
			g, err := tx.FindWebhookEndpointByID(ctx, sc, ep.ID)
			if err != nil {
				return err
			}
			endpoints[ep.ID] = g
		}
		evs, _, err := tx.ListEvents(ctx, sc, tender.Page{Limit: 100}, []string{tender.EventEndpointDisabled})
		disabledEvents = len(evs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	type want struct {
		state    string
		retry    time.Duration // next_at - updated_at, for pending ones
		why      string        // in last_error
		attempts int
	}
	wants := []want{
		{state: tender.DeliverySucceeded, attempts: 1},
		{state: tender.DeliveryPending, retry: time.Minute, why: "no key", attempts: 1},
		{state: tender.DeliveryPending, retry: time.Minute, attempts: 1},
		{state: tender.DeliveryPending, retry: time.Minute, why: "connection refused", attempts: 1},
		{state: tender.DeliveryFailed, attempts: 1},
		{state: tender.DeliveryCancelled, why: "the endpoint is disabled", attempts: 1},
		{state: tender.DeliveryCancelled, why: "the endpoint was disabled: every delivery failed", attempts: 1},
		{state: tender.DeliveryCancelled, why: "the endpoint was deleted", attempts: 1},
		{state: tender.DeliveryCancelled, why: "the endpoint is disabled", attempts: 0},
	}
	for i, w := range wants {
		d, r := got[ds[i].ID], rows[i].res
		if d.State != w.state || d.Attempts != w.attempts || !strings.Contains(d.LastError, w.why) {
			t.Errorf("delivery %d: state %s, %d attempts, last error %q; want %s, %d, containing %q", i, d.State, d.Attempts, d.LastError, w.state, w.attempts, w.why)
		}
		if w.state == tender.DeliveryPending && d.NextAt.Sub(d.UpdatedAt) != w.retry {
			t.Errorf("delivery %d: retried %s after its attempt, want %s", i, d.NextAt.Sub(d.UpdatedAt), w.retry)
		}
		if w.state == tender.DeliverySucceeded && (d.SucceededAt == nil || d.LastStatus != 200) {
			t.Errorf("delivery %d: succeeded at %v with status %d", i, d.SucceededAt, d.LastStatus)
		}
		as := attempts[ds[i].ID]
		if len(as) != w.attempts {
			t.Errorf("delivery %d: %d attempt rows, want %d", i, len(as), w.attempts)
			continue
		}
		if w.attempts == 1 {
			a := as[0]
			if a.Attempt != 1 || a.StatusCode != r.status || a.ResponseExcerpt != r.excerpt || a.Error != r.errText ||
				a.LatencyMillis != int64(i+1) || a.EventID != ds[i].EventID || a.EndpointID != ds[i].EndpointID {
				t.Errorf("delivery %d: attempt %+v, want status %d, excerpt %q, error %q, latency %dms", i, a, r.status, r.excerpt, r.errText, i+1)
			}
		}
	}
	if d := got[waiting.ID]; d.State != tender.DeliveryCancelled || !strings.Contains(d.LastError, "410 Gone") {
		t.Errorf("the 410 endpoint's waiting delivery: %s (%q), want cancelled", d.State, d.LastError)
	}
	if ep := endpoints[ok.ID]; !ep.Enabled || ep.FailingSince != nil {
		t.Errorf("ok endpoint: enabled %v, failing since %v; want enabled, not failing (a local error is not its fault)", ep.Enabled, ep.FailingSince)
	}
	if ep := endpoints[failing.ID]; !ep.Enabled || ep.FailingSince == nil {
		t.Errorf("failing endpoint: enabled %v, failing since %v; want enabled and failing", ep.Enabled, ep.FailingSince)
	}
	if ep := endpoints[gone.ID]; ep.Enabled || !strings.Contains(ep.DisabledReason, "410") {
		t.Errorf("410 endpoint: enabled %v (%q), want disabled for the 410", ep.Enabled, ep.DisabledReason)
	}
	if ep := endpoints[longFailing.ID]; ep.Enabled || !strings.Contains(ep.DisabledReason, "every delivery failed") {
		t.Errorf("long-failing endpoint: enabled %v (%q), want disabled", ep.Enabled, ep.DisabledReason)
	}
	if disabledEvents != 2 {
		t.Errorf("%d webhook_endpoint.disabled events, want 2", disabledEvents)
	}
}

func ptr[T any](v T) *T { return &v }

// postgresSchema returns the URL of a new schema of the test database,
// dropped when t ends, or skips t when TENDER_TEST_POSTGRES_URL is not set.
// (internal/testserver does the same, but imports this package.)
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TENDER_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("TENDER_TEST_POSTGRES_URL is not set; skipping the PostgreSQL run")
	}
	schema := "t_" + strings.ToLower(tender.RandomString(12))
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
