package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

func init() {
	register("Order", testOrders)
	register("Transaction", testTransactions)
	register("Subscription", testSubscriptions)
}

// order returns an order of scope s with every field set.
func (b *testBundle) order(s tender.Scope, edit func(o *tender.Order)) *tender.Order {
	now := b.clock.Now()
	paid := now.Add(time.Minute)
	o := &tender.Order{
		ID: tender.NewID(tender.PrefixOrder, now), AccountID: s.AccountID, Mode: s.Mode,
		Status: tender.OrderPending, PaymentStatus: tender.PaymentStatusPartiallyPaid, FulfillmentStatus: tender.PartiallyFulfilled,
		Currency: "USD", Subtotal: 3000, Discount: 300, Amount: 2700, AmountPaid: 1000, AmountRefunded: 10,
		Contact: tender.Contact{ID: "XPLSw2SVagl12LMDeTmQ", Name: "James Bond", Email: "james@example.com", Phone: "+15550100"},
		Items: []tender.OrderItem{{PriceID: "price_1", ProductID: "prod_1", Name: "Hat", Qty: 2, UnitAmount: 1000, Amount: 2000,
			Discount: 200, PriceType: tender.PriceRecurring, Recurring: &tender.Recurring{Interval: "month", IntervalCount: 1},
			SetupFee: 500, TrialDays: 7, Fulfilled: 1, SubscriptionID: "sub_1", Product: json.RawMessage(`{"id":"prod_1"}`), Price: json.RawMessage(`{"id":"price_1"}`)}},
		Coupon:          &tender.OrderCoupon{ID: "cpn_1", Code: "SAVE10", Snapshot: json.RawMessage(`{"code":"SAVE10"}`)},
		Source:          tender.OrderSource{Type: "funnel", SubType: "one_step_order_form", ID: "src_1", Name: "Hat funnel", Meta: json.RawMessage(`{"pageId":"p1"}`)},
		PaymentIntentID: "pi_1", SubscriptionIDs: []string{"sub_1"}, Meta: json.RawMessage(`{"k":"v"}`), CreatedBy: "user_1",
		PaidAt: &paid, CreatedAt: now, UpdatedAt: now.Add(time.Second), Version: 0,
	}
	if edit != nil {
		edit(o)
	}
	return o
}

