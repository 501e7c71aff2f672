package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tenderpay/tender"
)

// dayMicros is one UTC day in the microseconds times are stored in.
const dayMicros = int64(24 * time.Hour / time.Microsecond)

// countShards is how many counter rows share one day's increments.
const countShards = 8

// accountWhere starts a WHERE clause on one account's rows.
func accountWhere(accountID string) *where { return newWhere("account_id = $1", accountID) }

// Kinds of search_terms rows.
const (
	termsOrder        = "order"
	termsTransaction  = "txn"
	termsSubscription = "sub"
)

// maxTerm bounds an indexed word, in bytes.
const maxTerm = 64

// words returns the lower-case runs of letters and digits of parts
// ("Ada Lovelace", "ada@example.com" give ada, lovelace, example, com),
// each once, cut to maxTerm bytes.
func words(parts ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range parts {
		for _, w := range strings.FieldsFunc(strings.ToLower(p), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len(w) > maxTerm {
				w = w[:maxTerm]
				for !utf8.ValidString(w) {
					w = w[:len(w)-1]
				}
			}
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// putTerms indexes the words of parts for object id.
func (t *Tx) putTerms(ctx context.Context, kind, accountID, id string, parts ...string) error {
	terms := words(parts...)
	if len(terms) == 0 {
		return nil
	}
	// One statement for all the words.
	var b strings.Builder
	args := []any{accountID, kind, id}
	b.WriteString(`INSERT INTO search_terms (account_id, kind, term, id) VALUES `)
	for i, term := range terms {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, term)
		fmt.Fprintf(&b, "($1, $2, $%d, $3)", len(args))
	}
	b.WriteString(" ON CONFLICT DO NOTHING")
	_, err := t.exec(ctx, b.String(), args...)
	return err
}

// listWhere starts the WHERE clause of a list of one account's objects of
// kind, in table. With a search, every word of it must begin a word of the
// object's searchable text; the clause starts from the ids of the longest
// word's matches in search_terms (of the account alone, so that the engine
// looks the candidates up by id rather than walking the account's rows)
// and checks the other words per candidate. A search without letters or
// digits matches nothing.
func listWhere(accountID, kind, table, search string) *where {
	if strings.TrimSpace(search) == "" {
		return accountWhere(accountID)
	}
	ws := words(search)
	if len(ws) == 0 {
		return newWhere("account_id = $1 AND 1 = 0", accountID)
	}
	sort.SliceStable(ws, func(i, j int) bool { return len(ws[i]) > len(ws[j]) })
	w := newWhere("id IN (SELECT id FROM search_terms WHERE account_id = $1 AND kind = $2 AND term >= $3 AND term < $4)",
		accountID, kind, ws[0], ws[0]+termEnd)
	for _, word := range ws[1:] {
		w.add("EXISTS (SELECT 1 FROM search_terms st WHERE st.id = "+table+".id AND st.term >= $%d AND st.term < $%d)", word, word+termEnd)
	}
	return w
}

// termEnd sorts after every character: word ≤ term < word+termEnd holds
// for the terms that begin with word.
const termEnd = "\U0010FFFF"

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

// orderSearch is the searchable text of an order: its contact's name and
// email, its id and its items' names.
func orderSearch(o *tender.Order) []string {
	names := make([]string, 0, len(o.Items)+3)
	names = append(names, o.Contact.Name, o.Contact.Email, o.ID)
	for _, it := range o.Items {
		names = append(names, it.Name)
	}
	return names
}

func orderArgs(o *tender.Order) ([]any, error) {
	data, err := marshal(o)
	if err != nil {
		return nil, err
	}
	return []any{o.Status, o.PaymentStatus, o.Contact.ID, o.Source.ID, micros(o.UpdatedAt), data}, nil
}

// CreateOrder inserts o and indexes its products.
func (t *Tx) CreateOrder(ctx context.Context, o *tender.Order) error {
	args, err := orderArgs(o)
	if err != nil {
		return err
	}
	args = append(args, o.ID, o.AccountID, string(o.Mode), micros(o.CreatedAt))
	if _, err := t.exec(ctx, `INSERT INTO orders (status, payment_status, contact_id, source_id, updated_at, data, id, account_id, mode, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, args...); err != nil {
		return err
	}
	if err := t.putTerms(ctx, termsOrder, o.AccountID, o.ID, orderSearch(o)...); err != nil {
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
			`UPDATE orders SET status = $1, payment_status = $2, contact_id = $3, source_id = $4, updated_at = $5, data = $6,
				version = version + 1 WHERE id = $7 AND version = $8 RETURNING account_id, mode`, args...)
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
	return getByAccount(ctx, t, "order", "orders", id, accountID, func(o *tender.Order) string { return o.AccountID })
}

// ListOrders returns a page of f's matches and their number.
func (t *Tx) ListOrders(ctx context.Context, accountID string, f tender.OrderFilter) ([]*tender.Order, int, error) {
	w := listWhere(accountID, termsOrder, "orders", f.Search)
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

// txnSearch is the searchable text of a transaction: its contact's name
// and email, its source's name, its entity's id and its own.
func txnSearch(x *tender.Transaction) []string {
	return []string{x.Contact.Name, x.Contact.Email, x.Source.Name, x.EntityID, x.ID}
}

// shardOf spreads a transaction's counter increments over countShards rows.
func shardOf(id string) int {
	if id == "" {
		return 0
	}
	return int(id[len(id)-1]) % countShards
}

// UpdateTransaction overwrites x's row; its time, mode and source stay.
func (t *Tx) UpdateTransaction(ctx context.Context, x *tender.Transaction) error {
	data, err := marshal(x)
	if err != nil {
		return err
	}
	var acct string
	err = t.q.QueryRowContext(ctx, `UPDATE transactions SET status = $1, entity_id = $2, contact_id = $3, subscription_id = $4,
		updated_at = $5, data = $6 WHERE id = $7 RETURNING account_id`,
		x.Status, x.EntityID, x.Contact.ID, x.SubscriptionID, micros(x.UpdatedAt), data, x.ID).Scan(&acct)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && acct != x.AccountID):
		return tender.Errorf(tender.ENOTFOUND, "transaction %s not found", x.ID)
	case err != nil:
		return t.d.InterpretError(err)
	}
	t.seen["txn:"+x.ID] = x
	return nil
}

// CreateTransaction inserts x with its search terms and counts it in its
// day's counter.
func (t *Tx) CreateTransaction(ctx context.Context, x *tender.Transaction) error {
	data, err := marshal(x)
	if err != nil {
		return err
	}
	created := micros(x.CreatedAt)
	if _, err := t.exec(ctx, `INSERT INTO transactions (id, status, account_id, mode, entity_id, contact_id, source_type, source_sub_type,
		subscription_id, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		x.ID, x.Status, x.AccountID, string(x.Mode), x.EntityID, x.Contact.ID, x.Source.Type, x.Source.SubType, x.SubscriptionID,
		created, micros(x.UpdatedAt), data); err != nil {
		return err
	}
	if err := t.putTerms(ctx, termsTransaction, x.AccountID, x.ID, txnSearch(x)...); err != nil {
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
	w := listWhere(accountID, termsTransaction, "transactions", f.Search)
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

// subscriptionSearch is the searchable text of a subscription: its
// contact's name and email, its id and its items' names.
func subscriptionSearch(s *tender.Subscription) []string {
	names := []string{s.Contact.Name, s.Contact.Email, s.ID}
	for _, it := range s.Items {
		names = append(names, it.Name)
	}
	return names
}

func subscriptionArgs(s *tender.Subscription) ([]any, error) {
	data, err := marshal(s)
	if err != nil {
		return nil, err
	}
	return []any{s.Status, s.EntityID, s.Contact.ID, s.Source.Type, micros(s.UpdatedAt), data}, nil
}

// CreateSubscription inserts s.
func (t *Tx) CreateSubscription(ctx context.Context, s *tender.Subscription) error {
	args, err := subscriptionArgs(s)
	if err != nil {
		return err
	}
	args = append(args, s.ID, s.AccountID, string(s.Mode), micros(s.CreatedAt))
	if _, err := t.exec(ctx, `INSERT INTO subscriptions (status, entity_id, contact_id, source_type, updated_at, data, id, account_id, mode, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, args...); err != nil {
		return err
	}
	if err := t.putTerms(ctx, termsSubscription, s.AccountID, s.ID, subscriptionSearch(s)...); err != nil {
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
			`UPDATE subscriptions SET status = $1, entity_id = $2, contact_id = $3, source_type = $4, updated_at = $5, data = $6,
				version = version + 1 WHERE id = $7 AND version = $8 RETURNING account_id, mode`, args...)
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
	return getByAccount(ctx, t, "subscription", "subscriptions", id, accountID, func(s *tender.Subscription) string { return s.AccountID })
}

// ListSubscriptions returns a page of f's matches and their number.
func (t *Tx) ListSubscriptions(ctx context.Context, accountID string, f tender.SubscriptionFilter) ([]*tender.Subscription, int, error) {
	w := listWhere(accountID, termsSubscription, "subscriptions", f.Search)
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
	n, err := t.count(ctx, "subscriptions", w)
	if err != nil {
		return nil, 0, err
	}
	items, err := page[tender.Subscription](ctx, t, "subscriptions", w, f.Limit, f.Offset)
	return items, n, err
}
