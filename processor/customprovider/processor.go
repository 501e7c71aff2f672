package customprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/provider"
)

// Directory finds the custom provider a payment goes to (provider.Service
// implements it).
type Directory interface {
	// Connected returns the endpoint of the account's provider connected
	// for mode m, or ENOTFOUND when there is none.
	Connected(ctx context.Context, accountID string, m tender.Mode) (*provider.Endpoint, error)
	// EndpointByID returns the endpoint of provider id in mode m.
	EndpointByID(ctx context.Context, id string, m tender.Mode) (*provider.Endpoint, error)
}

// DefaultSettleAfter is when a charge left pending is verified again.
const DefaultSettleAfter = 30 * time.Second

// Processor is processor.Processor for every payment: a payment of an
// account whose custom provider is connected in the payment's mode goes to
// that provider; every other one, and every tokenization, to Fallback.
// Capture, Void, Refund and Settle follow the payment's processor
// reference, which names the provider that took it.
//
// The protocol has no authorization hold: charge_payment takes the money.
// So Authorize charges (even when the intent captures later), Capture
// verifies the charge and refunds what is not captured, and Void refunds
// the whole charge.
type Processor struct {
	Fallback  processor.Processor
	Providers Directory
	Client    *Client
	Log       *slog.Logger
	// SettleAfter is when a charge whose outcome the provider did not tell
	// is verified again (by the payment settle job).
	SettleAfter time.Duration
}

var _ processor.Processor = (*Processor)(nil)

// New returns a Processor routing to providers through client, and to
// fallback otherwise.
func New(fallback processor.Processor, providers Directory, client *Client, log *slog.Logger) *Processor {
	if log == nil {
		log = client.Log
	}
	return &Processor{Fallback: fallback, Providers: providers, Client: client, Log: log, SettleAfter: DefaultSettleAfter}
}

// Name returns the fallback's name: payments record the provider in their
// processor reference instead.
func (p *Processor) Name() string { return p.Fallback.Name() }

// TokenizeCard vaults a card with the fallback processor (the protocol has
// no tokenization: a provider's own methods are listed, not made here).
func (p *Processor) TokenizeCard(ctx context.Context, c processor.CardInput) (processor.Token, error) {
	return p.Fallback.TokenizeCard(ctx, c)
}

// TokenizeBank vaults a bank account with the fallback processor.
func (p *Processor) TokenizeBank(ctx context.Context, b processor.BankInput) (processor.Token, error) {
	return p.Fallback.TokenizeBank(ctx, b)
}

// ---- references ----

// Ref is the processor reference of a payment a custom provider took (see
// tender.ProviderChargeRef for its format).
type Ref = tender.ProviderChargeRef

// ParseRef decodes a processor reference made by this package; ok is false
// for any other (a sim reference, say).
func ParseRef(s string) (Ref, bool) { return tender.ParseProviderChargeRef(s) }

// IsRef reports whether a payment's processor reference names a custom
// provider (for dialects that show who processed a payment).
func IsRef(s string) bool { _, ok := ParseRef(s); return ok }

// ---- wire ----

// query is what every call carries.
type query struct {
	Type       string `json:"type"`
	APIKey     string `json:"apiKey"`
	LocationID string `json:"locationId"`
	LiveMode   bool   `json:"liveMode"`
}

func newQuery(ep *provider.Endpoint, typ string) query {
	return query{Type: typ, APIKey: ep.APIKey.Reveal(), LocationID: ep.AccountID, LiveMode: ep.Mode == tender.ModeLive}
}

type chargeQuery struct {
	query
	TransactionID     string      `json:"transactionId"`
	PaymentMethodID   string      `json:"paymentMethodId"`
	ContactID         string      `json:"contactId,omitempty"`
	ChargeDescription string      `json:"chargeDescription,omitempty"`
	Amount            json.Number `json:"amount"`
	Currency          string      `json:"currency"`
}

