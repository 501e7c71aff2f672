package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// dayMicros is one UTC day in the microseconds times are stored in.
const dayMicros = int64(24 * time.Hour / time.Microsecond)

// countShards is how many counter rows share one day's increments.
const countShards = 8

// getAccount loads the document of table's row id and returns ENOTFOUND
// unless it belongs to accountID (in either mode).
func getAccount[T any](ctx context.Context, t *Tx, what, table, id, accountID string, account func(*T) string) (*T, error) {
	if v, ok := t.seen[id].(*T); ok {
		if account(v) == accountID {
			return v, nil
		}
		return nil, tender.Errorf(tender.ENOTFOUND, "%s %s not found", what, id)
	}
	var data, acct string
	err := t.q.QueryRowContext(ctx, `SELECT data, account_id FROM `+table+` WHERE id = $1`, id).Scan(&data, &acct)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && acct != accountID) {
		return nil, tender.Errorf(tender.ENOTFOUND, "%s %s not found", what, id)
	} else if err != nil {
		return nil, t.d.InterpretError(err)
	}
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, err
	}
	t.seen[id] = v
	return v, nil
}

// searchText is the lower-case text a list's search matches substrings of.
func searchText(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			b.WriteString(strings.ToLower(p))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// likePattern turns a search into a LIKE pattern matching it as a
// case-insensitive substring of a lower-case search column.
func likePattern(s string) string { return likeContains(strings.ToLower(strings.TrimSpace(s))) }

// accountWhere starts a WHERE clause on one account's rows.
func accountWhere(accountID string) *where { return newWhere("account_id = $1", accountID) }

func (w *where) times(start, end *time.Time) {
	if start != nil {
		w.add("created_at >= $%d", micros(*start))
	}
	if end != nil {
		w.add("created_at <= $%d", micros(*end))
	}
}

// page returns the documents of one newest-first page of table's rows
// matching w. The ids are found first (in an index alone when one covers
// the filter), then their documents.
func page[T any](ctx context.Context, t *Tx, table string, w *where, limit, offset int) ([]*T, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := fmt.Sprintf(`SELECT data FROM %[1]s WHERE id IN (SELECT id FROM %[1]s WHERE %[2]s ORDER BY created_at DESC, id DESC LIMIT %[3]d OFFSET %[4]d)
		ORDER BY created_at DESC, id DESC`, table, w.b.String(), limit, max(offset, 0))
	return listDocs[T](ctx, t, q, w.args...)
}

// ---- orders ----

func orderArgs(o *tender.Order) ([]any, error) {
	data, err := marshal(o)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(o.Items)+3)
	names = append(names, o.Contact.Name, o.Contact.Email, o.ID)
	for _, it := range o.Items {
		names = append(names, it.Name)
	}
	return []any{o.Status, o.PaymentStatus, o.Contact.ID, o.Source.ID, searchText(names...), micros(o.UpdatedAt), data}, nil
}

// CreateOrder inserts o and indexes its products.
func (t *Tx) CreateOrder(ctx context.Context, o *tender.Order) error {
	args, err := orderArgs(o)
	if err != nil {
		return err
	}
	args = append(args, o.ID, o.AccountID, string(o.Mode), micros(o.CreatedAt))
	if _, err := t.exec(ctx, `INSERT INTO orders (status, payment_status, contact_id, source_id, search, updated_at, data, id, account_id, mode, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, it := range o.Items {
		if it.ProductID == "" || seen[it.ProductID] {
			continue
		}
		seen[it.ProductID] = true
		if _, err := t.exec(ctx, `INSERT INTO order_products (account_id, product_id, order_id) VALUES ($1, $2, $3)`,
			o.AccountID, it.ProductID, o.ID); err != nil {
			return err
		}
	}
	t.seen[o.ID] = o
	return nil
}

// UpdateOrder overwrites o if it is not stale.
func (t *Tx) UpdateOrder(ctx context.Context, o *tender.Order) error {
	o.Version++
	args, err := orderArgs(o)
	if err == nil {
		args = append(args, o.ID, o.Version-1)
		err = t.updateVersioned(ctx, "order", "orders", o.ID, o.AccountID, o.Mode,
			`UPDATE orders SET status = $1, payment_status = $2, contact_id = $3, source_id = $4, search = $5, updated_at = $6, data = $7,
				version = version + 1 WHERE id = $8 AND version = $9 RETURNING account_id, mode`, args...)
	}
	if err != nil {
		o.Version--
		return err
	}
	t.seen[o.ID] = o
	return nil
}

// FindOrderByID returns order id of accountID.
func (t *Tx) FindOrderByID(ctx context.Context, accountID, id string) (*tender.Order, error) {
	return getAccount(ctx, t, "order", "orders", id, accountID, func(o *tender.Order) string { return o.AccountID })
}

// ListOrders returns a page of f's matches and their number.
func (t *Tx) ListOrders(ctx context.Context, accountID string, f tender.OrderFilter) ([]*tender.Order, int, error) {
	w := accountWhere(accountID)
	if f.Mode != nil {
		w.add("mode = $%d", string(*f.Mode))
	}
	if f.Status != "" {
		w.add("status = $%d", f.Status)
	}
	if f.PaymentStatus != "" {
		w.add("payment_status = $%d", f.PaymentStatus)
	}
	w.times(f.Start, f.End)
	if f.ContactID != "" {
		w.add("contact_id = $%d", f.ContactID)
	}
	if f.SourceID != "" {
		w.add("source_id = $%d", f.SourceID)
	}
	if f.Search != "" {
		w.add(`search LIKE $%d ESCAPE '\'`, likePattern(f.Search))
	}
	if len(f.ProductIDs) > 0 {
		w.b.WriteString(" AND id IN (SELECT order_id FROM order_products WHERE account_id = $1")
		w.in("product_id", f.ProductIDs)
		w.b.WriteString(")")
	}
	n, err := t.count(ctx, "orders", w)
	if err != nil {
		return nil, 0, err
	}
	items, err := page[tender.Order](ctx, t, "orders", w, f.Limit, f.Offset)
	return items, n, err
}

