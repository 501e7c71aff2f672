package catalog

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlite"
)

func pct(hundredths int64, productIDs ...string) *tender.Coupon {
	return &tender.Coupon{DiscountType: tender.DiscountPercentage, DiscountValue: hundredths, ProductIDs: productIDs}
}

func amt(minor int64, cur tender.Currency, productIDs ...string) *tender.Coupon {
	return &tender.Coupon{DiscountType: tender.DiscountAmount, DiscountValue: minor, Currency: cur, ProductIDs: productIDs}
}

func usd(product string, amount int64) Line {
	return Line{ProductID: product, PriceID: "price_" + product, Amount: amount, Currency: "USD"}
}

func TestApplyCoupon(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		coupon *tender.Coupon
		lines  []Line
		want   int64
		field  string // the field an error names
	}{
		{"percentage of every line", pct(1000), []Line{usd("a", 1000), usd("b", 500)}, 150, ""},
		{"rounds half up: 10% of 5", pct(1000), []Line{usd("a", 5)}, 1, ""},
		{"rounds down below half: 10% of 4", pct(1000), []Line{usd("a", 4)}, 0, ""},
		{"rounds once on the subtotal", pct(1000), []Line{usd("a", 5), usd("b", 5)}, 1, ""},
		{"fractional percentage 12.5% of 4", pct(1250), []Line{usd("a", 4)}, 1, ""},
		{"fractional percentage 33.33% of 100", pct(3333), []Line{usd("a", 100)}, 33, ""},
		{"100% is the whole subtotal", pct(10000), []Line{usd("a", 12345)}, 12345, ""},
		{"no overflow near the int64 limit", pct(10000), []Line{usd("a", math.MaxInt64)}, math.MaxInt64, ""},
		{"half of the int64 limit", pct(5000), []Line{usd("a", math.MaxInt64)}, math.MaxInt64/2 + 1, ""},
		{"only the coupon's products", pct(5000, "b"), []Line{usd("a", 1000), usd("b", 300)}, 150, ""},
		{"a coupon's price", &tender.Coupon{DiscountType: tender.DiscountPercentage, DiscountValue: 5000, PriceIDs: []string{"price_a"}},
			[]Line{usd("a", 1000), usd("b", 300)}, 500, ""},
		{"amount", amt(500, "USD"), []Line{usd("a", 1000)}, 500, ""},
		{"amount capped at the eligible subtotal", amt(5000, "USD", "b"), []Line{usd("a", 10000), usd("b", 300)}, 300, ""},
		{"amount of another currency", amt(500, "EUR"), []Line{usd("a", 1000)}, 0, "couponCode"},
		{"no eligible line", pct(1000, "z"), []Line{usd("a", 1000)}, 0, "couponCode"},
		{"no lines", pct(1000), nil, 0, "items"},
		{"mixed currencies", pct(1000), []Line{usd("a", 1), {ProductID: "b", Amount: 1, Currency: "EUR"}}, 0, "items"},
		{"negative line", pct(1000), []Line{usd("a", -1)}, 0, "items"},
		{"zero subtotal", pct(1000), []Line{usd("a", 0)}, 0, ""},
	}
	for _, c := range cases {
		got, err := ApplyCoupon(c.coupon, c.lines)
		if c.field != "" {
			if tender.ErrorCode(err) != tender.EINVALID || tender.ErrorFields(err)[c.field] == "" {
				t.Errorf("%s: err %v, want EINVALID naming %s", c.name, err, c.field)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: ApplyCoupon = %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	if _, err := ApplyCoupon(amt(1, "USD"), []Line{usd("a", math.MaxInt64), usd("b", 1)}); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("overflowing subtotal: err %v, want EINVALID", err)
	}
}

// TestPercentOf checks the rounding against the exact rule on every small
// case: the discount is the nearest whole unit, halves rounded up.
func TestPercentOf(t *testing.T) {
	t.Parallel()
	for amount := int64(0); amount <= 300; amount++ {
		for _, h := range []int64{1, 50, 333, 1000, 1250, 2500, 3333, 5000, 6667, 9999, 10000} {
			got := percentOf(amount, h)
			exact := amount * h // in units of 1/10000
			want := exact / 10000
			if exact%10000 >= 5000 {
				want++
			}
			if got != want {
				t.Fatalf("percentOf(%d, %d) = %d, want %d", amount, h, got, want)
			}
			if got > amount || got < 0 {
				t.Fatalf("percentOf(%d, %d) = %d, outside [0, amount]", amount, h, got)
			}
		}
	}
}

func TestCouponStatusAt(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(48 * time.Hour)
	cases := []struct {
		name string
		c    tender.Coupon
		at   time.Time
		want string
	}{
		{"before the start", tender.Coupon{StartDate: start}, start.Add(-time.Microsecond), tender.CouponScheduled},
		{"at the start", tender.Coupon{StartDate: start}, start, tender.CouponActive},
		{"no end", tender.Coupon{StartDate: start}, start.AddDate(10, 0, 0), tender.CouponActive},
		{"just before the end", tender.Coupon{StartDate: start, EndDate: &end}, end.Add(-time.Microsecond), tender.CouponActive},
		{"at the end", tender.Coupon{StartDate: start, EndDate: &end}, end, tender.CouponExpired},
		{"used up", tender.Coupon{StartDate: start, UsageLimit: 2, UsageCount: 2}, start, tender.CouponExpired},
		{"room left", tender.Coupon{StartDate: start, UsageLimit: 2, UsageCount: 1}, start, tender.CouponActive},
		{"scheduled even if used up", tender.Coupon{StartDate: start, UsageLimit: 1, UsageCount: 1}, start.Add(-time.Hour), tender.CouponScheduled},
	}
	for _, c := range cases {
		if got := c.c.StatusAt(c.at); got != c.want {
			t.Errorf("%s: StatusAt = %s, want %s", c.name, got, c.want)
		}
	}
}

// fixture is a catalog service over a SQLite file with a pinned clock and
// two accounts.
type fixture struct {
	ctx   context.Context
	svc   *Service
	clock *tender.FixedClock
	a, b  tender.Scope
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := tender.NewFixedClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{ctx: ctx, svc: New(st), clock: clock}
	now := clock.Now()
	org := &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, now), Name: "o", CreatedAt: now}
	a := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org.ID, Name: "a", CreatedAt: now}
	b := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org.ID, Name: "b", CreatedAt: now}
	err = st.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		return tx.CreateAccount(ctx, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.a = tender.Scope{OrganizationID: org.ID, AccountID: a.ID, Mode: tender.ModeLive}
	f.b = tender.Scope{OrganizationID: org.ID, AccountID: b.ID, Mode: tender.ModeLive}
	return f
}

