// Package payout pays merchants' available balances out to their banks.
//
// # Schedule
//
// A recurring job (JobSchedule, every ScanInterval) looks for accounts
// and modes that have settled, merchant-facing ledger transactions no
// payout paid out yet, and queues for each a payout job (JobCreate) once
// per period of the account's payout schedule (tender.ParsePayoutSchedule:
// daily by default, weekly, manual, or any period). The payout job makes at
// most one payout per currency and period, at the first run of the period
// that finds enough money: the sum of those transactions' nets (which is
// the available balance) must reach the account's payout minimum and
// exceed the plan's payout fee; otherwise the money waits for the next
// period.
//
// # Ledger
//
// A payout links every transaction it pays out to itself (so that
// GET /transactions?payout_id= lists them) and posts, in the same store
// transaction, its own payout transaction: the amount leaves the available
// balance, the fee goes to the platform and the rest is in transit. After
// the account's transit delay a job completes it (payout_paid: in transit
// → paid out). A pending payout that fails or is returned puts its net
// amount back into the available balance (payout_returned), and so does a
// cancelled one (payout_cancelled); that transaction is paid out again by
// the next payout. The payout fee is never given back.
package payout

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/job"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/store"
)

// Job kinds.
const (
	// JobSchedule is the recurring job that queues due payout jobs.
	JobSchedule = "payout.schedule"
	// JobCreate makes the due payouts of one account and mode.
	JobCreate = "payout.create"
	// JobComplete completes one payout when its transit delay has passed.
	JobComplete = "payout.complete"
)

// Defaults.
const (
	// DefaultScanInterval is how often JobSchedule looks for money to pay out.
	DefaultScanInterval = time.Minute
	// DefaultTransitDelay is how long a payout is pending (in transit)
	// before it completes.
	DefaultTransitDelay = 24 * time.Hour
	// scanBatch bounds the scopes one JobSchedule run queues.
	scanBatch = 1000
)

// Service makes, completes and fails payouts.
type Service struct {
	Store  store.Store
	Ledger *ledger.Service
	// ScanInterval is how often JobSchedule runs.
	ScanInterval time.Duration
	// TransitDelay is how long a payout stays pending before it completes.
	TransitDelay time.Duration

	mu sync.Mutex
	// queued remembers, per account and mode, the period for which a
	// payout job was queued, so that a scan queues one job per period.
	queued map[scopeKey]time.Time
	// cursor is where the next scan continues after a full batch.
	cursor tender.Scope
}

// New returns a Service with the default intervals.
func New(s store.Store, l *ledger.Service) *Service {
	return &Service{Store: s, Ledger: l, ScanInterval: DefaultScanInterval, TransitDelay: DefaultTransitDelay,
		queued: map[scopeKey]time.Time{}}
}

type scopeKey struct {
	account string
	mode    tender.Mode
}

// EnsureScheduleJob queues the recurring JobSchedule unless it is queued.
func (s *Service) EnsureScheduleJob(ctx context.Context) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		return tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: JobSchedule, RunAt: now,
			UniqueKey: JobSchedule, CreatedAt: now})
	})
}

type scopeArgs struct {
	AccountID string      `json:"account_id"`
	Mode      tender.Mode `json:"mode"`
	ID        string      `json:"id,omitempty"`
}

// period returns the start of the payout period that contains now for
// account settings st, and false for a manual schedule.
func period(st *tender.AccountSettings, now time.Time) (time.Time, bool, error) {
	d, err := tender.ParsePayoutSchedule(st.PayoutSchedule)
	if err != nil || d == 0 {
		return time.Time{}, false, err
	}
	return now.Truncate(d), true, nil
}

