// Package processor defines how tender talks to whoever moves the money: a
// card network gateway, a bank rail, or the sim test processor.
//
// Card and account numbers reach a Processor only through Tokenize, in
// memory; everything after works with the processor's token. Every money
// call carries an idempotency key derived from tender's own ids, so a call
// repeated after a crash returns the first call's outcome.
package processor

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// CardInput is a card as a buyer entered it. It lives only in memory.
type CardInput struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVV      string
}

// BankInput is a bank account as a buyer entered it. It lives only in memory.
type BankInput struct {
	AccountNumber string
	RoutingNumber string
	AccountType   string // checking or savings
}

// Token is what a processor returns for a card or bank account: an opaque
// reference it can charge later, plus what may be shown.
type Token struct {
	Token    string
	Brand    string
	FirstSix string
	LastFour string
}

// Outcome is how the processor answered an authorization.
type Outcome string

// Outcomes.
const (
	Approved Outcome = "approved" // the amount is authorized (and captured, if asked)
	Declined Outcome = "declined" // refused; see DeclineCode
	Pending  Outcome = "pending"  // accepted for a rail that settles later (ACH); see Settle
)

// AuthorizeParams asks for an authorization.
type AuthorizeParams struct {
	Key      string // idempotency key: the payment's id
	Token    string
	Amount   int64
	Currency string
	Capture  bool // capture at once
	// AccountID and Mode are the payment's, for a processor that routes by
	// account (processor/customprovider); empty means "not known".
	AccountID string
	Mode      tender.Mode
	// PaymentMethodID is tender's id of the payment method, ContactID the
	// buyer's contact when known, Description what the charge is for.
	PaymentMethodID string
	ContactID       string
	Description     string
}

// AuthResult is an authorization's outcome.
type AuthResult struct {
	Outcome      Outcome
	Ref          string // the processor's id for the authorization
	AuthCode     string
	ResponseText string
	DeclineCode  string // card_declined, insufficient_funds, avs_mismatch, …
	AVS          string
	CVV          string
	// SettleAfter is when a Pending outcome may be asked for its final state.
	SettleAfter time.Duration
	// Chargeback, when set, tells that the cardholder will dispute the
	// payment once it is captured (a test processor's dispute card).
	Chargeback *tender.ChargebackNotice
}

// Processor authorizes, captures, voids and refunds. Implementations must
// be safe for concurrent use and idempotent per Key.
type Processor interface {
	// Name identifies the processor in payment records.
	Name() string
	// TokenizeCard vaults a card. An invalid card is an EINVALID error
	// naming the field.
	TokenizeCard(ctx context.Context, c CardInput) (Token, error)
	// TokenizeBank vaults a bank account.
	TokenizeBank(ctx context.Context, b BankInput) (Token, error)
	// Authorize authorizes (and, with Capture, captures) an amount.
	Authorize(ctx context.Context, p AuthorizeParams) (AuthResult, error)
	// Capture captures amount of an authorization; the rest is released.
	Capture(ctx context.Context, key, ref string, amount int64) error
	// Void releases an uncaptured authorization.
	Void(ctx context.Context, key, ref string) error
	// Refund returns amount of a captured payment.
	Refund(ctx context.Context, key, ref string, amount int64) (refundRef string, err error)
	// Settle tells the final state of a Pending authorization: Approved
	// (the money arrived) or Declined (returned by the bank).
	Settle(ctx context.Context, ref, token string) (AuthResult, error)
}

// NormalizeNumber strips the spaces and dashes buyers type inside card and
// account numbers.
func NormalizeNumber(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '-' {
			b = append(b, c)
		}
	}
	return string(b)
}
