// Package payment holds the business rules of payment intents, their
// payments (attempts) and refunds, payment methods and external payments.
// Every dialect calls this one service; none repeats its rules.
//
// # Processor calls
//
// A command that calls the processor does so outside any transaction, while
// holding the intent's claim (store.Store.Claim) so that no other command on
// the same intent runs meanwhile. It then records the outcome in one write
// transaction that re-checks the intent's state. If that check fails, an
// authorization just made is voided again.
//
// # Ledger
//
// Every command that moves money posts its ledger transaction (package
// ledger) in the store transaction of its state change: a capture (card, a
// bank payment when it settles, or an external payment) posts a payment
// with the fee of the account's processing plan, a refund posts a refund.
// Settlement later marks payments, their intents and refunds settled.
//
// # Disputes
//
// A processor may announce, when it authorizes, that the cardholder will
// dispute the payment (the sim's dispute card); the capture then queues a
// job that opens the dispute after the announced delay. Opening holds the
// disputed amount and the plan's dispute fee in the dispute reserve;
// MoveDispute decides it (won, lost, accepted) or marks it contested, with
// its ledger posting. A payment with an open dispute cannot be refunded;
// after a lost dispute only what the cardholder did not take back can be.
//
// # Errors
//
// Methods return EINVALID naming the field for bad parameters, ENOTFOUND for
// an id outside the caller's scope, ECONFLICT when the object's state forbids
// the operation (the message names the state), and EPROCESSOR when the
// processor failed.
package payment

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/store"
)

// Job kinds this package handles.
const (
	JobSettleBank = "payment.settle_bank"
)

// claimTTL is the lease of an intent's claim. The store renews it while the
// command runs, so it only bounds how long a crashed holder blocks others.
const claimTTL = 15 * time.Second

// Service is the payment engine.
type Service struct {
	Store     store.Store
	Processor processor.Processor
	// FingerprintKey keys the HMAC that fingerprints card and account numbers.
	FingerprintKey []byte
	// Ledger posts the money movements of payments and settles them.
	Ledger *ledger.Service
	// Hooks are told of every payment change, in its transaction (hook.go).
	Hooks []Hook
}

// New returns a Service with its ledger, whose settlement takes intents'
// claims and marks payments, intents and refunds settled.
func New(s store.Store, p processor.Processor, fingerprintKey []byte) *Service {
	svc := &Service{Store: s, Processor: p, FingerprintKey: fingerprintKey, Ledger: ledger.New(s)}
	svc.Ledger.Lock = func(ctx context.Context, intentID string) (func(), error) {
		return s.Claim(ctx, "intent:"+intentID, claimTTL)
	}
	svc.Ledger.OnSettle = svc.markSettled
	return svc
}

// markSettled records on a payment, its intent, or a refund that its
// ledger transaction settled at at. It is the ledger's OnSettle hook and
// runs under the intent's claim.
func (s *Service) markSettled(ctx context.Context, tx store.Tx, t *tender.LedgerTransaction, at time.Time) error {
	sc := tender.Scope{AccountID: t.AccountID, Mode: t.Mode}
	switch t.Kind {
	case ledger.KindPayment, ledger.KindExternalPayment:
		pay, err := tx.FindPaymentByID(ctx, sc, t.SourceID)
		if err != nil {
			return err
		}
		pay.SettlementStatus, pay.SettledAt, pay.UpdatedAt = tender.Settled, &at, at
		if err := tx.UpdatePayment(ctx, pay); err != nil {
			return err
		}
		pi, err := tx.FindPaymentIntentByID(ctx, sc, pay.PaymentIntentID)
		if err != nil {
			return err
		}
		pi.SettlementStatus, pi.SettledAt, pi.UpdatedAt = tender.Settled, &at, at
		return tx.UpdatePaymentIntent(ctx, pi)
	case ledger.KindRefund, ledger.KindExternalRefund:
		r, err := tx.FindRefundByID(ctx, sc, t.SourceID)
		if err != nil {
			return err
		}
		r.SettlementStatus, r.SettledAt, r.UpdatedAt = tender.Settled, &at, at
		return tx.UpdateRefund(ctx, r)
	}
	return nil
}

// postCapture posts the ledger transaction of pay's capture of amount.
func (s *Service) postCapture(ctx context.Context, tx store.Tx, st *tender.AccountSettings, pay *tender.Payment, amount int64) error {
	t, err := ledger.BuildPayment(st, pay, ledger.Method{Type: pay.MethodType, Brand: pay.CardBrand}, amount, tx.Now())
	if err != nil {
		return err
	}
	return s.Ledger.Post(ctx, tx, t)
}

