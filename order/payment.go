package order

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/store"
)

// Manual payment modes of RecordPayment.
var ManualModes = []string{"cash", "card", "cheque", "bank_transfer", "other"}

// CardTypes are the card brands a recorded card payment may name.
var CardTypes = []string{"visa", "mastercard", "other"}

// metaManualMode is the key of a recorded payment's intent metadata that
// holds its manual mode; it marks the payment as manual.
const metaManualMode = "manual_payment_mode"

// RecordParams records a payment collected outside tender (cash, a card
// terminal, a cheque, …) against an order.
type RecordParams struct {
	Mode         string
	Card         *tender.CardBrief // Brand is visa, mastercard or other
	ChequeNumber *string
	Notes        string
	// Amount in minor units of the order's currency; nil pays what is due.
	Amount    *int64
	Meta      json.RawMessage
	CreatedBy string
}

func (p *RecordParams) validate() error {
	var v tender.Validation
	if !slices.Contains(ManualModes, p.Mode) {
		v.Add("mode", "must be one of the following values: "+strings.Join(ManualModes, ", "))
	}
	if c := p.Card; c != nil {
		if !slices.Contains(CardTypes, c.Brand) {
			v.Add("card.type", "must be one of the following values: "+strings.Join(CardTypes, ", "))
		}
		if len(c.Last4) != 4 || strings.Trim(c.Last4, "0123456789") != "" {
			v.Add("card.last4", "must be 4 digits")
		}
	}
	if p.ChequeNumber != nil && strings.TrimSpace(*p.ChequeNumber) == "" {
		v.Add("cheque.number", "should not be empty")
	}
	if p.Amount != nil && *p.Amount <= 0 {
		v.Add("amount", "must be a positive number")
	}
	if len(p.Notes) > 5000 {
		v.Add("notes", "must be shorter than or equal to 5000 characters")
	}
	if !validObject(p.Meta) {
		v.Add("meta", "must be an object")
	}
	return v.Err()
}

// recordingKey marks a context whose payment is a RecordPayment of an
// order: the hook then refuses to take the order past its amount.
type recordingKey struct{}

type recording struct {
	orderID   string
	createdBy string
	mode      string
}

// collectible is what a payment of o collects: want, or all that is due
// when want is nil. An order with nothing due is ECONFLICT (then says what
// cannot be done); more than is due is EINVALID naming amount.
func collectible(o *tender.Order, want *int64, then string) (int64, error) {
	due := o.Due()
	if due == 0 {
		return 0, tender.Errorf(tender.ECONFLICT, "order %s is %s with nothing due; %s", o.ID, o.PaymentStatus, then)
	}
	if want == nil {
		return due, nil
	}
	if *want > due {
		return 0, tender.FieldError("amount", fmt.Sprintf("must not be greater than the amount due, %s", money(due, o.Currency)))
	}
	return *want, nil
}

