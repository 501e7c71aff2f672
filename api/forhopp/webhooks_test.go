package forhopp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api/forhopp"
	"github.com/tenderpay/tender/catalog"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/server"
)

// receiver keeps every request it gets.
type receiver struct {
	mu  sync.Mutex
	got []received
	srv *httptest.Server
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), b})
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// verifySignature checks a forhopppay-signature header as forhopp documents
// the scheme, written here from the description rather than with tender's
// signer: "t=<unix seconds>,v1=<hex HMAC-SHA256 keyed with the secret over
// t + "." + body>", the time within five minutes.
func verifySignature(t *testing.T, secret string, r received) {
	t.Helper()
	h := r.header.Get("forhopppay-signature")
	var ts, v1 string
	for _, part := range strings.Split(h, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || v1 == "" {
		t.Fatalf("forhopppay-signature %q: no t or v1", h)
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		t.Errorf("signature time %s is %s away", ts, d)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(r.body)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(v1)) {
		t.Errorf("v1 %s does not verify (want %s) for %s", v1, want, r.body)
	}
}

// events waits until rc holds n deliveries, verifies each, and returns
// their bodies.
func events(t *testing.T, rc *receiver, secret string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.requests()) < n {
		if time.Now().After(deadline) {
			var types []string
			for _, r := range rc.requests() {
				types = append(types, string(r.body))
			}
			t.Fatalf("got %d deliveries, want %d:\n%s", len(rc.requests()), n, strings.Join(types, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out []map[string]any
	for _, r := range rc.requests() {
		verifySignature(t, secret, r)
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// ofType returns the bodies of type typ whose charge is chargeID.
func ofType(bodies []map[string]any, typ, chargeID string) []map[string]any {
	var out []map[string]any
	for _, b := range bodies {
		if d, _ := b["data"].(map[string]any); b["type"] == typ && (chargeID == "" || d["id"] == chargeID) {
			out = append(out, b)
		}
	}
	return out
}

func card(number string) map[string]any {
	return map[string]any{"payment_method_type": "card", "card": map[string]any{
		"number": number, "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvv": "123"},
		"billing_details": map[string]any{"name": "Ada Buyer", "email": "ada@example.com",
			"address": map[string]any{"line1": "1 Main St", "postal_code": "94110", "country": "US"}}}
}

func want(t *testing.T, r *testserver.Response, code int) map[string]any {
	t.Helper()
	if r.Status != code {
		t.Fatalf("%s %s: %d, want %d: %s", r.Request.Method, r.Request.URL.Path, r.Status, code, r.Body)
	}
	return r.JSON(t)
}

// pay makes a Forward payment intent (capture or not) and pays it with a
// new card; it returns the intent's id.
func pay(t *testing.T, s *testserver.Server, number string, amount int, capture bool, extra map[string]any) string {
	t.Helper()
	pm := want(t, s.Forward(t, "POST", "/payment_methods", card(number)), 201)
	body := map[string]any{"amount": amount, "capture": capture}
	for k, v := range extra {
		body[k] = v
	}
	pi := want(t, s.Forward(t, "POST", "/payment_intents", body), 201)
	id := pi["id"].(string)
	want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": pm["id"]}), 201)
	return id
}

func TestWebhooks(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "SQLite"
		if pg {
			name = "Postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := testserver.Start(t, testserver.Options{Postgres: pg, Config: func(c *server.Config) {
				c.SimDisputeDelay = 50 * time.Millisecond
			}})
			testWebhooks(t, s)
		})
	}
}

// testWebhooks makes forhopp endpoints as `tender webhooks endpoints
// --dialect forhopp` does (the notify service over the server's store),
// pays, captures, refunds and disputes through the Forward API, and checks
// what forhopp receivers get.
func testWebhooks(t *testing.T, s *testserver.Server) {
	ctx := context.Background()
	sc := tender.Scope{OrganizationID: s.Boot.OrganizationID, AccountID: s.AccountID, Mode: tender.ModeTest}
	d := forhopp.NewWebhookDialect()
	all, refunds, live := newReceiver(t), newReceiver(t), newReceiver(t)
	mk := func(sc tender.Scope, rc *receiver, events ...string) string {
		t.Helper()
		c, err := s.Server.Notify.Create(ctx, sc, d, notify.EndpointParams{URL: rc.srv.URL + "/forhopp", Events: events})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.Secret, "fhwh_") || c.Endpoint.Dialect != "forhopp" {
			t.Fatalf("endpoint: %+v %q", c.Endpoint, c.Secret)
		}
		return c.Secret
	}
	secret := mk(sc, all, "*")
	refundSecret := mk(sc, refunds, "charge.refunded")
	liveSC := sc
	liveSC.Mode = tender.ModeLive
	mk(liveSC, live, "*")
	if _, err := s.Server.Notify.Create(ctx, sc, d, notify.EndpointParams{URL: all.srv.URL, Events: []string{"v2.payment.captured"}}); tender.ErrorCode(err) != tender.EINVALID {
		t.Fatalf("a Forward event name on a forhopp endpoint: %v", err)
	}

	// Paid at once, then partly refunded.
	paid := pay(t, s, "4242424242424242", 4200, true, map[string]any{"description": "Order 7", "user_fields": map[string]any{"order": "7"}})
	want(t, s.Forward(t, "POST", "/payment_intents/"+paid+"/refunds", map[string]any{"amount": 1000}), 201)
	// Authorized, then captured.
	held := pay(t, s, "4242424242424242", 3000, false, nil)
	want(t, s.Forward(t, "POST", "/payment_intents/"+held+"/capture", nil), 200)
	// Declined.
	declined := pm(t, s, "4000000000000002")
	// Paid, then disputed by the card holder.
	disputed := pay(t, s, "4000000000000259", 5000, true, nil)

	// completed ×2 (paid, disputed), refunded, captured, failed, disputed.
	bodies := events(t, all, secret, 6)
	ch := forhopp.ChargeID
	for _, b := range bodies {
		if b["object"] != "event" || b["livemode"] != false || !strings.HasPrefix(b["id"].(string), "evt_") {
			t.Errorf("envelope: %v", b)
		}
		if c, _ := b["created"].(float64); time.Since(time.Unix(int64(c), 0)) > time.Minute {
			t.Errorf("created: %v", b["created"])
		}
		if strings.Contains(string(mustJSON(b)), "4242424242424242") {
			t.Errorf("a card number in a delivery: %v", b)
		}
	}
	one := func(typ, id string) map[string]any {
		t.Helper()
		got := ofType(bodies, typ, ch(id))
		if len(got) != 1 {
			t.Fatalf("%d %s of %s, want 1: %v", len(got), typ, ch(id), bodies)
		}
		return got[0]["data"].(map[string]any)
	}
	c := one("charge.completed", paid)
	if c["object"] != "charge" || c["amount"] != 4200.0 || c["amount_captured"] != 4200.0 || c["currency"] != "usd" ||
		c["status"] != "captured" || c["captured"] != true || c["description"] != "Order 7" || c["livemode"] != false {
		t.Errorf("charge.completed: %v", c)
	}
	if md, _ := c["metadata"].(map[string]any); md["order"] != "7" {
		t.Errorf("charge.completed metadata: %v", c["metadata"])
	}
	if c := one("charge.refunded", paid); c["amount_refunded"] != 1000.0 || c["amount_captured"] != 4200.0 || c["status"] != "captured" || c["refunded"] != false {
		t.Errorf("charge.refunded: %v", c)
	}
	if c := one("charge.captured", held); c["amount_captured"] != 3000.0 || c["status"] != "captured" {
		t.Errorf("charge.captured: %v", c)
	}
	if len(ofType(bodies, "charge.completed", ch(held))) != 0 {
		t.Errorf("an authorized-then-captured charge was also sent as charge.completed")
	}
	if c := one("charge.failed", declined); c["status"] != "failed" || c["failure_code"] == nil || c["failure_code"] == "" || c["amount_captured"] != 0.0 {
		t.Errorf("charge.failed: %v", c)
	}
	one("charge.completed", disputed)
	dc := one("charge.disputed", disputed)
	dp, _ := dc["dispute"].(map[string]any)
	if dc["status"] != "disputed" || dc["disputed"] != true || dc["amount_disputed"] != 5000.0 || dp["status"] != "OPEN" ||
		dp["amount"] != 5000.0 || dp["charge"] != ch(disputed) || !strings.HasPrefix(dp["id"].(string), "dp_") {
		t.Errorf("charge.disputed: %v", dc)
	}

	// The filtered endpoint got its one event; the live one, nothing.
	if got := events(t, refunds, refundSecret, 1); got[0]["type"] != "charge.refunded" {
		t.Errorf("the charge.refunded endpoint got %v", got[0]["type"])
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(refunds.requests()); n != 1 {
		t.Errorf("the charge.refunded endpoint got %d deliveries", n)
	}
	if n := len(live.requests()); n != 0 {
		t.Errorf("the live endpoint got %d deliveries of test events", n)
	}
	if n := len(all.requests()); n != 6 {
		t.Errorf("the * endpoint got %d deliveries, want 6", n)
	}

	// A subscription sold by a HighLevel order: subscription.created.
	prod, err := s.Server.HighLevel.Catalog.CreateProduct(ctx, sc, catalog.ProductParams{Name: "Club", ProductType: tender.ProductService})
	if err != nil {
		t.Fatal(err)
	}
	price, err := s.Server.HighLevel.Catalog.CreatePrice(ctx, sc, prod.ID, catalog.PriceParams{Name: "Monthly", Type: tender.PriceRecurring,
		Currency: "USD", Amount: 999, Recurring: &tender.Recurring{Interval: tender.IntervalMonth, IntervalCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	loc := s.Boot.HighLevel.LocationID
	r := s.HighLevel(t, "POST", "/payments/orders", map[string]any{"altId": loc, "altType": "location", "liveMode": false,
		"contact": map[string]any{"name": "Ada", "email": "ada@example.com"}, "items": []any{map[string]any{"priceId": price.ID, "qty": 1}}})
	if r.Status != 201 {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	bodies = events(t, all, secret, 7)
	subs := ofType(bodies, "subscription.created", "")
	if len(subs) != 1 {
		t.Fatalf("subscription.created: %v", bodies[6:])
	}
	sub := subs[0]["data"].(map[string]any)
	if sub["object"] != "subscription" || sub["amount_cents"] != 999.0 || sub["currency"] != "usd" || sub["interval"] != "monthly" ||
		sub["interval_count"] != 1.0 || sub["customer_email"] != "ada@example.com" || !strings.HasPrefix(sub["id"].(string), "sub_") {
		t.Errorf("subscription.created: %v", sub)
	}

	// Cancelled through HighLevel's cancel route: subscription.canceled,
	// once (the order's other subscription updates name no forhopp event).
	r = s.HighLevel(t, "POST", "/payments/subscriptions/"+sub["id"].(string)+"/cancel", map[string]any{"altId": loc, "altType": "location"})
	if r.Status != 200 && r.Status != 201 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	bodies = events(t, all, secret, 8)
	canceled := ofType(bodies, "subscription.canceled", "")
	if len(canceled) != 1 {
		t.Fatalf("subscription.canceled: %v", bodies[7:])
	}
	if c := canceled[0]["data"].(map[string]any); c["id"] != sub["id"] || c["status"] != "canceled" || c["canceled_at"] == nil {
		t.Errorf("subscription.canceled: %v", c)
	}
}

// pm pays a new intent with a card the processor declines and returns the
// intent's id.
func pm(t *testing.T, s *testserver.Server, number string) string {
	t.Helper()
	m := want(t, s.Forward(t, "POST", "/payment_methods", card(number)), 201)
	pi := want(t, s.Forward(t, "POST", "/payment_intents", map[string]any{"amount": 1500}), 201)
	r := s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/payments", map[string]any{"payment_method_id": m["id"]})
	if r.Status >= 500 {
		t.Fatalf("declined payment: %d %s", r.Status, r.Body)
	}
	return pi["id"].(string)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
