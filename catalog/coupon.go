package catalog

import (
	"context"
	"math/bits"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// DiscountTypes are the valid coupon discount types.
var DiscountTypes = []string{tender.DiscountPercentage, tender.DiscountAmount}

// DefaultCouponCurrency is an amount coupon's currency when none is given.
const DefaultCouponCurrency tender.Currency = "USD"

// maxCode bounds a coupon code's length.
const maxCode = 100

// CouponParams are a coupon's values, for a create or a full replace.
type CouponParams struct {
	Name         string
	Code         string
	DiscountType string
	// DiscountValue is the decimal number as the caller sent it: a
	// percentage (more than 0, at most 100, at most two decimals) or an
	// amount in major units of Currency (more than 0).
	DiscountValue string
	// Currency is an amount coupon's currency ("" is
	// DefaultCouponCurrency); a percentage coupon ignores it.
	Currency tender.Currency
	// StartDate is required; EndDate, when set, must be after it.
	StartDate time.Time
	EndDate   *time.Time
	// UsageLimit, when set, must be at least 1.
	UsageLimit *int
	// LimitPerCustomer is the most redemptions one contact may make
	// (0 = no limit).
	LimitPerCustomer int
	// ProductIDs and PriceIDs must be undeleted products and prices of the
	// account; VariantIDs are kept as given.
	ProductIDs []string
	PriceIDs   []string
	VariantIDs []string
	// ApplyToFuturePayments defaults to true; FuturePayments to forever.
	ApplyToFuturePayments *bool
	FuturePayments        *tender.FuturePaymentsConfig
	UserID                string
}

// fieldConflict is an ECONFLICT naming field, for a value that is well
// formed but cannot be used in the current state.
func fieldConflict(field, problem string) error {
	return &tender.Error{Code: tender.ECONFLICT, Message: field + " " + problem, Fields: map[string]string{field: problem}}
}

func errCouponNotFound() error { return tender.Errorf(tender.ENOTFOUND, "Coupon not found") }

// validate checks p's values alone and returns the coupon they make
// (without ids, times or usage).
func (p *CouponParams) validate() (*tender.Coupon, error) {
	var v tender.Validation
	c := &tender.Coupon{Name: p.Name, Code: strings.TrimSpace(p.Code), DiscountType: p.DiscountType, StartDate: p.StartDate.UTC(),
		LimitPerCustomer: p.LimitPerCustomer, ProductIDs: p.ProductIDs, PriceIDs: p.PriceIDs, VariantIDs: p.VariantIDs,
		ApplyToFuturePayments: true, FuturePayments: tender.FuturePaymentsConfig{Type: tender.FuturePaymentsForever}, UserID: p.UserID}
	checkText(&v, "name", p.Name, maxName, true)
	checkText(&v, "userId", p.UserID, maxName, false)
	switch {
	case c.Code == "":
		v.Add("code", "should not be empty")
	case len(c.Code) > maxCode:
		v.Add("code", "must be shorter than or equal to "+itoa(maxCode)+" characters")
	case strings.IndexFunc(c.Code, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		v.Add("code", "must not contain spaces")
	}
	switch p.DiscountType {
	case tender.DiscountPercentage:
		// Hundredths of a percent, parsed as a two-decimal amount.
		n, err := tender.ParseMajor(p.DiscountValue, "USD")
		switch {
		case err != nil:
			v.Add("discountValue", "must be a number with at most 2 decimals")
		case n <= 0 || n > 100*tender.PercentScale:
			v.Add("discountValue", "must be more than 0 and at most 100 for a percentage discount")
		}
		c.DiscountValue = n
	case tender.DiscountAmount:
		c.Currency = p.Currency
		if c.Currency == "" {
			c.Currency = DefaultCouponCurrency
		}
		cur, err := tender.ParseCurrency(string(c.Currency))
		if err != nil {
			v.Add("currency", "must be a three-letter ISO 4217 currency code")
			break
		}
		c.Currency = cur
		n, err := tender.ParseMajor(p.DiscountValue, cur)
		switch {
		case err != nil:
			v.Add("discountValue", "must be a number with at most "+itoa(cur.Digits())+" decimals")
		case n <= 0:
			v.Add("discountValue", "must be more than 0")
		case n > tender.MaxAmount:
			v.Add("discountValue", "must not be greater than "+tender.Money{Amount: tender.MaxAmount, Currency: cur}.Major())
		}
		c.DiscountValue = n
	default:
		v.Add("discountType", oneOf(DiscountTypes))
	}
	if p.StartDate.IsZero() {
		v.Add("startDate", "should not be empty")
	}
	if p.EndDate != nil {
		end := p.EndDate.UTC()
		c.EndDate = &end
		if !p.StartDate.IsZero() && !end.After(c.StartDate) {
			v.Add("endDate", "must be after startDate")
		}
	}
	if p.UsageLimit != nil {
		if *p.UsageLimit < 1 {
			v.Add("usageLimit", "must not be less than 1")
		}
		c.UsageLimit = *p.UsageLimit
	}
	if p.LimitPerCustomer < 0 {
		v.Add("limitPerCustomer", "must not be less than 0")
	}
	checkIDs(&v, "productIds", p.ProductIDs)
	checkIDs(&v, "priceIds", p.PriceIDs)
	checkIDs(&v, "variantIds", p.VariantIDs)
	if p.ApplyToFuturePayments != nil {
		c.ApplyToFuturePayments = *p.ApplyToFuturePayments
	}
	if f := p.FuturePayments; f != nil {
		switch f.Type {
		case tender.FuturePaymentsForever:
			// Duration means nothing for forever; it is not kept.
		case tender.FuturePaymentsFixed:
			c.FuturePayments = tender.FuturePaymentsConfig{Type: f.Type, Duration: f.Duration, DurationType: f.DurationType}
			if c.FuturePayments.DurationType == "" {
				c.FuturePayments.DurationType = tender.DurationMonths
			}
			switch {
			case f.Duration < 1:
				v.Add("applyToFuturePaymentsConfig.duration", "must not be less than 1")
			case f.Duration > 1200:
				v.Add("applyToFuturePaymentsConfig.duration", "must not be greater than 1200")
			}
			if c.FuturePayments.DurationType != tender.DurationMonths {
				v.Add("applyToFuturePaymentsConfig.durationType", oneOf([]string{tender.DurationMonths}))
			}
		default:
			v.Add("applyToFuturePaymentsConfig.type", oneOf([]string{tender.FuturePaymentsForever, tender.FuturePaymentsFixed}))
		}
	}
	return c, v.Err()
}

// checkRefs verifies that the coupon's products and prices are undeleted
// ones of the account.
func checkRefs(ctx context.Context, tx store.Tx, accountID string, c *tender.Coupon) error {
	for _, id := range c.ProductIDs {
		p, err := tx.FindProductByID(ctx, accountID, id)
		if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && p.DeletedAt != nil) {
			return tender.FieldError("productIds", "must name products of the location; "+id+" is not one")
		} else if err != nil {
			return err
		}
	}
	for _, id := range c.PriceIDs {
		p, err := tx.FindPriceByID(ctx, accountID, id)
		if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && p.DeletedAt != nil) {
			return tender.FieldError("priceIds", "must name prices of the location; "+id+" is not one")
		} else if err != nil {
			return err
		}
	}
	return nil
}

