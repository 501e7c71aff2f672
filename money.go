package tender

import (
	"math"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Currency is an upper-case ISO 4217 code such as "USD".
type Currency string

// ParseCurrency validates code case-insensitively and returns its upper-case
// form. It returns EINVALID for an unknown code.
func ParseCurrency(code string) (Currency, error) {
	if len(code) != 3 {
		return "", Errorf(EINVALID, "currency %q is not a three-letter ISO 4217 code", code)
	}
	u, err := currency.ParseISO(code)
	if err != nil {
		return "", Errorf(EINVALID, "currency %q is not a known ISO 4217 code", code)
	}
	return Currency(u.String()), nil
}

// Digits returns the number of minor-unit digits of c: 2 for USD, 0 for JPY,
// 3 for KWD.
func (c Currency) Digits() int {
	u, err := currency.ParseISO(string(c))
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// Lower returns the lower-case code, as some dialects render it.
func (c Currency) Lower() string { return strings.ToLower(string(c)) }

// Money is an exact amount in minor units of a currency. Arithmetic that
// would overflow int64 returns EINVALID rather than wrapping.
type Money struct {
	Amount   int64
	Currency Currency
}

// Add returns m+o. Both must have the same currency.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, Errorf(EINVALID, "cannot add %s to %s", o.Currency, m.Currency)
	}
	s, err := AddAmounts(m.Amount, o.Amount)
	return Money{Amount: s, Currency: m.Currency}, err
}

// Sub returns m-o. Both must have the same currency.
func (m Money) Sub(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, Errorf(EINVALID, "cannot subtract %s from %s", o.Currency, m.Currency)
	}
	s, err := SubAmounts(m.Amount, o.Amount)
	return Money{Amount: s, Currency: m.Currency}, err
}

// AddAmounts returns a+b in minor units, or EINVALID on overflow.
func AddAmounts(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, Errorf(EINVALID, "amount overflow")
	}
	return s, nil
}

// SubAmounts returns a-b in minor units, or EINVALID on overflow.
func SubAmounts(a, b int64) (int64, error) {
	if b == math.MinInt64 {
		// -b does not fit; a - MinInt64 does exactly when a < 0.
		if a < 0 {
			return a - b, nil
		}
		return 0, Errorf(EINVALID, "amount overflow")
	}
	return AddAmounts(a, -b)
}

// MulAmount returns a*n in minor units, or EINVALID on overflow.
func MulAmount(a, n int64) (int64, error) {
	if a == 0 || n == 0 {
		return 0, nil
	}
	p := a * n
	if p/n != a || (a == -1 && n == math.MinInt64) || (n == -1 && a == math.MinInt64) {
		return 0, Errorf(EINVALID, "amount overflow")
	}
	return p, nil
}

// SumAmounts adds all amounts, or returns EINVALID on overflow.
func SumAmounts(amounts ...int64) (int64, error) {
	var s int64
	var err error
	for _, a := range amounts {
		if s, err = AddAmounts(s, a); err != nil {
			return 0, err
		}
	}
	return s, nil
}

// MaxAmount is the largest amount in minor units tender accepts in a single
// payment: large enough for any real payment, small enough that sums of many
// never approach int64's limit.
const MaxAmount int64 = 1_000_000_000_000_00 // one trillion major units at two digits

// Major renders m in major units as a decimal string, e.g. 1234 USD → "12.34",
// 5 JPY → "5", -1 KWD → "-0.001". It is exact.
func (m Money) Major() string {
	d := m.Currency.Digits()
	neg := m.Amount < 0
	var u uint64
	if neg {
		u = uint64(-(m.Amount + 1)) + 1
	} else {
		u = uint64(m.Amount)
	}
	s := strconv.FormatUint(u, 10)
	if d > 0 {
		if len(s) <= d {
			s = strings.Repeat("0", d-len(s)+1) + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseMajor parses a decimal string in major units ("12.34", "5", "-0.5")
// into minor units of c. More fraction digits than c has, or overflow, is
// EINVALID.
func ParseMajor(s string, c Currency) (int64, error) {
	d := c.Digits()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || len(frac) > d {
		return 0, Errorf(EINVALID, "amount %q is not a valid %s amount", s, c)
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, Errorf(EINVALID, "amount %q is not a valid %s amount", s, c)
		}
	}
	frac += strings.Repeat("0", d-len(frac))
	u, err := strconv.ParseUint(whole+frac, 10, 64)
	switch {
	case err != nil || (!neg && u > math.MaxInt64) || (neg && u > 1<<63):
		return 0, Errorf(EINVALID, "amount %q is out of range", s)
	case neg:
		return int64(-u), nil // -u wraps to MinInt64 exactly for 1<<63
	}
	return int64(u), nil
}
