package payment_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlite"
)

// ledgerSetup is setup with a pinned clock and a real account (account
// settings need one).
func ledgerSetup(t *testing.T) (*bundle, *tender.FixedClock) {
	t.Helper()
	ctx := context.Background()
	clock := tender.NewFixedClock(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	b := &bundle{ctx: ctx, st: st, svc: payment.New(st, sim.New(time.Millisecond), []byte("0123456789abcdef0123456789abcdef")),
		sc: tender.Scope{OrganizationID: org.ID, AccountID: acct.ID, Mode: tender.ModeTest}}
	return b, clock
}

func (b *bundle) balances(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := b.st.Read(b.ctx, func(tx store.Tx) error {
		rows, err := tx.FindLedgerBalances(b.ctx, b.sc, "")
		for _, r := range rows {
			out[r.Type] = r.Amount
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// transactions lists the scope's merchant-facing ledger transactions,
// oldest first, as "kind amount fee net".
func (b *bundle) transactions(t *testing.T) []*tender.LedgerTransaction {
	t.Helper()
	var out []*tender.LedgerTransaction
	err := b.st.Read(b.ctx, func(tx store.Tx) error {
		return tx.EachLedgerTransaction(b.ctx, b.sc, tender.LedgerTransactionFilter{SortColumn: "created_at", SortAsc: true},
			func(l *tender.LedgerTransaction) error {
				out = append(out, l)
				return nil
			})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLedger_CaptureAndRefundPost(t *testing.T) {
	t.Parallel()
	b, clock := ledgerSetup(t)
	pm := b.card(t, "4242424242424242")
	noCapture := false
	pi, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: 1000, Capture: &noCapture})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := b.svc.Pay(b.ctx, b.sc, pi.ID, payment.PayParams{PaymentMethodID: pm.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.balances(t); len(got) != 0 {
		t.Errorf("an authorization moved money: %v", got)
	}
	amt := int64(800)
	if _, err := b.svc.Capture(b.ctx, b.sc, pi.ID, &amt); err != nil {
		t.Fatal(err)
	}
	// 2.9% of 800 = 23.2 → 23, + 30.
	want := map[string]int64{ledger.Processor: -800, ledger.MerchantPending: 747, ledger.PlatformFees: 53}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after capture (-want +got):\n%s", d)
	}
	ref := int64(300)
	r, err := b.svc.Refund(b.ctx, b.sc, pi.ID, payment.RefundParams{Amount: &ref})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]int64{ledger.Processor: -500, ledger.MerchantPending: 447, ledger.PlatformFees: 53}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after refund (-want +got):\n%s", d)
	}
	ts := b.transactions(t)
	if len(ts) != 2 || ts[0].Kind != ledger.KindPayment || ts[0].SourceID != pay.ID || ts[0].RootSourceID != pi.ID ||
		ts[0].Amount != 800 || ts[0].Fee != 53 || ts[0].Net != 747 || ts[1].Kind != ledger.KindRefund || ts[1].SourceID != r.ID ||
		ts[1].Amount != -300 || ts[1].Net != -300 {
		t.Fatalf("transactions = %+v", ts)
	}
	if !ts[0].AvailableAt.Equal(clock.Now().Add(ledger.DefaultSettlementDelay)) {
		t.Errorf("available at %v, want the capture time plus the default delay", ts[0].AvailableAt)
	}

	// Nothing settles before the delay; everything after it.
	if n, _, err := b.svc.Ledger.Settle(b.ctx, 100); err != nil || n != 0 {
		t.Fatalf("Settle before the delay: %d, %v", n, err)
	}
	clock.Advance(ledger.DefaultSettlementDelay)
	if n, _, err := b.svc.Ledger.Settle(b.ctx, 100); err != nil || n != 2 {
		t.Fatalf("Settle after the delay: %d, %v", n, err)
	}
	want = map[string]int64{ledger.Processor: -500, ledger.MerchantPending: 0, ledger.MerchantAvailable: 447, ledger.PlatformFees: 53}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after settlement (-want +got):\n%s", d)
	}
	now := clock.Now()
	err = b.st.Read(b.ctx, func(tx store.Tx) error {
		gpi, err := tx.FindPaymentIntentByID(b.ctx, b.sc, pi.ID)
		if err != nil {
			return err
		}
		gpay, err := tx.FindPaymentByID(b.ctx, b.sc, pay.ID)
		if err != nil {
			return err
		}
		gr, err := tx.FindRefundByID(b.ctx, b.sc, r.ID)
		if err != nil {
			return err
		}
		for what, st := range map[string]struct {
			status string
			at     *time.Time
		}{"intent": {gpi.SettlementStatus, gpi.SettledAt}, "payment": {gpay.SettlementStatus, gpay.SettledAt}, "refund": {gr.SettlementStatus, gr.SettledAt}} {
			if st.status != tender.Settled || st.at == nil || !st.at.Equal(now) {
				t.Errorf("%s: settlement %s at %v, want settled at %v", what, st.status, st.at, now)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A refund after settlement is taken from the balance again, pending
	// until its own settlement.
	if _, err := b.svc.Refund(b.ctx, b.sc, pi.ID, payment.RefundParams{}); err != nil {
		t.Fatal(err)
	}
	want = map[string]int64{ledger.Processor: 0, ledger.MerchantPending: -500, ledger.MerchantAvailable: 447, ledger.PlatformFees: 53}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after refunding the rest (-want +got):\n%s", d)
	}
}

func TestLedger_PayCaptureAndBank(t *testing.T) {
	t.Parallel()
	b, clock := ledgerSetup(t)
	pm := b.card(t, "4242424242424242")
	pi, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Pay(b.ctx, b.sc, pi.ID, payment.PayParams{PaymentMethodID: pm.ID}); err != nil {
		t.Fatal(err)
	}
	// A declined card moves nothing.
	declined := b.card(t, "4000000000000002")
	pi2, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: 700})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Pay(b.ctx, b.sc, pi2.ID, payment.PayParams{PaymentMethodID: declined.ID}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{ledger.Processor: -2000, ledger.MerchantPending: 2000 - 88, ledger.PlatformFees: 88}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after a card payment and a decline (-want +got):\n%s", d)
	}
	// A bank payment posts when it settles, with the bank rate.
	bank, err := b.svc.CreatePaymentMethod(b.ctx, b.sc, payment.PaymentMethodParams{Type: tender.MethodBank,
		Bank: &processor.BankInput{AccountNumber: "000123456789", RoutingNumber: "110000000", AccountType: "checking"}})
	if err != nil {
		t.Fatal(err)
	}
	pi3, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: 10000})
	if err != nil {
		t.Fatal(err)
	}
	bpay, err := b.svc.Pay(b.ctx, b.sc, pi3.ID, payment.PayParams{PaymentMethodID: bank.ID})
	if err != nil || bpay.Status != tender.PaymentPending {
		t.Fatalf("bank Pay: %+v, %v", bpay, err)
	}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("a pending bank payment moved money (-want +got):\n%s", d)
	}
	clock.Advance(time.Minute)
	args, _ := json.Marshal(map[string]any{"account_id": b.sc.AccountID, "mode": b.sc.Mode, "payment_id": bpay.ID})
	if err := b.svc.SettleBankPayment(b.ctx, &tender.Job{Args: args}); err != nil {
		t.Fatal(err)
	}
	want = map[string]int64{ledger.Processor: -12000, ledger.MerchantPending: 2000 - 88 + 10000 - 80, ledger.PlatformFees: 88 + 80}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after the bank payment settled (-want +got):\n%s", d)
	}
	// Running the settlement job again changes nothing.
	if err := b.svc.SettleBankPayment(b.ctx, &tender.Job{Args: args}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after the bank job ran twice (-want +got):\n%s", d)
	}
}

func TestLedger_ExternalPayments(t *testing.T) {
	t.Parallel()
	b, _ := ledgerSetup(t)
	gw := json.RawMessage(`{"auth_code":"A1","retrieval_reference":"rr"}`)
	pi, err := b.svc.CreateExternalPayment(b.ctx, b.sc, payment.ExternalPaymentParams{Intent: payment.IntentParams{Amount: 5000},
		MethodType: tender.MethodCard, Card: &tender.CardDetails{LastFour: "4242", Brand: "visa"}, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	noCapture := false
	pi2, err := b.svc.CreateExternalPayment(b.ctx, b.sc, payment.ExternalPaymentParams{Intent: payment.IntentParams{Amount: 3000, Capture: &noCapture},
		MethodType: tender.MethodBank, Bank: &tender.BankDetails{MaskedAccount: "****1234"}, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	// 2.9% of 5000 = 145, + 30.
	want := map[string]int64{ledger.External: -5000, ledger.MerchantPending: 5000 - 175, ledger.PlatformFees: 175}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after an external payment and an uncaptured one (-want +got):\n%s", d)
	}
	if _, err := b.svc.CaptureExternal(b.ctx, b.sc, pi2.ID, nil, gw); err != nil {
		t.Fatal(err)
	}
	amt := int64(1000)
	if _, err := b.svc.CreateExternalRefund(b.ctx, b.sc, pi.ID, &amt, gw); err != nil {
		t.Fatal(err)
	}
	// The bank rate: 0.8% of 3000 = 24.
	want = map[string]int64{ledger.External: -7000, ledger.MerchantPending: 5000 - 175 + 3000 - 24 - 1000, ledger.PlatformFees: 175 + 24}
	if d := cmp.Diff(want, b.balances(t)); d != "" {
		t.Errorf("after an external capture and refund (-want +got):\n%s", d)
	}
	var kinds []string
	for _, l := range b.transactions(t) {
		kinds = append(kinds, l.Kind)
	}
	if d := cmp.Diff([]string{ledger.KindExternalPayment, ledger.KindExternalPayment, ledger.KindExternalRefund}, kinds); d != "" {
		t.Errorf("kinds (-want +got):\n%s", d)
	}
}

func TestLedger_PlanFromSettings(t *testing.T) {
	t.Parallel()
	b, clock := ledgerSetup(t)
	plan := &tender.ProcessingPlan{PlanType: tender.PlanInterchangePlus, Card: tender.FeeRate{BPS: 20, Fixed: 10}}
	if _, err := b.svc.Ledger.PutSettings(b.ctx, &tender.AccountSettings{AccountID: b.sc.AccountID, Plan: plan, SettlementDelay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	pm := b.card(t, "5555555555554444") // mastercard: 1.90% + 10
	pi, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Pay(b.ctx, b.sc, pi.ID, payment.PayParams{PaymentMethodID: pm.ID}); err != nil {
		t.Fatal(err)
	}
	ts := b.transactions(t)
	if len(ts) != 1 || ts[0].Fee != 190+10+20+10 || !ts[0].AvailableAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("transaction under an interchange-plus plan with a 1 h delay: %+v", ts)
	}
	_, err = b.svc.Ledger.PutSettings(b.ctx, &tender.AccountSettings{AccountID: b.sc.AccountID, Plan: &tender.ProcessingPlan{PlanType: "X"}})
	if tender.ErrorFields(err)["plan_type"] == "" {
		t.Errorf("a bad plan: %v", err)
	}
	_, err = b.svc.Ledger.PutSettings(b.ctx, &tender.AccountSettings{AccountID: "acct_nobody"})
	if tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Errorf("settings of an unknown account: %v", err)
	}
}
