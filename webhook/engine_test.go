package webhook_test

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/webhook"
)

// A receiver that refuses connections, then answers 503, then 200: every
// event arrives, correctly signed, and the delivery log tells the story.
func TestEngine_DownThenUp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b.open(t))
		addr := freePort(t)
		ep := f.endpoint(f.scope, "http://"+addr+"/hooks", nil, nil)
		rc := newReceiverUnstarted(t)
		rc.expect(ep)
		var outcomes counter
		var lags atomic.Int64
		opts := testOptions()
		opts.Schedule = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
			400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond}
		opts.Metrics.Attempt = func(dialect, outcome string, _ time.Duration) { outcomes.add(dialect + "/" + outcome) }
		opts.Metrics.FirstAttempt = func(time.Duration) { lags.Add(1) }
		startEngine(t, f.st, opts)
		const n = 20
		ids := f.events(f.scope, tender.EventPaymentCaptured, n)

		// Down: nothing listens on the port.
		every := func(cond func(d *tender.Delivery) bool) func() bool {
			return func() bool {
				ds := f.deliveries(f.scope, ep.ID)
				for _, d := range ds {
					if !cond(d) {
						return false
					}
				}
				return len(ds) == n
			}
		}
		waitFor(t, 10*time.Second, "a refused attempt of every delivery", every(func(d *tender.Delivery) bool {
			return d.Attempts >= 1 && strings.Contains(d.LastError, "refused")
		}))
		if ep, err := f.findEndpoint(f.scope, ep.ID); err != nil || ep.FailingSince == nil || !ep.Enabled {
			t.Errorf("endpoint while failing: %+v, %v; want enabled with failing_since set", ep, err)
		}

		// Up, but busy.
		var up atomic.Bool
		rc.setRespond(func(*http.Request) (int, string) {
			if up.Load() {
				return 200, "thanks"
			}
			return 503, "busy"
		})
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		rc.srv.Listener.Close()
		rc.srv.Listener = ln
		rc.srv.Start()
		waitFor(t, 10*time.Second, "a 503 answer to every delivery", every(func(d *tender.Delivery) bool { return d.LastStatus == 503 }))

		// Up.
		up.Store(true)
		waitFor(t, 15*time.Second, "every event", func() bool { return rc.delivered() == n })
		waitFor(t, 5*time.Second, "every delivery recorded", func() bool {
			return states(f.deliveries(f.scope, ep.ID))[tender.DeliverySucceeded] == n
		})

		hits, byID, _ := rc.snapshot()
		for _, id := range ids {
			if byID[id] == 0 {
				t.Errorf("event %s never arrived", id)
			}
		}
		for _, h := range hits {
			if !h.signedOK || h.userAgent != webhook.UserAgent || h.ctype != "application/json" || h.typ != "test.payment.captured" {
				t.Errorf("request %+v: want a valid signature, User-Agent %q, JSON, type test.payment.captured", h, webhook.UserAgent)
			}
		}
		refused, busy := 0, 0
		for _, a := range f.attempts(ep.ID) {
			switch {
			case a.StatusCode == 0 && strings.Contains(a.Error, "refused"):
				refused++
			case a.StatusCode == 503 && a.ResponseExcerpt == "busy":
				busy++
			}
		}
		if refused < n || busy < n {
			t.Errorf("delivery log: %d refused and %d 503 attempts, want at least %d of each", refused, busy, n)
		}
		if outcomes.get("test/network_error") != refused || outcomes.get("test/http_error") != busy || outcomes.get("test/succeeded") != n {
			t.Errorf("Metrics.Attempt outcomes %v; want %d network errors, %d HTTP errors and %d successes", outcomes.m, refused, busy, n)
		}
		for _, d := range f.deliveries(f.scope, ep.ID) {
			if d.Attempts < 3 || d.LastStatus != 200 || d.SucceededAt == nil || d.LastError != "" {
				t.Errorf("delivery %+v: want succeeded after at least 3 attempts", d)
			}
		}
		if ep, err := f.findEndpoint(f.scope, ep.ID); err != nil || ep.FailingSince != nil || !ep.Enabled {
			t.Errorf("endpoint after success: %+v, %v; want enabled, failing_since cleared", ep, err)
		}
		if lags.Load() != n {
			t.Errorf("FirstAttempt called %d times, want %d", lags.Load(), n)
		}
	})
}

