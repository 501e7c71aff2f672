package payment_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/store"
)

// captured pays an intent of amount with a new card of number and returns
// the intent and its payment.
func (b *bundle) captured(t *testing.T, number string, amount int64) (*tender.PaymentIntent, *tender.Payment) {
	t.Helper()
	pm := b.card(t, number)
	pi, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: amount})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := b.svc.Pay(b.ctx, b.sc, pi.ID, payment.PayParams{PaymentMethodID: pm.ID})
	if err != nil || pay.Status != tender.PaymentCaptured {
		t.Fatalf("pay: %v %+v", err, pay)
	}
	return pi, pay
}

func wantBalances(t *testing.T, b *bundle, what string, want map[string]int64) {
	t.Helper()
	got := b.balances(t)
	for k, v := range got {
		if v == 0 {
			delete(got, k)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func TestDispute_OpenWinLose(t *testing.T) {
	t.Parallel()
	b, _ := ledgerSetup(t)
	pi, pay := b.captured(t, "4242424242424242", 1000) // fee 59
	amt := int64(200)
	if _, err := b.svc.Refund(b.ctx, b.sc, pi.ID, payment.RefundParams{Amount: &amt}); err != nil {
		t.Fatal(err)
	}
	d, err := b.svc.OpenDispute(b.ctx, b.sc, pay.ID, "Duplicate Processing", 82)
	if err != nil {
		t.Fatal(err)
	}
	if d.Amount != 800 || d.Fee != 1500 || d.Status != tender.DisputeNew || d.PaymentIntentID != pi.ID || d.Currency != "USD" ||
		!d.ResponseDueAt.Equal(d.CreatedAt.Add(payment.DisputeResponseWindow)) {
		t.Errorf("dispute %+v", d)
	}
	wantBalances(t, b, "open", map[string]int64{ledger.Processor: -800, ledger.MerchantPending: 741, ledger.PlatformFees: 59,
		ledger.MerchantAvailable: -2300, ledger.DisputeReserve: 2300})
	err = b.st.Read(b.ctx, func(tx store.Tx) error {
		pi, err := tx.FindPaymentIntentByID(b.ctx, b.sc, pi.ID)
		if err != nil {
			return err
		}
		pay, err := tx.FindPaymentByID(b.ctx, b.sc, pay.ID)
		if err != nil {
			return err
		}
		if !pi.Disputed || pi.DisputeID != d.ID || pi.AmountDisputed != 800 || !pay.Disputed || pay.DisputeID != d.ID || pay.AmountDisputed != 800 {
			t.Errorf("disputed fields: intent %+v payment %+v", pi, pay)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.svc.OpenDispute(b.ctx, b.sc, pay.ID, "again", 1)
	wantCode(t, "a second dispute", err, tender.ECONFLICT)
	_, err = b.svc.Refund(b.ctx, b.sc, pi.ID, payment.RefundParams{Amount: &amt})
	wantCode(t, "refund while disputed", err, tender.ECONFLICT)
	_, err = b.svc.MoveDispute(b.ctx, b.sc, d.ID, tender.DisputeNew)
	wantCode(t, "move to new", err, tender.EINVALID)
	_, err = b.svc.MoveDispute(b.ctx, tender.Scope{AccountID: b.sc.AccountID, Mode: tender.ModeLive}, d.ID, tender.DisputeWon)
	wantCode(t, "move in live mode", err, tender.ENOTFOUND)

	if d, err = b.svc.MoveDispute(b.ctx, b.sc, d.ID, tender.DisputeContested); err != nil || d.ClosedAt != nil {
		t.Fatalf("contest: %v %+v", err, d)
	}
	wantBalances(t, b, "contested", map[string]int64{ledger.Processor: -800, ledger.MerchantPending: 741, ledger.PlatformFees: 59,
		ledger.MerchantAvailable: -2300, ledger.DisputeReserve: 2300})
	_, err = b.svc.MoveDispute(b.ctx, b.sc, d.ID, tender.DisputeAccepted)
	wantCode(t, "accept a contested dispute", err, tender.ECONFLICT)
	if d, err = b.svc.MoveDispute(b.ctx, b.sc, d.ID, tender.DisputeLost); err != nil || d.ClosedAt == nil {
		t.Fatalf("lose: %v %+v", err, d)
	}
	wantBalances(t, b, "lost", map[string]int64{ledger.MerchantPending: 741, ledger.PlatformFees: 59 + 1500, ledger.MerchantAvailable: -2300})
	_, err = b.svc.MoveDispute(b.ctx, b.sc, d.ID, tender.DisputeWon)
	wantCode(t, "win a lost dispute", err, tender.ECONFLICT)
	_, err = b.svc.Refund(b.ctx, b.sc, pi.ID, payment.RefundParams{})
	wantCode(t, "refund after a lost dispute of all that was left", err, tender.ECONFLICT)
	var hist []string
	for _, h := range d.StatusHistory {
		hist = append(hist, h.Status)
	}
	if d := cmp.Diff([]string{"new", "contested", "lost"}, hist); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}

	// A won dispute gives everything back, and the rest may be refunded.
	pi2, pay2 := b.captured(t, "4242424242424242", 2000) // fee 88
	d2, err := b.svc.OpenDispute(b.ctx, b.sc, pay2.ID, "Fraud", 83)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.MoveDispute(b.ctx, b.sc, d2.ID, tender.DisputeWon); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Refund(b.ctx, b.sc, pi2.ID, payment.RefundParams{}); err != nil {
		t.Errorf("refund after a won dispute: %v", err)
	}
	wantBalances(t, b, "won and refunded", map[string]int64{ledger.MerchantPending: 741 + 1912 - 2000, ledger.PlatformFees: 59 + 1500 + 88,
		ledger.MerchantAvailable: -2300})
	want := []string{tender.EventDisputeCreated, tender.EventDisputeContested, tender.EventDisputeLost, tender.EventDisputeCreated, tender.EventDisputeWon}
	var got []string
	for _, e := range b.eventTypes(t) {
		if len(e) > 8 && e[:8] == "dispute." {
			got = append(got, e)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dispute events (-want +got):\n%s", d)
	}
}

func TestDispute_Job(t *testing.T) {
	t.Parallel()
	b, clock := ledgerSetup(t)
	_, pay := b.captured(t, "4000000000000259", 1000)
	if pay.Chargeback == nil || pay.Chargeback.ReasonCode != 83 {
		t.Fatalf("the dispute card's payment has no chargeback notice: %+v", pay)
	}
	var jobs []*tender.Job
	clock.Advance(2 * time.Minute)
	if err := b.st.Write(b.ctx, func(tx store.Tx) (err error) { jobs, err = tx.ClaimJobs(b.ctx, 10, time.Minute); return err }); err != nil {
		t.Fatal(err)
	}
	var open *tender.Job
	for _, j := range jobs {
		if j.Kind == payment.JobOpenDispute {
			open = j
		}
	}
	if open == nil {
		t.Fatalf("no %s job after capture: %v", payment.JobOpenDispute, jobs)
	}
	for i := 0; i < 2; i++ { // the second run changes nothing
		if err := b.svc.OpenDisputeJob(b.ctx, open); err != nil {
			t.Fatal(err)
		}
	}
	wantBalances(t, b, "after the job", map[string]int64{ledger.Processor: -1000, ledger.MerchantPending: 941, ledger.PlatformFees: 59,
		ledger.MerchantAvailable: -2500, ledger.DisputeReserve: 2500})

	// A payment refunded in full before the job runs is not disputed.
	pi2, pay2 := b.captured(t, "4000000000000259", 500)
	if _, err := b.svc.Refund(b.ctx, b.sc, pi2.ID, payment.RefundParams{}); err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal(map[string]any{"account_id": b.sc.AccountID, "mode": b.sc.Mode, "payment_id": pay2.ID})
	if err := b.svc.OpenDisputeJob(b.ctx, &tender.Job{Kind: payment.JobOpenDispute, Args: args}); err != nil {
		t.Fatal(err)
	}
	_, err := b.svc.OpenDispute(b.ctx, b.sc, pay2.ID, "x", 1)
	wantCode(t, "dispute a fully refunded payment", err, tender.ECONFLICT)
}

func TestDispute_External(t *testing.T) {
	t.Parallel()
	b, _ := ledgerSetup(t)
	pi, err := b.svc.CreateExternalPayment(b.ctx, b.sc, payment.ExternalPaymentParams{Intent: payment.IntentParams{Amount: 700},
		MethodType: tender.MethodCard, Card: &tender.CardDetails{LastFour: "4242", Brand: "visa"}, Gateway: json.RawMessage(`{"auth_code":"ok"}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.svc.OpenDispute(b.ctx, b.sc, pi.LatestPaymentID, "x", 1)
	wantCode(t, "dispute an external payment", err, tender.ECONFLICT)
	_, err = b.svc.OpenDispute(b.ctx, b.sc, "pmt_nope", "x", 1)
	wantCode(t, "dispute an unknown payment", err, tender.ENOTFOUND)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := tender.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want %q", what, err, got, code)
	}
}
