package highlevel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/processor/customprovider"
	"github.com/tenderpay/tender/server"
	"github.com/tenderpay/tender/store"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connectProvider makes the fake the first location's custom provider,
// with keys for both modes.
func connectProvider(t *testing.T, s *testserver.Server, queryURL, live, test string) {
	t.Helper()
	q := "?locationId=" + s.Boot.HighLevel.LocationID
	hlWant(t, s.HighLevel(t, "POST", "/payments/custom-provider/provider"+q, customProvider(queryURL)), http.StatusOK)
	hlWant(t, s.HighLevel(t, "POST", "/payments/custom-provider/connect"+q, keys(live, test)), http.StatusOK)
}

func fwdWant(t *testing.T, r *testserver.Response, code int) map[string]any {
	t.Helper()
	if r.Status != code {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.Status, code, r.Body)
	}
	return r.JSON(t)
}

func fwdMethod(t *testing.T, s *testserver.Server) string {
	t.Helper()
	pm := fwdWant(t, s.Forward(t, "POST", "/payment_methods", map[string]any{"payment_method_type": "card", "card": map[string]any{
		"number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvv": "123"}}), http.StatusCreated)
	return pm["id"].(string)
}

// fwdPay creates an intent of amount (minor units) and pays it with pm.
func fwdPay(t *testing.T, s *testserver.Server, pm string, amount int64, capture bool) (intent, payment map[string]any) {
	t.Helper()
	pi := fwdWant(t, s.Forward(t, "POST", "/payment_intents", map[string]any{"amount": amount, "capture": capture,
		"description": "Order 7"}), http.StatusCreated)
	pay := fwdWant(t, s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/payments", map[string]any{"payment_method_id": pm}),
		http.StatusCreated)
	return pi, pay
}

