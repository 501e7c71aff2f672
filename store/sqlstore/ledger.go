package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// ledgerCols are the columns of a ledger transaction, in scanTxn's order.
const ledgerCols = `id, account_id, mode, kind, source_type, source_id, root_source_id, currency, amount, fee, net, pending,
	settlement_status, available_at, settled_at, COALESCE(settlement_id, ''), COALESCE(payout_id, ''), description, created_at, updated_at`

const ledgerInsertCols = `id, account_id, mode, kind, source_type, source_id, root_source_id, currency, amount, fee, net, pending,
	settlement_status, available_at, settled_at, settlement_id, payout_id, description, created_at, updated_at`

const ledgerNCols = 20

// LedgerGuards are the triggers that keep entries append-only, present in
// both engines' migrations under these names.
var LedgerGuards = []string{"ledger_entries_no_update", "ledger_entries_no_delete", "ledger_transactions_no_delete", "ledger_transactions_fixed"}

// placeholders caches "($1, …), (…)" lists by (rows, cols).
var placeholders sync.Map

func values(rows, cols int) string { return valuesFrom(1, rows, cols) }

// valuesFrom is values with placeholders numbered from start.
func valuesFrom(start, rows, cols int) string {
	key := start<<24 | rows<<8 | cols
	if v, ok := placeholders.Load(key); ok {
		return v.(string)
	}
	var b strings.Builder
	n := start
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", n)
			n++
		}
		b.WriteByte(')')
	}
	s := b.String()
	placeholders.Store(key, s)
	return s
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// balanceKey names one balance row.
type balanceKey struct {
	account, mode, currency, typ string
	shard                        int
}

func (k balanceKey) less(o balanceKey) int {
	return cmpStrings(k.account, o.account, k.mode, o.mode, k.currency, o.currency, k.typ, o.typ, k.shard, o.shard)
}

func cmpStrings(a1, b1, a2, b2, a3, b3, a4, b4 string, s1, s2 int) int {
	for _, p := range [][2]string{{a1, b1}, {a2, b2}, {a3, b3}, {a4, b4}} {
		if c := strings.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	return s1 - s2
}

func (t *Tx) shard(txnID string) int {
	n := t.d.BalanceShards
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(txnID))
	return int(h.Sum32() % uint32(n))
}

// Chunks stay near a thousand parameters: the SQLite driver looks each
// parameter's name up in a list of them all, so a statement's binding time
// grows with the square of its parameters.
const (
	txnChunk   = 50
	entryChunk = 150
	balChunk   = 150
)

const (
	insertTxnSQL     = `INSERT INTO ledger_transactions (` + ledgerInsertCols + `) VALUES `
	insertEntrySQL   = `INSERT INTO ledger_entries (transaction_id, seq, account_id, mode, type, currency, amount) VALUES `
	upsertBalanceSQL = `INSERT INTO ledger_balances (account_id, mode, currency, type, shard, balance) VALUES `
	addBalanceSQL    = ` ON CONFLICT (account_id, mode, currency, type, shard) DO UPDATE SET balance = ledger_balances.balance + excluded.balance`
)

