// Package sim is tender's test processor. It moves no money: outcomes come
// from the card or account number, as card vendors document their test
// numbers, and every answer is a pure function of the token, the amount and
// the idempotency key, so a repeated call returns the first call's outcome.
//
// The number itself is never kept: the token records only which documented
// behaviour the number selects.
//
// # Test cards
//
//	4242424242424242, 5555555555554444, 378282246310005 and any other
//	    number passing the Luhn check: approved
//	4000000000000002, 4867094332104873: declined (card_declined)
//	4000000000009995, 4112912498587255: declined (insufficient_funds)
//	4208475663072763: declined (avs_mismatch; AVS result N)
//	4000000000000259: approved; a dispute opens DisputeDelay after the
//	    capture (reason "Fraud - Card Absent Environment", code 83)
//
// # Test bank accounts (any valid ABA routing number, e.g. 110000000)
//
//	000123456789 and any other: pending, then settled
//	000111111113: pending, then failed (account_closed)
//	000111111116: pending, then failed (no_account)
package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/processor"
)

// Behaviours a token can carry.
const (
	behaveApprove  = "ok"
	behaveDecline  = "decline"
	behaveNSF      = "nsf"
	behaveAVS      = "avs"
	behaveDispute  = "dispute"
	behaveBankOK   = "bankok"
	behaveClosed   = "closed"
	behaveNoAcount = "noacct"
)

var cardBehaviour = map[string]string{
	"4000000000000002": behaveDecline,
	"4867094332104873": behaveDecline,
	"4000000000009995": behaveNSF,
	"4112912498587255": behaveNSF,
	"4208475663072763": behaveAVS,
	"4000000000000259": behaveDispute,
}

var bankBehaviour = map[string]string{
	"000111111113": behaveClosed,
	"000111111116": behaveNoAcount,
}

// Sim is the test processor.
type Sim struct {
	// Latency is added to every money call, to model a real processor.
	Latency time.Duration
	// BankDelay is how long a bank payment stays pending.
	BankDelay time.Duration
	// DisputeDelay is how long after its capture a payment with the
	// dispute card is disputed.
	DisputeDelay time.Duration
	// Now tells the time for card expiry checks.
	Now func() time.Time
}

var _ processor.Processor = (*Sim)(nil)

// DefaultDisputeDelay is how long after capture the dispute card's payment
// is disputed, unless set otherwise.
const DefaultDisputeDelay = time.Minute

// The dispute card's chargeback: Visa's reason code 83, fraud in a
// card-absent environment.
const (
	DisputeReason     = "Fraud - Card Absent Environment"
	DisputeReasonCode = 83
)

// New returns a Sim with no latency, bank payments pending for bankDelay
// and disputes opening DefaultDisputeDelay after capture.
func New(bankDelay time.Duration) *Sim {
	return &Sim{BankDelay: bankDelay, DisputeDelay: DefaultDisputeDelay, Now: time.Now}
}

// Name returns "sim".
func (s *Sim) Name() string { return "sim" }

