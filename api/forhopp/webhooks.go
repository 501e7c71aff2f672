// Package forhopp is the ForhoppPay Connect dialect. Today it holds the
// dialect's webhooks: forhopp's event names, its event envelope and charge
// shape, and the forhopppay-signature header. The HTTP API (/v1/charges,
// /v1/webhooks, …) arrives with the dialect's own issue; until then forhopp
// endpoints are made with `tender webhooks endpoints --dialect forhopp`.
//
// # Events
//
// A forhopp charge is a core payment intent, shown with the prefix ch_
// instead of pi_ (the same id body). Core events map to forhopp's names:
//
//	payment_intent.captured, captured at once  → charge.completed
//	payment_intent.captured, after authorizing → charge.captured
//	payment.failed                             → charge.failed
//	payment.refunded                           → charge.refunded
//	dispute.created                            → charge.disputed
//	subscription.created                       → subscription.created
//	subscription.updated that cancels it       → subscription.canceled
//
// Authorizing a charge that waits for a capture sends nothing: the charge
// is not paid until it is captured. invoice.paid and invoice.payment_failed
// may be subscribed to but are never sent: tender has no invoices yet.
// Every other core event has no forhopp name and is not delivered to
// forhopp endpoints.
package forhopp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/webhook/signature"
)

// DialectName is the forhopp dialect's name, as its webhook endpoints store
// it.
const DialectName = "forhopp"

// forhopp's event names.
const (
	EventChargeCompleted      = "charge.completed"
	EventChargeCaptured       = "charge.captured"
	EventChargeFailed         = "charge.failed"
	EventChargeRefunded       = "charge.refunded"
	EventChargeDisputed       = "charge.disputed"
	EventSubscriptionCreated  = "subscription.created"
	EventSubscriptionCanceled = "subscription.canceled"
	EventInvoicePaid          = "invoice.paid"
	EventInvoicePaymentFailed = "invoice.payment_failed"
)

const (
	// chargePrefix starts a charge's id; the rest is its intent id's body.
	chargePrefix = "ch_"
	// defaultEventNameOfCaptured names payment_intent.captured when its
	// object cannot be read.
	defaultEventNameOfCaptured = EventChargeCompleted
)

// eventNames maps core event types to forhopp's names where the type alone
// decides; EventNameOf refines payment_intent.captured and
// subscription.updated by their objects.
var eventNames = map[string]string{
	tender.EventPaymentIntentCaptured: defaultEventNameOfCaptured,
	tender.EventPaymentFailed:         EventChargeFailed,
	tender.EventPaymentRefunded:       EventChargeRefunded,
	tender.EventDisputeCreated:        EventChargeDisputed,
	tender.EventSubscriptionCreated:   EventSubscriptionCreated,
}

// names are every name an endpoint may subscribe to, sorted.
var names = []string{EventChargeCaptured, EventChargeCompleted, EventChargeDisputed, EventChargeFailed, EventChargeRefunded,
	EventInvoicePaid, EventInvoicePaymentFailed, EventSubscriptionCanceled, EventSubscriptionCreated}

// WebhookDialect delivers events to forhopp endpoints: forhopp's event
// names, forhopp's envelope ({id, object, type, created, livemode, data})
// with the charge or subscription as data, signed with the endpoint's
// fhwh_ secret in forhopppay-signature. It implements webhook.Dialect,
// webhook.EventNamer and notify.Dialect.
type WebhookDialect struct{}

// NewWebhookDialect returns the forhopp webhook dialect.
func NewWebhookDialect() *WebhookDialect { return &WebhookDialect{} }

// Name returns "forhopp".
func (d *WebhookDialect) Name() string { return DialectName }

// EventName maps a core event type to forhopp's name when the type alone
// decides it, or "". The engine asks EventNameOf, which also looks at the
// object.
func (d *WebhookDialect) EventName(coreType string) string { return eventNames[coreType] }

