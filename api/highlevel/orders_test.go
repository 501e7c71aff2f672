package highlevel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api/highlevel"
	"github.com/tenderpay/tender/catalog"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/store"
)

// orderFixture is a real server with a catalog: a one-time price (hat,
// 12.50 USD), a recurring price (club, 9.99 USD a month), a price in EUR
// and a 10% coupon.
type orderFixture struct {
	s      *testserver.Server
	loc    string
	sc     tender.Scope
	hat    *tender.Price
	club   *tender.Price
	eur    *tender.Price
	hatPrd *tender.Product
}

func newOrderFixture(t *testing.T, opts testserver.Options) *orderFixture {
	t.Helper()
	s := testserver.Start(t, opts)
	f := &orderFixture{s: s, loc: s.Boot.HighLevel.LocationID}
	f.sc = tender.Scope{OrganizationID: s.Boot.OrganizationID, AccountID: f.loc, Mode: tender.ModeLive}
	ctx := context.Background()
	cat := s.Server.HighLevel.Catalog
	var err error
	if f.hatPrd, err = cat.CreateProduct(ctx, f.sc, catalog.ProductParams{Name: "Hat", ProductType: tender.ProductPhysical}); err != nil {
		t.Fatal(err)
	}
	club, err := cat.CreateProduct(ctx, f.sc, catalog.ProductParams{Name: "Club", ProductType: tender.ProductService})
	if err != nil {
		t.Fatal(err)
	}
	if f.hat, err = cat.CreatePrice(ctx, f.sc, f.hatPrd.ID, catalog.PriceParams{Name: "Hat", Type: tender.PriceOneTime, Currency: "USD", Amount: 1250}); err != nil {
		t.Fatal(err)
	}
	if f.club, err = cat.CreatePrice(ctx, f.sc, club.ID, catalog.PriceParams{Name: "Monthly", Type: tender.PriceRecurring, Currency: "USD", Amount: 999,
		Recurring: &tender.Recurring{Interval: tender.IntervalMonth, IntervalCount: 1}}); err != nil {
		t.Fatal(err)
	}
	if f.eur, err = cat.CreatePrice(ctx, f.sc, f.hatPrd.ID, catalog.PriceParams{Name: "Hat EU", Type: tender.PriceOneTime, Currency: "EUR", Amount: 1100}); err != nil {
		t.Fatal(err)
	}
	if _, err = cat.CreateCoupon(ctx, f.sc, catalog.CouponParams{Name: "Ten", Code: "SAVE10", DiscountType: tender.DiscountPercentage,
		DiscountValue: "10", StartDate: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return f
}

// hl sends a HighLevel request and checks its status.
func (f *orderFixture) hl(t *testing.T, method, path string, body any, status int) map[string]any {
	t.Helper()
	r := f.s.HighLevel(t, method, path, body)
	if r.Status != status {
		t.Fatalf("%s %s: %d, want %d\n%s", method, path, r.Status, status, r.Body)
	}
	return r.JSON(t)
}

func (f *orderFixture) createOrder(t *testing.T, edit func(b map[string]any)) map[string]any {
	t.Helper()
	b := map[string]any{"altId": f.loc, "altType": "location",
		"contact": map[string]any{"name": "James Bond", "email": "james@example.com"},
		"items":   []any{map[string]any{"priceId": f.hat.ID, "qty": 2}},
		"source":  map[string]any{"type": "funnel", "subType": "two_step_order_form", "id": "fnl_1", "name": "Hat funnel", "meta": map[string]any{"pageId": "p1"}}}
	if edit != nil {
		edit(b)
	}
	return f.hl(t, "POST", "/payments/orders", b, 201)
}

func (f *orderFixture) q(extra string) string {
	v := "altId=" + f.loc + "&altType=location"
	if extra != "" {
		v += "&" + extra
	}
	return v
}

func num(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	n, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%s = %v (%T), want a number", key, m[key], m[key])
	}
	return n
}

// wantError checks a HighLevel error envelope: status and a message that
// mentions each of want.
func wantError(t *testing.T, r *testserver.Response, status int, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s %s: %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.Status, status, r.Body)
	}
	m := r.JSON(t)
	if int(num(t, m, "statusCode")) != status {
		t.Errorf("statusCode %v, want %d", m["statusCode"], status)
	}
	msg := fmt.Sprint(m["message"])
	if status == 422 {
		if _, ok := m["message"].([]any); !ok {
			t.Errorf("422 message is %T, want an array", m["message"])
		}
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not mention %q", msg, w)
		}
	}
}

