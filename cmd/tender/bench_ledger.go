package main

// tender bench --scenario ledger: seed one account with many ledger
// transactions (bulk inserts through the store), then measure GET
// /balances, filtered POST /transactions/search pages, cursor pages of GET
// /transactions and a CSV download of everything, over HTTP.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/server"
	"github.com/tenderpay/tender/store"
)

// seedLedger posts n merchant-facing transactions for scope sc, spread over
// the year before now: 70% card payments (with the default plan's fee), 25%
// refunds, 5% adjustments. Those available within the hour are settled, by one settlement transaction per batch, so that the ledger
// stays exactly as tender itself would leave it (ledger verify passes). It
// returns how many transactions it posted in all (settlements included).
func seedLedger(ctx context.Context, st store.Store, svc *ledger.Service, sc tender.Scope, n int, now time.Time, progress func(done int)) (int, error) {
	const batch = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	plan := ledger.DefaultPlan(sc.AccountID)
	start := now.Add(-365 * 24 * time.Hour)
	step := (365 * 24 * time.Hour) / time.Duration(n)
	delay := svc.SettlementDelay
	total := 0
	for i := 0; i < n; i += batch {
		var ts []*tender.LedgerTransaction
		var settledSum int64
		var lastAvail time.Time
		for j := i; j < min(i+batch, n); j++ {
			at := start.Add(time.Duration(j) * step).UTC().Truncate(time.Microsecond)
			amount := 100 + rng.Int64N(99_900)
			var t *tender.LedgerTransaction
			var err error
			p := ledger.Posting{AccountID: sc.AccountID, Mode: sc.Mode, Currency: "USD", Amount: amount, AvailableAt: at.Add(delay), At: at}
			switch k := j % 20; {
			case k < 14:
				p.Fee, _ = ledger.Fee(plan, ledger.Method{Type: tender.MethodCard, Brand: "visa"}, amount)
				p.SourceID, p.RootSourceID = tender.NewID(tender.PrefixPayment, at), tender.NewID(tender.PrefixPaymentIntent, at)
				t, err = ledger.Build(ledger.KindPayment, p)
			case k < 19:
				p.Amount = amount / 4
				p.SourceID, p.RootSourceID = tender.NewID(tender.PrefixRefund, at), tender.NewID(tender.PrefixPaymentIntent, at)
				t, err = ledger.Build(ledger.KindRefund, p)
			default:
				if p.Amount = amount/10 - 5000; p.Amount == 0 {
					p.Amount = 1
				}
				p.SourceID = tender.NewID(tender.PrefixAdjustment, at)
				t, err = ledger.Build(ledger.KindAdjustment, p)
			}
			if err != nil {
				return total, err
			}
			// Ids carry their creation time, as they do when tender makes
			// them at the time of posting (NewID keeps a process's ids
			// increasing, so it cannot backdate them here).
			t.ID = seedID(tender.PrefixLedgerTransaction, at, uint64(j))
			t.CreatedAt = at.Truncate(time.Millisecond)
			t.UpdatedAt = t.CreatedAt
			if t.SettlementStatus == tender.Settled { // adjustments
				t.SettledAt = &t.CreatedAt
			}
			// Settled when available by now, and when it would come due
			// while the bench runs (the seed has no payment objects for the
			// settlement job to mark).
			if t.AvailableAt != nil && !t.AvailableAt.After(now.Add(time.Hour)) {
				settledSum += t.Pending
				avail := *t.AvailableAt
				t.SettlementStatus, t.SettledAt, t.UpdatedAt = tender.Settled, &avail, avail
				lastAvail = avail
			}
			ts = append(ts, t)
		}
		if settledSum != 0 {
			s, err := ledger.Build(ledger.KindSettlement, ledger.Posting{AccountID: sc.AccountID, Mode: sc.Mode, Currency: "USD",
				Amount: settledSum, Description: "settlement", At: lastAvail})
			if err != nil {
				return total, err
			}
			s.ID = seedID(tender.PrefixLedgerTransaction, lastAvail, uint64(n+i))
			s.CreatedAt = lastAvail.Truncate(time.Millisecond)
			s.UpdatedAt, s.SettledAt = s.CreatedAt, &s.CreatedAt
			s.SourceID, s.RootSourceID = s.ID, s.ID
			for _, t := range ts {
				if t.SettlementStatus == tender.Settled && t.Pending != 0 {
					t.SettlementID = s.ID
				}
			}
			ts = append(ts, s)
		}
		if err := st.Write(ctx, func(tx store.Tx) error { return svc.Post(ctx, tx, ts...) }); err != nil {
			return total, err
		}
		total += len(ts)
		if progress != nil {
			progress(min(i+batch, n))
		}
	}
	return total, nil
}

// seedID returns an id of prefix made at t whose low bits are seq: ids
// sort by time, then seq.
func seedID(prefix string, t time.Time, seq uint64) string {
	const crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	b := []byte(tender.IDBound(prefix, t, false))
	for i := len(b) - 1; i >= len(b)-12; i-- {
		b[i] = crockford[seq&31]
		seq >>= 5
	}
	return string(b)
}