// EventNameOf returns forhopp's name of ev, or "" when forhopp has none: a
// captured payment intent is charge.completed when it was captured as it
// was paid and charge.captured when an authorization was captured later; a
// subscription update is subscription.canceled when it is the update that
// canceled the subscription, and nothing otherwise.
func (d *WebhookDialect) EventNameOf(ev *tender.Event) string {
	switch ev.Type {
	case tender.EventPaymentIntentCaptured:
		var pi struct {
			Capture bool `json:"capture"`
		}
		if err := json.Unmarshal(ev.Object, &pi); err != nil {
			return defaultEventNameOfCaptured
		}
		if !pi.Capture {
			return EventChargeCaptured
		}
		return EventChargeCompleted
	case tender.EventSubscriptionUpdated:
		var sub tender.Subscription
		if err := json.Unmarshal(ev.Object, &sub); err != nil {
			return ""
		}
		if sub.Status == tender.SubscriptionCanceled && sub.CanceledAt != nil && sub.CanceledAt.Equal(sub.UpdatedAt) {
			return EventSubscriptionCanceled
		}
		return ""
	}
	return eventNames[ev.Type]
}

// EventNames lists every forhopp event name an endpoint may subscribe to,
// sorted; invoice.paid and invoice.payment_failed among them, though
// tender sends neither yet.
func (d *WebhookDialect) EventNames() []string { return append([]string(nil), names...) }

// NewSecret returns a new forhopp signing secret ("fhwh_…").
func (d *WebhookDialect) NewSecret() (string, error) { return signature.NewForhoppSecret() }

// Sign returns the forhopppay-signature header of body at now:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">", keyed with the
// endpoint's secret as written.
func (d *WebhookDialect) Sign(secret, _ string, now time.Time, body []byte) (http.Header, error) {
	v := signature.SignForhopp(secret, now, body)
	if v == "" {
		return nil, errors.New("forhopp: the endpoint has no signing secret")
	}
	h := http.Header{}
	h.Set(signature.ForhoppHeader, v)
	return h, nil
}

// wireEvent is the body of a forhopp delivery.
type wireEvent struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Type     string `json:"type"`
	Created  int64  `json:"created"`
	Livemode bool   `json:"livemode"`
	Data     any    `json:"data"`
}

// Payload renders ev under name: the envelope with the event's id (the same
// on every attempt), its time in unix seconds, and as data the charge (or
// subscription) as the event left it.
func (d *WebhookDialect) Payload(ev *tender.Event, name string) ([]byte, error) {
	data, err := render(ev)
	if err != nil {
		return nil, fmt.Errorf("forhopp: event %s: %w", ev.ID, err)
	}
	return json.Marshal(wireEvent{ID: ev.ID, Object: "event", Type: name, Created: ev.CreatedAt.Unix(),
		Livemode: ev.Mode == tender.ModeLive, Data: data})
}

func render(ev *tender.Event) (any, error) {
	live := ev.Mode == tender.ModeLive
	switch ev.ObjectType {
	case "payment_intent":
		var pi tender.PaymentIntent
		if err := json.Unmarshal(ev.Object, &pi); err != nil {
			return nil, err
		}
		return chargeOfIntent(&pi, live), nil
	case "payment":
		var p tender.Payment
		if err := json.Unmarshal(ev.Object, &p); err != nil {
			return nil, err
		}
		return chargeOfPayment(&p, live), nil
	case "dispute":
		var dp tender.Dispute
		if err := json.Unmarshal(ev.Object, &dp); err != nil {
			return nil, err
		}
		return chargeOfDispute(&dp, live), nil
	case "subscription":
		var sub tender.Subscription
		if err := json.Unmarshal(ev.Object, &sub); err != nil {
			return nil, err
		}
		return renderSubscription(&sub, live), nil
	}
	return nil, fmt.Errorf("no forhopp rendering of %s objects", ev.ObjectType)
}

// ChargeID is the forhopp id of a payment intent: ch_ and the intent id's
// body.
func ChargeID(intentID string) string {
	return tender.ReplacePrefix(intentID, tender.PrefixPaymentIntent, chargePrefix)
}