// ---- fulfillments and notes ----

// CreateFulfillment inserts f.
func (t *Tx) CreateFulfillment(ctx context.Context, f *tender.Fulfillment) error {
	data, err := marshal(f)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO fulfillments (id, account_id, mode, order_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		f.ID, f.AccountID, string(f.Mode), f.OrderID, micros(f.CreatedAt), data)
	return err
}

// ListFulfillments returns an order's fulfillments, oldest first.
func (t *Tx) ListFulfillments(ctx context.Context, accountID, orderID string) ([]*tender.Fulfillment, error) {
	return listDocs[tender.Fulfillment](ctx, t, `SELECT data FROM fulfillments WHERE order_id = $1 AND account_id = $2 ORDER BY id`, orderID, accountID)
}

// CreateOrderNote inserts n.
func (t *Tx) CreateOrderNote(ctx context.Context, n *tender.OrderNote) error {
	data, err := marshal(n)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO order_notes (id, account_id, mode, order_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		n.ID, n.AccountID, string(n.Mode), n.OrderID, micros(n.CreatedAt), data)
	return err
}

// ListOrderNotes returns an order's notes, oldest first.
func (t *Tx) ListOrderNotes(ctx context.Context, accountID, orderID string) ([]*tender.OrderNote, error) {
	return listDocs[tender.OrderNote](ctx, t, `SELECT data FROM order_notes WHERE order_id = $1 AND account_id = $2 ORDER BY id`, orderID, accountID)
}

// ---- transactions ----

func txnSearch(x *tender.Transaction) string {
	return searchText(x.Contact.Name, x.Contact.Email, x.Source.Name, x.EntityID, x.ID)
}

// shardOf spreads a transaction's counter increments over countShards rows.
func shardOf(id string) int {
	if id == "" {
		return 0
	}
	return int(id[len(id)-1]) % countShards
}

