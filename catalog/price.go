package catalog

import (
	"context"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// PriceTypes are the valid price types.
var PriceTypes = []string{tender.PriceOneTime, tender.PriceRecurring}

// Intervals are the valid recurring intervals, with the largest count of
// each: a period is at most three years, as card networks and most
// processors allow.
var Intervals = map[string]int{
	tender.IntervalDay:   1095,
	tender.IntervalWeek:  156,
	tender.IntervalMonth: 36,
	tender.IntervalYear:  3,
}

var intervalNames = []string{tender.IntervalDay, tender.IntervalMonth, tender.IntervalWeek, tender.IntervalYear}

// PriceParams are a price's values, for a create or a full replace.
// Amounts are minor units of Currency (the dialect has converted them).
type PriceParams struct {
	Name        string
	Description string
	Type        string
	Currency    tender.Currency
	Amount      int64
	// Recurring is required for a recurring price and refused for a
	// one-time price.
	Recurring *tender.Recurring
	// TrialPeriodDays, TotalCycles and SetupFee apply to recurring prices
	// only. TotalCycles 0 means until cancelled.
	TrialPeriodDays int
	TotalCycles     int
	SetupFee        int64
	CompareAtPrice  *int64
	// VariantOptionIDs must be options of the product's variants.
	VariantOptionIDs         []string
	SKU                      string
	TrackInventory           bool
	AvailableQuantity        *int64
	AllowOutOfStockPurchases bool
	UserID                   string
}

func checkAmount(v *tender.Validation, field string, amount int64) {
	switch {
	case amount < 0:
		v.Add(field, "must not be less than 0")
	case amount > tender.MaxAmount:
		v.Add(field, "must not be greater than "+tender.Money{Amount: tender.MaxAmount, Currency: "USD"}.Major())
	}
}

func (p *PriceParams) validate(product *tender.Product) error {
	var v tender.Validation
	checkText(&v, "name", p.Name, maxName, true)
	checkText(&v, "description", p.Description, maxText, false)
	checkText(&v, "sku", p.SKU, maxName, false)
	checkText(&v, "userId", p.UserID, maxName, false)
	if _, err := tender.ParseCurrency(string(p.Currency)); err != nil || p.Currency == "" {
		v.Add("currency", "must be a three-letter ISO 4217 currency code")
	}
	checkAmount(&v, "amount", p.Amount)
	checkAmount(&v, "setupFee", p.SetupFee)
	if p.CompareAtPrice != nil {
		checkAmount(&v, "compareAtPrice", *p.CompareAtPrice)
	}
	switch p.Type {
	case tender.PriceOneTime:
		if p.Recurring != nil {
			v.Add("recurring", "must be empty for a one_time price")
		}
		if p.TrialPeriodDays != 0 {
			v.Add("trialPeriod", "applies to recurring prices only")
		}
		if p.TotalCycles != 0 {
			v.Add("totalCycles", "applies to recurring prices only")
		}
		if p.SetupFee != 0 {
			v.Add("setupFee", "applies to recurring prices only")
		}
	case tender.PriceRecurring:
		switch max, ok := Intervals[recurringInterval(p.Recurring)]; {
		case p.Recurring == nil:
			v.Add("recurring", "should not be empty for a recurring price")
		case !ok:
			v.Add("recurring.interval", oneOf(intervalNames))
		case p.Recurring.IntervalCount < 1:
			v.Add("recurring.intervalCount", "must not be less than 1")
		case p.Recurring.IntervalCount > max:
			v.Add("recurring.intervalCount", "must not be greater than "+itoa(max)+" for interval "+p.Recurring.Interval)
		}
		switch {
		case p.TrialPeriodDays < 0:
			v.Add("trialPeriod", "must not be less than 0")
		case p.TrialPeriodDays > 730:
			v.Add("trialPeriod", "must not be greater than 730")
		}
		if p.TotalCycles < 0 {
			v.Add("totalCycles", "must not be less than 1")
		}
	default:
		v.Add("type", oneOf(PriceTypes))
	}
	if p.AvailableQuantity != nil && *p.AvailableQuantity < 0 {
		v.Add("availableQuantity", "must not be less than 0")
	}
	checkIDs(&v, "variantOptionIds", p.VariantOptionIDs)
	options := variantOptions(product.Variants)
	for _, o := range p.VariantOptionIDs {
		if !options[o] {
			v.Add("variantOptionIds", "must name options of the product's variants; "+o+" is not one")
			break
		}
	}
	return v.Err()
}

func recurringInterval(r *tender.Recurring) string {
	if r == nil {
		return ""
	}
	return r.Interval
}

func (p *PriceParams) apply(pr *tender.Price) {
	pr.Name, pr.Description, pr.Type, pr.Currency, pr.Amount = p.Name, p.Description, p.Type, p.Currency, p.Amount
	pr.Recurring = nil
	if p.Recurring != nil {
		r := *p.Recurring
		pr.Recurring = &r
	}
	pr.TrialPeriodDays, pr.TotalCycles, pr.SetupFee, pr.CompareAtPrice = p.TrialPeriodDays, p.TotalCycles, p.SetupFee, p.CompareAtPrice
	pr.VariantOptionIDs, pr.SKU, pr.UserID = p.VariantOptionIDs, p.SKU, p.UserID
	pr.TrackInventory, pr.AvailableQuantity, pr.AllowOutOfStockPurchases = p.TrackInventory, p.AvailableQuantity, p.AllowOutOfStockPurchases
}

// CreatePrice adds a price to the account's product productID.
func (s *Service) CreatePrice(ctx context.Context, sc tender.Scope, productID string, p PriceParams) (*tender.Price, error) {
	var out *tender.Price
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		product, err := liveProduct(ctx, tx, sc.AccountID, productID)
		if err != nil {
			return err
		}
		if err := p.validate(product); err != nil {
			return err
		}
		now := tx.Now()
		pr := &tender.Price{ID: tender.NewID(tender.PrefixPrice, now), AccountID: sc.AccountID, ProductID: productID, CreatedAt: now, UpdatedAt: now}
		p.apply(pr)
		if err := tx.CreatePrice(ctx, pr); err != nil {
			return err
		}
		out = pr
		return record(ctx, tx, sc.AccountID, tender.EventPriceCreated, pr)
	})
	return out, err
}

