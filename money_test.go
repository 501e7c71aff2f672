package tender_test

import (
	"math"
	"testing"

	"github.com/tenderpay/tender"
)

func TestParseCurrency(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want tender.Currency
	}{
		{"USD", "USD"}, {"usd", "USD"}, {"Jpy", "JPY"}, {"KWD", "KWD"}, {"cad", "CAD"}, {"EUR", "EUR"},
	} {
		got, err := tender.ParseCurrency(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCurrency(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "US", "USDD", "123", "U$D", "QQQ", "usd "} {
		if got, err := tender.ParseCurrency(in); tender.ErrorCode(err) != tender.EINVALID {
			t.Errorf("ParseCurrency(%q) = %q, %v; want EINVALID", in, got, err)
		}
	}
}

func TestCurrencyDigits(t *testing.T) {
	for _, tc := range []struct {
		c    tender.Currency
		want int
	}{
		{"USD", 2}, {"CAD", 2}, {"EUR", 2}, {"JPY", 0}, {"KRW", 0}, {"KWD", 3}, {"BHD", 3},
	} {
		if got := tc.c.Digits(); got != tc.want {
			t.Errorf("%s.Digits() = %d, want %d", tc.c, got, tc.want)
		}
	}
	if got := tender.Currency("USD").Lower(); got != "usd" {
		t.Errorf("Lower() = %q", got)
	}
}

func TestAmountArithmetic(t *testing.T) {
	const max, min = math.MaxInt64, math.MinInt64
	type op func(a, b int64) (int64, error)
	ops := map[string]op{"AddAmounts": tender.AddAmounts, "SubAmounts": tender.SubAmounts, "MulAmount": tender.MulAmount}
	for _, tc := range []struct {
		op       string
		a, b     int64
		want     int64
		overflow bool
	}{
		{"AddAmounts", 1, 2, 3, false},
		{"AddAmounts", -5, 3, -2, false},
		{"AddAmounts", max, 0, max, false},
		{"AddAmounts", max, 1, 0, true},
		{"AddAmounts", max, max, 0, true},
		{"AddAmounts", min, -1, 0, true},
		{"AddAmounts", min, min, 0, true},
		{"AddAmounts", min, max, -1, false},
		{"AddAmounts", max - 1, 1, max, false},
		{"SubAmounts", 5, 3, 2, false},
		{"SubAmounts", 3, 5, -2, false},
		{"SubAmounts", min, 1, 0, true},
		{"SubAmounts", max, -1, 0, true},
		{"SubAmounts", 0, min, 0, true},
		{"SubAmounts", 0, max, -max, false},
		{"SubAmounts", min + 1, 1, min, false},
		{"SubAmounts", -1, max, min, false},
		{"MulAmount", 6, 7, 42, false},
		{"MulAmount", -6, 7, -42, false},
		{"MulAmount", 0, min, 0, false},
		{"MulAmount", min, 0, 0, false},
		{"MulAmount", max, 1, max, false},
		{"MulAmount", min, 1, min, false},
		{"MulAmount", max, -1, -max, false},
		{"MulAmount", min, -1, 0, true},
		{"MulAmount", -1, min, 0, true},
		{"MulAmount", max, 2, 0, true},
		{"MulAmount", 3037000499, 3037000499, 9223372030926249001, false},
		{"MulAmount", 3037000500, 3037000500, 0, true},
		{"MulAmount", -3037000500, 3037000500, 0, true},
		{"MulAmount", 1 << 32, 1 << 31, 0, true},
		{"MulAmount", 1 << 32, -(1 << 31), min, false},
		{"MulAmount", tender.MaxAmount, 1000, tender.MaxAmount * 1000, false},
	} {
		got, err := ops[tc.op](tc.a, tc.b)
		if tc.overflow {
			if tender.ErrorCode(err) != tender.EINVALID {
				t.Errorf("%s(%d, %d) = %d, %v; want an EINVALID overflow error", tc.op, tc.a, tc.b, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s(%d, %d) = %d, %v; want %d", tc.op, tc.a, tc.b, got, err, tc.want)
		}
	}
}

func TestSumAmounts(t *testing.T) {
	if got, err := tender.SumAmounts(); err != nil || got != 0 {
		t.Errorf("SumAmounts() = %d, %v", got, err)
	}
	if got, err := tender.SumAmounts(1, 2, 3, -10); err != nil || got != -4 {
		t.Errorf("SumAmounts(1, 2, 3, -10) = %d, %v", got, err)
	}
	if _, err := tender.SumAmounts(math.MaxInt64, 1, -5); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("SumAmounts past MaxInt64: %v, want EINVALID", err)
	}
	// Many payments at the largest single amount cannot overflow.
	amounts := make([]int64, 10_000)
	for i := range amounts {
		amounts[i] = tender.MaxAmount
	}
	if got, err := tender.SumAmounts(amounts...); err != nil || got != tender.MaxAmount*10_000 {
		t.Errorf("10000 × MaxAmount = %d, %v", got, err)
	}
}

func TestMoneyAddSub(t *testing.T) {
	usd := func(n int64) tender.Money { return tender.Money{Amount: n, Currency: "USD"} }
	if got, err := usd(150).Add(usd(250)); err != nil || got != usd(400) {
		t.Errorf("150 + 250 USD = %v, %v", got, err)
	}
	if got, err := usd(150).Sub(usd(250)); err != nil || got != usd(-100) {
		t.Errorf("150 - 250 USD = %v, %v", got, err)
	}
	if _, err := usd(1).Add(tender.Money{Amount: 1, Currency: "JPY"}); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("USD + JPY: %v, want EINVALID", err)
	}
	if _, err := usd(1).Sub(tender.Money{Amount: 1, Currency: "EUR"}); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("USD - EUR: %v, want EINVALID", err)
	}
	if _, err := usd(math.MaxInt64).Add(usd(1)); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("Money overflow: %v, want EINVALID", err)
	}
	if _, err := usd(math.MinInt64).Sub(usd(1)); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("Money underflow: %v, want EINVALID", err)
	}
}

