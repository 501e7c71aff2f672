package order

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/processor/customprovider"
	"github.com/tenderpay/tender/store"
)

// ListProviderMethods returns the payment methods that the location's
// custom provider connected in mode m keeps for contactID, as its
// list_payment_methods answers. Without a connected provider it is
// EINVALID; a provider that fails to answer is EPROCESSOR.
func (s *Service) ListProviderMethods(ctx context.Context, sc tender.Scope, m tender.Mode, contactID string) ([]customprovider.PaymentMethod, error) {
	if s.Providers == nil {
		return nil, tender.Errorf(tender.ENOTIMPLEMENTED, "custom providers are not configured")
	}
	contactID = strings.TrimSpace(contactID)
	if contactID == "" {
		return nil, tender.FieldError("contactId", "should not be empty")
	}
	return s.Providers.ListPaymentMethods(ctx, sc.AccountID, m, contactID)
}

// ChargeParams charges an order off-session with a payment method the
// location's custom provider keeps for the order's contact.
type ChargeParams struct {
	// PaymentMethodID is the provider's id of the method, as
	// list_payment_methods gives it.
	PaymentMethodID string
	// Amount in minor units of the order's currency; nil charges what is
	// due.
	Amount *int64
}

// ChargeSavedMethod charges order id with one of its contact's saved
// methods at the custom provider connected in the order's mode: the
// provider's list_payment_methods for the contact must hold the method;
// the charge is a payment of the engine (charge_payment with the
// provider's method id, the contact and tender's payment id), so the
// order's amounts, notes and subscriptions follow as for any payment. A
// declined charge is not an error: the failed transaction is returned.
//
// Errors: ENOTFOUND "Order not found"; ECONFLICT for an order with nothing
// due; EINVALID naming paymentMethodId (not the contact's, or no provider
// connected) or amount (more than is due); EPROCESSOR when the provider
// does not answer the listing.
func (s *Service) ChargeSavedMethod(ctx context.Context, sc tender.Scope, id string, p ChargeParams) (*tender.Transaction, error) {
	if s.Providers == nil {
		return nil, tender.Errorf(tender.ENOTIMPLEMENTED, "custom providers are not configured")
	}
	var v tender.Validation
	p.PaymentMethodID = strings.TrimSpace(p.PaymentMethodID)
	if p.PaymentMethodID == "" {
		v.Add("paymentMethodId", "should not be empty")
	}
	if p.Amount != nil && *p.Amount <= 0 {
		v.Add("amount", "must be a positive number")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	o, err := s.Get(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	amount, err := collectible(o, p.Amount, "it cannot be charged")
	if err != nil {
		return nil, err
	}
	methods, err := s.Providers.ListPaymentMethods(ctx, o.AccountID, o.Mode, o.Contact.ID)
	if tender.ErrorCode(err) == tender.EINVALID {
		return nil, tender.FieldError("paymentMethodId", "cannot be charged: "+tender.ErrorMessage(err))
	} else if err != nil {
		return nil, err
	}
	var found *customprovider.PaymentMethod
	for i := range methods {
		if methods[i].ID == p.PaymentMethodID {
			found = &methods[i]
			break
		}
	}
	if found == nil {
		return nil, tender.FieldError("paymentMethodId", fmt.Sprintf("is not a payment method the custom provider keeps for contact %s", o.Contact.ID))
	}
	osc := scopeOf(sc, o.AccountID, o.Mode)
	mp := payment.ProviderMethodParams{Token: tender.ProviderMethodToken{ProviderID: found.ProviderID, MethodID: found.ID},
		Type: tender.MethodCard, Brand: strings.ToLower(strings.TrimSpace(found.Title)), LastFour: lastDigits(found.SubTitle, 4),
		Name: o.Contact.Name, Email: o.Contact.Email}
	if strings.Contains(strings.ToLower(found.Type), "bank") || strings.Contains(strings.ToLower(found.Type), "debit") {
		mp.Type = tender.MethodBank
	}
	mp.ExpMonth, mp.ExpYear = parseExpiry(found.Expiry)
	pm, err := s.Payments.CreateProviderMethod(ctx, osc, mp)
	if err != nil {
		return nil, err
	}
	intentID, err := s.intentFor(ctx, osc, o, amount)
	if err != nil {
		return nil, err
	}
	pay, err := s.Payments.Pay(ctx, osc, intentID, payment.PayParams{PaymentMethodID: pm.ID})
	if err != nil {
		return nil, err
	}
	var x *tender.Transaction
	err = s.Store.Read(ctx, func(tx store.Tx) (err error) {
		x, err = tx.FindTransactionByID(ctx, o.AccountID, pay.ID)
		return err
	})
	return x, err
}

// intentFor returns an intent of o that pays amount now: the order's own
// intent when it can still be paid (its amount set to amount), else a new
// one referencing the order.
func (s *Service) intentFor(ctx context.Context, sc tender.Scope, o *tender.Order, amount int64) (string, error) {
	if o.PaymentIntentID != "" {
		var pi *tender.PaymentIntent
		err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
			pi, err = tx.FindPaymentIntentByID(ctx, sc, o.PaymentIntentID)
			return err
		})
		if err != nil {
			return "", err
		}
		if pi.Status == tender.IntentCreated || pi.Status == tender.IntentFailed {
			if pi.Amount != amount {
				if _, err := s.Payments.UpdatePaymentIntent(ctx, sc, pi.ID, payment.IntentUpdate{Amount: &amount}); err != nil {
					return "", err
				}
			}
			return pi.ID, nil
		}
	}
	pi, err := s.Payments.CreatePaymentIntent(ctx, sc, payment.IntentParams{Amount: amount, Currency: o.Currency, ReferenceID: o.ID,
		Description: "Order " + o.ID})
	if err != nil {
		return "", err
	}
	return pi.ID, nil
}

// lastDigits returns the last n digits of s ("**** 4242" → "4242"), or "".
func lastDigits(s string, n int) string {
	var d []byte
	for i := len(s) - 1; i >= 0 && len(d) < n; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			d = append([]byte{s[i]}, d...)
		} else if len(d) > 0 {
			break
		}
	}
	if len(d) != n {
		return ""
	}
	return string(d)
}

// parseExpiry reads "MM/YY" or "MM/YYYY"; zeros when it cannot.
func parseExpiry(s string) (month, year int) {
	m, y, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, 0
	}
	mm, err1 := strconv.Atoi(strings.TrimSpace(m))
	yy, err2 := strconv.Atoi(strings.TrimSpace(y))
	if err1 != nil || err2 != nil || mm < 1 || mm > 12 || yy < 0 {
		return 0, 0
	}
	if yy < 100 {
		yy += 2000
	}
	return mm, yy
}