func createOrders(t testing.TB, b *testBundle, os ...*tender.Order) {
	t.Helper()
	mustWrite(t, b, func(tx store.Tx) error {
		for _, o := range os {
			if err := tx.CreateOrder(b.ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

func testOrders(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.order(b.a, nil)
		wantAllSet(t, "Order", o, "Version")
		createOrders(t, b, o)
		got := mustFind(t, b, func(tx store.Tx) (*tender.Order, error) { return tx.FindOrderByID(b.ctx, b.a.AccountID, o.ID) })
		wantDiff(t, "FindOrderByID", o, got)
		wantUTC(t, "Order", got)
		_, err := read(b, func(tx store.Tx) (*tender.Order, error) { return tx.FindOrderByID(b.ctx, b.b.AccountID, o.ID) })
		wantCode(t, "FindOrderByID(other account)", err, tender.ENOTFOUND)
		_, err = read(b, func(tx store.Tx) (*tender.Order, error) { return tx.FindOrderByID(b.ctx, b.a.AccountID, "ord_missing") })
		wantCode(t, "FindOrderByID(missing)", err, tender.ENOTFOUND)
		err = b.store.Write(b.ctx, func(tx store.Tx) error {
			return tx.CreateOrder(b.ctx, b.order(b.a, func(x *tender.Order) { x.ID = o.ID }))
		})
		wantCode(t, "CreateOrder(duplicate)", err, tender.ECONFLICT)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.order(b.a, nil)
		createOrders(t, b, o)
		stale := *o
		mustWrite(t, b, func(tx store.Tx) error {
			cp := *o
			cp.Status, cp.PaymentStatus, cp.AmountPaid = tender.OrderCompleted, tender.PaymentStatusPaid, 2700
			return tx.UpdateOrder(b.ctx, &cp)
		})
		got := mustFind(t, b, func(tx store.Tx) (*tender.Order, error) { return tx.FindOrderByID(b.ctx, b.a.AccountID, o.ID) })
		if got.Status != tender.OrderCompleted || got.AmountPaid != 2700 || got.Version != 1 {
			t.Errorf("after update: status %s paid %d version %d", got.Status, got.AmountPaid, got.Version)
		}
		err := b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateOrder(b.ctx, &stale) })
		wantCode(t, "UpdateOrder(stale)", err, tender.ECONFLICT)
		// The list's columns follow the update.
		_, n := mustList(t, b, b.a.AccountID, tender.OrderFilter{PaymentStatus: tender.PaymentStatusPaid, Limit: 10})
		if n != 1 {
			t.Errorf("paid orders after update = %d, want 1", n)
		}
		foreign := b.order(b.b, func(x *tender.Order) { x.ID = o.ID })
		foreign.Version = got.Version
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateOrder(b.ctx, foreign) })
		wantCode(t, "UpdateOrder(other account)", err, tender.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var all []*tender.Order
		for i := range 12 {
			b.clock.Advance(time.Hour)
			o := b.order(b.a, func(o *tender.Order) {
				o.Contact = tender.Contact{ID: fmt.Sprintf("c%d", i%3), Name: fmt.Sprintf("Buyer %d", i), Email: fmt.Sprintf("b%d@example.com", i)}
				o.Items[0].ProductID = fmt.Sprintf("prod_%d", i%4)
				o.Items[0].Name = fmt.Sprintf("Item_%d%%", i)
				o.Source.ID = fmt.Sprintf("src_%d", i%2)
				if i%2 == 0 {
					o.Mode = tender.ModeLive
				}
				if i%3 == 0 {
					o.PaymentStatus, o.Status = tender.PaymentStatusPaid, tender.OrderCompleted
				}
			})
			all = append(all, o)
		}
		createOrders(t, b, all...)
		createOrders(t, b, b.order(b.b, nil)) // another account's
		rev := func(idx ...int) []string {
			var out []string
			for i := len(all) - 1; i >= 0; i-- {
				for _, j := range idx {
					if i == j {
						out = append(out, all[i].ID)
					}
				}
			}
			return out
		}
		live := tender.ModeLive
		cases := []struct {
			name string
			f    tender.OrderFilter
			want []string
		}{
			{"All", tender.OrderFilter{}, rev(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)},
			{"Mode", tender.OrderFilter{Mode: &live}, rev(0, 2, 4, 6, 8, 10)},
			{"Status", tender.OrderFilter{Status: tender.OrderCompleted}, rev(0, 3, 6, 9)},
			{"PaymentStatus", tender.OrderFilter{PaymentStatus: tender.PaymentStatusPaid, Mode: &live}, rev(0, 6)},
			{"Contact", tender.OrderFilter{ContactID: "c1"}, rev(1, 4, 7, 10)},
			{"Source", tender.OrderFilter{SourceID: "src_1"}, rev(1, 3, 5, 7, 9, 11)},
			{"Products", tender.OrderFilter{ProductIDs: []string{"prod_1", "prod_2"}}, rev(1, 2, 5, 6, 9, 10)},
			{"Time", tender.OrderFilter{Start: &all[2].CreatedAt, End: &all[4].CreatedAt}, rev(2, 3, 4)},
			{"SearchName", tender.OrderFilter{Search: "BUYER 1"}, rev(1, 10, 11)},
			{"SearchWordPrefix", tender.OrderFilter{Search: "buy 11"}, rev(11)},
			{"SearchNoWildcards", tender.OrderFilter{Search: "item_1%"}, rev(1, 10, 11)},
			{"SearchPercent", tender.OrderFilter{Search: "%"}, nil},
			{"SearchTwoWords", tender.OrderFilter{Search: "example.com b3"}, rev(3)},
			{"SearchNone", tender.OrderFilter{Search: "nobody"}, nil},
			{"SearchEmail", tender.OrderFilter{Search: "b7@example"}, rev(7)},
			{"SearchID", tender.OrderFilter{Search: all[5].ID}, rev(5)},
		}
		for _, c := range cases {
			c.f.Limit = 100
			items, n := mustList(t, b, b.a.AccountID, c.f)
			wantDiff(t, c.name+" ids", c.want, ids(items))
			if n != len(c.want) {
				t.Errorf("%s: count %d, want %d", c.name, n, len(c.want))
			}
		}
		items, n := mustList(t, b, b.a.AccountID, tender.OrderFilter{Limit: 5, Offset: 5})
		wantDiff(t, "page 2", rev(2, 3, 4, 5, 6), ids(items))
		if n != 12 {
			t.Errorf("page count %d, want 12", n)
		}
		items, n = mustList(t, b, b.a.AccountID, tender.OrderFilter{Limit: 0})
		if len(items) != 0 || n != 12 {
			t.Errorf("limit 0: %d items, count %d", len(items), n)
		}
	})
	t.Run("FulfillmentsAndNotes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		o := b.order(b.a, nil)
		createOrders(t, b, o)
		now := b.clock.Now()
		f1 := &tender.Fulfillment{ID: tender.NewID(tender.PrefixFulfillment, now), AccountID: o.AccountID, Mode: o.Mode, OrderID: o.ID,
			Trackings:      []tender.FulfillmentTracking{{TrackingNumber: "1Z", ShippingCarrier: "UPS", TrackingURL: "https://ups.example/1Z"}},
			Items:          []tender.FulfillmentItem{{PriceID: "price_1", Qty: 1}},
			NotifyCustomer: true, CreatedAt: now, UpdatedAt: now}
		wantAllSet(t, "Fulfillment", f1)
		f2 := &tender.Fulfillment{ID: tender.NewID(tender.PrefixFulfillment, now), AccountID: o.AccountID, Mode: o.Mode, OrderID: o.ID,
			Trackings: []tender.FulfillmentTracking{}, Items: []tender.FulfillmentItem{{PriceID: "price_1", Qty: 1}}, CreatedAt: now, UpdatedAt: now}
		n1 := &tender.OrderNote{ID: tender.NewID(tender.PrefixOrderNote, now), AccountID: o.AccountID, Mode: o.Mode, OrderID: o.ID,
			Action: "created", Body: "Order created", CreatedBy: "user_1", CreatedAt: now, UpdatedAt: now}
		wantAllSet(t, "OrderNote", n1)
		n2 := &tender.OrderNote{ID: tender.NewID(tender.PrefixOrderNote, now), AccountID: o.AccountID, Mode: o.Mode, OrderID: o.ID,
			Action: "fulfilled", Body: "Fulfilled", CreatedAt: now, UpdatedAt: now}
		mustWrite(t, b, func(tx store.Tx) error {
			for _, f := range []*tender.Fulfillment{f1, f2} {
				if err := tx.CreateFulfillment(b.ctx, f); err != nil {
					return err
				}
			}
			for _, n := range []*tender.OrderNote{n1, n2} {
				if err := tx.CreateOrderNote(b.ctx, n); err != nil {
					return err
				}
			}
			return nil
		})
		fs := mustFind(t, b, func(tx store.Tx) ([]*tender.Fulfillment, error) {
			return tx.ListFulfillments(b.ctx, b.a.AccountID, o.ID)
		})
		wantDiff(t, "ListFulfillments", []*tender.Fulfillment{f1, f2}, fs)
		ns := mustFind(t, b, func(tx store.Tx) ([]*tender.OrderNote, error) { return tx.ListOrderNotes(b.ctx, b.a.AccountID, o.ID) })
		wantDiff(t, "ListOrderNotes", []*tender.OrderNote{n1, n2}, ns)
		fs = mustFind(t, b, func(tx store.Tx) ([]*tender.Fulfillment, error) {
			return tx.ListFulfillments(b.ctx, b.b.AccountID, o.ID)
		})
		ns = mustFind(t, b, func(tx store.Tx) ([]*tender.OrderNote, error) { return tx.ListOrderNotes(b.ctx, b.b.AccountID, o.ID) })
		if len(fs) != 0 || len(ns) != 0 {
			t.Errorf("another account sees %d fulfillments and %d notes", len(fs), len(ns))
		}
	})
}

