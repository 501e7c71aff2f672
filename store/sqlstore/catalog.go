package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tenderpay/tender"
)

// The catalog's rows carry deleted = 1 once their object's DeletedAt is
// set; name_lower and code_lower hold strings.ToLower of the name and code,
// which searches and the per-account unique code compare against.

func deletedFlag(deleted bool) int {
	if deleted {
		return 1
	}
	return 0
}

// getByAccount loads the document of table's row id into a new T, and
// returns ENOTFOUND unless the row belongs to accountID. Like getScoped it
// looks the row up by primary key alone.
func getByAccount[T any](ctx context.Context, t *Tx, what, table, id, accountID string, account func(*T) string) (*T, error) {
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

// likeContains is a LIKE pattern (with ESCAPE '\') matching strings that
// contain s literally.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	b    strings.Builder
	args []any
}

func newWhere(base string, args ...any) *where {
	w := &where{args: args}
	w.b.WriteString(base)
	return w
}

// add appends " AND cond", where each %d of cond is the placeholder of the
// next of vs.
func (w *where) add(cond string, vs ...any) {
	nums := make([]any, len(vs))
	for i, v := range vs {
		w.args = append(w.args, v)
		nums[i] = len(w.args)
	}
	w.b.WriteString(" AND " + fmt.Sprintf(cond, nums...))
}

// in appends " AND col IN (…)" over ids. The list is padded to a power
// of two (repeating its last id), so that lists of any length make few
// distinct statements for SQLite's statement cache.
func (w *where) in(col string, ids []string) {
	n := 1
	for n < len(ids) {
		n *= 2
	}
	ph := make([]string, n)
	for i := range ph {
		w.args = append(w.args, ids[min(i, len(ids)-1)])
		ph[i] = fmt.Sprintf("$%d", len(w.args))
	}
	w.b.WriteString(" AND " + col + " IN (" + strings.Join(ph, ", ") + ")")
}

// count runs SELECT COUNT(*) over table with w's conditions.
func (t *Tx) count(ctx context.Context, table string, w *where) (int, error) {
	var n int
	if err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE `+w.b.String(), w.args...).Scan(&n); err != nil {
		return 0, t.d.InterpretError(err)
	}
	return n, nil
}

// page appends LIMIT and OFFSET placeholders for a page (limit 0: no
// limit) to w's args and returns the clause; call it before passing
// w.args on. Bound values keep the
// statement text the same for every page.
func (w *where) page(limit, offset int) string {
	if limit <= 0 {
		limit = math.MaxInt32 // both engines need a LIMIT before OFFSET
	}
	w.args = append(w.args, limit, max(offset, 0))
	return fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(w.args)-1, len(w.args))
}

// ---- products ----

// CreateProduct inserts p.
func (t *Tx) CreateProduct(ctx context.Context, p *tender.Product) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO products (id, account_id, name_lower, deleted, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.ID, p.AccountID, strings.ToLower(p.Name), deletedFlag(p.DeletedAt != nil), micros(p.CreatedAt), micros(p.UpdatedAt), data)
	if err == nil {
		t.seen[p.ID] = p
	}
	return err
}

// UpdateProduct overwrites p.
func (t *Tx) UpdateProduct(ctx context.Context, p *tender.Product) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	err = t.execOne(ctx, "product", p.ID, `UPDATE products SET name_lower = $1, deleted = $2, updated_at = $3, data = $4 WHERE id = $5 AND account_id = $6`,
		strings.ToLower(p.Name), deletedFlag(p.DeletedAt != nil), micros(p.UpdatedAt), data, p.ID, p.AccountID)
	if err == nil {
		t.seen[p.ID] = p
	}
	return err
}

// FindProductByID returns the account's product id, deleted or not.
func (t *Tx) FindProductByID(ctx context.Context, accountID, id string) (*tender.Product, error) {
	return getByAccount(ctx, t, "product", "products", id, accountID, func(p *tender.Product) string { return p.AccountID })
}

// ListProducts returns a page of the account's undeleted products.
func (t *Tx) ListProducts(ctx context.Context, accountID string, f tender.ProductFilter) ([]*tender.Product, int, error) {
	w := newWhere(`account_id = $1 AND deleted = 0`, accountID)
	if f.Search != "" {
		w.add(`name_lower LIKE $%d ESCAPE '\'`, likeContains(strings.ToLower(f.Search)))
	}
	if len(f.IDs) > 0 {
		w.in("id", f.IDs)
	}
	total, err := t.count(ctx, "products", w)
	if err != nil {
		return nil, 0, err
	}
	order := " ORDER BY id DESC"
	if f.Ascending {
		order = " ORDER BY id ASC"
	}
	q := `SELECT data FROM products WHERE ` + w.b.String() + order + w.page(f.Limit, f.Offset)
	items, err := listDocs[tender.Product](ctx, t, q, w.args...)
	return items, total, err
}