func (s *Service) fingerprint(kind, number string) string {
	m := hmac.New(sha256.New, s.FingerprintKey)
	m.Write([]byte(kind + ":" + number))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ClientSecret returns the intent's client secret: derived from its id with
// the service's key, so it is never stored and always the same.
func (s *Service) ClientSecret(intentID string) string {
	return intentID + "_secret_" + s.fingerprint("client_secret", intentID)[:24]
}

// claimWait is how long a command waits for another command on the same
// intent: a live holder finishes within a processor call, and a crashed
// process's claim lapses within claimTTL.
const claimWait = claimTTL + 5*time.Second

// claim takes the intent's claim, waiting for the current holder if any.
func (s *Service) claim(ctx context.Context, intentID string) (func(), error) {
	deadline := time.Now().Add(claimWait)
	backoff := 5 * time.Millisecond
	for {
		release, err := s.Store.Claim(ctx, "intent:"+intentID, claimTTL)
		if tender.ErrorCode(err) != tender.ECONFLICT {
			return release, err
		}
		if time.Now().Add(backoff).After(deadline) {
			return nil, tender.Errorf(tender.ECONFLICT, "payment intent %s has another operation in progress; retry shortly", intentID)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// validObject reports whether raw is absent or a JSON object.
func validObject(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil
}

func normObject(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// ---- payment methods ----

// PaymentMethodParams creates a payment method. Exactly one of Card and
// Bank is set, matching Type.
type PaymentMethodParams struct {
	Type           string
	Card           *processor.CardInput
	Bank           *processor.BankInput
	BillingDetails *tender.BillingDetails
}

// CreatePaymentMethod tokenizes a card or bank account with the processor
// and stores only what may be shown.
func (s *Service) CreatePaymentMethod(ctx context.Context, sc tender.Scope, p PaymentMethodParams) (*tender.PaymentMethod, error) {
	pm := &tender.PaymentMethod{Type: p.Type, AccountID: sc.AccountID, Mode: sc.Mode, BillingDetails: p.BillingDetails}
	switch p.Type {
	case tender.MethodCard:
		if p.Card == nil {
			return nil, tender.FieldError("card", "is required when payment_method_type is card")
		}
		card := *p.Card
		card.Number = processor.NormalizeNumber(card.Number)
		tok, err := s.Processor.TokenizeCard(ctx, card)
		if err != nil {
			return nil, err
		}
		pm.ProcessorToken = tok.Token
		pm.Card = &tender.CardDetails{Brand: tok.Brand, FirstSix: tok.FirstSix, LastFour: tok.LastFour,
			ExpMonth: p.Card.ExpMonth, ExpYear: p.Card.ExpYear, Fingerprint: s.fingerprint("card", card.Number)}
	case tender.MethodBank:
		if p.Bank == nil {
			return nil, tender.FieldError("bank", "is required when payment_method_type is bank")
		}
		bank := *p.Bank
		bank.AccountNumber = processor.NormalizeNumber(bank.AccountNumber)
		bank.RoutingNumber = processor.NormalizeNumber(bank.RoutingNumber)
		tok, err := s.Processor.TokenizeBank(ctx, bank)
		if err != nil {
			return nil, err
		}
		pm.ProcessorToken = tok.Token
		pm.Bank = &tender.BankDetails{MaskedAccount: mask(bank.AccountNumber), MaskedRouting: mask(bank.RoutingNumber),
			AccountType: bank.AccountType, Fingerprint: s.fingerprint("bank", bank.RoutingNumber+"/"+bank.AccountNumber)}
	default:
		return nil, tender.FieldError("payment_method_type", "must be card or bank")
	}
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		pm.ID, pm.CreatedAt, pm.UpdatedAt = tender.NewID(tender.PrefixPaymentMethod, now), now, now
		if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, tender.EventPaymentMethodCreated, pm); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, pm)
	})
	if err != nil {
		return nil, err
	}
	return pm, nil
}

// mask keeps the last four characters of s.
func mask(s string) string {
	if len(s) <= 4 {
		return s
	}
	b := make([]byte, len(s))
	for i := range b {
		b[i] = '*'
	}
	copy(b[len(s)-4:], s[len(s)-4:])
	return string(b)
}

// PaymentMethodUpdate changes a payment method; nil fields stay.
type PaymentMethodUpdate struct {
	BillingDetails *tender.BillingDetails
	ExpMonth       *int
	ExpYear        *int
}

// UpdatePaymentMethod changes billing details or a card's expiry.
func (s *Service) UpdatePaymentMethod(ctx context.Context, sc tender.Scope, id string, u PaymentMethodUpdate) (*tender.PaymentMethod, error) {
	var pm *tender.PaymentMethod
	err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if pm, err = tx.FindPaymentMethodByID(ctx, sc, id); err != nil {
			return err
		}
		if u.BillingDetails != nil {
			pm.BillingDetails = u.BillingDetails
		}
		if u.ExpMonth != nil || u.ExpYear != nil {
			if pm.Card == nil {
				return tender.FieldError("card", "can only be changed on a card payment method")
			}
			if u.ExpMonth != nil {
				if *u.ExpMonth < 1 || *u.ExpMonth > 12 {
					return tender.FieldError("card.exp_month", "must be between 1 and 12")
				}
				pm.Card.ExpMonth = *u.ExpMonth
			}
			if u.ExpYear != nil {
				if *u.ExpYear < 2000 || *u.ExpYear > 2100 {
					return tender.FieldError("card.exp_year", "must be a four-digit year")
				}
				pm.Card.ExpYear = *u.ExpYear
			}
		}
		pm.UpdatedAt = tx.Now()
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, tender.EventPaymentMethodUpdated, pm); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, pm)
	})
	if err != nil {
		return nil, err
	}
	return pm, nil
}

// ---- payment intents ----

// IntentParams creates a payment intent.
type IntentParams struct {
	Amount             int64
	MerchantAmount     *int64
	Currency           tender.Currency
	Capture            *bool // default true
	PaymentMethodTypes []string
	ReferenceID        string
	Description        string
	Metadata           json.RawMessage
	OrderDetails       json.RawMessage
	PaymentSplits      json.RawMessage
}

func validateAmounts(v *tender.Validation, amount int64, merchant *int64) {
	if amount < 0 {
		v.Add("amount", "must be greater than or equal to 0")
	} else if amount > tender.MaxAmount {
		v.Add("amount", fmt.Sprintf("must be at most %d", tender.MaxAmount))
	}
	if merchant != nil && (*merchant < 0 || *merchant > amount) {
		v.Add("merchant_amount", "must be between 0 and amount")
	}
}

func validateMethodTypes(v *tender.Validation, types []string) {
	for _, t := range types {
		if t != tender.MethodCard && t != tender.MethodBank {
			v.Add("payment_method_types", fmt.Sprintf("contains %q; allowed values are card and bank", t))
		}
	}
}

func (p *IntentParams) validate() error {
	var v tender.Validation
	validateAmounts(&v, p.Amount, p.MerchantAmount)
	if p.Currency == "" {
		p.Currency = "USD"
	}
	if _, err := tender.ParseCurrency(string(p.Currency)); err != nil {
		v.Add("currency", "is not a known ISO 4217 currency code")
	}
	validateMethodTypes(&v, p.PaymentMethodTypes)
	if len(p.ReferenceID) > 255 {
		v.Add("reference_id", "must be at most 255 characters")
	}
	if len(p.Description) > 1000 {
		v.Add("description", "must be at most 1000 characters")
	}
	if !validObject(p.Metadata) {
		v.Add("user_fields", "must be an object")
	}
	if !validObject(p.OrderDetails) {
		v.Add("order_details", "must be an object")
	}
	if err := validateSplits(p.PaymentSplits, p.Amount); err != nil {
		v.Add("payment_splits", err.Error())
	}
	return v.Err()
}

