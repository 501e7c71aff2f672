package payout_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/payout"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
)

// proc is one tender process: its store and services.
type proc struct {
	st      store.Store
	pay     *payment.Service
	payouts *payout.Service
}

func newProc(st store.Store) *proc {
	p := &proc{st: st, pay: payment.New(st, sim.New(0), []byte("0123456789abcdef0123456789abcdef"))}
	p.payouts = payout.New(st, p.pay.Ledger)
	return p
}

// TestPayouts_Concurrent makes payouts every second, from two processes at
// once on PostgreSQL (one on SQLite), while adjustments credit and debit
// the available balance from many goroutines, and then checks that every
// payout paid out exactly the transactions linked to it, that what is left
// unpaid is the available balance, that no period had two payouts and that
// the payout numbers have no gaps.
func TestPayouts_Concurrent(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var procs []*proc
			if pg {
				url := testserver.PostgresURL(t)
				for range 2 {
					st, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 8})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { st.Close() })
					procs = append(procs, newProc(st))
				}
			} else {
				st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				procs = append(procs, newProc(st))
			}
			st := procs[0].st
			now := time.Now()
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
			sc := tender.Scope{OrganizationID: org.ID, AccountID: acct.ID, Mode: tender.ModeTest}
			plan := ledger.DefaultPlan(acct.ID)
			plan.PayoutFee = 7
			if _, err := procs[0].pay.Ledger.PutSettings(ctx, &tender.AccountSettings{AccountID: acct.ID, Plan: plan, PayoutSchedule: "1s"}); err != nil {
				t.Fatal(err)
			}

			stop := time.Now().Add(3500 * time.Millisecond)
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := procs[i%len(procs)]
					for n := int64(1); time.Now().Before(stop); n++ {
						amount := 100 + n*int64(i+1)
						if n%5 == 0 {
							amount = -amount / 2
						}
						if _, err := p.pay.Ledger.Adjust(ctx, sc, "USD", amount, "concurrent"); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			var made sync.Map
			for _, p := range procs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(stop) {
						ps, err := p.payouts.Create(ctx, sc)
						if err != nil {
							errs <- err
							return
						}
						for _, po := range ps {
							made.Store(po.ID, po)
						}
						time.Sleep(20 * time.Millisecond)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			rep, err := ledger.Verify(ctx, st)
			if err != nil || !rep.OK() {
				t.Fatalf("verify: %v %v", err, rep.Violations)
			}
			var payouts []*tender.Payout
			var unpaid []tender.UnpaidTotal
			var available int64
			err = st.Read(ctx, func(tx store.Tx) error {
				page := tender.Page{Limit: 50}
				for {
					items, more, err := tx.ListPayouts(ctx, sc, page, tender.PayoutFilter{})
					if err != nil {
						return err
					}
					payouts = append(payouts, items...)
					if !more {
						break
					}
					page.StartingAfter = items[len(items)-1].ID
				}
				for _, p := range payouts {
					var sum, count int64
					if err := tx.EachLedgerTransaction(ctx, sc, tender.LedgerTransactionFilter{PayoutID: p.ID}, func(l *tender.LedgerTransaction) error {
						if l.ID != p.LedgerTransactionID {
							sum += l.Net
							count++
						}
						return nil
					}); err != nil {
						return err
					}
					if sum != p.Amount || count != p.TransactionCount || p.NetAmount != p.Amount-7 {
						t.Errorf("payout #%d: amount %d of %d transactions, but its transactions net %d in %d", p.Number, p.Amount,
							p.TransactionCount, sum, count)
					}
				}
				if unpaid, err = tx.UnpaidLedgerTotals(ctx, sc); err != nil {
					return err
				}
				bals, err := tx.FindLedgerBalances(ctx, sc, "USD")
				for _, b := range bals {
					if b.Type == ledger.MerchantAvailable {
						available = b.Amount
					}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(payouts) < 2 {
				t.Fatalf("only %d payouts in 3.5 s", len(payouts))
			}
			var left int64
			for _, u := range unpaid {
				left += u.Net
			}
			if left != available {
				t.Errorf("unpaid transactions net %d, available balance %d", left, available)
			}
			periods := map[int64]bool{}
			for i, p := range payouts {
				if want := int64(len(payouts) - i); p.Number != want {
					t.Errorf("payout %s has number %d, want %d", p.ID, p.Number, want)
				}
				sec := p.CreatedAt.Unix()
				if periods[sec] {
					t.Errorf("two payouts in the period of %v", p.CreatedAt)
				}
				periods[sec] = true
				if _, ok := made.Load(p.ID); !ok {
					t.Errorf("payout %s is stored but no Create returned it", p.ID)
				}
			}
			t.Logf("%d payouts; %d left unpaid", len(payouts), left)
		})
	}
}
