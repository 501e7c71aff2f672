package forward_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api/forward"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/webhook"
)

// The Forward dialect satisfies the delivery engine's contract.
var _ webhook.Dialect = (*forward.WebhookDialect)(nil)

func TestWebhookDialect_EventNames(t *testing.T) {
	d := forward.NewWebhookDialect(nil, nil)
	if d.Name() != "forward" {
		t.Errorf("Name %q", d.Name())
	}
	want := map[string]string{
		tender.EventPaymentIntentCreated:   "v2.payment_intent.created",
		tender.EventPaymentIntentPended:    "v2.payment_intent.pended",
		tender.EventPaymentIntentCaptured:  "v2.payment_intent.captured",
		tender.EventPaymentIntentCancelled: "v2.payment_intent.cancelled",
		tender.EventPaymentCreated:         "v2.payment.created",
		tender.EventPaymentCaptured:        "v2.payment.captured",
		tender.EventPaymentFailed:          "v2.payment.failed",
		tender.EventPaymentCancelled:       "v2.payment.cancelled",
		tender.EventPaymentRefunded:        "v2.payment.refunded",
		tender.EventRefundCreated:          "v2.refund.created",
		tender.EventDisputeCreated:         "v2.dispute.created",
		tender.EventDisputeContested:       "v2.dispute.contested",
		tender.EventDisputeAccepted:        "v2.dispute.accepted",
		tender.EventDisputeWon:             "v2.dispute.updated",
		tender.EventDisputeLost:            "v2.dispute.updated",
		tender.EventPayoutCreated:          "v2.payout.created",
		tender.EventPayoutCompleted:        "v2.payout.completed",
		tender.EventPayoutFailed:           "v2.payout.failed",
		tender.EventPayoutReturned:         "v2.payout.returned",
		tender.EventPayoutCancelled:        "v2.payout.cancelled",
		// Not delivered to Forward endpoints.
		tender.EventPaymentIntentUpdated: "",
		tender.EventPaymentIntentFailed:  "",
		tender.EventPaymentMethodCreated: "",
		tender.EventPaymentMethodUpdated: "",
		tender.EventEndpointDisabled:     "",
		"no.such_event":                  "",
	}
	var names []string
	for core, name := range want {
		if got := d.EventName(core); got != name {
			t.Errorf("EventName(%q) = %q, want %q", core, got, name)
		}
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
		if name != "" && core != tender.EventDisputeWon {
			// v2.dispute.updated stands for a dispute won or lost;
			// CoreType gives the first of them.
			if got := d.CoreType(name); got != core {
				t.Errorf("CoreType(%q) = %q, want %q", name, got, core)
			}
		}
	}
	sort.Strings(names)
	if got := d.EventNames(); !slices.Equal(got, names) {
		t.Errorf("EventNames = %v, want %v", got, names)
	}
	// The list is a copy.
	d.EventNames()[0] = "x"
	if d.EventNames()[0] == "x" {
		t.Error("EventNames exposes its backing array")
	}
}