// validateSplits checks that splits is a list of {account_id, amount} whose
// amounts are non-negative and sum to at most amount.
func validateSplits(raw json.RawMessage, amount int64) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var splits []struct {
		AccountID string `json:"account_id"`
		Amount    *int64 `json:"amount"`
	}
	if err := json.Unmarshal(raw, &splits); err != nil {
		return errors.New("must be a list of objects with account_id and amount")
	}
	var sum int64
	for i, sp := range splits {
		if sp.AccountID == "" || sp.Amount == nil || *sp.Amount < 0 {
			return fmt.Errorf("item %d needs an account_id and a non-negative amount", i)
		}
		var err error
		if sum, err = tender.AddAmounts(sum, *sp.Amount); err != nil {
			return errors.New("amounts overflow")
		}
	}
	if sum > amount {
		return errors.New("amounts add up to more than the intent's amount")
	}
	return nil
}

func newIntent(sc tender.Scope, p IntentParams, now time.Time) *tender.PaymentIntent {
	capture := true
	if p.Capture != nil {
		capture = *p.Capture
	}
	types := p.PaymentMethodTypes
	if len(types) == 0 {
		types = []string{tender.MethodCard, tender.MethodBank}
	}
	return &tender.PaymentIntent{
		ID: tender.NewID(tender.PrefixPaymentIntent, now), AccountID: sc.AccountID, Mode: sc.Mode,
		Status: tender.IntentCreated, Amount: p.Amount, MerchantAmount: p.MerchantAmount, Currency: p.Currency,
		Capture: capture, PaymentMethodTypes: types, ReferenceID: p.ReferenceID, Description: p.Description,
		Metadata: normObject(p.Metadata), OrderDetails: normObject(p.OrderDetails), PaymentSplits: normObject(p.PaymentSplits),
		SettlementStatus: tender.Unsettled, CreatedAt: now, UpdatedAt: now,
	}
}

// CreatePaymentIntent creates an intent in status created.
func (s *Service) CreatePaymentIntent(ctx context.Context, sc tender.Scope, p IntentParams) (*tender.PaymentIntent, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var pi *tender.PaymentIntent
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		pi = newIntent(sc, p, tx.Now())
		if err := tx.CreatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, tender.EventPaymentIntentCreated, pi); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, pi)
	})
	if err != nil {
		return nil, err
	}
	return pi, nil
}

// IntentUpdate changes an intent before it is paid; nil fields stay.
type IntentUpdate struct {
	Amount             *int64
	MerchantAmount     *int64
	Capture            *bool
	PaymentMethodTypes []string
	ReferenceID        *string
	Description        *string
	Metadata           json.RawMessage
	OrderDetails       json.RawMessage
	PaymentSplits      json.RawMessage
}

// UpdatePaymentIntent changes an intent that has no successful payment
// (status created or failed).
func (s *Service) UpdatePaymentIntent(ctx context.Context, sc tender.Scope, id string, u IntentUpdate) (*tender.PaymentIntent, error) {
	var pi *tender.PaymentIntent
	err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if pi, err = tx.FindPaymentIntentByID(ctx, sc, id); err != nil {
			return err
		}
		if pi.Status != tender.IntentCreated && pi.Status != tender.IntentFailed {
			return tender.Errorf(tender.ECONFLICT, "payment intent %s is %s; only a created or failed intent can be updated", id, pi.Status)
		}
		if u.Amount != nil {
			pi.Amount = *u.Amount
		}
		if u.MerchantAmount != nil {
			pi.MerchantAmount = u.MerchantAmount
		}
		var v tender.Validation
		validateAmounts(&v, pi.Amount, pi.MerchantAmount)
		validateMethodTypes(&v, u.PaymentMethodTypes)
		if !validObject(u.Metadata) {
			v.Add("user_fields", "must be an object")
		}
		if !validObject(u.OrderDetails) {
			v.Add("order_details", "must be an object")
		}
		splits := pi.PaymentSplits
		if u.PaymentSplits != nil {
			splits = normObject(u.PaymentSplits)
		}
		if err := validateSplits(splits, pi.Amount); err != nil {
			v.Add("payment_splits", err.Error())
		}
		if u.ReferenceID != nil && len(*u.ReferenceID) > 255 {
			v.Add("reference_id", "must be at most 255 characters")
		}
		if u.Description != nil && len(*u.Description) > 1000 {
			v.Add("description", "must be at most 1000 characters")
		}
		if err := v.Err(); err != nil {
			return err
		}
		pi.PaymentSplits = splits
		if u.Capture != nil {
			pi.Capture = *u.Capture
		}
		if u.PaymentMethodTypes != nil {
			pi.PaymentMethodTypes = u.PaymentMethodTypes
		}
		if u.ReferenceID != nil {
			pi.ReferenceID = *u.ReferenceID
		}
		if u.Description != nil {
			pi.Description = *u.Description
		}
		if u.Metadata != nil {
			pi.Metadata = normObject(u.Metadata)
		}
		if u.OrderDetails != nil {
			pi.OrderDetails = normObject(u.OrderDetails)
		}
		pi.UpdatedAt = tx.Now()
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, tender.EventPaymentIntentUpdated, pi); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, pi)
	})
	if err != nil {
		return nil, err
	}
	return pi, nil
}

func transition(pi *tender.PaymentIntent, to string) error {
	if !tender.CanTransition(tender.IntentTransitions, pi.Status, to) {
		return tender.Errorf(tender.ECONFLICT, "payment intent %s is %s and cannot become %s", pi.ID, pi.Status, to)
	}
	pi.Status = to
	return nil
}

// PayParams pays an intent with a stored payment method.
type PayParams struct {
	PaymentMethodID string
	BillingDetails  *tender.BillingDetails
	ReferenceID     string
	Description     string
	Metadata        json.RawMessage
	OrderDetails    json.RawMessage
}

