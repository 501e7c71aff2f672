package highlevel_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/server"
)

// subFlow is a server with a custom provider that takes subscription
// schedules, and a catalog: a plain monthly price (20 USD) and a monthly
// price with a 5 USD setup fee and a 14-day trial (9.99 USD).
type subFlow struct {
	s             *testserver.Server
	fake          *testserver.FakeProvider
	loc           string
	plain, trial  string // price ids
	trialSubAmt   float64
	productClubID string
}

func newSubFlow(t *testing.T, pg bool) *subFlow {
	t.Helper()
	s := testserver.Start(t, testserver.Options{Postgres: pg, Config: func(c *server.Config) { c.ProviderTimeout = time.Second }})
	f := &subFlow{s: s, loc: s.Boot.HighLevel.LocationID, fake: testserver.NewFakeProvider(t, testAPIKey, liveAPIKey)}
	connectProvider(t, s, f.fake.URL, liveAPIKey, testAPIKey)
	prod := hlWant(t, s.HighLevel(t, "POST", "/products/", map[string]any{"name": "Club", "locationId": f.loc, "productType": "SERVICE"}), 201)
	f.productClubID = prod["_id"].(string)
	price := func(body map[string]any) string {
		b := map[string]any{"name": "Monthly", "type": "recurring", "currency": "USD", "locationId": f.loc,
			"recurring": map[string]any{"interval": "month", "intervalCount": 1}}
		for k, v := range body {
			b[k] = v
		}
		return hlWant(t, s.HighLevel(t, "POST", "/products/"+f.productClubID+"/price", b), 201)["_id"].(string)
	}
	f.plain = price(map[string]any{"amount": 20})
	f.trial = price(map[string]any{"name": "Trial", "amount": 9.99, "setupFee": 5, "trialPeriod": 14})
	return f
}

func (f *subFlow) order(t *testing.T, priceID string, qty int, email string) map[string]any {
	t.Helper()
	return hlWant(t, f.s.HighLevel(t, "POST", "/payments/orders", map[string]any{"altId": f.loc, "altType": "location",
		"contact": map[string]any{"name": "Ann " + email, "email": email}, "items": []any{map[string]any{"priceId": priceID, "qty": qty}}}), 201)
}

func (f *subFlow) body(kv ...any) map[string]any {
	return edit(map[string]any{"altId": f.loc, "altType": "location"}, kv...)
}

// waitSub polls a subscription until ok accepts it.
func (f *subFlow) waitSub(t *testing.T, id string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sub := hlWant(t, f.s.HighLevel(t, "GET", "/payments/subscriptions/"+id+"?altType=location&altId="+f.loc, nil), 200)
		if ok(sub) {
			return sub
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription %s: %v", id, sub)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestHighLevel_ProviderSubscriptions(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "SQLite"
		if pg {
			name = "Postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testProviderSubscriptions(t, pg)
		})
	}
}

