package payment

import (
	"context"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/store"
)

// ContactResolver is an optional interface of a Hook: it names the contact
// (HighLevel contact id) that a payment of pi is for, or "" when it does
// not know one. Pay sends it to the processor (a custom provider's
// charge_payment carries it). The order package resolves intents whose
// reference id names an order or a subscription.
type ContactResolver interface {
	ContactOf(ctx context.Context, tx store.Tx, pi *tender.PaymentIntent) (string, error)
}

// contactOf asks the hooks that resolve contacts for pi's contact, in tx.
func (s *Service) contactOf(ctx context.Context, tx store.Tx, pi *tender.PaymentIntent) (string, error) {
	for _, h := range s.Hooks {
		if r, ok := h.(ContactResolver); ok {
			if id, err := r.ContactOf(ctx, tx, pi); err != nil || id != "" {
				return id, err
			}
		}
	}
	return "", nil
}

// ProviderMethodParams records a payment method that a custom provider
// keeps for a contact (as its list_payment_methods answered it), so that
// tender's payments can charge it: only what may be shown is kept.
type ProviderMethodParams struct {
	Token    tender.ProviderMethodToken
	Type     string // card or bank
	Brand    string
	LastFour string
	ExpMonth int
	ExpYear  int
	Name     string // the contact's name, as billing details
	Email    string
}

// CreateProviderMethod stores a payment method held by a custom provider:
// its processor token names the provider and the provider's method id, so
// that a payment with it goes to that provider. Nothing is tokenized here:
// tender never sees the card.
func (s *Service) CreateProviderMethod(ctx context.Context, sc tender.Scope, p ProviderMethodParams) (*tender.PaymentMethod, error) {
	if p.Token.ProviderID == "" || p.Token.MethodID == "" {
		return nil, tender.FieldError("paymentMethodId", "should not be empty")
	}
	pm := &tender.PaymentMethod{AccountID: sc.AccountID, Mode: sc.Mode, Type: tender.MethodCard, ProcessorToken: p.Token.String(),
		SourceType: "custom_provider"}
	if p.Name != "" || p.Email != "" {
		pm.BillingDetails = &tender.BillingDetails{Name: p.Name, Email: p.Email}
	}
	if p.Type == tender.MethodBank {
		pm.Type = tender.MethodBank
		pm.Bank = &tender.BankDetails{MaskedAccount: p.LastFour, Fingerprint: s.fingerprint("provider_method", p.Token.String())}
	} else {
		pm.Card = &tender.CardDetails{Brand: p.Brand, LastFour: p.LastFour, ExpMonth: p.ExpMonth, ExpYear: p.ExpYear,
			Fingerprint: s.fingerprint("provider_method", p.Token.String())}
	}
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		pm.ID, pm.CreatedAt, pm.UpdatedAt = tender.NewID(tender.PrefixPaymentMethod, now), now, now
		if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
			return err
		}
		return event.Record(ctx, tx, sc, tender.EventPaymentMethodCreated, pm)
	})
	if err != nil {
		return nil, err
	}
	return pm, nil
}