func TestOrders_CreateAndGet(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	o := f.createOrder(t, func(b map[string]any) {
		b["items"] = []any{map[string]any{"priceId": f.hat.ID, "qty": 2}, map[string]any{"priceId": f.club.ID, "qty": 1}}
		b["couponCode"] = "save10"
	})
	// 2 × 12.50 + 9.99 = 34.99; 10% is 3.499, rounded half up to 3.50.
	if num(t, o, "amount") != 31.49 {
		t.Errorf("amount %v, want 31.49", o["amount"])
	}
	sum := o["amountSummary"].(map[string]any)
	if sum["subtotal"] != 34.99 || sum["discount"] != 3.5 {
		t.Errorf("amountSummary %v", sum)
	}
	if o["status"] != "pending" || o["paymentStatus"] != "unpaid" || o["fulfillmentStatus"] != "unfulfilled" || o["liveMode"] != false {
		t.Errorf("statuses %v %v %v liveMode %v", o["status"], o["paymentStatus"], o["fulfillmentStatus"], o["liveMode"])
	}
	if o["currency"] != "USD" || !strings.HasPrefix(fmt.Sprint(o["paymentIntentId"]), "pi_") || o["amountDue"] != 31.49 {
		t.Errorf("currency %v paymentIntentId %v amountDue %v", o["currency"], o["paymentIntentId"], o["amountDue"])
	}
	if c := o["coupon"].(map[string]any); c["code"] != "SAVE10" {
		t.Errorf("coupon %v", c)
	}
	contact := o["contactSnapshot"].(map[string]any)
	if contact["name"] != "James Bond" || contact["email"] != "james@example.com" || o["contactId"] == "" || contact["id"] != o["contactId"] {
		t.Errorf("contact %v, contactId %v", contact, o["contactId"])
	}
	items := o["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("items %v", items)
	}
	first := items[0].(map[string]any)
	if first["qty"] != 2.0 || first["price"].(map[string]any)["_id"] != f.hat.ID || first["product"].(map[string]any)["_id"] != f.hatPrd.ID {
		t.Errorf("item %v", first)
	}
	subs := o["subscriptionIds"].([]any)
	if len(subs) != 1 {
		t.Fatalf("subscriptionIds %v", subs)
	}
	id := o["_id"].(string)
	got := f.hl(t, "GET", "/payments/orders/"+id+"?altId="+f.loc, nil, 200)
	if got["_id"] != id || got["amount"] != 31.49 || got["source"].(map[string]any)["type"] != "funnel" {
		t.Errorf("GET: %v", got)
	}
	// The same contact email gets the same contact id; a second order of the
	// coupon counts a second use.
	o2 := f.createOrder(t, func(b map[string]any) { b["couponCode"] = "SAVE10"; b["liveMode"] = true })
	if o2["contactId"] != o["contactId"] || o2["liveMode"] != true {
		t.Errorf("second order contact %v liveMode %v", o2["contactId"], o2["liveMode"])
	}
	cp, err := f.s.Server.HighLevel.Catalog.GetCoupon(context.Background(), f.sc, "", "SAVE10")
	if err != nil || cp.UsageCount != 2 {
		t.Errorf("coupon usage %v (%v), want 2", cp, err)
	}
	// The subscription of the recurring line waits for the payment.
	sub := f.hl(t, "GET", "/payments/subscriptions/"+subs[0].(string)+"?"+f.q(""), nil, 200)
	if sub["status"] != "incomplete" || sub["entityId"] != id || sub["amount"] != 8.99 {
		t.Errorf("subscription %v", sub)
	}
	// An order of amount 0 is paid at once.
	free, err := f.s.Server.HighLevel.Catalog.CreateCoupon(context.Background(), f.sc, catalog.CouponParams{Name: "All", Code: "FREE", DiscountType: tender.DiscountPercentage,
		DiscountValue: "100", StartDate: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	z := f.createOrder(t, func(b map[string]any) { b["couponCode"] = free.Code })
	if z["amount"] != 0.0 || z["paymentStatus"] != "paid" || z["status"] != "completed" || z["paymentIntentId"] != nil {
		t.Errorf("free order %v %v %v %v", z["amount"], z["paymentStatus"], z["status"], z["paymentIntentId"])
	}
}

func TestOrders_CreateBadInput(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	cases := []struct {
		name string
		edit func(b map[string]any)
		want []string
	}{
		{"NoItems", func(b map[string]any) { delete(b, "items") }, []string{"items should not be empty"}},
		{"UnknownPrice", func(b map[string]any) { b["items"] = []any{map[string]any{"priceId": "price_nope", "qty": 1}} }, []string{"items.0.priceId"}},
		{"QtyZero", func(b map[string]any) { b["items"] = []any{map[string]any{"priceId": f.hat.ID, "qty": 0}} }, []string{"items.0.qty"}},
		{"QtyFraction", func(b map[string]any) { b["items"] = []any{map[string]any{"priceId": f.hat.ID, "qty": 1.5}} }, []string{"items.0.qty"}},
		{"QtyString", func(b map[string]any) { b["items"] = []any{map[string]any{"priceId": f.hat.ID, "qty": "2"}} }, []string{"items.0.qty"}},
		{"MixedCurrencies", func(b map[string]any) {
			b["items"] = []any{map[string]any{"priceId": f.hat.ID, "qty": 1}, map[string]any{"priceId": f.eur.ID, "qty": 1}}
		}, []string{"items.1.priceId", "one currency"}},
		{"WrongCurrency", func(b map[string]any) { b["currency"] = "EUR" }, []string{"items.0.priceId", "EUR"}},
		{"NoContact", func(b map[string]any) { delete(b, "contact") }, []string{"contact.name", "contact.email"}},
		{"BadEmail", func(b map[string]any) { b["contact"] = map[string]any{"name": "x", "email": "nope"} }, []string{"contact.email must be an email"}},
		{"BadSourceType", func(b map[string]any) { b["source"] = map[string]any{"type": "fax", "id": "x"} }, []string{"source.type must be one of"}},
		{"SourceWithoutID", func(b map[string]any) { b["source"] = map[string]any{"type": "funnel"} }, []string{"source.id should not be empty"}},
		{"UnknownCoupon", func(b map[string]any) { b["couponCode"] = "NOPE" }, []string{"couponCode"}},
		{"AltType", func(b map[string]any) { b["altType"] = "company" }, []string{"altType"}},
		{"LiveModeType", func(b map[string]any) { b["liveMode"] = "yes" }, []string{"liveMode"}},
		{"ItemsType", func(b map[string]any) { b["items"] = "hat" }, []string{"items"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := map[string]any{"altId": f.loc, "altType": "location", "contact": map[string]any{"name": "A", "email": "a@example.com"},
				"items": []any{map[string]any{"priceId": f.hat.ID, "qty": 1}}}
			c.edit(b)
			wantError(t, f.s.HighLevel(t, "POST", "/payments/orders", b), 422, c.want...)
		})
	}
	// Nothing was written: no order, and the coupon was not used.
	list := f.hl(t, "GET", "/payments/orders?altId="+f.loc, nil, 200)
	if list["totalCount"] != 0.0 {
		t.Errorf("orders after refused creates: %v", list["totalCount"])
	}
}

func TestOrders_List(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	var ids []string
	for i := range 5 {
		o := f.createOrder(t, func(b map[string]any) {
			b["contact"] = map[string]any{"name": fmt.Sprintf("Buyer %d", i), "email": fmt.Sprintf("b%d@example.com", i%2)}
			b["source"] = map[string]any{"type": "website", "id": fmt.Sprintf("site_%d", i%2)}
			b["liveMode"] = i%2 == 0
			if i == 4 {
				b["items"] = []any{map[string]any{"priceId": f.club.ID, "qty": 1}}
			}
		})
		ids = append(ids, o["_id"].(string))
	}
	f.hl(t, "POST", "/payments/orders/"+ids[1]+"/record-payment", map[string]any{"altId": f.loc, "altType": "location", "mode": "cash"}, 200)
	list := func(query string) ([]string, float64) {
		t.Helper()
		m := f.hl(t, "GET", "/payments/orders?altId="+f.loc+"&"+query, nil, 200)
		var got []string
		for _, d := range m["data"].([]any) {
			got = append(got, d.(map[string]any)["_id"].(string))
		}
		return got, num(t, m, "totalCount")
	}
	rev := func(idx ...int) []string {
		var out []string
		for i := len(ids) - 1; i >= 0; i-- {
			if slices.Contains(idx, i) {
				out = append(out, ids[i])
			}
		}
		return out
	}
	today := time.Now().UTC().Format("2006-01-02")
	cases := []struct {
		query string
		want  []string
	}{
		{"", rev(0, 1, 2, 3, 4)},
		{"paymentMode=live", rev(0, 2, 4)},
		{"paymentMode=test", rev(1, 3)},
		{"status=completed", rev(1)},
		{"paymentStatus=unpaid", rev(0, 2, 3, 4)},
		{"paymentStatus=paid", rev(1)},
		{"search=buyer%203", rev(3)},
		{"search=HAT", rev(0, 1, 2, 3)},
		{"sourceId=site_1", rev(1, 3)},
		{"funnelProductIds=" + f.club.ProductID, rev(4)},
		{"funnelProductIds=nope," + f.hat.ProductID, rev(0, 1, 2, 3)},
		{"startAt=" + today + "&endAt=" + today, rev(0, 1, 2, 3, 4)},
		{"endAt=2020-01-01", nil},
		{"limit=2&offset=1", rev(2, 3)},
		{"altType=location&limit=100", rev(0, 1, 2, 3, 4)},
	}
	for _, c := range cases {
		got, n := list(c.query)
		if !slices.Equal(got, c.want) {
			t.Errorf("?%s: %v, want %v", c.query, got, c.want)
		}
		if c.query == "limit=2&offset=1" {
			if n != 5 {
				t.Errorf("?%s: totalCount %v, want 5", c.query, n)
			}
		} else if int(n) != len(c.want) {
			t.Errorf("?%s: totalCount %v, want %d", c.query, n, len(c.want))
		}
	}
	// contactId: both orders of b1@example.com share it.
	o1 := f.hl(t, "GET", "/payments/orders/"+ids[1]+"?altId="+f.loc, nil, 200)
	if got, _ := list("contactId=" + url.QueryEscape(o1["contactId"].(string))); !slices.Equal(got, rev(1, 3)) {
		t.Errorf("contactId: %v", got)
	}
	m := f.hl(t, "GET", "/payments/orders?altId="+f.loc+"&limit=1", nil, 200)
	item := m["data"].([]any)[0].(map[string]any)
	if item["sourceType"] != "website" || item["recurringProducts"] != 1.0 || item["totalProducts"] != 1.0 || item["contactName"] != "Buyer 4" {
		t.Errorf("list item %v", item)
	}
	for _, bad := range []string{"paymentStatus=late", "paymentMode=both", "limit=101", "limit=x", "offset=-1", "startAt=yesterday"} {
		wantError(t, f.s.HighLevel(t, "GET", "/payments/orders?altId="+f.loc+"&"+bad, nil), 422, strings.SplitN(bad, "=", 2)[0])
	}
}

func TestOrders_RecordPayment(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	o := f.createOrder(t, func(b map[string]any) {
		b["items"] = []any{map[string]any{"priceId": f.hat.ID, "qty": 2}, map[string]any{"priceId": f.club.ID, "qty": 1}}
	})
	id := o["_id"].(string)
	path := "/payments/orders/" + id + "/record-payment"
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"altId": f.loc, "altType": "location", "mode": "cash"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	// 34.99 due: 10.00 by card, then an overpayment refused, then the rest.
	r := f.hl(t, "POST", path, body(map[string]any{"mode": "card", "card": map[string]any{"type": "visa", "last4": "4242"}, "amount": 10, "notes": "terminal 2"}), 200)
	if r["success"] != true {
		t.Errorf("record-payment: %v", r)
	}
	got := f.hl(t, "GET", "/payments/orders/"+id+"?altId="+f.loc, nil, 200)
	if got["paymentStatus"] != "partially_paid" || got["status"] != "pending" || got["amountPaid"] != 10.0 || got["amountDue"] != 24.99 {
		t.Errorf("after 10.00: %v %v paid %v due %v", got["paymentStatus"], got["status"], got["amountPaid"], got["amountDue"])
	}
	wantError(t, f.s.HighLevel(t, "POST", path, body(map[string]any{"amount": 25})), 422, "amount", "24.99")
	wantError(t, f.s.HighLevel(t, "POST", path, body(map[string]any{"amount": 1.001})), 422, "amount")
	wantError(t, f.s.HighLevel(t, "POST", path, body(map[string]any{"amount": "5"})), 422, "amount")
	wantError(t, f.s.HighLevel(t, "POST", path, body(map[string]any{"amount": -1})), 422, "amount")
	wantError(t, f.s.HighLevel(t, "POST", path, body(map[string]any{"mode": "barter"})), 422, "mode must be one of")
	wantError(t, f.s.HighLevel(t, "POST", path, body(map[string]any{"mode": "card", "card": map[string]any{"type": "amex", "last4": "12"}})), 422, "card.type", "card.last4")
	wantError(t, f.s.HighLevel(t, "POST", path, body(map[string]any{"mode": "cheque", "cheque": map[string]any{"number": ""}})), 422, "cheque.number")
	wantError(t, f.s.HighLevel(t, "POST", path, map[string]any{"altId": f.loc, "altType": "location"}), 422, "mode should not be empty")
	f.hl(t, "POST", path, body(map[string]any{"mode": "cheque", "cheque": map[string]any{"number": "000123"}}), 200)
	got = f.hl(t, "GET", "/payments/orders/"+id+"?altId="+f.loc, nil, 200)
	if got["paymentStatus"] != "paid" || got["status"] != "completed" || got["amountDue"] != 0.0 || got["amountPaid"] != 34.99 {
		t.Errorf("after paying the rest: %v %v due %v paid %v", got["paymentStatus"], got["status"], got["amountDue"], got["amountPaid"])
	}
	wantError(t, f.s.HighLevel(t, "POST", path, body(nil)), 422, "amount", "nothing due")
	// Two transactions, manual, pointing at the order.
	txns := f.hl(t, "GET", "/payments/transactions?"+f.q("entityId="+id), nil, 200)
	if txns["totalCount"] != 2.0 {
		t.Fatalf("transactions of the order: %v", txns)
	}
	for _, d := range txns["data"].([]any) {
		x := d.(map[string]any)
		if x["paymentProviderType"] != "manual" || x["entityType"] != "order" || x["status"] != "succeeded" || x["entitySourceType"] != "funnel" ||
			x["contactName"] != "James Bond" || x["subscriptionId"] != o["subscriptionIds"].([]any)[0] {
			t.Errorf("transaction %v", x)
		}
	}
	last := txns["data"].([]any)[1].(map[string]any)
	if last["amount"] != 10.0 || last["paymentMethod"].(map[string]any)["card"].(map[string]any)["last4"] != "4242" {
		t.Errorf("card transaction %v", last)
	}
	// The notes tell the story.
	notes := f.hl(t, "GET", "/payments/orders/"+id+"/notes?"+f.q(""), nil, 200)
	var actions []string
	for _, n := range notes["data"].([]any) {
		actions = append(actions, n.(map[string]any)["action"].(string))
	}
	if want := []string{"created", "payment_recorded", "payment_recorded", "paid"}; !slices.Equal(actions, want) {
		t.Errorf("note actions %v, want %v", actions, want)
	}
	// The order's subscription is active now, and has collected one payment
	// (the order's payments count for its subscription).
	subID := o["subscriptionIds"].([]any)[0].(string)
	sub := f.hl(t, "GET", "/payments/subscriptions/"+subID+"?"+f.q(""), nil, 200)
	if sub["status"] != "active" || sub["schedule"] == nil {
		t.Errorf("subscription after payment: %v", sub)
	}
	subs := f.hl(t, "GET", "/payments/subscriptions?"+f.q("getPaymentsCollectedCount=true"), nil, 200)
	if s0 := subs["data"].([]any)[0].(map[string]any); s0["paymentsCollectedCount"] != 2.0 {
		t.Errorf("paymentsCollectedCount %v", s0["paymentsCollectedCount"])
	}
	subs = f.hl(t, "GET", "/payments/subscriptions?"+f.q(""), nil, 200)
	if _, ok := subs["data"].([]any)[0].(map[string]any)["paymentsCollectedCount"]; ok {
		t.Error("paymentsCollectedCount without getPaymentsCollectedCount")
	}
	// The recorded payments are payments of the engine: Forward sees them.
	intent := f.s.Forward(t, "GET", "/payment_intents?limit=10", nil)
	if intent.Status != 200 || strings.Count(string(intent.Body), id) < 2 {
		t.Errorf("Forward intents do not show the recorded payments: %d %s", intent.Status, intent.Body)
	}
}

func TestOrders_Fulfillments(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	o := f.createOrder(t, func(b map[string]any) {
		b["items"] = []any{map[string]any{"priceId": f.hat.ID, "qty": 3}, map[string]any{"priceId": f.club.ID, "qty": 1}}
	})
	id := o["_id"].(string)
	path := "/payments/orders/" + id + "/fulfillments"
	body := func(items ...any) map[string]any {
		return map[string]any{"altId": f.loc, "altType": "location", "notifyCustomer": true, "items": items,
			"trackings": []any{map[string]any{"trackingNumber": "1Z999", "shippingCarrier": "UPS", "trackingUrl": "https://ups.example/1Z999"}}}
	}
	item := func(priceID string, qty any) any { return map[string]any{"priceId": priceID, "qty": qty} }
	r := f.hl(t, "POST", path, body(item(f.hat.ID, 2)), 200)
	if r["status"] != true {
		t.Fatalf("create: %v", r)
	}
	ful := r["data"].(map[string]any)
	fi := ful["items"].([]any)[0].(map[string]any)
	if fi["_id"] != f.hat.ID || fi["qty"] != 2.0 || fi["name"] != "Hat" || fi["price"].(map[string]any)["amount"] != 12.5 {
		t.Errorf("fulfilled item %v", fi)
	}
	got := f.hl(t, "GET", "/payments/orders/"+id+"?altId="+f.loc, nil, 200)
	if got["fulfillmentStatus"] != "partially_fulfilled" {
		t.Errorf("after 2 of 4: %v", got["fulfillmentStatus"])
	}
	wantError(t, f.s.HighLevel(t, "POST", path, body(item(f.hat.ID, 2))), 422, "items.0.qty", "1")
	wantError(t, f.s.HighLevel(t, "POST", path, body(item(f.hat.ID, 1), item(f.hat.ID, 1))), 422, "items.1.qty")
	wantError(t, f.s.HighLevel(t, "POST", path, body(item(f.eur.ID, 1))), 422, "items.0.priceId is not an item of this order")
	wantError(t, f.s.HighLevel(t, "POST", path, body(item(f.hat.ID, 0))), 422, "items.0.qty")
	wantError(t, f.s.HighLevel(t, "POST", path, body(item(f.hat.ID, 0.5))), 422, "items.0.qty")
	wantError(t, f.s.HighLevel(t, "POST", path, body()), 422, "items should not be empty")
	wantError(t, f.s.HighLevel(t, "POST", path, map[string]any{"altId": f.loc, "altType": "location", "items": []any{item(f.hat.ID, 1)}}), 422, "trackings", "notifyCustomer")
	f.hl(t, "POST", path, body(item(f.hat.ID, 1), item(f.club.ID, 1)), 200)
	got = f.hl(t, "GET", "/payments/orders/"+id+"?altId="+f.loc, nil, 200)
	if got["fulfillmentStatus"] != "fulfilled" {
		t.Errorf("after all: %v", got["fulfillmentStatus"])
	}
	wantError(t, f.s.HighLevel(t, "POST", path, body(item(f.club.ID, 1))), 422, "items.0.qty", "0")
	list := f.hl(t, "GET", path+"?"+f.q(""), nil, 200)
	if list["status"] != true || len(list["data"].([]any)) != 2 {
		t.Errorf("list: %v", list)
	}
	wantError(t, f.s.HighLevel(t, "GET", path+"?altId="+f.loc, nil), 422, "altType")
	notes := f.hl(t, "GET", "/payments/orders/"+id+"/notes?"+f.q(""), nil, 200)
	if n := len(notes["data"].([]any)); n != 3 {
		t.Errorf("notes: %d, want created + 2 fulfilled", n)
	}
}

// TestOrders_PaidThroughForward pays an order with the Forward dialect:
// the order's payment intent is paid with a card, the order becomes paid,
// the payment is a HighLevel transaction of the order, and a Forward refund
// moves the order to refunded.
func TestOrders_PaidThroughForward(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newOrderFixture(t, testserver.Options{Postgres: engine == "postgres"})
			o := f.createOrder(t, nil) // test mode, like the Forward test key
			id, piID := o["_id"].(string), o["paymentIntentId"].(string)
			pm := f.s.Forward(t, "POST", "/payment_methods", map[string]any{"payment_method_type": "card",
				"card": map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 3}, "billing_details": map[string]any{"name": "James Bond"}})
			if pm.Status != 201 {
				t.Fatalf("payment method: %d %s", pm.Status, pm.Body)
			}
			intent := f.s.Forward(t, "GET", "/payment_intents/"+piID, nil)
			if intent.Status != 200 || intent.JSON(t)["amount"] != 2500.0 || intent.JSON(t)["reference_id"] != id {
				t.Fatalf("the order's intent: %d %s", intent.Status, intent.Body)
			}
			pay := f.s.Forward(t, "POST", "/payment_intents/"+piID+"/payments", map[string]any{"payment_method_id": pm.JSON(t)["id"]})
			if pay.Status != 201 && pay.Status != 200 {
				t.Fatalf("pay: %d %s", pay.Status, pay.Body)
			}
			payID := pay.JSON(t)["id"].(string)
			got := f.hl(t, "GET", "/payments/orders/"+id+"?altId="+f.loc, nil, 200)
			if got["paymentStatus"] != "paid" || got["status"] != "completed" {
				t.Errorf("order after the Forward payment: %v %v", got["paymentStatus"], got["status"])
			}
			x := f.hl(t, "GET", "/payments/transactions/"+payID+"?"+f.q(""), nil, 200)
			if x["entityType"] != "order" || x["entityId"] != id || x["status"] != "succeeded" || x["amount"] != 25.0 ||
				x["paymentProvider"].(map[string]any)["type"] != "tender" || x["entitySource"].(map[string]any)["type"] != "funnel" ||
				x["paymentMethod"].(map[string]any)["card"].(map[string]any)["last4"] != "4242" || x["liveMode"] != false {
				t.Errorf("transaction %v", x)
			}
			// The payment is in the ledger too.
			var posted []*tender.LedgerTransaction
			err := f.s.Store.Read(context.Background(), func(tx store.Tx) (err error) {
				posted, _, err = tx.ListLedgerTransactions(context.Background(), tender.Scope{AccountID: f.loc, Mode: tender.ModeTest},
					tender.Page{Limit: 10}, tender.LedgerTransactionFilter{RootSourceID: piID})
				return err
			})
			if err != nil || !slices.ContainsFunc(posted, func(l *tender.LedgerTransaction) bool { return l.SourceID == payID }) {
				t.Errorf("ledger transactions of the order's intent: %v (%v), want the payment %s", posted, err, payID)
			}
			// A partial refund, then the rest.
			if r := f.s.Forward(t, "POST", "/payment_intents/"+piID+"/refunds", map[string]any{"amount": 500}); r.Status != 201 && r.Status != 200 {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			x = f.hl(t, "GET", "/payments/transactions/"+payID+"?"+f.q(""), nil, 200)
			if x["status"] != "partially_refunded" || x["amountRefunded"] != 5.0 {
				t.Errorf("after a partial refund: %v %v", x["status"], x["amountRefunded"])
			}
			if r := f.s.Forward(t, "POST", "/payment_intents/"+piID+"/refunds", map[string]any{}); r.Status != 201 && r.Status != 200 {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			got = f.hl(t, "GET", "/payments/orders/"+id+"?altId="+f.loc, nil, 200)
			if got["paymentStatus"] != "refunded" || got["status"] != "refunded" || got["amountRefunded"] != 25.0 {
				t.Errorf("order after the refunds: %v %v %v", got["paymentStatus"], got["status"], got["amountRefunded"])
			}
			list := f.hl(t, "GET", "/payments/transactions?"+f.q("paymentMode=test&entitySourceType=funnel"), nil, 200)
			if list["totalCount"] != 1.0 || list["data"].([]any)[0].(map[string]any)["status"] != "refunded" {
				t.Errorf("transactions list: %v", list)
			}
			var actions []string
			for _, n := range f.hl(t, "GET", "/payments/orders/"+id+"/notes?"+f.q(""), nil, 200)["data"].([]any) {
				actions = append(actions, n.(map[string]any)["action"].(string))
			}
			if want := []string{"created", "payment_received", "paid", "refunded", "refunded"}; !slices.Equal(actions, want) {
				t.Errorf("notes %v, want %v", actions, want)
			}
		})
	}
}