// Pay makes a payment attempt on an intent in status created or failed. A
// decline is not an error: it returns the failed payment and moves the
// intent to failed. A card approval moves the intent to captured (or
// uncaptured when the intent does not capture); a bank payment to pending.
func (s *Service) Pay(ctx context.Context, sc tender.Scope, intentID string, p PayParams) (*tender.Payment, error) {
	var v tender.Validation
	if p.PaymentMethodID == "" {
		v.Add("payment_method_id", "is required")
	}
	if !validObject(p.Metadata) {
		v.Add("user_fields", "must be an object")
	}
	if !validObject(p.OrderDetails) {
		v.Add("order_details", "must be an object")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	release, err := s.claim(ctx, intentID)
	if err != nil {
		return nil, err
	}
	defer release()

	var pi *tender.PaymentIntent
	var pm *tender.PaymentMethod
	var contactID string
	err = s.Store.Read(ctx, func(tx store.Tx) (err error) {
		if pi, err = tx.FindPaymentIntentByID(ctx, sc, intentID); err != nil {
			return err
		}
		if pm, err = tx.FindPaymentMethodByID(ctx, sc, p.PaymentMethodID); tender.ErrorCode(err) == tender.ENOTFOUND {
			return tender.FieldError("payment_method_id", "does not name a payment method of this account")
		} else if err != nil {
			return err
		}
		contactID, err = s.contactOf(ctx, tx, pi)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := checkPayable(pi, pm); err != nil {
		return nil, err
	}
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}

	paymentID := tender.NewID(tender.PrefixPayment, time.Now())
	desc := p.Description
	if desc == "" {
		desc = pi.Description
	}
	res, err := s.Processor.Authorize(ctx, processor.AuthorizeParams{Key: paymentID, Token: pm.ProcessorToken,
		Amount: pi.Amount, Currency: string(pi.Currency), Capture: pi.Capture, AccountID: sc.AccountID, Mode: sc.Mode,
		PaymentMethodID: pm.ID, ContactID: contactID, Description: desc})
	if err != nil {
		return nil, err
	}
	var pay *tender.Payment
	read := pi
	err = s.Store.Write(ctx, func(tx store.Tx) (err error) {
		// The intent was read under its claim; the version check of
		// UpdatePaymentIntent refuses the write if anything changed it since.
		cp := *read
		pi := &cp
		now := tx.Now()
		pay = &tender.Payment{ID: paymentID, AccountID: sc.AccountID, Mode: sc.Mode, PaymentIntentID: pi.ID,
			PaymentMethodID: pm.ID, Amount: pi.Amount, Currency: pi.Currency, AuthCode: res.AuthCode,
			ResponseText: res.ResponseText, DeclineCode: res.DeclineCode, AVSResult: res.AVS, CVVResult: res.CVV,
			ProcessorRef: res.Ref, BillingDetails: p.BillingDetails, ReferenceID: p.ReferenceID, Description: p.Description,
			Metadata: normObject(p.Metadata), OrderDetails: normObject(p.OrderDetails), SettlementStatus: tender.Unsettled,
			MethodType: pm.Type, Chargeback: res.Chargeback, CreatedAt: now, UpdatedAt: now}
		if pm.Card != nil {
			pay.CardBrand = pm.Card.Brand
		}
		if pay.BillingDetails == nil {
			pay.BillingDetails = pm.BillingDetails
		}
		if pay.OrderDetails == nil {
			pay.OrderDetails = pi.OrderDetails
		}
		switch {
		case res.Outcome == processor.Declined:
			pay.Status = tender.PaymentFailed
			err = transition(pi, tender.IntentFailed)
		case res.Outcome == processor.Pending:
			pay.Status = tender.PaymentPending
			err = transition(pi, tender.IntentPending)
			if err == nil {
				err = tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: JobSettleBank,
					AccountID: sc.AccountID, Args: settleArgs(sc, pay.ID), RunAt: now.Add(res.SettleAfter), CreatedAt: now,
					UniqueKey: JobSettleBank + ":" + pay.ID})
			}
		case pi.Capture:
			pay.Status, pay.AmountAuthorized, pay.AmountCaptured = tender.PaymentCaptured, pi.Amount, pi.Amount
			pi.AmountAuthorized, pi.AmountCaptured, pi.CapturedAt = pi.Amount, pi.Amount, &now
			if err = transition(pi, tender.IntentCaptured); err == nil {
				err = s.postCapture(ctx, tx, st, pay, pay.AmountCaptured)
			}
			if err == nil {
				err = scheduleDispute(ctx, tx, pay)
			}
		default:
			pay.Status, pay.AmountAuthorized = tender.PaymentUncaptured, pi.Amount
			pi.AmountAuthorized = pi.Amount
			err = transition(pi, tender.IntentUncaptured)
		}
		if err != nil {
			return err
		}
		pi.LatestPaymentID, pi.LatestPaymentState, pi.UpdatedAt = pay.ID, pay.Status, now
		if err := tx.CreatePayment(ctx, pay); err != nil {
			return err
		}
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, sc, pi, pay, nil); err != nil {
			return err
		}
		changes := []event.Change{{Type: tender.EventPaymentCreated, Object: pay}}
		switch pay.Status {
		case tender.PaymentFailed:
			changes = append(changes, event.Change{Type: tender.EventPaymentFailed, Object: pay}, event.Change{Type: tender.EventPaymentIntentFailed, Object: pi})
		case tender.PaymentPending:
			changes = append(changes, event.Change{Type: tender.EventPaymentIntentPended, Object: pi})
		case tender.PaymentCaptured:
			changes = append(changes, event.Change{Type: tender.EventPaymentCaptured, Object: pay}, event.Change{Type: tender.EventPaymentIntentCaptured, Object: pi})
		default:
			changes = append(changes, event.Change{Type: tender.EventPaymentIntentUpdated, Object: pi})
		}
		if err := event.RecordAll(ctx, tx, sc, changes...); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, pay)
	})
	if err != nil {
		if res.Outcome == processor.Approved {
			// The intent changed under us: release the authorization we made.
			_ = s.Processor.Void(context.WithoutCancel(ctx), paymentID+":void", res.Ref)
		}
		return nil, err
	}
	return pay, nil
}

