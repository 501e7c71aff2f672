package customprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/provider"
)

// The protocol's calls that are not a payment's: a contact's saved payment
// methods, and subscriptions the provider runs. tender's billing calls
// these for locations whose provider is connected.

// connected returns the endpoint of provider providerID in mode m or, with
// no id, of the account's provider of mode m, or EINVALID when there is
// none (these calls make sense only with one). A named provider that is
// deleted or disconnected is EPROCESSOR.
func (p *Processor) connected(ctx context.Context, accountID string, m tender.Mode, providerID ...string) (*provider.Endpoint, error) {
	if len(providerID) > 0 && providerID[0] != "" {
		return p.Providers.EndpointByID(ctx, providerID[0], m)
	}
	ep, err := p.Providers.Connected(ctx, accountID, m)
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil, tender.Errorf(tender.EINVALID, "the location has no custom provider connected in %s mode", m)
	}
	return ep, err
}

// PaymentMethod is a payment method a provider keeps for a contact, as
// list_payment_methods answers it.
type PaymentMethod struct {
	ID         string `json:"id"`
	Type       string `json:"type"` // card, us_bank_account, sepa_direct_debit, …
	Title      string `json:"title"`
	SubTitle   string `json:"subTitle"`
	Expiry     string `json:"expiry"`
	CustomerID string `json:"customerId"`
	ImageURL   string `json:"imageUrl"`
	// ProviderID is tender's id of the provider that keeps the method.
	ProviderID string `json:"-"`
}

type listQuery struct {
	query
	ContactID string `json:"contactId"`
}

// ListPaymentMethods asks the account's provider of mode m for the payment
// methods it keeps for contactID (list_payment_methods). The answer may be
// an array or an object holding it in paymentMethods or data.
func (p *Processor) ListPaymentMethods(ctx context.Context, accountID string, m tender.Mode, contactID string) ([]PaymentMethod, error) {
	if contactID == "" {
		return nil, tender.FieldError("contactId", "should not be empty")
	}
	ep, err := p.connected(ctx, accountID, m)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := p.Client.call(ctx, ep, TypeListPaymentMethods, listQuery{query: newQuery(ep, TypeListPaymentMethods), ContactID: contactID}, &raw); err != nil {
		return nil, tender.Errorf(tender.EPROCESSOR, "%s", err.Error())
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var wrap struct {
			PaymentMethods json.RawMessage `json:"paymentMethods"`
			Data           json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &wrap); err == nil {
			raw = wrap.PaymentMethods
			if len(raw) == 0 {
				raw = wrap.Data
			}
		}
	}
	var out []PaymentMethod
	if len(raw) == 0 || string(raw) == "null" {
		return []PaymentMethod{}, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, tender.Errorf(tender.EPROCESSOR, "custom provider %s: its list_payment_methods answer is not a list of payment methods", ep.ProviderID)
	}
	for i := range out {
		out[i].ProviderID = ep.ProviderID
	}
	return out, nil
}

// SubscriptionParams start a subscription at a provider. SubscriptionID
// and TransactionID are tender's ids (of the subscription and of its first
// payment), so that a repeated call can be recognised. ProviderID, when
// set, names the provider (the one that took the first payment); else the
// account's connected one. StartDate is the day of the first charge the
// provider makes (after the first period or the trial tender collected).
type SubscriptionParams struct {
	ProviderID      string
	SubscriptionID  string
	TransactionID   string
	ContactID       string
	PaymentMethodID string
	Amount          int64
	Currency        tender.Currency
	Interval        string // day, week, month or year
	IntervalCount   int
	StartDate       time.Time
	Description     string
}

type subscriptionQuery struct {
	query
	SubscriptionID    string      `json:"subscriptionId"`
	TransactionID     string      `json:"transactionId"`
	ContactID         string      `json:"contactId,omitempty"`
	PaymentMethodID   string      `json:"paymentMethodId"`
	Amount            json.Number `json:"amount"`
	Currency          string      `json:"currency"`
	RecurringSchedule struct {
		Interval      string `json:"interval"`
		IntervalCount int    `json:"intervalCount"`
	} `json:"recurringSchedule"`
	StartDate         string `json:"startDate"`
	ChargeDescription string `json:"chargeDescription,omitempty"`
}

// SubscriptionResult is a provider's answer about a subscription. Status
// is its subscriptionSnapshot's (trialing, active, expired, canceled,
// unpaid, pending), or active for a bare success and canceled/failed
// answers as the provider says.
type SubscriptionResult struct {
	Succeeded              bool
	Status                 string
	ProviderSubscriptionID string
	Message                string
}

type subscriptionAnswer struct {
	Success      flexBool   `json:"success"`
	Failed       flexBool   `json:"failed"`
	Message      any        `json:"message"`
	Status       string     `json:"subscriptionStatus"`
	Subscription *subAnswer `json:"subscription"`
	Snapshot     *subSnap   `json:"subscriptionSnapshot"`
}

type subAnswer struct {
	SubscriptionID flexString `json:"subscriptionId"`
	Snapshot       *subSnap   `json:"subscriptionSnapshot"`
}