type verifyQuery struct {
	query
	TransactionID string `json:"transactionId"`
	ChargeID      string `json:"chargeId,omitempty"`
}

type refundQuery struct {
	query
	TransactionID string      `json:"transactionId"`
	ChargeID      string      `json:"chargeId,omitempty"`
	RefundID      string      `json:"refundId"`
	Amount        json.Number `json:"amount"`
	Currency      string      `json:"currency"`
}

// chargeSnapshot is a provider's view of a charge.
type chargeSnapshot struct {
	ID        flexString      `json:"id"`
	Status    string          `json:"status"`
	Amount    flexString      `json:"amount"`
	ChargeID  flexString      `json:"chargeId"`
	ChargedAt json.RawMessage `json:"chargedAt"`
}

// answer is a provider's answer to verify, charge_payment and refund.
type answer struct {
	Success        flexBool        `json:"success"`
	Failed         flexBool        `json:"failed"`
	Message        any             `json:"message"`
	ChargeID       flexString      `json:"chargeId"`
	ID             flexString      `json:"id"`
	ChargeSnapshot *chargeSnapshot `json:"chargeSnapshot"`
}

// Charge statuses of the protocol.
const (
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusPending   = "pending"
)

// status is the charge's status: the snapshot's when it names one, else
// succeeded for success, failed for failed, pending for neither.
func (a *answer) status() string {
	if s := a.ChargeSnapshot; s != nil {
		switch st := strings.ToLower(s.Status); st {
		case statusSucceeded, statusFailed, statusPending:
			return st
		}
	}
	switch {
	case bool(a.Success) && !bool(a.Failed):
		return statusSucceeded
	case bool(a.Failed):
		return statusFailed
	}
	return statusPending
}

// chargeID is the provider's id of the charge.
func (a *answer) chargeID() string {
	if a.ChargeID != "" {
		return string(a.ChargeID)
	}
	if s := a.ChargeSnapshot; s != nil {
		if s.ChargeID != "" {
			return string(s.ChargeID)
		}
		return string(s.ID)
	}
	return ""
}

// message is the answer's message, clipped and without the API key.
func (a *answer) message(ep *provider.Endpoint) string {
	if s, ok := a.Message.(string); ok {
		return clip(redact(s, ep), 200)
	}
	return ""
}

// ---- money calls ----

