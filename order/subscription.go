package order

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/processor/customprovider"
	"github.com/tenderpay/tender/store"
)

// CustomProviders is what the order engine asks of a location's HighLevel
// custom provider beyond payments (customprovider.Processor implements
// it): a contact's saved methods, and subscriptions the provider runs.
type CustomProviders interface {
	ListPaymentMethods(ctx context.Context, accountID string, m tender.Mode, contactID string) ([]customprovider.PaymentMethod, error)
	CreateSubscription(ctx context.Context, accountID string, m tender.Mode, sp customprovider.SubscriptionParams) (customprovider.SubscriptionResult, error)
	CancelSubscription(ctx context.Context, accountID string, m tender.Mode, cp customprovider.CancelParams) (customprovider.SubscriptionResult, error)
}

// JobStartProviderSubscription starts, at the custom provider that took an
// order's payment, the subscription the order started (create_subscription).
const JobStartProviderSubscription = "order.start_provider_subscription"

// claimTTL bounds how long a crashed holder of a subscription's claim
// blocks others.
const claimTTL = 30 * time.Second

// startSubscription starts sub at now: trialing until its trial's end when
// it has one (the trial is its first period), else active for a first
// period.
func startSubscription(sub *tender.Subscription, now time.Time) {
	sub.CurrentPeriodStart, sub.UpdatedAt = &now, now
	if sub.TrialDays > 0 {
		end := now.AddDate(0, 0, sub.TrialDays)
		sub.Status, sub.TrialEnd, sub.CurrentPeriodEnd = tender.SubscriptionTrialing, &end, &end
		return
	}
	end := NextPeriod(sub.Recurrence, now)
	sub.Status, sub.CurrentPeriodEnd = tender.SubscriptionActive, &end
}

type providerSubscriptionJob struct {
	AccountID      string      `json:"account_id"`
	Mode           tender.Mode `json:"mode"`
	SubscriptionID string      `json:"subscription_id"`
	TransactionID  string      `json:"transaction_id"`
}

// handOver marks sub as run by the custom provider that took x, and, when
// that provider takes subscription schedules, queues the job that starts
// it there. A provider without schedules leaves the periods to tender,
// which charges its saved method through the provider (charge_payment).
func handOver(ctx context.Context, tx store.Tx, sub *tender.Subscription, x *tender.Transaction, providerID string) error {
	sub.ProviderType = tender.ProviderCustom
	cp, err := tx.FindCustomProviderByID(ctx, providerID)
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if !cp.SupportsSubscriptionSchedule || cp.Deleted {
		return nil
	}
	sub.CustomProviderID = cp.ID
	now := tx.Now()
	args, err := json.Marshal(providerSubscriptionJob{AccountID: sub.AccountID, Mode: sub.Mode, SubscriptionID: sub.ID, TransactionID: x.ID})
	if err != nil {
		return err
	}
	return tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: JobStartProviderSubscription, AccountID: sub.AccountID,
		Args: args, RunAt: now, CreatedAt: now, MaxAttempts: 10, UniqueKey: JobStartProviderSubscription + ":" + sub.ID})
}