// PutTransaction inserts or updates x; an insert counts it in its day.
func (t *Tx) PutTransaction(ctx context.Context, x *tender.Transaction) error {
	data, err := marshal(x)
	if err != nil {
		return err
	}
	var acct string
	err = t.q.QueryRowContext(ctx, `UPDATE transactions SET status = $1, entity_id = $2, contact_id = $3, subscription_id = $4, search = $5,
		updated_at = $6, data = $7 WHERE id = $8 RETURNING account_id`,
		x.Status, x.EntityID, x.Contact.ID, x.SubscriptionID, txnSearch(x), micros(x.UpdatedAt), data, x.ID).Scan(&acct)
	switch {
	case err == nil && acct != x.AccountID:
		return tender.Errorf(tender.ENOTFOUND, "transaction %s not found (scope mismatch)", x.ID)
	case err == nil:
		t.seen["txn:"+x.ID] = x
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return t.d.InterpretError(err)
	}
	created := micros(x.CreatedAt)
	if _, err := t.exec(ctx, `INSERT INTO transactions (id, status, account_id, mode, entity_id, contact_id, source_type, source_sub_type,
		subscription_id, search, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		x.ID, x.Status, x.AccountID, string(x.Mode), x.EntityID, x.Contact.ID, x.Source.Type, x.Source.SubType, x.SubscriptionID,
		txnSearch(x), created, micros(x.UpdatedAt), data); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `INSERT INTO transaction_counts (account_id, day, mode, source_type, source_sub_type, shard, n)
		VALUES ($1, $2, $3, $4, $5, $6, 1)
		ON CONFLICT (account_id, day, mode, source_type, source_sub_type, shard) DO UPDATE SET n = transaction_counts.n + 1`,
		x.AccountID, created/dayMicros, string(x.Mode), x.Source.Type, x.Source.SubType, shardOf(x.ID)); err != nil {
		return err
	}
	t.seen["txn:"+x.ID] = x
	return nil
}

// FindTransactionByID returns transaction id of accountID.
func (t *Tx) FindTransactionByID(ctx context.Context, accountID, id string) (*tender.Transaction, error) {
	if v, ok := t.seen["txn:"+id].(*tender.Transaction); ok && v.AccountID == accountID {
		return v, nil
	}
	var data, acct string
	err := t.q.QueryRowContext(ctx, `SELECT data, account_id FROM transactions WHERE id = $1`, id).Scan(&data, &acct)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && acct != accountID) {
		return nil, tender.Errorf(tender.ENOTFOUND, "transaction %s not found", id)
	} else if err != nil {
		return nil, t.d.InterpretError(err)
	}
	var x tender.Transaction
	if err := json.Unmarshal([]byte(data), &x); err != nil {
		return nil, err
	}
	return &x, nil
}

// txnWhere builds the filter of f with the time range [start, end].
func txnWhere(accountID string, f tender.TransactionFilter, start, end *time.Time) *where {
	w := accountWhere(accountID)
	if f.Mode != nil {
		w.add("mode = $%d", string(*f.Mode))
	}
	w.times(start, end)
	if f.SourceType != "" {
		w.add("source_type = $%d", f.SourceType)
	}
	if f.SourceSubType != "" {
		w.add("source_sub_type = $%d", f.SourceSubType)
	}
	if f.EntityID != "" {
		w.add("entity_id = $%d", f.EntityID)
	}
	if f.ContactID != "" {
		w.add("contact_id = $%d", f.ContactID)
	}
	if f.SubscriptionID != "" {
		w.add("subscription_id = $%d", f.SubscriptionID)
	}
	if f.Search != "" {
		w.add(`search LIKE $%d ESCAPE '\'`, likePattern(f.Search))
	}
	return w
}

// ListTransactions returns a page of f's matches and their exact number.
func (t *Tx) ListTransactions(ctx context.Context, accountID string, f tender.TransactionFilter) ([]*tender.Transaction, int, error) {
	n, err := t.countTransactions(ctx, accountID, f)
	if err != nil {
		return nil, 0, err
	}
	items, err := page[tender.Transaction](ctx, t, "transactions", txnWhere(accountID, f, f.Start, f.End), f.Limit, f.Offset)
	return items, n, err
}

