package forward

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/webhook/signature"
)

// DialectName is the Forward dialect's name, as its webhook endpoints
// store it.
const DialectName = "forward"

// eventNames maps core event types to Forward's event names. Core events
// missing here (payment_intent.updated, payment_intent.failed,
// payment_method.*, webhook_endpoint.disabled) have no Forward name and are
// not delivered to Forward endpoints.
var eventNames = map[string]string{
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
}

// coreTypes is the inverse of eventNames (a Forward name may stand for
// several core types: v2.dispute.updated for a dispute won or lost);
// forwardNames and deliveredTypes are its sorted names and core types.
var (
	coreTypes      = map[string][]string{}
	forwardNames   []string
	deliveredTypes []string
)

func init() {
	for core, name := range eventNames {
		if len(coreTypes[name]) == 0 {
			forwardNames = append(forwardNames, name)
		}
		coreTypes[name] = append(coreTypes[name], core)
		deliveredTypes = append(deliveredTypes, core)
	}
	for _, cores := range coreTypes {
		sort.Strings(cores)
	}
	sort.Strings(forwardNames)
	sort.Strings(deliveredTypes)
}

// WebhookDialect delivers events to Forward endpoints: Forward's v2.*
// event names, a JSON body whose data is the object exactly as Forward's
// API renders it, and Standard Webhooks signatures. It implements
// webhook.Dialect (for the delivery engine) and notify.Dialect (for the
// endpoint service).
//
// Build it with NewWebhookDialect; the zero value renders intents without a
// client_secret and with the organization fields empty.
type WebhookDialect struct {
	// ClientSecret derives a payment intent's client_secret
	// (payment.Service.ClientSecret).
	ClientSecret func(intentID string) string
	// Store finds an account's organization, for partner_id and
	// business_id; each account is looked up once.
	Store store.Store

	orgs sync.Map // account id → organization id
}

// NewWebhookDialect returns the Forward webhook dialect over st, rendering
// intents' client secrets with clientSecret.
func NewWebhookDialect(st store.Store, clientSecret func(intentID string) string) *WebhookDialect {
	return &WebhookDialect{Store: st, ClientSecret: clientSecret}
}

// Name returns "forward".
func (d *WebhookDialect) Name() string { return DialectName }

// EventName maps a core event type to Forward's name ("payment.captured" →
// "v2.payment.captured"), or "" when Forward has none.
func (d *WebhookDialect) EventName(coreType string) string { return eventNames[coreType] }

// EventNames lists Forward's event names that tender delivers, sorted.
func (d *WebhookDialect) EventNames() []string { return append([]string(nil), forwardNames...) }

// CoreType maps a Forward event name back to its first core type, or "".
func (d *WebhookDialect) CoreType(name string) string {
	if cores := coreTypes[name]; len(cores) > 0 {
		return cores[0]
	}
	return ""
}

// NewSecret returns a new Standard Webhooks secret ("whsec_…").
func (d *WebhookDialect) NewSecret() (string, error) { return signature.NewStandardSecret() }

// Sign returns the Standard Webhooks headers (webhook-id, webhook-timestamp,
// webhook-signature) of body for one attempt at now.
func (d *WebhookDialect) Sign(secret, msgID string, now time.Time, body []byte) (http.Header, error) {
	if _, err := signature.ParseStandardSecret(secret); err != nil {
		return nil, err
	}
	h := signature.SignStandard(secret, msgID, now, body)
	if h.Get(signature.StandardSignatureHeader) == "" {
		return nil, fmt.Errorf("forward: cannot sign message %q", msgID)
	}
	return h, nil
}

// Payload renders ev as Forward receivers get it (see wireEvent), under
// name.
func (d *WebhookDialect) Payload(ev *tender.Event, name string) ([]byte, error) {
	org, err := d.organization(ev.AccountID)
	if err != nil {
		return nil, err
	}
	w, err := d.render(ev, name, org)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// organization returns the organization of accountID, cached.
func (d *WebhookDialect) organization(accountID string) (string, error) {
	if d.Store == nil {
		return "", nil
	}
	if org, ok := d.orgs.Load(accountID); ok {
		return org.(string), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var a *tender.Account
	err := d.Store.Read(ctx, func(tx store.Tx) (err error) {
		a, err = tx.FindAccountByID(ctx, accountID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("forward: find the organization of account %s: %w", accountID, err)
	}
	d.orgs.Store(accountID, a.OrganizationID)
	return a.OrganizationID, nil
}

// wireEvent is the body of a Forward webhook delivery, and an item of
// GET /events.
type wireEvent struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"created_at"`
	AccountID string          `json:"account_id"`
	Livemode  bool            `json:"livemode"`
	Data      json.RawMessage `json:"data"`
}

// render builds ev's Forward shape under name, for an account of
// organization orgID. data is the event's snapshot rendered as the Forward
// API renders the object; an intent's latest_payment is not expanded (null)
// and a payment's payment_method is null, since the snapshot holds only
// their ids (latest payment: none; payment method: payment_method_id).
func (d *WebhookDialect) render(ev *tender.Event, name, orgID string) (*wireEvent, error) {
	sc := tender.Scope{OrganizationID: orgID, AccountID: ev.AccountID, Mode: ev.Mode}
	var obj any
	switch ev.ObjectType {
	case "payment_intent":
		var pi tender.PaymentIntent
		if err := json.Unmarshal(ev.Object, &pi); err != nil {
			return nil, fmt.Errorf("forward: event %s: decode payment intent: %w", ev.ID, err)
		}
		secret := ""
		if d.ClientSecret != nil {
			secret = d.ClientSecret(pi.ID)
		}
		obj = renderIntent(sc, &pi, nil, secret)
	case "payment":
		var p tender.Payment
		if err := json.Unmarshal(ev.Object, &p); err != nil {
			return nil, fmt.Errorf("forward: event %s: decode payment: %w", ev.ID, err)
		}
		obj = renderPayment(&p, nil)
	case "refund":
		var r tender.Refund
		if err := json.Unmarshal(ev.Object, &r); err != nil {
			return nil, fmt.Errorf("forward: event %s: decode refund: %w", ev.ID, err)
		}
		obj = renderRefund(&r)
	case "payment_method":
		var pm tender.PaymentMethod
		if err := json.Unmarshal(ev.Object, &pm); err != nil {
			return nil, fmt.Errorf("forward: event %s: decode payment method: %w", ev.ID, err)
		}
		obj = renderPaymentMethod(&pm)
	case "dispute":
		var dp tender.Dispute
		if err := json.Unmarshal(ev.Object, &dp); err != nil {
			return nil, fmt.Errorf("forward: event %s: decode dispute: %w", ev.ID, err)
		}
		obj = renderDispute(sc, &dp)
	case "payout":
		var po tender.Payout
		if err := json.Unmarshal(ev.Object, &po); err != nil {
			return nil, fmt.Errorf("forward: event %s: decode payout: %w", ev.ID, err)
		}
		obj = renderPayout(&po)
	default:
		return nil, fmt.Errorf("forward: event %s: no Forward rendering of a %s", ev.ID, ev.ObjectType)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return &wireEvent{ID: ev.ID, Type: name, CreatedAt: ts(ev.CreatedAt), AccountID: ev.AccountID,
		Livemode: ev.Mode == tender.ModeLive, Data: data}, nil
}