// wireCharge is a forhopp charge. Amounts are integer minor units and the
// currency is lower-case, as charges are created. Fields an event's object
// does not know are left out (a dispute's event knows the charge's id,
// currency and disputed amount, not its description).
type wireCharge struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Amount            *int64          `json:"amount,omitempty"`
	AmountCaptured    *int64          `json:"amount_captured,omitempty"`
	AmountRefunded    *int64          `json:"amount_refunded,omitempty"`
	AmountDisputed    int64           `json:"amount_disputed"`
	Currency          string          `json:"currency"`
	Status            string          `json:"status"`
	Captured          *bool           `json:"captured,omitempty"`
	Refunded          *bool           `json:"refunded,omitempty"`
	Disputed          bool            `json:"disputed"`
	Description       *string         `json:"description,omitempty"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
	PaymentMethodType string          `json:"payment_method_type,omitempty"`
	FailureCode       string          `json:"failure_code,omitempty"`
	FailureMessage    string          `json:"failure_message,omitempty"`
	Dispute           *wireDispute    `json:"dispute,omitempty"`
	Livemode          bool            `json:"livemode"`
	CreatedAt         string          `json:"created_at,omitempty"`
	CapturedAt        string          `json:"captured_at,omitempty"`
}

type wireDispute struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Charge        string `json:"charge"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Status        string `json:"status"`
	Reason        string `json:"reason"`
	ResponseDueAt string `json:"response_due_at"`
	CreatedAt     string `json:"created_at"`
}

// formatTime renders a time as forhopp's responses do: ISO 8601, UTC.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func ptr[T any](v T) *T { return &v }

// chargeStatus maps a payment intent's or payment's status to a charge's:
// pending, authorized, captured, refunded (all of it), disputed, failed or
// canceled.
func chargeStatus(status string, captured, refunded int64, disputed bool) string {
	switch status {
	case tender.IntentCreated, tender.IntentPending:
		return "pending"
	case tender.IntentUncaptured:
		return "authorized"
	case tender.IntentCaptured:
		switch {
		case disputed:
			return "disputed"
		case captured > 0 && refunded >= captured:
			return "refunded"
		}
		return "captured"
	case tender.IntentFailed:
		return "failed"
	case tender.IntentCancelled, tender.PaymentVoided:
		return "canceled"
	}
	return status
}

func metadata(m json.RawMessage) json.RawMessage {
	if len(m) == 0 || string(m) == "null" {
		return json.RawMessage(`{}`)
	}
	return m
}

func chargeOfIntent(pi *tender.PaymentIntent, live bool) *wireCharge {
	c := &wireCharge{ID: ChargeID(pi.ID), Object: "charge", Amount: ptr(pi.Amount), AmountCaptured: ptr(pi.AmountCaptured),
		AmountRefunded: ptr(pi.AmountRefunded), AmountDisputed: pi.AmountDisputed, Currency: strings.ToLower(string(pi.Currency)),
		Status: chargeStatus(pi.Status, pi.AmountCaptured, pi.AmountRefunded, pi.Disputed), Captured: ptr(pi.AmountCaptured > 0),
		Refunded: ptr(pi.AmountCaptured > 0 && pi.AmountRefunded >= pi.AmountCaptured), Disputed: pi.Disputed,
		Metadata: metadata(pi.Metadata), Livemode: live, CreatedAt: formatTime(pi.CreatedAt)}
	if pi.Description != "" {
		c.Description = ptr(pi.Description)
	}
	if pi.CapturedAt != nil {
		c.CapturedAt = formatTime(*pi.CapturedAt)
	}
	return c
}