func mustList(t testing.TB, b *testBundle, accountID string, f tender.OrderFilter) ([]*tender.Order, int) {
	t.Helper()
	var items []*tender.Order
	var n int
	mustRead(t, b, func(tx store.Tx) (err error) {
		items, n, err = tx.ListOrders(b.ctx, accountID, f)
		return err
	})
	return items, n
}

// transaction returns a transaction of scope s with every field set.
func (b *testBundle) transaction(s tender.Scope, edit func(x *tender.Transaction)) *tender.Transaction {
	now := b.clock.Now()
	x := &tender.Transaction{
		ID: tender.NewID(tender.PrefixPayment, now), AccountID: s.AccountID, Mode: s.Mode, PaymentIntentID: "pi_1", PaymentMethodID: "pm_1",
		Status: tender.PaymentCaptured, Amount: 1000, AmountCaptured: 1000, AmountRefunded: 100, Currency: "USD",
		EntityType: "order", EntityID: "ord_1", Contact: tender.Contact{ID: "c1", Name: "James Bond", Email: "james@example.com", Phone: "1"},
		Source:         tender.OrderSource{Type: "funnel", SubType: "upsell", ID: "src_1", Name: "Funnel", Meta: json.RawMessage(`{"a":1}`)},
		SubscriptionID: "sub_1", ProviderType: tender.ProviderTender, Method: "card", Card: &tender.CardBrief{Brand: "visa", Last4: "4242"},
		ChargeID: "ch_1", Description: "hat", CreatedAt: now, UpdatedAt: now.Add(time.Second), CapturedAt: ptr(now.Add(time.Second)),
	}
	if edit != nil {
		edit(x)
	}
	return x
}

