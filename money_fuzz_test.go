package tender_test

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

// checkExact compares an int64 result with the exact result want: when want
// fits in int64 the operation must succeed with it, otherwise it must fail
// with EINVALID rather than wrap.
func checkExact(t *testing.T, op string, got int64, err error, want *big.Int) {
	t.Helper()
	if want.IsInt64() {
		if err != nil {
			t.Errorf("%s = error %v, want %s", op, err, want)
		} else if got != want.Int64() {
			t.Errorf("%s = %d, want %s", op, got, want)
		}
		return
	}
	if err == nil {
		t.Errorf("%s = %d, want an overflow error (exact result %s)", op, got, want)
	} else if code := tender.ErrorCode(err); code != tender.EINVALID {
		t.Errorf("%s: error code %q, want %q", op, code, tender.EINVALID)
	}
}

// majorOf returns the exact value of a minor-unit amount in major units.
func majorOf(amount int64, digits int) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(amount), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil))
}

var fuzzCurrencies = []struct {
	c      tender.Currency
	digits int
	format *regexp.Regexp
}{
	{"USD", 2, regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`)},
	{"JPY", 0, regexp.MustCompile(`^-?[0-9]+$`)},
	{"KWD", 3, regexp.MustCompile(`^-?[0-9]+\.[0-9]{3}$`)},
}

func FuzzMoney(f *testing.F) {
	seeds := []struct {
		a, b int64
		s    string
	}{
		{0, 0, "0"},
		{1234, 5, "12.34"},
		{-1, 1, "-0.001"},
		{math.MaxInt64, 1, "92233720368547758.07"},
		{math.MaxInt64, -1, "9223372036854775807"},
		{math.MinInt64 + 1, -1, "-92233720368547758.07"},
		{1, math.MinInt64 + 1, "-0"},
		{-2, math.MinInt64 + 1, "1."},
		{math.MinInt64 + 1, math.MinInt64 + 1, ".5"},
		{math.MaxInt64 / 2, 2, "00012.50"},
		{math.MaxInt64/2 + 1, 2, "1.234"},
		{3037000499, 3037000499, "3037000499"},
		{3037000500, 3037000500, "--1"},
		{-3037000500, 3037000500, "1e3"},
		{tender.MaxAmount, 1000, "1000000000000.00"},
		{99, -100, "+5"},
		{7, 0, "١٢"},
		{-7, math.MaxInt64, "99999999999999999999"},
		{-1, math.MinInt64, "1."},
		{math.MinInt64, -1, "-92233720368547758.08"},
	}
	for _, s := range seeds {
		f.Add(s.a, s.b, s.s)
	}
	f.Fuzz(func(t *testing.T, a, b int64, s string) {
		ba, bb := big.NewInt(a), big.NewInt(b)

		sum, err := tender.AddAmounts(a, b)
		checkExact(t, "AddAmounts", sum, err, new(big.Int).Add(ba, bb))
		diff, err := tender.SubAmounts(a, b)
		checkExact(t, "SubAmounts", diff, err, new(big.Int).Sub(ba, bb))
		prod, err := tender.MulAmount(a, b)
		checkExact(t, "MulAmount", prod, err, new(big.Int).Mul(ba, bb))
		total, err := tender.SumAmounts(a, b, a)
		if want := new(big.Int).Add(new(big.Int).Add(ba, bb), ba); want.IsInt64() {
			// SumAmounts may fail on an intermediate overflow even when the
			// total fits, but it must never return a wrong total.
			if err == nil && total != want.Int64() {
				t.Errorf("SumAmounts(%d, %d, %d) = %d, want %s", a, b, a, total, want)
			}
		} else if err == nil {
			t.Errorf("SumAmounts(%d, %d, %d) = %d, want an overflow error", a, b, a, total)
		}

		m, err := tender.Money{Amount: a, Currency: "USD"}.Add(tender.Money{Amount: b, Currency: "USD"})
		checkExact(t, "Money.Add", m.Amount, err, new(big.Int).Add(ba, bb))
		if err == nil && m.Currency != "USD" {
			t.Errorf("Money.Add currency %q", m.Currency)
		}
		m, err = tender.Money{Amount: a, Currency: "USD"}.Sub(tender.Money{Amount: b, Currency: "USD"})
		checkExact(t, "Money.Sub", m.Amount, err, new(big.Int).Sub(ba, bb))
		if _, err := (tender.Money{Amount: a, Currency: "USD"}).Add(tender.Money{Amount: b, Currency: "JPY"}); tender.ErrorCode(err) != tender.EINVALID {
			t.Errorf("adding JPY to USD: %v, want EINVALID", err)
		}

		for _, cur := range fuzzCurrencies {
			for _, amt := range []int64{a, b} {
				major := tender.Money{Amount: amt, Currency: cur.c}.Major()
				if !cur.format.MatchString(major) {
					t.Errorf("Money{%d, %s}.Major() = %q, not in the form %s", amt, cur.c, major, cur.format)
					continue
				}
				if r, ok := new(big.Rat).SetString(major); !ok || r.Cmp(majorOf(amt, cur.digits)) != 0 {
					t.Errorf("Money{%d, %s}.Major() = %q, which is not the exact value", amt, cur.c, major)
				}
				back, err := tender.ParseMajor(major, cur.c)
				if err != nil || back != amt {
					t.Errorf("ParseMajor(%q, %s) = %d, %v; want %d (round trip of Major)", major, cur.c, back, err, amt)
				}
			}

			// Any string: ParseMajor either fails with EINVALID or returns
			// exactly the value written.
			v, err := tender.ParseMajor(s, cur.c)
			if err != nil {
				if code := tender.ErrorCode(err); code != tender.EINVALID {
					t.Errorf("ParseMajor(%q, %s): error code %q, want %q", s, cur.c, code, tender.EINVALID)
				}
				continue
			}
			r, ok := new(big.Rat).SetString(s)
			if !ok || strings.ContainsAny(s, "eE/+ ") {
				t.Errorf("ParseMajor(%q, %s) = %d; it should not accept this string", s, cur.c, v)
				continue
			}
			if r.Cmp(majorOf(v, cur.digits)) != 0 {
				t.Errorf("ParseMajor(%q, %s) = %d minor units, which is not the value written", s, cur.c, v)
			}
		}
	})
}
