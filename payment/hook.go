package payment

import (
	"context"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/store"
)

// Hook is told of every change of a payment (attempt): its creation, its
// capture, failure or void, and each refund. It runs inside the store
// transaction that makes the change, after the payment and its intent were
// written, so what it writes commits or rolls back with the change; its
// error rolls the change back (and the command fails with it).
//
// Hooks let other core packages follow payments without this package
// knowing them: the order package keeps orders' payment status and the
// transaction view of payments this way.
type Hook interface {
	PaymentChanged(ctx context.Context, tx store.Tx, c Change) error
}

// Change is one change of a payment, as a Hook sees it.
type Change struct {
	Scope   tender.Scope
	Intent  *tender.PaymentIntent
	Payment *tender.Payment
	// Refund is the refund just recorded, when the change is a refund.
	Refund *tender.Refund
}

// AddHook adds h to the hooks told of every payment change.
func (s *Service) AddHook(h Hook) { s.Hooks = append(s.Hooks, h) }

// changed tells the hooks of a change, in tx.
func (s *Service) changed(ctx context.Context, tx store.Tx, sc tender.Scope, pi *tender.PaymentIntent, pay *tender.Payment, r *tender.Refund) error {
	c := Change{Scope: tender.Scope{OrganizationID: sc.OrganizationID, AccountID: pay.AccountID, Mode: pay.Mode}, Intent: pi, Payment: pay, Refund: r}
	for _, h := range s.Hooks {
		if err := h.PaymentChanged(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// CreatePaymentIntentTx creates an intent in status created inside the
// caller's transaction tx, with its event, for a command of another core
// package that makes an intent together with its own objects (an order and
// the intent that pays it). It does not run the commit hook: the caller's
// command does.
func (s *Service) CreatePaymentIntentTx(ctx context.Context, tx store.Tx, sc tender.Scope, p IntentParams) (*tender.PaymentIntent, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	pi := newIntent(sc, p, tx.Now())
	if err := tx.CreatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	if err := event.Record(ctx, tx, sc, tender.EventPaymentIntentCreated, pi); err != nil {
		return nil, err
	}
	return pi, nil
}
