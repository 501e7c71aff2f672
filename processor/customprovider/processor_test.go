package customprovider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/processor/customprovider"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/provider"
	"github.com/tenderpay/tender/store/sqlite"
)

const (
	testKey = "sk_test_0123456789abcdef"
	liveKey = "sk_live_fedcba9876543210"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// bundle is a provider service over SQLite, one location, and a processor
// routing to the location's provider.
type bundle struct {
	ctx       context.Context
	providers *provider.Service
	proc      *customprovider.Processor
	loc       tender.Scope
	logs      *lockedBuffer
}

func setup(t *testing.T, allowPrivate bool) *bundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	boot, err := account.New(st).CreateOrganization(ctx, "org")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := provider.New(st, []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	ps.AllowPrivate = true // URLs are checked at creation; the dial guard is the client's
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client := customprovider.NewClient(allowPrivate, 500*time.Millisecond, log)
	p := customprovider.New(sim.New(time.Second), ps, client, log)
	return &bundle{ctx: ctx, providers: ps, proc: p, logs: logs,
		loc: tender.Scope{OrganizationID: boot.OrganizationID, AccountID: boot.AccountID, Mode: tender.ModeLive}}
}

// connect makes queryURL the location's provider.
func (b *bundle) connect(t *testing.T, queryURL string) {
	t.Helper()
	yes := true
	if _, err := b.providers.CreateCustomProvider(b.ctx, b.loc, "app", provider.CustomProviderParams{Name: "P", Description: "D",
		PaymentsURL: "https://pay.example.com", QueryURL: queryURL, ImageURL: "https://pay.example.com/i.png",
		SupportsSubscriptionSchedule: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.providers.Connect(b.ctx, b.loc, "app", &provider.Keys{APIKey: liveKey, PublishableKey: "pk_l"},
		&provider.Keys{APIKey: testKey, PublishableKey: "pk_t"}); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) authorize(t *testing.T, key string, amount int64) processor.AuthResult {
	t.Helper()
	res, err := b.proc.Authorize(b.ctx, processor.AuthorizeParams{Key: key, Token: "simtok_card_ok_x", Amount: amount, Currency: "USD",
		Capture: true, AccountID: b.loc.AccountID, Mode: tender.ModeTest, PaymentMethodID: "pm_1", Description: "d"})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	return res
}

func TestRef(t *testing.T) {
	r := customprovider.Ref{ProviderID: "cprov_01abc", Mode: tender.ModeLive, TransactionID: "pmt_01x", Currency: "JPY", Amount: 1234,
		ChargeID: "ch:with:colons"}
	got, ok := customprovider.ParseRef(r.String())
	if !ok || got != r {
		t.Fatalf("ParseRef(%q) = %+v %v", r.String(), got, ok)
	}
	for _, s := range []string{"simch_abc", "", "cprov_x:live:pmt", "cprov_x:nope:pmt:USD:1:c", "cprov_x:live:pmt:USD:x:c"} {
		if _, ok := customprovider.ParseRef(s); ok || customprovider.IsRef(s) {
			t.Errorf("ParseRef(%q) accepted", s)
		}
	}
}

func TestSecretRedacted(t *testing.T) {
	ep := provider.Endpoint{ProviderID: "cprov_1", APIKey: provider.Secret(testKey)}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "ep", ep, "key", ep.APIKey)
	b, _ := json.Marshal(ep)
	for _, s := range []string{fmt.Sprint(ep), fmt.Sprintf("%+v %#v %s", ep, ep, ep.APIKey), string(b), buf.String()} {
		if strings.Contains(s, testKey) {
			t.Errorf("the key shows in %q", s)
		}
	}
	if ep.APIKey.Reveal() != testKey {
		t.Error("Reveal lost the key")
	}
}

func TestRouting(t *testing.T) {
	b := setup(t, true)
	// No account, or no provider connected: the sim answers.
	res, err := b.proc.Authorize(b.ctx, processor.AuthorizeParams{Key: "pmt_1", Token: "simtok_card_ok_x", Amount: 100, Currency: "USD"})
	if err != nil || res.Outcome != processor.Approved || customprovider.IsRef(res.Ref) {
		t.Fatalf("without an account: %+v %v", res, err)
	}
	if res := b.authorize(t, "pmt_2", 100); res.Outcome != processor.Approved || customprovider.IsRef(res.Ref) {
		t.Fatalf("without a provider: %+v", res)
	}
	fake := testserver.NewFakeProvider(t, testKey, liveKey)
	b.connect(t, fake.URL)
	res = b.authorize(t, "pmt_3", 1999)
	ref, ok := customprovider.ParseRef(res.Ref)
	if res.Outcome != processor.Approved || !ok || ref.Amount != 1999 || ref.Mode != tender.ModeTest || ref.TransactionID != "pmt_3" || ref.ChargeID == "" {
		t.Fatalf("through the provider: %+v (%+v)", res, ref)
	}
	if q := fake.QueriesOf("charge_payment"); len(q) != 1 || q[0]["amount"] != 19.99 || q[0]["apiKey"] != testKey {
		t.Errorf("charge_payment: %v", q)
	}
	// Live mode uses the live key.
	_, err = b.proc.Authorize(b.ctx, processor.AuthorizeParams{Key: "pmt_4", Amount: 100, Currency: "JPY", AccountID: b.loc.AccountID,
		Mode: tender.ModeLive})
	if q := fake.QueriesOf("charge_payment"); err != nil || len(q) != 2 || q[1]["apiKey"] != liveKey || q[1]["liveMode"] != true || q[1]["amount"] != 100.0 {
		t.Errorf("live charge: %v %v", q, err)
	}
	// A sim reference still goes to the sim.
	if err := b.proc.Capture(b.ctx, "k", "simch_abc", 100); err != nil {
		t.Errorf("sim capture: %v", err)
	}
	if strings.Contains(b.logs.String(), testKey) || strings.Contains(b.logs.String(), liveKey) {
		t.Error("a key reached the log")
	}
}

// answering returns a provider that answers every query with handler.
func answering(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

func TestAnswers(t *testing.T) {
	cases := []struct {
		name     string
		handler  http.HandlerFunc
		outcome  processor.Outcome
		decline  string
		chargeID string
	}{
		{"quoted booleans", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":"true","chargeId":"ch_1"}`)
		}, processor.Approved, "", "ch_1"},
		{"snapshot decides", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":true,"chargeSnapshot":{"id":"ch_2","status":"failed","amount":"10.00"}}`)
		}, processor.Declined, "card_declined", "ch_2"},
		{"snapshot pending", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"chargeSnapshot":{"id":7,"status":"pending"}}`)
		}, processor.Pending, "", "7"},
		{"401 refusal", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			io.WriteString(w, `{"message":"bad key `+testKey+`"}`)
		}, processor.Declined, "processor_refused", ""},
		{"redirect is a refusal", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example.com/", http.StatusFound)
		}, processor.Declined, "processor_refused", ""},
		// Unknown outcomes: verified (the same answer), so pending.
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, processor.Pending, "", ""},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }, processor.Pending, "", ""},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"success":true,"message":"`+strings.Repeat("x", customprovider.MaxResponseBytes)+`"}`)
		}, processor.Pending, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, true)
			b.connect(t, answering(t, c.handler).URL)
			res := b.authorize(t, "pmt_1", 500)
			ref, _ := customprovider.ParseRef(res.Ref)
			if res.Outcome != c.outcome || res.DeclineCode != c.decline || ref.ChargeID != c.chargeID {
				t.Errorf("got %+v (charge %q), want %s %q charge %q", res, ref.ChargeID, c.outcome, c.decline, c.chargeID)
			}
			if strings.Contains(res.ResponseText, testKey) || strings.Contains(b.logs.String(), testKey) {
				t.Errorf("the key leaks: %q", res.ResponseText)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Run("internal address refused by the dial guard", func(t *testing.T) {
		b := setup(t, false)
		fake := testserver.NewFakeProvider(t, testKey)
		b.connect(t, fake.URL)
		res := b.authorize(t, "pmt_1", 500)
		if res.Outcome != processor.Declined || res.DeclineCode != "processor_unavailable" || len(fake.Queries()) != 0 {
			t.Errorf("got %+v, %d queries", res, len(fake.Queries()))
		}
		if !strings.Contains(b.logs.String(), "internal address") {
			t.Errorf("the log does not say why: %s", b.logs.String())
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		b := setup(t, true)
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		b.connect(t, u)
		if res := b.authorize(t, "pmt_1", 500); res.Outcome != processor.Declined || res.DeclineCode != "processor_unavailable" {
			t.Errorf("got %+v", res)
		}
	})
}

func TestSettleCaptureVoid(t *testing.T) {
	b := setup(t, true)
	fake := testserver.NewFakeProvider(t, testKey)
	fake.ChargeOutcome = func(q testserver.ProviderQuery) (string, bool) { return "pending", false }
	b.connect(t, fake.URL)
	res := b.authorize(t, "pmt_1", 5000)
	if res.Outcome != processor.Pending || res.SettleAfter != customprovider.DefaultSettleAfter {
		t.Fatalf("pending: %+v", res)
	}
	if _, err := b.proc.Settle(b.ctx, res.Ref, ""); err == nil {
		t.Fatal("Settle of a still pending charge succeeded")
	}
	if err := b.proc.Capture(b.ctx, "pi:capture", res.Ref, 5000); tender.ErrorCode(err) != tender.EPROCESSOR {
		t.Errorf("capture of a pending charge: %v", err)
	}
	fake.SetChargeStatus("pmt_1", "succeeded")
	got, err := b.proc.Settle(b.ctx, res.Ref, "")
	if err != nil || got.Outcome != processor.Approved {
		t.Fatalf("Settle after success: %+v %v", got, err)
	}
	if err := b.proc.Capture(b.ctx, "pi:capture", got.Ref, 3000); err != nil {
		t.Fatalf("capture: %v", err)
	}
	if err := b.proc.Void(b.ctx, "pi:void", got.Ref); err != nil {
		t.Fatalf("void: %v", err)
	}
	c := fake.Charge("pmt_1")
	if c == nil || strings.Join(c.Refunded, ",") != "20,50" {
		t.Errorf("refunds: %+v", c)
	}
	refunds := fake.QueriesOf("refund")
	if len(refunds) != 2 || refunds[0]["refundId"] != "pi:capture" || refunds[1]["refundId"] != "pi:void" {
		t.Errorf("refund ids: %v", refunds)
	}
	// A deleted provider's payments can no longer be acted on.
	if err := b.providers.DeleteCustomProvider(b.ctx, b.loc, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.proc.Refund(b.ctx, "re_1", got.Ref, 100); tender.ErrorCode(err) != tender.EPROCESSOR {
		t.Errorf("refund through a deleted provider: %v", err)
	}
}

func TestMethodsAndSubscriptions(t *testing.T) {
	b := setup(t, true)
	if _, err := b.proc.ListPaymentMethods(b.ctx, b.loc.AccountID, tender.ModeTest, "contact_1"); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("without a provider: %v", err)
	}
	fake := testserver.NewFakeProvider(t, testKey)
	b.connect(t, fake.URL)
	pms, err := b.proc.ListPaymentMethods(b.ctx, b.loc.AccountID, tender.ModeTest, "contact_1")
	if err != nil || len(pms) != 1 || pms[0].ID != "pm_fake_1" || pms[0].CustomerID != "cus_contact_1" || pms[0].SubTitle != "**** 4242" {
		t.Errorf("payment methods: %+v %v", pms, err)
	}
	if q := fake.QueriesOf("list_payment_methods"); len(q) != 1 || q[0]["contactId"] != "contact_1" || q[0]["apiKey"] != testKey {
		t.Errorf("list_payment_methods query: %v", q)
	}
	if _, err := b.proc.ListPaymentMethods(b.ctx, b.loc.AccountID, tender.ModeTest, ""); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("without a contact: %v", err)
	}

	sub, err := b.proc.CreateSubscription(b.ctx, b.loc.AccountID, tender.ModeTest, customprovider.SubscriptionParams{SubscriptionID: "sub_1",
		TransactionID: "pmt_9", ContactID: "contact_1", PaymentMethodID: "pm_fake_1", Amount: 1050, Currency: "USD", Interval: "month",
		IntervalCount: 1, StartDate: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil || !sub.Succeeded || sub.Status != "active" || sub.ProviderSubscriptionID != "sub_fake_sub_1" {
		t.Errorf("create_subscription: %+v %v", sub, err)
	}
	q := fake.QueriesOf("create_subscription")
	if len(q) != 1 || q[0]["amount"] != 10.5 || q[0]["startDate"] != "2025-01-02" {
		t.Errorf("create_subscription query: %v", q)
	}
	if sched, _ := q[0]["recurringSchedule"].(map[string]any); sched["interval"] != "month" || sched["intervalCount"] != 1.0 {
		t.Errorf("recurringSchedule: %v", q[0]["recurringSchedule"])
	}
	if _, err := b.proc.CreateSubscription(b.ctx, b.loc.AccountID, tender.ModeTest, customprovider.SubscriptionParams{Amount: 1, Interval: "fortnight"}); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("bad subscription params: %v", err)
	}
	can, err := b.proc.CancelSubscription(b.ctx, b.loc.AccountID, tender.ModeTest, customprovider.CancelParams{SubscriptionID: "sub_1", ProviderSubscriptionID: sub.ProviderSubscriptionID})
	if err != nil || !can.Succeeded || can.Status != "canceled" {
		t.Errorf("cancel_subscription: %+v %v", can, err)
	}
	if q := fake.QueriesOf("cancel_subscription"); len(q) != 1 || q[0]["providerSubscriptionId"] != "sub_fake_sub_1" {
		t.Errorf("cancel_subscription query: %v", q)
	}
}
