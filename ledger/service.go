package ledger

import (
	"context"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/job"
	"github.com/tenderpay/tender/store"
)

// JobSettle is the recurring job that settles due transactions.
const JobSettle = "ledger.settle"

// Defaults.
const (
	// DefaultSettlementDelay is how long a payment's money stays pending
	// before it becomes available, for accounts without a delay of their own.
	DefaultSettlementDelay = 48 * time.Hour
	// DefaultSettleInterval is how often the settlement job looks for due
	// transactions.
	DefaultSettleInterval = 5 * time.Second
	settleBatch           = 200
)

// Payout defaults, for accounts without settings of their own.
const (
	// DefaultPayoutSchedule pays out once a day, at 00:00 UTC.
	DefaultPayoutSchedule = tender.PayoutDaily
	// DefaultPayoutMinimum is the smallest payout (in minor units).
	DefaultPayoutMinimum = 100
)

// Service posts ledger transactions and runs settlement.
type Service struct {
	Store store.Store
	// SettlementDelay applies to accounts without a delay of their own.
	SettlementDelay time.Duration
	// SettleInterval is how often the settlement job runs.
	SettleInterval time.Duration
	// PayoutSchedule and PayoutMinimum apply to accounts without their own.
	PayoutSchedule string
	PayoutMinimum  int64
	// CacheTTL bounds how long an account's settings are cached; a change
	// made by another process shows within it.
	CacheTTL time.Duration
	// Lock, when set, takes the lock of a root object (a payment intent)
	// without waiting, so that settlement never changes an object under a
	// command that holds it; ECONFLICT means busy (settled next time).
	Lock func(ctx context.Context, rootID string) (release func(), err error)
	// OnSettle, when set, is called in the settlement's store transaction
	// for every transaction it settles, so that the objects it belongs to
	// can record their settlement.
	OnSettle func(ctx context.Context, tx store.Tx, t *tender.LedgerTransaction, at time.Time) error

	mu    sync.Mutex
	cache map[string]cachedSettings
}

type cachedSettings struct {
	s  *tender.AccountSettings
	at time.Time
}

// New returns a Service with the default settlement delay.
func New(s store.Store) *Service {
	return &Service{Store: s, SettlementDelay: DefaultSettlementDelay, SettleInterval: DefaultSettleInterval,
		PayoutSchedule: DefaultPayoutSchedule, PayoutMinimum: DefaultPayoutMinimum,
		CacheTTL: 10 * time.Second, cache: map[string]cachedSettings{}}
}

