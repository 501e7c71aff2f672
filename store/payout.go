package store

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// DisputeTx stores disputes. Every method is scoped to one account and
// mode; a dispute of another scope is ENOTFOUND.
type DisputeTx interface {
	// CreateDispute inserts d; ECONFLICT when its payment already has a
	// dispute (one dispute per payment).
	CreateDispute(ctx context.Context, d *tender.Dispute) error
	// UpdateDispute overwrites the stored dispute with d; ENOTFOUND when
	// d.ID is not a dispute of d's scope.
	UpdateDispute(ctx context.Context, d *tender.Dispute) error
	// FindDisputeByID returns ENOTFOUND for an unknown id or another
	// scope's.
	FindDisputeByID(ctx context.Context, s tender.Scope, id string) (*tender.Dispute, error)
	// ListDisputes returns a newest-first page of scope s's disputes
	// matching f, and whether more lie beyond it in the direction of
	// travel.
	ListDisputes(ctx context.Context, s tender.Scope, p tender.Page, f tender.DisputeFilter) ([]*tender.Dispute, bool, error)
}

// PayoutTx stores payouts and links them to the ledger transactions they
// pay out.
type PayoutTx interface {
	// CreatePayout inserts p; ECONFLICT when its number is taken in its
	// account and mode.
	CreatePayout(ctx context.Context, p *tender.Payout) error
	// UpdatePayout overwrites the stored payout with p; ENOTFOUND when p.ID
	// is not a payout of p's scope.
	UpdatePayout(ctx context.Context, p *tender.Payout) error
	// FindPayoutByID returns ENOTFOUND for an unknown id or another
	// scope's.
	FindPayoutByID(ctx context.Context, s tender.Scope, id string) (*tender.Payout, error)
	// ListPayouts returns a newest-first page of scope s's payouts matching
	// f, and whether more follow.
	ListPayouts(ctx context.Context, s tender.Scope, p tender.Page, f tender.PayoutFilter) ([]*tender.Payout, bool, error)
	// ListOrganizationPayouts returns a newest-first page of the payouts,
	// in mode, of every account of organization orgID, matching f.
	ListOrganizationPayouts(ctx context.Context, orgID string, mode tender.Mode, p tender.Page, f tender.PayoutFilter) ([]*tender.Payout, bool, error)
	// LastPayoutNumber returns the highest payout number of scope s (0
	// when it has none).
	LastPayoutNumber(ctx context.Context, s tender.Scope) (int64, error)
	// FindLatestPayout returns scope s's newest payout in currency, or
	// ENOTFOUND.
	FindLatestPayout(ctx context.Context, s tender.Scope, currency tender.Currency) (*tender.Payout, error)

	// UnpaidLedgerTotals sums, per currency (sorted), scope s's settled
	// merchant-facing ledger transactions that no payout pays out yet.
	UnpaidLedgerTotals(ctx context.Context, s tender.Scope) ([]tender.UnpaidTotal, error)
	// AssignUnpaidLedgerTransactions marks every transaction that
	// UnpaidLedgerTotals counts in currency as paid out by payoutID (at
	// `at`), and returns the summary per source type (sorted), count and
	// total net of the transactions paid out by payoutID, leaving out the
	// payout's own (those whose source is payoutID).
	AssignUnpaidLedgerTransactions(ctx context.Context, s tender.Scope, currency tender.Currency, payoutID string, at time.Time) ([]tender.PayoutSummaryLine, tender.UnpaidTotal, error)
	// NextUnpaidScope returns the first account and mode, in (account id,
	// mode) order after `after` (the zero Scope: from the start), that has
	// transactions UnpaidLedgerTotals would count, and false when none
	// follows. Only AccountID and Mode of the scopes are used.
	NextUnpaidScope(ctx context.Context, after tender.Scope) (tender.Scope, bool, error)
}
