// Package ledger is tender's double-entry ledger: the chart of accounts, the
// entry kinds and the rule each follows, processing fees, settlement and the
// checks of `tender ledger verify`.
//
// # Chart of accounts
//
// Every merchant account has, per mode and currency, the ledger accounts of
// Chart. A ledger account's balance is the sum of its entries; a positive
// balance is money the account holds. Money enters the ledger from the
// clearing accounts (Processor, External) and leaves it through them or
// through PaidOut, so those may be negative; holding accounts
// (DisputeReserve, PayoutsInTransit, PaidOut, PlatformFees) never are.
//
// # Entry kinds
//
// Each ledger transaction has a kind, and the kind's Rule fixes its
// entries from an amount and a fee (see Rules and docs/ledger.md):
//
//	payment           processor −A, merchant_pending +(A−F), platform_fees +F
//	refund            processor +A, merchant_pending −A        (the fee is kept)
//	external_payment  external −A, merchant_pending +(A−F), platform_fees +F
//	external_refund   external +A, merchant_pending −A
//	settlement        merchant_pending −P, merchant_available +P
//	adjustment        adjustments −A, merchant_available +A    (A may be negative)
//	dispute_opened    merchant_available −(A+F), dispute_reserve +(A+F)
//	dispute_won       dispute_reserve −(A+F), merchant_available +(A+F)
//	dispute_lost      dispute_reserve −(A+F), processor +A, platform_fees +F
//	payout            merchant_available −(A+F), payouts_in_transit +A, platform_fees +F
//	payout_paid       payouts_in_transit −A, paid_out +A
//	payout_returned   payouts_in_transit −A, merchant_available +A
//	payout_cancelled  payouts_in_transit −A, merchant_available +A
//
// Transactions that credit or debit merchant_pending are unsettled until the
// account's settlement delay has passed; then a settlement transaction moves
// their pending amounts to merchant_available (Service.Settle). Every other
// transaction is settled when it is made.
//
// # Posting
//
// Build makes a transaction of a kind; Service.Post checks that it balances
// and writes it with its entries in the caller's store transaction, so the
// ledger changes exactly when the state change that caused it commits.
package ledger

import (
	"fmt"
	"slices"
	"time"

	"github.com/tenderpay/tender"
)

// Ledger account types: the chart of accounts of every merchant account,
// mode and currency.
const (
	// Processor is the processor's clearing account: card and bank money
	// collected through tender's processor enters here, and refunds and
	// lost disputes leave through it. It is negative while the processor
	// has collected more for the merchant than it returned.
	Processor = "processor"
	// External is the clearing account of payments recorded from other
	// gateways (external payments and refunds).
	External = "external"
	// MerchantPending holds the merchant's money that is not yet settled.
	MerchantPending = "merchant_pending"
	// MerchantAvailable holds the merchant's settled money, which payouts
	// pay out.
	MerchantAvailable = "merchant_available"
	// PlatformFees holds the fees the platform earned from the merchant.
	PlatformFees = "platform_fees"
	// DisputeReserve holds the amount and fee of open disputes.
	DisputeReserve = "dispute_reserve"
	// PayoutsInTransit holds payouts on their way to the merchant's bank.
	PayoutsInTransit = "payouts_in_transit"
	// PaidOut is the merchant's bank account: payouts that arrived.
	PaidOut = "paid_out"
	// Adjustments is the platform's side of manual adjustments.
	Adjustments = "adjustments"
)

// AccountType describes one ledger account type of the chart.
type AccountType struct {
	Name string
	// MayBeNegative tells whether a balance below zero is legitimate.
	MayBeNegative bool
	// Merchant marks the merchant's own balances (pending and available),
	// whose sum is the merchant's balance.
	Merchant bool
	Doc      string
}

// Chart is the chart of accounts.
var Chart = []AccountType{
	{Processor, true, false, "processor clearing: money collected by tender's processor enters here; refunds and lost disputes go back through it"},
	{External, true, false, "clearing of payments recorded from other gateways"},
	{MerchantPending, true, true, "the merchant's money awaiting settlement; negative when refunds of settled payments exceed new payments"},
	{MerchantAvailable, true, true, "the merchant's settled money, paid out by payouts; negative when refunds, disputes or adjustments exceed it"},
	{PlatformFees, false, false, "processing, dispute and payout fees earned from the merchant"},
	{DisputeReserve, false, false, "amount and fee of open disputes, held until the dispute is won or lost"},
	{PayoutsInTransit, false, false, "payouts sent and not yet paid or returned"},
	{PaidOut, false, false, "payouts that reached the merchant's bank"},
	{Adjustments, true, false, "the platform's side of manual adjustments"},
}

// Type returns the chart's entry for name.
func Type(name string) (AccountType, bool) {
	for _, t := range Chart {
		if t.Name == name {
			return t, true
		}
	}
	return AccountType{}, false
}