// Settings returns an account's effective settings: its own, with the
// defaults for what it does not set. They are cached for CacheTTL. Call it
// outside store transactions (it may read).
func (s *Service) Settings(ctx context.Context, accountID string) (*tender.AccountSettings, error) {
	s.mu.Lock()
	c, ok := s.cache[accountID]
	s.mu.Unlock()
	if ok && time.Since(c.at) < s.CacheTTL {
		return c.s, nil
	}
	var own *tender.AccountSettings
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		own, err = tx.FindAccountSettings(ctx, accountID)
		if tender.ErrorCode(err) == tender.ENOTFOUND {
			own, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	eff := s.effective(accountID, own)
	s.mu.Lock()
	s.cache[accountID] = cachedSettings{eff, time.Now()}
	s.mu.Unlock()
	return eff, nil
}

func (s *Service) effective(accountID string, own *tender.AccountSettings) *tender.AccountSettings {
	eff := &tender.AccountSettings{AccountID: accountID, Plan: DefaultPlan(accountID), SettlementDelay: s.SettlementDelay,
		PayoutSchedule: s.PayoutSchedule, PayoutMinimum: s.PayoutMinimum}
	if own != nil {
		if own.PayoutSchedule != "" {
			eff.PayoutSchedule = own.PayoutSchedule
		}
		if own.PayoutMinimum > 0 {
			eff.PayoutMinimum = own.PayoutMinimum
		}
		if own.Plan != nil {
			p := *own.Plan
			p.ID = PlanID(accountID)
			eff.Plan = &p
		}
		if own.SettlementDelay > 0 {
			eff.SettlementDelay = own.SettlementDelay
		}
		eff.UpdatedAt = own.UpdatedAt
	}
	return eff
}

// PutSettings stores an account's own settings (a nil plan or a zero delay
// keep the defaults) and returns the effective ones. EINVALID names a bad
// field; ENOTFOUND for an unknown account.
func (s *Service) PutSettings(ctx context.Context, a *tender.AccountSettings) (*tender.AccountSettings, error) {
	if a.Plan != nil {
		if err := ValidatePlan(a.Plan); err != nil {
			return nil, err
		}
	}
	if a.SettlementDelay < 0 {
		return nil, tender.FieldError("settlement_delay", "must not be negative")
	}
	if a.PayoutSchedule != "" {
		if _, err := tender.ParsePayoutSchedule(a.PayoutSchedule); err != nil {
			return nil, err
		}
	}
	if a.PayoutMinimum < 0 || a.PayoutMinimum > tender.MaxAmount {
		return nil, tender.FieldError("payout_minimum", "must be between 0 and the largest amount")
	}
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.FindAccountByID(ctx, a.AccountID); err != nil {
			return err
		}
		a.UpdatedAt = tx.Now()
		return tx.PutAccountSettings(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.cache, a.AccountID)
	s.mu.Unlock()
	return s.Settings(ctx, a.AccountID)
}

// Post checks that every transaction balances and writes them, with their
// entries and balance changes, in tx. It returns EINTERNAL for a transaction
// that does not balance, and ECONFLICT when a balance that may not go
// negative would (the caller's transaction must then roll back).
func (s *Service) Post(ctx context.Context, tx store.Tx, ts ...*tender.LedgerTransaction) error {
	for _, t := range ts {
		if err := Validate(t); err != nil {
			return err
		}
	}
	return tx.PostLedgerTransactions(ctx, ts, floor)
}

// BuildPayment returns the transaction of a captured payment of amount
// (card or bank through tender's processor, or recorded from another
// gateway when external), with the fee of the account's plan, available
// after its settlement delay.
func BuildPayment(st *tender.AccountSettings, pay *tender.Payment, m Method, amount int64, at time.Time) (*tender.LedgerTransaction, error) {
	fee, err := Fee(st.Plan, m, amount)
	if err != nil {
		return nil, err
	}
	kind := KindPayment
	if pay.External {
		kind = KindExternalPayment
	}
	return Build(kind, Posting{AccountID: pay.AccountID, Mode: pay.Mode, Currency: pay.Currency, Amount: amount, Fee: fee,
		SourceID: pay.ID, RootSourceID: pay.PaymentIntentID, Description: pay.Description,
		AvailableAt: at.Add(st.SettlementDelay), At: at})
}

// BuildRefund returns the transaction of a refund. The payment's fee is
// kept: the refund takes its whole amount from the merchant's balance.
func BuildRefund(st *tender.AccountSettings, r *tender.Refund, at time.Time) (*tender.LedgerTransaction, error) {
	kind := KindRefund
	if r.External {
		kind = KindExternalRefund
	}
	return Build(kind, Posting{AccountID: r.AccountID, Mode: r.Mode, Currency: r.Currency, Amount: r.Amount,
		SourceID: r.ID, RootSourceID: r.PaymentIntentID, Description: r.Reason, AvailableAt: at.Add(st.SettlementDelay), At: at})
}

// Adjust posts a manual adjustment of scope s's available balance by amount
// (a credit when positive, a debit when negative) in its own transaction.
func (s *Service) Adjust(ctx context.Context, sc tender.Scope, currency tender.Currency, amount int64, description string) (*tender.LedgerTransaction, error) {
	c, err := tender.ParseCurrency(string(currency))
	if err != nil {
		return nil, tender.FieldError("currency", "is not a known ISO 4217 currency code")
	}
	if len(description) > 1000 {
		return nil, tender.FieldError("description", "must be at most 1000 characters")
	}
	var t *tender.LedgerTransaction
	err = s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if _, err := tx.FindAccountByID(ctx, sc.AccountID); err != nil {
			return err
		}
		now := tx.Now()
		id := tender.NewID(tender.PrefixAdjustment, now)
		if t, err = Build(KindAdjustment, Posting{AccountID: sc.AccountID, Mode: sc.Mode, Currency: c, Amount: amount,
			SourceID: id, Description: description, At: now}); err != nil {
			return err
		}
		if err := s.Post(ctx, tx, t); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Balances returns scope s's pending and available balance per currency
// (of one currency when currency is not empty), sorted by currency.
func (s *Service) Balances(ctx context.Context, tx store.Tx, sc tender.Scope, currency tender.Currency) ([]Balance, error) {
	rows, err := tx.FindLedgerBalances(ctx, sc, currency)
	if err != nil {
		return nil, err
	}
	var out []Balance
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].Currency != r.Currency {
			out = append(out, Balance{Currency: r.Currency})
		}
		b := &out[len(out)-1]
		switch r.Type {
		case MerchantPending:
			b.Pending = r.Amount
		case MerchantAvailable:
			b.Available = r.Amount
		case DisputeReserve:
			b.Reserved = r.Amount
		case PayoutsInTransit:
			b.InTransit = r.Amount
		}
	}
	return out, nil
}