// storedRef returns the processor reference tender recorded for a payment.
func storedRef(t *testing.T, s *testserver.Server, paymentID string) customprovider.Ref {
	t.Helper()
	var pay *tender.Payment
	sc := server.ScopeOf(s.Boot.OrganizationID, s.AccountID, tender.ModeTest)
	if err := s.Store.Read(context.Background(), func(tx store.Tx) (err error) {
		pay, err = tx.FindPaymentByID(context.Background(), sc, paymentID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r, ok := customprovider.ParseRef(pay.ProcessorRef)
	if !ok {
		t.Fatalf("payment %s: processor_ref %q names no custom provider", paymentID, pay.ProcessorRef)
	}
	return r
}

// waitIntent polls a Forward intent until its status is want.
func waitIntent(t *testing.T, s *testserver.Server, id, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		pi := fwdWant(t, s.Forward(t, "GET", "/payment_intents/"+id, nil), http.StatusOK)
		if pi["status"] == want {
			return pi
		}
		if time.Now().After(deadline) {
			t.Fatalf("intent %s still %v, want %s", id, pi["status"], want)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Amounts that make the fake provider answer otherwise than "succeeded".
const (
	amountDeclined = 1313 // failed
	amountPending  = 1414 // pending, until told otherwise
	amountHangOK   = 1515 // charged, but the answer never comes
	amountHangLost = 1616 // charged as failed, the answer never comes, verify hangs too
)

func TestHighLevel_CustomProviderPayments(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "SQLite"
		if pg {
			name = "Postgres"
		}
		t.Run(name+"Flow", func(t *testing.T) {
			t.Parallel()
			logs := &syncBuffer{}
			s := testserver.Start(t, testserver.Options{Postgres: pg, LogOut: logs, Config: func(c *server.Config) {
				c.ProviderTimeout = time.Second
				c.LogLevel = "debug"
			}})
			s.CustomProviders.SettleAfter = 200 * time.Millisecond
			fake := testserver.NewFakeProvider(t, testAPIKey, liveAPIKey)
			fake.ChargeOutcome = func(q testserver.ProviderQuery) (string, bool) {
				switch q["amount"] {
				case float64(amountDeclined) / 100:
					return "failed", false
				case float64(amountPending) / 100:
					return "pending", false
				case float64(amountHangOK) / 100:
					return "succeeded", true
				case float64(amountHangLost) / 100:
					fake.VerifyHang.Store(true)
					return "failed", true
				}
				return "succeeded", false
			}
			connectProvider(t, s, fake.URL, liveAPIKey, testAPIKey)
			pm := fwdMethod(t, s)

			// Success: one charge_payment, as the protocol says.
			pi, pay := fwdPay(t, s, pm, 5000, true)
			if pay["status"] != "captured" || pi["id"] == nil {
				t.Fatalf("payment through the provider: %v", pay)
			}
			charges := fake.QueriesOf("charge_payment")
			if len(charges) != 1 {
				t.Fatalf("%d charge_payment queries, want 1", len(charges))
			}
			c := charges[0]
			for k, want := range map[string]any{"apiKey": testAPIKey, "transactionId": pay["id"], "paymentMethodId": pm, "amount": float64(50),
				"currency": "USD", "chargeDescription": "Order 7", "locationId": s.AccountID, "liveMode": false} {
				if c[k] != want {
					t.Errorf("charge_payment %s = %v, want %v", k, c[k], want)
				}
			}
			ref := storedRef(t, s, pay["id"].(string))
			if got := fake.Charge(pay["id"].(string)); got == nil || ref.ChargeID != got.ChargeID || ref.Amount != 5000 || ref.Currency != "USD" {
				t.Errorf("recorded ref %+v, provider's charge %+v", ref, got)
			}

			// The HighLevel transaction of the payment names the provider
			// and its charge.
			txn := hlWant(t, s.HighLevel(t, "GET", "/payments/transactions/"+pay["id"].(string)+"?altType=location&altId="+s.AccountID, nil), http.StatusOK)
			if pp, _ := txn["paymentProvider"].(map[string]any); pp["type"] != "custom" || txn["chargeId"] != ref.ChargeID {
				t.Errorf("transaction: paymentProvider %v, chargeId %v; want type custom, %s", txn["paymentProvider"], txn["chargeId"], ref.ChargeID)
			}

			// Refund: the provider is asked, with tender's refund id.
			re := fwdWant(t, s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/refunds", map[string]any{"amount": 1500}), http.StatusCreated)
			refunds := fake.QueriesOf("refund")
			if len(refunds) != 1 || refunds[0]["amount"] != 15.0 || refunds[0]["transactionId"] != pay["id"] ||
				refunds[0]["chargeId"] != ref.ChargeID || refunds[0]["refundId"] != re["id"] || refunds[0]["apiKey"] != testAPIKey {
				t.Errorf("refund queries: %v (refund %v)", refunds, re)
			}
			if got := fake.Charge(pay["id"].(string)); len(got.Refunded) != 1 {
				t.Errorf("provider's refunds: %v", got.Refunded)
			}
			// A refused refund fails cleanly and records nothing.
			fake.RefuseRefunds.Store(true)
			r := s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/refunds", map[string]any{"amount": 100})
			if r.Status != http.StatusBadGateway || !strings.Contains(string(r.Body), "refused the refund") {
				t.Errorf("refused refund: %d %s", r.Status, r.Body)
			}
			fake.RefuseRefunds.Store(false)
			if got := fwdWant(t, s.Forward(t, "GET", "/payment_intents/"+pi["id"].(string), nil), http.StatusOK); got["amount_refunded"] != 1500.0 {
				t.Errorf("refunded after a refusal: %v", got["amount_refunded"])
			}

			// Decline.
			dpi, dpay := fwdPay(t, s, pm, amountDeclined, true)
			if dpay["status"] != "failed" || dpay["decline_code"] != "card_declined" {
				t.Errorf("declined payment: %v", dpay)
			}
			waitIntent(t, s, dpi["id"].(string), "failed")

			// Manual capture: charged at once, the uncaptured rest refunded.
			mpi, mpay := fwdPay(t, s, pm, 3000, false)
			if mpay["status"] != "uncaptured" {
				t.Fatalf("manual-capture payment: %v", mpay)
			}
			capd := fwdWant(t, s.Forward(t, "POST", "/payment_intents/"+mpi["id"].(string)+"/capture", map[string]any{"amount": 2000}), http.StatusOK)
			if capd["status"] != "captured" || capd["amount_captured"] != 2000.0 {
				t.Errorf("capture: %v", capd)
			}
			if got := fake.Charge(mpay["id"].(string)); got == nil || len(got.Refunded) != 1 || got.Refunded[0] != "10" {
				t.Errorf("partial capture refunds the rest: %+v", got)
			}
			if n := len(fake.QueriesOf("verify")); n < 1 {
				t.Errorf("capture did not verify the charge")
			}
			// Cancelling an uncaptured payment refunds all of it.
			cpi, cpay := fwdPay(t, s, pm, 2500, false)
			fwdWant(t, s.Forward(t, "POST", "/payment_intents/"+cpi["id"].(string)+"/cancel", nil), http.StatusOK)
			if got := fake.Charge(cpay["id"].(string)); got == nil || len(got.Refunded) != 1 || got.Refunded[0] != "25" {
				t.Errorf("cancel refunds the charge: %+v", got)
			}

			// Pending: the settle job verifies until the provider decides.
			ppi, ppay := fwdPay(t, s, pm, amountPending, true)
			if ppay["status"] != "pending" {
				t.Fatalf("pending charge: %v", ppay)
			}
			fake.SetChargeStatus(ppay["id"].(string), "succeeded")
			waitIntent(t, s, ppi["id"].(string), "captured")
			if ref := storedRef(t, s, ppay["id"].(string)); ref.ChargeID != fake.Charge(ppay["id"].(string)).ChargeID {
				t.Errorf("settled charge's ref: %+v", ref)
			}

			// The answer is lost but the charge went through: verify tells,
			// and the payment is not charged twice.
			hpi, hpay := fwdPay(t, s, pm, amountHangOK, true)
			if hpay["status"] != "captured" {
				t.Errorf("charge whose answer was lost, verified: %v", hpay)
			}
			n := 0
			for _, q := range fake.QueriesOf("charge_payment") {
				if q["transactionId"] == hpay["id"] {
					n++
				}
			}
			if n != 1 || hpi == nil {
				t.Errorf("the lost charge was sent %d times", n)
			}

			// Neither answer comes: the payment stays pending (never a 5xx,
			// never charged again), then settles on the provider's word.
			lpi, lpay := fwdPay(t, s, pm, amountHangLost, true)
			if lpay["status"] != "pending" {
				t.Fatalf("charge with no answer at all: %v", lpay)
			}
			fake.VerifyHang.Store(false)
			waitIntent(t, s, lpi["id"].(string), "failed")

			// The provider refuses our key: declined, nothing recorded as paid.
			connectProvider(t, s, fake.URL, liveAPIKey, "sk_test_not_the_right_key")
			_, wpay := fwdPay(t, s, pm, 700, true)
			if wpay["status"] != "failed" || wpay["decline_code"] != "processor_refused" {
				t.Errorf("payment with a key the provider refuses: %v", wpay)
			}
			connectProvider(t, s, fake.URL, liveAPIKey, testAPIKey)

			// Disconnected test keys: test payments go to tender's sim again.
			before := len(fake.Queries())
			hlWant(t, s.HighLevel(t, "POST", "/payments/custom-provider/disconnect?locationId="+s.AccountID, map[string]any{"liveMode": false}), http.StatusOK)
			_, spay := fwdPay(t, s, pm, 900, true)
			if spay["status"] != "captured" || len(fake.Queries()) != before {
				t.Errorf("after disconnecting test keys: %v, %d new queries", spay, len(fake.Queries())-before)
			}
			// The earlier payment's refund now fails cleanly: its keys are gone.
			r = s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/refunds", map[string]any{"amount": 100})
			if r.Status != http.StatusBadGateway {
				t.Errorf("refund after disconnect: %d %s", r.Status, r.Body)
			}
			hlWant(t, s.HighLevel(t, "POST", "/payments/custom-provider/connect?locationId="+s.AccountID, keys(liveAPIKey, testAPIKey)), http.StatusOK)

			// Provider down: declined, nothing charged, no 5xx.
			fake.Close()
			_, down := fwdPay(t, s, pm, 800, true)
			if down["status"] != "failed" || down["decline_code"] != "processor_unavailable" {
				t.Errorf("payment with the provider down: %v", down)
			}
			r = s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/refunds", map[string]any{"amount": 100})
			if r.Status != http.StatusBadGateway {
				t.Errorf("refund with the provider down: %d %s", r.Status, r.Body)
			}

			// No key in any log line or stored event (the log does tell of
			// the calls and of the unknown outcome).
			for _, want := range []string{`"msg":"custom provider call"`, "charge outcome unknown", "could not be reached"} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("the server log lacks %q", want)
				}
			}
			for _, k := range []string{testAPIKey, liveAPIKey} {
				if strings.Contains(logs.String(), k) {
					t.Errorf("the server log holds an API key")
				}
			}
			checkNoSecretInEvents(t, s, testAPIKey, liveAPIKey)
			if !pg {
				checkNoSecretOnDisk(t, s, testAPIKey, liveAPIKey)
			}
		})
	}
}

// checkNoSecretInEvents fails if an event of the first account holds one
// of secrets.
func checkNoSecretInEvents(t *testing.T, s *testserver.Server, secrets ...string) {
	t.Helper()
	for _, m := range []tender.Mode{tender.ModeLive, tender.ModeTest} {
		sc := server.ScopeOf(s.Boot.OrganizationID, s.AccountID, m)
		var evs []*tender.Event
		if err := s.Store.Read(context.Background(), func(tx store.Tx) (err error) {
			evs, _, err = tx.ListEvents(context.Background(), sc, tender.Page{Limit: 1000}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		sawProvider := false
		for _, e := range evs {
			b, _ := json.Marshal(e)
			for _, sec := range secrets {
				if strings.Contains(string(b), sec) {
					t.Errorf("event %s (%s) holds an API key", e.ID, e.Type)
				}
			}
			sawProvider = sawProvider || e.Type == tender.EventCustomProviderConnected
		}
		if !sawProvider {
			t.Errorf("no %s event in %s mode", tender.EventCustomProviderConnected, m)
		}
	}
}