func (s *Sim) wait(ctx context.Context) error {
	if s.Latency <= 0 {
		return nil
	}
	t := time.NewTimer(s.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Luhn reports whether number passes the Luhn check.
func Luhn(number string) bool {
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Brand names the card network of number by its prefix.
func Brand(number string) string {
	switch {
	case strings.HasPrefix(number, "4"):
		return "visa"
	case strings.HasPrefix(number, "34"), strings.HasPrefix(number, "37"):
		return "amex"
	case len(number) >= 2 && number[0] == '5' && number[1] >= '1' && number[1] <= '5':
		return "mastercard"
	case len(number) >= 4 && number[:4] >= "2221" && number[:4] <= "2720":
		return "mastercard"
	case strings.HasPrefix(number, "6011"), strings.HasPrefix(number, "65"):
		return "discover"
	case strings.HasPrefix(number, "35"):
		return "jcb"
	case strings.HasPrefix(number, "36"), strings.HasPrefix(number, "30"):
		return "diners"
	}
	return "unknown"
}

func token(kind, behaviour string) string {
	return "simtok_" + kind + "_" + behaviour + "_" + tender.RandomString(16)
}

func behaviourOf(tok string) string {
	parts := strings.Split(tok, "_")
	if len(parts) != 4 || parts[0] != "simtok" {
		return ""
	}
	return parts[2]
}

// TokenizeCard validates and vaults a card.
func (s *Sim) TokenizeCard(ctx context.Context, c processor.CardInput) (processor.Token, error) {
	num := processor.NormalizeNumber(c.Number)
	var v tender.Validation
	if !digitsOnly(num) || len(num) < 12 || len(num) > 19 || !Luhn(num) {
		v.Add("card.number", "is not a valid card number")
	}
	if c.ExpMonth < 1 || c.ExpMonth > 12 {
		v.Add("card.exp_month", "must be between 1 and 12")
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	if c.ExpYear < 1000 || c.ExpYear > now.Year()+50 {
		v.Add("card.exp_year", "must be a four-digit year")
	} else if c.ExpMonth >= 1 && c.ExpMonth <= 12 &&
		(c.ExpYear < now.Year() || (c.ExpYear == now.Year() && c.ExpMonth < int(now.Month()))) {
		v.Add("card.exp_year", "is in the past: the card has expired")
	}
	if c.CVV != "" && (!digitsOnly(c.CVV) || len(c.CVV) < 3 || len(c.CVV) > 4) {
		v.Add("card.cvv", "must be 3 or 4 digits")
	}
	if err := v.Err(); err != nil {
		return processor.Token{}, err
	}
	b := cardBehaviour[num]
	if b == "" {
		b = behaveApprove
	}
	return processor.Token{Token: token("card", b), Brand: Brand(num), FirstSix: num[:6], LastFour: num[len(num)-4:]}, nil
}

// abaValid checks a routing number's ABA checksum.
func abaValid(r string) bool {
	if len(r) != 9 || !digitsOnly(r) {
		return false
	}
	w := []int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(r[i]-'0') * w[i]
	}
	return sum%10 == 0
}

// TokenizeBank validates and vaults a bank account.
func (s *Sim) TokenizeBank(ctx context.Context, b processor.BankInput) (processor.Token, error) {
	var v tender.Validation
	if !digitsOnly(b.AccountNumber) || len(b.AccountNumber) < 4 || len(b.AccountNumber) > 17 {
		v.Add("bank.account_number", "must be 4 to 17 digits")
	}
	if !abaValid(b.RoutingNumber) {
		v.Add("bank.routing_number", "is not a valid ABA routing number")
	}
	if b.AccountType != "" && b.AccountType != "checking" && b.AccountType != "savings" {
		v.Add("bank.account_type", "must be checking or savings")
	}
	if err := v.Err(); err != nil {
		return processor.Token{}, err
	}
	beh := bankBehaviour[b.AccountNumber]
	if beh == "" {
		beh = behaveBankOK
	}
	return processor.Token{Token: token("bank", beh), LastFour: b.AccountNumber[len(b.AccountNumber)-4:]}, nil
}

// ref derives a stable processor reference from an idempotency key.
func ref(prefix, key string) string {
	h := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(h[:10])
}

// Authorize answers from the token's behaviour.
func (s *Sim) Authorize(ctx context.Context, p processor.AuthorizeParams) (processor.AuthResult, error) {
	if err := s.wait(ctx); err != nil {
		return processor.AuthResult{}, tender.Errorf(tender.EPROCESSOR, "processor call interrupted: %v", err)
	}
	r := processor.AuthResult{Ref: ref("simch_", p.Key), AVS: "Y", CVV: "M"}
	switch behaviourOf(p.Token) {
	case behaveApprove, behaveDispute:
		r.Outcome, r.AuthCode, r.ResponseText = processor.Approved, strings.ToUpper(ref("", p.Key)[:6]), "Approval"
		if behaviourOf(p.Token) == behaveDispute {
			r.Chargeback = &tender.ChargebackNotice{After: s.DisputeDelay, Reason: DisputeReason, ReasonCode: DisputeReasonCode}
		}
	case behaveDecline:
		r.Outcome, r.ResponseText, r.DeclineCode = processor.Declined, "Declined", "card_declined"
	case behaveNSF:
		r.Outcome, r.ResponseText, r.DeclineCode = processor.Declined, "Insufficient funds", "insufficient_funds"
	case behaveAVS:
		r.Outcome, r.ResponseText, r.DeclineCode, r.AVS = processor.Declined, "AVS mismatch", "avs_mismatch", "N"
	case behaveBankOK, behaveClosed, behaveNoAcount:
		r.Outcome, r.ResponseText, r.AVS, r.CVV = processor.Pending, "Pending", "", ""
		r.SettleAfter = s.BankDelay
	default:
		return processor.AuthResult{}, tender.Errorf(tender.EINVALID, "payment method token is not a sim token")
	}
	return r, nil
}

// Settle resolves a pending bank payment from the token's behaviour.
func (s *Sim) Settle(ctx context.Context, ref, tok string) (processor.AuthResult, error) {
	r := processor.AuthResult{Ref: ref}
	switch behaviourOf(tok) {
	case behaveClosed:
		r.Outcome, r.ResponseText, r.DeclineCode = processor.Declined, "Account closed", "account_closed"
	case behaveNoAcount:
		r.Outcome, r.ResponseText, r.DeclineCode = processor.Declined, "No account", "no_account"
	default:
		r.Outcome, r.ResponseText = processor.Approved, "Settled"
	}
	return r, nil
}

// Capture always succeeds after the modelled latency.
func (s *Sim) Capture(ctx context.Context, key, ref string, amount int64) error {
	if err := s.wait(ctx); err != nil {
		return tender.Errorf(tender.EPROCESSOR, "processor call interrupted: %v", err)
	}
	return nil
}

// Void always succeeds after the modelled latency.
func (s *Sim) Void(ctx context.Context, key, ref string) error {
	if err := s.wait(ctx); err != nil {
		return tender.Errorf(tender.EPROCESSOR, "processor call interrupted: %v", err)
	}
	return nil
}

// Refund always succeeds after the modelled latency.
func (s *Sim) Refund(ctx context.Context, key, chargeRef string, amount int64) (string, error) {
	if err := s.wait(ctx); err != nil {
		return "", tender.Errorf(tender.EPROCESSOR, "processor call interrupted: %v", err)
	}
	return ref("simre_", key), nil
}
