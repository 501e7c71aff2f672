// Package sqlstore implements store.Tx once, in SQL that SQLite and
// PostgreSQL both accept ($N placeholders, RETURNING, ON CONFLICT). The
// engines differ in how they open, lock, batch and retry transactions, which
// store/sqlite and store/postgres own, and in the few clauses a Dialect
// carries.
//
// Objects are stored as JSON documents in a data column, beside the columns
// that queries filter, sort and constrain on. Times are integer microseconds
// since the Unix epoch, UTC, in both engines.
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
	"github.com/tenderpay/tender/store"
)

// Querier is what a transaction runs statements on: *sql.Tx or *sql.Conn.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Dialect is what differs between the engines inside a transaction.
type Dialect struct {
	// SkipLocked is appended to the job-claiming subquery.
	SkipLocked string
	// InterpretError turns a driver error into a domain error
	// (a unique violation into ECONFLICT), returning other errors unchanged.
	InterpretError func(error) error
	// BalanceShards is how many rows hold each ledger account's balance
	// (at least 1). Several rows let concurrent postings to one account
	// update different rows; the balance is their sum.
	BalanceShards int
	// ForUpdate is appended to a SELECT that locks the rows it reads.
	ForUpdate string
	// GuardsQuery returns the names of the enabled triggers on the ledger
	// tables; ExtraGuards names engine-only ones it must include beside
	// LedgerGuards.
	GuardsQuery string
	ExtraGuards []string
	// PostingCTE writes a small posting (its transactions, entries and
	// balance changes) in one statement of data-modifying WITH clauses.
	PostingCTE bool
	// EventSequence says events carry a commit-order seq and the dispatcher
	// keeps a cursor (event_dispatch) rather than a dispatched flag per
	// event. Only an engine whose writes are serialized (SQLite's single
	// writer) can hand out seq in commit order.
	EventSequence bool
	// Arrays says that statements take array parameters (PostgreSQL):
	// batch writes are then one statement over unnest()ed arrays, one round
	// trip whatever the batch's size. Without it (SQLite, in process, where
	// a statement costs no round trip) they run a statement per row.
	Arrays bool
}

// Tx implements store.Tx over a Querier.
type Tx struct {
	q   Querier
	d   *Dialect
	now time.Time
	// seen holds the objects this transaction created, updated or found,
	// by id, so that finding one again costs no query and no decoding. Find
	// returns the same pointer: the caller owns the objects of its
	// transaction.
	seen map[string]any
}

var _ store.Tx = (*Tx)(nil)

// NewTx returns a Tx that runs on q with its time fixed at now.
func NewTx(q Querier, d *Dialect, now time.Time) *Tx {
	return &Tx{q: q, d: d, now: now, seen: make(map[string]any, 4)}
}

// Now is the transaction's fixed time.
func (t *Tx) Now() time.Time { return t.now }

func micros(t time.Time) int64 { return t.UnixMicro() }

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	return res, nil
}

// execOne runs an UPDATE that must touch exactly one row.
func (t *Tx) execOne(ctx context.Context, what, id, query string, args ...any) error {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return tender.Errorf(tender.ENOTFOUND, "%s %s not found", what, id)
	}
	return nil
}

// updateScoped runs an UPDATE of one row by its primary key that ends in
// "RETURNING account_id, mode", and returns ENOTFOUND unless the row exists
// in scope (accountID, mode). On a scope mismatch the row was changed, but the
// error makes the caller's transaction roll back, as every store error does.
// Matching by primary key alone keeps planners from scanning an account's
// rows through another index.
func (t *Tx) updateScoped(ctx context.Context, what, id, accountID string, mode tender.Mode, query string, args ...any) error {
	var acct, m string
	err := t.q.QueryRowContext(ctx, query, args...).Scan(&acct, &m)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (acct != accountID || m != string(mode))) {
		if err == nil {
			return tender.Errorf(tender.ENOTFOUND, "%s %s not found (scope mismatch)", what, id)
		}
		return tender.Errorf(tender.ENOTFOUND, "%s %s not found", what, id)
	} else if err != nil {
		return t.d.InterpretError(err)
	}
	return nil
}

