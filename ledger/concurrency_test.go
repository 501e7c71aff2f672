package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
)

// TestConcurrentPostings_Postgres drives payments and refunds of one
// account from many goroutines through two stores on one PostgreSQL
// database (two tender processes, each with its own connection pool),
// while settlement runs, and checks the balances to the cent.
func TestConcurrentPostings_Postgres(t *testing.T) {
	t.Parallel()
	url := testserver.PostgresURL(t)
	ctx := context.Background()
	clock := tender.SystemClock{} // settlement must come due while the payments run
	var procs []*payment.Service
	for range 2 {
		st, err := postgres.Open(ctx, url, postgres.Options{Clock: clock, MaxConns: 12})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svc := payment.New(st, sim.New(0), []byte("0123456789abcdef0123456789abcdef"))
		svc.Ledger.SettlementDelay = time.Millisecond
		procs = append(procs, svc)
	}
	st := procs[0].Store
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
	sc := tender.Scope{OrganizationID: org.ID, AccountID: acct.ID, Mode: tender.ModeTest}
	pm, err := procs[0].CreatePaymentMethod(ctx, sc, payment.PaymentMethodParams{Type: tender.MethodCard,
		Card: &processor.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2040}})
	if err != nil {
		t.Fatal(err)
	}

	const workers, each = 24, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	type done struct{ amount, refund int64 }
	results := make(chan done, workers*each)
	stopSettle := make(chan struct{})
	var settleWG sync.WaitGroup
	settleWG.Add(1)
	go func() { // settlement runs beside the payments, in the second process
		defer settleWG.Done()
		for {
			select {
			case <-stopSettle:
				return
			default:
			}
			if _, _, err := procs[1].Ledger.Settle(ctx, 50); err != nil {
				errs <- err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := procs[w%2]
			for i := range each {
				amount := int64(1000 + 37*w + i)
				pi, err := svc.CreatePaymentIntent(ctx, sc, payment.IntentParams{Amount: amount})
				if err != nil {
					errs <- err
					return
				}
				if _, err := svc.Pay(ctx, sc, pi.ID, payment.PayParams{PaymentMethodID: pm.ID}); err != nil {
					errs <- err
					return
				}
				refund := int64(100 + i)
				if _, err := svc.Refund(ctx, sc, pi.ID, payment.RefundParams{Amount: &refund}); err != nil {
					errs <- err
					return
				}
				results <- done{amount, refund}
			}
		}()
	}
	wg.Wait()
	close(stopSettle)
	settleWG.Wait()
	close(errs)
	close(results)
	for err := range errs {
		t.Error(err)
	}
	var gross, refunds, fees int64
	n := 0
	for r := range results {
		n++
		gross += r.amount
		refunds += r.refund
		fees += (r.amount*290+5000)/10000 + 30
	}
	if n != workers*each {
		t.Fatalf("%d flows finished, want %d", n, workers*each)
	}
	// Settle what is left, then compare.
	time.Sleep(5 * time.Millisecond)
	for {
		k, _, err := procs[0].Ledger.Settle(ctx, 500)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
	}
	got := map[string]int64{}
	if err := st.Read(ctx, func(tx store.Tx) error {
		rows, err := tx.FindLedgerBalances(ctx, sc, "USD")
		for _, b := range rows {
			got[b.Type] = b.Amount
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{ledger.Processor: -(gross - refunds), ledger.MerchantPending: 0,
		ledger.MerchantAvailable: gross - fees - refunds, ledger.PlatformFees: fees}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	r, err := ledger.Verify(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Transactions < int64(2*n) {
		t.Errorf("verify: %d transactions, violations %v", r.Transactions, r.Violations)
	}
	t.Logf("%d payments and %d refunds from %d goroutines on 2 connection pools, with settlement running, in %v; %d ledger transactions (%d of them settlements made during the run)",
		n, n, workers, time.Since(start).Round(time.Millisecond), r.Transactions, r.Transactions-int64(2*n))
}
