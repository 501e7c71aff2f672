package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlite"
)

// plainDialect delivers events unsigned, for tests of the scheduler.
type plainDialect struct{}

func (plainDialect) Name() string                     { return "plain" }
func (plainDialect) EventName(coreType string) string { return coreType }
func (plainDialect) Payload(ev *tender.Event, _ string) ([]byte, error) {
	return json.Marshal(ev)
}
func (plainDialect) Sign(string, string, time.Time, []byte) (http.Header, error) {
	return http.Header{}, nil
}

// The scheduler keeps its bounds under load from many endpoints: at most
// Concurrency attempts, MaxPerEndpoint per endpoint, eight times Concurrency
// deliveries in memory, and it never asks the store for a negative number
// of deliveries (which SQLite would read as "no limit").
func TestScheduler_Bounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var perEPNow [6]atomic.Int64
	var perEPMax atomic.Int64
	var done atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(r.URL.Path[len(r.URL.Path)-1] - '0')
		n := perEPNow[i].Add(1)
		for m := perEPMax.Load(); n > m && !perEPMax.CompareAndSwap(m, n); m = perEPMax.Load() {
		}
		time.Sleep(time.Duration(1+i) * time.Millisecond)
		perEPNow[i].Add(-1)
		done.Add(1)
	}))
	defer srv.Close()

	now := time.Now().UTC()
	acct := tender.NewID(tender.PrefixAccount, now)
	const events, endpoints = 300, 6
	err = st.Write(ctx, func(tx store.Tx) error {
		for i := 0; i < endpoints; i++ {
			ep := &tender.WebhookEndpoint{ID: tender.NewID(tender.PrefixEndpoint, now), AccountID: acct, Mode: tender.ModeTest,
				Dialect: "plain", URL: srv.URL + "/ep" + string(rune('0'+i)), Events: []string{"*"}, Enabled: true,
				SecretSealed: "s", CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateWebhookEndpoint(ctx, ep); err != nil {
				return err
			}
		}
		for i := 0; i < events; i++ {
			ev := &tender.Event{ID: tender.NewID(tender.PrefixEvent, now), AccountID: acct, Mode: tender.ModeTest,
				Type: tender.EventPaymentCreated, ObjectType: "payment_intent", ObjectID: "pi_1", Object: json.RawMessage(`{}`), CreatedAt: now}
			if err := tx.CreateEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	e := New(st, nil, Options{Concurrency: 4, MaxPerEndpoint: 1, AllowPrivate: true, OpenSecret: func(s string) (string, error) { return s, nil },
		PollInterval: 5 * time.Millisecond})
	e.Register(plainDialect{})
	e.Start(ctx)
	defer e.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for done.Load() < events*endpoints {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries done in 30s", done.Load(), events*endpoints)
		}
		s := &e.sched
		s.mu.Lock()
		running, held, size := s.running, s.held, e.claimSizeLocked()
		s.mu.Unlock()
		if running > 4 || running+held > 32 || size < 0 {
			t.Fatalf("scheduler out of bounds: %d running, %d held, claim size %d", running, held, size)
		}
		time.Sleep(time.Millisecond)
	}
	if m := perEPMax.Load(); m != 1 {
		t.Errorf("an endpoint had up to %d requests at once, want 1", m)
	}
}