// updateVersioned runs an UPDATE by primary key and expected version that
// ends in "RETURNING account_id, mode". When no row matched, it tells a
// missing or foreign row (ENOTFOUND) from a stale version (ECONFLICT: another
// request changed the object since it was read).
func (t *Tx) updateVersioned(ctx context.Context, what, table, id, accountID string, mode tender.Mode, query string, args ...any) error {
	err := t.updateScoped(ctx, what, id, accountID, mode, query, args...)
	if tender.ErrorCode(err) != tender.ENOTFOUND {
		return err
	}
	var acct, m string
	if qerr := t.q.QueryRowContext(ctx, `SELECT account_id, mode FROM `+table+` WHERE id = $1`, id).Scan(&acct, &m); qerr == nil &&
		acct == accountID && m == string(mode) {
		return tender.Errorf(tender.ECONFLICT, "%s %s was changed by another request; retry", what, id)
	}
	return err
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// getScoped loads the document of table's row id into dst, and returns
// ENOTFOUND unless the row belongs to scope s. It looks the row up by its
// primary key alone and checks the scope on the row, so that no planner can
// choose a scan of the account's rows for it.
func getScoped[T any](ctx context.Context, t *Tx, what, table, id string, s tender.Scope, scope func(*T) (string, tender.Mode)) (*T, error) {
	if v, ok := t.seen[id].(*T); ok {
		if acct, mode := scope(v); acct == s.AccountID && mode == s.Mode {
			return v, nil
		}
		return nil, tender.Errorf(tender.ENOTFOUND, "%s %s not found", what, id)
	}
	var data, account, mode string
	err := t.q.QueryRowContext(ctx, `SELECT data, account_id, mode FROM `+table+` WHERE id = $1`, id).Scan(&data, &account, &mode)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (account != s.AccountID || mode != string(s.Mode))) {
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

// listDocs decodes the data column of every row of query.
func listDocs[T any](ctx context.Context, t *Tx, query string, args ...any) ([]*T, error) {
	rows, err := t.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal([]byte(data), v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// pageQuery builds the keyset clause of a newest-first id page. It returns
// the extra WHERE condition, the ORDER BY, the args to append, and whether
// the rows come back reversed (oldest first) and must be flipped.
func pageQuery(p tender.Page, next int) (cond, order string, args []any, reversed bool) {
	switch {
	case p.EndingBefore != "":
		return fmt.Sprintf(" AND id > $%d", next), " ORDER BY id ASC", []any{p.EndingBefore}, true
	case p.StartingAfter != "":
		return fmt.Sprintf(" AND id < $%d", next), " ORDER BY id DESC", []any{p.StartingAfter}, false
	default:
		return "", " ORDER BY id DESC", nil, false
	}
}

// listPage runs a keyset page query: base has its WHERE with args, ending
// where pageQuery's condition can be appended.
func listPage[T any](ctx context.Context, t *Tx, base string, args []any, p tender.Page) ([]*T, bool, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 10
	}
	cond, order, extra, reversed := pageQuery(p, len(args)+1)
	args = append(args, extra...)
	q := base + cond + order + fmt.Sprintf(" LIMIT %d", limit+1)
	items, err := listDocs[T](ctx, t, q, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if reversed {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	return items, more, nil
}

// CountOrganizations counts organizations.
func (t *Tx) CountOrganizations(ctx context.Context) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n)
	return n, err
}

// CreateOrganization inserts o.
func (t *Tx) CreateOrganization(ctx context.Context, o *tender.Organization) error {
	_, err := t.exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)`,
		o.ID, o.Name, micros(o.CreatedAt))
	return err
}

// CreateAccount inserts a.
func (t *Tx) CreateAccount(ctx context.Context, a *tender.Account) error {
	_, err := t.exec(ctx, `INSERT INTO accounts (id, organization_id, name, created_at) VALUES ($1, $2, $3, $4)`,
		a.ID, a.OrganizationID, a.Name, micros(a.CreatedAt))
	return err
}

// FindAccountByID returns the account with id.
func (t *Tx) FindAccountByID(ctx context.Context, id string) (*tender.Account, error) {
	var a tender.Account
	var created int64
	err := t.q.QueryRowContext(ctx, `SELECT id, organization_id, name, created_at FROM accounts WHERE id = $1`, id).
		Scan(&a.ID, &a.OrganizationID, &a.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tender.Errorf(tender.ENOTFOUND, "account %s not found", id)
	} else if err != nil {
		return nil, err
	}
	a.CreatedAt = time.UnixMicro(created).UTC()
	return &a, nil
}

// CreateCredential inserts c.
func (t *Tx) CreateCredential(ctx context.Context, c *tender.Credential) error {
	_, err := t.exec(ctx, `INSERT INTO credentials (id, account_id, mode, kind, hash, hint, created_at, scopes, app_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.ID, c.AccountID, string(c.Mode), c.Kind, c.Hash, c.Hint, micros(c.CreatedAt), strings.Join(c.Scopes, " "), c.AppID)
	return err
}

// FindCredentialByHash returns the unrevoked credential whose key hashes to hash.
func (t *Tx) FindCredentialByHash(ctx context.Context, hash string) (*tender.Credential, error) {
	var c tender.Credential
	var mode, scopes string
	var created int64
	err := t.q.QueryRowContext(ctx, `SELECT id, account_id, mode, kind, hash, hint, created_at, scopes, app_id FROM credentials WHERE hash = $1 AND revoked_at IS NULL`, hash).
		Scan(&c.ID, &c.AccountID, &mode, &c.Kind, &c.Hash, &c.Hint, &created, &scopes, &c.AppID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tender.Errorf(tender.ENOTFOUND, "credential not found")
	} else if err != nil {
		return nil, err
	}
	c.Mode = tender.Mode(mode)
	if scopes != "" {
		c.Scopes = strings.Fields(scopes)
	}
	c.CreatedAt = time.UnixMicro(created).UTC()
	return &c, nil
}

// CreatePaymentMethod inserts pm.
func (t *Tx) CreatePaymentMethod(ctx context.Context, pm *tender.PaymentMethod) error {
	data, err := marshal(pm)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO payment_methods (id, account_id, mode, type, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		pm.ID, pm.AccountID, string(pm.Mode), pm.Type, micros(pm.CreatedAt), micros(pm.UpdatedAt), data)
	if err == nil {
		t.seen[pm.ID] = pm
	}
	return err
}

// UpdatePaymentMethod overwrites pm.
func (t *Tx) UpdatePaymentMethod(ctx context.Context, pm *tender.PaymentMethod) error {
	data, err := marshal(pm)
	if err != nil {
		return err
	}
	return t.updateScoped(ctx, "payment method", pm.ID, pm.AccountID, pm.Mode,
		`UPDATE payment_methods SET updated_at = $1, data = $2 WHERE id = $3 RETURNING account_id, mode`, micros(pm.UpdatedAt), data, pm.ID)
}

// FindPaymentMethodByID returns the payment method id of scope s.
func (t *Tx) FindPaymentMethodByID(ctx context.Context, s tender.Scope, id string) (*tender.PaymentMethod, error) {
	return getScoped(ctx, t, "payment method", "payment_methods", id, s, func(v *tender.PaymentMethod) (string, tender.Mode) { return v.AccountID, v.Mode })
}

const intentCols = `status = $1, settlement_status = $2, payment_status = $3, amount = $4, amount_refunded = $5, reference_id = $6,
	updated_at = $7, captured_at = $8, cancelled_at = $9, settled_at = $10, data = $11`

func intentArgs(pi *tender.PaymentIntent) ([]any, error) {
	data, err := marshal(pi)
	if err != nil {
		return nil, err
	}
	return []any{pi.Status, pi.SettlementStatus, pi.LatestPaymentState, pi.Amount, pi.AmountRefunded, pi.ReferenceID,
		micros(pi.UpdatedAt), microsPtr(pi.CapturedAt), microsPtr(pi.CancelledAt), microsPtr(pi.SettledAt), data}, nil
}

// CreatePaymentIntent inserts pi.
func (t *Tx) CreatePaymentIntent(ctx context.Context, pi *tender.PaymentIntent) error {
	args, err := intentArgs(pi)
	if err != nil {
		return err
	}
	args = append(args, pi.ID, pi.AccountID, string(pi.Mode), micros(pi.CreatedAt))
	_, err = t.exec(ctx, `INSERT INTO payment_intents (status, settlement_status, payment_status, amount, amount_refunded, reference_id,
		updated_at, captured_at, cancelled_at, settled_at, data, id, account_id, mode, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, args...)
	if err == nil {
		t.seen[pi.ID] = pi
	}
	return err
}

// UpdatePaymentIntent overwrites pi.
func (t *Tx) UpdatePaymentIntent(ctx context.Context, pi *tender.PaymentIntent) error {
	pi.Version++
	args, err := intentArgs(pi)
	if err != nil {
		pi.Version--
		return err
	}
	args = append(args, pi.ID, pi.Version-1)
	err = t.updateVersioned(ctx, "payment intent", "payment_intents", pi.ID, pi.AccountID, pi.Mode,
		`UPDATE payment_intents SET `+intentCols+`, version = version + 1 WHERE id = $12 AND version = $13 RETURNING account_id, mode`, args...)
	if err != nil {
		pi.Version--
		return err
	}
	t.seen[pi.ID] = pi
	return nil
}

// FindPaymentIntentByID returns the payment intent id of scope s.
func (t *Tx) FindPaymentIntentByID(ctx context.Context, s tender.Scope, id string) (*tender.PaymentIntent, error) {
	return getScoped(ctx, t, "payment intent", "payment_intents", id, s, func(v *tender.PaymentIntent) (string, tender.Mode) { return v.AccountID, v.Mode })
}

// ListPaymentIntents returns a newest-first page of scope s's intents.
func (t *Tx) ListPaymentIntents(ctx context.Context, s tender.Scope, p tender.Page) ([]*tender.PaymentIntent, bool, error) {
	return listPage[tender.PaymentIntent](ctx, t, `SELECT data FROM payment_intents WHERE account_id = $1 AND mode = $2`,
		[]any{s.AccountID, string(s.Mode)}, p)
}

var intentSortColumns = map[string]string{
	"":             "created_at",
	"created_at":   "created_at",
	"updated_at":   "updated_at",
	"amount":       "amount",
	"status":       "status",
	"captured_at":  "captured_at",
	"cancelled_at": "cancelled_at",
	"settled_at":   "settled_at",
}

// SearchPaymentIntents returns the requested page of f's matches.
func (t *Tx) SearchPaymentIntents(ctx context.Context, s tender.Scope, f tender.PaymentIntentFilter) ([]*tender.PaymentIntent, bool, error) {
	col, ok := intentSortColumns[f.SortColumn]
	if !ok {
		return nil, false, tender.FieldError("sort_column", "is not a sortable column")
	}
	var b strings.Builder
	args := []any{s.AccountID, string(s.Mode)}
	b.WriteString(`SELECT data FROM payment_intents WHERE account_id = $1 AND mode = $2`)
	add := func(cond string, v any) {
		args = append(args, v)
		fmt.Fprintf(&b, " AND "+cond, len(args))
	}
	if f.ReferenceID != "" {
		add("reference_id = $%d", f.ReferenceID)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.SettlementStatus != "" {
		add("settlement_status = $%d", f.SettlementStatus)
	}
	if f.PaymentStatus != "" {
		add("payment_status = $%d", f.PaymentStatus)
	}
	if f.HasRefund != nil {
		if *f.HasRefund {
			b.WriteString(" AND amount_refunded > 0")
		} else {
			b.WriteString(" AND amount_refunded = 0")
		}
	}
	if f.Start != nil {
		add("created_at >= $%d", micros(*f.Start))
	}
	if f.End != nil {
		add("created_at <= $%d", micros(*f.End))
	}
	if f.AmountMin != nil {
		add("amount >= $%d", *f.AmountMin)
	}
	if f.AmountMax != nil {
		add("amount <= $%d", *f.AmountMax)
	}
	dir := " DESC"
	if f.SortAsc {
		dir = " ASC"
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 10
	}
	// Empty times sort last in both directions, on both engines.
	// LIMIT and OFFSET are bound, not written into the text, so that every
	// page shares one prepared statement.
	args = append(args, limit+1, f.Offset)
	fmt.Fprintf(&b, " ORDER BY %s%s NULLS LAST, id%s LIMIT $%d OFFSET $%d", col, dir, dir, len(args)-1, len(args))
	items, err := listDocs[tender.PaymentIntent](ctx, t, b.String(), args...)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	return items, more, nil
}

// CreatePayment inserts p.
func (t *Tx) CreatePayment(ctx context.Context, p *tender.Payment) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO payments (id, account_id, mode, payment_intent_id, status, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.AccountID, string(p.Mode), p.PaymentIntentID, p.Status, micros(p.CreatedAt), micros(p.UpdatedAt), data)
	if err == nil {
		t.seen[p.ID] = p
	}
	return err
}

// UpdatePayment overwrites p.
func (t *Tx) UpdatePayment(ctx context.Context, p *tender.Payment) error {
	p.Version++
	data, err := marshal(p)
	if err == nil {
		err = t.updateVersioned(ctx, "payment", "payments", p.ID, p.AccountID, p.Mode,
			`UPDATE payments SET status = $1, updated_at = $2, data = $3, version = version + 1 WHERE id = $4 AND version = $5 RETURNING account_id, mode`,
			p.Status, micros(p.UpdatedAt), data, p.ID, p.Version-1)
	}
	if err != nil {
		p.Version--
		return err
	}
	t.seen[p.ID] = p
	return nil
}

// FindPaymentByID returns the payment id of scope s.
func (t *Tx) FindPaymentByID(ctx context.Context, s tender.Scope, id string) (*tender.Payment, error) {
	return getScoped(ctx, t, "payment", "payments", id, s, func(v *tender.Payment) (string, tender.Mode) { return v.AccountID, v.Mode })
}

// ListPaymentsByIntent returns a newest-first page of an intent's payments.
func (t *Tx) ListPaymentsByIntent(ctx context.Context, s tender.Scope, intentID string, p tender.Page) ([]*tender.Payment, bool, error) {
	return listPage[tender.Payment](ctx, t, `SELECT data FROM payments WHERE payment_intent_id = $1 AND account_id = $2 AND mode = $3`,
		[]any{intentID, s.AccountID, string(s.Mode)}, p)
}

// CreateRefund inserts r.
func (t *Tx) CreateRefund(ctx context.Context, r *tender.Refund) error {
	data, err := marshal(r)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO refunds (id, account_id, mode, payment_intent_id, payment_id, status, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.AccountID, string(r.Mode), r.PaymentIntentID, r.PaymentID, r.Status, micros(r.CreatedAt), micros(r.UpdatedAt), data)
	if err == nil {
		t.seen[r.ID] = r
	}
	return err
}

// UpdateRefund overwrites r.
func (t *Tx) UpdateRefund(ctx context.Context, r *tender.Refund) error {
	data, err := marshal(r)
	if err != nil {
		return err
	}
	return t.updateScoped(ctx, "refund", r.ID, r.AccountID, r.Mode,
		`UPDATE refunds SET status = $1, updated_at = $2, data = $3 WHERE id = $4 RETURNING account_id, mode`, r.Status, micros(r.UpdatedAt), data, r.ID)
}

// FindRefundByID returns the refund id of scope s.
func (t *Tx) FindRefundByID(ctx context.Context, s tender.Scope, id string) (*tender.Refund, error) {
	return getScoped(ctx, t, "refund", "refunds", id, s, func(v *tender.Refund) (string, tender.Mode) { return v.AccountID, v.Mode })
}

// FindIdempotencyRecord returns the unexpired record of key.
func (t *Tx) FindIdempotencyRecord(ctx context.Context, accountID string, mode tender.Mode, key string) (*tender.IdempotencyRecord, error) {
	rec := tender.IdempotencyRecord{AccountID: accountID, Mode: mode, Key: key}
	var created, expires int64
	err := t.q.QueryRowContext(ctx, `SELECT fingerprint, status, content_type, body, created_at, expires_at FROM idempotency_records
		WHERE account_id = $1 AND mode = $2 AND key = $3 AND expires_at > $4`, accountID, string(mode), key, micros(t.now)).
		Scan(&rec.Fingerprint, &rec.Status, &rec.ContentType, &rec.Body, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tender.Errorf(tender.ENOTFOUND, "idempotency record not found")
	} else if err != nil {
		return nil, err
	}
	rec.CreatedAt = time.UnixMicro(created).UTC()
	rec.ExpiresAt = time.UnixMicro(expires).UTC()
	return &rec, nil
}

// PutIdempotencyRecord stores rec. It replaces an expired record of the
// same key, and returns ECONFLICT when a live one holds it.
func (t *Tx) PutIdempotencyRecord(ctx context.Context, rec *tender.IdempotencyRecord) error {
	res, err := t.exec(ctx, `INSERT INTO idempotency_records (account_id, mode, key, fingerprint, status, content_type, body, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (account_id, mode, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
			content_type = excluded.content_type, body = excluded.body, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE idempotency_records.expires_at <= $10`,
		rec.AccountID, string(rec.Mode), rec.Key, rec.Fingerprint, rec.Status, rec.ContentType, rec.Body, micros(rec.CreatedAt), micros(rec.ExpiresAt), micros(t.now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return tender.Errorf(tender.ECONFLICT, "idempotency key %q is taken", rec.Key)
	}
	return nil
}

// DeleteExpiredIdempotencyRecords removes up to limit records expired before t.
func (t *Tx) DeleteExpiredIdempotencyRecords(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM idempotency_records WHERE (account_id, mode, key) IN
		(SELECT account_id, mode, key FROM idempotency_records WHERE expires_at <= $1 LIMIT $2)`, micros(before), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// EnqueueJob inserts j unless a job with its unique key is queued.
func (t *Tx) EnqueueJob(ctx context.Context, j *tender.Job) error {
	var unique any
	if j.UniqueKey != "" {
		unique = j.UniqueKey
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = 25
	}
	if len(j.Args) == 0 {
		j.Args = json.RawMessage(`{}`)
	}
	_, err := t.exec(ctx, `INSERT INTO jobs (id, kind, account_id, args, state, run_at, attempts, max_attempts, locked_until, last_error, unique_key, created_at)
		VALUES ($1, $2, $3, $4, 'available', $5, 0, $6, 0, '', $7, $8) ON CONFLICT DO NOTHING`,
		j.ID, j.Kind, j.AccountID, string(j.Args), micros(j.RunAt), j.MaxAttempts, unique, micros(j.CreatedAt))
	return err
}

// ClaimJobs leases up to limit due jobs, including running jobs whose lease
// lapsed (their worker died).
func (t *Tx) ClaimJobs(ctx context.Context, limit int, lease time.Duration) ([]*tender.Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := micros(t.now)
	rows, err := t.q.QueryContext(ctx, `UPDATE jobs SET state = 'running', locked_until = $1, attempts = attempts + 1
		WHERE id IN (SELECT id FROM jobs WHERE (state = 'available' AND run_at <= $2) OR (state = 'running' AND locked_until <= $2)
			ORDER BY run_at LIMIT $3`+t.d.SkipLocked+`)
		RETURNING id, kind, account_id, args, run_at, attempts, max_attempts, last_error, COALESCE(unique_key, ''), created_at`,
		micros(t.now.Add(lease)), now, limit)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []*tender.Job
	for rows.Next() {
		var j tender.Job
		var args string
		var runAt, created int64
		if err := rows.Scan(&j.ID, &j.Kind, &j.AccountID, &args, &runAt, &j.Attempts, &j.MaxAttempts, &j.LastError, &j.UniqueKey, &created); err != nil {
			return nil, err
		}
		j.Args = json.RawMessage(args)
		j.RunAt = time.UnixMicro(runAt).UTC()
		j.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, &j)
	}
	return out, rows.Err()
}

// CompleteJob deletes job id.
func (t *Tx) CompleteJob(ctx context.Context, id string) error {
	_, err := t.exec(ctx, `DELETE FROM jobs WHERE id = $1`, id)
	return err
}

// RetryJob makes job id available again at runAt.
func (t *Tx) RetryJob(ctx context.Context, id string, runAt time.Time, lastErr string) error {
	return t.execOne(ctx, "job", id, `UPDATE jobs SET state = 'available', run_at = $1, locked_until = 0, last_error = $2 WHERE id = $3`,
		micros(runAt), lastErr, id)
}

// RescheduleJob makes job id available again at runAt, attempts reset.
func (t *Tx) RescheduleJob(ctx context.Context, id string, runAt time.Time) error {
	return t.execOne(ctx, "job", id, `UPDATE jobs SET state = 'available', run_at = $1, locked_until = 0, attempts = 0, last_error = '' WHERE id = $2`,
		micros(runAt), id)
}

// DiscardJob parks job id for good; its unique key is freed.
func (t *Tx) DiscardJob(ctx context.Context, id string, lastErr string) error {
	return t.execOne(ctx, "job", id, `UPDATE jobs SET state = 'discarded', locked_until = 0, last_error = $1, unique_key = NULL WHERE id = $2`,
		lastErr, id)
}

// CountJobs counts jobs in state.
func (t *Tx) CountJobs(ctx context.Context, state string) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state = $1`, state).Scan(&n)
	return n, err
}
