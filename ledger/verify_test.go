package ledger_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
)

// engine opens a fresh store of one engine, with raw SQL access for
// corrupting it on purpose.
type engine struct {
	name string
	open func(t *testing.T, clock tender.Clock) (store.Store, *sql.DB)
	// disable turns off one append-only trigger.
	disable func(raw *sql.DB, trigger string) error
}

var engines = []engine{
	{"sqlite", func(t *testing.T, clock tender.Clock) (store.Store, *sql.DB) {
		path := filepath.Join(t.TempDir(), "l.db")
		st, err := sqlite.Open(context.Background(), path, sqlite.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close(); st.Close() })
		return st, raw
	}, func(raw *sql.DB, trigger string) error {
		_, err := raw.Exec(`DROP TRIGGER ` + trigger)
		return err
	}},
	{"postgres", func(t *testing.T, clock tender.Clock) (store.Store, *sql.DB) {
		url := testserver.PostgresURL(t)
		st, err := postgres.Open(context.Background(), url, postgres.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, st.SQL()
	}, func(raw *sql.DB, trigger string) error {
		table := "ledger_entries"
		if strings.HasPrefix(trigger, "ledger_transactions") {
			table = "ledger_transactions"
		}
		_, err := raw.Exec(`ALTER TABLE ` + table + ` DISABLE TRIGGER ` + trigger)
		return err
	}},
}

// world is a store with one account that has done some business.
type world struct {
	ctx   context.Context
	st    store.Store
	raw   *sql.DB
	svc   *payment.Service
	sc    tender.Scope
	clock *tender.FixedClock
}

func newWorld(t *testing.T, e engine) *world {
	t.Helper()
	ctx := context.Background()
	clock := tender.NewFixedClock(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	st, raw := e.open(t, clock)
	now := clock.Now()
	org := &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, now), Name: "o", CreatedAt: now}
	acct := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org.ID, Name: "a", CreatedAt: now}
	if err := st.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		return tx.CreateAccount(ctx, acct)
	}); err != nil {
		t.Fatal(err)
	}
	w := &world{ctx: ctx, st: st, raw: raw, clock: clock, svc: payment.New(st, sim.New(time.Millisecond), []byte("0123456789abcdef0123456789abcdef")),
		sc: tender.Scope{OrganizationID: org.ID, AccountID: acct.ID, Mode: tender.ModeTest}}
	return w
}