// MayBeNegative reports whether a balance of type name may be below zero.
// Unknown types may not.
func MayBeNegative(name string) bool {
	t, ok := Type(name)
	return ok && t.MayBeNegative
}

// Floor lists the types whose balances may never go below zero; the store
// refuses a posting that would take one there.
func Floor() []string {
	var out []string
	for _, t := range Chart {
		if !t.MayBeNegative {
			out = append(out, t.Name)
		}
	}
	return out
}

var floor = Floor()

// Entry kinds.
const (
	KindPayment         = "payment"
	KindRefund          = "refund"
	KindExternalPayment = "external_payment"
	KindExternalRefund  = "external_refund"
	KindSettlement      = "settlement"
	KindAdjustment      = "adjustment"
	KindDisputeOpened   = "dispute_opened"
	KindDisputeWon      = "dispute_won"
	KindDisputeLost     = "dispute_lost"
	KindPayout          = "payout"
	KindPayoutPaid      = "payout_paid"
	KindPayoutReturned  = "payout_returned"
	KindPayoutCancelled = "payout_cancelled"
)

// Forward source types (the merchant-facing kind of a transaction).
const (
	SourcePayment    = "payment"
	SourceRefund     = "refund"
	SourceAdjustment = "adjustment"
	SourceDispute    = "dispute"
	SourcePayout     = "payout"
)

// SourceTypes is Forward's source_type enum; a search may filter on any of
// them, though tender makes only some.
var SourceTypes = []string{"adjustment", "checkout_session", "dispute", "fee", "fee_refund", "funding", "payment",
	"payment_intent", "payment_method", "payment_refund", "payout", "refund", "refund_failure", "transfer",
	"transfer_refund", "reversal"}

// leg is one entry of a rule: an account type and its amount.
type leg struct {
	typ    string
	amount int64
}

// Rule is how one entry kind posts.
type Rule struct {
	// SourceType is the Forward source_type, "" for internal transactions.
	SourceType string
	// Settles tells whether the transaction waits for settlement (it moves
	// merchant_pending).
	Settles bool
	// SignedAmount allows a negative amount (adjustments, settlements).
	SignedAmount bool
	// legs returns the entries for amount a and fee f, and the merchant-side
	// gross amount and fee of the transaction.
	legs func(a, f int64) (legs []leg, gross, fee int64)
}

// Rules maps each entry kind to its rule.
var Rules = map[string]Rule{
	KindPayment: {SourcePayment, true, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{Processor, -a}, {MerchantPending, a - f}, {PlatformFees, f}}, a, f
	}},
	KindRefund: {SourceRefund, true, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{Processor, a}, {MerchantPending, -a}}, -a, 0
	}},
	KindExternalPayment: {SourcePayment, true, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{External, -a}, {MerchantPending, a - f}, {PlatformFees, f}}, a, f
	}},
	KindExternalRefund: {SourceRefund, true, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{External, a}, {MerchantPending, -a}}, -a, 0
	}},
	KindSettlement: {"", false, true, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{MerchantPending, -a}, {MerchantAvailable, a}}, 0, 0
	}},
	KindAdjustment: {SourceAdjustment, false, true, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{Adjustments, -a}, {MerchantAvailable, a}}, a, 0
	}},
	KindDisputeOpened: {SourceDispute, false, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{MerchantAvailable, -(a + f)}, {DisputeReserve, a + f}}, -a, f
	}},
	KindDisputeWon: {SourceDispute, false, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{DisputeReserve, -(a + f)}, {MerchantAvailable, a + f}}, a, -f
	}},
	KindDisputeLost: {SourceDispute, false, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{DisputeReserve, -(a + f)}, {Processor, a}, {PlatformFees, f}}, 0, 0
	}},
	KindPayout: {SourcePayout, false, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{MerchantAvailable, -(a + f)}, {PayoutsInTransit, a}, {PlatformFees, f}}, -a, f
	}},
	KindPayoutPaid: {"", false, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{PayoutsInTransit, -a}, {PaidOut, a}}, 0, 0
	}},
	KindPayoutReturned: {SourcePayout, false, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{PayoutsInTransit, -a}, {MerchantAvailable, a}}, a, 0
	}},
	KindPayoutCancelled: {SourcePayout, false, false, func(a, f int64) ([]leg, int64, int64) {
		return []leg{{PayoutsInTransit, -a}, {MerchantAvailable, a}}, a, 0
	}},
}

