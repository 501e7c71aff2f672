package highlevel_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
)

// BenchmarkTransactionsList measures GET /payments/transactions (and a few
// order lists) over real HTTP against a location holding
// TENDER_BENCH_TRANSACTIONS transactions (default 1,000,000) and
// TENDER_BENCH_ORDERS orders (default 200,000), bulk-inserted before the
// server answers. Each sub-benchmark is one filter; its requests cycle
// through offsets 0, 100, 1000, 5000 and 10000 with limit 20, check the
// exact totalCount against the seed, and report the p50 and p99 latency
// after one unmeasured request per offset.
//
//	go test ./api/highlevel/ -run '^$' -bench BenchmarkTransactionsList -benchtime 200x
//
// PostgreSQL runs when TENDER_TEST_POSTGRES_URL is set.
func BenchmarkTransactionsList(b *testing.B) {
	nTxn, nOrd := envInt("TENDER_BENCH_TRANSACTIONS", 1_000_000), envInt("TENDER_BENCH_ORDERS", 200_000)
	engines := []string{"sqlite"}
	if os.Getenv("TENDER_TEST_POSTGRES_URL") != "" {
		engines = append(engines, "postgres")
	}
	for _, engine := range engines {
		s := testserver.Start(b, testserver.Options{Postgres: engine == "postgres", NoValidate: true})
		seed := newBenchSeed(s.Boot.HighLevel.LocationID, nTxn, nOrd)
		start := time.Now()
		if err := seed.insert(context.Background(), engine, s.Config.DB); err != nil {
			b.Fatalf("seed %s: %v", engine, err)
		}
		b.Logf("%s: seeded %d transactions and %d orders in %s", engine, nTxn, nOrd, time.Since(start).Round(time.Second))
		// Measure a server at rest, not one still digesting the seed: drop
		// the generator, collect its garbage, and let the kernel write the
		// seeded files out.
		cases, loc := seed.cases(), seed.loc
		seed = nil
		runtime.GC()
		debug.FreeOSMemory()
		syscall.Sync()
		time.Sleep(3 * time.Second)
		client := &http.Client{Timeout: 10 * time.Second}
		for _, c := range cases {
			offsets := []int{0, 100, 1000, 5000, 10000}
			get := func(b *testing.B, off int) time.Duration {
				url := fmt.Sprintf("%s%s?altId=%s&altType=location&limit=20&offset=%d&%s", s.URL, c.path, loc, off, c.query)
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+s.Boot.HighLevel.Token)
				req.Header.Set("Version", testserver.HighLevelVersion)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d %s", url, resp.StatusCode, body)
				}
				var page struct {
					Data       []json.RawMessage `json:"data"`
					TotalCount int               `json:"totalCount"`
				}
				if err := json.Unmarshal(body, &page); err != nil {
					b.Fatal(err)
				}
				if page.TotalCount != c.total {
					b.Fatalf("%s: totalCount %d, want %d", url, page.TotalCount, c.total)
				}
				if want := min(20, max(c.total-off, 0)); len(page.Data) != want {
					b.Fatalf("%s: %d items, want %d", url, len(page.Data), want)
				}
				return d
			}
			b.Run(engine+"/"+c.name, func(b *testing.B) {
				// Warm-up, unmeasured: one request per offset, so that the
				// figures are of a running server, not of its first reads
				// of the freshly seeded files.
				for _, off := range offsets {
					get(b, off)
				}
				lat := make([]time.Duration, 0, b.N)
				worst := map[int]time.Duration{}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					off := offsets[i%len(offsets)]
					d := get(b, off)
					lat = append(lat, d)
					worst[off] = max(worst[off], d)
				}
				b.StopTimer()
				if testing.Verbose() {
					b.Logf("%s: slowest request per offset: %v", c.name, worst)
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(c.total), "matches")
			})
		}
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchSeed generates the bench's rows; row i of each table is a pure
// function of i, so that expected counts are computed from the generator.
type benchSeed struct {
	loc        string
	nTxn, nOrd int
	start      time.Time
	step       time.Duration // between two transactions
	orderIDs   []string
	txnIDs     []string
}

