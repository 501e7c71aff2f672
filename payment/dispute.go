package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/store"
)

// JobOpenDispute opens the dispute a processor announced for a captured
// payment (the sim's dispute card), when its delay has passed.
const JobOpenDispute = "payment.open_dispute"

// DisputeResponseWindow is how long a merchant has to respond to a new
// dispute: its response due date is this long after it opened.
const DisputeResponseWindow = 7 * 24 * time.Hour

type disputeJob struct {
	AccountID string      `json:"account_id"`
	Mode      tender.Mode `json:"mode"`
	PaymentID string      `json:"payment_id"`
}

// scheduleDispute queues, in the capture's transaction, the opening of the
// dispute the processor announced for pay (if it did).
func scheduleDispute(ctx context.Context, tx store.Tx, pay *tender.Payment) error {
	if pay.Chargeback == nil || pay.Status != tender.PaymentCaptured {
		return nil
	}
	now := tx.Now()
	args, err := json.Marshal(disputeJob{AccountID: pay.AccountID, Mode: pay.Mode, PaymentID: pay.ID})
	if err != nil {
		return err
	}
	return tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: JobOpenDispute, AccountID: pay.AccountID,
		Args: args, RunAt: now.Add(pay.Chargeback.After), CreatedAt: now, UniqueKey: JobOpenDispute + ":" + pay.ID})
}

// OpenDisputeJob is the JobOpenDispute handler. Running it again after the
// dispute opened changes nothing.
func (s *Service) OpenDisputeJob(ctx context.Context, j *tender.Job) error {
	var a disputeJob
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return fmt.Errorf("bad job args: %w", err)
	}
	sc := tender.Scope{AccountID: a.AccountID, Mode: a.Mode}
	var pay *tender.Payment
	if err := s.Store.Read(ctx, func(tx store.Tx) (err error) { pay, err = tx.FindPaymentByID(ctx, sc, a.PaymentID); return err }); err != nil {
		return err
	}
	if pay.Chargeback == nil || pay.Disputed || pay.Status != tender.PaymentCaptured || pay.AmountCaptured-pay.AmountRefunded <= 0 {
		return nil // disputed already, or nothing left to dispute
	}
	_, err := s.OpenDispute(ctx, sc, pay.ID, pay.Chargeback.Reason, pay.Chargeback.ReasonCode)
	return err
}

// OpenDispute opens a dispute of a captured payment for what is left of it
// (captured minus refunded), in one transaction with the dispute_opened
// ledger posting (the amount and the plan's dispute fee move from the
// available balance to the dispute reserve), the payment's and intent's
// disputed fields and the dispute.created event. It returns ECONFLICT when
// the payment is not captured, external (recorded from another gateway),
// already disputed, or fully refunded.
func (s *Service) OpenDispute(ctx context.Context, sc tender.Scope, paymentID, reason string, reasonCode int) (*tender.Dispute, error) {
	release, err := s.claimIntentOf(ctx, func(tx store.Tx) (string, error) {
		pay, err := tx.FindPaymentByID(ctx, sc, paymentID)
		if err != nil {
			return "", err
		}
		return pay.PaymentIntentID, nil
	})
	if err != nil {
		return nil, err
	}
	defer release()
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	var d *tender.Dispute
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		pay, err := tx.FindPaymentByID(ctx, sc, paymentID)
		if err != nil {
			return err
		}
		switch {
		case pay.Status != tender.PaymentCaptured:
			return tender.Errorf(tender.ECONFLICT, "payment %s is %s; only a captured payment can be disputed", pay.ID, pay.Status)
		case pay.External:
			return tender.Errorf(tender.ECONFLICT, "payment %s was recorded from another gateway; its disputes are handled there", pay.ID)
		case pay.Disputed:
			return tender.Errorf(tender.ECONFLICT, "payment %s is already disputed (%s)", pay.ID, pay.DisputeID)
		case pay.AmountCaptured-pay.AmountRefunded <= 0:
			return tender.Errorf(tender.ECONFLICT, "payment %s is fully refunded; nothing is left to dispute", pay.ID)
		}
		pi, err := tx.FindPaymentIntentByID(ctx, sc, pay.PaymentIntentID)
		if err != nil {
			return err
		}
		now := tx.Now()
		amount := pay.AmountCaptured - pay.AmountRefunded
		d = &tender.Dispute{ID: tender.NewID(tender.PrefixDispute, now), AccountID: sc.AccountID, Mode: sc.Mode,
			PaymentIntentID: pi.ID, PaymentID: pay.ID, Status: tender.DisputeNew, Amount: amount, Currency: pay.Currency,
			Fee: st.Plan.DisputeFee, Reason: reason, ReasonCode: reasonCode, ResponseDueAt: now.Add(DisputeResponseWindow),
			StatusHistory: []tender.StatusChange{{Status: tender.DisputeNew, At: now}}, CreatedAt: now, UpdatedAt: now}
		lt, err := ledger.Build(ledger.KindDisputeOpened, ledger.Posting{AccountID: sc.AccountID, Mode: sc.Mode, Currency: d.Currency,
			Amount: d.Amount, Fee: d.Fee, SourceID: d.ID, RootSourceID: pi.ID, Description: "dispute opened: " + reason, At: now})
		if err != nil {
			return err
		}
		if err := s.Ledger.Post(ctx, tx, lt); err != nil {
			return err
		}
		if err := tx.CreateDispute(ctx, d); err != nil {
			return err
		}
		pay.Disputed, pay.DisputeID, pay.AmountDisputed, pay.UpdatedAt = true, d.ID, amount, now
		pi.Disputed, pi.DisputeID, pi.AmountDisputed, pi.UpdatedAt = true, d.ID, amount, now
		if err := tx.UpdatePayment(ctx, pay); err != nil {
			return err
		}
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, tender.EventDisputeCreated, d); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// claimIntentOf takes the claim of the intent that find names (reading
// it), so that no refund or capture of the intent runs meanwhile.
func (s *Service) claimIntentOf(ctx context.Context, find func(tx store.Tx) (string, error)) (func(), error) {
	var intentID string
	if err := s.Store.Read(ctx, func(tx store.Tx) (err error) { intentID, err = find(tx); return err }); err != nil {
		return nil, err
	}
	return s.claim(ctx, intentID)
}