// Kinds returns every entry kind, sorted.
func Kinds() []string {
	out := make([]string, 0, len(Rules))
	for k := range Rules {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Posting is what Build needs to make a ledger transaction.
type Posting struct {
	AccountID string
	Mode      tender.Mode
	Currency  tender.Currency
	// Amount is the amount the kind moves (positive; an adjustment or a
	// settlement may be negative), Fee the fee it charges (zero or positive).
	Amount int64
	Fee    int64
	// SourceID is the object that caused the posting; RootSourceID the
	// object it belongs to (defaults to SourceID).
	SourceID     string
	RootSourceID string
	Description  string
	// AvailableAt is when an unsettled transaction's pending amount becomes
	// available (required for kinds that settle).
	AvailableAt time.Time
	// At is the transaction's time (the store transaction's Now).
	At time.Time
}

// Build returns the ledger transaction of kind for p, with its entries. It
// returns EINVALID for an unknown kind, a negative fee, an amount out of
// range for the kind, or a fee above the amount.
func Build(kind string, p Posting) (*tender.LedgerTransaction, error) {
	r, ok := Rules[kind]
	if !ok {
		return nil, tender.Errorf(tender.EINVALID, "unknown ledger entry kind %q", kind)
	}
	switch {
	case p.Fee < 0:
		return nil, tender.FieldError("fee", "must not be negative")
	case p.Amount > tender.MaxAmount || p.Amount < -tender.MaxAmount || p.Fee > tender.MaxAmount:
		return nil, tender.FieldError("amount", fmt.Sprintf("must be at most %d in size", tender.MaxAmount))
	case !r.SignedAmount && p.Amount <= 0:
		return nil, tender.FieldError("amount", "must be greater than 0")
	case r.SignedAmount && p.Amount == 0:
		return nil, tender.FieldError("amount", "must not be 0")
	case (kind == KindPayment || kind == KindExternalPayment) && p.Fee > p.Amount:
		return nil, tender.FieldError("fee", "must not exceed the amount")
	case p.AccountID == "" || !p.Mode.Valid() || p.Currency == "":
		return nil, tender.Errorf(tender.EINVALID, "a posting needs an account, a mode and a currency")
	case r.Settles && p.AvailableAt.IsZero():
		return nil, tender.Errorf(tender.EINVALID, "a %s posting needs the time it becomes available", kind)
	}
	legs, gross, fee := r.legs(p.Amount, p.Fee)
	root := p.RootSourceID
	if root == "" {
		root = p.SourceID
	}
	// A transaction's creation time is the time in its id (p.At to the
	// millisecond, or a little later when the process's clock stepped
	// back), so that creation-time filters are id ranges.
	id := tender.NewID(tender.PrefixLedgerTransaction, p.At)
	at, _ := tender.IDTime(id, tender.PrefixLedgerTransaction)
	t := &tender.LedgerTransaction{ID: id, AccountID: p.AccountID, Mode: p.Mode,
		Kind: kind, SourceType: r.SourceType, SourceID: p.SourceID, RootSourceID: root, Currency: p.Currency,
		Amount: gross, Fee: fee, Description: p.Description, CreatedAt: at, UpdatedAt: at,
		Entries: make([]tender.LedgerEntry, 0, len(legs))}
	for _, l := range legs {
		if l.amount == 0 {
			continue
		}
		t.Entries = append(t.Entries, tender.LedgerEntry{AccountID: p.AccountID, Type: l.typ, Currency: p.Currency, Amount: l.amount})
		if l.typ == MerchantPending {
			t.Pending += l.amount
		}
	}
	t.Net = merchantNet(t)
	if r.Settles {
		avail := p.AvailableAt
		t.SettlementStatus, t.AvailableAt = tender.Unsettled, &avail
	} else {
		t.SettlementStatus, t.SettledAt = tender.Settled, &at
	}
	return t, Validate(t)
}

// merchantNet sums t's entries on the merchant's own balances.
func merchantNet(t *tender.LedgerTransaction) int64 {
	var n int64
	for _, e := range t.Entries {
		if e.Type == MerchantPending || e.Type == MerchantAvailable {
			n += e.Amount
		}
	}
	return n
}

// Validate checks the invariants of one transaction: it has entries on
// known account types, they sum to zero in every currency without
// overflow, and Net is the change of the merchant's balances. It returns
// EINTERNAL otherwise: a transaction that does not balance is a bug.
func Validate(t *tender.LedgerTransaction) error {
	if len(t.Entries) == 0 {
		return tender.Errorf(tender.EINTERNAL, "ledger transaction %s has no entries", t.ID)
	}
	sums := make(map[tender.Currency]int64, 1)
	for _, e := range t.Entries {
		if _, ok := Type(e.Type); !ok {
			return tender.Errorf(tender.EINTERNAL, "ledger transaction %s posts to unknown account type %q", t.ID, e.Type)
		}
		s, err := tender.AddAmounts(sums[e.Currency], e.Amount)
		if err != nil {
			return tender.Errorf(tender.EINTERNAL, "ledger transaction %s overflows", t.ID)
		}
		sums[e.Currency] = s
	}
	for c, s := range sums {
		if s != 0 {
			return tender.Errorf(tender.EINTERNAL, "ledger transaction %s does not balance in %s: entries sum to %d", t.ID, c, s)
		}
	}
	if n := merchantNet(t); n != t.Net {
		return tender.Errorf(tender.EINTERNAL, "ledger transaction %s has net %d but moves the merchant's balance by %d", t.ID, t.Net, n)
	}
	return nil
}