// PostLedgerTransactions writes ts, their entries and their balance changes.
func (t *Tx) PostLedgerTransactions(ctx context.Context, ts []*tender.LedgerTransaction, floor []string) error {
	if len(ts) == 0 {
		return nil
	}
	txnArgs := make([]any, 0, len(ts)*ledgerNCols)
	entryArgs := make([]any, 0, len(ts)*3*7)
	deltas := make(map[balanceKey]int64, 4)
	for _, l := range ts {
		if at, ok := tender.IDTime(l.ID, tender.PrefixLedgerTransaction); !ok || !at.Equal(l.CreatedAt) {
			return tender.Errorf(tender.EINVALID, "ledger transaction %s: created_at %v is not the time of its id", l.ID, l.CreatedAt)
		}
		txnArgs = append(txnArgs, l.ID, l.AccountID, string(l.Mode), l.Kind, l.SourceType, l.SourceID, l.RootSourceID, string(l.Currency),
			l.Amount, l.Fee, l.Net, l.Pending, l.SettlementStatus, microsPtr(l.AvailableAt), microsPtr(l.SettledAt),
			nullStr(l.SettlementID), nullStr(l.PayoutID), l.Description, micros(l.CreatedAt), micros(l.UpdatedAt))
		sh := t.shard(l.ID)
		for i, e := range l.Entries {
			entryArgs = append(entryArgs, l.ID, i, e.AccountID, string(l.Mode), e.Type, string(e.Currency), e.Amount)
			k := balanceKey{e.AccountID, string(l.Mode), string(e.Currency), e.Type, sh}
			s, err := tender.AddAmounts(deltas[k], e.Amount)
			if err != nil {
				return err
			}
			deltas[k] = s
		}
	}
	keys := make([]balanceKey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, balanceKey.less)
	if err := t.checkFloors(ctx, keys, deltas, floor); err != nil {
		return err
	}
	balArgs := make([]any, 0, len(keys)*6)
	for _, k := range keys {
		balArgs = append(balArgs, k.account, k.mode, k.currency, k.typ, k.shard, deltas[k])
	}
	nEntries := len(entryArgs) / 7
	if t.d.PostingCTE && len(ts) <= txnChunk && nEntries <= entryChunk && len(keys) <= balChunk {
		// One statement, one round trip: a command's posting.
		q := `WITH t AS (` + insertTxnSQL + valuesFrom(1, len(ts), ledgerNCols) + `), e AS (` + insertEntrySQL +
			valuesFrom(1+len(txnArgs), nEntries, 7) + `) ` + upsertBalanceSQL + valuesFrom(1+len(txnArgs)+len(entryArgs), len(keys), 6) + addBalanceSQL
		_, err := t.exec(ctx, q, append(append(txnArgs, entryArgs...), balArgs...)...)
		return err
	}
	for i := 0; i < len(ts); i += txnChunk {
		n := min(txnChunk, len(ts)-i)
		if _, err := t.exec(ctx, insertTxnSQL+values(n, ledgerNCols), txnArgs[i*ledgerNCols:(i+n)*ledgerNCols]...); err != nil {
			return err
		}
	}
	for i := 0; i < nEntries; i += entryChunk {
		n := min(entryChunk, nEntries-i)
		if _, err := t.exec(ctx, insertEntrySQL+values(n, 7), entryArgs[i*7:(i+n)*7]...); err != nil {
			return err
		}
	}
	for i := 0; i < len(keys); i += balChunk {
		n := min(balChunk, len(keys)-i)
		if _, err := t.exec(ctx, upsertBalanceSQL+values(n, 6)+addBalanceSQL, balArgs[i*6:(i+n)*6]...); err != nil {
			return err
		}
	}
	return nil
}