// disputeEvents is the event of each status a dispute moves to.
var disputeEvents = map[string]string{
	tender.DisputeContested: tender.EventDisputeContested,
	tender.DisputeAccepted:  tender.EventDisputeAccepted,
	tender.DisputeWon:       tender.EventDisputeWon,
	tender.DisputeLost:      tender.EventDisputeLost,
}

// MoveDispute moves a dispute to status to, in one transaction with its
// ledger posting and event: won releases the held amount and fee to the
// available balance (dispute_won); lost and accepted return the amount to
// the cardholder and keep the fee (dispute_lost); contested moves no
// money. It returns ENOTFOUND for a dispute outside sc, and ECONFLICT
// naming the current status when the state machine forbids the move.
func (s *Service) MoveDispute(ctx context.Context, sc tender.Scope, id, to string) (*tender.Dispute, error) {
	if _, ok := disputeEvents[to]; !ok {
		return nil, tender.FieldError("status", "must be contested, accepted, won or lost")
	}
	release, err := s.claimIntentOf(ctx, func(tx store.Tx) (string, error) {
		d, err := tx.FindDisputeByID(ctx, sc, id)
		if err != nil {
			return "", err
		}
		return d.PaymentIntentID, nil
	})
	if err != nil {
		return nil, err
	}
	defer release()
	var d *tender.Dispute
	err = s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if d, err = tx.FindDisputeByID(ctx, sc, id); err != nil {
			return err
		}
		if !tender.CanTransition(tender.DisputeTransitions, d.Status, to) {
			return tender.Errorf(tender.ECONFLICT, "dispute %s is %s and cannot become %s", d.ID, d.Status, to)
		}
		now := tx.Now()
		kind := ""
		switch to {
		case tender.DisputeWon:
			kind = ledger.KindDisputeWon
		case tender.DisputeLost, tender.DisputeAccepted:
			kind = ledger.KindDisputeLost
		}
		if kind != "" {
			lt, err := ledger.Build(kind, ledger.Posting{AccountID: sc.AccountID, Mode: sc.Mode, Currency: d.Currency,
				Amount: d.Amount, Fee: d.Fee, SourceID: d.ID, RootSourceID: d.PaymentIntentID, Description: "dispute " + to, At: now})
			if err != nil {
				return err
			}
			if err := s.Ledger.Post(ctx, tx, lt); err != nil {
				return err
			}
			d.ClosedAt = &now
		}
		d.Status, d.UpdatedAt = to, now
		d.StatusHistory = append(d.StatusHistory, tender.StatusChange{Status: to, At: now})
		if err := tx.UpdateDispute(ctx, d); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, disputeEvents[to], d); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// disputedAmount returns how much of a disputed intent's captured amount
// the cardholder took back through a lost dispute, and ECONFLICT while the
// dispute is open (a disputed payment cannot be refunded until it closes).
func disputedAmount(ctx context.Context, tx store.Tx, sc tender.Scope, pi *tender.PaymentIntent) (int64, error) {
	if !pi.Disputed {
		return 0, nil
	}
	d, err := tx.FindDisputeByID(ctx, sc, pi.DisputeID)
	if err != nil {
		return 0, err
	}
	switch {
	case tender.DisputeOpen(d.Status):
		return 0, tender.Errorf(tender.ECONFLICT, "payment intent %s has an open dispute (%s, %s); it cannot be refunded until the dispute closes",
			pi.ID, d.ID, d.Status)
	case d.Status == tender.DisputeWon:
		return 0, nil
	}
	return d.Amount, nil
}