func TestMajor(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		c      tender.Currency
		want   string
	}{
		{1234, "USD", "12.34"},
		{0, "USD", "0.00"},
		{5, "USD", "0.05"},
		{-5, "USD", "-0.05"},
		{100, "USD", "1.00"},
		{-100000, "USD", "-1000.00"},
		{5, "JPY", "5"},
		{-5, "JPY", "-5"},
		{0, "JPY", "0"},
		{1, "KWD", "0.001"},
		{-1, "KWD", "-0.001"},
		{12345, "KWD", "12.345"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "USD", "-92233720368547758.08"},
		{math.MaxInt64, "JPY", "9223372036854775807"},
		{math.MinInt64, "KWD", "-9223372036854775.808"},
	} {
		if got := (tender.Money{Amount: tc.amount, Currency: tc.c}).Major(); got != tc.want {
			t.Errorf("Money{%d, %s}.Major() = %q, want %q", tc.amount, tc.c, got, tc.want)
		}
	}
}

func TestParseMajor(t *testing.T) {
	for _, tc := range []struct {
		s    string
		c    tender.Currency
		want int64
	}{
		{"12.34", "USD", 1234},
		{"12.3", "USD", 1230},
		{"12", "USD", 1200},
		{"0.05", "USD", 5},
		{"-0.05", "USD", -5},
		{"-0", "USD", 0},
		{"007.50", "USD", 750},
		{"5", "JPY", 5},
		{"-5", "JPY", -5},
		{"0.001", "KWD", 1},
		{"12.345", "KWD", 12345},
		{"92233720368547758.07", "USD", math.MaxInt64},
		{"-92233720368547758.07", "USD", math.MinInt64 + 1},
		{"9223372036854775807", "JPY", math.MaxInt64},
	} {
		got, err := tender.ParseMajor(tc.s, tc.c)
		if err != nil || got != tc.want {
			t.Errorf("ParseMajor(%q, %s) = %d, %v; want %d", tc.s, tc.c, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		s string
		c tender.Currency
	}{
		{"", "USD"}, {"-", "USD"}, {".", "USD"}, {".5", "USD"}, {"1.", "USD"}, {"1.234", "USD"}, {"1.5", "JPY"},
		{"0.0001", "KWD"}, {"1,00", "USD"}, {"1e2", "USD"}, {"+1", "USD"}, {"--1", "USD"}, {" 1", "USD"}, {"1 ", "USD"},
		{"0x10", "USD"}, {"1.2.3", "USD"}, {"١٢", "JPY"}, {"92233720368547758.08", "USD"}, {"99999999999999999999", "JPY"},
		{"NaN", "USD"}, {"Inf", "USD"},
	} {
		if got, err := tender.ParseMajor(tc.s, tc.c); tender.ErrorCode(err) != tender.EINVALID {
			t.Errorf("ParseMajor(%q, %s) = %d, %v; want EINVALID", tc.s, tc.c, got, err)
		}
	}
}

func TestMajorRoundTrip(t *testing.T) {
	for _, c := range []tender.Currency{"USD", "JPY", "KWD"} {
		for _, n := range []int64{0, 1, -1, 9, 10, 99, 100, 101, -999, 123456789, tender.MaxAmount, -tender.MaxAmount,
			math.MaxInt64, math.MaxInt64 - 1, math.MinInt64 + 1} {
			s := tender.Money{Amount: n, Currency: c}.Major()
			back, err := tender.ParseMajor(s, c)
			if err != nil || back != n {
				t.Errorf("ParseMajor(Money{%d, %s}.Major() = %q) = %d, %v", n, c, s, back, err)
			}
		}
	}
}