// chargeOfPayment renders the charge of a payment attempt. The attempt
// knows the charge's amounts, status and failure, not the charge's own
// description, metadata or creation time, which are left out.
func chargeOfPayment(p *tender.Payment, live bool) *wireCharge {
	c := &wireCharge{ID: ChargeID(p.PaymentIntentID), Object: "charge", Amount: ptr(p.Amount), AmountCaptured: ptr(p.AmountCaptured),
		AmountRefunded: ptr(p.AmountRefunded), AmountDisputed: p.AmountDisputed, Currency: strings.ToLower(string(p.Currency)),
		Status: chargeStatus(p.Status, p.AmountCaptured, p.AmountRefunded, p.Disputed), Captured: ptr(p.AmountCaptured > 0),
		Refunded: ptr(p.AmountCaptured > 0 && p.AmountRefunded >= p.AmountCaptured), Disputed: p.Disputed,
		PaymentMethodType: p.MethodType, Livemode: live}
	if p.Status == tender.PaymentFailed {
		c.FailureCode, c.FailureMessage = p.DeclineCode, p.ResponseText
		if c.FailureCode == "" {
			c.FailureCode = "card_declined"
		}
	}
	return c
}

// disputeStatus maps a core dispute status to forhopp's.
func disputeStatus(s string) string {
	switch s {
	case tender.DisputeNew:
		return "OPEN"
	case tender.DisputeContested:
		return "UNDER_REVIEW"
	case tender.DisputeWon:
		return "WON"
	case tender.DisputeLost, tender.DisputeAccepted:
		return "LOST"
	}
	return strings.ToUpper(s)
}

func chargeOfDispute(dp *tender.Dispute, live bool) *wireCharge {
	cur := strings.ToLower(string(dp.Currency))
	return &wireCharge{ID: ChargeID(dp.PaymentIntentID), Object: "charge", AmountDisputed: dp.Amount, Currency: cur, Status: "disputed",
		Disputed: true, Livemode: live, Dispute: &wireDispute{ID: dp.ID, Object: "dispute", Charge: ChargeID(dp.PaymentIntentID),
			Amount: dp.Amount, Currency: cur, Status: disputeStatus(dp.Status), Reason: dp.Reason,
			ResponseDueAt: formatTime(dp.ResponseDueAt), CreatedAt: formatTime(dp.CreatedAt)}}
}

// wireSubscription is a forhopp subscription: its amount per period in
// minor units, its interval and period, and when it was canceled.
type wireSubscription struct {
	ID                 string  `json:"id"`
	Object             string  `json:"object"`
	Status             string  `json:"status"`
	CustomerEmail      string  `json:"customer_email,omitempty"`
	AmountCents        int64   `json:"amount_cents"`
	Currency           string  `json:"currency"`
	Interval           string  `json:"interval"`
	IntervalCount      int     `json:"interval_count"`
	CurrentPeriodStart *string `json:"current_period_start"`
	CurrentPeriodEnd   *string `json:"current_period_end"`
	CanceledAt         *string `json:"canceled_at"`
	Livemode           bool    `json:"livemode"`
	CreatedAt          string  `json:"created_at"`
}

// intervals are forhopp's names of recurring intervals.
var intervals = map[string]string{tender.IntervalDay: "daily", tender.IntervalWeek: "weekly",
	tender.IntervalMonth: "monthly", tender.IntervalYear: "yearly"}

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	return ptr(formatTime(*t))
}

func renderSubscription(s *tender.Subscription, live bool) *wireSubscription {
	iv := intervals[s.Recurrence.Interval]
	if iv == "" {
		iv = s.Recurrence.Interval
	}
	return &wireSubscription{ID: s.ID, Object: "subscription", Status: s.Status, CustomerEmail: s.Contact.Email,
		AmountCents: s.Amount, Currency: strings.ToLower(string(s.Currency)), Interval: iv, IntervalCount: s.Recurrence.IntervalCount,
		CurrentPeriodStart: timePtr(s.CurrentPeriodStart), CurrentPeriodEnd: timePtr(s.CurrentPeriodEnd), CanceledAt: timePtr(s.CanceledAt),
		Livemode: live, CreatedAt: formatTime(s.CreatedAt)}
}