var benchSources = []struct{ typ, sub string }{
	{"funnel", "one_step_order_form"}, {"website", "store"}, {"invoice", ""}, {"payment_link", "qr_code"}, {"funnel", "two_step_order_form"},
}

func newBenchSeed(loc string, nTxn, nOrd int) *benchSeed {
	s := &benchSeed{loc: loc, nTxn: nTxn, nOrd: nOrd, start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.step = 365 * 24 * time.Hour / time.Duration(nTxn) // one year of history
	s.orderIDs = make([]string, nOrd)
	for j := range s.orderIDs {
		s.orderIDs[j] = tender.NewID(tender.PrefixOrder, s.start.Add(time.Duration(j)*365*24*time.Hour/time.Duration(nOrd)))
	}
	s.txnIDs = make([]string, nTxn)
	for i := range s.txnIDs {
		s.txnIDs[i] = tender.NewID(tender.PrefixPayment, s.txnTime(i))
	}
	return s
}

func (s *benchSeed) txnTime(i int) time.Time { return s.start.Add(time.Duration(i) * s.step) }

func (s *benchSeed) txnMode(i int) tender.Mode {
	if i%2 == 0 {
		return tender.ModeLive
	}
	return tender.ModeTest
}

func (s *benchSeed) contact(i int) string { return fmt.Sprintf("c%05d", i%50_000) }

func (s *benchSeed) subscription(i int) string {
	if i%10 != 0 {
		return ""
	}
	return fmt.Sprintf("sub_%03d", (i/10)%100)
}

func (s *benchSeed) transaction(i int) *tender.Transaction {
	at := s.txnTime(i)
	src := benchSources[i%len(benchSources)]
	ord := s.orderIDs[i%s.nOrd]
	return &tender.Transaction{ID: s.txnIDs[i], AccountID: s.loc, Mode: s.txnMode(i),
		PaymentIntentID: tender.ReplacePrefix(s.txnIDs[i], tender.PrefixPayment, tender.PrefixPaymentIntent), Status: tender.PaymentCaptured, Amount: 1000 + int64(i%5000),
		AmountCaptured: 1000 + int64(i%5000), Currency: "USD", EntityType: "order", EntityID: ord,
		Contact:        tender.Contact{ID: s.contact(i), Name: "Buyer " + s.contact(i), Email: s.contact(i) + "@example.com"},
		Source:         tender.OrderSource{Type: src.typ, SubType: src.sub, ID: "src_" + strconv.Itoa(i%7), Name: "Source " + strconv.Itoa(i%7)},
		SubscriptionID: s.subscription(i), ProviderType: tender.ProviderTender, Method: "card", Card: &tender.CardBrief{Brand: "visa", Last4: "4242"},
		ChargeID: "sim_" + strconv.Itoa(i), CreatedAt: at, UpdatedAt: at, CapturedAt: &at}
}

func (s *benchSeed) order(j int) *tender.Order {
	at := s.start.Add(time.Duration(j) * 365 * 24 * time.Hour / time.Duration(s.nOrd))
	mode, status, ps := tender.ModeTest, tender.OrderPending, tender.PaymentStatusUnpaid
	if j%2 == 0 {
		mode = tender.ModeLive
	}
	if j%3 == 0 {
		status, ps = tender.OrderCompleted, tender.PaymentStatusPaid
	}
	return &tender.Order{ID: s.orderIDs[j], AccountID: s.loc, Mode: mode, Status: status, PaymentStatus: ps, FulfillmentStatus: tender.Unfulfilled,
		Currency: "USD", Subtotal: 2500, Amount: 2500, Contact: tender.Contact{ID: s.contact(j), Name: "Buyer " + s.contact(j)},
		Items:  []tender.OrderItem{{PriceID: "price_1", ProductID: "prod_" + strconv.Itoa(j%20), Name: "Hat", Qty: 2, UnitAmount: 1250, Amount: 2500, PriceType: tender.PriceOneTime}},
		Source: tender.OrderSource{Type: "funnel", ID: "src_" + strconv.Itoa(j%7)}, CreatedAt: at, UpdatedAt: at}
}

type benchTerm struct{ kind, term, id string }

// terms returns the search_terms rows of the seed (the lower-case runs of
// letters and digits of the searchable text, as the store keeps them).
func (s *benchSeed) terms() []benchTerm {
	var out []benchTerm
	add := func(kind, id string, parts ...string) {
		seen := map[string]bool{}
		for _, p := range parts {
			for _, w := range strings.FieldsFunc(strings.ToLower(p), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
				if !seen[w] {
					seen[w] = true
					out = append(out, benchTerm{kind, w, id})
				}
			}
		}
	}
	for i := range s.nTxn {
		x := s.transaction(i)
		add("txn", x.ID, x.Contact.Name, x.Contact.Email, x.Source.Name, x.EntityID, x.ID)
	}
	for j := range s.nOrd {
		o := s.order(j)
		add("order", o.ID, o.Contact.Name, o.Contact.Email, o.ID, o.Items[0].Name)
	}
	return out
}

type benchCase struct {
	name, path, query string
	total             int
}

// cases are the filters measured, each with its exact number of matches.
func (s *benchSeed) cases() []benchCase {
	count := func(n int, pred func(i int) bool) int {
		c := 0
		for i := range n {
			if pred(i) {
				c++
			}
		}
		return c
	}
	day := func(d int) time.Time { return s.start.AddDate(0, 0, d) }
	from, to := day(30), day(121).Add(-time.Microsecond) // startAt=day 30, endAt=day 120 (whole days)
	pFrom, pTo := day(200).Add(7*time.Hour+30*time.Minute), day(260).Add(15*time.Hour)
	in := func(t, a, b time.Time) bool { return !t.Before(a) && !t.After(b) }
	entity := s.orderIDs[s.nOrd/2]
	return []benchCase{
		{"txn/all", "/payments/transactions", "", s.nTxn},
		{"txn/paymentMode", "/payments/transactions", "paymentMode=live", count(s.nTxn, func(i int) bool { return i%2 == 0 })},
		{"txn/sourceType+paymentMode", "/payments/transactions", "entitySourceType=funnel&paymentMode=live",
			count(s.nTxn, func(i int) bool { return i%2 == 0 && benchSources[i%5].typ == "funnel" })},
		{"txn/sourceSubType", "/payments/transactions", "entitySourceType=funnel&entitySourceSubType=two_step_order_form",
			count(s.nTxn, func(i int) bool { return i%5 == 4 })},
		{"txn/dates+paymentMode", "/payments/transactions", "startAt=" + day(30).Format("2006-01-02") + "&endAt=" + day(120).Format("2006-01-02") + "&paymentMode=test",
			count(s.nTxn, func(i int) bool { return i%2 == 1 && in(s.txnTime(i), from, to) })},
		{"txn/times+sourceType", "/payments/transactions", "startAt=" + pFrom.Format(time.RFC3339) + "&endAt=" + pTo.Format(time.RFC3339) + "&entitySourceType=website",
			count(s.nTxn, func(i int) bool { return i%5 == 1 && in(s.txnTime(i), pFrom, pTo) })},
		{"txn/contactId", "/payments/transactions", "contactId=c00042", count(s.nTxn, func(i int) bool { return i%50_000 == 42 })},
		{"txn/entityId", "/payments/transactions", "entityId=" + entity, count(s.nTxn, func(i int) bool { return i%s.nOrd == s.nOrd/2 })},
		{"txn/subscriptionId", "/payments/transactions", "subscriptionId=sub_007", count(s.nTxn, func(i int) bool { return s.subscription(i) == "sub_007" })},
		{"txn/search", "/payments/transactions", "search=buyer%20c00042", count(s.nTxn, func(i int) bool { return i%50_000 == 42 })},
		{"orders/paymentStatus", "/payments/orders", "paymentStatus=paid", count(s.nOrd, func(j int) bool { return j%3 == 0 })},
		{"orders/contactId", "/payments/orders", "contactId=c00042", count(s.nOrd, func(j int) bool { return j%50_000 == 42 })},
	}
}

// insert bulk-inserts the seed's rows into db (the server's database), then
// fills the day counters from them, as migration 007 does for older
// payments.
func (s *benchSeed) insert(ctx context.Context, engine, dsn string) error {
	const txnCols = "id, status, account_id, mode, entity_id, contact_id, source_type, source_sub_type, subscription_id, created_at, updated_at, data"
	const ordCols = "id, account_id, mode, status, payment_status, contact_id, source_id, created_at, updated_at, data"
	const termCols = "account_id, kind, term, id"
	txnRow := func(i int) ([]any, error) {
		x := s.transaction(i)
		data, err := json.Marshal(x)
		return []any{x.ID, x.Status, x.AccountID, string(x.Mode), x.EntityID, x.Contact.ID, x.Source.Type, x.Source.SubType, x.SubscriptionID,
			x.CreatedAt.UnixMicro(), x.UpdatedAt.UnixMicro(), string(data)}, err
	}
	ordRow := func(j int) ([]any, error) {
		o := s.order(j)
		data, err := json.Marshal(o)
		return []any{o.ID, o.AccountID, string(o.Mode), o.Status, o.PaymentStatus, o.Contact.ID, o.Source.ID,
			o.CreatedAt.UnixMicro(), o.UpdatedAt.UnixMicro(), string(data)}, err
	}
	// The search words of every transaction and order, as the store
	// indexes them, one row each.
	terms := s.terms()
	termRow := func(k int) ([]any, error) { return []any{s.loc, terms[k].kind, terms[k].term, terms[k].id}, nil }
	counters := `INSERT INTO transaction_counts (account_id, day, mode, source_type, source_sub_type, shard, n)
		SELECT account_id, created_at / 86400000000, mode, source_type, source_sub_type, 0, COUNT(*) FROM transactions
		GROUP BY account_id, created_at / 86400000000, mode, source_type, source_sub_type`
	if engine == "postgres" {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		err = conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			copyRows := func(table, cols string, n int, row func(int) ([]any, error)) error {
				i := 0
				_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, strings.Split(strings.ReplaceAll(cols, " ", ""), ","),
					pgx.CopyFromFunc(func() ([]any, error) {
						if i == n {
							return nil, nil
						}
						i++
						return row(i - 1)
					}))
				return err
			}
			if err := copyRows("transactions", txnCols, s.nTxn, txnRow); err != nil {
				return err
			}
			if err := copyRows("search_terms", termCols, len(terms), termRow); err != nil {
				return err
			}
			return copyRows("orders", ordCols, s.nOrd, ordRow)
		})
		if err != nil {
			return err
		}
		for _, q := range []string{counters, "VACUUM ANALYZE transactions", "VACUUM ANALYZE orders", "VACUUM ANALYZE transaction_counts", "VACUUM ANALYZE search_terms"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(off)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	bulk := func(table, cols string, n int, row func(int) ([]any, error)) error {
		const per = 500
		ncol := len(strings.Split(cols, ","))
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for lo := 0; lo < n; lo += per {
			hi := min(lo+per, n)
			var q strings.Builder
			args := make([]any, 0, (hi-lo)*ncol)
			fmt.Fprintf(&q, "INSERT INTO %s (%s) VALUES ", table, cols)
			for i := lo; i < hi; i++ {
				r, err := row(i)
				if err != nil {
					return err
				}
				if i > lo {
					q.WriteString(", ")
				}
				q.WriteString("(")
				for c := range ncol {
					if c > 0 {
						q.WriteString(", ")
					}
					fmt.Fprintf(&q, "$%d", len(args)+c+1)
				}
				q.WriteString(")")
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
	if err := bulk("transactions", txnCols, s.nTxn, txnRow); err != nil {
		return err
	}
	if err := bulk("orders", ordCols, s.nOrd, ordRow); err != nil {
		return err
	}
	if err := bulk("search_terms", termCols, len(terms), termRow); err != nil {
		return err
	}
	for _, q := range []string{counters, "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
