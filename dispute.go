package tender

import "time"

// Dispute statuses. A dispute opens as DisputeNew (the merchant may
// respond until its response due date); DisputeContested means the
// merchant's evidence is with the card network; DisputeAccepted means the
// merchant conceded. Won, lost and accepted are final.
const (
	DisputeNew       = "new"
	DisputeContested = "contested"
	DisputeAccepted  = "accepted"
	DisputeWon       = "won"
	DisputeLost      = "lost"
)

// DisputeStatuses lists every dispute status, in lifecycle order.
var DisputeStatuses = []string{DisputeNew, DisputeContested, DisputeAccepted, DisputeWon, DisputeLost}

// DisputeTransitions is the dispute state machine: from a status, the
// statuses it may move to.
var DisputeTransitions = map[string][]string{
	DisputeNew:       {DisputeContested, DisputeAccepted, DisputeWon, DisputeLost},
	DisputeContested: {DisputeWon, DisputeLost},
	DisputeAccepted:  {},
	DisputeWon:       {},
	DisputeLost:      {},
}

// DisputeOpen reports whether a dispute in status is still undecided (its
// amount and fee are held in the dispute reserve).
func DisputeOpen(status string) bool { return status == DisputeNew || status == DisputeContested }

// StatusChange is one step of an object's status history.
type StatusChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// Dispute is a cardholder's challenge of a captured payment (a
// chargeback). While it is open, its amount and fee are held from the
// merchant's available balance; a won dispute releases them, a lost one
// returns the amount to the cardholder and keeps the fee.
type Dispute struct {
	ID              string   `json:"id"`
	AccountID       string   `json:"account_id"`
	Mode            Mode     `json:"mode"`
	PaymentIntentID string   `json:"payment_intent_id"`
	PaymentID       string   `json:"payment_id"`
	Status          string   `json:"status"`
	Amount          int64    `json:"amount"`
	Currency        Currency `json:"currency"`
	// Fee is the dispute fee of the account's processing plan, held with
	// the amount and kept by the platform when the dispute is lost.
	Fee int64 `json:"fee"`
	// Reason and ReasonCode are the card network's reason, as the
	// processor reported it.
	Reason        string         `json:"reason"`
	ReasonCode    int            `json:"reason_code"`
	ResponseDueAt time.Time      `json:"response_due_at"`
	ClosedAt      *time.Time     `json:"closed_at,omitempty"`
	StatusHistory []StatusChange `json:"status_history"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// DisputeFilter selects disputes for a list. Zero fields do not filter.
type DisputeFilter struct {
	Status string
}

// ChargebackNotice is a processor's word, given when it authorizes a
// payment, that the cardholder will dispute the payment once it is
// captured: tender opens the dispute After the capture. Only a test
// processor knows this in advance (the sim's dispute card).
type ChargebackNotice struct {
	After      time.Duration `json:"after"`
	Reason     string        `json:"reason"`
	ReasonCode int           `json:"reason_code"`
}