// Balance is a merchant's balance in one currency.
type Balance struct {
	Currency  tender.Currency
	Pending   int64
	Available int64
	Reserved  int64 // held for open disputes
	InTransit int64 // paid out, not yet arrived
}

// Settle settles up to limit due transactions: it marks them settled and
// posts, per account, mode and currency, one settlement transaction that
// moves their pending amounts to the available balance. Transactions whose
// root object is busy (Lock) wait for the next run. It returns how many it
// settled and the store's time.
func (s *Service) Settle(ctx context.Context, limit int) (int, time.Time, error) {
	var due []*tender.LedgerTransaction
	var now time.Time
	if err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		now = tx.Now()
		due, err = tx.DueLedgerTransactions(ctx, now, limit)
		return err
	}); err != nil {
		return 0, now, err
	}
	if len(due) == 0 {
		return 0, now, nil
	}
	var ready []*tender.LedgerTransaction
	locked := map[string]bool{}
	busy := map[string]bool{}
	for _, t := range due {
		root := t.RootSourceID
		if s.Lock != nil && !locked[root] && !busy[root] {
			release, err := s.Lock(ctx, root)
			if tender.ErrorCode(err) == tender.ECONFLICT {
				busy[root] = true
				continue
			} else if err != nil {
				return 0, now, err
			}
			defer release()
			locked[root] = true
		}
		if !busy[root] {
			ready = append(ready, t)
		}
	}
	if len(ready) == 0 {
		return 0, now, nil
	}
	type group struct {
		account  string
		mode     tender.Mode
		currency tender.Currency
	}
	groups := map[group][]*tender.LedgerTransaction{}
	var order []group
	for _, t := range ready {
		g := group{t.AccountID, t.Mode, t.Currency}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], t)
	}
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now = tx.Now()
		var posts []*tender.LedgerTransaction
		for _, g := range order {
			ts := groups[g]
			sc := tender.Scope{AccountID: g.account, Mode: g.mode}
			var sum int64
			ids := make([]string, len(ts))
			for i, t := range ts {
				var err error
				if sum, err = tender.AddAmounts(sum, t.Pending); err != nil {
					return err
				}
				ids[i] = t.ID
			}
			settlementID := ""
			if sum != 0 {
				st, err := Build(KindSettlement, Posting{AccountID: g.account, Mode: g.mode, Currency: g.currency,
					Amount: sum, Description: "settlement", At: now})
				if err != nil {
					return err
				}
				st.SourceID, st.RootSourceID = st.ID, st.ID
				settlementID = st.ID
				posts = append(posts, st)
			}
			if err := tx.SettleLedgerTransactions(ctx, sc, ids, settlementID, now); err != nil {
				return err
			}
			if s.OnSettle != nil {
				for _, t := range ts {
					t.SettlementStatus, t.SettledAt, t.SettlementID, t.UpdatedAt = tender.Settled, &now, settlementID, now
					if err := s.OnSettle(ctx, tx, t, now); err != nil {
						return err
					}
				}
			}
		}
		return s.Post(ctx, tx, posts...)
	})
	if err != nil {
		return 0, now, err
	}
	return len(ready), now, nil
}

// SettleJob is the JobSettle handler: it settles what is due and runs again
// after SettleInterval (at once when it found a full batch).
func (s *Service) SettleJob(ctx context.Context, j *tender.Job) error {
	n, now, err := s.Settle(ctx, settleBatch)
	if err != nil {
		return err
	}
	next := now.Add(s.SettleInterval)
	if n == settleBatch {
		next = now
	}
	return job.Again{At: next}
}

// EnsureSettleJob queues the recurring settlement job unless it is queued.
func (s *Service) EnsureSettleJob(ctx context.Context) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		return tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: JobSettle, RunAt: now,
			UniqueKey: JobSettle, CreatedAt: now})
	})
}