// timings is a set of latencies.
type timings []time.Duration

func (t timings) pct(p float64) time.Duration {
	if len(t) == 0 {
		return 0
	}
	s := append(timings(nil), t...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

func (t timings) String() string {
	return fmt.Sprintf("n %d  p50 %s  p90 %s  p99 %s  max %s", len(t), fmtMs(t.pct(50)), fmtMs(t.pct(90)), fmtMs(t.pct(99)), fmtMs(t.pct(100)))
}

// ledgerClient sends the bench's ledger requests.
type ledgerClient struct {
	hc   *http.Client
	base string
	auth http.Header
}

func (c *ledgerClient) do(ctx context.Context, method, path string, body any) (time.Duration, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header = c.auth.Clone()
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return d, b, err
}

// measure sends n requests from conns concurrent clients, body(i) giving
// the i-th request, and returns the latencies.
func (c *ledgerClient) measure(ctx context.Context, n, conns int, method string, req func(i int) (string, any)) (timings, error) {
	var mu sync.Mutex
	var out timings
	var next atomic.Int64
	var firstErr error
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				path, body := req(i)
				d, _, err := c.do(ctx, method, path, body)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out = append(out, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// runLedgerBench is the ledger scenario.
func runLedgerBench(ctx context.Context, o *benchOptions, s *server.Server, key, accountID string, stdout io.Writer) error {
	sc := tender.Scope{AccountID: accountID, Mode: tender.ModeTest}
	// No scheduled payout may sweep the seeded money while it is measured.
	if _, err := s.Payments.Ledger.PutSettings(ctx, &tender.AccountSettings{AccountID: accountID, PayoutSchedule: "manual"}); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	now := time.Now().UTC()
	fmt.Fprintf(stdout, "seeding %d ledger transactions in one account (bulk inserts of 2000 per store transaction)…\n", o.ledgerRows)
	seedStart := time.Now()
	lastReport := time.Now()
	posted, err := seedLedger(ctx, s.Store, s.Payments.Ledger, sc, o.ledgerRows, now, func(done int) {
		if time.Since(lastReport) > 15*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(stdout, "  %d of %d after %s\n", done, o.ledgerRows, time.Since(seedStart).Round(time.Second))
		}
	})
	if err != nil {
		return fmt.Errorf("bench: seed: %w", err)
	}
	seedTime := time.Since(seedStart)
	fmt.Fprintf(stdout, "seeded %d transactions (%d with settlements) in %s (%.0f transactions/s)\n", o.ledgerRows, posted,
		seedTime.Round(time.Millisecond), float64(posted)/seedTime.Seconds())
	if pg, ok := s.Store.(interface{ SQL() *sql.DB }); ok {
		// After a bulk load, PostgreSQL plans from empty statistics until
		// autovacuum analyzes the tables; do now what it would do soon.
		start := time.Now()
		if _, err := pg.SQL().ExecContext(ctx, `ANALYZE ledger_transactions, ledger_entries, ledger_balances`); err != nil {
			return fmt.Errorf("bench: analyze: %w", err)
		}
		fmt.Fprintf(stdout, "ANALYZE of the ledger tables took %s\n", time.Since(start).Round(time.Millisecond))
	}

	c := &ledgerClient{hc: &http.Client{Transport: newDriver(s.URL(), 16).tr}, base: s.URL(),
		auth: http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {key}, "X-Account-Id": {accountID}}}
	day := 24 * time.Hour
	iso := func(t time.Time) string { return t.Format(time.RFC3339) }
	n := o.ledgerRequests
	type probe struct {
		name   string
		method string
		conns  int
		req    func(i int) (string, any)
		target time.Duration
	}
	window := func(i int, sortCol string) map[string]any {
		return map[string]any{"source_type": "refund", "settlement_status": "settled", "start_date": iso(now.Add(-200 * day)),
			"end_date": iso(now.Add(-100 * day)), "sort_column": sortCol, "limit": 50, "page": 1 + i%20}
	}
	// Targets apply to one client at a time: on two cores, eight
	// concurrent clients mostly measure queueing for the CPU.
	probes := []probe{
		{"GET /balances, 1 client", "GET", 1, func(int) (string, any) { return "/balances", nil }, 5 * time.Millisecond},
		{"GET /balances, 8 clients", "GET", 8, func(int) (string, any) { return "/balances", nil }, 0},
		{"search settled refunds created in a 100-day window, by created_at, pages 1-20 of 50", "POST", 1, func(i int) (string, any) {
			return "/transactions/search", window(i, "created_at")
		}, 20 * time.Millisecond},
		{"search payments of 500.00-600.00, newest updated first, pages 1-5 of 50", "POST", 1, func(i int) (string, any) {
			return "/transactions/search", map[string]any{"source_type": []string{"payment"}, "amount_min": 50_000, "amount_max": 60_000,
				"limit": 50, "page": 1 + i%5}
		}, 20 * time.Millisecond},
		{"search unsettled refunds, newest updated first, page 1 of 50", "POST", 1, func(i int) (string, any) {
			return "/transactions/search", map[string]any{"source_type": "refund", "settlement_status": "unsettled", "limit": 50}
		}, 20 * time.Millisecond},
		{"search everything by created_at, pages 1-100 of 50", "POST", 1, func(i int) (string, any) {
			return "/transactions/search", map[string]any{"sort_column": "created_at", "limit": 50, "page": 1 + i%100}
		}, 20 * time.Millisecond},
		{"search settled refunds in the window, 8 clients", "POST", 8, func(i int) (string, any) {
			return "/transactions/search", window(i, "created_at")
		}, 0},
		{"GET /transactions?limit=50 (first page)", "GET", 1, func(int) (string, any) { return "/transactions?limit=50", nil }, 0},
	}
	fmt.Fprintf(stdout, "%-72s %s\n", "request", "latency (each probe after 50 unmeasured requests)")
	for _, p := range probes {
		if _, err := c.measure(ctx, 50, p.conns, p.method, p.req); err != nil {
			return fmt.Errorf("bench: %s: %w", p.name, err)
		}
		t, err := c.measure(ctx, n, p.conns, p.method, p.req)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", p.name, err)
		}
		verdict := ""
		if p.target > 0 {
			verdict = fmt.Sprintf("  target p99 ≤ %s: ", fmtMs(p.target))
			if t.pct(99) <= p.target {
				verdict += "met"
			} else {
				verdict += "NOT met"
			}
		}
		fmt.Fprintf(stdout, "%-72s %s%s\n", p.name, t, verdict)
	}
	// Orders no index serves, for the record: the window sorted by
	// updated_at scans every row updated after it; by amount, every row.
	for _, x := range []struct {
		name string
		req  func(i int) (string, any)
	}{
		{"search settled refunds in the window, by updated_at (the default)", func(i int) (string, any) {
			return "/transactions/search", window(i, "updated_at")
		}},
		{"search everything by amount, page 1", func(int) (string, any) {
			return "/transactions/search", map[string]any{"sort_column": "amount", "limit": 50}
		}},
	} {
		if t, err := c.measure(ctx, 20, 1, "POST", x.req); err == nil {
			fmt.Fprintf(stdout, "%-72s %s  (no index serves this order; not a target)\n", x.name, t)
		}
	}

	// Cursor paging deep into the history.
	var cursor string
	var pages timings
	for i := 0; i < 200; i++ {
		path := "/transactions?limit=50"
		if cursor != "" {
			path += "&starting_after=" + cursor
		}
		d, b, err := c.do(ctx, "GET", path, nil)
		if err != nil {
			return err
		}
		pages = append(pages, d)
		var env struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &env)
		if len(env.Data) == 0 {
			break
		}
		cursor = env.Data[len(env.Data)-1].ID
	}
	fmt.Fprintf(stdout, "%-72s %s\n", "GET /transactions, 200 successive cursor pages of 50", pages)

	// The download, twice: all rows, and a tenth of them; constant memory
	// means the same peak heap for both.
	for _, dl := range []struct {
		name string
		body map[string]any
	}{{"download everything", map[string]any{}},
		{"download one month", map[string]any{"start_date": iso(now.Add(-60 * day)), "end_date": iso(now.Add(-30 * day))}}} {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		// The peak of the heap in use (live objects and garbage not yet
		// collected), and the peak of the live heap as each GC measured it.
		var peak, livePeak atomic.Uint64
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak.Store(max(peak.Load(), m.HeapInuse))
					metrics.Read(live)
					if live[0].Value.Kind() == metrics.KindUint64 {
						livePeak.Store(max(livePeak.Load(), live[0].Value.Uint64()))
					}
				}
			}
		}()
		b, _ := json.Marshal(dl.body)
		req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/transactions/download", bytes.NewReader(b))
		req.Header = c.auth.Clone()
		start := time.Now()
		resp, err := c.hc.Do(req)
		if err != nil {
			close(stop)
			return err
		}
		lines := &lineCounter{}
		size, err := io.Copy(lines, resp.Body)
		resp.Body.Close()
		elapsed := time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("bench: %s: %d %v", dl.name, resp.StatusCode, err)
		}
		fmt.Fprintf(stdout, "%-72s %d rows, %.1f MB in %s (%.0f rows/s); heap in use %.1f MB before, peak %.1f MB during; live heap peak %.1f MB\n",
			dl.name, lines.n-1, float64(size)/1e6, elapsed.Round(time.Millisecond), float64(lines.n-1)/elapsed.Seconds(),
			float64(base)/1e6, float64(max(peak.Load(), base))/1e6, float64(livePeak.Load())/1e6)
	}

	start := time.Now()
	r, err := ledger.Verify(ctx, s.Store)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ledger verify: %d transactions, %d entries in %s: %d violations\n", r.Transactions, r.Entries,
		time.Since(start).Round(time.Millisecond), len(r.Violations))
	if !r.OK() {
		return fmt.Errorf("bench: the seeded ledger has violations: %v", r.Violations)
	}
	return nil
}

// lineCounter counts newlines written to it.
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}