// checkCode returns ECONFLICT naming code when another undeleted coupon of
// the account has c's code, ignoring case.
func checkCode(ctx context.Context, tx store.Tx, c *tender.Coupon) error {
	other, err := tx.FindCouponByCode(ctx, c.AccountID, c.Code)
	switch {
	case tender.ErrorCode(err) == tender.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case other.ID != c.ID:
		return errCodeTaken()
	}
	return nil
}

func errCodeTaken() error {
	return fieldConflict("code", "is already used by another coupon of this location (codes ignore case)")
}

// codeConflict turns the store's ECONFLICT (the unique code index, when
// two requests race) into the code's error.
func codeConflict(err error) error {
	if tender.ErrorCode(err) == tender.ECONFLICT {
		return errCodeTaken()
	}
	return err
}

// withStatus sets c.Status at now and returns c.
func withStatus(c *tender.Coupon, now time.Time) *tender.Coupon {
	c.Status = c.StatusAt(now)
	return c
}

// CreateCoupon adds a coupon to the scope's account. Its Status is set.
func (s *Service) CreateCoupon(ctx context.Context, sc tender.Scope, p CouponParams) (*tender.Coupon, error) {
	c, err := p.validate()
	if err != nil {
		return nil, err
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		c.ID, c.AccountID, c.CreatedAt, c.UpdatedAt = tender.NewID(tender.PrefixCoupon, now), sc.AccountID, now, now
		if err := checkRefs(ctx, tx, sc.AccountID, c); err != nil {
			return err
		}
		if err := checkCode(ctx, tx, c); err != nil {
			return err
		}
		if err := tx.CreateCoupon(ctx, c); err != nil {
			return codeConflict(err)
		}
		withStatus(c, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// liveCoupon returns the account's undeleted coupon id.
func liveCoupon(ctx context.Context, tx store.Tx, accountID, id string) (*tender.Coupon, error) {
	c, err := tx.FindCouponByID(ctx, accountID, id)
	if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && c.DeletedAt != nil) {
		return nil, errCouponNotFound()
	}
	return c, err
}

// UpdateCoupon replaces every value of the coupon id with p's. Its usage
// count stays; a usage limit below it makes the coupon expired.
func (s *Service) UpdateCoupon(ctx context.Context, sc tender.Scope, id string, p CouponParams) (*tender.Coupon, error) {
	c, err := p.validate()
	if err != nil {
		return nil, err
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		old, err := liveCoupon(ctx, tx, sc.AccountID, id)
		if err != nil {
			return err
		}
		c.ID, c.AccountID, c.CreatedAt, c.UpdatedAt, c.UsageCount = old.ID, old.AccountID, old.CreatedAt, tx.Now(), old.UsageCount
		if err := checkRefs(ctx, tx, sc.AccountID, c); err != nil {
			return err
		}
		if err := checkCode(ctx, tx, c); err != nil {
			return err
		}
		if err := tx.UpdateCoupon(ctx, c); err != nil {
			return codeConflict(err)
		}
		withStatus(c, tx.Now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteCoupon deletes the coupon id. Its code is free for a new coupon.
func (s *Service) DeleteCoupon(ctx context.Context, sc tender.Scope, id string) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		c, err := liveCoupon(ctx, tx, sc.AccountID, id)
		if err != nil {
			return err
		}
		now := tx.Now()
		c.DeletedAt, c.UpdatedAt = &now, now
		return tx.UpdateCoupon(ctx, c)
	})
}

// GetCoupon returns the account's undeleted coupon with id, or with code
// (ignoring case) when id is empty; when both are given the coupon must
// have both. Its Status is set. ENOTFOUND ("Coupon not found") otherwise.
func (s *Service) GetCoupon(ctx context.Context, sc tender.Scope, id, code string) (*tender.Coupon, error) {
	if id == "" && code == "" {
		return nil, tender.FieldError("id", "should not be empty when code is empty")
	}
	var out *tender.Coupon
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var c *tender.Coupon
		var err error
		if id != "" {
			c, err = liveCoupon(ctx, tx, sc.AccountID, id)
			if err == nil && code != "" && !strings.EqualFold(c.Code, strings.TrimSpace(code)) {
				err = errCouponNotFound()
			}
		} else {
			c, err = s.FindCouponByCode(ctx, tx, sc.AccountID, code)
		}
		if err != nil {
			return err
		}
		out = withStatus(c, tx.Now())
		return nil
	})
	return out, err
}