// events returns the scope's events of core type typ, oldest first.
func (h *harness) events(typ string) []*tender.Event {
	h.t.Helper()
	var evs []*tender.Event
	err := h.Store.Read(context.Background(), func(tx store.Tx) (err error) {
		evs, _, err = tx.ListEvents(context.Background(), h.scope(), tender.Page{Limit: 50}, []string{typ})
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

// payload renders ev with d and checks it against the Event schema of the
// OpenAPI document (as an item of GET /events).
func (h *harness) payload(d *forward.WebhookDialect, ev *tender.Event) (raw []byte, m map[string]any) {
	h.t.Helper()
	raw, err := d.Payload(ev, d.EventName(ev.Type))
	if err != nil {
		h.t.Fatalf("Payload(%s): %v", ev.Type, err)
	}
	again, _ := d.Payload(ev, d.EventName(ev.Type))
	if !bytes.Equal(raw, again) {
		h.t.Errorf("Payload is not deterministic:\n%s\n%s", raw, again)
	}
	list := []byte(`{"data":[` + string(raw) + `],"meta":{"size":1,"limit":10,"has_more":false}}`)
	h.v.Check(h.t, httptest.NewRequest("GET", "/events", nil), 200, http.Header{"Content-Type": {"application/json"}}, list)
	if err := json.Unmarshal(raw, &m); err != nil {
		h.t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"account_id", "created_at", "data", "id", "livemode", "type"}; !slices.Equal(keys, want) {
		h.t.Errorf("payload keys %v, want %v", keys, want)
	}
	if m["id"] != ev.ID || m["type"] != d.EventName(ev.Type) || m["account_id"] != ev.AccountID ||
		m["livemode"] != (ev.Mode == tender.ModeLive) || m["created_at"] != ev.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z") {
		h.t.Errorf("payload envelope: %v", m)
	}
	return raw, m
}

// TestWebhookDialect_PayloadMatchesAPI proves that an event's data is the
// object exactly as the API rendered it at that moment, save for the
// documented unexpanded fields.
func TestWebhookDialect_PayloadMatchesAPI(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	d := forward.NewWebhookDialect(h.Store, h.Payments.ClientSecret)
	acct := map[string]string{"x-api-key": h.Key, "x-account-id": h.Boot.AccountID}

	// payment_intent.created: identical to the creation response.
	created := h.ok(h.do("POST", "/payment_intents", map[string]any{"amount": 2500, "reference_id": "ord-9",
		"user_fields": map[string]any{"crm": "c1"}, "description": "Mugs"}, acct), 201)
	piID := created["id"].(string)
	evs := h.events(tender.EventPaymentIntentCreated)
	if len(evs) != 1 {
		t.Fatalf("%d intent.created events", len(evs))
	}
	raw, m := h.payload(d, evs[0])
	if !reflect.DeepEqual(m["data"], any(created)) {
		t.Errorf("v2.payment_intent.created data differs from the API's intent:\n%s\n%v", raw, created)
	}
	// GET /events/{id} shows the same bytes of the event (plus deliveries).
	one := h.ok(h.fwd("GET", "/events/"+evs[0].ID, nil), 200)
	delete(one, "deliveries")
	if !reflect.DeepEqual(one, m) {
		t.Errorf("GET /events/{id} differs from the payload:\n%v\n%v", one, m)
	}

	// Pay it: payment.captured data is GET /payments/{id} with
	// payment_method not embedded.
	pm := h.ok(h.fwd("POST", "/payment_methods", card("4242424242424242")), 201)
	pay := h.ok(h.do("POST", "/payment_intents/"+piID+"/payments", map[string]any{"payment_method_id": pm["id"]}, acct), 201)
	api := h.ok(h.do("GET", "/payments/"+pay["id"].(string), nil, acct), 200)
	evs = h.events(tender.EventPaymentCaptured)
	if len(evs) != 1 {
		t.Fatalf("%d payment.captured events", len(evs))
	}
	_, m = h.payload(d, evs[0])
	data := m["data"].(map[string]any)
	if data["payment_method"] != nil || data["payment_method_id"] != pm["id"] {
		t.Errorf("payment data's payment method: %v / %v", data["payment_method"], data["payment_method_id"])
	}
	api["payment_method"] = nil
	if !reflect.DeepEqual(data, api) {
		t.Errorf("v2.payment.captured data differs from the API's payment:\n%v\n%v", data, api)
	}

	// payment_intent.captured: the API's intent, latest_payment null.
	intent := h.ok(h.do("GET", "/payment_intents/"+piID, nil, acct), 200)
	evs = h.events(tender.EventPaymentIntentCaptured)
	_, m = h.payload(d, evs[0])
	data = m["data"].(map[string]any)
	if data["status"] != "captured" || data["latest_payment"] != nil || data["client_secret"] != intent["client_secret"] ||
		data["partner_id"] != intent["partner_id"] || data["business_id"] != intent["business_id"] {
		t.Errorf("captured intent data: %v", data)
	}
	intent["latest_payment"] = nil
	if !reflect.DeepEqual(data, intent) {
		t.Errorf("v2.payment_intent.captured data differs from the API's intent:\n%v\n%v", data, intent)
	}

	// refund.created: identical to the refund response.
	ref := h.ok(h.do("POST", "/payment_intents/"+piID+"/refunds", map[string]any{"amount": 500, "reason": "broken"}, acct), 201)
	evs = h.events(tender.EventRefundCreated)
	_, m = h.payload(d, evs[0])
	if !reflect.DeepEqual(m["data"], any(ref)) {
		t.Errorf("v2.refund.created data differs from the API's refund:\n%v\n%v", m["data"], ref)
	}
	evs = h.events(tender.EventPaymentRefunded)
	_, m = h.payload(d, evs[0])
	if data := m["data"].(map[string]any); data["entity"] != "payment" || data["amount_refunded"] != float64(500) {
		t.Errorf("v2.payment.refunded data: %v", data)
	}

	// A live event says so.
	live := *evs[0]
	live.Mode = tender.ModeLive
	if _, m := h.payload(d, &live); m["livemode"] != true {
		t.Errorf("live payload: %v", m)
	}

	// An object Forward cannot render is an error, not a guess.
	if _, err := d.Payload(&tender.Event{ID: "evt_x", AccountID: h.Boot.AccountID, ObjectType: "webhook_endpoint", Object: []byte(`{}`)}, "x"); err == nil {
		t.Error("Payload rendered a webhook_endpoint event")
	}
	// An unknown account is an error.
	bad := *evs[0]
	bad.AccountID = "acct_nope"
	if _, err := d.Payload(&bad, "v2.payment.refunded"); err == nil {
		t.Error("Payload rendered an event of an unknown account")
	}
}

func TestWebhookDialect_Sign(t *testing.T) {
	d := forward.NewWebhookDialect(nil, nil)
	secret, err := d.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_01","type":"v2.payment.captured","data":{}}`)
	now := time.Now()
	h, err := d.Sign(secret, "evt_01", now, body)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, h); err != nil {
		t.Fatalf("standard-webhooks rejects the signature: %v (headers %v)", err, h)
	}
	if h.Get("webhook-id") != "evt_01" || h.Get("webhook-timestamp") == "" {
		t.Errorf("headers %v", h)
	}
	if err := wh.Verify(append(body, ' '), h); err == nil {
		t.Error("an altered body verifies")
	}
	other, _ := d.NewSecret()
	wo, _ := standardwebhooks.NewWebhook(other)
	if err := wo.Verify(body, h); err == nil {
		t.Error("another secret verifies")
	}
	if _, err := d.Sign("whsec_short", "evt_01", now, body); err == nil {
		t.Error("Sign accepted an unusable secret")
	}
	if _, err := d.Sign(secret, "evt.01", now, body); err == nil {
		t.Error("Sign accepted a message id with a dot")
	}
}
