package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/ledger"
)

var t0 = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)

func posting(amount, fee int64) ledger.Posting {
	return ledger.Posting{AccountID: "acct_1", Mode: tender.ModeTest, Currency: "USD", Amount: amount, Fee: fee,
		SourceID: "src_1", RootSourceID: "pi_1", AvailableAt: t0.Add(48 * time.Hour), At: t0}
}

// entries renders a transaction's entries as "type amount".
func entries(l *tender.LedgerTransaction) []string {
	var out []string
	for _, e := range l.Entries {
		out = append(out, fmt.Sprintf("%s %d", e.Type, e.Amount))
	}
	return out
}

func TestBuild_Rules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind             string
		amount, fee      int64
		want             []string
		gross, gfee, net int64
		pending          int64
		settles          bool
		sourceType       string
	}{
		{ledger.KindPayment, 1000, 59, []string{"processor -1000", "merchant_pending 941", "platform_fees 59"}, 1000, 59, 941, 941, true, "payment"},
		{ledger.KindRefund, 250, 0, []string{"processor 250", "merchant_pending -250"}, -250, 0, -250, -250, true, "refund"},
		{ledger.KindExternalPayment, 500, 0, []string{"external -500", "merchant_pending 500"}, 500, 0, 500, 500, true, "payment"},
		{ledger.KindExternalRefund, 500, 0, []string{"external 500", "merchant_pending -500"}, -500, 0, -500, -500, true, "refund"},
		{ledger.KindSettlement, -40, 0, []string{"merchant_pending 40", "merchant_available -40"}, 0, 0, 0, 40, false, ""},
		{ledger.KindAdjustment, -75, 0, []string{"adjustments 75", "merchant_available -75"}, -75, 0, -75, 0, false, "adjustment"},
		{ledger.KindDisputeOpened, 1000, 1500, []string{"merchant_available -2500", "dispute_reserve 2500"}, -1000, 1500, -2500, 0, false, "dispute"},
		{ledger.KindDisputeWon, 1000, 1500, []string{"dispute_reserve -2500", "merchant_available 2500"}, 1000, -1500, 2500, 0, false, "dispute"},
		{ledger.KindDisputeLost, 1000, 1500, []string{"dispute_reserve -2500", "processor 1000", "platform_fees 1500"}, 0, 0, 0, 0, false, "dispute"},
		{ledger.KindPayout, 9000, 25, []string{"merchant_available -9025", "payouts_in_transit 9000", "platform_fees 25"}, -9000, 25, -9025, 0, false, "payout"},
		{ledger.KindPayoutPaid, 9000, 0, []string{"payouts_in_transit -9000", "paid_out 9000"}, 0, 0, 0, 0, false, ""},
		{ledger.KindPayoutReturned, 9000, 0, []string{"payouts_in_transit -9000", "merchant_available 9000"}, 9000, 0, 9000, 0, false, "payout"},
		{ledger.KindPayoutCancelled, 9000, 0, []string{"payouts_in_transit -9000", "merchant_available 9000"}, 9000, 0, 9000, 0, false, "payout"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.kind] = true
		l, err := ledger.Build(tt.kind, posting(tt.amount, tt.fee))
		if err != nil {
			t.Errorf("%s: %v", tt.kind, err)
			continue
		}
		if d := cmp.Diff(tt.want, entries(l)); d != "" {
			t.Errorf("%s entries mismatch (-want +got):\n%s", tt.kind, d)
		}
		got := [4]int64{l.Amount, l.Fee, l.Net, l.Pending}
		if want := [4]int64{tt.gross, tt.gfee, tt.net, tt.pending}; got != want {
			t.Errorf("%s amount, fee, net, pending = %v, want %v", tt.kind, got, want)
		}
		if l.SourceType != tt.sourceType {
			t.Errorf("%s source type = %q, want %q", tt.kind, l.SourceType, tt.sourceType)
		}
		if settles := l.SettlementStatus == tender.Unsettled; settles != tt.settles {
			t.Errorf("%s settlement status = %s", tt.kind, l.SettlementStatus)
		}
		if tt.settles && (l.AvailableAt == nil || !l.AvailableAt.Equal(t0.Add(48*time.Hour)) || l.SettledAt != nil) {
			t.Errorf("%s: available at %v, settled at %v", tt.kind, l.AvailableAt, l.SettledAt)
		}
		// Created (and settled, when at once) at the time in the id: At, or
		// later when this process made later ids before.
		if at, _ := tender.IDTime(l.ID, tender.PrefixLedgerTransaction); !l.CreatedAt.Equal(at) || l.CreatedAt.Before(t0) {
			t.Errorf("%s: created at %v, id time %v, posted at %v", tt.kind, l.CreatedAt, at, t0)
		}
		if !tt.settles && (l.SettledAt == nil || !l.SettledAt.Equal(l.CreatedAt)) {
			t.Errorf("%s: settled at %v, want its creation %v", tt.kind, l.SettledAt, l.CreatedAt)
		}
		if !tender.HasPrefix(l.ID, tender.PrefixLedgerTransaction) || l.RootSourceID != "pi_1" || l.SourceID != "src_1" {
			t.Errorf("%s: id %s, source %s, root %s", tt.kind, l.ID, l.SourceID, l.RootSourceID)
		}
	}
	for _, k := range ledger.Kinds() {
		if !seen[k] {
			t.Errorf("kind %s has no case here", k)
		}
	}
}