// ScheduleJob is the JobSchedule handler: it queues a JobCreate for every
// account and mode with money to pay out whose period has no job yet, and
// runs again after ScanInterval (at once after a full batch).
func (s *Service) ScheduleJob(ctx context.Context, j *tender.Job) error {
	s.mu.Lock()
	after := s.cursor
	s.mu.Unlock()
	var scopes []tender.Scope
	var now time.Time
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		now = tx.Now()
		for len(scopes) < scanBatch {
			sc, ok, err := tx.NextUnpaidScope(ctx, after)
			if err != nil || !ok {
				return err
			}
			scopes, after = append(scopes, sc), sc
		}
		return nil
	})
	if err != nil {
		return err
	}
	full := len(scopes) == scanBatch
	s.mu.Lock()
	if full {
		s.cursor = after
	} else {
		s.cursor = tender.Scope{}
	}
	s.mu.Unlock()
	var due []tender.Scope
	var starts []time.Time
	for _, sc := range scopes {
		st, err := s.Ledger.Settings(ctx, sc.AccountID)
		if err != nil {
			return err
		}
		start, ok, err := period(st, now)
		if err != nil || !ok {
			continue // manual (or a schedule stored before validation): no automatic payouts
		}
		s.mu.Lock()
		done := s.queued[scopeKey{sc.AccountID, sc.Mode}].Equal(start)
		s.mu.Unlock()
		if !done {
			due, starts = append(due, sc), append(starts, start)
		}
	}
	if len(due) > 0 {
		err := s.Store.Write(ctx, func(tx store.Tx) error {
			now := tx.Now()
			for i, sc := range due {
				args, err := json.Marshal(scopeArgs{AccountID: sc.AccountID, Mode: sc.Mode})
				if err != nil {
					return err
				}
				key := fmt.Sprintf("%s:%s:%s:%d", JobCreate, sc.AccountID, sc.Mode, starts[i].Unix())
				if err := tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: JobCreate, AccountID: sc.AccountID,
					Args: args, RunAt: now, UniqueKey: key, CreatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		for i, sc := range due {
			s.queued[scopeKey{sc.AccountID, sc.Mode}] = starts[i]
		}
		s.mu.Unlock()
	}
	next := now.Add(s.ScanInterval)
	if full {
		next = now
	}
	return job.Again{At: next}
}

// CreateJob is the JobCreate handler.
func (s *Service) CreateJob(ctx context.Context, j *tender.Job) error {
	var a scopeArgs
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return fmt.Errorf("bad job args: %w", err)
	}
	_, err := s.Create(ctx, tender.Scope{AccountID: a.AccountID, Mode: a.Mode})
	return err
}

// Create makes the due payouts of one account and mode: one per currency
// whose period has no payout yet and whose unpaid money reaches the
// account's minimum and exceeds the payout fee. It returns the payouts it
// made (none is not an error) and ENOTFOUND for an unknown account.
func (s *Service) Create(ctx context.Context, sc tender.Scope) ([]*tender.Payout, error) {
	st, err := s.Ledger.Settings(ctx, sc.AccountID)
	if err != nil {
		return nil, err
	}
	var made []*tender.Payout
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		made = made[:0]
		now := tx.Now()
		start, ok, err := period(st, now)
		if err != nil || !ok {
			return err
		}
		acct, err := tx.FindAccountByID(ctx, sc.AccountID)
		if err != nil {
			return err
		}
		totals, err := tx.UnpaidLedgerTotals(ctx, sc)
		if err != nil {
			return err
		}
		number, err := tx.LastPayoutNumber(ctx, sc)
		if err != nil {
			return err
		}
		fee := st.Plan.PayoutFee
		for _, u := range totals {
			if u.Net < st.PayoutMinimum || u.Net <= fee {
				continue
			}
			last, err := tx.FindLatestPayout(ctx, sc, u.Currency)
			if err == nil && !last.CreatedAt.Before(start) {
				continue // this period's payout was made
			} else if err != nil && tender.ErrorCode(err) != tender.ENOTFOUND {
				return err
			}
			number++
			p, err := s.create(ctx, tx, acct, sc, u, number, fee)
			if err != nil {
				return err
			}
			made = append(made, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return made, nil
}

// create makes one payout of u, everything scope sc has unpaid in a
// currency. It posts the payout's transaction before it links the
// transactions it pays out: on PostgreSQL the posting's balance rows are
// then held for the rest of the transaction, so that concurrent postings
// wait for the payout rather than fail it with a serialization error
// again and again. Both see the transaction's one snapshot, so the amount
// posted is what the linked transactions net.
func (s *Service) create(ctx context.Context, tx store.Tx, acct *tender.Account, sc tender.Scope, u tender.UnpaidTotal,
	number, fee int64) (*tender.Payout, error) {
	now := tx.Now()
	p := &tender.Payout{ID: tender.NewID(tender.PrefixPayout, now), OrganizationID: acct.OrganizationID, AccountID: sc.AccountID,
		Mode: sc.Mode, Currency: u.Currency, Number: number, Status: tender.PayoutPending, Amount: u.Net, FeeAmount: fee,
		NetAmount: u.Net - fee, StatusHistory: []tender.StatusChange{{Status: tender.PayoutPending, At: now}},
		ArrivalAt: now.Add(s.TransitDelay), CreatedAt: now, UpdatedAt: now}
	lt, err := ledger.Build(ledger.KindPayout, ledger.Posting{AccountID: sc.AccountID, Mode: sc.Mode, Currency: u.Currency,
		Amount: p.NetAmount, Fee: fee, SourceID: p.ID, RootSourceID: p.ID, Description: fmt.Sprintf("payout #%d", number), At: now})
	if err != nil {
		return nil, err
	}
	lt.PayoutID, p.LedgerTransactionID = p.ID, lt.ID
	if err := s.Ledger.Post(ctx, tx, lt); err != nil {
		return nil, err
	}
	lines, total, err := tx.AssignUnpaidLedgerTransactions(ctx, sc, u.Currency, p.ID, now)
	if err != nil {
		return nil, err
	}
	if total != u {
		return nil, tender.Errorf(tender.EINTERNAL, "payout %s: the unpaid transactions were %+v when counted and %+v when linked", p.ID, u, total)
	}
	p.TransactionCount, p.Summary = total.Count, lines
	if err := tx.CreatePayout(ctx, p); err != nil {
		return nil, err
	}
	args, err := json.Marshal(scopeArgs{AccountID: sc.AccountID, Mode: sc.Mode, ID: p.ID})
	if err != nil {
		return nil, err
	}
	if err := tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: JobComplete, AccountID: sc.AccountID,
		Args: args, RunAt: p.ArrivalAt, UniqueKey: JobComplete + ":" + p.ID, CreatedAt: now}); err != nil {
		return nil, err
	}
	return p, event.Record(ctx, tx, sc, tender.EventPayoutCreated, p)
}

// CompleteJob is the JobComplete handler; a payout that is no longer
// pending (failed, returned, cancelled meanwhile) stays as it is.
func (s *Service) CompleteJob(ctx context.Context, j *tender.Job) error {
	var a scopeArgs
	if err := json.Unmarshal(j.Args, &a); err != nil {
		return fmt.Errorf("bad job args: %w", err)
	}
	_, err := s.Move(ctx, tender.Scope{AccountID: a.AccountID, Mode: a.Mode}, a.ID, tender.PayoutCompleted, "")
	if tender.ErrorCode(err) == tender.ECONFLICT {
		return nil
	}
	return err
}

// moves are the ledger kind and event of each status a payout moves to.
var moves = map[string]struct{ kind, event string }{
	tender.PayoutCompleted: {ledger.KindPayoutPaid, tender.EventPayoutCompleted},
	tender.PayoutFailed:    {ledger.KindPayoutReturned, tender.EventPayoutFailed},
	tender.PayoutReturned:  {ledger.KindPayoutReturned, tender.EventPayoutReturned},
	tender.PayoutCancelled: {ledger.KindPayoutCancelled, tender.EventPayoutCancelled},
}

// Move moves a pending payout to status to (completed, failed, returned or
// cancelled), in one transaction with its ledger posting and event; reason
// is kept as a failed or returned payout's failure reason. It returns
// ENOTFOUND for a payout outside sc and ECONFLICT naming the current
// status when the payout is no longer pending.
func (s *Service) Move(ctx context.Context, sc tender.Scope, id, to, reason string) (*tender.Payout, error) {
	m, ok := moves[to]
	if !ok {
		return nil, tender.FieldError("status", "must be completed, failed, returned or cancelled")
	}
	if len(reason) > 500 {
		return nil, tender.FieldError("failure_reason", "must be at most 500 characters")
	}
	var p *tender.Payout
	err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if p, err = tx.FindPayoutByID(ctx, sc, id); err != nil {
			return err
		}
		if !tender.CanTransition(tender.PayoutTransitions, p.Status, to) {
			return tender.Errorf(tender.ECONFLICT, "payout %s is %s and cannot become %s", p.ID, p.Status, to)
		}
		now := tx.Now()
		lt, err := ledger.Build(m.kind, ledger.Posting{AccountID: sc.AccountID, Mode: sc.Mode, Currency: p.Currency,
			Amount: p.NetAmount, SourceID: p.ID, RootSourceID: p.ID, Description: fmt.Sprintf("payout #%d %s", p.Number, to), At: now})
		if err != nil {
			return err
		}
		if to == tender.PayoutCompleted {
			lt.PayoutID = p.ID // internal: never paid out again
		}
		if err := s.Ledger.Post(ctx, tx, lt); err != nil {
			return err
		}
		p.Status, p.UpdatedAt = to, now
		p.StatusHistory = append(p.StatusHistory, tender.StatusChange{Status: to, At: now})
		switch to {
		case tender.PayoutCompleted:
			p.CompletedAt = &now
		case tender.PayoutFailed:
			p.FailedAt, p.FailureReason = &now, reason
		case tender.PayoutReturned:
			p.ReturnedAt, p.FailureReason = &now, reason
		case tender.PayoutCancelled:
			p.CancelledAt = &now
		}
		if err := tx.UpdatePayout(ctx, p); err != nil {
			return err
		}
		if err := event.Record(ctx, tx, sc, m.event, p); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