func checkPayable(pi *tender.PaymentIntent, pm *tender.PaymentMethod) error {
	if pi.Status != tender.IntentCreated && pi.Status != tender.IntentFailed {
		return tender.Errorf(tender.ECONFLICT, "payment intent %s is %s; only a created or failed intent can be paid", pi.ID, pi.Status)
	}
	if pi.Amount <= 0 {
		return tender.Errorf(tender.ECONFLICT, "payment intent %s has amount 0; set an amount before paying", pi.ID)
	}
	if !slices.Contains(pi.PaymentMethodTypes, pm.Type) {
		return tender.FieldError("payment_method_id", fmt.Sprintf("is a %s payment method, which this payment intent does not accept", pm.Type))
	}
	if pm.External {
		return tender.FieldError("payment_method_id", "is an external payment method and cannot be charged")
	}
	return nil
}

func settleArgs(sc tender.Scope, paymentID string) json.RawMessage {
	b, _ := json.Marshal(settleJob{AccountID: sc.AccountID, Mode: sc.Mode, PaymentID: paymentID})
	return b
}

type settleJob struct {
	AccountID string      `json:"account_id"`
	Mode      tender.Mode `json:"mode"`
	PaymentID string      `json:"payment_id"`
}

// SettleBankPayment is the JobSettleBank handler: it asks the processor for
// the final state of a pending bank payment and moves the payment and its
// intent to captured or failed. Running it twice changes nothing more.
func (s *Service) SettleBankPayment(ctx context.Context, j *tender.Job) error {
	var a settleJob
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return fmt.Errorf("bad job args: %w", err)
	}
	sc := tender.Scope{AccountID: a.AccountID, Mode: a.Mode}
	var pay *tender.Payment
	var pm *tender.PaymentMethod
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		if pay, err = tx.FindPaymentByID(ctx, sc, a.PaymentID); err != nil {
			return err
		}
		pm, err = tx.FindPaymentMethodByID(ctx, sc, pay.PaymentMethodID)
		return err
	})
	if err != nil {
		return err
	}
	if pay.Status != tender.PaymentPending {
		return nil
	}
	res, err := s.Processor.Settle(ctx, pay.ProcessorRef, pm.ProcessorToken)
	if err != nil {
		return err
	}
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return err
	}
	return s.Store.Write(ctx, func(tx store.Tx) error {
		pay, err := tx.FindPaymentByID(ctx, sc, a.PaymentID)
		if err != nil {
			return err
		}
		if pay.Status != tender.PaymentPending {
			return nil
		}
		pi, err := tx.FindPaymentIntentByID(ctx, sc, pay.PaymentIntentID)
		if err != nil {
			return err
		}
		now := tx.Now()
		if res.Ref != "" {
			pay.ProcessorRef = res.Ref // a processor may learn its charge's id only now
		}
		if res.Outcome == processor.Approved {
			pay.Status, pay.AmountAuthorized, pay.AmountCaptured = tender.PaymentCaptured, pay.Amount, pay.Amount
			pi.AmountAuthorized, pi.AmountCaptured, pi.CapturedAt = pay.Amount, pay.Amount, &now
			if pay.MethodType == "" {
				pay.MethodType = pm.Type
			}
			if err = transition(pi, tender.IntentCaptured); err == nil {
				err = s.postCapture(ctx, tx, st, pay, pay.AmountCaptured)
			}
		} else {
			pay.Status, pay.ResponseText, pay.DeclineCode = tender.PaymentFailed, res.ResponseText, res.DeclineCode
			err = transition(pi, tender.IntentFailed)
		}
		if err != nil {
			return err
		}
		pay.UpdatedAt, pi.UpdatedAt = now, now
		if pi.LatestPaymentID == pay.ID {
			pi.LatestPaymentState = pay.Status
		}
		if err := tx.UpdatePayment(ctx, pay); err != nil {
			return err
		}
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, sc, pi, pay, nil); err != nil {
			return err
		}
		if pay.Status == tender.PaymentCaptured {
			return event.RecordAll(ctx, tx, sc, event.Change{Type: tender.EventPaymentCaptured, Object: pay},
				event.Change{Type: tender.EventPaymentIntentCaptured, Object: pi})
		}
		return event.RecordAll(ctx, tx, sc, event.Change{Type: tender.EventPaymentFailed, Object: pay},
			event.Change{Type: tender.EventPaymentIntentFailed, Object: pi})
	})
}

// latestPayment loads the intent's latest payment inside tx.
func latestPayment(ctx context.Context, tx store.Tx, sc tender.Scope, pi *tender.PaymentIntent) (*tender.Payment, error) {
	if pi.LatestPaymentID == "" {
		return nil, tender.Errorf(tender.ECONFLICT, "payment intent %s has no payment", pi.ID)
	}
	return tx.FindPaymentByID(ctx, sc, pi.LatestPaymentID)
}

// Capture captures amount (all of the authorization when nil) of an
// uncaptured intent; the rest of the authorization is voided.
func (s *Service) Capture(ctx context.Context, sc tender.Scope, intentID string, amount *int64) (*tender.PaymentIntent, error) {
	return s.capture(ctx, sc, intentID, amount, nil)
}

// CaptureExternal records the capture, made on another gateway, of an
// uncaptured external intent; gateway is that gateway's answer, kept as given.
func (s *Service) CaptureExternal(ctx context.Context, sc tender.Scope, intentID string, amount *int64, gateway json.RawMessage) (*tender.PaymentIntent, error) {
	if len(gateway) == 0 || string(gateway) == "null" || !validObject(gateway) {
		return nil, tender.FieldError("gateway_capture_response", "is required and must be an object")
	}
	return s.capture(ctx, sc, intentID, amount, gateway)
}

// checkExternal refuses to mix tender-processed and external intents: an
// external intent's money moves on another gateway, which tender only records.
func checkExternal(pi *tender.PaymentIntent, external bool, route string) error {
	if pi.External && !external {
		return tender.Errorf(tender.ECONFLICT, "payment intent %s is external; use %s", pi.ID, route)
	}
	if !pi.External && external {
		return tender.Errorf(tender.ECONFLICT, "payment intent %s was processed by tender, not recorded from another gateway", pi.ID)
	}
	return nil
}

