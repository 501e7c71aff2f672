package tender

import (
	"encoding/json"
	"time"
)

// Core event types: "<object>.<what happened>". Each dialect maps them to
// its own names (Forward: "v2.payment_intent.captured", …).
const (
	EventPaymentIntentCreated   = "payment_intent.created"
	EventPaymentIntentUpdated   = "payment_intent.updated"
	EventPaymentIntentPended    = "payment_intent.pended"
	EventPaymentIntentCaptured  = "payment_intent.captured"
	EventPaymentIntentCancelled = "payment_intent.cancelled"
	EventPaymentIntentFailed    = "payment_intent.failed"
	EventPaymentCreated         = "payment.created"
	EventPaymentCaptured        = "payment.captured"
	EventPaymentFailed          = "payment.failed"
	EventPaymentCancelled       = "payment.cancelled"
	EventPaymentRefunded        = "payment.refunded"
	EventRefundCreated          = "refund.created"
	EventPaymentMethodCreated   = "payment_method.created"
	EventPaymentMethodUpdated   = "payment_method.updated"
	EventEndpointDisabled       = "webhook_endpoint.disabled"
	EventDisputeCreated         = "dispute.created"
	EventDisputeContested       = "dispute.contested"
	EventDisputeAccepted        = "dispute.accepted"
	EventDisputeWon             = "dispute.won"
	EventDisputeLost            = "dispute.lost"
	EventPayoutCreated          = "payout.created"
	EventPayoutCompleted        = "payout.completed"
	EventPayoutFailed           = "payout.failed"
	EventPayoutReturned         = "payout.returned"
	EventPayoutCancelled        = "payout.cancelled"
)

// Event is one state change of one object, recorded in the transaction
// that made the change, with a snapshot of the object as it became.
type Event struct {
	ID         string          `json:"id"`
	AccountID  string          `json:"account_id"`
	Mode       Mode            `json:"mode"`
	Type       string          `json:"type"`
	ObjectType string          `json:"object_type"` // payment_intent, payment, refund, payment_method, webhook_endpoint, dispute, payout
	ObjectID   string          `json:"object_id"`
	Object     json.RawMessage `json:"object"`
	CreatedAt  time.Time       `json:"created_at"`
}

// WebhookEndpoint is a URL that receives an account's events, in the format
// and with the signature of one dialect.
type WebhookEndpoint struct {
	ID          string   `json:"id"`
	AccountID   string   `json:"account_id"`
	Mode        Mode     `json:"mode"`
	Dialect     string   `json:"dialect"` // forward, forhopp, highlevel
	URL         string   `json:"url"`
	Events      []string `json:"events"` // the dialect's event names, or "*"
	Description string   `json:"description,omitempty"`
	Enabled     bool     `json:"enabled"`
	Deleted     bool     `json:"deleted,omitempty"`
	// SecretSealed is the signing secret, encrypted with the installation's
	// master key; the secret itself is shown once, at creation.
	SecretSealed   string     `json:"secret_sealed"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	DeliveryCancelled = "cancelled"
)

// Delivery is one event owed to one endpoint, retried until it succeeds or
// its schedule runs out.
type Delivery struct {
	ID          string     `json:"id"`
	EventID     string     `json:"event_id"`
	EndpointID  string     `json:"endpoint_id"`
	AccountID   string     `json:"account_id"`
	Mode        Mode       `json:"mode"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	NextAt      time.Time  `json:"next_at"`
	LastStatus  int        `json:"last_status,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	SucceededAt *time.Time `json:"succeeded_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// DeliveryAttempt is one HTTP attempt of a delivery.
type DeliveryAttempt struct {
	ID              string    `json:"id"`
	DeliveryID      string    `json:"delivery_id"`
	EndpointID      string    `json:"endpoint_id"`
	EventID         string    `json:"event_id"`
	Attempt         int       `json:"attempt"`
	StatusCode      int       `json:"status_code,omitempty"`
	LatencyMillis   int64     `json:"latency_ms"`
	ResponseExcerpt string    `json:"response_excerpt,omitempty"`
	Error           string    `json:"error,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}