// 410 Gone disables the endpoint at once, cancels its pending deliveries
// and records a webhook_endpoint.disabled event, which other endpoints get.
func TestEngine_GoneDisables(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b.open(t))
		rc := newReceiver(t)
		rc.setRespond(func(r *http.Request) (int, string) {
			if r.URL.Path == "/gone" {
				return 410, "no such hook"
			}
			return 200, ""
		})
		gone := f.endpoint(f.scope, rc.url("/gone"), nil, nil)
		watch := f.endpoint(f.scope, rc.url("/watch"), []string{"test." + tender.EventEndpointDisabled}, nil)
		rc.expect(gone)
		rc.expect(watch)

		e := webhook.New(f.st, nil, testOptions())
		e.Register(testDialect{name: "test"})
		f.events(f.scope, tender.EventPaymentCreated, 5)
		if n, err := e.DispatchOnce(f.ctx); err != nil || n != 5 {
			t.Fatalf("DispatchOnce = %d, %v; want 5 events", n, err)
		}
		e.Start(f.ctx)
		t.Cleanup(e.Stop)

		waitFor(t, 10*time.Second, "the disabled event at the watcher", func() bool { return len(rc.hitsAt("/watch")) == 1 })
		got, err := f.findEndpoint(f.scope, gone.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Enabled || !strings.Contains(got.DisabledReason, "410") {
			t.Errorf("endpoint after 410: enabled %v, reason %q; want disabled for 410", got.Enabled, got.DisabledReason)
		}
		if h := rc.hitsAt("/watch")[0]; h.typ != "test."+tender.EventEndpointDisabled || !h.signedOK {
			t.Errorf("watcher got %+v", h)
		}
		waitFor(t, 10*time.Second, "no pending delivery to the gone endpoint", func() bool {
			return states(f.deliveries(f.scope, gone.ID))[tender.DeliveryPending] == 0
		})
		st := states(f.deliveries(f.scope, gone.ID))
		if st[tender.DeliveryFailed] < 1 || st[tender.DeliveryFailed]+st[tender.DeliveryCancelled] != 5 {
			t.Errorf("gone endpoint's deliveries: %v; want at least one failed, the rest cancelled", st)
		}
		if hits := len(rc.hitsAt("/gone")); hits < 1 || hits > st[tender.DeliveryFailed] {
			t.Errorf("gone endpoint got %d requests with %d failed deliveries", hits, st[tender.DeliveryFailed])
		}
		var disabledEvents []*tender.Event
		if err := f.st.Read(f.ctx, func(tx store.Tx) (err error) {
			disabledEvents, _, err = tx.ListEvents(f.ctx, f.scope, tender.Page{Limit: 10}, []string{tender.EventEndpointDisabled})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(disabledEvents) != 1 || disabledEvents[0].ObjectID != gone.ID || strings.Contains(string(disabledEvents[0].Object), "sealed:") {
			t.Errorf("disabled events: %+v; want one about %s, without its secret", disabledEvents, gone.ID)
		}

		// Later events are not owed to the disabled endpoint.
		after := f.endpoint(f.scope, rc.url("/after"), nil, nil)
		rc.expect(after)
		f.events(f.scope, tender.EventPaymentCreated, 3)
		waitFor(t, 10*time.Second, "later events at another endpoint", func() bool { return len(rc.hitsAt("/after")) == 3 })
		if got := len(f.deliveries(f.scope, gone.ID)); got != 5 {
			t.Errorf("gone endpoint has %d deliveries after it was disabled, want the 5 from before", got)
		}
	})
}