func wantErr(t *testing.T, what string, err error, code, field string) {
	t.Helper()
	if tender.ErrorCode(err) != code {
		t.Errorf("%s: err %v, want code %s", what, err, code)
		return
	}
	if field != "" && tender.ErrorFields(err)[field] == "" {
		t.Errorf("%s: err %v does not name %s", what, err, field)
	}
}

func couponParams(code string) CouponParams {
	return CouponParams{Name: "Spring", Code: code, DiscountType: tender.DiscountPercentage, DiscountValue: "10",
		StartDate: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// redeem runs RedeemCoupon in its own write, as an order would.
func (f *fixture) redeem(c *tender.Coupon, contact string) error {
	return f.svc.Store.Write(f.ctx, func(tx store.Tx) error { return f.svc.RedeemCoupon(f.ctx, tx, c, contact, "ord_test") })
}

func TestRedeemCoupon(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := couponParams("TWICE")
	p.UsageLimit, p.LimitPerCustomer = new(int), 1
	*p.UsageLimit = 2
	c, err := f.svc.CreateCoupon(f.ctx, f.a, p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != tender.CouponActive || c.UsageCount != 0 {
		t.Fatalf("new coupon: status %s, usage %d", c.Status, c.UsageCount)
	}
	if err := f.redeem(c, "ada"); err != nil {
		t.Fatal(err)
	}
	if c.UsageCount != 1 {
		t.Errorf("after one redemption UsageCount = %d, want 1", c.UsageCount)
	}
	wantErr(t, "second use by the same contact", f.redeem(c, "ada"), tender.ECONFLICT, "couponCode")
	wantErr(t, "no contact for a per-customer coupon", f.redeem(c, ""), tender.EINVALID, "contactId")
	if err := f.redeem(c, "bob"); err != nil {
		t.Fatal(err)
	}
	if c.UsageCount != 2 || c.Status != tender.CouponExpired {
		t.Errorf("used up: UsageCount %d, Status %s; want 2, expired", c.UsageCount, c.Status)
	}
	wantErr(t, "past the usage limit", f.redeem(c, "cy"), tender.ECONFLICT, "couponCode")
	got, err := f.svc.GetCoupon(f.ctx, f.a, c.ID, "")
	if err != nil || got.UsageCount != 2 || got.Status != tender.CouponExpired {
		t.Fatalf("GetCoupon after redemptions = %+v, %v", got, err)
	}

	// A failed order rolls the redemption back with it.
	p2 := couponParams("ROLLBACK")
	c2, err := f.svc.CreateCoupon(f.ctx, f.a, p2)
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.Store.Write(f.ctx, func(tx store.Tx) error {
		if err := f.svc.RedeemCoupon(f.ctx, tx, c2, "ada", "ord_x"); err != nil {
			return err
		}
		return tender.Errorf(tender.EINVALID, "the order failed")
	})
	wantErr(t, "failing order", err, tender.EINVALID, "")
	if got, _ := f.svc.GetCoupon(f.ctx, f.a, "", "rollback"); got == nil || got.UsageCount != 0 {
		t.Errorf("usage after a rolled-back order = %+v, want 0", got)
	}

	// Dates: scheduled and expired coupons cannot be used.
	later := couponParams("LATER")
	later.StartDate = f.clock.Now().Add(time.Hour)
	cl, err := f.svc.CreateCoupon(f.ctx, f.a, later)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Status != tender.CouponScheduled {
		t.Errorf("future coupon status %s", cl.Status)
	}
	wantErr(t, "scheduled coupon", f.redeem(cl, "ada"), tender.ECONFLICT, "couponCode")
	f.clock.Advance(2 * time.Hour)
	if err := f.redeem(cl, "ada"); err != nil {
		t.Errorf("coupon once started: %v", err)
	}
	ended := couponParams("ENDED")
	end := f.clock.Now().Add(time.Minute)
	ended.EndDate = &end
	ce, err := f.svc.CreateCoupon(f.ctx, f.a, ended)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	wantErr(t, "expired coupon", f.redeem(ce, "ada"), tender.ECONFLICT, "couponCode")

	// Deleted coupons are gone for new orders.
	if err := f.svc.DeleteCoupon(f.ctx, f.a, c2.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "deleted coupon", f.redeem(c2, "ada"), tender.ENOTFOUND, "")
	err = f.svc.Store.Read(f.ctx, func(tx store.Tx) error {
		_, err := f.svc.FindCouponByCode(f.ctx, tx, f.a.AccountID, "ROLLBACK")
		return err
	})
	wantErr(t, "FindCouponByCode(deleted)", err, tender.ENOTFOUND, "")
}