// ListCoupons returns a page of the account's coupons, newest first, each
// with its Status, and how many match over all pages. f.Now is set to the
// transaction's time.
func (s *Service) ListCoupons(ctx context.Context, sc tender.Scope, f tender.CouponFilter) ([]*tender.Coupon, int, error) {
	if f.Status != "" && !slices.Contains(tender.CouponStatuses, f.Status) {
		return nil, 0, tender.FieldError("status", oneOf(tender.CouponStatuses))
	}
	var out []*tender.Coupon
	var total int
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		f.Now = tx.Now()
		out, total, err = tx.ListCoupons(ctx, sc.AccountID, f)
		for _, c := range out {
			withStatus(c, f.Now)
		}
		return err
	})
	return out, total, err
}

// FindCouponByCode returns the account's undeleted coupon whose code is
// code ignoring case, with its Status at the transaction's time, in the
// caller's transaction. ENOTFOUND ("Coupon not found") when there is none.
// It does not check that the coupon can be used now: RedeemCoupon does.
func (s *Service) FindCouponByCode(ctx context.Context, tx store.Tx, accountID, code string) (*tender.Coupon, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, errCouponNotFound()
	}
	c, err := tx.FindCouponByCode(ctx, accountID, code)
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil, errCouponNotFound()
	} else if err != nil {
		return nil, err
	}
	return withStatus(c, tx.Now()), nil
}

// Line is one order line as ApplyCoupon sees it: what it sells and its
// total (unit amount × quantity) in minor units of Currency.
type Line struct {
	ProductID string
	PriceID   string
	Amount    int64
	Currency  tender.Currency
}

// Eligible reports whether the coupon discounts line: every line when the
// coupon names no products and no prices, else the lines of its products
// and of its prices.
func Eligible(c *tender.Coupon, l Line) bool {
	if len(c.ProductIDs) == 0 && len(c.PriceIDs) == 0 {
		return true
	}
	return slices.Contains(c.ProductIDs, l.ProductID) || slices.Contains(c.PriceIDs, l.PriceID)
}