// RecordPayment records a manual payment of p.Amount (what is due when
// nil) against order id: an external payment intent and payment, captured,
// whose reference id is the order's, made through the payment engine so
// that it is a payment of every dialect. The order's payment status moves
// from unpaid to partially_paid to paid (status completed) in the same
// transaction. An amount above what is due is EINVALID naming amount; an
// order with nothing due is ECONFLICT.
func (s *Service) RecordPayment(ctx context.Context, sc tender.Scope, id string, p RecordParams) (*tender.Order, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	o, err := s.Get(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	amount, err := collectible(o, p.Amount, "no amount can be recorded")
	if err != nil {
		return nil, err
	}
	meta, _ := json.Marshal(map[string]any{"order_id": o.ID, metaManualMode: p.Mode})
	gateway := map[string]any{"manual": true, "mode": p.Mode}
	if p.Notes != "" {
		gateway["notes"] = p.Notes
	}
	if p.ChequeNumber != nil {
		gateway["cheque_number"] = *p.ChequeNumber
	}
	if len(p.Meta) > 0 && string(p.Meta) != "null" {
		gateway["meta"] = p.Meta
	}
	gw, err := json.Marshal(gateway)
	if err != nil {
		return nil, err
	}
	ep := payment.ExternalPaymentParams{
		Intent: payment.IntentParams{Amount: amount, Currency: o.Currency, ReferenceID: o.ID,
			Description: "Payment recorded for order " + o.ID, Metadata: meta},
		SourceType:     p.Mode,
		BillingDetails: &tender.BillingDetails{Name: o.Contact.Name, Email: o.Contact.Email},
		Gateway:        gw,
	}
	// A card with its brand and last four is a card; every other manual
	// payment (cash, a cheque, a transfer, a card without details) is kept
	// as a bank-type external method whose source type names the mode.
	if p.Card != nil {
		ep.MethodType, ep.Card = tender.MethodCard, &tender.CardDetails{Brand: p.Card.Brand, LastFour: p.Card.Last4}
	} else {
		masked := ""
		if p.ChequeNumber != nil {
			masked = strings.TrimSpace(*p.ChequeNumber)
		}
		ep.MethodType, ep.Bank = tender.MethodBank, &tender.BankDetails{MaskedAccount: masked, AccountType: p.Mode}
	}
	rctx := context.WithValue(ctx, recordingKey{}, recording{orderID: o.ID, createdBy: p.CreatedBy, mode: p.Mode})
	if _, err := s.Payments.CreateExternalPayment(rctx, scopeOf(sc, o.AccountID, o.Mode), ep); err != nil {
		return nil, err
	}
	return s.Get(ctx, sc, id)
}

// PaymentChanged implements payment.Hook: it writes the payment's
// transaction and, when the payment belongs to an order, settles the order.
func (s *Service) PaymentChanged(ctx context.Context, tx store.Tx, c payment.Change) error {
	pi, pay := c.Intent, c.Payment
	o, err := linkedOrder(ctx, tx, pay, pi)
	if err != nil {
		return err
	}
	var sub *tender.Subscription
	if o == nil {
		if sub, err = linkedSubscription(ctx, tx, pay, pi); err != nil {
			return err
		}
	}
	rec, _ := ctx.Value(recordingKey{}).(recording)
	if rec.orderID != "" && (o == nil || o.ID != rec.orderID) {
		rec = recording{}
	}
	x, err := tx.FindTransactionByID(ctx, pay.AccountID, pay.ID)
	isNew := tender.ErrorCode(err) == tender.ENOTFOUND
	if isNew {
		x, err = newTransaction(ctx, tx, pi, pay, o, sub, rec)
	}
	if err != nil {
		return err
	}
	now := tx.Now()
	x.Status, x.Amount, x.AmountCaptured, x.AmountRefunded = pay.Status, pay.Amount, pay.AmountCaptured, pay.AmountRefunded
	if r, ok := tender.ParseProviderChargeRef(pay.ProcessorRef); ok && r.ChargeID != "" {
		x.ChargeID = r.ChargeID // a pending charge's id arrives when it settles
	}
	x.UpdatedAt = now
	if pay.AmountCaptured > 0 && x.CapturedAt == nil {
		x.CapturedAt = &now
	}
	put := tx.UpdateTransaction
	if isNew {
		put = tx.CreateTransaction
	}
	if err := put(ctx, x); err != nil {
		return err
	}
	if o == nil {
		return nil
	}
	return settleOrder(ctx, tx, o, x, c.Refund, rec, pay.ProcessorRef)
}

// linkedOrder returns the order pi pays (its reference id names an order
// of the payment's account and mode, in the order's currency), or nil.
func linkedOrder(ctx context.Context, tx store.Tx, pay *tender.Payment, pi *tender.PaymentIntent) (*tender.Order, error) {
	if !strings.HasPrefix(pi.ReferenceID, tender.PrefixOrder) {
		return nil, nil
	}
	o, err := tx.FindOrderByID(ctx, pay.AccountID, pi.ReferenceID)
	if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && (o.Mode != pay.Mode || o.Currency != pay.Currency)) {
		return nil, nil
	}
	return o, err
}

