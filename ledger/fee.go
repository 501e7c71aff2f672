package ledger

import (
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// DefaultPlan is the processing plan of an account that has none of its own:
// a flat rate of 2.9% + 30 (minor units) per card payment, 0.8% capped at
// 500 per bank payment, a dispute fee of 1500 and no payout fee.
func DefaultPlan(accountID string) *tender.ProcessingPlan {
	return &tender.ProcessingPlan{
		ID: PlanID(accountID), PlanType: tender.PlanFlatRate, EffectiveDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		AcceptedCards: []string{"visa", "mastercard", "amex", "discover"},
		Card:          tender.FeeRate{BPS: 290, Fixed: 30}, Bank: tender.FeeRate{BPS: 80, Cap: 500},
		DisputeFee: 1500, InterchangeCost: "GROSS", Comment: "tender default plan",
	}
}

// PlanID is the id an account's processing plan is shown under.
func PlanID(accountID string) string {
	return tender.PrefixProcessingPlan + strings.TrimPrefix(accountID, tender.PrefixAccount)
}

// Interchange is the simulated interchange the card networks charge per
// brand, which interchange-plus plans pass through before their markup.
// Real interchange depends on the card product and the merchant category;
// these are typical US rates for card-not-present credit.
var Interchange = map[string]tender.FeeRate{
	"visa":       {BPS: 180, Fixed: 10},
	"mastercard": {BPS: 190, Fixed: 10},
	"amex":       {BPS: 250, Fixed: 10},
	"discover":   {BPS: 175, Fixed: 10},
	"":           {BPS: 200, Fixed: 10}, // any other brand
}

// Method is what a fee depends on: the payment method's type (card or
// bank) and a card's brand.
type Method struct {
	Type  string
	Brand string
}

// rate returns r applied to amount: bps rounded half up, plus fixed, capped.
func rate(r tender.FeeRate, amount int64) (int64, error) {
	p, err := tender.MulAmount(amount, r.BPS)
	if err != nil {
		return 0, err
	}
	f, err := tender.AddAmounts((p+5000)/10000, r.Fixed)
	if err != nil {
		return 0, err
	}
	if r.Cap > 0 && f > r.Cap {
		f = r.Cap
	}
	return f, nil
}

// Fee returns the processing fee plan charges on a payment of amount made
// with m: the flat rate of the method's type, or for interchange-plus card
// payments the brand's interchange plus the plan's markup. A fee never
// exceeds the amount, and is never negative.
func Fee(plan *tender.ProcessingPlan, m Method, amount int64) (int64, error) {
	if amount <= 0 {
		return 0, nil
	}
	var fee int64
	var err error
	switch {
	case m.Type == tender.MethodBank:
		fee, err = rate(plan.Bank, amount)
	case plan.PlanType == tender.PlanInterchangePlus:
		ic, ok := Interchange[strings.ToLower(m.Brand)]
		if !ok {
			ic = Interchange[""]
		}
		var markup int64
		if fee, err = rate(ic, amount); err == nil {
			if markup, err = rate(plan.Card, amount); err == nil {
				fee, err = tender.AddAmounts(fee, markup)
			}
		}
	default:
		fee, err = rate(plan.Card, amount)
	}
	if err != nil {
		return 0, err
	}
	return max(0, min(fee, amount)), nil
}

// ValidatePlan checks a plan an operator sets, naming the faulty field.
func ValidatePlan(p *tender.ProcessingPlan) error {
	var v tender.Validation
	if p.PlanType != tender.PlanFlatRate && p.PlanType != tender.PlanInterchangePlus {
		v.Add("plan_type", "must be FLAT_RATE or INTERCHANGE_PLUS")
	}
	for name, r := range map[string]tender.FeeRate{"card": p.Card, "bank": p.Bank} {
		if r.BPS < 0 || r.BPS > 10000 {
			v.Add(name+".bps", "must be between 0 and 10000")
		}
		if r.Fixed < 0 || r.Fixed > tender.MaxAmount {
			v.Add(name+".fixed", "must be between 0 and the largest amount")
		}
		if r.Cap < 0 {
			v.Add(name+".cap", "must not be negative")
		}
	}
	if p.DisputeFee < 0 || p.DisputeFee > tender.MaxAmount {
		v.Add("dispute_fee", "must be between 0 and the largest amount")
	}
	if p.PayoutFee < 0 || p.PayoutFee > tender.MaxAmount {
		v.Add("payout_fee", "must be between 0 and the largest amount")
	}
	return v.Err()
}
