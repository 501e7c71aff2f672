package store

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// LedgerTx is the ledger's part of a transaction. Package ledger holds the
// rules (which entries a transaction has, which balances may not go
// negative); these methods store and read what it decides.
//
// Entries are append-only: the database itself refuses to update or delete
// them, or to delete a ledger transaction or change its amounts (triggers
// that CheckLedgerGuards looks for). Only a transaction's settlement fields
// and payout id change after it is posted.
type LedgerTx interface {
	// PostLedgerTransactions writes ts with their entries and adds every
	// entry to its ledger account's maintained balance, in one go
	// (multi-row statements). Balance rows are locked in a fixed order
	// (account, mode, currency, type, shard), so that concurrent postings do
	// not deadlock; on PostgreSQL a concurrent change of the same row makes
	// the transaction fail with a serialization error, which Store.Write
	// retries. floor names the account types whose balances may not end
	// below zero: a posting that would take one there returns ECONFLICT and
	// the caller's transaction must roll back. The caller has checked that
	// each transaction balances. ECONFLICT also when an id is taken.
	// EINVALID when a transaction's CreatedAt is not the time in its id
	// (tender.IDTime): creation-time filters rely on it.
	PostLedgerTransactions(ctx context.Context, ts []*tender.LedgerTransaction, floor []string) error
	// FindLedgerTransactionByID returns a transaction of scope s with its
	// entries, or ENOTFOUND.
	FindLedgerTransactionByID(ctx context.Context, s tender.Scope, id string) (*tender.LedgerTransaction, error)
	// ListLedgerTransactions returns a newest-first page of scope s's
	// merchant-facing transactions (those with a source type), filtered by
	// f.Currency and f.PayoutID only, without their entries.
	ListLedgerTransactions(ctx context.Context, s tender.Scope, p tender.Page, f tender.LedgerTransactionFilter) ([]*tender.LedgerTransaction, bool, error)
	// SearchLedgerTransactions returns the page (f.Limit, f.Offset) of scope
	// s's merchant-facing transactions that match f, in f's order, without
	// entries, and whether more follow. EINVALID for an unknown sort column.
	SearchLedgerTransactions(ctx context.Context, s tender.Scope, f tender.LedgerTransactionFilter) ([]*tender.LedgerTransaction, bool, error)
	// EachLedgerTransaction calls fn for every match of f (ignoring Limit
	// and Offset) in f's order, one row at a time as the database returns
	// them, so that any number of rows takes constant memory. fn's error
	// stops the walk and is returned.
	EachLedgerTransaction(ctx context.Context, s tender.Scope, f tender.LedgerTransactionFilter, fn func(*tender.LedgerTransaction) error) error
	// FindLedgerBalances returns scope s's balance per currency and account
	// type (the sum of the type's balance rows), of one currency when
	// currency is not empty, sorted by currency and type. Accounts that were
	// never posted to are absent.
	FindLedgerBalances(ctx context.Context, s tender.Scope, currency tender.Currency) ([]tender.LedgerBalance, error)
	// DueLedgerTransactions returns up to limit unsettled transactions, of
	// any account, whose AvailableAt is at or before t, earliest first.
	DueLedgerTransactions(ctx context.Context, t time.Time, limit int) ([]*tender.LedgerTransaction, error)
	// SettleLedgerTransactions marks the unsettled transactions ids of scope
	// s settled at `at` by settlement transaction settlementID. ECONFLICT
	// when one of them is not (or no longer) unsettled in scope s.
	SettleLedgerTransactions(ctx context.Context, s tender.Scope, ids []string, settlementID string, at time.Time) error
	// SetLedgerTransactionsPayout records that payout payoutID pays out the
	// transactions ids of scope s. ECONFLICT when one of them is missing or
	// already belongs to a payout.
	SetLedgerTransactionsPayout(ctx context.Context, s tender.Scope, ids []string, payoutID string, at time.Time) error

	// FindAccountSettings returns an account's settings, or ENOTFOUND when
	// it has none (the defaults apply).
	FindAccountSettings(ctx context.Context, accountID string) (*tender.AccountSettings, error)
	// PutAccountSettings creates or replaces an account's settings.
	PutAccountSettings(ctx context.Context, a *tender.AccountSettings) error

	// ScanLedgerTransactions calls fn for every ledger transaction of every
	// account, with its entries, in id order, streaming. For verification.
	ScanLedgerTransactions(ctx context.Context, fn func(*tender.LedgerTransaction) error) error
	// SumLedgerEntries returns, for every ledger account of every account,
	// the sum of its entries as the entries table holds them (whether or not
	// a transaction owns them). For verification.
	SumLedgerEntries(ctx context.Context) ([]tender.LedgerBalance, error)
	// ListAllLedgerBalances returns every maintained balance of every
	// account (summed over its rows). For verification.
	ListAllLedgerBalances(ctx context.Context) ([]tender.LedgerBalance, error)
	// CheckLedgerGuards returns what is missing of the database's
	// append-only guards on ledger entries and transactions (nothing when
	// all are in place and enabled).
	CheckLedgerGuards(ctx context.Context) ([]string, error)
}