// linkedSubscription returns the subscription pi pays (its reference id
// names a subscription of the payment's account and mode, in the
// subscription's currency), or nil.
func linkedSubscription(ctx context.Context, tx store.Tx, pay *tender.Payment, pi *tender.PaymentIntent) (*tender.Subscription, error) {
	if !strings.HasPrefix(pi.ReferenceID, tender.PrefixSubscription) {
		return nil, nil
	}
	sub, err := tx.FindSubscriptionByID(ctx, pay.AccountID, pi.ReferenceID)
	if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && (sub.Mode != pay.Mode || sub.Currency != pay.Currency)) {
		return nil, nil
	}
	return sub, err
}

// ContactOf implements payment.ContactResolver: the contact of the order
// or subscription pi's reference id names, or "".
func (s *Service) ContactOf(ctx context.Context, tx store.Tx, pi *tender.PaymentIntent) (string, error) {
	switch {
	case strings.HasPrefix(pi.ReferenceID, tender.PrefixOrder):
		o, err := tx.FindOrderByID(ctx, pi.AccountID, pi.ReferenceID)
		if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && o.Mode != pi.Mode) {
			return "", nil
		} else if err != nil {
			return "", err
		}
		return o.Contact.ID, nil
	case strings.HasPrefix(pi.ReferenceID, tender.PrefixSubscription):
		sub, err := tx.FindSubscriptionByID(ctx, pi.AccountID, pi.ReferenceID)
		if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && sub.Mode != pi.Mode) {
			return "", nil
		} else if err != nil {
			return "", err
		}
		return sub.Contact.ID, nil
	}
	return "", nil
}

// newTransaction builds the transaction view of a new payment.
func newTransaction(ctx context.Context, tx store.Tx, pi *tender.PaymentIntent, pay *tender.Payment, o *tender.Order, sub *tender.Subscription, rec recording) (*tender.Transaction, error) {
	x := &tender.Transaction{ID: pay.ID, AccountID: pay.AccountID, Mode: pay.Mode, PaymentIntentID: pi.ID, PaymentMethodID: pay.PaymentMethodID,
		Currency: pay.Currency, ProviderType: tender.ProviderTender, ChargeID: pay.ID, Description: pi.Description, CreatedAt: pay.CreatedAt}
	if pay.ProcessorRef != "" {
		x.ChargeID = pay.ProcessorRef
	}
	if r, ok := tender.ParseProviderChargeRef(pay.ProcessorRef); ok {
		// Taken by a custom provider: its charge id (known once charged).
		x.ProviderType, x.ChargeID = tender.ProviderCustom, r.ChargeID
		if x.ChargeID == "" {
			x.ChargeID = pay.ID
		}
	}
	switch {
	case o != nil:
		x.EntityType, x.EntityID, x.Contact, x.Source = "order", o.ID, o.Contact, o.Source
		if len(o.SubscriptionIDs) > 0 {
			x.SubscriptionID = o.SubscriptionIDs[0]
		}
	case sub != nil:
		x.EntityType, x.EntityID, x.SubscriptionID, x.Contact, x.Source = "subscription", sub.ID, sub.ID, sub.Contact, sub.Source
	default:
		// A payment of no order: its source is the intent that made it.
		x.Source = tender.OrderSource{Type: "external", ID: pi.ID, Name: pi.Description}
		if b := pay.BillingDetails; b != nil {
			x.Contact = tender.Contact{Name: b.Name, Email: b.Email, Phone: b.Phone}
		}
	}
	var meta map[string]any
	_ = json.Unmarshal(pi.Metadata, &meta)
	manual, _ := meta[metaManualMode].(string)
	if pay.External && x.ProviderType == tender.ProviderTender {
		x.ProviderType = tender.ProviderExternal
		if manual != "" || rec.orderID != "" {
			x.ProviderType, x.Method = tender.ProviderManual, manual
		}
	}
	if pay.PaymentMethodID != "" {
		pm, err := tx.FindPaymentMethodByID(ctx, tender.Scope{AccountID: pay.AccountID, Mode: pay.Mode}, pay.PaymentMethodID)
		if err != nil && tender.ErrorCode(err) != tender.ENOTFOUND {
			return nil, err
		}
		if pm != nil {
			if x.Method == "" {
				x.Method = pm.Type
			}
			if pm.Card != nil {
				x.Card = &tender.CardBrief{Brand: pm.Card.Brand, Last4: pm.Card.LastFour}
			}
		}
	}
	return x, nil
}