func TestBuild_Errors(t *testing.T) {
	t.Parallel()
	p := posting(100, 0)
	noTime := p
	noTime.AvailableAt = time.Time{}
	noAcct := p
	noAcct.AccountID = ""
	tests := []struct {
		name, kind string
		p          ledger.Posting
		field      string
	}{
		{"unknown kind", "gift", p, ""},
		{"zero payment", ledger.KindPayment, posting(0, 0), "amount"},
		{"negative refund", ledger.KindRefund, posting(-5, 0), "amount"},
		{"zero adjustment", ledger.KindAdjustment, posting(0, 0), "amount"},
		{"negative fee", ledger.KindPayment, posting(100, -1), "fee"},
		{"fee above amount", ledger.KindPayment, posting(100, 101), "fee"},
		{"too large", ledger.KindPayment, posting(tender.MaxAmount+1, 0), "amount"},
		{"no available time", ledger.KindPayment, noTime, ""},
		{"no account", ledger.KindPayment, noAcct, ""},
	}
	for _, tt := range tests {
		_, err := ledger.Build(tt.kind, tt.p)
		if tender.ErrorCode(err) != tender.EINVALID {
			t.Errorf("%s: err %v, want EINVALID", tt.name, err)
			continue
		}
		if tt.field != "" && tender.ErrorFields(err)[tt.field] == "" {
			t.Errorf("%s: err %v does not name %s", tt.name, err, tt.field)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	l, err := ledger.Build(ledger.KindPayment, posting(1000, 30))
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Validate(l); err != nil {
		t.Fatalf("a built transaction: %v", err)
	}
	bad := *l
	bad.Entries = append([]tender.LedgerEntry(nil), l.Entries...)
	bad.Entries[0].Amount++
	if err := ledger.Validate(&bad); tender.ErrorCode(err) != tender.EINTERNAL {
		t.Errorf("unbalanced: %v", err)
	}
	bad = *l
	bad.Net++
	if err := ledger.Validate(&bad); err == nil {
		t.Error("a wrong net passed")
	}
	bad = *l
	bad.Entries = []tender.LedgerEntry{{Type: "nowhere", Amount: 1}, {Type: ledger.Processor, Amount: -1}}
	if err := ledger.Validate(&bad); err == nil {
		t.Error("an unknown account type passed")
	}
	bad = *l
	bad.Entries = nil
	if err := ledger.Validate(&bad); err == nil {
		t.Error("no entries passed")
	}
	// Two currencies, each balanced, pass; one unbalanced does not.
	fx := &tender.LedgerTransaction{ID: "txn_fx", Entries: []tender.LedgerEntry{
		{Type: ledger.Processor, Currency: "USD", Amount: -100}, {Type: ledger.Adjustments, Currency: "USD", Amount: 100},
		{Type: ledger.Processor, Currency: "CAD", Amount: -130}, {Type: ledger.Adjustments, Currency: "CAD", Amount: 129},
	}}
	if err := ledger.Validate(fx); err == nil {
		t.Error("an unbalanced CAD side passed")
	}
	// Overflowing sums are refused, not wrapped.
	of := &tender.LedgerTransaction{ID: "txn_of", Entries: []tender.LedgerEntry{
		{Type: ledger.Processor, Currency: "USD", Amount: 1 << 62}, {Type: ledger.Processor, Currency: "USD", Amount: 1 << 62},
		{Type: ledger.Adjustments, Currency: "USD", Amount: -(1 << 62)}, {Type: ledger.Adjustments, Currency: "USD", Amount: -(1 << 62)},
	}}
	if err := ledger.Validate(of); err == nil {
		t.Error("an overflowing transaction passed")
	}
}

func TestChart(t *testing.T) {
	t.Parallel()
	floor := map[string]bool{}
	for _, f := range ledger.Floor() {
		floor[f] = true
	}
	want := map[string]bool{ledger.PlatformFees: true, ledger.DisputeReserve: true, ledger.PayoutsInTransit: true, ledger.PaidOut: true}
	if d := cmp.Diff(want, floor); d != "" {
		t.Errorf("floor mismatch (-want +got):\n%s", d)
	}
	// Every rule posts only to accounts of the chart, and balances.
	for _, k := range ledger.Kinds() {
		l, err := ledger.Build(k, posting(100, 10))
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		for _, e := range l.Entries {
			if _, ok := ledger.Type(e.Type); !ok {
				t.Errorf("%s posts to %s, not in the chart", k, e.Type)
			}
		}
	}
}

func TestFee(t *testing.T) {
	t.Parallel()
	flat := ledger.DefaultPlan("acct_x")
	ic := *flat
	ic.PlanType, ic.Card = tender.PlanInterchangePlus, tender.FeeRate{BPS: 30, Fixed: 5}
	tests := []struct {
		name   string
		plan   *tender.ProcessingPlan
		m      ledger.Method
		amount int64
		want   int64
	}{
		{"flat card", flat, ledger.Method{Type: "card", Brand: "visa"}, 1000, 59}, // 29 + 30
		{"flat card rounds half up", flat, ledger.Method{Type: "card"}, 50, 31},   // 1.45 → 1, +30
		{"flat card half", flat, ledger.Method{Type: "card"}, 1724, 80},           // 49.996 → 50, +30
		{"flat card small", flat, ledger.Method{Type: "card"}, 20, 20},            // capped at the amount
		{"bank", flat, ledger.Method{Type: "bank"}, 10000, 80},                    // 0.8%
		{"bank capped", flat, ledger.Method{Type: "bank"}, 1_000_000, 500},        // cap 500
		{"ic+ visa", &ic, ledger.Method{Type: "card", Brand: "visa"}, 10000, 180 + 10 + 30 + 5},
		{"ic+ amex", &ic, ledger.Method{Type: "card", Brand: "AMEX"}, 10000, 250 + 10 + 30 + 5},
		{"ic+ unknown brand", &ic, ledger.Method{Type: "card", Brand: "jcb"}, 10000, 200 + 10 + 30 + 5},
		{"ic+ bank uses the bank rate", &ic, ledger.Method{Type: "bank"}, 10000, 80},
		{"zero", flat, ledger.Method{Type: "card"}, 0, 0},
		{"largest", flat, ledger.Method{Type: "card"}, tender.MaxAmount, tender.MaxAmount/10000*290 + 30},
	}
	for _, tt := range tests {
		got, err := ledger.Fee(tt.plan, tt.m, tt.amount)
		if err != nil || got != tt.want {
			t.Errorf("%s: Fee = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if err := ledger.ValidatePlan(&tender.ProcessingPlan{PlanType: "CHEAP", Card: tender.FeeRate{BPS: -1}}); len(tender.ErrorFields(err)) != 2 {
		t.Errorf("ValidatePlan of a bad plan: %v", err)
	}
	if err := ledger.ValidatePlan(flat); err != nil {
		t.Errorf("ValidatePlan of the default: %v", err)
	}
}

func ExampleBuild() {
	l, _ := ledger.Build(ledger.KindPayment, ledger.Posting{AccountID: "acct_1", Mode: tender.ModeTest, Currency: "USD",
		Amount: 1000, Fee: 59, SourceID: "pmt_1", RootSourceID: "pi_1", AvailableAt: t0.Add(48 * time.Hour), At: t0})
	for _, e := range l.Entries {
		fmt.Println(e.Type, e.Amount)
	}
	fmt.Println("net", l.Net, l.SettlementStatus)
	// Output:
	// processor -1000
	// merchant_pending 941
	// platform_fees 59
	// net 941 unsettled
}