// ApplyCoupon returns the discount, in minor units of the lines' currency,
// that coupon c gives on lines. It does not check the coupon's dates or
// usage (RedeemCoupon does).
//
// The eligible subtotal is the sum of the Eligible lines' amounts. A
// percentage coupon's discount is that subtotal times the percentage,
// rounded once, half up, to a whole minor unit (10% of 0.05 USD is 0.01
// USD; 12.5% of 0.04 USD is 0.01 USD); a 100% coupon gives the whole
// subtotal. An amount coupon gives its amount, capped at the eligible
// subtotal, and applies only to lines in its own currency. The discount is
// never negative and never more than the eligible subtotal.
//
// It returns EINVALID naming couponCode when no line is eligible or an
// amount coupon's currency is not the lines', and EINVALID naming items
// when lines are empty, mix currencies or hold a negative amount.
func ApplyCoupon(c *tender.Coupon, lines []Line) (int64, error) {
	if len(lines) == 0 {
		return 0, tender.FieldError("items", "should not be empty")
	}
	cur := lines[0].Currency
	var eligible int64
	found := false
	for _, l := range lines {
		if l.Currency != cur {
			return 0, tender.FieldError("items", "must all be in one currency")
		}
		if l.Amount < 0 {
			return 0, tender.FieldError("items", "must not have a negative amount")
		}
		if !Eligible(c, l) {
			continue
		}
		found = true
		var err error
		if eligible, err = tender.AddAmounts(eligible, l.Amount); err != nil {
			return 0, err
		}
	}
	if !found {
		return 0, tender.FieldError("couponCode", "does not apply to any item of the order")
	}
	switch c.DiscountType {
	case tender.DiscountPercentage:
		return percentOf(eligible, c.DiscountValue), nil
	case tender.DiscountAmount:
		if c.Currency != cur {
			return 0, tender.FieldError("couponCode", "is for "+string(c.Currency)+" orders, not "+string(cur))
		}
		return min(c.DiscountValue, eligible), nil
	}
	return 0, tender.Errorf(tender.EINTERNAL, "coupon %s has unknown discount type %q", c.ID, c.DiscountType)
}

// percentOf returns amount × hundredths / 10000, rounded half up, for
// amount ≥ 0 and 0 ≤ hundredths ≤ 10000, without overflow.
func percentOf(amount, hundredths int64) int64 {
	const scale = 100 * tender.PercentScale
	hi, lo := bits.Mul64(uint64(amount), uint64(hundredths))
	lo, carry := bits.Add64(lo, scale/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, scale) // hi < scale: the quotient is at most amount
	return int64(q)
}

// RedeemCoupon counts one use of coupon c by contactID for redeemedBy (the
// order's or subscription's id), in the caller's transaction, so that the
// count commits or rolls back with the order. It re-reads the coupon and
// returns:
//   - ENOTFOUND ("Coupon not found") when it is deleted;
//   - ECONFLICT naming couponCode when it is scheduled (not started),
//     expired (past its end date), used up (its usage limit reached), or
//     already used LimitPerCustomer times by contactID;
//   - EINVALID naming contactId when the coupon is limited per customer
//     and contactID is empty.
//
// On success c.UsageCount and c.Status are the new ones.
func (s *Service) RedeemCoupon(ctx context.Context, tx store.Tx, c *tender.Coupon, contactID, redeemedBy string) error {
	cur, err := liveCoupon(ctx, tx, c.AccountID, c.ID)
	if err != nil {
		return err
	}
	now := tx.Now()
	switch cur.StatusAt(now) {
	case tender.CouponScheduled:
		return fieldConflict("couponCode", "is not active until "+cur.StartDate.Format(time.RFC3339))
	case tender.CouponExpired:
		if cur.UsageLimit > 0 && cur.UsageCount >= cur.UsageLimit {
			return fieldConflict("couponCode", "has reached its usage limit")
		}
		return fieldConflict("couponCode", "has expired")
	}
	if cur.LimitPerCustomer > 0 {
		if contactID == "" {
			return tender.FieldError("contactId", "should not be empty when the coupon is limited per customer")
		}
		n, err := tx.CountCouponRedemptions(ctx, cur.AccountID, cur.ID, contactID)
		if err != nil {
			return err
		}
		if n >= cur.LimitPerCustomer {
			return fieldConflict("couponCode", "has already been used by this customer as many times as it allows")
		}
	}
	used, err := tx.IncrementCouponUsage(ctx, cur.AccountID, cur.ID)
	if tender.ErrorCode(err) == tender.ECONFLICT {
		return fieldConflict("couponCode", "has reached its usage limit")
	} else if err != nil {
		return err
	}
	err = tx.CreateCouponRedemption(ctx, &tender.CouponRedemption{ID: tender.NewID(tender.PrefixRedemption, now), AccountID: cur.AccountID,
		CouponID: cur.ID, ContactID: contactID, RedeemedBy: redeemedBy, CreatedAt: now})
	if err != nil {
		return err
	}
	c.UsageCount = used
	withStatus(c, now)
	return nil
}