// Disabled, deleted and filtered endpoints, endpoints of other accounts,
// modes or dialects, and endpoints created after an event get nothing.
func TestEngine_OnlySubscribedEndpoints(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b.open(t))
		rc := newReceiver(t)
		live := f.scope
		live.Mode = tender.ModeLive
		mk := func(s tender.Scope, path string, events []string, edit func(*tender.WebhookEndpoint)) *tender.WebhookEndpoint {
			ep := f.endpoint(s, rc.url(path), events, edit)
			rc.expect(ep)
			return ep
		}
		wanted := mk(f.scope, "/wanted", []string{"test.payment.captured"}, nil)
		filtered := mk(f.scope, "/filtered", []string{"test.refund.created", "test.payment.failed"}, nil)
		off := mk(f.scope, "/off", nil, func(ep *tender.WebhookEndpoint) { ep.Enabled = false })
		deleted := mk(f.scope, "/deleted", nil, nil)
		deleted.Deleted = true
		f.updateEndpoint(deleted)
		liveEP := mk(live, "/live", nil, nil)
		otherEP := mk(f.other, "/other", nil, nil)
		alien := mk(f.scope, "/alien", nil, func(ep *tender.WebhookEndpoint) { ep.Dialect = "unregistered" })
		offLater := mk(f.scope, "/off-later", nil, nil)
		goneLater := mk(f.scope, "/gone-later", nil, nil)

		f.events(f.scope, tender.EventPaymentCaptured, 3)
		f.events(f.scope, tender.EventPaymentMethodUpdated, 2) // no name in the test dialect
		late := mk(f.scope, "/late", nil, nil)

		e := webhook.New(f.st, nil, testOptions())
		e.Register(testDialect{name: "test"})
		if n, err := e.DispatchOnce(f.ctx); err != nil || n != 5 {
			t.Fatalf("DispatchOnce = %d, %v; want 5 events", n, err)
		}
		// Disabled and deleted after the fan-out: cancelled when claimed.
		offLater.Enabled = false
		f.updateEndpoint(offLater)
		goneLater.Deleted = true
		f.updateEndpoint(goneLater)
		e.Start(f.ctx)
		t.Cleanup(e.Stop)

		waitFor(t, 10*time.Second, "the wanted events", func() bool { return len(rc.hitsAt("/wanted")) == 3 })
		// A marker event after the late endpoint's creation reaches it; by
		// then every earlier delivery has been claimed.
		f.events(f.scope, tender.EventPaymentCreated, 1)
		waitFor(t, 10*time.Second, "the marker event", func() bool { return len(rc.hitsAt("/late")) == 1 })
		waitFor(t, 10*time.Second, "cancellations", func() bool {
			return states(f.deliveries(f.scope, offLater.ID))[tender.DeliveryCancelled] == 3 &&
				states(f.deliveries(f.scope, goneLater.ID))[tender.DeliveryCancelled] == 3
		})

		hits, _, _ := rc.snapshot()
		for _, h := range hits {
			if h.path != "/wanted" && h.path != "/late" {
				t.Errorf("endpoint %s got %s", h.path, h.typ)
			}
		}
		for _, c := range []struct {
			ep   *tender.WebhookEndpoint
			s    tender.Scope
			want int
		}{
			{wanted, f.scope, 3}, {filtered, f.scope, 0}, {off, f.scope, 0}, {deleted, f.scope, 0}, {liveEP, live, 0},
			{otherEP, f.other, 0}, {alien, f.scope, 0}, {late, f.scope, 1}, {offLater, f.scope, 3}, {goneLater, f.scope, 3},
		} {
			if got := len(f.deliveries(c.s, c.ep.ID)); got != c.want {
				t.Errorf("endpoint %s: %d deliveries, want %d", c.ep.URL, got, c.want)
			}
		}
		for _, d := range f.deliveries(f.scope, offLater.ID) {
			if d.Attempts != 0 || !strings.Contains(d.LastError, "disabled") {
				t.Errorf("delivery to an endpoint disabled before its claim: %+v", d)
			}
		}
		for _, d := range f.deliveries(f.scope, goneLater.ID) {
			if d.Attempts != 0 || !strings.Contains(d.LastError, "deleted") {
				t.Errorf("delivery to an endpoint deleted before its claim: %+v", d)
			}
		}
	})
}

// A receiver that never answers holds at most MaxPerEndpoint workers;
// another endpoint gets every event meanwhile.
func TestEngine_SlowReceiverDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, openSQLite(t))
	rc := newReceiver(t)
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var slowNow, slowMax atomic.Int64
	rc.setRespond(func(r *http.Request) (int, string) {
		if r.URL.Path == "/slow" {
			n := slowNow.Add(1)
			defer slowNow.Add(-1)
			for m := slowMax.Load(); n > m && !slowMax.CompareAndSwap(m, n); m = slowMax.Load() {
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return 0, ""
			}
		}
		return 200, ""
	})
	slow := f.endpoint(f.scope, rc.url("/slow"), nil, nil)
	fast := f.endpoint(f.scope, rc.url("/fast"), nil, nil)
	rc.expect(slow)
	rc.expect(fast)
	opts := testOptions()
	opts.Concurrency, opts.MaxPerEndpoint, opts.Timeout = 8, 2, 20*time.Second
	startEngine(t, f.st, opts)

	const n = 30
	f.events(f.scope, tender.EventPaymentCaptured, n)
	waitFor(t, 15*time.Second, "every event at the fast endpoint", func() bool { return len(rc.hitsAt("/fast")) == n })
	if len(rc.hitsAt("/slow")) != 0 {
		t.Errorf("the slow endpoint answered before it was released")
	}
	if m := slowMax.Load(); m < 1 || m > 2 {
		t.Errorf("the slow endpoint had up to %d requests at once, want 1 or 2", m)
	}
	once.Do(func() { close(release) })
	waitFor(t, 20*time.Second, "every event at the slow endpoint", func() bool { return len(rc.hitsAt("/slow")) == n })
	if m := slowMax.Load(); m > 2 {
		t.Errorf("the slow endpoint had up to %d requests at once, want at most 2", m)
	}
}