func (s *Service) capture(ctx context.Context, sc tender.Scope, intentID string, amount *int64, gateway json.RawMessage) (*tender.PaymentIntent, error) {
	external := gateway != nil
	release, err := s.claim(ctx, intentID)
	if err != nil {
		return nil, err
	}
	defer release()
	var pi *tender.PaymentIntent
	var pay *tender.Payment
	check := func(tx store.Tx) (err error) {
		if pi, err = tx.FindPaymentIntentByID(ctx, sc, intentID); err != nil {
			return err
		}
		if err := checkExternal(pi, external, "POST /external_payments/{id}/capture"); err != nil {
			return err
		}
		if pi.Status != tender.IntentUncaptured {
			return tender.Errorf(tender.ECONFLICT, "payment intent %s is %s; only an uncaptured intent can be captured", intentID, pi.Status)
		}
		if amount != nil && (*amount <= 0 || *amount > pi.AmountAuthorized) {
			return tender.FieldError("amount", fmt.Sprintf("must be between 1 and the authorized amount %d", pi.AmountAuthorized))
		}
		pay, err = latestPayment(ctx, tx, sc, pi)
		return err
	}
	if err := s.Store.Read(ctx, check); err != nil {
		return nil, err
	}
	amt := pi.AmountAuthorized
	if amount != nil {
		amt = *amount
	}
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	if err := s.methodOf(ctx, sc, pay); err != nil {
		return nil, err
	}
	if !external {
		if err := s.Processor.Capture(ctx, intentID+":capture", pay.ProcessorRef, amt); err != nil {
			return nil, err
		}
	}
	readPI, readPay := pi, pay
	var result *tender.PaymentIntent
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		// Read under the intent's claim; the versions guard the writes.
		cpi, cpay := *readPI, *readPay
		pi, pay := &cpi, &cpay
		now := tx.Now()
		voided := pi.AmountAuthorized - amt
		pay.Status, pay.AmountCaptured, pay.AmountVoided, pay.UpdatedAt = tender.PaymentCaptured, amt, voided, now
		if external {
			pay.GatewayCapture = gateway
		}
		pi.AmountCaptured, pi.AmountVoided, pi.CapturedAt, pi.UpdatedAt = amt, voided, &now, now
		pi.LatestPaymentState = pay.Status
		if err := transition(pi, tender.IntentCaptured); err != nil {
			return err
		}
		if err := s.postCapture(ctx, tx, st, pay, amt); err != nil {
			return err
		}
		if err := scheduleDispute(ctx, tx, pay); err != nil {
			return err
		}
		if err := tx.UpdatePayment(ctx, pay); err != nil {
			return err
		}
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := s.changed(ctx, tx, sc, pi, pay, nil); err != nil {
			return err
		}
		if err := event.RecordAll(ctx, tx, sc, event.Change{Type: tender.EventPaymentCaptured, Object: pay},
			event.Change{Type: tender.EventPaymentIntentCaptured, Object: pi}); err != nil {
			return err
		}
		result = pi
		return store.RunCommitHook(ctx, tx, pi)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// Cancel cancels an intent that is created, failed or uncaptured; an
// uncaptured authorization is voided at the processor.
func (s *Service) Cancel(ctx context.Context, sc tender.Scope, intentID, reason string) (*tender.PaymentIntent, error) {
	return s.cancel(ctx, sc, intentID, reason, nil)
}

// CancelExternal records that an external intent's authorization was voided
// on its gateway; gateway (optional) is that gateway's answer.
func (s *Service) CancelExternal(ctx context.Context, sc tender.Scope, intentID, reason string, gateway json.RawMessage) (*tender.PaymentIntent, error) {
	if !validObject(gateway) {
		return nil, tender.FieldError("gateway_void_response", "must be an object")
	}
	if len(gateway) == 0 || string(gateway) == "null" {
		gateway = json.RawMessage(`{}`)
	}
	return s.cancel(ctx, sc, intentID, reason, gateway)
}

func (s *Service) cancel(ctx context.Context, sc tender.Scope, intentID, reason string, gateway json.RawMessage) (*tender.PaymentIntent, error) {
	external := gateway != nil
	if reason != "" && !slices.Contains(tender.CancellationReasons, reason) {
		return nil, tender.FieldError("cancellation_reason", "must be one of duplicate, fraudulent, requested_by_customer, abandoned")
	}
	release, err := s.claim(ctx, intentID)
	if err != nil {
		return nil, err
	}
	defer release()
	var pi *tender.PaymentIntent
	check := func(tx store.Tx) (err error) {
		if pi, err = tx.FindPaymentIntentByID(ctx, sc, intentID); err != nil {
			return err
		}
		if err := checkExternal(pi, external, "POST /external_payments/{id}/cancel"); err != nil {
			return err
		}
		if !tender.CanTransition(tender.IntentTransitions, pi.Status, tender.IntentCancelled) {
			return tender.Errorf(tender.ECONFLICT, "payment intent %s is %s and cannot be cancelled", intentID, pi.Status)
		}
		return nil
	}
	if err := s.Store.Read(ctx, check); err != nil {
		return nil, err
	}
	if pi.Status == tender.IntentUncaptured && !external {
		var pay *tender.Payment
		if err := s.Store.Read(ctx, func(tx store.Tx) (err error) { pay, err = latestPayment(ctx, tx, sc, pi); return err }); err != nil {
			return nil, err
		}
		if err := s.Processor.Void(ctx, intentID+":void", pay.ProcessorRef); err != nil {
			return nil, err
		}
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := check(tx); err != nil {
			return err
		}
		now := tx.Now()
		if pi.Status == tender.IntentUncaptured {
			pay, err := latestPayment(ctx, tx, sc, pi)
			if err != nil {
				return err
			}
			pay.Status, pay.AmountVoided, pay.UpdatedAt = tender.PaymentVoided, pay.AmountAuthorized, now
			if external {
				pay.GatewayVoid = gateway
			}
			if err := tx.UpdatePayment(ctx, pay); err != nil {
				return err
			}
			if err := s.changed(ctx, tx, sc, pi, pay, nil); err != nil {
				return err
			}
			if err := event.Record(ctx, tx, sc, tender.EventPaymentCancelled, pay); err != nil {
				return err
			}
			pi.AmountVoided = pi.AmountAuthorized
			pi.LatestPaymentState = pay.Status
		}
		if err := transition(pi, tender.IntentCancelled); err != nil {
			return err
		}
		pi.CancellationReason, pi.CancelledAt, pi.UpdatedAt = reason, &now, now
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, tender.EventPaymentIntentCancelled, pi); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, pi)
	})
	if err != nil {
		return nil, err
	}
	return pi, nil
}