// StartProviderSubscriptionJob is the JobStartProviderSubscription
// handler: it sends create_subscription (tender's subscription id, the
// first payment's id, the contact, the provider's id of the method that
// paid, the amount of each period, the schedule and the day of the
// provider's first charge: the end of the first period or of the trial)
// and keeps the provider's subscription id and status. A refusal leaves
// the subscription unpaid with the provider's message; a provider that
// does not answer is retried (with the same ids, so it can recognise the
// repeat).
func (s *Service) StartProviderSubscriptionJob(ctx context.Context, j *tender.Job) error {
	var a providerSubscriptionJob
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return fmt.Errorf("order: bad job args: %w", err)
	}
	if s.Providers == nil {
		return tender.Errorf(tender.ENOTIMPLEMENTED, "custom providers are not configured")
	}
	release, err := s.Store.Claim(ctx, "subscription:"+a.SubscriptionID, claimTTL)
	if err != nil {
		return err
	}
	defer release()
	var sub *tender.Subscription
	var x *tender.Transaction
	var pm *tender.PaymentMethod
	err = s.Store.Read(ctx, func(tx store.Tx) (err error) {
		if sub, err = tx.FindSubscriptionByID(ctx, a.AccountID, a.SubscriptionID); err != nil {
			return err
		}
		if x, err = tx.FindTransactionByID(ctx, a.AccountID, a.TransactionID); err != nil {
			return err
		}
		if x.PaymentMethodID != "" {
			pm, err = tx.FindPaymentMethodByID(ctx, tender.Scope{AccountID: a.AccountID, Mode: a.Mode}, x.PaymentMethodID)
			if tender.ErrorCode(err) == tender.ENOTFOUND {
				pm, err = nil, nil
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if sub.ProviderID != "" || sub.Status == tender.SubscriptionCanceled || sub.CustomProviderID == "" {
		return nil // done already, or cancelled meanwhile
	}
	methodID := x.PaymentMethodID
	if pm != nil {
		if tok, ok := tender.ParseProviderMethodToken(pm.ProcessorToken); ok {
			methodID = tok.MethodID
		}
	}
	start := time.Now()
	if sub.CurrentPeriodEnd != nil {
		start = *sub.CurrentPeriodEnd
	}
	desc := "Subscription " + sub.ID
	if len(sub.Items) > 0 {
		desc = sub.Items[0].Name
	}
	res, err := s.Providers.CreateSubscription(ctx, sub.AccountID, sub.Mode, customprovider.SubscriptionParams{ProviderID: sub.CustomProviderID,
		SubscriptionID: sub.ID, TransactionID: x.ID, ContactID: sub.Contact.ID, PaymentMethodID: methodID, Amount: sub.Amount,
		Currency: sub.Currency, Interval: sub.Recurrence.Interval, IntervalCount: sub.Recurrence.IntervalCount, StartDate: start,
		Description: desc})
	if err != nil {
		return err
	}
	return s.Store.Write(ctx, func(tx store.Tx) error {
		sub, err := tx.FindSubscriptionByID(ctx, a.AccountID, a.SubscriptionID)
		if err != nil {
			return err
		}
		if res.Succeeded {
			sub.ProviderID, sub.ProviderMessage = res.ProviderSubscriptionID, ""
			if sub.ProviderID == "" {
				sub.ProviderID = sub.ID
			}
			if slices.Contains([]string{tender.SubscriptionActive, tender.SubscriptionTrialing, tender.SubscriptionPastDue,
				tender.SubscriptionUnpaid, tender.SubscriptionCanceled}, res.Status) {
				sub.Status = res.Status
			}
		} else {
			sub.Status, sub.ProviderMessage = tender.SubscriptionUnpaid, res.Message
			if sub.ProviderMessage == "" {
				sub.ProviderMessage = "The custom payment provider refused to start the subscription."
			}
		}
		sub.UpdatedAt = tx.Now()
		if err := tx.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		return event.Record(ctx, tx, tender.Scope{AccountID: sub.AccountID, Mode: sub.Mode}, tender.EventSubscriptionUpdated, sub)
	})
}

// CancelSubscription cancels subscription id of sc's account at once: a
// subscription a custom provider runs is cancelled there first
// (cancel_subscription); if the provider refuses or cannot be reached,
// nothing changes (EPROCESSOR). A subscription already canceled is
// ECONFLICT; an unknown one ENOTFOUND "Subscription not found".
func (s *Service) CancelSubscription(ctx context.Context, sc tender.Scope, id string) (*tender.Subscription, error) {
	release, err := s.Store.Claim(ctx, "subscription:"+id, claimTTL)
	if err != nil {
		return nil, err
	}
	defer release()
	sub, err := s.GetSubscription(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if sub.Status == tender.SubscriptionCanceled {
		return nil, tender.Errorf(tender.ECONFLICT, "subscription %s is already canceled", sub.ID)
	}
	if sub.CustomProviderID != "" && sub.ProviderID != "" {
		if s.Providers == nil {
			return nil, tender.Errorf(tender.ENOTIMPLEMENTED, "custom providers are not configured")
		}
		res, err := s.Providers.CancelSubscription(ctx, sub.AccountID, sub.Mode, customprovider.CancelParams{ProviderID: sub.CustomProviderID,
			SubscriptionID: sub.ID, ProviderSubscriptionID: sub.ProviderID, ContactID: sub.Contact.ID})
		if err != nil {
			return nil, err
		}
		if !res.Succeeded {
			msg := res.Message
			if msg == "" {
				msg = "no reason given"
			}
			return nil, tender.Errorf(tender.EPROCESSOR, "the custom payment provider refused to cancel subscription %s: %s", sub.ID, msg)
		}
	}
	var out *tender.Subscription
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		sub, err := tx.FindSubscriptionByID(ctx, sc.AccountID, id)
		if err != nil {
			return err
		}
		if sub.Status == tender.SubscriptionCanceled {
			return tender.Errorf(tender.ECONFLICT, "subscription %s is already canceled", sub.ID)
		}
		now := tx.Now()
		sub.Status, sub.CanceledAt, sub.UpdatedAt = tender.SubscriptionCanceled, &now, now
		if err := tx.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, tender.Scope{AccountID: sub.AccountID, Mode: sub.Mode}, tender.EventSubscriptionUpdated, sub); err != nil {
			return err
		}
		out = sub
		return store.RunCommitHook(ctx, tx, sub)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