// TestTransactions lists payments of every origin: an order's, and a plain
// Forward payment of no order.
func TestTransactions(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	o := f.createOrder(t, func(b map[string]any) { b["liveMode"] = true })
	f.hl(t, "POST", "/payments/orders/"+o["_id"].(string)+"/record-payment", map[string]any{"altId": f.loc, "altType": "location", "mode": "bank_transfer", "amount": 5}, 200)
	ext := f.s.Forward(t, "POST", "/external_payments", map[string]any{
		"payment_intent": map[string]any{"amount": 1234, "currency": "USD", "description": "Counter sale"},
		"payment_method": map[string]any{"payment_method_type": "card", "card": map[string]any{"brand": "visa", "last_four_digits": "1111", "first_six_digits": "411111"},
			"billing_details": map[string]any{"name": "Walk In", "email": "walkin@example.com"}},
		"gateway_response": map[string]any{"auth_code": "A1"}})
	if ext.Status != 201 && ext.Status != 200 {
		t.Fatalf("external payment: %d %s", ext.Status, ext.Body)
	}
	list := f.hl(t, "GET", "/payments/transactions?"+f.q(""), nil, 200)
	if list["totalCount"] != 2.0 {
		t.Fatalf("transactions: %v", list)
	}
	plain := list["data"].([]any)[0].(map[string]any)
	if plain["entitySourceType"] != "external" || plain["paymentProviderType"] != "external" || plain["amount"] != 12.34 ||
		plain["contactName"] != "Walk In" || plain["liveMode"] != false || plain["entityId"] != nil {
		t.Errorf("plain Forward payment as a transaction: %v", plain)
	}
	manual := list["data"].([]any)[1].(map[string]any)
	if manual["paymentProviderType"] != "manual" || manual["paymentMethod"].(map[string]any)["type"] != "bank_transfer" || manual["liveMode"] != true {
		t.Errorf("recorded payment: %v", manual)
	}
	today := time.Now().UTC().Format("2006-01-02")
	for q, want := range map[string]float64{
		"paymentMode=live": 1, "paymentMode=test": 1, "entitySourceType=funnel": 1, "entitySourceSubType=two_step_order_form": 1,
		"entitySourceType=website": 0, "search=walk": 1, "search=JAMES": 1, "contactId=" + url.QueryEscape(o["contactId"].(string)): 1,
		"subscriptionId=sub_x": 0, "startAt=" + today: 2, "endAt=2020-01-01": 0, "startAt=" + today + "&endAt=" + today + "&paymentMode=live": 1,
		"limit=1&offset=1": 2, "altType=account&limit=0": 2,
	} {
		m := f.hl(t, "GET", "/payments/transactions?altId="+f.loc+"&altType=location&"+q, nil, 200)
		if strings.HasPrefix(q, "altType=account") {
			m = f.hl(t, "GET", "/payments/transactions?altId="+f.loc+"&"+q, nil, 200)
		}
		if m["totalCount"] != want {
			t.Errorf("?%s: totalCount %v, want %v", q, m["totalCount"], want)
		}
	}
	x := f.hl(t, "GET", "/payments/transactions/"+plain["_id"].(string)+"?"+f.q(""), nil, 200)
	if x["contactSnapshot"].(map[string]any)["email"] != "walkin@example.com" || x["markAsTest"] != true {
		t.Errorf("GET transaction: %v", x)
	}
	wantError(t, f.s.HighLevel(t, "GET", "/payments/transactions/pmt_nope?"+f.q(""), nil), 400, "Transaction not found")
	wantError(t, f.s.HighLevel(t, "GET", "/payments/transactions?altId="+f.loc, nil), 422, "altType")
	wantError(t, f.s.HighLevel(t, "GET", "/payments/transactions?"+f.q("limit=1000"), nil), 422, "limit")
}

