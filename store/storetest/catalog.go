package storetest

import (
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

func init() { register("Catalog", testCatalog) }

// Fixtures of the catalog.

func (b *testBundle) product(accountID, name string) *tender.Product {
	now := b.clock.Now()
	return &tender.Product{ID: tender.NewID(tender.PrefixProduct, now), AccountID: accountID, Name: name, Description: "a hat",
		ProductType: tender.ProductPhysical, Image: "https://img.example.com/hat.png", StatementDescriptor: "HATS",
		AvailableInStore: true, Variants: []tender.ProductVariant{{ID: "v1", Name: "Size", Options: []tender.ProductVariantOption{{ID: "o1", Name: "S"}}}},
		CollectionIDs: []string{"c1"}, IsTaxesEnabled: true, Taxes: []string{"tax1"}, AutomaticTaxCategoryID: "cat1",
		Label: &tender.ProductLabel{Title: "New", StartDate: ptr(at(time.Hour)), EndDate: ptr(at(2 * time.Hour))}, Slug: "hat",
		CreatedAt: now, UpdatedAt: now.Add(time.Second), DeletedAt: ptr(now.Add(time.Minute))}
}

func (b *testBundle) price(p *tender.Product) *tender.Price {
	now := b.clock.Now()
	return &tender.Price{ID: tender.NewID(tender.PrefixPrice, now), AccountID: p.AccountID, ProductID: p.ID, Name: "monthly",
		Description: "billed monthly", Type: tender.PriceRecurring, Currency: "USD", Amount: 1999,
		Recurring: &tender.Recurring{Interval: tender.IntervalMonth, IntervalCount: 1}, TrialPeriodDays: 7, TotalCycles: 12,
		SetupFee: 500, CompareAtPrice: ptr(int64(2999)), VariantOptionIDs: []string{"o1"}, SKU: "HAT-S",
		TrackInventory: true, AvailableQuantity: ptr(int64(5)), AllowOutOfStockPurchases: true, UserID: "u1",
		CreatedAt: now, UpdatedAt: now.Add(time.Second), DeletedAt: ptr(now.Add(time.Minute))}
}

func (b *testBundle) coupon(accountID, code string) *tender.Coupon {
	now := b.clock.Now()
	return &tender.Coupon{ID: tender.NewID(tender.PrefixCoupon, now), AccountID: accountID, Name: "Spring " + code, Code: code,
		DiscountType: tender.DiscountAmount, DiscountValue: 500, Currency: "USD", StartDate: at(-time.Hour), EndDate: ptr(at(time.Hour)),
		UsageLimit: 3, UsageCount: 0, LimitPerCustomer: 1, ProductIDs: []string{"prod_1"}, PriceIDs: []string{"price_1"},
		VariantIDs: []string{"o1"}, ApplyToFuturePayments: true,
		FuturePayments: tender.FuturePaymentsConfig{Type: tender.FuturePaymentsFixed, Duration: 3, DurationType: tender.DurationMonths},
		UserID:         "u1", CreatedAt: now, UpdatedAt: now.Add(time.Second)}
}

func testCatalog(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("Product", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.product(b.a.AccountID, "Hat")
		wantAllSet(t, "Product", p)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateProduct(b.ctx, p) })
		find := func(accountID, id string) (*tender.Product, error) {
			return read(b, func(tx store.Tx) (*tender.Product, error) { return tx.FindProductByID(b.ctx, accountID, id) })
		}
		got, err := find(b.a.AccountID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindProductByID (deleted products too)", p, got)
		wantUTC(t, "Product", got)
		_, err = find(b.b.AccountID, p.ID)
		wantCode(t, "FindProductByID(another account)", err, tender.ENOTFOUND)
		_, err = find(b.a.AccountID, tender.NewID(tender.PrefixProduct, epoch))
		wantCode(t, "FindProductByID(unknown)", err, tender.ENOTFOUND)

		up := &tender.Product{ID: p.ID, AccountID: p.AccountID, Name: "Cap", ProductType: tender.ProductDigital, CreatedAt: p.CreatedAt,
			UpdatedAt: at(time.Hour)}
		foreign := *up
		foreign.AccountID = b.b.AccountID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateProduct(b.ctx, &foreign) })
		wantCode(t, "UpdateProduct(another account)", err, tender.ENOTFOUND)
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateProduct(b.ctx, up) })
		got, err = find(b.a.AccountID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "product after update", up, got)
		unknown := b.product(b.a.AccountID, "x")
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateProduct(b.ctx, unknown) })
		wantCode(t, "UpdateProduct(unknown)", err, tender.ENOTFOUND)
	})
	t.Run("ListProducts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var ps []*tender.Product
		for _, name := range []string{"Red Hat", "blue HAT", "Scarf", "100% wool", "Hat_box", "Gone hat"} {
			p := b.product(b.a.AccountID, name)
			p.DeletedAt = nil
			ps = append(ps, p)
			b.clock.Advance(time.Millisecond)
		}
		ps[5].DeletedAt = ptr(at(time.Hour))
		other := b.product(b.b.AccountID, "Other hat")
		other.DeletedAt = nil
		mustWrite(t, b, func(tx store.Tx) error {
			for _, p := range append(ps, other) {
				if err := tx.CreateProduct(b.ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		list := func(f tender.ProductFilter) ([]string, int) {
			t.Helper()
			var got []*tender.Product
			var n int
			mustRead(t, b, func(tx store.Tx) (err error) {
				got, n, err = tx.ListProducts(b.ctx, b.a.AccountID, f)
				return err
			})
			names := []string{}
			for _, p := range got {
				names = append(names, p.Name)
			}
			return names, n
		}
		names, n := list(tender.ProductFilter{})
		wantDiff(t, "all products, newest first", []string{"Hat_box", "100% wool", "Scarf", "blue HAT", "Red Hat"}, names)
		wantDiff(t, "total", 5, n)
		names, n = list(tender.ProductFilter{Search: "hat"})
		wantDiff(t, "search hat (ignoring case)", []string{"Hat_box", "blue HAT", "Red Hat"}, names)
		wantDiff(t, "search total", 3, n)
		names, _ = list(tender.ProductFilter{Search: "%"})
		wantDiff(t, "search % (a literal)", []string{"100% wool"}, names)
		names, _ = list(tender.ProductFilter{Search: "t_b"})
		wantDiff(t, "search t_b (a literal _)", []string{"Hat_box"}, names)
		names, n = list(tender.ProductFilter{Limit: 2, Offset: 1, Ascending: true})
		wantDiff(t, "page 2 of 2, oldest first", []string{"blue HAT", "Scarf"}, names)
		wantDiff(t, "paged total", 5, n)
		names, n = list(tender.ProductFilter{Offset: 4})
		wantDiff(t, "offset without limit", []string{"Red Hat"}, names)
		wantDiff(t, "offset total", 5, n)
		names, n = list(tender.ProductFilter{IDs: []string{ps[2].ID, ps[5].ID, other.ID}})
		wantDiff(t, "by ids (deleted and foreign left out)", []string{"Scarf"}, names)
		wantDiff(t, "ids total", 1, n)
	})
	t.Run("Price", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.product(b.a.AccountID, "Hat")
		pr := b.price(p)
		wantAllSet(t, "Price", pr)
		mustWrite(t, b, func(tx store.Tx) error {
			if err := tx.CreateProduct(b.ctx, p); err != nil {
				return err
			}
			return tx.CreatePrice(b.ctx, pr)
		})
		find := func(accountID, id string) (*tender.Price, error) {
			return read(b, func(tx store.Tx) (*tender.Price, error) { return tx.FindPriceByID(b.ctx, accountID, id) })
		}
		got, err := find(b.a.AccountID, pr.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindPriceByID (deleted prices too)", pr, got)
		wantUTC(t, "Price", got)
		_, err = find(b.b.AccountID, pr.ID)
		wantCode(t, "FindPriceByID(another account)", err, tender.ENOTFOUND)

		up := &tender.Price{ID: pr.ID, AccountID: pr.AccountID, ProductID: p.ID, Name: "once", Type: tender.PriceOneTime, Currency: "JPY",
			Amount: 500, CreatedAt: pr.CreatedAt, UpdatedAt: at(time.Hour)}
		foreign := *up
		foreign.AccountID = b.b.AccountID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePrice(b.ctx, &foreign) })
		wantCode(t, "UpdatePrice(another account)", err, tender.ENOTFOUND)
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePrice(b.ctx, up) })
		got, err = find(b.a.AccountID, pr.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "price after update", up, got)
	})
	t.Run("ListPrices", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p, q := b.product(b.a.AccountID, "Hat"), b.product(b.a.AccountID, "Scarf")
		var prs []*tender.Price
		for i := 0; i < 4; i++ {
			pr := b.price(p)
			pr.Name, pr.DeletedAt = string(rune('a'+i)), nil
			prs = append(prs, pr)
			b.clock.Advance(time.Millisecond)
		}
		prs[3].DeletedAt = ptr(at(time.Hour))
		ofQ := b.price(q)
		ofQ.DeletedAt = nil
		mustWrite(t, b, func(tx store.Tx) error {
			for _, x := range []*tender.Product{p, q} {
				if err := tx.CreateProduct(b.ctx, x); err != nil {
					return err
				}
			}
			for _, pr := range append(prs, ofQ) {
				if err := tx.CreatePrice(b.ctx, pr); err != nil {
					return err
				}
			}
			return nil
		})
		list := func(accountID string, f tender.PriceFilter) ([]string, int) {
			t.Helper()
			var got []*tender.Price
			var n int
			mustRead(t, b, func(tx store.Tx) (err error) {
				got, n, err = tx.ListPrices(b.ctx, accountID, p.ID, f)
				return err
			})
			names := []string{}
			for _, x := range got {
				names = append(names, x.Name)
			}
			return names, n
		}
		names, n := list(b.a.AccountID, tender.PriceFilter{})
		wantDiff(t, "a product's prices, oldest first", []string{"a", "b", "c"}, names)
		wantDiff(t, "total", 3, n)
		names, n = list(b.a.AccountID, tender.PriceFilter{Limit: 1, Offset: 1})
		wantDiff(t, "page", []string{"b"}, names)
		wantDiff(t, "paged total", 3, n)
		names, n = list(b.a.AccountID, tender.PriceFilter{IDs: []string{prs[0].ID, prs[3].ID, ofQ.ID}})
		wantDiff(t, "by ids", []string{"a"}, names)
		wantDiff(t, "ids total", 1, n)
		names, n = list(b.b.AccountID, tender.PriceFilter{})
		wantDiff(t, "another account", []string{}, names)
		wantDiff(t, "another account's total", 0, n)
	})
	t.Run("Coupon", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.coupon(b.a.AccountID, "SPRING10")
		wantAllSet(t, "Coupon", c, "UsageCount", "Status", "DeletedAt")
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateCoupon(b.ctx, c) })
		byID := func(accountID, id string) (*tender.Coupon, error) {
			return read(b, func(tx store.Tx) (*tender.Coupon, error) { return tx.FindCouponByID(b.ctx, accountID, id) })
		}
		byCode := func(accountID, code string) (*tender.Coupon, error) {
			return read(b, func(tx store.Tx) (*tender.Coupon, error) { return tx.FindCouponByCode(b.ctx, accountID, code) })
		}
		got, err := byID(b.a.AccountID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindCouponByID", c, got)
		wantUTC(t, "Coupon", got)
		got, err = byCode(b.a.AccountID, "spring10")
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindCouponByCode (ignoring case)", c, got)
		_, err = byID(b.b.AccountID, c.ID)
		wantCode(t, "FindCouponByID(another account)", err, tender.ENOTFOUND)
		_, err = byCode(b.b.AccountID, "SPRING10")
		wantCode(t, "FindCouponByCode(another account)", err, tender.ENOTFOUND)

		// Codes are unique per account among undeleted coupons, ignoring case.
		dup := b.coupon(b.a.AccountID, "Spring10")
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateCoupon(b.ctx, dup) })
		wantCode(t, "CreateCoupon(same code, other case)", err, tender.ECONFLICT)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateCoupon(b.ctx, b.coupon(b.b.AccountID, "SPRING10")) })
		other := b.coupon(b.a.AccountID, "SUMMER")
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateCoupon(b.ctx, other) })
		taken := *other
		taken.Code = "spring10"
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateCoupon(b.ctx, &taken) })
		wantCode(t, "UpdateCoupon(to a taken code)", err, tender.ECONFLICT)

		// Usage: counted up to the limit; an update keeps the count.
		for i := 1; i <= 3; i++ {
			var got int
			err := b.store.Write(b.ctx, func(tx store.Tx) (err error) {
				got, err = tx.IncrementCouponUsage(b.ctx, b.a.AccountID, c.ID)
				return err
			})
			if err != nil || got != i {
				t.Fatalf("IncrementCouponUsage #%d = %d, %v", i, got, err)
			}
		}
		err = b.store.Write(b.ctx, func(tx store.Tx) error {
			_, err := tx.IncrementCouponUsage(b.ctx, b.a.AccountID, c.ID)
			return err
		})
		wantCode(t, "IncrementCouponUsage(past the limit)", err, tender.ECONFLICT)
		err = b.store.Write(b.ctx, func(tx store.Tx) error {
			_, err := tx.IncrementCouponUsage(b.ctx, b.b.AccountID, c.ID)
			return err
		})
		wantCode(t, "IncrementCouponUsage(another account)", err, tender.ENOTFOUND)
		up := *c
		up.Name, up.UsageLimit, up.UsageCount, up.UpdatedAt = "Spring", 10, 0, at(time.Hour)
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCoupon(b.ctx, &up) })
		got, err = byID(b.a.AccountID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := up
		want.UsageCount = 3
		wantDiff(t, "coupon after update (usage count kept)", &want, got)
		var used int
		mustWrite(t, b, func(tx store.Tx) (err error) {
			used, err = tx.IncrementCouponUsage(b.ctx, b.a.AccountID, c.ID)
			return err
		})
		wantDiff(t, "usage under the raised limit", 4, used)

		// A deleted coupon keeps its row and frees its code.
		del := *got
		del.DeletedAt = ptr(at(2 * time.Hour))
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCoupon(b.ctx, &del) })
		got, err = byID(b.a.AccountID, c.ID)
		if err != nil || got.DeletedAt == nil {
			t.Fatalf("FindCouponByID(deleted) = %+v, %v; want the deleted coupon", got, err)
		}
		_, err = byCode(b.a.AccountID, "SPRING10")
		wantCode(t, "FindCouponByCode(deleted)", err, tender.ENOTFOUND)
		err = b.store.Write(b.ctx, func(tx store.Tx) error {
			_, err := tx.IncrementCouponUsage(b.ctx, b.a.AccountID, c.ID)
			return err
		})
		wantCode(t, "IncrementCouponUsage(deleted)", err, tender.ENOTFOUND)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateCoupon(b.ctx, b.coupon(b.a.AccountID, "spring10")) })
	})
	t.Run("ListCoupons", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		now := b.clock.Now()
		mk := func(code string, edit func(c *tender.Coupon)) *tender.Coupon {
			c := b.coupon(b.a.AccountID, code)
			c.EndDate, c.UsageLimit = nil, 0
			if edit != nil {
				edit(c)
			}
			b.clock.Advance(time.Millisecond)
			return c
		}
		cs := []*tender.Coupon{
			mk("ACTIVE", nil),
			mk("LATER", func(c *tender.Coupon) { c.StartDate = now.Add(time.Hour) }),
			mk("ENDED", func(c *tender.Coupon) { c.EndDate = ptr(now) }),
			mk("ENDING", func(c *tender.Coupon) { c.EndDate = ptr(now.Add(time.Microsecond)) }),
			mk("USEDUP", func(c *tender.Coupon) { c.UsageLimit, c.UsageCount = 2, 2 }),
			mk("ROOM", func(c *tender.Coupon) { c.UsageLimit, c.UsageCount, c.Name = 2, 1, "50% off" }),
			mk("GONE", func(c *tender.Coupon) { c.DeletedAt = ptr(now) }),
		}
		mustWrite(t, b, func(tx store.Tx) error {
			for _, c := range append(cs, b.coupon(b.b.AccountID, "FOREIGN")) {
				if err := tx.CreateCoupon(b.ctx, c); err != nil {
					return err
				}
			}
			return nil
		})
		list := func(f tender.CouponFilter) ([]string, int) {
			t.Helper()
			f.Now = now
			var got []*tender.Coupon
			var n int
			mustRead(t, b, func(tx store.Tx) (err error) {
				got, n, err = tx.ListCoupons(b.ctx, b.a.AccountID, f)
				return err
			})
			codes := []string{}
			for _, c := range got {
				codes = append(codes, c.Code)
				if want := c.StatusAt(now); f.Status != "" && want != f.Status {
					t.Errorf("coupon %s listed as %s, but StatusAt says %s", c.Code, f.Status, want)
				}
			}
			return codes, n
		}
		codes, n := list(tender.CouponFilter{})
		wantDiff(t, "all, newest first", []string{"ROOM", "USEDUP", "ENDING", "ENDED", "LATER", "ACTIVE"}, codes)
		wantDiff(t, "total", 6, n)
		codes, _ = list(tender.CouponFilter{Status: tender.CouponActive})
		wantDiff(t, "active", []string{"ROOM", "ENDING", "ACTIVE"}, codes)
		codes, _ = list(tender.CouponFilter{Status: tender.CouponScheduled})
		wantDiff(t, "scheduled", []string{"LATER"}, codes)
		codes, n = list(tender.CouponFilter{Status: tender.CouponExpired})
		wantDiff(t, "expired (by date or usage)", []string{"USEDUP", "ENDED"}, codes)
		wantDiff(t, "expired total", 2, n)
		codes, _ = list(tender.CouponFilter{Search: "end"})
		wantDiff(t, "search in codes", []string{"ENDING", "ENDED"}, codes)
		codes, _ = list(tender.CouponFilter{Search: "50%"})
		wantDiff(t, "search in names", []string{"ROOM"}, codes)
		codes, n = list(tender.CouponFilter{Limit: 2, Offset: 2})
		wantDiff(t, "page", []string{"ENDING", "ENDED"}, codes)
		wantDiff(t, "paged total", 6, n)
		_, err := read(b, func(tx store.Tx) ([]*tender.Coupon, error) {
			cs, _, err := tx.ListCoupons(b.ctx, b.a.AccountID, tender.CouponFilter{Status: "bogus", Now: now})
			return cs, err
		})
		wantCode(t, "ListCoupons(unknown status)", err, tender.EINVALID)
	})
	t.Run("Redemptions", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := b.coupon(b.a.AccountID, "ONCE")
		now := b.clock.Now()
		r := func(contact string) *tender.CouponRedemption {
			return &tender.CouponRedemption{ID: tender.NewID(tender.PrefixRedemption, now), AccountID: b.a.AccountID, CouponID: c.ID,
				ContactID: contact, RedeemedBy: "ord_1", CreatedAt: now}
		}
		mustWrite(t, b, func(tx store.Tx) error {
			if err := tx.CreateCoupon(b.ctx, c); err != nil {
				return err
			}
			for _, x := range []*tender.CouponRedemption{r("ada"), r("ada"), r("bob")} {
				if err := tx.CreateCouponRedemption(b.ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
		count := func(accountID, contact string) int {
			return mustFind(t, b, func(tx store.Tx) (int, error) { return tx.CountCouponRedemptions(b.ctx, accountID, c.ID, contact) })
		}
		wantDiff(t, "ada's redemptions", 2, count(b.a.AccountID, "ada"))
		wantDiff(t, "bob's redemptions", 1, count(b.a.AccountID, "bob"))
		wantDiff(t, "cy's redemptions", 0, count(b.a.AccountID, "cy"))
		wantDiff(t, "ada's redemptions in another account", 0, count(b.b.AccountID, "ada"))
	})
}