// ---- prices ----

// CreatePrice inserts p.
func (t *Tx) CreatePrice(ctx context.Context, p *tender.Price) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO prices (id, account_id, product_id, deleted, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.ID, p.AccountID, p.ProductID, deletedFlag(p.DeletedAt != nil), micros(p.CreatedAt), micros(p.UpdatedAt), data)
	if err == nil {
		t.seen[p.ID] = p
	}
	return err
}

// UpdatePrice overwrites p.
func (t *Tx) UpdatePrice(ctx context.Context, p *tender.Price) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	err = t.execOne(ctx, "price", p.ID, `UPDATE prices SET product_id = $1, deleted = $2, updated_at = $3, data = $4 WHERE id = $5 AND account_id = $6`,
		p.ProductID, deletedFlag(p.DeletedAt != nil), micros(p.UpdatedAt), data, p.ID, p.AccountID)
	if err == nil {
		t.seen[p.ID] = p
	}
	return err
}

// FindPriceByID returns the account's price id, deleted or not.
func (t *Tx) FindPriceByID(ctx context.Context, accountID, id string) (*tender.Price, error) {
	return getByAccount(ctx, t, "price", "prices", id, accountID, func(p *tender.Price) string { return p.AccountID })
}

// ListPrices returns a page of a product's undeleted prices, oldest first.
func (t *Tx) ListPrices(ctx context.Context, accountID, productID string, f tender.PriceFilter) ([]*tender.Price, int, error) {
	w := newWhere(`account_id = $1 AND product_id = $2 AND deleted = 0`, accountID, productID)
	if len(f.IDs) > 0 {
		w.in("id", f.IDs)
	}
	total, err := t.count(ctx, "prices", w)
	if err != nil {
		return nil, 0, err
	}
	q := `SELECT data FROM prices WHERE ` + w.b.String() + ` ORDER BY id ASC` + w.page(f.Limit, f.Offset)
	items, err := listDocs[tender.Price](ctx, t, q, w.args...)
	return items, total, err
}

// ---- coupons ----

// Coupons are not kept in the transaction's seen map: their usage count
// lives in its own column (IncrementCouponUsage changes it alone), and
// every read takes it from there.

func couponCols(c *tender.Coupon) ([]any, error) {
	data, err := marshal(c)
	if err != nil {
		return nil, err
	}
	return []any{strings.ToLower(c.Code), strings.ToLower(c.Name), micros(c.StartDate), microsPtr(c.EndDate), c.UsageLimit,
		deletedFlag(c.DeletedAt != nil), micros(c.UpdatedAt), data}, nil
}

// CreateCoupon inserts c.
func (t *Tx) CreateCoupon(ctx context.Context, c *tender.Coupon) error {
	args, err := couponCols(c)
	if err != nil {
		return err
	}
	args = append(args, c.ID, c.AccountID, c.UsageCount, micros(c.CreatedAt))
	_, err = t.exec(ctx, `INSERT INTO coupons (code_lower, name_lower, start_at, end_at, usage_limit, deleted, updated_at, data,
		id, account_id, usage_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, args...)
	return err
}

// UpdateCoupon overwrites c, except its usage count.
func (t *Tx) UpdateCoupon(ctx context.Context, c *tender.Coupon) error {
	args, err := couponCols(c)
	if err != nil {
		return err
	}
	args = append(args, c.ID, c.AccountID)
	return t.execOne(ctx, "coupon", c.ID, `UPDATE coupons SET code_lower = $1, name_lower = $2, start_at = $3, end_at = $4, usage_limit = $5,
		deleted = $6, updated_at = $7, data = $8 WHERE id = $9 AND account_id = $10`, args...)
}

// listCoupons decodes the rows of query, which selects data and usage_count.
func (t *Tx) listCoupons(ctx context.Context, query string, args ...any) ([]*tender.Coupon, error) {
	rows, err := t.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []*tender.Coupon
	for rows.Next() {
		var data string
		var used int
		if err := rows.Scan(&data, &used); err != nil {
			return nil, err
		}
		c := new(tender.Coupon)
		if err := json.Unmarshal([]byte(data), c); err != nil {
			return nil, err
		}
		c.UsageCount = used
		out = append(out, c)
	}
	return out, rows.Err()
}

// FindCouponByID returns the account's coupon id, deleted or not.
func (t *Tx) FindCouponByID(ctx context.Context, accountID, id string) (*tender.Coupon, error) {
	cs, err := t.listCoupons(ctx, `SELECT data, usage_count FROM coupons WHERE id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return nil, err
	} else if len(cs) == 0 {
		return nil, tender.Errorf(tender.ENOTFOUND, "coupon %s not found", id)
	}
	return cs[0], nil
}

