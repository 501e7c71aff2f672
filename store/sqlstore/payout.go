package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tenderpay/tender"
)

// ---- disputes ----

// CreateDispute inserts d.
func (t *Tx) CreateDispute(ctx context.Context, d *tender.Dispute) error {
	data, err := marshal(d)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO disputes (id, account_id, mode, payment_intent_id, payment_id, status, created_at, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.ID, d.AccountID, string(d.Mode), d.PaymentIntentID, d.PaymentID, d.Status, micros(d.CreatedAt), micros(d.UpdatedAt), data)
	if err == nil {
		t.seen[d.ID] = d
	}
	return err
}

// UpdateDispute overwrites d.
func (t *Tx) UpdateDispute(ctx context.Context, d *tender.Dispute) error {
	data, err := marshal(d)
	if err != nil {
		return err
	}
	if err := t.updateScoped(ctx, "dispute", d.ID, d.AccountID, d.Mode,
		`UPDATE disputes SET status = $1, updated_at = $2, data = $3 WHERE id = $4 RETURNING account_id, mode`,
		d.Status, micros(d.UpdatedAt), data, d.ID); err != nil {
		return err
	}
	t.seen[d.ID] = d
	return nil
}

// FindDisputeByID returns the dispute id of scope s.
func (t *Tx) FindDisputeByID(ctx context.Context, s tender.Scope, id string) (*tender.Dispute, error) {
	return getScoped(ctx, t, "dispute", "disputes", id, s, func(v *tender.Dispute) (string, tender.Mode) { return v.AccountID, v.Mode })
}

// ListDisputes returns a newest-first page of scope s's disputes.
func (t *Tx) ListDisputes(ctx context.Context, s tender.Scope, p tender.Page, f tender.DisputeFilter) ([]*tender.Dispute, bool, error) {
	w := newWhere(`SELECT data FROM disputes WHERE account_id = $1 AND mode = $2`, s.AccountID, string(s.Mode))
	if f.Status != "" {
		w.add("status = $%d", f.Status)
	}
	return listPage[tender.Dispute](ctx, t, w.b.String(), w.args, p)
}

// ---- payouts ----

// CreatePayout inserts p.
func (t *Tx) CreatePayout(ctx context.Context, p *tender.Payout) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO payouts (id, organization_id, account_id, mode, currency, payout_number, status, created_at, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		p.ID, p.OrganizationID, p.AccountID, string(p.Mode), string(p.Currency), p.Number, p.Status, micros(p.CreatedAt), micros(p.UpdatedAt), data)
	if err == nil {
		t.seen[p.ID] = p
	}
	return err
}

// UpdatePayout overwrites p.
func (t *Tx) UpdatePayout(ctx context.Context, p *tender.Payout) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	if err := t.updateScoped(ctx, "payout", p.ID, p.AccountID, p.Mode,
		`UPDATE payouts SET status = $1, updated_at = $2, data = $3 WHERE id = $4 RETURNING account_id, mode`,
		p.Status, micros(p.UpdatedAt), data, p.ID); err != nil {
		return err
	}
	t.seen[p.ID] = p
	return nil
}

// FindPayoutByID returns the payout id of scope s.
func (t *Tx) FindPayoutByID(ctx context.Context, s tender.Scope, id string) (*tender.Payout, error) {
	return getScoped(ctx, t, "payout", "payouts", id, s, func(v *tender.Payout) (string, tender.Mode) { return v.AccountID, v.Mode })
}

// ListPayouts returns a newest-first page of scope s's payouts.
func (t *Tx) ListPayouts(ctx context.Context, s tender.Scope, p tender.Page, f tender.PayoutFilter) ([]*tender.Payout, bool, error) {
	w := newWhere(`SELECT data FROM payouts WHERE account_id = $1 AND mode = $2`, s.AccountID, string(s.Mode))
	if f.Status != "" {
		w.add("status = $%d", f.Status)
	}
	return listPage[tender.Payout](ctx, t, w.b.String(), w.args, p)
}

// ListOrganizationPayouts returns a newest-first page of an
// organization's payouts in mode.
func (t *Tx) ListOrganizationPayouts(ctx context.Context, orgID string, mode tender.Mode, p tender.Page, f tender.PayoutFilter) ([]*tender.Payout, bool, error) {
	w := newWhere(`SELECT data FROM payouts WHERE organization_id = $1 AND mode = $2`, orgID, string(mode))
	if f.Status != "" {
		w.add("status = $%d", f.Status)
	}
	return listPage[tender.Payout](ctx, t, w.b.String(), w.args, p)
}

