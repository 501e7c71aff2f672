// Package tender holds the domain of the tender payments engine: tenancy,
// money, ids, the error type, the clock and the payment objects with their
// state machines. It imports only the standard library and
// golang.org/x/text/currency (for ISO 4217 minor-unit digits).
//
// Adapters live in subpackages: store (SQLite, PostgreSQL), processor (sim),
// payment (the payment services), job (durable jobs), api (HTTP plumbing)
// and api/forward (the Forward dialect). cmd/tender wires them together.
package tender

import (
	"encoding/json"
	"time"
)

// Mode separates live money from test money. Every object belongs to one
// mode, and a credential sees only its own mode's objects.
type Mode string

// Modes.
const (
	ModeLive Mode = "live"
	ModeTest Mode = "test"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeLive || m == ModeTest }

// Organization is the top tenant: a HighLevel company, a Forward partner and
// business, the owner of one or more accounts.
type Organization struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Account is a merchant account (HighLevel location, Forward account,
// forhopp merchant). Every object belongs to one account.
type Account struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organization_id"`
	Name           string    `json:"name"`
	CreatedAt      time.Time `json:"created_at"`
}

// Credential kinds.
const (
	CredentialForwardPrivate = "forward_private"
	CredentialForwardPublic  = "forward_public"
	// HighLevel bearer tokens: a location (sub-account) token acts for its
	// own account; a company token for any account of its organization.
	CredentialHighLevelLocation = "highlevel_location"
	CredentialHighLevelCompany  = "highlevel_company"
)

// Credential is an API key. Only its SHA-256 hash is stored; the key itself
// is shown once when it is made.
type Credential struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Mode      Mode   `json:"mode"`
	Kind      string `json:"kind"`
	Hash      string `json:"-"`
	Hint      string `json:"hint"` // the key's prefix and last four characters, for display
	// Scopes are the OAuth scopes a HighLevel token holds (empty for
	// Forward keys, whose kind decides what they may do).
	Scopes []string `json:"scopes,omitempty"`
	// AppID is the HighLevel marketplace app a token belongs to (empty:
	// the default app, see account.DefaultHighLevelAppID).
	AppID     string    `json:"app_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Scope is what an authenticated caller may touch: one account of one
// organization, in one mode.
type Scope struct {
	OrganizationID string
	AccountID      string
	Mode           Mode
	CredentialID   string
	CredentialKind string
	// Scopes are the credential's OAuth scopes (HighLevel tokens only).
	Scopes []string
	// AppID is the HighLevel marketplace app of the credential (HighLevel
	// tokens only; the default app for a token made without one).
	AppID string
}

// HasScope reports whether the scope's credential holds the OAuth scope name.
func (s Scope) HasScope(name string) bool {
	for _, x := range s.Scopes {
		if x == name {
			return true
		}
	}
	return false
}

// BillingDetails is who pays and where.
type BillingDetails struct {
	Name    string   `json:"name,omitempty"`
	Email   string   `json:"email,omitempty"`
	Phone   string   `json:"phone,omitempty"`
	Address *Address `json:"address,omitempty"`
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Payment method types.
const (
	MethodCard = "card"
	MethodBank = "bank"
)

// PaymentMethod is a tokenized card or bank account. It never holds a card
// or account number: only what may be shown (brand, first six, last four,
// expiry), a keyed fingerprint, and the processor's token.
type PaymentMethod struct {
	ID             string          `json:"id"`
	AccountID      string          `json:"account_id"`
	Mode           Mode            `json:"mode"`
	Type           string          `json:"type"`
	Card           *CardDetails    `json:"card,omitempty"`
	Bank           *BankDetails    `json:"bank,omitempty"`
	BillingDetails *BillingDetails `json:"billing_details,omitempty"`
	ProcessorToken string          `json:"processor_token"`
	SourceType     string          `json:"source_type,omitempty"`
	External       bool            `json:"external,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// CardDetails is the displayable part of a card.
type CardDetails struct {
	Brand       string `json:"brand"`
	FirstSix    string `json:"first_six"`
	LastFour    string `json:"last_four"`
	ExpMonth    int    `json:"exp_month"`
	ExpYear     int    `json:"exp_year"`
	Fingerprint string `json:"fingerprint"`
}

