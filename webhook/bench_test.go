package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
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

// BenchmarkDelivery measures the engine against a local receiver (an
// in-process HTTP server on 127.0.0.1 that answers 200 at once):
//
//   - Throughput: b.N events are recorded with the engine stopped; the clock
//     runs from its start until the receiver has every delivery (fan-out
//     included). Reported as deliveries/s.
//   - Lag: b.N events are committed at about 1,000 a second, each in its own
//     transaction, with the store calling Wake after every commit as the
//     server wires it (and, in the nowake variant, polling only). Reported:
//     the p50, p99 and max time from each commit returning to the receiver
//     getting the event.
//
// Run, e.g.:
//
//	go test ./webhook -run '^$' -bench 'Delivery/sqlite' -benchtime 20000x
//	TENDER_TEST_POSTGRES_URL=… go test ./webhook -run '^$' -bench 'Delivery/postgres' -benchtime 5000x
func BenchmarkDelivery(b *testing.B) {
	for _, eng := range []string{"sqlite", "postgres"} {
		b.Run(eng, func(b *testing.B) {
			for _, eps := range []int{1, 4} {
				b.Run(fmt.Sprintf("throughput/endpoints=%d", eps), func(b *testing.B) { benchThroughput(b, eng, eps) })
			}
			b.Run("lag/1000ev_s", func(b *testing.B) { benchLag(b, eng, true) })
			b.Run("lag/1000ev_s/nowake", func(b *testing.B) { benchLag(b, eng, false) })
		})
	}
}

func benchStore(b *testing.B, eng string) store.Store {
	b.Helper()
	ctx := context.Background()
	switch eng {
	case "sqlite":
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "tender.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	default:
		if os.Getenv("TENDER_TEST_POSTGRES_URL") == "" {
			b.Skip("TENDER_TEST_POSTGRES_URL is not set")
		}
		db, err := postgres.Open(ctx, testserver.PostgresURL(b), postgres.Options{MaxConns: 16})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
}

// benchReceiver counts first arrivals by event id.
type benchReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	at   map[string]time.Time
	all  atomic.Int64
	done chan struct{}
	want int
}

func newBenchReceiver(b *testing.B, want int) *benchReceiver {
	r := &benchReceiver{at: make(map[string]time.Time, want), done: make(chan struct{}), want: want}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		now := time.Now()
		key := req.Header.Get("Test-Id") + req.URL.Path
		r.mu.Lock()
		if _, ok := r.at[key]; !ok {
			r.at[key] = now
			if len(r.at) == r.want {
				close(r.done)
			}
		}
		r.mu.Unlock()
		r.all.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(r.srv.Close)
	return r
}

func benchFixture(b *testing.B, st store.Store) (context.Context, tender.Scope) {
	ctx := context.Background()
	now := time.Now()
	org := &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, now), Name: "Org", CreatedAt: now}
	a := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org.ID, Name: "A", CreatedAt: now}
	if err := st.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		return tx.CreateAccount(ctx, a)
	}); err != nil {
		b.Fatal(err)
	}
	return ctx, tender.Scope{OrganizationID: org.ID, AccountID: a.ID, Mode: tender.ModeTest}
}