func putTransactions(t testing.TB, b *testBundle, xs ...*tender.Transaction) {
	t.Helper()
	mustWrite(t, b, func(tx store.Tx) error {
		for _, x := range xs {
			if err := tx.CreateTransaction(b.ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
}

func listTxns(t testing.TB, b *testBundle, accountID string, f tender.TransactionFilter) ([]*tender.Transaction, int) {
	t.Helper()
	var items []*tender.Transaction
	var n int
	mustRead(t, b, func(tx store.Tx) (err error) {
		items, n, err = tx.ListTransactions(b.ctx, accountID, f)
		return err
	})
	return items, n
}

func testTransactions(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("PutAndFind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		x := b.transaction(b.a, nil)
		wantAllSet(t, "Transaction", x)
		putTransactions(t, b, x)
		got := mustFind(t, b, func(tx store.Tx) (*tender.Transaction, error) {
			return tx.FindTransactionByID(b.ctx, b.a.AccountID, x.ID)
		})
		wantDiff(t, "FindTransactionByID", x, got)
		wantUTC(t, "Transaction", got)
		_, err := read(b, func(tx store.Tx) (*tender.Transaction, error) {
			return tx.FindTransactionByID(b.ctx, b.b.AccountID, x.ID)
		})
		wantCode(t, "FindTransactionByID(other account)", err, tender.ENOTFOUND)

		// An update changes it and does not count it twice; a second create
		// is a conflict.
		up := *x
		up.Status, up.AmountRefunded, up.EntityID, up.UpdatedAt = tender.PaymentCaptured, 1000, "ord_2", x.UpdatedAt.Add(time.Hour)
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateTransaction(b.ctx, &up) })
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateTransaction(b.ctx, x) })
		wantCode(t, "CreateTransaction(existing id)", err, tender.ECONFLICT)
		got = mustFind(t, b, func(tx store.Tx) (*tender.Transaction, error) {
			return tx.FindTransactionByID(b.ctx, b.a.AccountID, x.ID)
		})
		wantDiff(t, "after update", &up, got)
		items, n := listTxns(t, b, b.a.AccountID, tender.TransactionFilter{Limit: 10})
		if n != 1 || len(items) != 1 {
			t.Errorf("after two puts: %d items, count %d, want 1", len(items), n)
		}
		if items, _ := listTxns(t, b, b.a.AccountID, tender.TransactionFilter{EntityID: "ord_2", Limit: 10}); len(items) != 1 {
			t.Errorf("entity filter after update: %d items", len(items))
		}
		foreign := b.transaction(b.b, func(f *tender.Transaction) { f.ID = x.ID })
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateTransaction(b.ctx, foreign) })
		wantCode(t, "UpdateTransaction(other account's id)", err, tender.ENOTFOUND)
		missing := b.transaction(b.a, func(m *tender.Transaction) { m.ID = "pmt_missing" })
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateTransaction(b.ctx, missing) })
		wantCode(t, "UpdateTransaction(unknown id)", err, tender.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// 30 transactions, 5 hours apart, over about six days.
		start := b.clock.Now()
		var all []*tender.Transaction
		for i := range 30 {
			b.clock.Advance(5 * time.Hour)
			all = append(all, b.transaction(b.a, func(x *tender.Transaction) {
				x.Mode = []tender.Mode{tender.ModeTest, tender.ModeLive}[i%2]
				x.Source.Type = []string{"funnel", "website", "invoice"}[i%3]
				x.Source.SubType = []string{"upsell", "store"}[i%2]
				x.EntityID = fmt.Sprintf("ord_%d", i%5)
				x.Contact = tender.Contact{ID: fmt.Sprintf("c%d", i%4), Name: fmt.Sprintf("Name %d", i)}
				x.SubscriptionID = fmt.Sprintf("sub_%d", i%6)
				x.Status = tender.PaymentCaptured
				if i%4 == 0 {
					x.Status = tender.PaymentFailed
				}
			}))
		}
		putTransactions(t, b, all...)
		putTransactions(t, b, b.transaction(b.b, nil))
		live := tender.ModeLive
		want := func(pred func(i int, x *tender.Transaction) bool) []string {
			var out []string
			for i := len(all) - 1; i >= 0; i-- {
				if pred(i, all[i]) {
					out = append(out, all[i].ID)
				}
			}
			return out
		}
		day := func(d int) *time.Time {
			t := start.Truncate(24*time.Hour).AddDate(0, 0, d)
			return &t
		}
		mid := start.Add(37*time.Hour + 30*time.Minute)
		late := start.Add(121 * time.Hour)
		cases := []struct {
			name string
			f    tender.TransactionFilter
			pred func(i int, x *tender.Transaction) bool
		}{
			{"All", tender.TransactionFilter{}, func(int, *tender.Transaction) bool { return true }},
			{"Mode", tender.TransactionFilter{Mode: &live}, func(i int, _ *tender.Transaction) bool { return i%2 == 1 }},
			{"SourceType", tender.TransactionFilter{SourceType: "website"}, func(i int, _ *tender.Transaction) bool { return i%3 == 1 }},
			{"SourceSubType", tender.TransactionFilter{SourceSubType: "store", Mode: &live}, func(i int, _ *tender.Transaction) bool { return i%2 == 1 }},
			{"SourceBoth", tender.TransactionFilter{SourceType: "funnel", SourceSubType: "upsell"}, func(i int, _ *tender.Transaction) bool { return i%6 == 0 }},
			{"Entity", tender.TransactionFilter{EntityID: "ord_3"}, func(i int, _ *tender.Transaction) bool { return i%5 == 3 }},
			{"Contact", tender.TransactionFilter{ContactID: "c2", Mode: &live}, func(i int, _ *tender.Transaction) bool { return false }},
			{"ContactAny", tender.TransactionFilter{ContactID: "c1"}, func(i int, _ *tender.Transaction) bool { return i%4 == 1 }},
			{"Subscription", tender.TransactionFilter{SubscriptionID: "sub_2"}, func(i int, _ *tender.Transaction) bool { return i%6 == 2 }},
			{"Search", tender.TransactionFilter{Search: "name 2"}, func(i int, _ *tender.Transaction) bool { return i == 2 || (i >= 20 && i < 30) || i%5 == 2 }},
			{"SearchMode", tender.TransactionFilter{Search: "2 name", Mode: &live}, func(i int, _ *tender.Transaction) bool { return i%2 == 1 && (i >= 20 && i < 30 || i%5 == 2) }},
			{"SearchEntity", tender.TransactionFilter{Search: "ord_3"}, func(i int, _ *tender.Transaction) bool { return i%5 == 3 }},
			// Whole days, a range inside one day, and ranges with partial days at both ends.
			{"Days", tender.TransactionFilter{Start: day(1), End: ptr(day(3).Add(-time.Microsecond))},
				func(_ int, x *tender.Transaction) bool {
					return !x.CreatedAt.Before(*day(1)) && x.CreatedAt.Before(*day(3))
				}},
			{"WithinDay", tender.TransactionFilter{Start: ptr(day(2).Add(3 * time.Hour)), End: ptr(day(2).Add(20 * time.Hour))},
				func(_ int, x *tender.Transaction) bool {
					return !x.CreatedAt.Before(day(2).Add(3*time.Hour)) && !x.CreatedAt.After(day(2).Add(20*time.Hour))
				}},
			{"PartialEnds", tender.TransactionFilter{Start: &mid, End: &late, SourceType: "funnel"},
				func(i int, x *tender.Transaction) bool {
					return i%3 == 0 && !x.CreatedAt.Before(mid) && !x.CreatedAt.After(late)
				}},
			{"OpenStart", tender.TransactionFilter{End: &mid, Mode: &live},
				func(i int, x *tender.Transaction) bool { return i%2 == 1 && !x.CreatedAt.After(mid) }},
			{"OpenEnd", tender.TransactionFilter{Start: &mid},
				func(_ int, x *tender.Transaction) bool { return !x.CreatedAt.Before(mid) }},
		}
		for _, c := range cases {
			c.f.Limit = 100
			items, n := listTxns(t, b, b.a.AccountID, c.f)
			w := want(c.pred)
			wantDiff(t, c.name+" ids", w, ids(items))
			if n != len(w) {
				t.Errorf("%s: count %d, want %d", c.name, n, len(w))
			}
		}
		items, n := listTxns(t, b, b.a.AccountID, tender.TransactionFilter{Limit: 4, Offset: 3, Mode: &live})
		wantDiff(t, "page", want(func(i int, _ *tender.Transaction) bool { return i%2 == 1 })[3:7], ids(items))
		if n != 15 {
			t.Errorf("page count %d, want 15", n)
		}
		byEntity := mustFind(t, b, func(tx store.Tx) ([]*tender.Transaction, error) {
			return tx.ListTransactionsByEntity(b.ctx, b.a.AccountID, "ord_1")
		})
		wantDiff(t, "ListTransactionsByEntity", []string{all[1].ID, all[6].ID, all[11].ID, all[16].ID, all[21].ID, all[26].ID}, ids(byEntity))
		counts := mustFind(t, b, func(tx store.Tx) (map[string]int, error) {
			return tx.CountSubscriptionPayments(b.ctx, b.a.AccountID, []string{"sub_0", "sub_1", "sub_9"})
		})
		// sub_0: i = 0, 6, 12, 18, 24 (0, 12, 24 failed); sub_1: 1, 7, 13, 19, 25.
		wantDiff(t, "CountSubscriptionPayments", map[string]int{"sub_0": 2, "sub_1": 5}, counts)
	})
}