// BankDetails is the displayable part of a bank account.
type BankDetails struct {
	MaskedAccount string `json:"masked_account"`
	MaskedRouting string `json:"masked_routing"`
	AccountType   string `json:"account_type,omitempty"`
	Fingerprint   string `json:"fingerprint"`
}

// Payment intent statuses.
const (
	IntentCreated    = "created"
	IntentPending    = "pending"
	IntentUncaptured = "uncaptured"
	IntentCaptured   = "captured"
	IntentCancelled  = "cancelled"
	IntentFailed     = "failed"
)

// IntentTransitions is the payment intent state machine: from a status, the
// statuses it may move to. A failed intent accepts a new payment attempt.
var IntentTransitions = map[string][]string{
	IntentCreated:    {IntentPending, IntentUncaptured, IntentCaptured, IntentFailed, IntentCancelled},
	IntentFailed:     {IntentPending, IntentUncaptured, IntentCaptured, IntentFailed, IntentCancelled},
	IntentPending:    {IntentCaptured, IntentFailed},
	IntentUncaptured: {IntentCaptured, IntentCancelled},
	IntentCaptured:   {},
	IntentCancelled:  {},
}

// CanTransition reports whether table allows from → to.
func CanTransition(table map[string][]string, from, to string) bool {
	for _, s := range table[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Cancellation reasons of a payment intent.
var CancellationReasons = []string{"duplicate", "fraudulent", "requested_by_customer", "abandoned"}

// Settlement statuses.
const (
	Unsettled = "unsettled"
	Settled   = "settled"
)

// PaymentIntent is the intention to collect an amount from a buyer, with
// its payment attempts and refunds. Amounts are in minor units.
type PaymentIntent struct {
	ID                 string          `json:"id"`
	AccountID          string          `json:"account_id"`
	Mode               Mode            `json:"mode"`
	Status             string          `json:"status"`
	Amount             int64           `json:"amount"`
	MerchantAmount     *int64          `json:"merchant_amount,omitempty"`
	Currency           Currency        `json:"currency"`
	AmountAuthorized   int64           `json:"amount_authorized"`
	AmountCaptured     int64           `json:"amount_captured"`
	AmountRefunded     int64           `json:"amount_refunded"`
	AmountVoided       int64           `json:"amount_voided"`
	AmountDisputed     int64           `json:"amount_disputed"`
	Capture            bool            `json:"capture"`
	PaymentMethodTypes []string        `json:"payment_method_types"`
	ReferenceID        string          `json:"reference_id,omitempty"`
	Description        string          `json:"description,omitempty"`
	Metadata           json.RawMessage `json:"metadata,omitempty"`      // free-form object (Forward user_fields)
	OrderDetails       json.RawMessage `json:"order_details,omitempty"` // free-form object
	PaymentSplits      json.RawMessage `json:"payment_splits,omitempty"`
	LatestPaymentID    string          `json:"latest_payment_id,omitempty"`
	LatestPaymentState string          `json:"latest_payment_status,omitempty"`
	CancellationReason string          `json:"cancellation_reason,omitempty"`
	External           bool            `json:"external"`
	Disputed           bool            `json:"disputed"`
	DisputeID          string          `json:"dispute_id,omitempty"`
	SettlementStatus   string          `json:"settlement_status"`
	SettledAt          *time.Time      `json:"settled_at,omitempty"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	CancelledAt        *time.Time      `json:"cancelled_at,omitempty"`
	CapturedAt         *time.Time      `json:"captured_at,omitempty"`
	// Version counts the intent's updates. The store refuses an update made
	// from a stale copy (optimistic concurrency).
	Version int64 `json:"version"`
}

// Payment statuses (one payment attempt).
const (
	PaymentPending    = "pending"
	PaymentUncaptured = "uncaptured"
	PaymentCaptured   = "captured"
	PaymentCancelled  = "cancelled"
	PaymentVoided     = "voided"
	PaymentFailed     = "failed"
)

// Payment is one attempt to pay a payment intent with a payment method.
type Payment struct {
	ID              string `json:"id"`
	AccountID       string `json:"account_id"`
	Mode            Mode   `json:"mode"`
	PaymentIntentID string `json:"payment_intent_id"`
	PaymentMethodID string `json:"payment_method_id"`
	// MethodType and CardBrand copy the payment method's type and a card's
	// brand, on which the processing fee depends.
	MethodType       string          `json:"method_type,omitempty"`
	CardBrand        string          `json:"card_brand,omitempty"`
	Status           string          `json:"status"`
	Amount           int64           `json:"amount"`
	Currency         Currency        `json:"currency"`
	AmountAuthorized int64           `json:"amount_authorized"`
	AmountCaptured   int64           `json:"amount_captured"`
	AmountRefunded   int64           `json:"amount_refunded"`
	AmountVoided     int64           `json:"amount_voided"`
	AmountDisputed   int64           `json:"amount_disputed"`
	AuthCode         string          `json:"auth_code,omitempty"`
	ResponseText     string          `json:"response_text,omitempty"`
	DeclineCode      string          `json:"decline_code,omitempty"`
	CVVResult        string          `json:"cvv_result,omitempty"`
	AVSResult        string          `json:"avs_result,omitempty"`
	ProcessorRef     string          `json:"processor_ref,omitempty"`
	BillingDetails   *BillingDetails `json:"billing_details,omitempty"`
	External         bool            `json:"external"`
	Gateway          json.RawMessage `json:"gateway,omitempty"` // an external payment's gateway response, as given
	GatewayCapture   json.RawMessage `json:"gateway_capture,omitempty"`
	GatewayVoid      json.RawMessage `json:"gateway_void,omitempty"`
	CardPresent      bool            `json:"card_present,omitempty"`
	ReferenceID      string          `json:"reference_id,omitempty"`
	Description      string          `json:"description,omitempty"`
	Metadata         json.RawMessage `json:"metadata,omitempty"`
	OrderDetails     json.RawMessage `json:"order_details,omitempty"`
	Disputed         bool            `json:"disputed"`
	DisputeID        string          `json:"dispute_id,omitempty"`
	// Chargeback is the processor's notice that this payment will be
	// disputed after its capture (test processors only).
	Chargeback       *ChargebackNotice `json:"chargeback,omitempty"`
	SettlementStatus string            `json:"settlement_status"`
	SettledAt        *time.Time        `json:"settled_at,omitempty"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
	// Version counts the payment's updates (see PaymentIntent.Version).
	Version int64 `json:"version"`
}

// Refund statuses.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)

// Refund returns captured money of a payment to the buyer.
type Refund struct {
	ID               string          `json:"id"`
	AccountID        string          `json:"account_id"`
	Mode             Mode            `json:"mode"`
	PaymentIntentID  string          `json:"payment_intent_id"`
	PaymentID        string          `json:"payment_id"`
	Status           string          `json:"status"`
	Amount           int64           `json:"amount"`
	Currency         Currency        `json:"currency"`
	Reason           string          `json:"reason,omitempty"`
	External         bool            `json:"external"`
	Gateway          json.RawMessage `json:"gateway,omitempty"`
	ProcessorRef     string          `json:"processor_ref,omitempty"`
	SettlementStatus string          `json:"settlement_status"`
	SettledAt        *time.Time      `json:"settled_at,omitempty"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

// IdempotencyRecord is the stored outcome of a mutating request made with an
// idempotency key. It is written in the same transaction as the effect.
type IdempotencyRecord struct {
	AccountID   string
	Mode        Mode
	Key         string
	Fingerprint string // SHA-256 of the canonical request
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Job is a durable unit of background work (the outbox).
type Job struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	AccountID   string          `json:"account_id,omitempty"`
	Args        json.RawMessage `json:"args"`
	RunAt       time.Time       `json:"run_at"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	LastError   string          `json:"last_error,omitempty"`
	UniqueKey   string          `json:"unique_key,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
}

// Page asks for one page of a list ordered by id, newest first.
// StartingAfter returns objects older than that id; EndingBefore returns
// objects newer than that id, still newest first.
type Page struct {
	StartingAfter string
	EndingBefore  string
	Limit         int
}

// PaymentIntentFilter selects payment intents for a search. Zero fields do
// not filter. Offset-based pages suit the dialects' search endpoints.
type PaymentIntentFilter struct {
	ReferenceID      string
	Status           string
	SettlementStatus string
	PaymentStatus    string
	HasRefund        *bool
	Start, End       *time.Time
	AmountMin        *int64
	AmountMax        *int64
	SortColumn       string // created_at (default), updated_at, amount, status, captured_at, cancelled_at, settled_at
	SortAsc          bool
	Limit            int
	Offset           int
}
