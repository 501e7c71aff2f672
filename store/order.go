package store

import (
	"context"

	"github.com/tenderpay/tender"
)

// OrderTx stores orders, their fulfillments and notes, transactions (the
// HighLevel view of payments) and subscriptions. Methods take the account
// they are scoped to; a HighLevel token sees both modes of its account, so
// lists filter by mode only when the filter names one. Objects of another
// account are ENOTFOUND.
type OrderTx interface {
	CreateOrder(ctx context.Context, o *tender.Order) error
	// UpdateOrder overwrites o; ECONFLICT when o is a stale copy (another
	// request updated the order since it was read).
	UpdateOrder(ctx context.Context, o *tender.Order) error
	// FindOrderByID returns ENOTFOUND unless order id belongs to accountID.
	FindOrderByID(ctx context.Context, accountID, id string) (*tender.Order, error)
	// ListOrders returns the page of f's matches, newest first, and the
	// exact number of matches.
	ListOrders(ctx context.Context, accountID string, f tender.OrderFilter) ([]*tender.Order, int, error)

	CreateFulfillment(ctx context.Context, f *tender.Fulfillment) error
	// ListFulfillments returns an order's fulfillments, oldest first.
	ListFulfillments(ctx context.Context, accountID, orderID string) ([]*tender.Fulfillment, error)
	CreateOrderNote(ctx context.Context, n *tender.OrderNote) error
	// ListOrderNotes returns an order's notes, oldest first.
	ListOrderNotes(ctx context.Context, accountID, orderID string) ([]*tender.OrderNote, error)

	// CreateTransaction inserts the transaction of payment t.ID, counting
	// it; ECONFLICT when it exists.
	CreateTransaction(ctx context.Context, t *tender.Transaction) error
	// UpdateTransaction overwrites a transaction's document, status and
	// links; its time, mode and source stay as created. ENOTFOUND when t.ID
	// is no transaction of t's account.
	UpdateTransaction(ctx context.Context, t *tender.Transaction) error
	// FindTransactionByID returns ENOTFOUND unless transaction id belongs
	// to accountID.
	FindTransactionByID(ctx context.Context, accountID, id string) (*tender.Transaction, error)
	// ListTransactions returns the page of f's matches, newest first, and
	// the exact number of matches.
	ListTransactions(ctx context.Context, accountID string, f tender.TransactionFilter) ([]*tender.Transaction, int, error)
	// ListTransactionsByEntity returns every transaction of an order or
	// subscription, oldest first.
	ListTransactionsByEntity(ctx context.Context, accountID, entityID string) ([]*tender.Transaction, error)
	// CountSubscriptionPayments counts, per subscription id, the
	// transactions of those subscriptions that captured money.
	CountSubscriptionPayments(ctx context.Context, accountID string, subscriptionIDs []string) (map[string]int, error)

	CreateSubscription(ctx context.Context, s *tender.Subscription) error
	// UpdateSubscription overwrites s; ECONFLICT when s is a stale copy.
	UpdateSubscription(ctx context.Context, s *tender.Subscription) error
	// FindSubscriptionByID returns ENOTFOUND unless subscription id belongs
	// to accountID.
	FindSubscriptionByID(ctx context.Context, accountID, id string) (*tender.Subscription, error)
	// ListSubscriptions returns the page of f's matches, newest first, and
	// the exact number of matches.
	ListSubscriptions(ctx context.Context, accountID string, f tender.SubscriptionFilter) ([]*tender.Subscription, int, error)
}
