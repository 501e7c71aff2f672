package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

func init() {
	register("Dispute", testDisputes)
	register("Payout", testPayouts)
}

func (b *testBundle) dispute(s tender.Scope, paymentID string) *tender.Dispute {
	now := b.clock.Now()
	return &tender.Dispute{ID: tender.NewID(tender.PrefixDispute, now), AccountID: s.AccountID, Mode: s.Mode,
		PaymentIntentID: "pi_" + paymentID, PaymentID: paymentID, Status: tender.DisputeNew, Amount: 1000, Currency: "USD", Fee: 1500,
		Reason: "Fraud - Card Absent Environment", ReasonCode: 83, ResponseDueAt: now.Add(7 * 24 * time.Hour), ClosedAt: ptr(now.Add(time.Hour)),
		StatusHistory: []tender.StatusChange{{Status: tender.DisputeNew, At: now}}, CreatedAt: now, UpdatedAt: now}
}

func (b *testBundle) payout(s tender.Scope, number int64) *tender.Payout {
	now := b.clock.Now()
	return &tender.Payout{ID: tender.NewID(tender.PrefixPayout, now), OrganizationID: s.OrganizationID, AccountID: s.AccountID, Mode: s.Mode,
		Currency: "USD", Number: number, Status: tender.PayoutPending, Amount: 1000, FeeAmount: 25, NetAmount: 975, TransactionCount: 2,
		Summary:             []tender.PayoutSummaryLine{{SourceType: "payment", Count: 2, Amount: 1100, Fee: 100, Net: 1000}},
		LedgerTransactionID: "txn_x", FailureReason: "r", StatusHistory: []tender.StatusChange{{Status: tender.PayoutPending, At: now}},
		ArrivalAt: now.Add(24 * time.Hour), CompletedAt: ptr(now.Add(time.Hour)), FailedAt: ptr(now.Add(2 * time.Hour)),
		ReturnedAt: ptr(now.Add(3 * time.Hour)), CancelledAt: ptr(now.Add(4 * time.Hour)), CreatedAt: now, UpdatedAt: now}
}

// settled returns a settled merchant-facing transaction of scope s.
func (b *testBundle) settled(s tender.Scope, currency tender.Currency, amount, fee int64) *tender.LedgerTransaction {
	l := b.ltxn(s, currency, amount, fee)
	now := b.clock.Now()
	l.SettlementStatus, l.SettledAt, l.AvailableAt = tender.Settled, &now, nil
	return l
}

func testDisputes(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("CreateFindUpdate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		d := b.dispute(b.a, "pmt_1")
		wantAllSet(t, "Dispute", d)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateDispute(b.ctx, d) })
		got := mustFind(t, b, func(tx store.Tx) (*tender.Dispute, error) { return tx.FindDisputeByID(b.ctx, b.a, d.ID) })
		wantDiff(t, "found dispute", d, got)
		wantUTC(t, "found dispute", got)
		for _, s := range []tender.Scope{b.b, b.aLive} {
			_, err := read(b, func(tx store.Tx) (*tender.Dispute, error) { return tx.FindDisputeByID(b.ctx, s, d.ID) })
			wantCode(t, "find in another scope", err, tender.ENOTFOUND)
		}
		err := b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateDispute(b.ctx, b.dispute(b.a, "pmt_1")) })
		wantCode(t, "a second dispute of one payment", err, tender.ECONFLICT)

		b.clock.Advance(time.Second)
		d.Status, d.UpdatedAt = tender.DisputeWon, b.clock.Now()
		d.StatusHistory = append(d.StatusHistory, tender.StatusChange{Status: tender.DisputeWon, At: d.UpdatedAt})
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateDispute(b.ctx, d) })
		got = mustFind(t, b, func(tx store.Tx) (*tender.Dispute, error) { return tx.FindDisputeByID(b.ctx, b.a, d.ID) })
		wantDiff(t, "updated dispute", d, got)
		foreign := *d
		foreign.AccountID = b.b.AccountID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateDispute(b.ctx, &foreign) })
		wantCode(t, "update in another scope", err, tender.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var all []*tender.Dispute
		for i := 0; i < 5; i++ {
			b.clock.Advance(time.Millisecond)
			d := b.dispute(b.a, "pmt_"+string(rune('a'+i)))
			if i%2 == 1 {
				d.Status = tender.DisputeLost
			}
			all = append([]*tender.Dispute{d}, all...)
			mustWrite(t, b, func(tx store.Tx) error { return tx.CreateDispute(b.ctx, d) })
		}
		mustWrite(t, b, func(tx store.Tx) error {
			if err := tx.CreateDispute(b.ctx, b.dispute(b.b, "pmt_b1")); err != nil {
				return err
			}
			return tx.CreateDispute(b.ctx, b.dispute(b.aLive, "pmt_l1"))
		})
		list := func(p tender.Page, f tender.DisputeFilter) ([]string, bool) {
			t.Helper()
			var items []*tender.Dispute
			var more bool
			mustRead(t, b, func(tx store.Tx) (err error) {
				items, more, err = tx.ListDisputes(b.ctx, b.a, p, f)
				return err
			})
			return ids(items), more
		}
		want := ids(all)
		got, more := list(tender.Page{Limit: 2}, tender.DisputeFilter{})
		wantDiff(t, "first page", want[:2], got)
		if !more {
			t.Error("first page: more = false")
		}
		got, more = list(tender.Page{Limit: 10, StartingAfter: want[1]}, tender.DisputeFilter{})
		wantDiff(t, "rest", want[2:], got)
		if more {
			t.Error("rest: more = true")
		}
		got, _ = list(tender.Page{Limit: 2, EndingBefore: want[3]}, tender.DisputeFilter{})
		wantDiff(t, "page before", want[1:3], got)
		got, _ = list(tender.Page{Limit: 10}, tender.DisputeFilter{Status: tender.DisputeLost})
		wantDiff(t, "lost only", []string{want[1], want[3]}, got)
	})
}