// subscription returns a subscription of scope s with every field set.
func (b *testBundle) subscription(s tender.Scope, edit func(x *tender.Subscription)) *tender.Subscription {
	now := b.clock.Now()
	x := &tender.Subscription{
		ID: tender.NewID(tender.PrefixSubscription, now), AccountID: s.AccountID, Mode: s.Mode, Status: tender.SubscriptionActive,
		Contact: tender.Contact{ID: "c1", Name: "James Bond", Email: "james@example.com", Phone: "1"},
		Items: []tender.SubscriptionItem{{PriceID: "price_1", ProductID: "prod_1", Name: "Club", Qty: 1, UnitAmount: 1500,
			Product: json.RawMessage(`{"id":"prod_1"}`), Price: json.RawMessage(`{"id":"price_1"}`)}},
		Currency: "USD", Amount: 1350, Discount: 150, Recurrence: tender.Recurring{Interval: "month", IntervalCount: 1},
		CurrentPeriodStart: ptr(now), CurrentPeriodEnd: ptr(now.AddDate(0, 1, 0)), EntityType: "order", EntityID: "ord_1",
		Source: tender.OrderSource{Type: "funnel", ID: "src_1"}, Coupon: &tender.OrderCoupon{ID: "cpn_1", Code: "C"},
		ProviderType: tender.ProviderTender, ProviderID: "prov_1", PaymentMethodID: "pm_1", CanceledAt: ptr(now.Add(time.Hour)),
		TrialDays: 14, TrialEnd: ptr(now.AddDate(0, 0, 14)), TotalCycles: 12, CustomProviderID: "cp_1", ProviderMessage: "refused",
		CreatedAt: now, UpdatedAt: now.Add(time.Second),
	}
	if edit != nil {
		edit(x)
	}
	return x
}