// Authorize charges the payment through the account's connected provider
// (charge_payment, transactionId = the payment's id) or, when there is
// none, authorizes with the fallback.
//
// Outcomes: the provider's succeeded, failed or pending; a provider that
// cannot be reached (nothing was sent) declines with processor_unavailable;
// a 3xx or 4xx answer declines with processor_refused; an unknown outcome
// (timeout, 5xx, unreadable answer) is verified once, and left pending for
// the settle job when verify does not tell either.
func (p *Processor) Authorize(ctx context.Context, ap processor.AuthorizeParams) (processor.AuthResult, error) {
	if ap.AccountID == "" {
		return p.Fallback.Authorize(ctx, ap)
	}
	methodID := ap.PaymentMethodID
	var ep *provider.Endpoint
	var err error
	if tok, ok := tender.ParseProviderMethodToken(ap.Token); ok {
		// A method the provider keeps: charged there, with its own id.
		methodID = tok.MethodID
		ep, err = p.Providers.EndpointByID(ctx, tok.ProviderID, ap.Mode)
		if code := tender.ErrorCode(err); code == tender.EPROCESSOR || code == tender.ENOTFOUND {
			ref := Ref{ProviderID: tok.ProviderID, Mode: ap.Mode, TransactionID: ap.Key, Currency: tender.Currency(ap.Currency), Amount: ap.Amount}
			return processor.AuthResult{Outcome: processor.Declined, Ref: ref.String(), DeclineCode: "processor_unavailable",
				ResponseText: "The custom payment provider that keeps this payment method is deleted or disconnected; nothing was charged."}, nil
		} else if err != nil {
			return processor.AuthResult{}, err
		}
	} else {
		ep, err = p.Providers.Connected(ctx, ap.AccountID, ap.Mode)
		if tender.ErrorCode(err) == tender.ENOTFOUND {
			return p.Fallback.Authorize(ctx, ap)
		} else if err != nil {
			return processor.AuthResult{}, err
		}
	}
	cur := tender.Currency(ap.Currency)
	ref := Ref{ProviderID: ep.ProviderID, Mode: ap.Mode, TransactionID: ap.Key, Currency: cur, Amount: ap.Amount}
	q := chargeQuery{query: newQuery(ep, TypeChargePayment), TransactionID: ap.Key, PaymentMethodID: methodID,
		ContactID: ap.ContactID, ChargeDescription: ap.Description, Amount: major(ap.Amount, cur), Currency: strings.ToUpper(ap.Currency)}
	var a answer
	err = p.Client.call(ctx, ep, TypeChargePayment, q, &a)
	if err == nil {
		return p.result(ep, ref, &a), nil
	}
	ce, ok := asCallError(err)
	switch {
	case !ok:
		return processor.AuthResult{}, err
	case ce.Unsent:
		return processor.AuthResult{Outcome: processor.Declined, Ref: ref.String(), DeclineCode: "processor_unavailable",
			ResponseText: "The custom payment provider could not be reached; nothing was charged."}, nil
	case ce.Refused:
		return processor.AuthResult{Outcome: processor.Declined, Ref: ref.String(), DeclineCode: "processor_refused",
			ResponseText: clip(ce.Msg, 255)}, nil
	}
	// The request may have been acted on: ask rather than guess, and never
	// charge again.
	var v answer
	if verr := p.Client.call(context.WithoutCancel(ctx), ep, TypeVerify, verifyQuery{query: newQuery(ep, TypeVerify), TransactionID: ap.Key}, &v); verr == nil {
		if st := v.status(); st != statusPending {
			return p.result(ep, ref, &v), nil
		}
	}
	p.Log.Warn("custom provider charge outcome unknown; left pending", "provider", ep.ProviderID, "transaction", ap.Key)
	return processor.AuthResult{Outcome: processor.Pending, Ref: ref.String(), SettleAfter: p.SettleAfter,
		ResponseText: "The custom payment provider did not confirm the charge yet."}, nil
}

// result turns a provider's answer about a charge into an authorization's
// outcome.
func (p *Processor) result(ep *provider.Endpoint, ref Ref, a *answer) processor.AuthResult {
	if id := a.chargeID(); id != "" {
		ref.ChargeID = id
	}
	r := processor.AuthResult{Ref: ref.String(), ResponseText: a.message(ep)}
	switch a.status() {
	case statusSucceeded:
		r.Outcome, r.AuthCode = processor.Approved, clip(ref.ChargeID, 40)
		if r.ResponseText == "" {
			r.ResponseText = "Approved"
		}
	case statusFailed:
		r.Outcome, r.DeclineCode = processor.Declined, "card_declined"
		if r.ResponseText == "" {
			r.ResponseText = "Declined by the custom payment provider"
		}
	default:
		r.Outcome, r.SettleAfter = processor.Pending, p.SettleAfter
		if r.ResponseText == "" {
			r.ResponseText = "Pending at the custom payment provider"
		}
	}
	return r
}

// endpointOf returns the endpoint of a reference's provider.
func (p *Processor) endpointOf(ctx context.Context, r Ref) (*provider.Endpoint, error) {
	return p.Providers.EndpointByID(ctx, r.ProviderID, r.Mode)
}

