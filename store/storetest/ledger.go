package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// floorTypes is what these cases pass as the types that may not go
// negative (the ledger package decides the real list).
var floorTypes = []string{"reserve"}

// ltxn returns an unsettled merchant-facing transaction of scope s moving
// amount from "clearing" to "pending" (and "fees" the fee), created now.
func (b *testBundle) ltxn(s tender.Scope, currency tender.Currency, amount, fee int64) *tender.LedgerTransaction {
	now := b.clock.Now()
	avail := now.Add(time.Hour)
	id, now := ledgerID(now)
	l := &tender.LedgerTransaction{ID: id, AccountID: s.AccountID, Mode: s.Mode, Kind: "payment", SourceType: "payment",
		SourceID: "pmt_" + id[4:], RootSourceID: "pi_" + id[4:], Currency: currency, Amount: amount, Fee: fee, Net: amount - fee,
		Pending: amount - fee, SettlementStatus: tender.Unsettled, AvailableAt: &avail, Description: "d",
		CreatedAt: now, UpdatedAt: now,
		Entries: []tender.LedgerEntry{
			{AccountID: s.AccountID, Type: "clearing", Currency: currency, Amount: -amount},
			{AccountID: s.AccountID, Type: "pending", Currency: currency, Amount: amount - fee},
		}}
	if fee != 0 {
		l.Entries = append(l.Entries, tender.LedgerEntry{AccountID: s.AccountID, Type: "fees", Currency: currency, Amount: fee})
	}
	return l
}

// internal returns a settled internal transaction (no source type) moving
// amount between two types of scope s.
func (b *testBundle) internal(s tender.Scope, from, to string, amount int64) *tender.LedgerTransaction {
	id, now := ledgerID(b.clock.Now())
	return &tender.LedgerTransaction{ID: id, AccountID: s.AccountID, Mode: s.Mode, Kind: "move", SourceID: id, RootSourceID: id,
		Currency: "USD", SettlementStatus: tender.Settled, SettledAt: &now, CreatedAt: now, UpdatedAt: now,
		Entries: []tender.LedgerEntry{{AccountID: s.AccountID, Type: from, Currency: "USD", Amount: -amount},
			{AccountID: s.AccountID, Type: to, Currency: "USD", Amount: amount}}}
}

var ledgerSeq atomic.Uint64

// ledgerID returns a ledger transaction id made at the case's time, and
// that time to the millisecond: a transaction's creation time is its id's.
// (tender.NewID would do, but it keeps the ids of the whole test process
// increasing, and parallel cases run on clocks of their own.)
func ledgerID(at time.Time) (string, time.Time) {
	const crockford = "0123456789abcdefghjkmnpqrstvwxyz"
	b := []byte(tender.IDBound(tender.PrefixLedgerTransaction, at, false))
	seq := ledgerSeq.Add(1)
	for i := len(b) - 1; i >= len(b)-12; i-- {
		b[i] = crockford[seq&31]
		seq >>= 5
	}
	return string(b), at.Truncate(time.Millisecond)
}

func post(b *testBundle, ts ...*tender.LedgerTransaction) error {
	return b.store.Write(b.ctx, func(tx store.Tx) error { return tx.PostLedgerTransactions(b.ctx, ts, floorTypes) })
}

func mustPost(t testing.TB, b *testBundle, ts ...*tender.LedgerTransaction) {
	t.Helper()
	if err := post(b, ts...); err != nil {
		t.Fatalf("PostLedgerTransactions: %v", err)
	}
}

func balances(t testing.TB, b *testBundle, s tender.Scope, currency tender.Currency) map[string]int64 {
	t.Helper()
	rows := mustFind(t, b, func(tx store.Tx) ([]tender.LedgerBalance, error) { return tx.FindLedgerBalances(b.ctx, s, currency) })
	out := map[string]int64{}
	for _, r := range rows {
		if r.AccountID != s.AccountID || r.Mode != s.Mode {
			t.Errorf("balance row %+v is outside scope %v", r, s)
		}
		out[string(r.Currency)+":"+r.Type] = r.Amount
	}
	return out
}