func testSubscriptions(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("RoundTripAndUpdate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		s := b.subscription(b.a, nil)
		wantAllSet(t, "Subscription", s, "Version")
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateSubscription(b.ctx, s) })
		got := mustFind(t, b, func(tx store.Tx) (*tender.Subscription, error) {
			return tx.FindSubscriptionByID(b.ctx, b.a.AccountID, s.ID)
		})
		wantDiff(t, "FindSubscriptionByID", s, got)
		wantUTC(t, "Subscription", got)
		_, err := read(b, func(tx store.Tx) (*tender.Subscription, error) {
			return tx.FindSubscriptionByID(b.ctx, b.b.AccountID, s.ID)
		})
		wantCode(t, "FindSubscriptionByID(other account)", err, tender.ENOTFOUND)
		stale := *s
		mustWrite(t, b, func(tx store.Tx) error {
			cp := *s
			cp.Status = tender.SubscriptionCanceled
			return tx.UpdateSubscription(b.ctx, &cp)
		})
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateSubscription(b.ctx, &stale) })
		wantCode(t, "UpdateSubscription(stale)", err, tender.ECONFLICT)
		got = mustFind(t, b, func(tx store.Tx) (*tender.Subscription, error) {
			return tx.FindSubscriptionByID(b.ctx, b.a.AccountID, s.ID)
		})
		if got.Status != tender.SubscriptionCanceled || got.Version != 1 {
			t.Errorf("after update: %s version %d", got.Status, got.Version)
		}
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var all []*tender.Subscription
		for i := range 8 {
			b.clock.Advance(time.Hour)
			all = append(all, b.subscription(b.a, func(x *tender.Subscription) {
				x.Mode = []tender.Mode{tender.ModeTest, tender.ModeLive}[i%2]
				x.EntityID = fmt.Sprintf("ord_%d", i%3)
				x.Contact = tender.Contact{ID: fmt.Sprintf("c%d", i%2), Name: fmt.Sprintf("Member %d", i)}
				x.Source.Type = []string{"funnel", "website"}[i%2]
			}))
		}
		mustWrite(t, b, func(tx store.Tx) error {
			for _, s := range append(all, b.subscription(b.b, nil)) {
				if err := tx.CreateSubscription(b.ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
		want := func(idx ...int) []string {
			var out []string
			for i := len(all) - 1; i >= 0; i-- {
				for _, j := range idx {
					if i == j {
						out = append(out, all[i].ID)
					}
				}
			}
			return out
		}
		live := tender.ModeLive
		cases := []struct {
			name string
			f    tender.SubscriptionFilter
			want []string
		}{
			{"All", tender.SubscriptionFilter{}, want(0, 1, 2, 3, 4, 5, 6, 7)},
			{"Mode", tender.SubscriptionFilter{Mode: &live}, want(1, 3, 5, 7)},
			{"ID", tender.SubscriptionFilter{ID: all[4].ID}, want(4)},
			{"Entity", tender.SubscriptionFilter{EntityID: "ord_1"}, want(1, 4, 7)},
			{"Contact", tender.SubscriptionFilter{ContactID: "c0"}, want(0, 2, 4, 6)},
			{"Source", tender.SubscriptionFilter{SourceType: "website"}, want(1, 3, 5, 7)},
			{"Search", tender.SubscriptionFilter{Search: "member 6"}, want(6)},
			{"Time", tender.SubscriptionFilter{Start: &all[5].CreatedAt}, want(5, 6, 7)},
		}
		for _, c := range cases {
			c.f.Limit = 100
			var items []*tender.Subscription
			var n int
			mustRead(t, b, func(tx store.Tx) (err error) {
				items, n, err = tx.ListSubscriptions(b.ctx, b.a.AccountID, c.f)
				return err
			})
			wantDiff(t, c.name+" ids", c.want, ids(items))
			if n != len(c.want) {
				t.Errorf("%s: count %d, want %d", c.name, n, len(c.want))
			}
		}
	})
}
