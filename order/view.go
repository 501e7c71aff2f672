package order

import (
	"context"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// GetTransaction returns the transaction (payment) id of sc's account.
func (s *Service) GetTransaction(ctx context.Context, sc tender.Scope, id string) (*tender.Transaction, error) {
	var x *tender.Transaction
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		x, err = tx.FindTransactionByID(ctx, sc.AccountID, id)
		if tender.ErrorCode(err) == tender.ENOTFOUND {
			return tender.Errorf(tender.ENOTFOUND, "Transaction not found")
		}
		return err
	})
	return x, err
}

// ListTransactions returns a newest-first page of the account's
// transactions matching f and their exact number.
func (s *Service) ListTransactions(ctx context.Context, sc tender.Scope, f tender.TransactionFilter) ([]*tender.Transaction, int, error) {
	var out []*tender.Transaction
	var n int
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		out, n, err = tx.ListTransactions(ctx, sc.AccountID, f)
		return err
	})
	return out, n, err
}

// GetSubscription returns subscription id of sc's account.
func (s *Service) GetSubscription(ctx context.Context, sc tender.Scope, id string) (*tender.Subscription, error) {
	var sub *tender.Subscription
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		sub, err = tx.FindSubscriptionByID(ctx, sc.AccountID, id)
		if tender.ErrorCode(err) == tender.ENOTFOUND {
			return tender.Errorf(tender.ENOTFOUND, "Subscription not found")
		}
		return err
	})
	return sub, err
}

// ListSubscriptions returns a newest-first page of the account's
// subscriptions matching f and their exact number; with withCounts, also
// how many payments each has collected (captured transactions).
func (s *Service) ListSubscriptions(ctx context.Context, sc tender.Scope, f tender.SubscriptionFilter, withCounts bool) ([]*tender.Subscription, int, map[string]int, error) {
	var out []*tender.Subscription
	var n int
	var counts map[string]int
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		if out, n, err = tx.ListSubscriptions(ctx, sc.AccountID, f); err != nil || !withCounts {
			return err
		}
		ids := make([]string, len(out))
		for i, sub := range out {
			ids[i] = sub.ID
		}
		counts, err = tx.CountSubscriptionPayments(ctx, sc.AccountID, ids)
		return err
	})
	return out, n, counts, err
}