// livePrice returns the product's undeleted price id, its product
// undeleted too.
func livePrice(ctx context.Context, tx store.Tx, accountID, productID, id string) (*tender.Price, *tender.Product, error) {
	product, err := liveProduct(ctx, tx, accountID, productID)
	if err != nil {
		return nil, nil, err
	}
	pr, err := tx.FindPriceByID(ctx, accountID, id)
	if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && (pr.DeletedAt != nil || pr.ProductID != productID)) {
		return nil, nil, errPriceNotFound()
	}
	return pr, product, err
}

// UpdatePrice replaces every value of the product's price id with p's.
func (s *Service) UpdatePrice(ctx context.Context, sc tender.Scope, productID, id string, p PriceParams) (*tender.Price, error) {
	var out *tender.Price
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		pr, product, err := livePrice(ctx, tx, sc.AccountID, productID, id)
		if err != nil {
			return err
		}
		if err := p.validate(product); err != nil {
			return err
		}
		cp := *pr
		p.apply(&cp)
		cp.UpdatedAt = tx.Now()
		if err := tx.UpdatePrice(ctx, &cp); err != nil {
			return err
		}
		out = &cp
		return record(ctx, tx, sc.AccountID, tender.EventPriceUpdated, &cp)
	})
	return out, err
}

// GetPrice returns the product's price id; ENOTFOUND when either is
// unknown or deleted, or the price is another product's.
func (s *Service) GetPrice(ctx context.Context, sc tender.Scope, productID, id string) (*tender.Price, error) {
	var out *tender.Price
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		out, _, err = livePrice(ctx, tx, sc.AccountID, productID, id)
		return err
	})
	return out, err
}

// ListPrices returns a page of the product's prices, oldest first, and how
// many match f over all pages.
func (s *Service) ListPrices(ctx context.Context, sc tender.Scope, productID string, f tender.PriceFilter) ([]*tender.Price, int, error) {
	var out []*tender.Price
	var total int
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		if _, err := liveProduct(ctx, tx, sc.AccountID, productID); err != nil {
			return err
		}
		var err error
		out, total, err = tx.ListPrices(ctx, sc.AccountID, productID, f)
		return err
	})
	return out, total, err
}

// DeletePrice deletes the product's price id.
func (s *Service) DeletePrice(ctx context.Context, sc tender.Scope, productID, id string) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		pr, _, err := livePrice(ctx, tx, sc.AccountID, productID, id)
		if err != nil {
			return err
		}
		now := tx.Now()
		cp := *pr
		cp.DeletedAt, cp.UpdatedAt = &now, now
		if err := tx.UpdatePrice(ctx, &cp); err != nil {
			return err
		}
		return record(ctx, tx, sc.AccountID, tender.EventPriceDeleted, &cp)
	})
}

// FindPrice returns the account's price priceID with its product, in the
// caller's transaction, even when either has been deleted since: an order
// that sold it keeps showing what it sold. It returns ENOTFOUND ("Price
// not found") for an unknown id or another account's.
func (s *Service) FindPrice(ctx context.Context, tx store.Tx, accountID, priceID string) (*tender.Price, *tender.Product, error) {
	pr, err := tx.FindPriceByID(ctx, accountID, priceID)
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil, nil, errPriceNotFound()
	} else if err != nil {
		return nil, nil, err
	}
	product, err := tx.FindProductByID(ctx, accountID, pr.ProductID)
	if err != nil {
		return nil, nil, err
	}
	return pr, product, nil
}

// FindPriceForSale is FindPrice for a new order: it also returns ENOTFOUND
// ("Price not found") when the price or its product is deleted.
func (s *Service) FindPriceForSale(ctx context.Context, tx store.Tx, accountID, priceID string) (*tender.Price, *tender.Product, error) {
	pr, product, err := s.FindPrice(ctx, tx, accountID, priceID)
	if err != nil {
		return nil, nil, err
	}
	if pr.DeletedAt != nil || product.DeletedAt != nil {
		return nil, nil, errPriceNotFound()
	}
	return pr, product, nil
}
