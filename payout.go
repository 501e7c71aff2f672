package tender

import "time"

// Payout statuses. A payout is pending from its creation until the bank
// transfer completes, fails, comes back (returned) or is cancelled; those
// four are final.
const (
	PayoutPending   = "pending"
	PayoutCompleted = "completed"
	PayoutFailed    = "failed"
	PayoutReturned  = "returned"
	PayoutCancelled = "cancelled"
)

// PayoutStatuses lists every payout status.
var PayoutStatuses = []string{PayoutPending, PayoutCompleted, PayoutFailed, PayoutReturned, PayoutCancelled}

// PayoutTransitions is the payout state machine.
var PayoutTransitions = map[string][]string{
	PayoutPending:   {PayoutCompleted, PayoutFailed, PayoutReturned, PayoutCancelled},
	PayoutCompleted: {},
	PayoutFailed:    {},
	PayoutReturned:  {},
	PayoutCancelled: {},
}

// Payout moves a merchant's available balance in one currency to its bank
// account. It pays out every settled ledger transaction of its account,
// mode and currency that no earlier payout paid out (they carry its id):
// Amount is the sum of their nets (what left the available balance),
// FeeAmount the payout fee of the account's plan and NetAmount = Amount −
// FeeAmount what the bank receives.
type Payout struct {
	ID             string   `json:"id"`
	OrganizationID string   `json:"organization_id"`
	AccountID      string   `json:"account_id"`
	Mode           Mode     `json:"mode"`
	Currency       Currency `json:"currency"`
	// Number counts the payouts of the account and mode, from 1.
	Number    int64  `json:"number"`
	Status    string `json:"status"`
	Amount    int64  `json:"amount"`
	FeeAmount int64  `json:"fee_amount"`
	NetAmount int64  `json:"net_amount"`
	// TransactionCount and Summary describe the ledger transactions the
	// payout pays out (its own debit not included).
	TransactionCount int64               `json:"transaction_count"`
	Summary          []PayoutSummaryLine `json:"summary"`
	// LedgerTransactionID is the payout's own ledger transaction (the
	// debit of the available balance).
	LedgerTransactionID string         `json:"ledger_transaction_id"`
	FailureReason       string         `json:"failure_reason,omitempty"`
	StatusHistory       []StatusChange `json:"status_history"`
	ArrivalAt           time.Time      `json:"arrival_at"`
	CompletedAt         *time.Time     `json:"completed_at,omitempty"`
	FailedAt            *time.Time     `json:"failed_at,omitempty"`
	ReturnedAt          *time.Time     `json:"returned_at,omitempty"`
	CancelledAt         *time.Time     `json:"cancelled_at,omitempty"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
}

// PayoutSummaryLine sums the transactions of one source type that a payout
// pays out.
type PayoutSummaryLine struct {
	SourceType string `json:"source_type"`
	Count      int64  `json:"count"`
	Amount     int64  `json:"amount"`
	Fee        int64  `json:"fee"`
	Net        int64  `json:"net"`
}

// PayoutFilter selects payouts for a list. Zero fields do not filter.
type PayoutFilter struct {
	Status string
}

// UnpaidTotal is what the ledger owes an account in one currency: the
// settled, merchant-facing transactions that no payout paid out yet.
type UnpaidTotal struct {
	Currency Currency
	Count    int64
	Net      int64
}