func testPayouts(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("CreateFindUpdate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.payout(b.a, 1)
		wantAllSet(t, "Payout", p)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePayout(b.ctx, p) })
		got := mustFind(t, b, func(tx store.Tx) (*tender.Payout, error) { return tx.FindPayoutByID(b.ctx, b.a, p.ID) })
		wantDiff(t, "found payout", p, got)
		wantUTC(t, "found payout", got)
		for _, s := range []tender.Scope{b.b, b.aLive} {
			_, err := read(b, func(tx store.Tx) (*tender.Payout, error) { return tx.FindPayoutByID(b.ctx, s, p.ID) })
			wantCode(t, "find in another scope", err, tender.ENOTFOUND)
		}
		err := b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreatePayout(b.ctx, b.payout(b.a, 1)) })
		wantCode(t, "a taken payout number", err, tender.ECONFLICT)
		// Numbers count per account and mode.
		mustWrite(t, b, func(tx store.Tx) error {
			if err := tx.CreatePayout(b.ctx, b.payout(b.aLive, 1)); err != nil {
				return err
			}
			return tx.CreatePayout(b.ctx, b.payout(b.b, 1))
		})
		b.clock.Advance(time.Second)
		p.Status, p.UpdatedAt = tender.PayoutCompleted, b.clock.Now()
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePayout(b.ctx, p) })
		got = mustFind(t, b, func(tx store.Tx) (*tender.Payout, error) { return tx.FindPayoutByID(b.ctx, b.a, p.ID) })
		wantDiff(t, "updated payout", p, got)
		foreign := *p
		foreign.Mode = tender.ModeLive
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePayout(b.ctx, &foreign) })
		wantCode(t, "update in another scope", err, tender.ENOTFOUND)
	})
	t.Run("NumbersAndLatest", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		n := mustFind(t, b, func(tx store.Tx) (int64, error) { return tx.LastPayoutNumber(b.ctx, b.a) })
		if n != 0 {
			t.Errorf("LastPayoutNumber of an account without payouts = %d", n)
		}
		_, err := read(b, func(tx store.Tx) (*tender.Payout, error) { return tx.FindLatestPayout(b.ctx, b.a, "USD") })
		wantCode(t, "FindLatestPayout without payouts", err, tender.ENOTFOUND)
		var usd, cad *tender.Payout
		for i := int64(1); i <= 3; i++ {
			b.clock.Advance(time.Millisecond)
			p := b.payout(b.a, i)
			if i == 2 {
				p.Currency, cad = "CAD", p
			} else {
				usd = p
			}
			mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePayout(b.ctx, p) })
		}
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePayout(b.ctx, b.payout(b.b, 7)) })
		n = mustFind(t, b, func(tx store.Tx) (int64, error) { return tx.LastPayoutNumber(b.ctx, b.a) })
		if n != 3 {
			t.Errorf("LastPayoutNumber = %d, want 3", n)
		}
		got := mustFind(t, b, func(tx store.Tx) (*tender.Payout, error) { return tx.FindLatestPayout(b.ctx, b.a, "USD") })
		wantDiff(t, "latest USD payout", usd.ID, got.ID)
		got = mustFind(t, b, func(tx store.Tx) (*tender.Payout, error) { return tx.FindLatestPayout(b.ctx, b.a, "CAD") })
		wantDiff(t, "latest CAD payout", cad.ID, got.ID)
	})
	t.Run("Lists", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var org, acct []string
		for i := int64(1); i <= 6; i++ {
			b.clock.Advance(time.Millisecond)
			s := b.a
			if i%3 == 0 {
				s = b.b
			}
			p := b.payout(s, i)
			if i%2 == 0 {
				p.Status = tender.PayoutFailed
			}
			mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePayout(b.ctx, p) })
			org = append([]string{p.ID}, org...)
			if s.AccountID == b.a.AccountID {
				acct = append([]string{p.ID}, acct...)
			}
		}
		live := b.payout(b.aLive, 1)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePayout(b.ctx, live) })
		list := func(p tender.Page, f tender.PayoutFilter) []string {
			t.Helper()
			return ids(mustFind(t, b, func(tx store.Tx) ([]*tender.Payout, error) {
				items, _, err := tx.ListPayouts(b.ctx, b.a, p, f)
				return items, err
			}))
		}
		wantDiff(t, "account A's payouts", acct, list(tender.Page{Limit: 10}, tender.PayoutFilter{}))
		wantDiff(t, "second page", acct[2:], list(tender.Page{Limit: 10, StartingAfter: acct[1]}, tender.PayoutFilter{}))
		wantDiff(t, "failed only", []string{acct[1], acct[2]}, list(tender.Page{Limit: 10}, tender.PayoutFilter{Status: tender.PayoutFailed}))
		orgList := func(mode tender.Mode, p tender.Page, f tender.PayoutFilter) ([]string, bool) {
			t.Helper()
			var items []*tender.Payout
			var more bool
			mustRead(t, b, func(tx store.Tx) (err error) {
				items, more, err = tx.ListOrganizationPayouts(b.ctx, b.org.ID, mode, p, f)
				return err
			})
			return ids(items), more
		}
		got, more := orgList(tender.ModeTest, tender.Page{Limit: 4}, tender.PayoutFilter{})
		wantDiff(t, "organization's test payouts", org[:4], got)
		if !more {
			t.Error("organization's first page: more = false")
		}
		got, _ = orgList(tender.ModeTest, tender.Page{Limit: 4, EndingBefore: org[4]}, tender.PayoutFilter{})
		wantDiff(t, "organization's page before", org[:4], got)
		got, _ = orgList(tender.ModeLive, tender.Page{Limit: 4}, tender.PayoutFilter{})
		wantDiff(t, "organization's live payouts", []string{live.ID}, got)
		got, _ = orgList(tender.ModeTest, tender.Page{Limit: 10}, tender.PayoutFilter{Status: tender.PayoutFailed})
		wantDiff(t, "organization's failed payouts", []string{org[0], org[2], org[4]}, got)
		other, _, err := func() ([]*tender.Payout, bool, error) {
			var items []*tender.Payout
			var more bool
			err := b.store.Read(b.ctx, func(tx store.Tx) (err error) {
				items, more, err = tx.ListOrganizationPayouts(b.ctx, "org_other", tender.ModeTest, tender.Page{Limit: 10}, tender.PayoutFilter{})
				return err
			})
			return items, more, err
		}()
		if err != nil || len(other) != 0 {
			t.Errorf("another organization's payouts = %v, %v", ids(other), err)
		}
	})
	t.Run("UnpaidTransactions", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s1, s2, s3 := b.settled(b.a, "USD", 1000, 30), b.settled(b.a, "USD", 500, 0), b.settled(b.a, "CAD", 700, 7)
		refund := b.settled(b.a, "USD", 200, 0)
		refund.SourceType, refund.Amount, refund.Net = "refund", -200, -200
		refund.Entries[0].Amount, refund.Entries[1].Amount = 200, -200
		mustPost(t, b, s1, s2, s3, refund,
			b.ltxn(b.a, "USD", 9000, 0),                   // unsettled: not yet payable
			b.internal(b.a, "pending", "available", 4000), // internal: never paid out itself
			b.settled(b.aLive, "USD", 50, 0), b.settled(b.b, "USD", 60, 0))
		totals := func(s tender.Scope) []tender.UnpaidTotal {
			t.Helper()
			return mustFind(t, b, func(tx store.Tx) ([]tender.UnpaidTotal, error) { return tx.UnpaidLedgerTotals(b.ctx, s) })
		}
		wantDiff(t, "account A's unpaid totals", []tender.UnpaidTotal{{Currency: "CAD", Count: 1, Net: 693}, {Currency: "USD", Count: 3, Net: 970 + 500 - 200}},
			totals(b.a))

		// The scopes with unpaid money, in (account, mode) order.
		var scopes []string
		mustRead(t, b, func(tx store.Tx) error {
			after := tender.Scope{}
			for {
				s, ok, err := tx.NextUnpaidScope(b.ctx, after)
				if err != nil || !ok {
					return err
				}
				scopes = append(scopes, s.AccountID+"/"+string(s.Mode))
				after = s
			}
		})
		want := []string{b.a.AccountID + "/live", b.a.AccountID + "/test", b.b.AccountID + "/test"}
		slices.SortFunc(want, strings.Compare)
		wantDiff(t, "scopes with unpaid money", want, scopes)

		b.clock.Advance(time.Second)
		// The payout's own transaction, linked to it when posted, is not
		// in its summary.
		own := b.settled(b.a, "USD", 1270, 0)
		own.SourceType, own.SourceID, own.PayoutID, own.Amount, own.Net = "payout", "po_1", "po_1", -1270, -1270
		own.Entries[0].Amount, own.Entries[1].Amount = 1270, -1270
		var lines []tender.PayoutSummaryLine
		var total tender.UnpaidTotal
		mustWrite(t, b, func(tx store.Tx) (err error) {
			if err := tx.PostLedgerTransactions(b.ctx, []*tender.LedgerTransaction{own}, floorTypes); err != nil {
				return err
			}
			lines, total, err = tx.AssignUnpaidLedgerTransactions(b.ctx, b.a, "USD", "po_1", tx.Now())
			return err
		})
		wantDiff(t, "summary", []tender.PayoutSummaryLine{{SourceType: "payment", Count: 2, Amount: 1500, Fee: 30, Net: 1470},
			{SourceType: "refund", Count: 1, Amount: -200, Net: -200}}, lines)
		wantDiff(t, "total", tender.UnpaidTotal{Currency: "USD", Count: 3, Net: 1270}, total)
		wantDiff(t, "unpaid totals after the payout", []tender.UnpaidTotal{{Currency: "CAD", Count: 1, Net: 693}}, totals(b.a))
		var paid []*tender.LedgerTransaction
		mustRead(t, b, func(tx store.Tx) (err error) {
			paid, _, err = tx.ListLedgerTransactions(b.ctx, b.a, tender.Page{Limit: 10}, tender.LedgerTransactionFilter{PayoutID: "po_1"})
			return err
		})
		wantDiff(t, "transactions of the payout", ids([]*tender.LedgerTransaction{own, refund, s2, s1}), ids(paid))
		for _, l := range paid {
			if l.PayoutID != "po_1" || (l.ID != own.ID && !l.UpdatedAt.Equal(b.clock.Now())) {
				t.Errorf("paid transaction %s has payout %q, updated %v", l.ID, l.PayoutID, l.UpdatedAt)
			}
		}
		// Nothing is left to assign twice.
		mustWrite(t, b, func(tx store.Tx) (err error) {
			lines, total, err = tx.AssignUnpaidLedgerTransactions(b.ctx, b.a, "USD", "po_2", tx.Now())
			return err
		})
		if len(lines) != 0 || total.Count != 0 || total.Net != 0 {
			t.Errorf("a second assignment found %v, %+v", lines, total)
		}
		// Other scopes keep theirs.
		wantDiff(t, "account B's unpaid totals", []tender.UnpaidTotal{{Currency: "USD", Count: 1, Net: 60}}, totals(b.b))
	})
}