// Deliveries waiting for a slot of an endpoint that is disabled meanwhile
// are cancelled, never sent.
func TestEngine_DisabledWhileWaiting(t *testing.T) {
	t.Parallel()
	f := newFixture(t, openSQLite(t))
	rc := newReceiver(t)
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	rc.setRespond(func(r *http.Request) (int, string) {
		select {
		case <-release:
		case <-r.Context().Done():
			return 0, ""
		}
		return 200, ""
	})
	ep := f.endpoint(f.scope, rc.url("/h"), nil, nil)
	rc.expect(ep)
	opts := testOptions()
	opts.Concurrency, opts.MaxPerEndpoint, opts.Timeout, opts.Lease = 4, 1, 10*time.Second, 30*time.Second
	startEngine(t, f.st, opts)
	f.events(f.scope, tender.EventPaymentCaptured, 5)
	waitFor(t, 10*time.Second, "one request in flight", func() bool { return rc.inFlightNow() == 1 })
	time.Sleep(1200 * time.Millisecond) // longer than a delivery may wait unchecked
	got, err := f.findEndpoint(f.scope, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Enabled, got.DisabledReason = false, "by the test"
	f.updateEndpoint(got)
	once.Do(func() { close(release) })
	waitFor(t, 10*time.Second, "no pending delivery", func() bool {
		return states(f.deliveries(f.scope, ep.ID))[tender.DeliveryPending] == 0
	})
	if st := states(f.deliveries(f.scope, ep.ID)); st[tender.DeliverySucceeded] != 1 || st[tender.DeliveryCancelled] != 4 {
		t.Errorf("deliveries: %v; want the one in flight succeeded, 4 cancelled", st)
	}
	if hits, _, _ := rc.snapshot(); len(hits) != 1 {
		t.Errorf("the receiver got %d requests, want only the one in flight when the endpoint was disabled", len(hits))
	}
	for _, a := range f.attempts(ep.ID) {
		if a.StatusCode != 200 {
			t.Errorf("attempt %+v: a cancelled delivery was attempted", a)
		}
	}
}

// Timeouts and the response cap: a 500 with a huge body keeps a 1 KiB
// excerpt; a receiver slower than the timeout counts as a failed attempt.
func TestEngine_TimeoutAndResponseCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, openSQLite(t))
	rc := newReceiver(t)
	var calls atomic.Int64
	big := strings.Repeat("x", 100<<10)
	rc.setRespond(func(r *http.Request) (int, string) {
		switch calls.Add(1) {
		case 1:
			return 500, big
		case 2:
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return 0, ""
		}
		return 204, ""
	})
	ep := f.endpoint(f.scope, rc.url("/h"), nil, nil)
	rc.expect(ep)
	opts := testOptions()
	opts.Timeout = 300 * time.Millisecond
	opts.Lease = 2 * time.Second
	startEngine(t, f.st, opts)
	f.events(f.scope, tender.EventRefundCreated, 1)
	waitFor(t, 10*time.Second, "success", func() bool {
		return states(f.deliveries(f.scope, ep.ID))[tender.DeliverySucceeded] == 1
	})
	as := f.attempts(ep.ID)
	if len(as) != 3 {
		t.Fatalf("%d attempts, want 3: %+v", len(as), as)
	}
	first, second, third := as[2], as[1], as[0]
	if first.Attempt != 1 || first.StatusCode != 500 || len(first.ResponseExcerpt) != webhook.MaxExcerpt || first.Error != "" {
		t.Errorf("first attempt: status %d, excerpt %d bytes, error %q; want 500 with a %d-byte excerpt",
			first.StatusCode, len(first.ResponseExcerpt), first.Error, webhook.MaxExcerpt)
	}
	if second.StatusCode != 0 || !strings.Contains(second.Error, "timed out after 300ms") || second.LatencyMillis < 250 || second.LatencyMillis > 2000 {
		t.Errorf("second attempt: %+v; want a timeout after 300ms", second)
	}
	if third.Attempt != 3 || third.StatusCode != 204 {
		t.Errorf("third attempt: %+v; want 204", third)
	}
}