// settleOrder recomputes o's amounts from its transactions after a change
// of x, and moves its statuses, notes and subscriptions.
func settleOrder(ctx context.Context, tx store.Tx, o *tender.Order, x *tender.Transaction, r *tender.Refund, rec recording, chargeRef string) error {
	txns, err := tx.ListTransactionsByEntity(ctx, o.AccountID, o.ID)
	if err != nil {
		return err
	}
	var paid, refunded int64
	for _, t := range txns {
		if paid, err = tender.AddAmounts(paid, t.AmountCaptured); err != nil {
			return err
		}
		if refunded, err = tender.AddAmounts(refunded, t.AmountRefunded); err != nil {
			return err
		}
	}
	if paid == o.AmountPaid && refunded == o.AmountRefunded {
		return nil
	}
	if rec.orderID == o.ID && paid > o.Amount && paid > o.AmountPaid {
		// Another payment was recorded meanwhile: this one would overpay.
		return tender.FieldError("amount", fmt.Sprintf("must not be greater than the amount due, %s", money(o.Due(), o.Currency)))
	}
	cp := *o
	o = &cp
	before := o.PaymentStatus
	if paid > o.AmountPaid {
		got := paid - o.AmountPaid
		if rec.orderID == o.ID {
			err = addNote(ctx, tx, o, NotePaymentRecorded, rec.createdBy, "Payment of %s recorded (%s)", money(got, o.Currency), rec.mode)
		} else {
			err = addNote(ctx, tx, o, NotePaymentReceived, "", "Payment of %s received (%s)", money(got, o.Currency), x.ID)
		}
		if err != nil {
			return err
		}
	}
	if refunded > o.AmountRefunded {
		if err := addNote(ctx, tx, o, NoteRefunded, "", "Refund of %s (%s)", money(refunded-o.AmountRefunded, o.Currency), refundID(r, x)); err != nil {
			return err
		}
	}
	o.AmountPaid, o.AmountRefunded, o.UpdatedAt = paid, refunded, tx.Now()
	o.Settle()
	if o.PaymentStatus == tender.PaymentStatusPaid && before != tender.PaymentStatusPaid && o.PaidAt == nil {
		now := tx.Now()
		o.PaidAt = &now
		if err := addNote(ctx, tx, o, NotePaid, "", "Order paid in full"); err != nil {
			return err
		}
		if err := activateSubscriptions(ctx, tx, o, x, chargeRef); err != nil {
			return err
		}
	}
	if err := tx.UpdateOrder(ctx, o); err != nil {
		return err
	}
	return recordOrder(ctx, tx, o, tender.EventOrderUpdated)
}

func refundID(r *tender.Refund, x *tender.Transaction) string {
	if r != nil {
		return r.ID
	}
	return x.ID
}

// activateSubscriptions starts the subscriptions of a paid order (active
// for a first period from now, or trialing), paid by x's payment method;
// when x went through a custom provider, the provider runs them.
func activateSubscriptions(ctx context.Context, tx store.Tx, o *tender.Order, x *tender.Transaction, chargeRef string) error {
	now := tx.Now()
	for _, id := range o.SubscriptionIDs {
		sub, err := tx.FindSubscriptionByID(ctx, o.AccountID, id)
		if err != nil {
			return err
		}
		if sub.Status != tender.SubscriptionIncomplete {
			continue
		}
		startSubscription(sub, now)
		if sub.PaymentMethodID == "" {
			sub.PaymentMethodID = x.PaymentMethodID
		}
		if r, ok := tender.ParseProviderChargeRef(chargeRef); ok && x.ProviderType == tender.ProviderCustom {
			// Paid through a custom provider: it runs the subscription.
			if err := handOver(ctx, tx, sub, x, r.ProviderID); err != nil {
				return err
			}
		}
		if err := tx.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, tender.Scope{AccountID: sub.AccountID, Mode: sub.Mode}, tender.EventSubscriptionUpdated, sub); err != nil {
			return err
		}
	}
	return nil
}