// checkFloors refuses deltas that take a floor account below zero. When a
// floor account is debited, every row the posting touches, and every row of
// the debited account, is created if missing and locked in key order before
// any changes, so the sum it checks cannot move under it.
func (t *Tx) checkFloors(ctx context.Context, keys []balanceKey, deltas map[balanceKey]int64, floor []string) error {
	type acct struct{ account, mode, currency, typ string }
	debited := map[acct]int64{}
	for _, k := range keys {
		if deltas[k] < 0 && slices.Contains(floor, k.typ) {
			a := acct{k.account, k.mode, k.currency, k.typ}
			debited[a] += deltas[k]
		}
	}
	if len(debited) == 0 {
		return nil
	}
	lock := map[balanceKey]bool{}
	for _, k := range keys {
		lock[k] = true
	}
	for a := range debited {
		for s := 0; s < max(1, t.d.BalanceShards); s++ {
			lock[balanceKey{a.account, a.mode, a.currency, a.typ, s}] = true
		}
	}
	all := make([]balanceKey, 0, len(lock))
	for k := range lock {
		all = append(all, k)
	}
	slices.SortFunc(all, balanceKey.less)
	args := make([]any, 0, len(all)*5)
	var cond strings.Builder
	for i, k := range all {
		args = append(args, k.account, k.mode, k.currency, k.typ, k.shard)
		if i > 0 {
			cond.WriteString(" OR ")
		}
		p := i*5 + 1
		fmt.Fprintf(&cond, "(account_id = $%d AND mode = $%d AND currency = $%d AND type = $%d AND shard = $%d)", p, p+1, p+2, p+3, p+4)
	}
	insArgs := make([]any, 0, len(all)*6)
	for _, k := range all {
		insArgs = append(insArgs, k.account, k.mode, k.currency, k.typ, k.shard, int64(0))
	}
	if _, err := t.exec(ctx, `INSERT INTO ledger_balances (account_id, mode, currency, type, shard, balance) VALUES `+values(len(all), 6)+
		` ON CONFLICT (account_id, mode, currency, type, shard) DO NOTHING`, insArgs...); err != nil {
		return err
	}
	rows, err := t.q.QueryContext(ctx, `SELECT account_id, mode, currency, type, balance FROM ledger_balances WHERE `+cond.String()+
		` ORDER BY account_id, mode, currency, type, shard`+t.d.ForUpdate, args...)
	if err != nil {
		return t.d.InterpretError(err)
	}
	defer rows.Close()
	sums := map[acct]int64{}
	for rows.Next() {
		var a acct
		var bal int64
		if err := rows.Scan(&a.account, &a.mode, &a.currency, &a.typ, &bal); err != nil {
			return t.d.InterpretError(err)
		}
		sums[a] += bal
	}
	if err := rows.Err(); err != nil {
		return t.d.InterpretError(err)
	}
	for a, d := range debited {
		if sums[a]+d < 0 {
			return tender.Errorf(tender.ECONFLICT, "the %s balance (%s %s) is %d and cannot go below zero by %d", a.typ, a.currency, a.mode, sums[a], -d)
		}
	}
	return nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanLedgerTxn(r scanner, extra ...any) (*tender.LedgerTransaction, error) {
	var l tender.LedgerTransaction
	var mode, currency string
	var available, settled sql.NullInt64
	var created, updated int64
	dest := []any{&l.ID, &l.AccountID, &mode, &l.Kind, &l.SourceType, &l.SourceID, &l.RootSourceID, &currency, &l.Amount, &l.Fee,
		&l.Net, &l.Pending, &l.SettlementStatus, &available, &settled, &l.SettlementID, &l.PayoutID, &l.Description, &created, &updated}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	l.Mode, l.Currency = tender.Mode(mode), tender.Currency(currency)
	l.CreatedAt, l.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	if available.Valid {
		at := time.UnixMicro(available.Int64).UTC()
		l.AvailableAt = &at
	}
	if settled.Valid {
		at := time.UnixMicro(settled.Int64).UTC()
		l.SettledAt = &at
	}
	return &l, nil
}

// FindLedgerTransactionByID returns transaction id of scope s with its entries.
func (t *Tx) FindLedgerTransactionByID(ctx context.Context, s tender.Scope, id string) (*tender.LedgerTransaction, error) {
	l, err := scanLedgerTxn(t.q.QueryRowContext(ctx, `SELECT `+ledgerCols+` FROM ledger_transactions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (l.AccountID != s.AccountID || l.Mode != s.Mode)) {
		return nil, tender.Errorf(tender.ENOTFOUND, "transaction %s not found", id)
	} else if err != nil {
		return nil, t.d.InterpretError(err)
	}
	rows, err := t.q.QueryContext(ctx, `SELECT account_id, type, currency, amount FROM ledger_entries WHERE transaction_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var e tender.LedgerEntry
		var currency string
		if err := rows.Scan(&e.AccountID, &e.Type, &currency, &e.Amount); err != nil {
			return nil, err
		}
		e.Currency = tender.Currency(currency)
		l.Entries = append(l.Entries, e)
	}
	return l, rows.Err()
}

// queryLedger runs a query selecting ledgerCols and decodes every row.
func (t *Tx) queryLedger(ctx context.Context, q string, args ...any) ([]*tender.LedgerTransaction, error) {
	var out []*tender.LedgerTransaction
	err := t.eachLedger(ctx, q, args, func(l *tender.LedgerTransaction) error {
		out = append(out, l)
		return nil
	})
	return out, err
}

func (t *Tx) eachLedger(ctx context.Context, q string, args []any, fn func(*tender.LedgerTransaction) error) error {
	rows, err := t.q.QueryContext(ctx, q, args...)
	if err != nil {
		return t.d.InterpretError(err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLedgerTxn(rows)
		if err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ListLedgerTransactions returns a newest-first page of scope s's
// merchant-facing transactions.
func (t *Tx) ListLedgerTransactions(ctx context.Context, s tender.Scope, p tender.Page, f tender.LedgerTransactionFilter) ([]*tender.LedgerTransaction, bool, error) {
	var b strings.Builder
	args := []any{s.AccountID, string(s.Mode)}
	b.WriteString(`SELECT ` + ledgerCols + ` FROM ledger_transactions WHERE account_id = $1 AND mode = $2 AND source_type <> ''`)
	if f.PayoutID != "" {
		args = append(args, f.PayoutID)
		fmt.Fprintf(&b, " AND payout_id = $%d", len(args))
	}
	if f.Currency != "" {
		args = append(args, string(f.Currency))
		fmt.Fprintf(&b, " AND currency = $%d", len(args))
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 10
	}
	cond, order, extra, reversed := pageQuery(p, len(args)+1)
	args = append(args, extra...)
	items, err := t.queryLedger(ctx, b.String()+cond+order+fmt.Sprintf(" LIMIT %d", limit+1), args...)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if reversed {
		slices.Reverse(items)
	}
	return items, more, nil
}

// ledgerSortColumns maps a sort column to its SQL. created_at sorts by id:
// ids are time-ordered, and the scope index serves them.
var ledgerSortColumns = map[string]string{"": "updated_at", "updated_at": "updated_at", "created_at": "id", "amount": "amount"}

// ledgerFilter returns the SELECT of f's matches in f's order, without
// LIMIT, and its args.
func ledgerFilter(s tender.Scope, f tender.LedgerTransactionFilter) (string, []any, error) {
	col, ok := ledgerSortColumns[f.SortColumn]
	if !ok {
		return "", nil, tender.FieldError("sort_column", "must be one of updated_at, created_at, amount")
	}
	var b strings.Builder
	args := []any{s.AccountID, string(s.Mode)}
	b.WriteString(`SELECT ` + ledgerCols + ` FROM ledger_transactions WHERE account_id = $1 AND mode = $2 AND source_type <> ''`)
	add := func(cond string, v any) {
		args = append(args, v)
		fmt.Fprintf(&b, " AND "+cond, len(args))
	}
	if f.RootSourceID != "" {
		add("root_source_id = $%d", f.RootSourceID)
	}
	if len(f.SourceTypes) > 0 {
		b.WriteString(" AND source_type IN (")
		for i, st := range f.SourceTypes {
			args = append(args, st)
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", len(args))
		}
		b.WriteString(")")
	}
	if f.SettlementStatus != "" {
		add("settlement_status = $%d", f.SettlementStatus)
	}
	if f.Currency != "" {
		add("currency = $%d", string(f.Currency))
	}
	if f.PayoutID != "" {
		add("payout_id = $%d", f.PayoutID)
	}
	// A transaction's created_at is the time in its id (to the
	// millisecond), so a creation window is also an id range, which the
	// scope index serves.
	if f.Start != nil {
		add("created_at >= $%d", micros(*f.Start))
		add("id >= $%d", tender.IDBound(tender.PrefixLedgerTransaction, *f.Start, false))
	}
	if f.End != nil {
		add("created_at <= $%d", micros(*f.End))
		add("id <= $%d", tender.IDBound(tender.PrefixLedgerTransaction, *f.End, true))
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
	if col == "id" {
		b.WriteString(" ORDER BY id" + dir)
	} else {
		b.WriteString(" ORDER BY " + col + dir + ", id" + dir)
	}
	return b.String(), args, nil
}

// SearchLedgerTransactions returns the requested page of f's matches.
func (t *Tx) SearchLedgerTransactions(ctx context.Context, s tender.Scope, f tender.LedgerTransactionFilter) ([]*tender.LedgerTransaction, bool, error) {
	q, args, err := ledgerFilter(s, f)
	if err != nil {
		return nil, false, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 10
	}
	items, err := t.queryLedger(ctx, q+fmt.Sprintf(" LIMIT %d OFFSET %d", limit+1, max(0, f.Offset)), args...)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	return items, more, nil
}

// EachLedgerTransaction streams every match of f to fn.
func (t *Tx) EachLedgerTransaction(ctx context.Context, s tender.Scope, f tender.LedgerTransactionFilter, fn func(*tender.LedgerTransaction) error) error {
	q, args, err := ledgerFilter(s, f)
	if err != nil {
		return err
	}
	return t.eachLedger(ctx, q, args, fn)
}

// FindLedgerBalances returns scope s's balances per currency and type.
func (t *Tx) FindLedgerBalances(ctx context.Context, s tender.Scope, currency tender.Currency) ([]tender.LedgerBalance, error) {
	q := `SELECT currency, type, CAST(SUM(balance) AS BIGINT) FROM ledger_balances WHERE account_id = $1 AND mode = $2`
	args := []any{s.AccountID, string(s.Mode)}
	if currency != "" {
		q += ` AND currency = $3`
		args = append(args, string(currency))
	}
	rows, err := t.q.QueryContext(ctx, q+` GROUP BY currency, type ORDER BY currency, type`, args...)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []tender.LedgerBalance
	for rows.Next() {
		b := tender.LedgerBalance{AccountID: s.AccountID, Mode: s.Mode}
		var c string
		if err := rows.Scan(&c, &b.Type, &b.Amount); err != nil {
			return nil, err
		}
		b.Currency = tender.Currency(c)
		out = append(out, b)
	}
	return out, rows.Err()
}

// DueLedgerTransactions returns unsettled transactions available by at.
func (t *Tx) DueLedgerTransactions(ctx context.Context, at time.Time, limit int) ([]*tender.LedgerTransaction, error) {
	if limit <= 0 {
		return nil, nil
	}
	return t.queryLedger(ctx, `SELECT `+ledgerCols+` FROM ledger_transactions WHERE settlement_status = 'unsettled' AND available_at <= $1
		ORDER BY available_at LIMIT $2`, micros(at), limit)
}

// updateLedgerSet runs an UPDATE of ledger transactions ids (in chunks)
// whose WHERE ends where "AND id IN (…)" can follow, and returns ECONFLICT
// unless every id was updated.
func (t *Tx) updateLedgerSet(ctx context.Context, what string, q string, args []any, ids []string) error {
	const chunk = 500
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		a := append(slices.Clip(args), make([]any, 0, len(part))...)
		var b strings.Builder
		b.WriteString(q + " AND id IN (")
		for j, id := range part {
			a = append(a, id)
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", len(a))
		}
		b.WriteString(")")
		res, err := t.exec(ctx, b.String(), a...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if int(n) != len(part) {
			return tender.Errorf(tender.ECONFLICT, "%s: %d of %d transactions changed meanwhile", what, len(part)-int(n), len(part))
		}
	}
	return nil
}

// SettleLedgerTransactions marks ids settled.
func (t *Tx) SettleLedgerTransactions(ctx context.Context, s tender.Scope, ids []string, settlementID string, at time.Time) error {
	return t.updateLedgerSet(ctx, "settle", `UPDATE ledger_transactions SET settlement_status = 'settled', settled_at = $1, settlement_id = $2,
		updated_at = $1 WHERE account_id = $3 AND mode = $4 AND settlement_status = 'unsettled'`,
		[]any{micros(at), settlementID, s.AccountID, string(s.Mode)}, ids)
}

// SetLedgerTransactionsPayout records payoutID on ids.
func (t *Tx) SetLedgerTransactionsPayout(ctx context.Context, s tender.Scope, ids []string, payoutID string, at time.Time) error {
	return t.updateLedgerSet(ctx, "payout", `UPDATE ledger_transactions SET payout_id = $1, updated_at = $2
		WHERE account_id = $3 AND mode = $4 AND payout_id IS NULL`, []any{payoutID, micros(at), s.AccountID, string(s.Mode)}, ids)
}

// FindAccountSettings returns accountID's settings.
func (t *Tx) FindAccountSettings(ctx context.Context, accountID string) (*tender.AccountSettings, error) {
	var data string
	err := t.q.QueryRowContext(ctx, `SELECT data FROM account_settings WHERE account_id = $1`, accountID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tender.Errorf(tender.ENOTFOUND, "account %s has no settings", accountID)
	} else if err != nil {
		return nil, t.d.InterpretError(err)
	}
	var a tender.AccountSettings
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// PutAccountSettings creates or replaces a's row.
func (t *Tx) PutAccountSettings(ctx context.Context, a *tender.AccountSettings) error {
	data, err := marshal(a)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO account_settings (account_id, updated_at, data) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data`, a.AccountID, micros(a.UpdatedAt), data)
	return err
}

// ScanLedgerTransactions streams every transaction with its entries.
func (t *Tx) ScanLedgerTransactions(ctx context.Context, fn func(*tender.LedgerTransaction) error) error {
	rows, err := t.q.QueryContext(ctx, `SELECT t.id, t.account_id, t.mode, t.kind, t.source_type, t.source_id, t.root_source_id,
		t.currency, t.amount, t.fee, t.net, t.pending, t.settlement_status, t.available_at, t.settled_at, COALESCE(t.settlement_id, ''),
		COALESCE(t.payout_id, ''), t.description, t.created_at, t.updated_at, e.account_id, e.type, e.currency, e.amount
		FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id ORDER BY t.id, e.seq`)
	if err != nil {
		return t.d.InterpretError(err)
	}
	defer rows.Close()
	var cur *tender.LedgerTransaction
	for rows.Next() {
		var acct, typ, currency sql.NullString
		var amount sql.NullInt64
		l, err := scanLedgerTxn(rows, &acct, &typ, &currency, &amount)
		if err != nil {
			return err
		}
		if cur != nil && cur.ID != l.ID {
			if err := fn(cur); err != nil {
				return err
			}
			cur = nil
		}
		if cur == nil {
			cur = l
		}
		if acct.Valid {
			cur.Entries = append(cur.Entries, tender.LedgerEntry{AccountID: acct.String, Type: typ.String,
				Currency: tender.Currency(currency.String), Amount: amount.Int64})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if cur != nil {
		return fn(cur)
	}
	return nil
}

func (t *Tx) sumBalances(ctx context.Context, q string) ([]tender.LedgerBalance, error) {
	rows, err := t.q.QueryContext(ctx, q)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []tender.LedgerBalance
	for rows.Next() {
		var b tender.LedgerBalance
		var mode, currency string
		if err := rows.Scan(&b.AccountID, &mode, &currency, &b.Type, &b.Amount); err != nil {
			return nil, err
		}
		b.Mode, b.Currency = tender.Mode(mode), tender.Currency(currency)
		out = append(out, b)
	}
	return out, rows.Err()
}

// SumLedgerEntries sums the entries table per ledger account.
func (t *Tx) SumLedgerEntries(ctx context.Context) ([]tender.LedgerBalance, error) {
	return t.sumBalances(ctx, `SELECT account_id, mode, currency, type, CAST(SUM(amount) AS BIGINT) FROM ledger_entries
		GROUP BY account_id, mode, currency, type ORDER BY account_id, mode, currency, type`)
}

// ListAllLedgerBalances sums the balance rows per ledger account.
func (t *Tx) ListAllLedgerBalances(ctx context.Context) ([]tender.LedgerBalance, error) {
	return t.sumBalances(ctx, `SELECT account_id, mode, currency, type, CAST(SUM(balance) AS BIGINT) FROM ledger_balances
		GROUP BY account_id, mode, currency, type ORDER BY account_id, mode, currency, type`)
}

// CheckLedgerGuards lists the append-only triggers that are missing or disabled.
func (t *Tx) CheckLedgerGuards(ctx context.Context) ([]string, error) {
	rows, err := t.q.QueryContext(ctx, t.d.GuardsQuery)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var missing []string
	for _, g := range append(slices.Clone(LedgerGuards), t.d.ExtraGuards...) {
		if !have[g] {
			missing = append(missing, "trigger "+g)
		}
	}
	return missing, nil
}
