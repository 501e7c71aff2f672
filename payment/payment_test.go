package payment_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlite"
)

type bundle struct {
	ctx context.Context
	st  store.Store
	svc *payment.Service
	sc  tender.Scope
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &bundle{ctx: ctx, st: st, svc: payment.New(st, sim.New(time.Millisecond), []byte("0123456789abcdef0123456789abcdef")),
		sc: tender.Scope{OrganizationID: "org_1", AccountID: "acct_1", Mode: tender.ModeTest}}
}

// eventTypes lists the scope's events, oldest first, as "type object_id".
func (b *bundle) eventTypes(t *testing.T) []string {
	t.Helper()
	var evs []*tender.Event
	err := b.st.Read(b.ctx, func(tx store.Tx) (err error) {
		evs, _, err = tx.ListEvents(b.ctx, b.sc, tender.Page{Limit: 100}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Type)
	}
	return out
}

func (b *bundle) card(t *testing.T, number string) *tender.PaymentMethod {
	t.Helper()
	pm, err := b.svc.CreatePaymentMethod(b.ctx, b.sc, payment.PaymentMethodParams{Type: tender.MethodCard,
		Card: &processor.CardInput{Number: number, ExpMonth: 12, ExpYear: time.Now().Year() + 2}})
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestEvents_RecordedWithEachChange(t *testing.T) {
	b := setup(t)
	pm := b.card(t, "4242424242424242")
	noCapture := false
	pi, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: 1000, Capture: &noCapture})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Pay(b.ctx, b.sc, pi.ID, payment.PayParams{PaymentMethodID: pm.ID}); err != nil {
		t.Fatal(err)
	}
	amt := int64(600)
	if _, err := b.svc.Capture(b.ctx, b.sc, pi.ID, &amt); err != nil {
		t.Fatal(err)
	}
	part := int64(100)
	if _, err := b.svc.Refund(b.ctx, b.sc, pi.ID, payment.RefundParams{Amount: &part}); err != nil {
		t.Fatal(err)
	}
	// Failing commands record nothing.
	if _, err := b.svc.Capture(b.ctx, b.sc, pi.ID, nil); tender.ErrorCode(err) != tender.ECONFLICT {
		t.Fatalf("second capture: %v", err)
	}
	huge := int64(10_000)
	if _, err := b.svc.Refund(b.ctx, b.sc, pi.ID, payment.RefundParams{Amount: &huge}); tender.ErrorCode(err) != tender.EINVALID {
		t.Fatalf("refund over the captured amount: %v", err)
	}
	want := []string{
		tender.EventPaymentMethodCreated,
		tender.EventPaymentIntentCreated,
		tender.EventPaymentCreated, tender.EventPaymentIntentUpdated,
		tender.EventPaymentCaptured, tender.EventPaymentIntentCaptured,
		tender.EventRefundCreated, tender.EventPaymentRefunded,
	}
	if got := b.eventTypes(t); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	// The snapshot is the object as the change left it.
	var evs []*tender.Event
	_ = b.st.Read(b.ctx, func(tx store.Tx) (err error) {
		evs, _, err = tx.ListEvents(b.ctx, b.sc, tender.Page{Limit: 1}, []string{tender.EventPaymentIntentCaptured})
		return err
	})
	if len(evs) != 1 || evs[0].ObjectID != pi.ID || evs[0].ObjectType != "payment_intent" ||
		!strings.Contains(string(evs[0].Object), `"amount_captured":600`) {
		t.Fatalf("captured event: %+v", evs)
	}
}

func TestEvents_NoProcessorToken(t *testing.T) {
	b := setup(t)
	pm := b.card(t, "4242424242424242")
	if pm.ProcessorToken == "" {
		t.Fatal("the payment method has no processor token to leak")
	}
	var evs []*tender.Event
	if err := b.st.Read(b.ctx, func(tx store.Tx) (err error) {
		evs, _, err = tx.ListEvents(b.ctx, b.sc, tender.Page{Limit: 10}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Type != tender.EventPaymentMethodCreated {
		t.Fatalf("events: %+v", evs)
	}
	if strings.Contains(string(evs[0].Object), pm.ProcessorToken) {
		t.Fatalf("the event snapshot holds the processor token: %s", evs[0].Object)
	}
}

func TestEvents_DeclineAndBank(t *testing.T) {
	b := setup(t)
	declined := b.card(t, "4000000000000002")
	pi, err := b.svc.CreatePaymentIntent(b.ctx, b.sc, payment.IntentParams{Amount: 500})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Pay(b.ctx, b.sc, pi.ID, payment.PayParams{PaymentMethodID: declined.ID}); err != nil {
		t.Fatal(err)
	}
	got := b.eventTypes(t)
	want := []string{tender.EventPaymentMethodCreated, tender.EventPaymentIntentCreated,
		tender.EventPaymentCreated, tender.EventPaymentFailed, tender.EventPaymentIntentFailed}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}
