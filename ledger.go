package tender

import "time"

// LedgerTransaction is one balanced movement of money in the double-entry
// ledger: its entries (postings) sum to zero in every currency. It is written
// in the same store transaction as the state change that causes it, and its
// entries are never updated or deleted; a correction is a new transaction.
//
// Amount, Fee and Net describe the transaction from the merchant's side:
// Amount is the gross change (a payment is positive, a refund negative), Fee
// what the platform kept, and Net = Amount − Fee, the change of the merchant's
// balance (pending plus available). Package ledger holds the rules that build
// transactions; this type only carries them.
type LedgerTransaction struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Mode      Mode   `json:"mode"`
	// Kind is the entry kind (ledger.KindPayment, …), which fixes the rule
	// its entries follow.
	Kind string `json:"kind"`
	// SourceType is the Forward source_type of the transaction ("payment",
	// "refund", …), or "" for internal transactions (settlements) that the
	// merchant-facing lists leave out.
	SourceType string `json:"source_type,omitempty"`
	// SourceID is the object that caused the transaction (a payment, refund,
	// dispute, payout or adjustment id); RootSourceID the object it belongs
	// to (the payment intent of a payment or refund), or SourceID.
	SourceID     string   `json:"source_id,omitempty"`
	RootSourceID string   `json:"root_source_id,omitempty"`
	Currency     Currency `json:"currency"`
	Amount       int64    `json:"amount"`
	Fee          int64    `json:"fee"`
	Net          int64    `json:"net"`
	// Pending is the transaction's change of the merchant's pending balance,
	// which settlement later moves to the available balance.
	Pending int64 `json:"pending"`
	// SettlementStatus is Unsettled while Pending waits for settlement, and
	// Settled once it is available (at once for a transaction with no
	// pending part).
	SettlementStatus string     `json:"settlement_status"`
	AvailableAt      *time.Time `json:"available_at,omitempty"`
	SettledAt        *time.Time `json:"settled_at,omitempty"`
	// SettlementID is the settlement transaction that made Pending available.
	SettlementID string `json:"settlement_id,omitempty"`
	// PayoutID is the payout that paid the transaction out, once one did.
	PayoutID    string        `json:"payout_id,omitempty"`
	Description string        `json:"description,omitempty"`
	Entries     []LedgerEntry `json:"entries"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// LedgerEntry is one posting of a ledger transaction: Amount (signed, in
// minor units of Currency) added to one ledger account, named by the merchant
// account it belongs to and its type in the chart of accounts (see package
// ledger). The account's mode is the transaction's.
type LedgerEntry struct {
	AccountID string   `json:"account_id"`
	Type      string   `json:"type"`
	Currency  Currency `json:"currency"`
	Amount    int64    `json:"amount"`
}

// LedgerBalance is the balance of one ledger account: the sum of its entries.
type LedgerBalance struct {
	AccountID string   `json:"account_id"`
	Mode      Mode     `json:"mode"`
	Type      string   `json:"type"`
	Currency  Currency `json:"currency"`
	Amount    int64    `json:"amount"`
}

// LedgerTransactionFilter selects ledger transactions of one scope for lists,
// searches and downloads. Zero fields do not filter. Internal transactions
// (no SourceType) are never selected.
type LedgerTransactionFilter struct {
	RootSourceID     string
	SourceTypes      []string
	SettlementStatus string
	Currency         Currency
	PayoutID         string
	Start, End       *time.Time // on created_at, inclusive
	AmountMin        *int64
	AmountMax        *int64
	SortColumn       string // updated_at (default), created_at, amount
	SortAsc          bool
	Limit            int
	Offset           int
}

// Processing plan types.
const (
	PlanFlatRate        = "FLAT_RATE"
	PlanInterchangePlus = "INTERCHANGE_PLUS"
)

// ProcessingPlan is what an account pays for processing: a flat rate
// (percent plus fixed per payment) or interchange-plus (the card network's
// interchange plus a markup). Rates are in basis points (1/100 of a percent)
// so that fees are computed in integers.
type ProcessingPlan struct {
	ID            string    `json:"id"`
	PlanType      string    `json:"plan_type"`
	EffectiveDate time.Time `json:"effective_date"`
	AcceptedCards []string  `json:"accepted_cards"`
	Card          FeeRate   `json:"card"` // flat rate, or the markup over interchange
	Bank          FeeRate   `json:"bank"`
	DisputeFee    int64     `json:"dispute_fee"`
	// PayoutFee is charged on every payout (zero: none).
	PayoutFee       int64  `json:"payout_fee,omitempty"`
	InterchangeCost string `json:"interchange_cost"` // GROSS: interchange is charged on the gross amount
	Comment         string `json:"comment,omitempty"`
}

// FeeRate is a percentage (in basis points) plus a fixed amount per payment,
// capped at Cap when Cap is positive.
type FeeRate struct {
	BPS   int64 `json:"bps"`
	Fixed int64 `json:"fixed"`
	Cap   int64 `json:"cap,omitempty"`
}

// AccountSettings are an account's money-movement settings. A zero field
// takes the installation's default.
type AccountSettings struct {
	AccountID       string          `json:"account_id"`
	Plan            *ProcessingPlan `json:"plan,omitempty"`
	SettlementDelay time.Duration   `json:"settlement_delay,omitempty"`
	// PayoutSchedule is when payouts are made (see ParsePayoutSchedule);
	// PayoutMinimum the smallest payout, below which the money waits for
	// the next run.
	PayoutSchedule string    `json:"payout_schedule,omitempty"`
	PayoutMinimum  int64     `json:"payout_minimum,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Payout schedules.
const (
	PayoutDaily  = "daily"  // every day at 00:00 UTC
	PayoutWeekly = "weekly" // every Monday at 00:00 UTC
	PayoutManual = "manual" // never automatically
)

// ParsePayoutSchedule returns the period of a payout schedule: daily,
// weekly, manual (period 0), or a Go duration of at least one second
// ("1h", "90s") for payouts every period. Periods start on multiples of
// the period since the zero time.Time, so a daily schedule pays out at
// 00:00 UTC and a weekly one on Mondays.
func ParsePayoutSchedule(s string) (time.Duration, error) {
	switch s {
	case PayoutDaily:
		return 24 * time.Hour, nil
	case PayoutWeekly:
		return 7 * 24 * time.Hour, nil
	case PayoutManual:
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, FieldError("payout_schedule", "must be daily, weekly, manual or a duration of at least 1s such as 12h")
	}
	return d, nil
}