// An engine stopped while attempts are in flight leaves their deliveries
// leased; a new engine on the same database delivers every event once the
// leases lapse. Nothing is lost; duplicates are allowed.
func TestEngine_RestartMidDelivery(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		st1 := b.open(t)
		f := newFixture(t, st1)
		rc := newReceiver(t)
		var hang atomic.Bool
		hang.Store(true)
		rc.setRespond(func(r *http.Request) (int, string) {
			if hang.Load() {
				<-r.Context().Done()
				return 0, ""
			}
			return 200, ""
		})
		ep := f.endpoint(f.scope, rc.url("/h"), nil, nil)
		rc.expect(ep)
		opts := testOptions()
		opts.Concurrency, opts.MaxPerEndpoint = 8, 8
		opts.Timeout, opts.Lease, opts.StopGrace = 2*time.Second, 3*time.Second, 100*time.Millisecond
		e1 := startEngine(t, st1, opts)
		const n = 20
		// Every lease is taken after this instant, so none lapses before
		// it plus the lease, however slowly the machine runs.
		beforeClaims := time.Now()
		ids := f.events(f.scope, tender.EventPaymentCaptured, n)
		waitFor(t, 10*time.Second, "8 requests in flight", func() bool { return rc.inFlightNow() == 8 })
		e1.Stop()
		// Some events may not even have been fanned out yet.
		ds := f.deliveries(f.scope, ep.ID)
		if st := states(ds); st[tender.DeliveryPending] != len(ds) || len(ds) < 8 {
			t.Fatalf("after the stop: %v, want at least 8 deliveries, all pending", st)
		}
		for _, d := range ds {
			if d.Attempts != 0 {
				t.Errorf("delivery %s has %d attempts recorded; an aborted attempt must not be", d.ID, d.Attempts)
			}
		}
		st1.Close()

		// A new process: same database, new store handle, new engine.
		hang.Store(false)
		st2 := b.open(t)
		f2 := f.on(st2)
		startEngine(t, st2, opts)
		waitFor(t, 20*time.Second, "every event after the restart", func() bool { return rc.delivered() == n })
		sinceClaims := time.Since(beforeClaims)
		_, byID, _ := rc.snapshot()
		for _, id := range ids {
			if byID[id] == 0 {
				t.Errorf("event %s lost across the restart", id)
			}
		}
		waitFor(t, 5*time.Second, "every delivery recorded", func() bool {
			return states(f2.deliveries(f.scope, ep.ID))[tender.DeliverySucceeded] == n
		})
		// The 8 leased deliveries waited for their leases to lapse.
		if sinceClaims < opts.Lease {
			t.Errorf("all delivered %s after the first claims; the leased ones should have waited for their %s lease", sinceClaims, opts.Lease)
		}
	})
}