func testLedger(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("PostAndFind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		l := b.ltxn(b.a, "USD", 1000, 59)
		mustPost(t, b, l)
		got := mustFind(t, b, func(tx store.Tx) (*tender.LedgerTransaction, error) {
			return tx.FindLedgerTransactionByID(b.ctx, b.a, l.ID)
		})
		wantDiff(t, "found transaction", l, got)
		wantUTC(t, "found transaction", got)
		for _, s := range []tender.Scope{b.b, b.aLive} {
			_, err := read(b, func(tx store.Tx) (*tender.LedgerTransaction, error) {
				return tx.FindLedgerTransactionByID(b.ctx, s, l.ID)
			})
			wantCode(t, "find in another scope", err, tender.ENOTFOUND)
		}
		wantCode(t, "post the same id again", post(b, l), tender.ECONFLICT)
		other := b.ltxn(b.a, "USD", 1, 0)
		other.CreatedAt = other.CreatedAt.Add(time.Microsecond)
		wantCode(t, "post a transaction whose creation time is not its id's", post(b, other), tender.EINVALID)
		wantDiff(t, "balances", map[string]int64{"USD:clearing": -1000, "USD:pending": 941, "USD:fees": 59}, balances(t, b, b.a, ""))
		wantDiff(t, "other account's balances", map[string]int64{}, balances(t, b, b.b, ""))
		missing := mustFind(t, b, func(tx store.Tx) ([]string, error) { return tx.CheckLedgerGuards(b.ctx) })
		if len(missing) > 0 {
			t.Errorf("append-only guards missing after migration: %v", missing)
		}
	})
	t.Run("Balances", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		mustPost(t, b, b.ltxn(b.a, "USD", 1000, 30), b.ltxn(b.a, "USD", 500, 0), b.ltxn(b.a, "CAD", 700, 7), b.ltxn(b.aLive, "USD", 1, 0))
		mustPost(t, b, b.internal(b.a, "pending", "available", 400))
		wantDiff(t, "test balances", map[string]int64{
			"CAD:clearing": -700, "CAD:pending": 693, "CAD:fees": 7,
			"USD:clearing": -1500, "USD:pending": 1070, "USD:fees": 30, "USD:available": 400,
		}, balances(t, b, b.a, ""))
		wantDiff(t, "CAD only", map[string]int64{"CAD:clearing": -700, "CAD:pending": 693, "CAD:fees": 7}, balances(t, b, b.a, "CAD"))
		wantDiff(t, "live balances", map[string]int64{"USD:clearing": -1, "USD:pending": 1}, balances(t, b, b.aLive, ""))
	})
	t.Run("Floor", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		mustPost(t, b, b.internal(b.a, "available", "reserve", 300))
		wantCode(t, "take the reserve below zero", post(b, b.internal(b.a, "reserve", "available", 301)), tender.ECONFLICT)
		wantDiff(t, "balances after a refused posting", map[string]int64{"USD:available": -300, "USD:reserve": 300}, balances(t, b, b.a, ""))
		mustPost(t, b, b.internal(b.a, "reserve", "available", 300))
		wantDiff(t, "balances after emptying the reserve", map[string]int64{"USD:available": 0, "USD:reserve": 0}, balances(t, b, b.a, ""))
		// A floor account debited and credited by one posting: only the net counts.
		both := b.internal(b.a, "reserve", "available", 50)
		both.Entries = append(both.Entries, tender.LedgerEntry{AccountID: b.a.AccountID, Type: "reserve", Currency: "USD", Amount: 50},
			tender.LedgerEntry{AccountID: b.a.AccountID, Type: "available", Currency: "USD", Amount: -50})
		mustPost(t, b, both)
		// A floor debit in another account is checked there.
		wantCode(t, "take account B's reserve below zero", post(b, b.internal(b.b, "reserve", "available", 1)), tender.ECONFLICT)
	})
	t.Run("Bulk", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var ts []*tender.LedgerTransaction
		var sum int64
		for i := 0; i < 1234; i++ {
			ts = append(ts, b.ltxn(b.a, "USD", int64(i+1), int64(i%3)))
			sum += int64(i + 1)
		}
		mustPost(t, b, ts...)
		bal := balances(t, b, b.a, "USD")
		if bal["USD:clearing"] != -sum || bal["USD:pending"]+bal["USD:fees"] != sum {
			t.Errorf("after 1234 postings in one call balances = %v, want clearing -%d", bal, sum)
		}
		var n int
		mustRead(t, b, func(tx store.Tx) error {
			return tx.ScanLedgerTransactions(b.ctx, func(l *tender.LedgerTransaction) error {
				if len(l.Entries) != 3 && !(len(l.Entries) == 2 && l.Fee == 0) {
					return fmt.Errorf("transaction %s has %d entries", l.ID, len(l.Entries))
				}
				n++
				return nil
			})
		})
		if n != 1234 {
			t.Errorf("scanned %d transactions, want 1234", n)
		}
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var want []*tender.LedgerTransaction
		for i := 0; i < 7; i++ {
			b.clock.Advance(time.Millisecond)
			cur := tender.Currency("USD")
			if i%3 == 0 {
				cur = "CAD"
			}
			l := b.ltxn(b.a, cur, int64(100+i), 1)
			mustPost(t, b, l, b.internal(b.a, "pending", "available", 1))
			want = append([]*tender.LedgerTransaction{l}, want...)
		}
		mustPost(t, b, b.ltxn(b.b, "USD", 5, 0), b.ltxn(b.aLive, "USD", 5, 0))
		list := func(p tender.Page, f tender.LedgerTransactionFilter) ([]string, bool) {
			t.Helper()
			var items []*tender.LedgerTransaction
			var more bool
			mustRead(t, b, func(tx store.Tx) (err error) {
				items, more, err = tx.ListLedgerTransactions(b.ctx, b.a, p, f)
				return err
			})
			for _, l := range items {
				if l.Entries != nil {
					t.Errorf("a list loaded the entries of %s", l.ID)
				}
			}
			return ids(items), more
		}
		all := ids(want)
		got, more := list(tender.Page{Limit: 3}, tender.LedgerTransactionFilter{})
		wantDiff(t, "first page", all[:3], got)
		if !more {
			t.Error("first page: more = false")
		}
		got, more = list(tender.Page{Limit: 3, StartingAfter: all[2]}, tender.LedgerTransactionFilter{})
		wantDiff(t, "second page", all[3:6], got)
		got, more = list(tender.Page{Limit: 3, StartingAfter: all[5]}, tender.LedgerTransactionFilter{})
		wantDiff(t, "last page", all[6:], got)
		if more {
			t.Error("last page: more = true")
		}
		got, _ = list(tender.Page{Limit: 2, EndingBefore: all[4]}, tender.LedgerTransactionFilter{})
		wantDiff(t, "page before", all[2:4], got)
		got, _ = list(tender.Page{Limit: 10}, tender.LedgerTransactionFilter{Currency: "CAD"})
		wantDiff(t, "CAD only", []string{all[0], all[3], all[6]}, got)
		mustWrite(t, b, func(tx store.Tx) error {
			return tx.SetLedgerTransactionsPayout(b.ctx, b.a, []string{all[1], all[2]}, "po_1", tx.Now())
		})
		got, _ = list(tender.Page{Limit: 10}, tender.LedgerTransactionFilter{PayoutID: "po_1"})
		wantDiff(t, "payout po_1", all[1:3], got)
		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			return tx.SetLedgerTransactionsPayout(b.ctx, b.a, []string{all[2], all[3]}, "po_2", tx.Now())
		})
		wantCode(t, "pay out a transaction twice", err, tender.ECONFLICT)
		err = b.store.Write(b.ctx, func(tx store.Tx) error {
			return tx.SetLedgerTransactionsPayout(b.ctx, b.b, []string{all[4]}, "po_3", tx.Now())
		})
		wantCode(t, "pay out another account's transaction", err, tender.ECONFLICT)
	})
	t.Run("Search", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var all []*tender.LedgerTransaction
		for i := 0; i < 12; i++ {
			b.clock.Advance(time.Second)
			l := b.ltxn(b.a, "USD", int64((i*7)%12+1)*100, 0)
			if i%2 == 1 {
				l.SourceType, l.Kind = "refund", "refund"
			}
			all = append(all, l)
			mustPost(t, b, l)
		}
		mustPost(t, b, b.internal(b.a, "pending", "available", 5), b.ltxn(b.b, "USD", 100, 0))
		// Settling the first three moves them to the front of updated_at order.
		b.clock.Advance(time.Second)
		mustWrite(t, b, func(tx store.Tx) error {
			return tx.SettleLedgerTransactions(b.ctx, b.a, ids(all[:3]), "txn_settlement", tx.Now())
		})
		search := func(f tender.LedgerTransactionFilter) ([]string, bool) {
			t.Helper()
			var items []*tender.LedgerTransaction
			var more bool
			mustRead(t, b, func(tx store.Tx) (err error) {
				items, more, err = tx.SearchLedgerTransactions(b.ctx, b.a, f)
				return err
			})
			return ids(items), more
		}
		rev := func(ls []*tender.LedgerTransaction) []string {
			out := ids(ls)
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
			return out
		}
		got, more := search(tender.LedgerTransactionFilter{Limit: 50})
		wantDiff(t, "default order (updated_at desc)", append(rev(all[:3]), rev(all[3:])...), got)
		if more {
			t.Error("everything fits: more = true")
		}
		got, _ = search(tender.LedgerTransactionFilter{SortColumn: "created_at", Limit: 50})
		wantDiff(t, "created_at desc", rev(all), got)
		got, more = search(tender.LedgerTransactionFilter{SortColumn: "created_at", SortAsc: true, Limit: 5, Offset: 5})
		wantDiff(t, "created_at asc, second page", ids(all[5:10]), got)
		if !more {
			t.Error("second page of 5 of 12: more = false")
		}
		got, _ = search(tender.LedgerTransactionFilter{SourceTypes: []string{"refund"}, SortColumn: "created_at", SortAsc: true, Limit: 50})
		wantDiff(t, "refunds", []string{all[1].ID, all[3].ID, all[5].ID, all[7].ID, all[9].ID, all[11].ID}, got)
		got, _ = search(tender.LedgerTransactionFilter{SettlementStatus: tender.Settled, SortColumn: "created_at", SortAsc: true, Limit: 50})
		wantDiff(t, "settled", ids(all[:3]), got)
		got, _ = search(tender.LedgerTransactionFilter{AmountMin: ptr(int64(500)), AmountMax: ptr(int64(700)), SortColumn: "amount", SortAsc: true, Limit: 50})
		var inRange []string
		for _, amt := range []int64{500, 600, 700} {
			for _, l := range all {
				if l.Amount == amt {
					inRange = append(inRange, l.ID)
				}
			}
		}
		wantDiff(t, "amounts 500..700 by amount", inRange, got)
		got, _ = search(tender.LedgerTransactionFilter{Start: ptr(all[4].CreatedAt), End: ptr(all[6].CreatedAt), SortColumn: "created_at", SortAsc: true, Limit: 50})
		wantDiff(t, "created between", ids(all[4:7]), got)
		got, _ = search(tender.LedgerTransactionFilter{RootSourceID: all[8].RootSourceID, Limit: 50})
		wantDiff(t, "by root source", []string{all[8].ID}, got)
		_, _, err := read2(b, func(tx store.Tx) ([]*tender.LedgerTransaction, bool, error) {
			return tx.SearchLedgerTransactions(b.ctx, b.a, tender.LedgerTransactionFilter{SortColumn: "status"})
		})
		wantCode(t, "unknown sort column", err, tender.EINVALID)
		// Each walks every match, ignoring the page.
		var walked []string
		mustRead(t, b, func(tx store.Tx) error {
			return tx.EachLedgerTransaction(b.ctx, b.a, tender.LedgerTransactionFilter{SourceTypes: []string{"refund"}, SortColumn: "created_at",
				SortAsc: true, Limit: 1, Offset: 3}, func(l *tender.LedgerTransaction) error {
				walked = append(walked, l.ID)
				return nil
			})
		})
		wantDiff(t, "each refund", []string{all[1].ID, all[3].ID, all[5].ID, all[7].ID, all[9].ID, all[11].ID}, walked)
		stop := errors.New("stop")
		n := 0
		err = b.store.Read(b.ctx, func(tx store.Tx) error {
			return tx.EachLedgerTransaction(b.ctx, b.a, tender.LedgerTransactionFilter{}, func(*tender.LedgerTransaction) error {
				n++
				return stop
			})
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("Each with a failing fn: err = %v after %d calls, want stop after 1", err, n)
		}
	})
	t.Run("Settle", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := b.ltxn(b.a, "USD", 100, 0) // available at +1h
		b.clock.Advance(10 * time.Minute)
		second := b.ltxn(b.a, "USD", 200, 0) // +1h10m
		other := b.ltxn(b.b, "USD", 300, 0)  // +1h10m
		settled := b.internal(b.a, "pending", "available", 1)
		mustPost(t, b, second, first, other, settled)
		due := func(at time.Time, limit int) []string {
			return ids(mustFind(t, b, func(tx store.Tx) ([]*tender.LedgerTransaction, error) {
				return tx.DueLedgerTransactions(b.ctx, at, limit)
			}))
		}
		wantDiff(t, "due before the first", []string(nil), due(at(59*time.Minute), 10))
		wantDiff(t, "due at the first", []string{first.ID}, due(at(time.Hour), 10))
		if got := due(at(2*time.Hour), 10); len(got) != 3 || got[0] != first.ID {
			t.Errorf("due at +2h = %v, want 3 starting with %s", got, first.ID)
		}
		if got := due(at(2*time.Hour), 2); len(got) != 2 {
			t.Errorf("due with limit 2 = %v", got)
		}
		settleAt := at(2 * time.Hour)
		mustWrite(t, b, func(tx store.Tx) error {
			return tx.SettleLedgerTransactions(b.ctx, b.a, []string{first.ID, second.ID}, "txn_s", settleAt)
		})
		wantDiff(t, "due after settling", []string{other.ID}, due(at(2*time.Hour), 10))
		got := mustFind(t, b, func(tx store.Tx) (*tender.LedgerTransaction, error) {
			return tx.FindLedgerTransactionByID(b.ctx, b.a, first.ID)
		})
		if got.SettlementStatus != tender.Settled || got.SettledAt == nil || !got.SettledAt.Equal(settleAt) || got.SettlementID != "txn_s" || !got.UpdatedAt.Equal(settleAt) {
			t.Errorf("settled transaction = %+v", got)
		}
		if got.Amount != first.Amount || len(got.Entries) != 2 {
			t.Errorf("settling changed what the transaction moved: %+v", got)
		}
		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			return tx.SettleLedgerTransactions(b.ctx, b.a, []string{first.ID}, "txn_t", settleAt)
		})
		wantCode(t, "settle twice", err, tender.ECONFLICT)
		err = b.store.Write(b.ctx, func(tx store.Tx) error {
			return tx.SettleLedgerTransactions(b.ctx, b.a, []string{other.ID}, "txn_t", settleAt)
		})
		wantCode(t, "settle another account's transaction", err, tender.ECONFLICT)
	})
	t.Run("Settings", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := read(b, func(tx store.Tx) (*tender.AccountSettings, error) { return tx.FindAccountSettings(b.ctx, b.acctA.ID) })
		wantCode(t, "settings of an account without", err, tender.ENOTFOUND)
		s := &tender.AccountSettings{AccountID: b.acctA.ID, SettlementDelay: time.Hour, UpdatedAt: b.clock.Now(),
			Plan: &tender.ProcessingPlan{ID: "partppl_x", PlanType: tender.PlanInterchangePlus, Card: tender.FeeRate{BPS: 30, Fixed: 5},
				EffectiveDate: b.clock.Now(), AcceptedCards: []string{"visa"}}}
		mustWrite(t, b, func(tx store.Tx) error { return tx.PutAccountSettings(b.ctx, s) })
		got := mustFind(t, b, func(tx store.Tx) (*tender.AccountSettings, error) { return tx.FindAccountSettings(b.ctx, b.acctA.ID) })
		wantDiff(t, "settings", s, got)
		s2 := &tender.AccountSettings{AccountID: b.acctA.ID, SettlementDelay: 2 * time.Hour, UpdatedAt: b.clock.Now()}
		mustWrite(t, b, func(tx store.Tx) error { return tx.PutAccountSettings(b.ctx, s2) })
		got = mustFind(t, b, func(tx store.Tx) (*tender.AccountSettings, error) { return tx.FindAccountSettings(b.ctx, b.acctA.ID) })
		wantDiff(t, "replaced settings", s2, got)
	})
	t.Run("Verification", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		mustPost(t, b, b.ltxn(b.a, "USD", 1000, 10), b.ltxn(b.b, "CAD", 50, 0), b.internal(b.a, "pending", "available", 90))
		sums := mustFind(t, b, func(tx store.Tx) ([]tender.LedgerBalance, error) { return tx.SumLedgerEntries(b.ctx) })
		maintained := mustFind(t, b, func(tx store.Tx) ([]tender.LedgerBalance, error) { return tx.ListAllLedgerBalances(b.ctx) })
		wantDiff(t, "maintained balances vs sums of entries", sums, maintained)
		if len(sums) != 6 {
			t.Errorf("SumLedgerEntries returned %d accounts, want 6: %+v", len(sums), sums)
		}
	})
	t.Run("ConcurrentPostings", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const workers, each = 8, 25
		var wg sync.WaitGroup
		var mu sync.Mutex
		runs := 0
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					l := b.ltxn(b.a, "USD", 100, 3)
					mv := b.internal(b.a, "pending", "available", 7)
					errs <- b.store.Write(b.ctx, func(tx store.Tx) error {
						mu.Lock()
						runs++
						mu.Unlock()
						return tx.PostLedgerTransactions(b.ctx, []*tender.LedgerTransaction{l, mv}, floorTypes)
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Write: %v", err)
			}
		}
		n := int64(workers * each)
		wantDiff(t, "balances after concurrent postings",
			map[string]int64{"USD:clearing": -100 * n, "USD:pending": 90 * n, "USD:fees": 3 * n, "USD:available": 7 * n}, balances(t, b, b.a, ""))
		t.Logf("%d concurrent postings ran fn %d times (%s)", n, runs, b.store.Engine())
	})
}

// read2 is read for functions with two results.
func read2[T any, U any](b *testBundle, fn func(tx store.Tx) (T, U, error)) (T, U, error) {
	var v T
	var u U
	err := b.store.Read(b.ctx, func(tx store.Tx) (err error) {
		v, u, err = fn(tx)
		return err
	})
	return v, u, err
}