func benchEndpoints(b *testing.B, ctx context.Context, st store.Store, s tender.Scope, url string, n int) {
	now := time.Now().Add(-time.Minute).UTC()
	err := st.Write(ctx, func(tx store.Tx) error {
		for i := 0; i < n; i++ {
			ep := &tender.WebhookEndpoint{ID: tender.NewID(tender.PrefixEndpoint, now), AccountID: s.AccountID, Mode: s.Mode,
				Dialect: "test", URL: fmt.Sprintf("%s/ep%d", url, i), Events: []string{"*"}, Enabled: true,
				SecretSealed: "sealed:s", CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateWebhookEndpoint(ctx, ep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchEvent(tx store.Tx, s tender.Scope) (*tender.Event, error) {
	now := tx.Now()
	obj, err := json.Marshal(map[string]any{"id": tender.NewID(tender.PrefixPaymentIntent, now), "amount": 1000, "currency": "USD"})
	if err != nil {
		return nil, err
	}
	return &tender.Event{ID: tender.NewID(tender.PrefixEvent, now), AccountID: s.AccountID, Mode: s.Mode,
		Type: tender.EventPaymentCaptured, ObjectType: "payment_intent", ObjectID: "pi_x", Object: obj, CreatedAt: now}, nil
}

func benchOptions() webhook.Options {
	return webhook.Options{AllowPrivate: true, OpenSecret: openSecret, Seed: 1, Timeout: 10 * time.Second}
}

// countingStore counts write transactions and the time they take.
type countingStore struct {
	store.Store
	writes, runs atomic.Int64
	busy         atomic.Int64 // nanoseconds spent in Write, summed
}

func (c *countingStore) Write(ctx context.Context, fn func(tx store.Tx) error) error {
	c.writes.Add(1)
	t0 := time.Now()
	defer func() { c.busy.Add(int64(time.Since(t0))) }()
	return c.Store.Write(ctx, func(tx store.Tx) error {
		c.runs.Add(1)
		return fn(tx)
	})
}

func benchThroughput(b *testing.B, eng string, endpoints int) {
	st := &countingStore{Store: benchStore(b, eng)}
	ctx, s := benchFixture(b, st)
	events := b.N
	rc := newBenchReceiver(b, events*endpoints)
	benchEndpoints(b, ctx, st, s, rc.srv.URL, endpoints)
	for i := 0; i < events; i += 500 {
		err := st.Write(ctx, func(tx store.Tx) error {
			for j := i; j < min(i+500, events); j++ {
				ev, err := benchEvent(tx, s)
				if err != nil {
					return err
				}
				if err := tx.CreateEvent(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	e := webhook.New(st, nil, benchOptions())
	e.Register(testDialect{name: "test"})
	st.writes.Store(0)
	st.runs.Store(0)
	b.ResetTimer()
	start := time.Now()
	e.Start(ctx)
	select {
	case <-rc.done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d deliveries arrived", len(rc.at), rc.want)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	e.Stop()
	b.ReportMetric(float64(rc.want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(st.writes.Load())/float64(rc.want), "writes/delivery")
	b.ReportMetric(max(0, float64(st.runs.Load()-st.writes.Load()))/float64(st.writes.Load()), "retries/write")
	b.ReportMetric(float64(rc.all.Load()-int64(rc.want)), "duplicates")
	// How long a write transaction takes, and how many run at once on
	// average.
	b.ReportMetric(float64(st.busy.Load())/float64(st.writes.Load())/1e6, "ms/write")
	b.ReportMetric(float64(st.busy.Load())/elapsed.Seconds()/1e9, "writes_in_flight")
}

func benchLag(b *testing.B, eng string, wake bool) {
	st := benchStore(b, eng)
	ctx, s := benchFixture(b, st)
	events := b.N
	rc := newBenchReceiver(b, events)
	benchEndpoints(b, ctx, st, s, rc.srv.URL, 1)
	e := webhook.New(st, nil, benchOptions())
	e.Register(testDialect{name: "test"})
	if wake {
		// As the server wires it: a wake after every commit.
		n, ok := st.(store.CommitNotifier)
		if !ok {
			b.Fatalf("%s store has no OnCommit", eng)
		}
		n.OnCommit(e.Wake)
	}
	e.Start(ctx)
	defer e.Stop()

	var cmu sync.Mutex
	committed := make(map[string]time.Time, events)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var failed atomic.Int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < events; i++ {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var id string
			err := st.Write(ctx, func(tx store.Tx) error {
				ev, err := benchEvent(tx, s)
				if err != nil {
					return err
				}
				id = ev.ID
				return tx.CreateEvent(ctx, ev)
			})
			now := time.Now()
			if err != nil {
				failed.Add(1)
				return
			}
			cmu.Lock()
			committed[id] = now
			cmu.Unlock()
		}()
	}
	wg.Wait()
	rate := float64(events) / time.Since(start).Seconds()
	select {
	case <-rc.done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d events arrived", len(rc.at), rc.want)
	}
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d event writes failed", failed.Load())
	}
	lags := make([]time.Duration, 0, events)
	rc.mu.Lock()
	for id, c := range committed {
		lags = append(lags, max(0, rc.at[id+"/ep0"].Sub(c)))
	}
	rc.mu.Unlock()
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	pct := func(p float64) float64 {
		return float64(lags[min(len(lags)-1, int(p*float64(len(lags))))].Microseconds()) / 1000
	}
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "max_ms")
}