// LastPayoutNumber returns scope s's highest payout number.
func (t *Tx) LastPayoutNumber(ctx context.Context, s tender.Scope) (int64, error) {
	var n sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT MAX(payout_number) FROM payouts WHERE account_id = $1 AND mode = $2`,
		s.AccountID, string(s.Mode)).Scan(&n)
	if err != nil {
		return 0, t.d.InterpretError(err)
	}
	return n.Int64, nil
}

// FindLatestPayout returns scope s's newest payout in currency.
func (t *Tx) FindLatestPayout(ctx context.Context, s tender.Scope, currency tender.Currency) (*tender.Payout, error) {
	items, err := listDocs[tender.Payout](ctx, t, `SELECT data FROM payouts WHERE account_id = $1 AND mode = $2 AND currency = $3
		ORDER BY id DESC LIMIT 1`, s.AccountID, string(s.Mode), string(currency))
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, tender.Errorf(tender.ENOTFOUND, "no %s payout", currency)
	}
	return items[0], nil
}

// unpaid is the condition of ledger_transactions_unpaid; a query must
// repeat it for the planner to use that index.
const unpaid = `payout_id IS NULL AND source_type <> '' AND settlement_status = 'settled'`

// UnpaidLedgerTotals sums scope s's unpaid transactions per currency.
func (t *Tx) UnpaidLedgerTotals(ctx context.Context, s tender.Scope) ([]tender.UnpaidTotal, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT currency, COUNT(*), CAST(SUM(net) AS BIGINT) FROM ledger_transactions
		WHERE account_id = $1 AND mode = $2 AND `+unpaid+` GROUP BY currency ORDER BY currency`, s.AccountID, string(s.Mode))
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []tender.UnpaidTotal
	for rows.Next() {
		var u tender.UnpaidTotal
		var c string
		if err := rows.Scan(&c, &u.Count, &u.Net); err != nil {
			return nil, err
		}
		u.Currency = tender.Currency(c)
		out = append(out, u)
	}
	return out, rows.Err()
}

// AssignUnpaidLedgerTransactions links scope s's unpaid transactions in
// currency to payoutID and sums them per source type.
func (t *Tx) AssignUnpaidLedgerTransactions(ctx context.Context, s tender.Scope, currency tender.Currency, payoutID string,
	at time.Time) ([]tender.PayoutSummaryLine, tender.UnpaidTotal, error) {
	total := tender.UnpaidTotal{Currency: currency}
	if _, err := t.exec(ctx, `UPDATE ledger_transactions SET payout_id = $1, updated_at = $2
		WHERE account_id = $3 AND mode = $4 AND currency = $5 AND `+unpaid,
		payoutID, micros(at), s.AccountID, string(s.Mode), string(currency)); err != nil {
		return nil, total, err
	}
	rows, err := t.q.QueryContext(ctx, `SELECT source_type, COUNT(*), CAST(SUM(amount) AS BIGINT), CAST(SUM(fee) AS BIGINT),
		CAST(SUM(net) AS BIGINT) FROM ledger_transactions WHERE account_id = $1 AND mode = $2 AND payout_id = $3 AND source_id <> $3
		GROUP BY source_type ORDER BY source_type`, s.AccountID, string(s.Mode), payoutID)
	if err != nil {
		return nil, total, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []tender.PayoutSummaryLine
	for rows.Next() {
		var l tender.PayoutSummaryLine
		if err := rows.Scan(&l.SourceType, &l.Count, &l.Amount, &l.Fee, &l.Net); err != nil {
			return nil, total, err
		}
		total.Count += l.Count
		if total.Net, err = tender.AddAmounts(total.Net, l.Net); err != nil {
			return nil, total, err
		}
		out = append(out, l)
	}
	return out, total, rows.Err()
}

// NextUnpaidScope returns the next account and mode with unpaid
// transactions after `after`: one seek on ledger_transactions_unpaid.
func (t *Tx) NextUnpaidScope(ctx context.Context, after tender.Scope) (tender.Scope, bool, error) {
	var acct, mode string
	err := t.q.QueryRowContext(ctx, `SELECT account_id, mode FROM ledger_transactions
		WHERE (account_id, mode) > ($1, $2) AND `+unpaid+`
		ORDER BY account_id, mode LIMIT 1`, after.AccountID, string(after.Mode)).Scan(&acct, &mode)
	if errors.Is(err, sql.ErrNoRows) {
		return tender.Scope{}, false, nil
	} else if err != nil {
		return tender.Scope{}, false, fmt.Errorf("next unpaid scope: %w", t.d.InterpretError(err))
	}
	return tender.Scope{AccountID: acct, Mode: tender.Mode(mode)}, true, nil
}
