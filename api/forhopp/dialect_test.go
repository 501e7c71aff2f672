package forhopp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/webhook"
	"github.com/tenderpay/tender/webhook/signature"
)

func ev(t *testing.T, typ, objectType string, obj any) *tender.Event {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &tender.Event{ID: "evt_1", AccountID: "acct_1", Mode: tender.ModeTest, Type: typ, ObjectType: objectType, Object: b,
		CreatedAt: time.Unix(1700000000, 0)}
}

func TestWebhookDialect_EventNameOf(t *testing.T) {
	t.Parallel()
	d := NewWebhookDialect()
	var _ webhook.Dialect = d
	var _ webhook.EventNamer = d
	now := time.Unix(1700000000, 0).UTC()
	later := now.Add(time.Hour)
	cases := []struct {
		name string
		ev   *tender.Event
		want string
	}{
		{"captured at once", ev(t, tender.EventPaymentIntentCaptured, "payment_intent", tender.PaymentIntent{Capture: true}), EventChargeCompleted},
		{"captured after an authorization", ev(t, tender.EventPaymentIntentCaptured, "payment_intent", tender.PaymentIntent{Capture: false}), EventChargeCaptured},
		{"payment failed", ev(t, tender.EventPaymentFailed, "payment", tender.Payment{}), EventChargeFailed},
		{"refunded", ev(t, tender.EventPaymentRefunded, "payment", tender.Payment{}), EventChargeRefunded},
		{"disputed", ev(t, tender.EventDisputeCreated, "dispute", tender.Dispute{}), EventChargeDisputed},
		{"subscription created", ev(t, tender.EventSubscriptionCreated, "subscription", tender.Subscription{}), EventSubscriptionCreated},
		{"the update that cancels", ev(t, tender.EventSubscriptionUpdated, "subscription",
			tender.Subscription{Status: tender.SubscriptionCanceled, CanceledAt: &now, UpdatedAt: now}), EventSubscriptionCanceled},
		{"a later update of a canceled subscription", ev(t, tender.EventSubscriptionUpdated, "subscription",
			tender.Subscription{Status: tender.SubscriptionCanceled, CanceledAt: &now, UpdatedAt: later}), ""},
		{"a renewal", ev(t, tender.EventSubscriptionUpdated, "subscription", tender.Subscription{Status: tender.SubscriptionActive, UpdatedAt: now}), ""},
		{"an intent created", ev(t, tender.EventPaymentIntentCreated, "payment_intent", tender.PaymentIntent{}), ""},
		{"authorized only", ev(t, tender.EventPaymentIntentUpdated, "payment_intent", tender.PaymentIntent{}), ""},
		{"a payment captured (the intent's event speaks)", ev(t, tender.EventPaymentCaptured, "payment", tender.Payment{}), ""},
		{"a product", ev(t, tender.EventProductCreated, "product", tender.Product{}), ""},
		{"an order", ev(t, tender.EventOrderCreated, "order", tender.Order{}), ""},
	}
	for _, c := range cases {
		if got := webhook.EventName(d, c.ev); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	for _, n := range []string{EventInvoicePaid, EventInvoicePaymentFailed, EventChargeCaptured, EventSubscriptionCanceled} {
		found := false
		for _, m := range d.EventNames() {
			found = found || m == n
		}
		if !found {
			t.Errorf("EventNames lacks %s", n)
		}
	}
}

func TestWebhookDialect_SignAndPayload(t *testing.T) {
	t.Parallel()
	d := NewWebhookDialect()
	secret, err := d.NewSecret()
	if err != nil || !strings.HasPrefix(secret, signature.ForhoppSecretPrefix) {
		t.Fatalf("secret %q: %v", secret, err)
	}
	e := ev(t, tender.EventPaymentIntentCaptured, "payment_intent", tender.PaymentIntent{ID: "pi_01jd0000000000000000000000",
		Status: tender.IntentCaptured, Amount: 1000, AmountCaptured: 1000, Currency: "EUR", Capture: true})
	body, err := d.Payload(e, webhook.EventName(d, e))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ID, Object, Type string
		Created          int64
		Data             map[string]any
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != "evt_1" || m.Object != "event" || m.Type != EventChargeCompleted || m.Created != 1700000000 ||
		m.Data["id"] != "ch_01jd0000000000000000000000" || m.Data["currency"] != "eur" || m.Data["status"] != "captured" {
		t.Errorf("payload: %s", body)
	}
	now := time.Now()
	h, err := d.Sign(secret, e.ID, now, body)
	if err != nil {
		t.Fatal(err)
	}
	if err := signature.VerifyForhopp(secret, h.Get("forhopppay-signature"), body, now, time.Minute); err != nil {
		t.Errorf("the signature does not verify: %v", err)
	}
	if _, err := d.Sign("", e.ID, now, body); err == nil {
		t.Error("signed with no secret")
	}
	if _, err := d.Payload(ev(t, tender.EventProductCreated, "product", tender.Product{}), "x"); err == nil {
		t.Error("rendered a product as a forhopp object")
	}
}