func testProviderSubscriptions(t *testing.T, pg bool) {
	f := newSubFlow(t, pg)
	s := f.s
	f.fake.SubscriptionStatus = func(q testserver.ProviderQuery) string {
		if q["amount"] == 19.98 { // the trial subscription's periods
			return "trialing"
		}
		return "active"
	}

	// An order of the plain monthly price: 20 USD due.
	o := f.order(t, f.plain, 1, "ann@example.com")
	orderID, contactID := o["_id"].(string), o["contactId"].(string)
	subID := o["subscriptionIds"].([]any)[0].(string)

	// The contact's saved methods, from the provider.
	q := "/payments/custom-provider/payment-methods?locationId=" + f.loc + "&contactId=" + url.QueryEscape(contactID)
	list := hlWant(t, s.HighLevel(t, "GET", q, nil), 200)
	pms := list["paymentMethods"].([]any)
	if len(pms) != 1 || pms[0].(map[string]any)["id"] != "pm_fake_1" || list["traceId"] == "" {
		t.Fatalf("payment methods: %v", list)
	}
	if lq := f.fake.QueriesOf("list_payment_methods"); len(lq) != 1 || lq[0]["contactId"] != contactID || lq[0]["apiKey"] != testAPIKey ||
		lq[0]["locationId"] != f.loc {
		t.Errorf("list_payment_methods queries: %v", lq)
	}

	// Charging the order off-session with it: charge_payment carries the
	// provider's method id and the order's contact.
	txn := hlWant(t, s.HighLevel(t, "POST", "/payments/orders/"+orderID+"/charge", f.body("paymentMethodId", "pm_fake_1")), 200)
	if txn["status"] != "succeeded" || txn["entityId"] != orderID || txn["amount"] != 20.0 || txn["subscriptionId"] != subID {
		t.Fatalf("charge: %v", txn)
	}
	if pp, _ := txn["paymentProvider"].(map[string]any); pp["type"] != "custom" {
		t.Errorf("charge's provider: %v", txn["paymentProvider"])
	}
	charges := f.fake.QueriesOf("charge_payment")
	if len(charges) != 1 {
		t.Fatalf("%d charge_payment queries", len(charges))
	}
	for k, want := range map[string]any{"paymentMethodId": "pm_fake_1", "contactId": contactID, "transactionId": txn["_id"], "amount": 20.0, "currency": "USD"} {
		if charges[0][k] != want {
			t.Errorf("charge_payment %s = %v, want %v", k, charges[0][k], want)
		}
	}
	if got := hlWant(t, s.HighLevel(t, "GET", "/payments/orders/"+orderID+"?altId="+f.loc, nil), 200); got["paymentStatus"] != "paid" {
		t.Errorf("order after the charge: %v", got["paymentStatus"])
	}
	// Paid through the provider, which takes schedules: it runs the
	// subscription (create_subscription), whose id tender keeps.
	sub := f.waitSub(t, subID, func(m map[string]any) bool { return m["subscriptionId"] == "sub_fake_"+subID })
	if sub["status"] != "active" || sub["paymentProviderType"] != nil && sub["paymentProvider"].(map[string]any)["type"] != "custom" {
		t.Errorf("subscription at the provider: %v", sub)
	}
	cs := f.fake.QueriesOf("create_subscription")
	if len(cs) != 1 {
		t.Fatalf("%d create_subscription queries", len(cs))
	}
	next := time.Now().UTC().AddDate(0, 1, 0).Format("2006-01-02")
	for k, want := range map[string]any{"subscriptionId": subID, "transactionId": txn["_id"], "contactId": contactID, "paymentMethodId": "pm_fake_1",
		"amount": 20.0, "currency": "USD", "startDate": next} {
		if cs[0][k] != want {
			t.Errorf("create_subscription %s = %v, want %v", k, cs[0][k], want)
		}
	}
	if rs, _ := cs[0]["recurringSchedule"].(map[string]any); rs["interval"] != "month" || rs["intervalCount"] != 1.0 {
		t.Errorf("recurringSchedule: %v", cs[0]["recurringSchedule"])
	}

	// Cancelling: the provider is told first, then the subscription is
	// canceled; a second cancel is refused.
	f.fake.RefuseSubscriptions.Store(true)
	hlWantError(t, s.HighLevel(t, "POST", "/payments/subscriptions/"+subID+"/cancel", f.body()), http.StatusBadGateway, "refused to cancel", "subscription refused")
	if got := f.waitSub(t, subID, func(map[string]any) bool { return true }); got["status"] != "active" {
		t.Errorf("after a refused cancel: %v", got["status"])
	}
	f.fake.RefuseSubscriptions.Store(false)
	can := hlWant(t, s.HighLevel(t, "POST", "/payments/subscriptions/"+subID+"/cancel", f.body()), 200)
	if can["status"] != "canceled" || can["canceledAt"] == nil {
		t.Errorf("canceled: %v", can)
	}
	cq := f.fake.QueriesOf("cancel_subscription")
	if last := cq[len(cq)-1]; last["subscriptionId"] != subID || last["providerSubscriptionId"] != "sub_fake_"+subID || last["contactId"] != contactID {
		t.Errorf("cancel_subscription: %v", last)
	}
	hlWantError(t, s.HighLevel(t, "POST", "/payments/subscriptions/"+subID+"/cancel", f.body()), 422, "already canceled")

	// The trial price with a setup fee, two of them: the setup fees are
	// charged now, the subscription starts trialing for 14 days.
	o2 := f.order(t, f.trial, 2, "bob@example.com")
	if o2["amount"] != 10.0 || o2["amountSummary"].(map[string]any)["subtotal"] != 10.0 {
		t.Fatalf("trial order: amount %v, summary %v", o2["amount"], o2["amountSummary"])
	}
	sub2 := o2["subscriptionIds"].([]any)[0].(string)
	txn2 := hlWant(t, s.HighLevel(t, "POST", "/payments/orders/"+o2["_id"].(string)+"/charge", f.body("paymentMethodId", "pm_fake_1")), 200)
	if txn2["amount"] != 10.0 || txn2["status"] != "succeeded" {
		t.Fatalf("trial order's charge: %v", txn2)
	}
	got2 := f.waitSub(t, sub2, func(m map[string]any) bool { return m["subscriptionId"] == "sub_fake_"+sub2 })
	snap := got2["subscriptionSnapshot"].(map[string]any)
	trialEnd := time.Now().UTC().AddDate(0, 0, 14).Format("2006-01-02")
	if got2["status"] != "trialing" || got2["amount"] != 19.98 || snap["trialDays"] != 14.0 || !strings.HasPrefix(snap["trialEnd"].(string), trialEnd) {
		t.Errorf("trial subscription: status %v amount %v snapshot %v", got2["status"], got2["amount"], snap)
	}
	if cs := f.fake.QueriesOf("create_subscription"); cs[len(cs)-1]["startDate"] != trialEnd || cs[len(cs)-1]["amount"] != 19.98 {
		t.Errorf("trial create_subscription: %v", cs[len(cs)-1])
	}

	// A payment of the subscription (an intent referencing it), through
	// Forward: a transaction of entity type subscription, counted, and its
	// charge_payment names the subscription's contact.
	pm := fwdMethod(t, s)
	pi := fwdWant(t, s.Forward(t, "POST", "/payment_intents", map[string]any{"amount": 1998, "reference_id": sub2}), http.StatusCreated)
	pay := fwdWant(t, s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/payments", map[string]any{"payment_method_id": pm}), http.StatusCreated)
	st := hlWant(t, s.HighLevel(t, "GET", "/payments/transactions/"+pay["id"].(string)+"?altType=location&altId="+f.loc, nil), 200)
	if st["entityType"] != "subscription" || st["entityId"] != sub2 || st["subscriptionId"] != sub2 || st["contactId"] != o2["contactId"] {
		t.Errorf("subscription payment's transaction: %v", st)
	}
	if c := f.fake.QueriesOf("charge_payment"); c[len(c)-1]["contactId"] != o2["contactId"] {
		t.Errorf("subscription payment's charge_payment contactId: %v", c[len(c)-1]["contactId"])
	}
	lst := hlWant(t, s.HighLevel(t, "GET", "/payments/subscriptions?altType=location&altId="+f.loc+"&id="+sub2+"&getPaymentsCollectedCount=true", nil), 200)
	if d := lst["data"].([]any); len(d) != 1 || d[0].(map[string]any)["paymentsCollectedCount"] != 2.0 {
		t.Errorf("payments collected: %v", lst["data"])
	}
	byEntity := hlWant(t, s.HighLevel(t, "GET", "/payments/transactions?altType=location&altId="+f.loc+"&entityId="+sub2, nil), 200)
	if byEntity["totalCount"] != 1.0 {
		t.Errorf("transactions of the subscription entity: %v", byEntity["totalCount"])
	}

	// An order paid through Forward carries its contact to the provider.
	o3 := f.order(t, f.plain, 1, "cy@example.com")
	fwdWant(t, s.Forward(t, "POST", "/payment_intents/"+o3["paymentIntentId"].(string)+"/payments", map[string]any{"payment_method_id": pm}), http.StatusCreated)
	if c := f.fake.QueriesOf("charge_payment"); c[len(c)-1]["contactId"] != o3["contactId"] {
		t.Errorf("order payment through Forward: contactId %v, want %v", c[len(c)-1]["contactId"], o3["contactId"])
	}
	sub3 := o3["subscriptionIds"].([]any)[0].(string)
	f.waitSub(t, sub3, func(m map[string]any) bool { return m["subscriptionId"] == "sub_fake_"+sub3 })

	// A provider that refuses to start a subscription leaves it unpaid,
	// with its message.
	f.fake.RefuseSubscriptions.Store(true)
	o4 := f.order(t, f.plain, 1, "dee@example.com")
	hlWant(t, s.HighLevel(t, "POST", "/payments/orders/"+o4["_id"].(string)+"/charge", f.body("paymentMethodId", "pm_fake_1")), 200)
	sub4 := o4["subscriptionIds"].([]any)[0].(string)
	got4 := f.waitSub(t, sub4, func(m map[string]any) bool { return m["status"] == "unpaid" })
	if got4["subscriptionSnapshot"].(map[string]any)["providerMessage"] != "subscription refused" {
		t.Errorf("refused subscription: %v", got4["subscriptionSnapshot"])
	}
	// Cancelling one the provider never started asks it nothing.
	n := len(f.fake.QueriesOf("cancel_subscription"))
	hlWant(t, s.HighLevel(t, "POST", "/payments/subscriptions/"+sub4+"/cancel", f.body()), 200)
	if len(f.fake.QueriesOf("cancel_subscription")) != n {
		t.Errorf("cancel_subscription sent for a subscription the provider does not run")
	}
	f.fake.RefuseSubscriptions.Store(false)

	// A provider without subscription schedules: tender keeps the
	// subscription (paid through the provider), nothing is created there.
	hlWant(t, s.HighLevel(t, "PUT", "/payments/custom-provider/capabilities", map[string]any{"locationId": f.loc, "supportsSubscriptionSchedules": false}), 200)
	n = len(f.fake.QueriesOf("create_subscription"))
	o5 := f.order(t, f.plain, 1, "eve@example.com")
	hlWant(t, s.HighLevel(t, "POST", "/payments/orders/"+o5["_id"].(string)+"/charge", f.body("paymentMethodId", "pm_fake_1")), 200)
	sub5 := o5["subscriptionIds"].([]any)[0].(string)
	got5 := f.waitSub(t, sub5, func(m map[string]any) bool { return m["status"] == "active" })
	time.Sleep(200 * time.Millisecond)
	if got5["subscriptionId"] != sub5 || got5["paymentProvider"].(map[string]any)["type"] != "custom" || len(f.fake.QueriesOf("create_subscription")) != n {
		t.Errorf("subscription without schedules: %v", got5)
	}
}

func TestHighLevel_ProviderSubscriptionsRefusals(t *testing.T) {
	providerEngines(t, func(t *testing.T, s *testserver.Server) {
		loc := s.Boot.HighLevel.LocationID
		fake := testserver.NewFakeProvider(t, testAPIKey, liveAPIKey)
		fake.MethodsOf = func(contactID string) []map[string]any {
			return []map[string]any{{"id": "pm_mine", "type": "card", "title": "Mastercard", "subTitle": "**** 5454", "expiry": "01/31"}}
		}
		prod := hlWant(t, s.HighLevel(t, "POST", "/products/", map[string]any{"name": "Hat", "locationId": loc, "productType": "PHYSICAL"}), 201)
		price := hlWant(t, s.HighLevel(t, "POST", "/products/"+prod["_id"].(string)+"/price", map[string]any{"name": "Hat", "type": "one_time",
			"currency": "USD", "amount": 12.5, "locationId": loc}), 201)
		o := hlWant(t, s.HighLevel(t, "POST", "/payments/orders", map[string]any{"altId": loc, "altType": "location",
			"contact": map[string]any{"name": "Ann", "email": "ann@example.com"}, "items": []any{map[string]any{"priceId": price["_id"], "qty": 1}}}), 201)
		orderID := o["_id"].(string)
		body := func(kv ...any) map[string]any {
			return edit(map[string]any{"altId": loc, "altType": "location"}, kv...)
		}
		charge := "/payments/orders/" + orderID + "/charge"
		methods := "/payments/custom-provider/payment-methods?locationId=" + loc + "&contactId=c1"

		// No provider connected yet.
		hlWantError(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_mine")), 422, "paymentMethodId", "no custom provider connected")
		hlWantError(t, s.HighLevel(t, "GET", methods, nil), 422, "no custom provider connected")
		connectProvider(t, s, fake.URL, liveAPIKey, testAPIKey)

		// Bad input.
		hlWantError(t, s.HighLevel(t, "POST", charge, body()), 422, "paymentMethodId")
		hlWantError(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_mine", "amount", "ten")), 422, "amount")
		hlWantError(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_mine", "amount", 13)), 422, "amount", "12.50")
		hlWantError(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_other")), 422, "paymentMethodId", "not a payment method")
		hlWantError(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_mine", "altType", "company")), 422, "altType")
		hlWantError(t, s.HighLevel(t, "POST", "/payments/orders/ord_nope/charge", body("paymentMethodId", "pm_mine")), 400, "Order not found")
		hlWantError(t, s.HighLevel(t, "GET", "/payments/custom-provider/payment-methods?locationId="+loc, nil), 422, "contactId")
		hlWantError(t, s.HighLevel(t, "GET", methods+"&liveMode=maybe", nil), 422, "liveMode")
		hlWantError(t, s.HighLevel(t, "POST", "/payments/subscriptions/sub_nope/cancel", body()), 400, "Subscription not found")
		hlWantError(t, s.HighLevel(t, "POST", "/payments/subscriptions/sub_nope/cancel", map[string]any{"altId": loc}), 422, "altType")
		if len(fake.QueriesOf("charge_payment")) != 0 {
			t.Errorf("a refused request charged")
		}

		// Scopes and tenancy.
		read := token(t, s, false, "", "payments/orders.readonly", "payments/subscriptions.readonly")
		hlWantError(t, s.HighLevelAs(t, read, "POST", charge, body("paymentMethodId", "pm_mine")), 401, "scope")
		hlWantError(t, s.HighLevelAs(t, read, "POST", "/payments/subscriptions/sub_nope/cancel", body()), 401, "scope")
		hlWantError(t, s.HighLevelAs(t, read, "GET", methods, nil), 401, "scope")
		other := foreignLocation(t, s)
		hlWantError(t, s.HighLevel(t, "POST", charge, map[string]any{"altId": other, "altType": "location", "paymentMethodId": "pm_mine"}), 403)
		hlWantError(t, s.HighLevel(t, "POST", "/payments/subscriptions/sub_nope/cancel", map[string]any{"altId": other, "altType": "location"}), 403)
		hlWantError(t, s.HighLevel(t, "GET", "/payments/custom-provider/payment-methods?locationId="+other+"&contactId=c1", nil), 403)

		// The provider's method, charged partly then in full: the order
		// follows, and the method is shown by its brand and last four.
		got := hlWant(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_mine", "amount", 2.5)), 200)
		if got["amount"] != 2.5 || got["status"] != "succeeded" {
			t.Fatalf("partial charge: %v", got)
		}
		if pm, _ := got["paymentMethod"].(map[string]any); pm == nil || !strings.Contains(fmt.Sprint(pm), "5454") {
			t.Errorf("payment method of the charge: %v", got["paymentMethod"])
		}
		hlWant(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_mine")), 200)
		ord := hlWant(t, s.HighLevel(t, "GET", "/payments/orders/"+orderID+"?altId="+loc, nil), 200)
		if ord["paymentStatus"] != "paid" || ord["amountPaid"] != 12.5 {
			t.Errorf("order after two charges: %v %v", ord["paymentStatus"], ord["amountPaid"])
		}
		if c := fake.QueriesOf("charge_payment"); len(c) != 2 || c[1]["amount"] != 10.0 || c[0]["paymentMethodId"] != "pm_mine" {
			t.Errorf("charges: %v", c)
		}
		hlWantError(t, s.HighLevel(t, "POST", charge, body("paymentMethodId", "pm_mine")), 422, "nothing due")
	})
}

// TestOrders_SetupFeesAndTrials: without a custom provider, a trial price
// alone costs nothing now (the order is paid at once, its subscription
// trialing), and a setup fee is charged with the first period; the coupon
// discounts the period, not the fee, and its use is counted.
func TestOrders_SetupFeesAndTrials(t *testing.T) {
	providerEngines(t, func(t *testing.T, s *testserver.Server) {
		loc := s.Boot.HighLevel.LocationID
		prod := hlWant(t, s.HighLevel(t, "POST", "/products/", map[string]any{"name": "Gym", "locationId": loc, "productType": "SERVICE"}), 201)
		price := func(body map[string]any) string {
			b := edit(map[string]any{"name": "Monthly", "type": "recurring", "currency": "USD", "locationId": loc,
				"recurring": map[string]any{"interval": "month", "intervalCount": 1}})
			for k, v := range body {
				b[k] = v
			}
			return hlWant(t, s.HighLevel(t, "POST", "/products/"+prod["_id"].(string)+"/price", b), 201)["_id"].(string)
		}
		trialOnly := price(map[string]any{"amount": 30, "trialPeriod": 7, "totalCycles": 12})
		withFee := price(map[string]any{"name": "With fee", "amount": 9.99, "setupFee": 5})
		hlWant(t, s.HighLevel(t, "POST", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "name": "Ten", "code": "TEN",
			"discountType": "percentage", "discountValue": 10, "startDate": "2020-01-01"}), 201)
		order := func(priceID, coupon string) map[string]any {
			b := map[string]any{"altId": loc, "altType": "location", "contact": map[string]any{"name": "Ann", "email": "ann@example.com"},
				"items": []any{map[string]any{"priceId": priceID, "qty": 1}}}
			if coupon != "" {
				b["couponCode"] = coupon
			}
			return hlWant(t, s.HighLevel(t, "POST", "/payments/orders", b), 201)
		}
		sub := func(id string) map[string]any {
			return hlWant(t, s.HighLevel(t, "GET", "/payments/subscriptions/"+id+"?altType=location&altId="+loc, nil), 200)
		}

		o := order(trialOnly, "")
		if o["amount"] != 0.0 || o["paymentStatus"] != "paid" || o["paymentIntentId"] != nil {
			t.Errorf("trial order: amount %v, paymentStatus %v, intent %v", o["amount"], o["paymentStatus"], o["paymentIntentId"])
		}
		got := sub(o["subscriptionIds"].([]any)[0].(string))
		snap := got["subscriptionSnapshot"].(map[string]any)
		if got["status"] != "trialing" || got["amount"] != 30.0 || snap["trialDays"] != 7.0 || snap["totalCycles"] != 12.0 ||
			snap["trialEnd"] != snap["currentPeriodEnd"] || !strings.HasPrefix(snap["trialEnd"].(string), time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")) {
			t.Errorf("trialing subscription: %v %v %v", got["status"], got["amount"], snap)
		}

		o2 := order(withFee, "TEN")
		sum := o2["amountSummary"].(map[string]any)
		if sum["subtotal"] != 14.99 || sum["discount"] != 1.0 || o2["amount"] != 13.99 {
			t.Errorf("order with a setup fee and a coupon: amount %v, summary %v", o2["amount"], sum)
		}
		subID := o2["subscriptionIds"].([]any)[0].(string)
		if got := sub(subID); got["status"] != "incomplete" || got["amount"] != 8.99 {
			t.Errorf("before payment: %v %v", got["status"], got["amount"])
		}
		hlWant(t, s.HighLevel(t, "POST", "/payments/orders/"+o2["_id"].(string)+"/record-payment",
			map[string]any{"altId": loc, "altType": "location", "mode": "cash"}), 200)
		if got := sub(subID); got["status"] != "active" || got["subscriptionSnapshot"].(map[string]any)["trialEnd"] != nil {
			t.Errorf("after payment: %v", got)
		}
		c := hlWant(t, s.HighLevel(t, "GET", "/payments/coupon?altId="+loc+"&altType=location&code=TEN", nil), 200)
		if c["usageCount"] != 1.0 {
			t.Errorf("coupon usage: %v", c["usageCount"])
		}
	})
}