type subSnap struct {
	ID     flexString `json:"id"`
	Status string     `json:"status"`
}

func (a *subscriptionAnswer) result(ep *provider.Endpoint, def string) SubscriptionResult {
	r := SubscriptionResult{Succeeded: bool(a.Success) && !bool(a.Failed), Status: a.Status}
	if s, ok := a.Message.(string); ok {
		r.Message = clip(redact(s, ep), 200)
	}
	snap := a.Snapshot
	if a.Subscription != nil {
		r.ProviderSubscriptionID = string(a.Subscription.SubscriptionID)
		if a.Subscription.Snapshot != nil {
			snap = a.Subscription.Snapshot
		}
	}
	if snap != nil {
		if snap.Status != "" {
			r.Status = strings.ToLower(snap.Status)
		}
		if r.ProviderSubscriptionID == "" {
			r.ProviderSubscriptionID = string(snap.ID)
		}
	}
	if r.Status == "" {
		r.Status = def
		if !r.Succeeded {
			r.Status = "failed"
		}
	}
	return r
}

// CreateSubscription asks the account's provider of mode m to start a
// subscription (create_subscription). A refusal is a result with Succeeded
// false, not an error; a provider that fails to answer is EPROCESSOR (and
// the caller must not simply try again with new ids).
func (p *Processor) CreateSubscription(ctx context.Context, accountID string, m tender.Mode, sp SubscriptionParams) (SubscriptionResult, error) {
	var v tender.Validation
	if sp.SubscriptionID == "" {
		v.Add("subscriptionId", "should not be empty")
	}
	if sp.Amount <= 0 {
		v.Add("amount", "must be a positive number")
	}
	switch sp.Interval {
	case "day", "week", "month", "year":
	default:
		v.Add("interval", "must be one of the following values: day, week, month, year")
	}
	if err := v.Err(); err != nil {
		return SubscriptionResult{}, err
	}
	ep, err := p.connected(ctx, accountID, m, sp.ProviderID)
	if err != nil {
		return SubscriptionResult{}, err
	}
	q := subscriptionQuery{query: newQuery(ep, TypeCreateSubscription), SubscriptionID: sp.SubscriptionID, TransactionID: sp.TransactionID,
		ContactID: sp.ContactID, PaymentMethodID: sp.PaymentMethodID, Amount: major(sp.Amount, sp.Currency),
		Currency: string(sp.Currency), StartDate: sp.StartDate.UTC().Format("2006-01-02"), ChargeDescription: sp.Description}
	q.RecurringSchedule.Interval, q.RecurringSchedule.IntervalCount = sp.Interval, max(sp.IntervalCount, 1)
	var a subscriptionAnswer
	if err := p.Client.call(ctx, ep, TypeCreateSubscription, q, &a); err != nil {
		if ce, ok := asCallError(err); ok && ce.Refused {
			return SubscriptionResult{Status: "failed", Message: ce.Msg}, nil
		}
		return SubscriptionResult{}, tender.Errorf(tender.EPROCESSOR, "%s", err.Error())
	}
	return a.result(ep, "active"), nil
}

type cancelQuery struct {
	query
	SubscriptionID         string `json:"subscriptionId"`
	ProviderSubscriptionID string `json:"providerSubscriptionId,omitempty"`
	ContactID              string `json:"contactId,omitempty"`
}

// CancelParams cancel a subscription at a provider: SubscriptionID is
// tender's id, ProviderSubscriptionID the provider's when it gave one,
// ProviderID the provider that runs it (else the account's connected one).
type CancelParams struct {
	ProviderID             string
	SubscriptionID         string
	ProviderSubscriptionID string
	ContactID              string
}

// CancelSubscription asks a provider of mode m to cancel a subscription
// (cancel_subscription). A refusal is a result with Succeeded false.
func (p *Processor) CancelSubscription(ctx context.Context, accountID string, m tender.Mode, cp CancelParams) (SubscriptionResult, error) {
	subscriptionID, providerSubscriptionID := cp.SubscriptionID, cp.ProviderSubscriptionID
	if subscriptionID == "" {
		return SubscriptionResult{}, tender.FieldError("subscriptionId", "should not be empty")
	}
	ep, err := p.connected(ctx, accountID, m, cp.ProviderID)
	if err != nil {
		return SubscriptionResult{}, err
	}
	q := cancelQuery{query: newQuery(ep, TypeCancelSubscription), SubscriptionID: subscriptionID, ProviderSubscriptionID: providerSubscriptionID,
		ContactID: cp.ContactID}
	var a subscriptionAnswer
	if err := p.Client.call(ctx, ep, TypeCancelSubscription, q, &a); err != nil {
		if ce, ok := asCallError(err); ok && ce.Refused {
			return SubscriptionResult{Status: "failed", Message: ce.Msg}, nil
		}
		return SubscriptionResult{}, tender.Errorf(tender.EPROCESSOR, "%s", err.Error())
	}
	return a.result(ep, "canceled"), nil
}