// countTransactions counts f's matches. Filters on an entity, contact,
// subscription or search are selective and counted in their index. The
// others (mode, source, time) are summed from the day counters over the
// whole days of the range, and the partial days at its ends are counted in
// the index.
func (t *Tx) countTransactions(ctx context.Context, accountID string, f tender.TransactionFilter) (int, error) {
	if f.EntityID != "" || f.ContactID != "" || f.SubscriptionID != "" || f.Search != "" {
		return t.count(ctx, "transactions", txnWhere(accountID, f, f.Start, f.End))
	}
	// Whole days [first, last] inside the range.
	first, last := int64(-1<<62), int64(1<<62)
	if f.Start != nil {
		lo := micros(*f.Start)
		first = lo / dayMicros
		if lo%dayMicros != 0 {
			first++
		}
	}
	if f.End != nil {
		last = (micros(*f.End)+1)/dayMicros - 1
	}
	if first > last {
		return t.count(ctx, "transactions", txnWhere(accountID, f, f.Start, f.End))
	}
	w := accountWhere(accountID)
	w.add("day >= $%d", first)
	w.add("day <= $%d", last)
	if f.Mode != nil {
		w.add("mode = $%d", string(*f.Mode))
	}
	if f.SourceType != "" {
		w.add("source_type = $%d", f.SourceType)
	}
	if f.SourceSubType != "" {
		w.add("source_sub_type = $%d", f.SourceSubType)
	}
	var total int
	if err := t.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM transaction_counts WHERE `+w.b.String(), w.args...).Scan(&total); err != nil {
		return 0, t.d.InterpretError(err)
	}
	if f.Start != nil && micros(*f.Start) < first*dayMicros {
		end := time.UnixMicro(first*dayMicros - 1).UTC()
		n, err := t.count(ctx, "transactions", txnWhere(accountID, f, f.Start, &end))
		if err != nil {
			return 0, err
		}
		total += n
	}
	if f.End != nil && micros(*f.End) >= (last+1)*dayMicros {
		start := time.UnixMicro((last + 1) * dayMicros).UTC()
		n, err := t.count(ctx, "transactions", txnWhere(accountID, f, &start, f.End))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// ListTransactionsByEntity returns an order's or subscription's
// transactions, oldest first.
func (t *Tx) ListTransactionsByEntity(ctx context.Context, accountID, entityID string) ([]*tender.Transaction, error) {
	return listDocs[tender.Transaction](ctx, t, `SELECT data FROM transactions WHERE account_id = $1 AND entity_id = $2 ORDER BY created_at, id`,
		accountID, entityID)
}

// CountSubscriptionPayments counts captured transactions per subscription.
func (t *Tx) CountSubscriptionPayments(ctx context.Context, accountID string, subscriptionIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(subscriptionIDs))
	if len(subscriptionIDs) == 0 {
		return out, nil
	}
	w := accountWhere(accountID)
	w.in("subscription_id", subscriptionIDs)
	w.in("status", []string{tender.PaymentCaptured})
	rows, err := t.q.QueryContext(ctx, `SELECT subscription_id, COUNT(*) FROM transactions WHERE `+w.b.String()+` GROUP BY subscription_id`, w.args...)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// ---- subscriptions ----

func subscriptionArgs(s *tender.Subscription) ([]any, error) {
	data, err := marshal(s)
	if err != nil {
		return nil, err
	}
	names := []string{s.Contact.Name, s.Contact.Email, s.ID}
	for _, it := range s.Items {
		names = append(names, it.Name)
	}
	return []any{s.Status, s.EntityID, s.Contact.ID, s.Source.Type, searchText(names...), micros(s.UpdatedAt), data}, nil
}

// CreateSubscription inserts s.
func (t *Tx) CreateSubscription(ctx context.Context, s *tender.Subscription) error {
	args, err := subscriptionArgs(s)
	if err != nil {
		return err
	}
	args = append(args, s.ID, s.AccountID, string(s.Mode), micros(s.CreatedAt))
	if _, err := t.exec(ctx, `INSERT INTO subscriptions (status, entity_id, contact_id, source_type, search, updated_at, data, id, account_id, mode, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...); err != nil {
		return err
	}
	t.seen[s.ID] = s
	return nil
}

// UpdateSubscription overwrites s if it is not stale.
func (t *Tx) UpdateSubscription(ctx context.Context, s *tender.Subscription) error {
	s.Version++
	args, err := subscriptionArgs(s)
	if err == nil {
		args = append(args, s.ID, s.Version-1)
		err = t.updateVersioned(ctx, "subscription", "subscriptions", s.ID, s.AccountID, s.Mode,
			`UPDATE subscriptions SET status = $1, entity_id = $2, contact_id = $3, source_type = $4, search = $5, updated_at = $6, data = $7,
				version = version + 1 WHERE id = $8 AND version = $9 RETURNING account_id, mode`, args...)
	}
	if err != nil {
		s.Version--
		return err
	}
	t.seen[s.ID] = s
	return nil
}

// FindSubscriptionByID returns subscription id of accountID.
func (t *Tx) FindSubscriptionByID(ctx context.Context, accountID, id string) (*tender.Subscription, error) {
	return getAccount(ctx, t, "subscription", "subscriptions", id, accountID, func(s *tender.Subscription) string { return s.AccountID })
}

// ListSubscriptions returns a page of f's matches and their number.
func (t *Tx) ListSubscriptions(ctx context.Context, accountID string, f tender.SubscriptionFilter) ([]*tender.Subscription, int, error) {
	w := accountWhere(accountID)
	if f.Mode != nil {
		w.add("mode = $%d", string(*f.Mode))
	}
	if f.ID != "" {
		w.add("id = $%d", f.ID)
	}
	w.times(f.Start, f.End)
	if f.EntityID != "" {
		w.add("entity_id = $%d", f.EntityID)
	}
	if f.ContactID != "" {
		w.add("contact_id = $%d", f.ContactID)
	}
	if f.SourceType != "" {
		w.add("source_type = $%d", f.SourceType)
	}
	if f.Search != "" {
		w.add(`search LIKE $%d ESCAPE '\'`, likePattern(f.Search))
	}
	n, err := t.count(ctx, "subscriptions", w)
	if err != nil {
		return nil, 0, err
	}
	items, err := page[tender.Subscription](ctx, t, "subscriptions", w, f.Limit, f.Offset)
	return items, n, err
}