// Two engines on one PostgreSQL database share the deliveries, and never
// attempt the same one at the same time.
func TestEngine_TwoEnginesOnePostgres(t *testing.T) {
	t.Parallel()
	dsn := testserver.PostgresURL(t)
	open := func() store.Store {
		db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	st1, st2 := open(), open()
	f := newFixture(t, st1)
	rc := newReceiver(t)
	var rmu sync.Mutex
	rnd := rand.New(rand.NewPCG(7, 11))
	rc.setRespond(func(*http.Request) (int, string) {
		rmu.Lock()
		d := time.Duration(rnd.IntN(4000)) * time.Microsecond
		rmu.Unlock()
		time.Sleep(d)
		return 200, ""
	})
	ep := f.endpoint(f.scope, rc.url("/shared"), nil, nil)
	rc.expect(ep)
	var by1, by2 atomic.Int64
	o1, o2 := testOptions(), testOptions()
	o1.Metrics.Attempt = func(string, string, time.Duration) { by1.Add(1) }
	o2.Metrics.Attempt = func(string, string, time.Duration) { by2.Add(1) }
	startEngine(t, st1, o1)
	startEngine(t, st2, o2)

	const n = 300
	f.events(f.scope, tender.EventPaymentCaptured, n)
	waitFor(t, 30*time.Second, "every event", func() bool { return rc.delivered() == n })
	hits, byID, overlap := rc.snapshot()
	if overlap != 0 {
		t.Errorf("%d requests arrived while another of the same event was in flight", overlap)
	}
	if len(hits) != n {
		dups := 0
		for _, c := range byID {
			if c > 1 {
				dups++
			}
		}
		t.Errorf("%d requests for %d events (%d events more than once); want each once with long leases", len(hits), n, dups)
	}
	if by1.Load() == 0 || by2.Load() == 0 {
		t.Errorf("attempts by engine: %d and %d; want both to share the work", by1.Load(), by2.Load())
	}
	t.Logf("attempts by engine: %d and %d", by1.Load(), by2.Load())
}

// Two engines on one PostgreSQL database, each claiming and recording in
// large batches (fast receivers, several endpoints, a first attempt of some
// events failing), never attempt one delivery at the same time, deliver
// every event to every endpoint, and log every attempt once, numbered in
// order.
func TestEngine_TwoEnginesOnePostgres_Batches(t *testing.T) {
	t.Parallel()
	dsn := testserver.PostgresURL(t)
	open := func() store.Store {
		db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	st1, st2 := open(), open()
	f := newFixture(t, st1)

	// The receiver keys requests by endpoint and event: one event goes to
	// every endpoint at once, legitimately.
	var mu sync.Mutex
	inFlight, tries, ok := map[string]int{}, map[string]int{}, map[string]int{}
	overlap := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path + " " + r.Header.Get("Test-Id")
		mu.Lock()
		if inFlight[key] > 0 {
			overlap++
		}
		inFlight[key]++
		tries[key]++
		fail := tries[key] == 1 && failsFirst(r.Header.Get("Test-Id"))
		mu.Unlock()
		status := http.StatusOK
		if fail {
			status = http.StatusInternalServerError
		}
		mu.Lock()
		inFlight[key]--
		if !fail {
			ok[key]++
		}
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	const endpoints, n = 3, 400
	var eps []*tender.WebhookEndpoint
	for i := 0; i < endpoints; i++ {
		eps = append(eps, f.endpoint(f.scope, srv.URL+"/ep"+itoa(i), nil, nil))
	}
	ids := f.events(f.scope, tender.EventPaymentCaptured, n)
	var by1, by2 atomic.Int64
	o1, o2 := testOptions(), testOptions()
	o1.Concurrency, o2.Concurrency = 16, 16
	o1.Schedule, o2.Schedule = []time.Duration{50 * time.Millisecond}, []time.Duration{50 * time.Millisecond}
	o1.Metrics.Attempt = func(string, string, time.Duration) { by1.Add(1) }
	o2.Metrics.Attempt = func(string, string, time.Duration) { by2.Add(1) }
	startEngine(t, st1, o1)
	startEngine(t, st2, o2)
	waitFor(t, 60*time.Second, "every event at every endpoint", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ok) == endpoints*n
	})
	mu.Lock()
	if overlap != 0 {
		t.Errorf("%d requests arrived while another of the same delivery was in flight", overlap)
	}
	wantTries := 0
	for _, id := range ids {
		want := 1
		if failsFirst(id) {
			want = 2
		}
		wantTries += want * endpoints
		for _, ep := range eps {
			key := strings.TrimPrefix(ep.URL, srv.URL) + " " + id
			if tries[key] != want || ok[key] != 1 {
				t.Errorf("%s: %d requests, %d answered 2xx; want %d and 1 (long leases, so no duplicates)", key, tries[key], ok[key], want)
			}
		}
	}
	mu.Unlock()
	if by1.Load() == 0 || by2.Load() == 0 {
		t.Errorf("attempts by engine: %d and %d; want both to share the work", by1.Load(), by2.Load())
	}
	t.Logf("attempts by engine: %d and %d", by1.Load(), by2.Load())

	// The log: one succeeded delivery per event and endpoint, one attempt
	// row per request, numbered 1, 2, … per delivery.
	rows := 0
	waitFor(t, 10*time.Second, "every outcome recorded", func() bool {
		rows = 0
		for _, ep := range eps {
			rows += len(f.attempts(ep.ID))
		}
		return rows == wantTries
	})
	for _, ep := range eps {
		ds := f.deliveries(f.scope, ep.ID)
		if s := states(ds); s[tender.DeliverySucceeded] != n || len(ds) != n {
			t.Errorf("endpoint %s deliveries by state: %v, want %d succeeded", ep.ID, s, n)
		}
		seen := map[string][]int{}
		for _, a := range f.attempts(ep.ID) {
			seen[a.DeliveryID] = append(seen[a.DeliveryID], a.Attempt)
		}
		for _, d := range ds {
			nums := seen[d.ID]
			for i, k := range nums { // newest first
				if k != len(nums)-i {
					t.Errorf("delivery %s attempt numbers %v, want %d down to 1", d.ID, nums, len(nums))
					break
				}
			}
			if d.Attempts != len(nums) {
				t.Errorf("delivery %s counts %d attempts, has %d rows", d.ID, d.Attempts, len(nums))
			}
		}
	}
}