// RefundParams refunds part (Amount) or all (nil) of what is left to refund.
type RefundParams struct {
	Amount *int64
	Reason string
}

// refundable checks an intent can be refunded by amount and returns the
// amount and the captured payment to refund.
func refundable(ctx context.Context, tx store.Tx, sc tender.Scope, intentID string, amount *int64) (*tender.PaymentIntent, *tender.Payment, int64, error) {
	pi, err := tx.FindPaymentIntentByID(ctx, sc, intentID)
	if err != nil {
		return nil, nil, 0, err
	}
	if pi.Status != tender.IntentCaptured {
		return nil, nil, 0, tender.Errorf(tender.ECONFLICT, "payment intent %s is %s; only a captured intent can be refunded", intentID, pi.Status)
	}
	lost, err := disputedAmount(ctx, tx, sc, pi)
	if err != nil {
		return nil, nil, 0, err
	}
	left := pi.AmountCaptured - pi.AmountRefunded - lost
	if left <= 0 && lost > 0 {
		return nil, nil, 0, tender.Errorf(tender.ECONFLICT, "payment intent %s lost its dispute %s; nothing is left to refund", intentID, pi.DisputeID)
	} else if left <= 0 {
		return nil, nil, 0, tender.Errorf(tender.ECONFLICT, "payment intent %s is already fully refunded", intentID)
	}
	amt := left
	if amount != nil {
		if *amount <= 0 || *amount > left {
			return nil, nil, 0, tender.FieldError("amount", fmt.Sprintf("must be between 1 and the refundable amount %d", left))
		}
		amt = *amount
	}
	pay, err := latestPayment(ctx, tx, sc, pi)
	if err != nil {
		return nil, nil, 0, err
	}
	return pi, pay, amt, nil
}

// Refund returns captured money; the sum of refunds never exceeds what was
// captured.
func (s *Service) Refund(ctx context.Context, sc tender.Scope, intentID string, p RefundParams) (*tender.Refund, error) {
	if len(p.Reason) > 500 {
		return nil, tender.FieldError("reason", "must be at most 500 characters")
	}
	release, err := s.claim(ctx, intentID)
	if err != nil {
		return nil, err
	}
	defer release()
	var readPI *tender.PaymentIntent
	var readPay *tender.Payment
	var amt int64
	if err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		readPI, readPay, amt, err = refundable(ctx, tx, sc, intentID, p.Amount)
		return err
	}); err != nil {
		return nil, err
	}
	pay := readPay
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	refundID := tender.NewID(tender.PrefixRefund, time.Now())
	procRef, err := s.Processor.Refund(ctx, refundID, pay.ProcessorRef, amt)
	if err != nil {
		return nil, err
	}
	var r *tender.Refund
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		// Read under the intent's claim; the versions guard the writes.
		cpi, cpay := *readPI, *readPay
		pi, pay := &cpi, &cpay
		now := tx.Now()
		r = &tender.Refund{ID: refundID, AccountID: sc.AccountID, Mode: sc.Mode, PaymentIntentID: pi.ID, PaymentID: pay.ID,
			Status: tender.RefundSucceeded, Amount: amt, Currency: pi.Currency, Reason: p.Reason, ProcessorRef: procRef,
			SettlementStatus: tender.Unsettled, CreatedAt: now, UpdatedAt: now}
		return s.recordRefund(ctx, tx, st, pi, pay, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) recordRefund(ctx context.Context, tx store.Tx, st *tender.AccountSettings, pi *tender.PaymentIntent, pay *tender.Payment, r *tender.Refund) error {
	var err error
	if pay.AmountRefunded, err = tender.AddAmounts(pay.AmountRefunded, r.Amount); err != nil {
		return err
	}
	if pi.AmountRefunded, err = tender.AddAmounts(pi.AmountRefunded, r.Amount); err != nil {
		return err
	}
	pay.UpdatedAt, pi.UpdatedAt = r.CreatedAt, r.CreatedAt
	if err := tx.CreateRefund(ctx, r); err != nil {
		return err
	}
	lt, err := ledger.BuildRefund(st, r, r.CreatedAt)
	if err != nil {
		return err
	}
	if err := s.Ledger.Post(ctx, tx, lt); err != nil {
		return err
	}
	if err := tx.UpdatePayment(ctx, pay); err != nil {
		return err
	}
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return err
	}
	sc := tender.Scope{AccountID: r.AccountID, Mode: r.Mode}
	if err := s.changed(ctx, tx, sc, pi, pay, r); err != nil {
		return err
	}
	if err := event.RecordAll(ctx, tx, sc, event.Change{Type: tender.EventRefundCreated, Object: r},
		event.Change{Type: tender.EventPaymentRefunded, Object: pay}); err != nil {
		return err
	}
	return store.RunCommitHook(ctx, tx, r)
}

// ---- external payments ----

// ExternalPaymentParams records a payment made on another gateway.
type ExternalPaymentParams struct {
	Intent         IntentParams
	MethodType     string
	Card           *tender.CardDetails
	Bank           *tender.BankDetails
	SourceType     string
	BillingDetails *tender.BillingDetails
	Gateway        json.RawMessage
	CardPresent    bool
}