// business makes a card payment, a partial refund, an external payment,
// an adjustment and a settlement.
func (w *world) business(t *testing.T) {
	t.Helper()
	pm, err := w.svc.CreatePaymentMethod(w.ctx, w.sc, payment.PaymentMethodParams{Type: tender.MethodCard,
		Card: &processor.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2040}})
	if err != nil {
		t.Fatal(err)
	}
	pi, err := w.svc.CreatePaymentIntent(w.ctx, w.sc, payment.IntentParams{Amount: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Pay(w.ctx, w.sc, pi.ID, payment.PayParams{PaymentMethodID: pm.ID}); err != nil {
		t.Fatal(err)
	}
	amt := int64(1200)
	if _, err := w.svc.Refund(w.ctx, w.sc, pi.ID, payment.RefundParams{Amount: &amt}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.CreateExternalPayment(w.ctx, w.sc, payment.ExternalPaymentParams{Intent: payment.IntentParams{Amount: 800},
		MethodType: tender.MethodCard, Card: &tender.CardDetails{LastFour: "1111"}, Gateway: json.RawMessage(`{"auth_code":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Ledger.Adjust(w.ctx, w.sc, "USD", -300, "chargeback fee"); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(ledger.DefaultSettlementDelay)
	if n, _, err := w.svc.Ledger.Settle(w.ctx, 100); err != nil || n != 3 {
		t.Fatalf("Settle: %d, %v", n, err)
	}
}

func (w *world) verify(t *testing.T) *ledger.Report {
	t.Helper()
	r, err := ledger.Verify(w.ctx, w.st)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantViolation fails unless r has a violation of check that names
// txnID (when not empty).
func wantViolation(t *testing.T, r *ledger.Report, check, txnID string) {
	t.Helper()
	for _, v := range r.Violations {
		if v.Check == check && (txnID == "" || v.TransactionID == txnID) {
			return
		}
	}
	t.Errorf("no %q violation naming %q in %v", check, txnID, r.Violations)
}

func (w *world) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := w.raw.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// anyTxn returns the id of one of the account's payment transactions.
func (w *world) anyTxn(t *testing.T) string {
	t.Helper()
	var id string
	if err := w.raw.QueryRow(`SELECT id FROM ledger_transactions WHERE kind = 'payment' ORDER BY id LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestVerify(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			t.Run("Clean", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				if r := w.verify(t); !r.OK() || r.Transactions != 0 {
					t.Errorf("empty database: %+v", r)
				}
				w.business(t)
				r := w.verify(t)
				if !r.OK() {
					t.Errorf("violations after ordinary business: %v", r.Violations)
				}
				// payment, refund, external payment, adjustment, settlement
				if r.Transactions != 5 || r.Entries != 12 {
					t.Errorf("verified %d transactions with %d entries, want 5 and 12", r.Transactions, r.Entries)
				}
			})
			t.Run("GuardsRefuseChanges", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				w.business(t)
				id := w.anyTxn(t)
				for _, q := range []string{
					`UPDATE ledger_entries SET amount = amount + 1 WHERE transaction_id = $1`,
					`DELETE FROM ledger_entries WHERE transaction_id = $1`,
					`DELETE FROM ledger_transactions WHERE id = $1`,
					`UPDATE ledger_transactions SET amount = amount + 1 WHERE id = $1`,
					`UPDATE ledger_transactions SET net = 0 WHERE id = $1`,
				} {
					if _, err := w.raw.Exec(q, id); err == nil {
						t.Errorf("%s succeeded", q)
					}
				}
				// Settlement fields may change.
				w.exec(t, `UPDATE ledger_transactions SET payout_id = 'po_x' WHERE id = $1`, id)
				if r := w.verify(t); !r.OK() {
					t.Errorf("violations after refused changes: %v", r.Violations)
				}
			})
			t.Run("MaintainedBalanceChanged", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				w.business(t)
				w.exec(t, `UPDATE ledger_balances SET balance = balance + 7 WHERE type = 'merchant_available'`)
				r := w.verify(t)
				wantViolation(t, r, "balance", "")
				if !strings.Contains(r.Violations[0].Account, w.sc.AccountID+"/test/USD/merchant_available") {
					t.Errorf("violation does not name the account: %v", r.Violations[0])
				}
			})
			t.Run("EntryTampered", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				w.business(t)
				id := w.anyTxn(t)
				if err := e.disable(w.raw, "ledger_entries_no_update"); err != nil {
					t.Fatal(err)
				}
				w.exec(t, `UPDATE ledger_entries SET amount = amount + 100 WHERE transaction_id = $1 AND type = 'platform_fees'`, id)
				r := w.verify(t)
				wantViolation(t, r, "balanced", id)
				wantViolation(t, r, "balance", "")
				wantViolation(t, r, "append-only", "")
			})
			t.Run("UnbalancedTransaction", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				w.business(t)
				// One-legged, its balance kept in step, so only the
				// transaction itself is wrong.
				id := tender.NewID(tender.PrefixLedgerTransaction, w.clock.Now())
				w.exec(t, `INSERT INTO ledger_transactions (id, account_id, mode, kind, source_type, source_id, root_source_id, currency,
					amount, fee, net, pending, settlement_status, description, created_at, updated_at)
					VALUES ($1, $2, 'test', 'adjustment', 'adjustment', $1, $1, 'USD', 50, 0, 50, 0, 'settled', '', 1, 1)`, id, w.sc.AccountID)
				w.exec(t, `INSERT INTO ledger_entries (transaction_id, seq, account_id, mode, type, currency, amount)
					VALUES ($1, 0, $2, 'test', 'merchant_available', 'USD', 50)`, id, w.sc.AccountID)
				w.exec(t, `UPDATE ledger_balances SET balance = balance + 50 WHERE type = 'merchant_available' AND shard =
					(SELECT MIN(shard) FROM ledger_balances WHERE type = 'merchant_available')`)
				r := w.verify(t)
				wantViolation(t, r, "balanced", id)
				if len(r.Violations) != 1 {
					t.Errorf("want only the unbalanced transaction, got %v", r.Violations)
				}
			})
			t.Run("NegativeHoldingAccount", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				w.business(t)
				// Balanced and kept in step, but it empties a dispute
				// reserve that holds nothing.
				id := tender.NewID(tender.PrefixLedgerTransaction, w.clock.Now())
				w.exec(t, `INSERT INTO ledger_transactions (id, account_id, mode, kind, source_type, source_id, root_source_id, currency,
					amount, fee, net, pending, settlement_status, description, created_at, updated_at)
					VALUES ($1, $2, 'test', 'dispute_won', 'dispute', $1, $1, 'USD', 90, 0, 90, 0, 'settled', '', 1, 1)`, id, w.sc.AccountID)
				w.exec(t, `INSERT INTO ledger_entries (transaction_id, seq, account_id, mode, type, currency, amount)
					VALUES ($1, 0, $2, 'test', 'dispute_reserve', 'USD', -90), ($1, 1, $2, 'test', 'merchant_available', 'USD', 90)`, id, w.sc.AccountID)
				w.exec(t, `INSERT INTO ledger_balances (account_id, mode, currency, type, shard, balance) VALUES ($1, 'test', 'USD', 'dispute_reserve', 0, -90)`, w.sc.AccountID)
				w.exec(t, `UPDATE ledger_balances SET balance = balance + 90 WHERE type = 'merchant_available' AND shard =
					(SELECT MIN(shard) FROM ledger_balances WHERE type = 'merchant_available')`)
				r := w.verify(t)
				wantViolation(t, r, "negative", "")
				if len(r.Violations) != 1 {
					t.Errorf("want only the negative reserve, got %v", r.Violations)
				}
			})
			t.Run("OrphanEntry", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				w.business(t)
				w.exec(t, `INSERT INTO ledger_entries (transaction_id, seq, account_id, mode, type, currency, amount)
					VALUES ('txn_gone', 0, $1, 'test', 'merchant_available', 'USD', 10)`, w.sc.AccountID)
				r := w.verify(t)
				wantViolation(t, r, "orphans", "")
			})
			t.Run("FloorRefusedByPosting", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, e)
				err := w.st.Write(w.ctx, func(tx store.Tx) error {
					l, err := ledger.Build(ledger.KindDisputeWon, ledger.Posting{AccountID: w.sc.AccountID, Mode: w.sc.Mode, Currency: "USD",
						Amount: 100, SourceID: "dp_1", At: tx.Now()})
					if err != nil {
						return err
					}
					return w.svc.Ledger.Post(w.ctx, tx, l)
				})
				if tender.ErrorCode(err) != tender.ECONFLICT {
					t.Errorf("releasing a dispute that holds nothing: %v, want ECONFLICT", err)
				}
				if r := w.verify(t); !r.OK() || r.Transactions != 0 {
					t.Errorf("after a refused posting: %+v", r)
				}
			})
		})
	}
}