// failsFirst picks about a third of the events, by id, to fail their first
// attempt.
func failsFirst(id string) bool { return id != "" && id[len(id)-1]%3 == 0 }

// An endpoint that fails every delivery for longer than DisableAfter is
// disabled, and an event says so.
func TestEngine_DisableAfterFailing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, openSQLite(t))
	rc := newReceiver(t)
	rc.setRespond(func(r *http.Request) (int, string) {
		if r.URL.Path == "/down" {
			return 500, "down"
		}
		return 200, ""
	})
	down := f.endpoint(f.scope, rc.url("/down"), []string{"test." + tender.EventPaymentCaptured}, nil)
	watch := f.endpoint(f.scope, rc.url("/watch"), []string{"test." + tender.EventEndpointDisabled}, nil)
	rc.expect(down)
	rc.expect(watch)
	opts := testOptions()
	opts.DisableAfter = 300 * time.Millisecond
	opts.Schedule = make([]time.Duration, 100)
	for i := range opts.Schedule {
		opts.Schedule[i] = 20 * time.Millisecond
	}
	startEngine(t, f.st, opts)
	f.events(f.scope, tender.EventPaymentCaptured, 1)
	waitFor(t, 10*time.Second, "the disabled event", func() bool { return len(rc.hitsAt("/watch")) == 1 })
	got, err := f.findEndpoint(f.scope, down.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enabled || !strings.Contains(got.DisabledReason, "every delivery failed") || got.FailingSince == nil {
		t.Errorf("endpoint: enabled %v, reason %q, failing since %v; want disabled for failing", got.Enabled, got.DisabledReason, got.FailingSince)
	}
	ds := f.deliveries(f.scope, down.ID)
	if len(ds) != 1 || ds[0].State != tender.DeliveryCancelled || ds[0].Attempts < 5 {
		t.Errorf("deliveries: %+v; want one, cancelled after several attempts", ds)
	}
}