// CreateExternalPayment records an intent, an external payment method and
// a payment in one transaction: captured, or uncaptured when the intent
// does not capture.
func (s *Service) CreateExternalPayment(ctx context.Context, sc tender.Scope, p ExternalPaymentParams) (*tender.PaymentIntent, error) {
	if err := p.Intent.validate(); err != nil {
		return nil, err
	}
	var v tender.Validation
	switch p.MethodType {
	case tender.MethodCard:
		if p.Card == nil {
			v.Add("payment_method.card", "is required when payment_method_type is card")
		} else {
			if len(p.Card.LastFour) != 4 {
				v.Add("payment_method.card.last_four_digits", "must be 4 digits")
			}
			if p.Card.FirstSix != "" && len(p.Card.FirstSix) != 6 {
				v.Add("payment_method.card.first_six_digits", "must be 6 digits")
			}
		}
	case tender.MethodBank:
		if p.Bank == nil {
			v.Add("payment_method.bank", "is required when payment_method_type is bank")
		}
	default:
		v.Add("payment_method.payment_method_type", "must be card or bank")
	}
	if len(p.Gateway) == 0 || !validObject(p.Gateway) || string(p.Gateway) == "null" {
		v.Add("gateway_response", "is required and must be an object")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	var pi *tender.PaymentIntent
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		pi = newIntent(sc, p.Intent, now)
		pi.External = true
		pm := &tender.PaymentMethod{ID: tender.NewID(tender.PrefixPaymentMethod, now), AccountID: sc.AccountID, Mode: sc.Mode,
			Type: p.MethodType, Card: p.Card, Bank: p.Bank, BillingDetails: p.BillingDetails, SourceType: p.SourceType,
			External: true, CreatedAt: now, UpdatedAt: now}
		pay := &tender.Payment{ID: tender.NewID(tender.PrefixPayment, now), AccountID: sc.AccountID, Mode: sc.Mode,
			PaymentIntentID: pi.ID, PaymentMethodID: pm.ID, Amount: pi.Amount, Currency: pi.Currency, External: true,
			Gateway: p.Gateway, CardPresent: p.CardPresent, BillingDetails: p.BillingDetails, ReferenceID: pi.ReferenceID, Description: pi.Description,
			Metadata: pi.Metadata, OrderDetails: pi.OrderDetails, AmountAuthorized: pi.Amount,
			SettlementStatus: tender.Unsettled, MethodType: p.MethodType, CreatedAt: now, UpdatedAt: now}
		if p.Card != nil {
			pay.CardBrand = p.Card.Brand
		}
		var gw struct {
			AuthCode string `json:"auth_code"`
			Ref      string `json:"retrieval_reference"`
		}
		_ = json.Unmarshal(p.Gateway, &gw)
		pay.AuthCode, pay.ProcessorRef = gw.AuthCode, gw.Ref
		pi.AmountAuthorized = pi.Amount
		if pi.Capture {
			pay.Status, pay.AmountCaptured = tender.PaymentCaptured, pi.Amount
			pi.Status, pi.AmountCaptured, pi.CapturedAt = tender.IntentCaptured, pi.Amount, &now
		} else {
			pay.Status, pi.Status = tender.PaymentUncaptured, tender.IntentUncaptured
		}
		pi.LatestPaymentID, pi.LatestPaymentState = pay.ID, pay.Status
		if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
			return err
		}
		if err := tx.CreatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := tx.CreatePayment(ctx, pay); err != nil {
			return err
		}
		if pay.Status == tender.PaymentCaptured {
			if err := s.postCapture(ctx, tx, st, pay, pay.AmountCaptured); err != nil {
				return err
			}
		}
		if err := s.changed(ctx, tx, sc, pi, pay, nil); err != nil {
			return err
		}
		changes := []event.Change{{Type: tender.EventPaymentIntentCreated, Object: pi}, {Type: tender.EventPaymentCreated, Object: pay}}
		if pay.Status == tender.PaymentCaptured {
			changes = append(changes, event.Change{Type: tender.EventPaymentCaptured, Object: pay}, event.Change{Type: tender.EventPaymentIntentCaptured, Object: pi})
		}
		if err := event.RecordAll(ctx, tx, sc, changes...); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, pi)
	})
	if err != nil {
		return nil, err
	}
	return pi, nil
}

// CreateExternalRefund records a refund made on another gateway against an
// external intent.
func (s *Service) CreateExternalRefund(ctx context.Context, sc tender.Scope, intentID string, amount *int64, gateway json.RawMessage) (*tender.Refund, error) {
	var v tender.Validation
	if intentID == "" {
		v.Add("payment_intent_id", "is required")
	}
	if len(gateway) == 0 || !validObject(gateway) || string(gateway) == "null" {
		v.Add("gateway_response", "is required and must be an object")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	var r *tender.Refund
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		pi, pay, amt, err := refundable(ctx, tx, sc, intentID, amount)
		if tender.ErrorCode(err) == tender.ENOTFOUND {
			return tender.FieldError("payment_intent_id", "does not name a payment intent of this account")
		} else if err != nil {
			return err
		}
		if !pi.External {
			return tender.FieldError("payment_intent_id", "names a payment intent processed by tender; refund it with POST /payment_intents/{id}/refunds")
		}
		var gw struct {
			Ref string `json:"retrieval_reference"`
		}
		_ = json.Unmarshal(gateway, &gw)
		now := tx.Now()
		r = &tender.Refund{ID: tender.NewID(tender.PrefixRefund, now), AccountID: sc.AccountID, Mode: sc.Mode,
			PaymentIntentID: pi.ID, PaymentID: pay.ID, Status: tender.RefundSucceeded, Amount: amt, Currency: pi.Currency,
			External: true, Gateway: gateway, ProcessorRef: gw.Ref, SettlementStatus: tender.Unsettled, CreatedAt: now, UpdatedAt: now}
		return s.recordRefund(ctx, tx, st, pi, pay, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// methodOf fills in pay's method type and card brand from its payment
// method when pay predates them (the fee depends on them).
func (s *Service) methodOf(ctx context.Context, sc tender.Scope, pay *tender.Payment) error {
	if pay.MethodType != "" {
		return nil
	}
	return s.Store.Read(ctx, func(tx store.Tx) error {
		pm, err := tx.FindPaymentMethodByID(ctx, sc, pay.PaymentMethodID)
		if err != nil {
			return err
		}
		pay.MethodType = pm.Type
		if pm.Card != nil {
			pay.CardBrand = pm.Card.Brand
		}
		return nil
	})
}