// FindCouponByCode returns the account's undeleted coupon with code,
// ignoring case.
func (t *Tx) FindCouponByCode(ctx context.Context, accountID, code string) (*tender.Coupon, error) {
	cs, err := t.listCoupons(ctx, `SELECT data, usage_count FROM coupons WHERE account_id = $1 AND code_lower = $2 AND deleted = 0`,
		accountID, strings.ToLower(code))
	if err != nil {
		return nil, err
	} else if len(cs) == 0 {
		return nil, tender.Errorf(tender.ENOTFOUND, "coupon with code %q not found", code)
	}
	return cs[0], nil
}

// ListCoupons returns a page of the account's undeleted coupons.
func (t *Tx) ListCoupons(ctx context.Context, accountID string, f tender.CouponFilter) ([]*tender.Coupon, int, error) {
	w := newWhere(`account_id = $1 AND deleted = 0`, accountID)
	if f.Search != "" {
		p := likeContains(strings.ToLower(f.Search))
		w.add(`(name_lower LIKE $%d ESCAPE '\' OR code_lower LIKE $%d ESCAPE '\')`, p, p)
	}
	// The statuses of tender.Coupon.StatusAt, in SQL.
	now := micros(f.Now)
	switch f.Status {
	case "":
	case tender.CouponScheduled:
		w.add(`start_at > $%d`, now)
	case tender.CouponExpired:
		w.add(`start_at <= $%d AND ((end_at IS NOT NULL AND end_at <= $%d) OR (usage_limit > 0 AND usage_count >= usage_limit))`, now, now)
	case tender.CouponActive:
		w.add(`start_at <= $%d AND (end_at IS NULL OR end_at > $%d) AND (usage_limit = 0 OR usage_count < usage_limit)`, now, now)
	default:
		return nil, 0, tender.FieldError("status", "must be one of the following values: "+strings.Join(tender.CouponStatuses, ", "))
	}
	total, err := t.count(ctx, "coupons", w)
	if err != nil {
		return nil, 0, err
	}
	q := `SELECT data, usage_count FROM coupons WHERE ` + w.b.String() + ` ORDER BY id DESC` + w.page(f.Limit, f.Offset)
	items, err := t.listCoupons(ctx, q, w.args...)
	return items, total, err
}

// IncrementCouponUsage counts one more use of the coupon, within its limit.
func (t *Tx) IncrementCouponUsage(ctx context.Context, accountID, couponID string) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `UPDATE coupons SET usage_count = usage_count + 1
		WHERE id = $1 AND account_id = $2 AND deleted = 0 AND (usage_limit = 0 OR usage_count < usage_limit) RETURNING usage_count`,
		couponID, accountID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		var limit, used, deleted int
		qerr := t.q.QueryRowContext(ctx, `SELECT usage_limit, usage_count, deleted FROM coupons WHERE id = $1 AND account_id = $2`,
			couponID, accountID).Scan(&limit, &used, &deleted)
		if errors.Is(qerr, sql.ErrNoRows) || (qerr == nil && deleted != 0) {
			return 0, tender.Errorf(tender.ENOTFOUND, "coupon %s not found", couponID)
		} else if qerr != nil {
			return 0, t.d.InterpretError(qerr)
		}
		return 0, tender.Errorf(tender.ECONFLICT, "coupon %s has reached its usage limit of %d", couponID, limit)
	} else if err != nil {
		return 0, t.d.InterpretError(err)
	}
	return n, nil
}

// CreateCouponRedemption inserts r.
func (t *Tx) CreateCouponRedemption(ctx context.Context, r *tender.CouponRedemption) error {
	data, err := marshal(r)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO coupon_redemptions (id, account_id, coupon_id, contact_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, r.AccountID, r.CouponID, r.ContactID, micros(r.CreatedAt), data)
	return err
}

// CountCouponRedemptions counts a coupon's redemptions by one contact.
func (t *Tx) CountCouponRedemptions(ctx context.Context, accountID, couponID, contactID string) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = $1 AND contact_id = $2 AND account_id = $3`,
		couponID, contactID, accountID).Scan(&n)
	if err != nil {
		return 0, t.d.InterpretError(err)
	}
	return n, nil
}