// Manual redelivery of one event, and of every failed delivery since a time.
func TestEngine_Redeliver(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		f := newFixture(t, b.open(t))
		rc := newReceiver(t)
		var badUp atomic.Bool
		rc.setRespond(func(r *http.Request) (int, string) {
			if strings.HasPrefix(r.URL.Path, "/bad") && !badUp.Load() {
				return 500, "nope"
			}
			return 200, ""
		})
		one := f.endpoint(f.scope, rc.url("/one"), nil, nil)
		rc.expect(one)
		opts := testOptions()
		opts.Schedule = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
		e := startEngine(t, f.st, opts)
		start := time.Now().Add(-time.Second)
		ids := f.events(f.scope, tender.EventPaymentCaptured, 1)
		waitFor(t, 10*time.Second, "the first delivery", func() bool {
			return states(f.deliveries(f.scope, one.ID))[tender.DeliverySucceeded] == 1
		})

		two := f.endpoint(f.scope, rc.url("/two"), nil, nil)
		rc.expect(two)
		n, err := e.Redeliver(f.ctx, f.scope, ids[0])
		if err != nil || n != 2 {
			t.Fatalf("Redeliver = %d, %v; want 2 (the first endpoint again, and the new one)", n, err)
		}
		waitFor(t, 10*time.Second, "the redeliveries", func() bool {
			return len(rc.hitsAt("/one")) == 2 && len(rc.hitsAt("/two")) == 1 &&
				states(f.deliveries(f.scope, one.ID))[tender.DeliverySucceeded] == 1
		})
		if d := f.deliveries(f.scope, one.ID)[0]; d.Attempts != 2 {
			t.Errorf("redelivered delivery has %d attempts, want 2 (kept, plus one)", d.Attempts)
		}
		_, err = e.Redeliver(f.ctx, f.scope, "evt_00000000000000000000000000")
		if tender.ErrorCode(err) != tender.ENOTFOUND {
			t.Errorf("Redeliver of an unknown event: %v, want ENOTFOUND", err)
		}
		_, err = e.Redeliver(f.ctx, f.other, ids[0])
		if tender.ErrorCode(err) != tender.ENOTFOUND {
			t.Errorf("Redeliver of another account's event: %v, want ENOTFOUND", err)
		}

		// Failed deliveries: one to an endpoint that recovers, one to an
		// endpoint disabled meanwhile.
		bad := f.endpoint(f.scope, rc.url("/bad"), []string{"test.refund.created"}, nil)
		bad2 := f.endpoint(f.scope, rc.url("/bad2"), []string{"test.refund.created"}, nil)
		rc.expect(bad)
		rc.expect(bad2)
		f.events(f.scope, tender.EventRefundCreated, 1)
		waitFor(t, 10*time.Second, "failed deliveries", func() bool {
			return states(f.deliveries(f.scope, bad.ID))[tender.DeliveryFailed] == 1 &&
				states(f.deliveries(f.scope, bad2.ID))[tender.DeliveryFailed] == 1
		})
		got, err := f.findEndpoint(f.scope, bad2.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.Enabled = false
		f.updateEndpoint(got)
		badUp.Store(true)
		n, err = e.RedeliverFailed(f.ctx, f.scope, start)
		if err != nil || n != 1 {
			t.Fatalf("RedeliverFailed = %d, %v; want 1", n, err)
		}
		waitFor(t, 10*time.Second, "the failed delivery redelivered", func() bool {
			return states(f.deliveries(f.scope, bad.ID))[tender.DeliverySucceeded] == 1
		})
		if d := f.deliveries(f.scope, bad.ID)[0]; d.Attempts != 4 {
			t.Errorf("redelivered failed delivery has %d attempts, want 4 (3 failed, 1 good)", d.Attempts)
		}
		if st := states(f.deliveries(f.scope, bad2.ID)); st[tender.DeliveryCancelled] != 1 {
			t.Errorf("failed delivery to a disabled endpoint: %v, want cancelled", st)
		}
		if n, err := e.RedeliverFailed(f.ctx, f.scope, start); err != nil || n != 0 {
			t.Errorf("RedeliverFailed again = %d, %v; want 0", n, err)
		}
	})
}

// With private addresses refused, a delivery to a literal loopback IP or a
// name that resolves to one never connects.
func TestEngine_DialGuard(t *testing.T) {
	t.Parallel()
	f := newFixture(t, openSQLite(t))
	rc := newReceiver(t)
	port := rc.srv.Listener.Addr().(*net.TCPAddr).Port
	byName := f.endpoint(f.scope, "http://localhost:"+itoa(port)+"/name", nil, nil)
	byIP := f.endpoint(f.scope, "http://127.0.0.1:"+itoa(port)+"/ip", nil, nil)
	byV6 := f.endpoint(f.scope, "http://[::ffff:127.0.0.1]:"+itoa(port)+"/v6", nil, nil)
	opts := testOptions()
	opts.AllowPrivate = false
	opts.Schedule = []time.Duration{10 * time.Millisecond}
	startEngine(t, f.st, opts)
	f.events(f.scope, tender.EventPaymentCaptured, 1)
	for _, ep := range []*tender.WebhookEndpoint{byName, byIP, byV6} {
		waitFor(t, 10*time.Second, "the failed delivery to "+ep.URL, func() bool {
			return states(f.deliveries(f.scope, ep.ID))[tender.DeliveryFailed] == 1
		})
		for _, a := range f.attempts(ep.ID) {
			if !strings.Contains(a.Error, "internal address") {
				t.Errorf("attempt to %s: error %q, want the guard's refusal", ep.URL, a.Error)
			}
		}
	}
	if hits, _, _ := rc.snapshot(); len(hits) != 0 {
		t.Errorf("the receiver got %d requests through the guard", len(hits))
	}
}