// verify asks the provider for a charge's status.
func (p *Processor) verify(ctx context.Context, ep *provider.Endpoint, r Ref) (*answer, error) {
	var a answer
	err := p.Client.call(ctx, ep, TypeVerify, verifyQuery{query: newQuery(ep, TypeVerify), TransactionID: r.TransactionID, ChargeID: r.ChargeID}, &a)
	if err != nil {
		return nil, tender.Errorf(tender.EPROCESSOR, "%s", err.Error())
	}
	return &a, nil
}

// refund asks the provider to refund amount of a charge; key is tender's id
// of the refund, sent as refundId.
func (p *Processor) refund(ctx context.Context, ep *provider.Endpoint, r Ref, key string, amount int64) (string, error) {
	q := refundQuery{query: newQuery(ep, TypeRefund), TransactionID: r.TransactionID, ChargeID: r.ChargeID, RefundID: key,
		Amount: major(amount, r.Currency), Currency: string(r.Currency)}
	var a answer
	if err := p.Client.call(ctx, ep, TypeRefund, q, &a); err != nil {
		return "", tender.Errorf(tender.EPROCESSOR, "%s", err.Error())
	}
	if !a.Success || a.Failed {
		msg := a.message(ep)
		if msg == "" {
			msg = "no reason given"
		}
		return "", tender.Errorf(tender.EPROCESSOR, "custom provider %s refused the refund: %s", ep.ProviderID, msg)
	}
	if id := string(a.ID); id != "" {
		return id, nil
	}
	return key, nil
}

// Capture verifies a charge a provider took and refunds what is not
// captured.
func (p *Processor) Capture(ctx context.Context, key, ref string, amount int64) error {
	r, ok := ParseRef(ref)
	if !ok {
		return p.Fallback.Capture(ctx, key, ref, amount)
	}
	ep, err := p.endpointOf(ctx, r)
	if err != nil {
		return err
	}
	a, err := p.verify(ctx, ep, r)
	if err != nil {
		return err
	}
	if st := a.status(); st != statusSucceeded {
		return tender.Errorf(tender.EPROCESSOR, "custom provider %s reports the charge %s; it cannot be captured", ep.ProviderID, st)
	}
	if rest := r.Amount - amount; rest > 0 {
		if _, err := p.refund(ctx, ep, r, key, rest); err != nil {
			return err
		}
	}
	return nil
}

// Void refunds the whole charge a provider took.
func (p *Processor) Void(ctx context.Context, key, ref string) error {
	r, ok := ParseRef(ref)
	if !ok {
		return p.Fallback.Void(ctx, key, ref)
	}
	ep, err := p.endpointOf(ctx, r)
	if err != nil {
		return err
	}
	_, err = p.refund(ctx, ep, r, key, r.Amount)
	return err
}

// Refund refunds amount of a charge a provider took (refund, with
// transactionId the payment's id and refundId tender's refund id).
func (p *Processor) Refund(ctx context.Context, key, ref string, amount int64) (string, error) {
	r, ok := ParseRef(ref)
	if !ok {
		return p.Fallback.Refund(ctx, key, ref, amount)
	}
	ep, err := p.endpointOf(ctx, r)
	if err != nil {
		return "", err
	}
	return p.refund(ctx, ep, r, key, amount)
}

// Settle verifies a pending charge: Approved when the provider reports it
// succeeded, Declined when failed, and an error (the job retries) while it
// is pending or the provider does not answer.
func (p *Processor) Settle(ctx context.Context, ref, token string) (processor.AuthResult, error) {
	r, ok := ParseRef(ref)
	if !ok {
		return p.Fallback.Settle(ctx, ref, token)
	}
	ep, err := p.endpointOf(ctx, r)
	if err != nil {
		return processor.AuthResult{}, err
	}
	a, err := p.verify(ctx, ep, r)
	if err != nil {
		return processor.AuthResult{}, err
	}
	res := p.result(ep, r, a)
	if res.Outcome == processor.Pending {
		return processor.AuthResult{}, fmt.Errorf("custom provider %s: charge %s is still pending", ep.ProviderID, r.TransactionID)
	}
	return res, nil
}