// TestOrders_Refusals covers every route's scope, tenancy and unknown ids.
func TestOrders_Refusals(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	o := f.createOrder(t, nil)
	id := o["_id"].(string)
	subID := f.createOrder(t, func(b map[string]any) { b["items"] = []any{map[string]any{"priceId": f.club.ID, "qty": 1}} })["subscriptionIds"].([]any)[0].(string)
	f.hl(t, "POST", "/payments/orders/"+id+"/record-payment", map[string]any{"altId": f.loc, "altType": "location", "mode": "cash"}, 200)
	txID := f.hl(t, "GET", "/payments/transactions?"+f.q(""), nil, 200)["data"].([]any)[0].(map[string]any)["_id"].(string)

	ctx := context.Background()
	other, err := f.s.Accounts.CreateOrganization(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	foreign := other.HighLevel.LocationID
	none, err := f.s.Accounts.CreateHighLevelToken(ctx, f.loc, false, []string{"products.readonly"})
	if err != nil {
		t.Fatal(err)
	}
	type route struct {
		method, path string
		body         map[string]any
		scoped       bool
	}
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{"altId": f.loc, "altType": "location"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	ful := map[string]any{"items": []any{map[string]any{"priceId": f.hat.ID, "qty": 1}}, "trackings": []any{}, "notifyCustomer": false}
	routes := []route{
		{"POST", "/payments/orders", body(map[string]any{"contactId": "c1", "items": []any{map[string]any{"priceId": f.hat.ID, "qty": 1}}}), true},
		{"GET", "/payments/orders?altId=" + f.loc, nil, true},
		{"GET", "/payments/orders/" + id + "?altId=" + f.loc, nil, true},
		{"POST", "/payments/orders/" + id + "/record-payment", body(map[string]any{"mode": "cash"}), true},
		{"POST", "/payments/orders/" + id + "/fulfillments", body(ful), true},
		{"GET", "/payments/orders/" + id + "/fulfillments?" + f.q(""), nil, true},
		{"GET", "/payments/orders/" + id + "/notes?" + f.q(""), nil, false},
		{"GET", "/payments/transactions?" + f.q(""), nil, true},
		{"GET", "/payments/transactions/" + txID + "?" + f.q(""), nil, true},
		{"GET", "/payments/subscriptions?" + f.q(""), nil, true},
		{"GET", "/payments/subscriptions/" + subID + "?" + f.q(""), nil, true},
	}
	swap := func(s string) string { return strings.ReplaceAll(s, f.loc, foreign) }
	for _, rt := range routes {
		t.Run(rt.method+" "+strings.SplitN(rt.path, "?", 2)[0], func(t *testing.T) {
			if rt.scoped {
				wantError(t, f.s.HighLevelAs(t, none, rt.method, rt.path, rt.body), 401)
			}
			var fb map[string]any
			if rt.body != nil {
				fb = map[string]any{}
				for k, v := range rt.body {
					fb[k] = v
				}
				fb["altId"] = foreign
			}
			wantError(t, f.s.HighLevel(t, rt.method, swap(rt.path), fb), 403)
			wantError(t, f.s.HighLevelAs(t, "", rt.method, rt.path, rt.body), 401)
		})
	}
	// Unknown ids, and the other location's ids, are not found.
	otherOrder := "ord_" + strings.Repeat("0", 26)
	for _, p := range []string{
		"/payments/orders/" + otherOrder + "?altId=" + f.loc,
		"/payments/orders/" + otherOrder + "/fulfillments?" + f.q(""),
		"/payments/orders/" + otherOrder + "/notes?" + f.q(""),
	} {
		wantError(t, f.s.HighLevel(t, "GET", p, nil), 400, "Order not found")
	}
	wantError(t, f.s.HighLevel(t, "POST", "/payments/orders/"+otherOrder+"/record-payment", body(map[string]any{"mode": "cash"})), 400, "Order not found")
	wantError(t, f.s.HighLevel(t, "POST", "/payments/orders/"+otherOrder+"/record-payment", body(map[string]any{"mode": "cash", "amount": 1})), 400, "Order not found")
	wantError(t, f.s.HighLevel(t, "POST", "/payments/orders/"+otherOrder+"/fulfillments", body(ful)), 400, "Order not found")
	wantError(t, f.s.HighLevel(t, "GET", "/payments/subscriptions/sub_nope?"+f.q(""), nil), 400, "Subscription not found")
	// Another organization's location token cannot read this location's order by id either.
	r := f.s.HighLevelAs(t, other.HighLevel.Token, "GET", "/payments/orders/"+id+"?altId="+foreign, nil)
	wantError(t, r, 400, "Order not found")
	wantError(t, f.s.HighLevel(t, "POST", "/payments/orders", "not json"), 422)
	wantError(t, f.s.HighLevel(t, "POST", "/payments/orders", ""), 422, "body")
}

// TestOrders_Webhook renders an order event as HighLevel's OrderCreate.
func TestOrders_Webhook(t *testing.T) {
	t.Parallel()
	d := &highlevel.WebhookDialect{}
	if d.EventName(tender.EventOrderCreated) != "OrderCreate" || d.EventName(tender.EventOrderUpdated) != "OrderStatusUpdate" {
		t.Fatalf("event names %q %q", d.EventName(tender.EventOrderCreated), d.EventName(tender.EventOrderUpdated))
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := &tender.Order{ID: "ord_1", AccountID: "acct_1", Mode: tender.ModeLive, Status: tender.OrderPending, PaymentStatus: tender.PaymentStatusUnpaid,
		FulfillmentStatus: tender.Unfulfilled, Currency: "USD", Subtotal: 15010, Amount: 15010, Contact: tender.Contact{ID: "c1", Name: "Ada"},
		Items: []tender.OrderItem{{PriceID: "price_1", Name: "Hat", Qty: 1, UnitAmount: 15010, Amount: 15010}}, Source: tender.OrderSource{Type: "funnel", ID: "f1"},
		CreatedAt: now, UpdatedAt: now}
	snap, _ := json.Marshal(o)
	body, err := d.Payload(&tender.Event{ID: "evt_1", AccountID: "acct_1", Mode: tender.ModeLive, Type: tender.EventOrderCreated, ObjectType: "order",
		ObjectID: o.ID, Object: snap, CreatedAt: now}, "OrderCreate")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"type":"OrderCreate"`, `"locationId":"acct_1"`, `"amount":150.1`, `"_id":"ord_1"`, `"status":"pending"`, `"liveMode":true`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("payload lacks %s: %s", want, body)
		}
	}
}

// TestOrders_ConcurrentRecordPayments records payments of one order from
// several goroutines at once: together they would overpay it, so some are
// refused, and the order never collects more than its amount.
func TestOrders_ConcurrentRecordPayments(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f := newOrderFixture(t, testserver.Options{Postgres: engine == "postgres"})
			o := f.createOrder(t, nil) // 25.00
			path := "/payments/orders/" + o["_id"].(string) + "/record-payment"
			const n = 8 // 8 × 5.00 = 40.00 > 25.00
			codes := make(chan int, n)
			for range n {
				go func() {
					r := f.s.HighLevel(t, "POST", path, map[string]any{"altId": f.loc, "altType": "location", "mode": "cash", "amount": 5})
					codes <- r.Status
				}()
			}
			ok := 0
			for range n {
				switch c := <-codes; c {
				case 200:
					ok++
				case 422:
				default:
					t.Errorf("record-payment answered %d", c)
				}
			}
			if ok != 5 {
				t.Errorf("%d payments recorded, want 5", ok)
			}
			got := f.hl(t, "GET", "/payments/orders/"+o["_id"].(string)+"?altId="+f.loc, nil, 200)
			if got["amountPaid"] != 25.0 || got["paymentStatus"] != "paid" {
				t.Errorf("order after concurrent payments: paid %v, %v", got["amountPaid"], got["paymentStatus"])
			}
			txns := f.hl(t, "GET", "/payments/transactions?"+f.q("entityId="+o["_id"].(string)), nil, 200)
			if txns["totalCount"] != 5.0 {
				t.Errorf("transactions of the order: %v, want 5", txns["totalCount"])
			}
		})
	}
}

// TestOrders_DeclinedForwardPayment: a declined card leaves the order
// unpaid and is a failed transaction of it.
func TestOrders_DeclinedForwardPayment(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	o := f.createOrder(t, nil)
	pm := f.s.Forward(t, "POST", "/payment_methods", map[string]any{"payment_method_type": "card",
		"card": map[string]any{"number": "4000000000000002", "exp_month": 12, "exp_year": time.Now().Year() + 3}})
	if pm.Status != 201 {
		t.Fatalf("payment method: %d %s", pm.Status, pm.Body)
	}
	pay := f.s.Forward(t, "POST", "/payment_intents/"+o["paymentIntentId"].(string)+"/payments", map[string]any{"payment_method_id": pm.JSON(t)["id"]})
	if pay.Status >= 500 {
		t.Fatalf("pay: %d %s", pay.Status, pay.Body)
	}
	got := f.hl(t, "GET", "/payments/orders/"+o["_id"].(string)+"?altId="+f.loc, nil, 200)
	if got["paymentStatus"] != "unpaid" || got["status"] != "pending" {
		t.Errorf("order after a decline: %v %v", got["paymentStatus"], got["status"])
	}
	txns := f.hl(t, "GET", "/payments/transactions?"+f.q("entityId="+o["_id"].(string)), nil, 200)
	if txns["totalCount"] != 1.0 || txns["data"].([]any)[0].(map[string]any)["status"] != "failed" {
		t.Errorf("transactions: %v", txns)
	}
}

// TestSubscriptions_List covers the subscription list's filters and bad
// input.
func TestSubscriptions_List(t *testing.T) {
	t.Parallel()
	f := newOrderFixture(t, testserver.Options{})
	var ids, orders []string
	for i := range 3 {
		o := f.createOrder(t, func(b map[string]any) {
			b["items"] = []any{map[string]any{"priceId": f.club.ID, "qty": 1}}
			b["contact"] = map[string]any{"name": fmt.Sprintf("Member %d", i), "email": fmt.Sprintf("m%d@example.com", i)}
			b["liveMode"] = i == 2
		})
		orders = append(orders, o["_id"].(string))
		ids = append(ids, o["subscriptionIds"].([]any)[0].(string))
	}
	count := func(q string) float64 {
		t.Helper()
		return num(t, f.hl(t, "GET", "/payments/subscriptions?"+f.q(q), nil, 200), "totalCount")
	}
	for q, want := range map[string]float64{
		"": 3, "id=" + ids[1]: 1, "entityId=" + orders[2]: 1, "paymentMode=live": 1, "paymentMode=test": 2,
		"search=member%201": 1, "entitySourceType=funnel": 3, "entitySourceType=website": 0, "endAt=2020-01-01": 0, "limit=1": 3,
	} {
		if got := count(q); got != want {
			t.Errorf("?%s: totalCount %v, want %v", q, got, want)
		}
	}
	sub := f.hl(t, "GET", "/payments/subscriptions?"+f.q("id="+ids[0]), nil, 200)["data"].([]any)[0].(map[string]any)
	if got := count("contactId=" + url.QueryEscape(sub["contactId"].(string))); got != 1 {
		t.Errorf("contactId: %v", got)
	}
	if sub["status"] != "incomplete" || sub["subscriptionId"] != ids[0] || sub["entitySourceType"] != "funnel" || sub["amount"] != 9.99 {
		t.Errorf("subscription: %v", sub)
	}
	wantError(t, f.s.HighLevel(t, "GET", "/payments/subscriptions?altId="+f.loc, nil), 422, "altType")
	wantError(t, f.s.HighLevel(t, "GET", "/payments/subscriptions?"+f.q("getPaymentsCollectedCount=maybe"), nil), 422, "getPaymentsCollectedCount")
	wantError(t, f.s.HighLevel(t, "GET", "/payments/subscriptions?"+f.q("offset=x"), nil), 422, "offset")
}
