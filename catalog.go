package tender

import "time"

// The catalog: products, their prices and coupons. They belong to an
// account (a HighLevel location) without a mode: one catalog serves live
// and test orders alike. Package catalog holds their rules.

// Product types (HighLevel's productType).
const (
	ProductDigital         = "DIGITAL"
	ProductPhysical        = "PHYSICAL"
	ProductService         = "SERVICE"
	ProductPhysicalDigital = "PHYSICAL/DIGITAL"
)

// ProductTypes are the valid product types.
var ProductTypes = []string{ProductDigital, ProductPhysical, ProductService, ProductPhysicalDigital}

// Product is a thing an account sells. Its prices say for how much.
// A deleted product keeps its row (DeletedAt set): orders that sold it
// still find it by id, while lists and gets hide it.
type Product struct {
	ID                     string           `json:"id"`
	AccountID              string           `json:"account_id"`
	Name                   string           `json:"name"`
	Description            string           `json:"description,omitempty"`
	ProductType            string           `json:"product_type"`
	Image                  string           `json:"image,omitempty"`
	StatementDescriptor    string           `json:"statement_descriptor,omitempty"`
	AvailableInStore       bool             `json:"available_in_store,omitempty"`
	Variants               []ProductVariant `json:"variants,omitempty"`
	CollectionIDs          []string         `json:"collection_ids,omitempty"`
	IsTaxesEnabled         bool             `json:"is_taxes_enabled,omitempty"`
	Taxes                  []string         `json:"taxes,omitempty"`
	AutomaticTaxCategoryID string           `json:"automatic_tax_category_id,omitempty"`
	Label                  *ProductLabel    `json:"label,omitempty"`
	Slug                   string           `json:"slug,omitempty"`
	CreatedAt              time.Time        `json:"created_at"`
	UpdatedAt              time.Time        `json:"updated_at"`
	DeletedAt              *time.Time       `json:"deleted_at,omitempty"`
}

// ProductVariant is one dimension a product varies in (Size), with its
// options (S, M, L). A price names the options it is for.
type ProductVariant struct {
	ID      string                 `json:"id"`
	Name    string                 `json:"name"`
	Options []ProductVariantOption `json:"options"`
}

// ProductVariantOption is one value of a variant.
type ProductVariantOption struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ProductLabel is a badge shown on a product ("Featured"), optionally
// between two times.
type ProductLabel struct {
	Title     string     `json:"title"`
	StartDate *time.Time `json:"start_date,omitempty"`
	EndDate   *time.Time `json:"end_date,omitempty"`
}

// Price types.
const (
	PriceOneTime   = "one_time"
	PriceRecurring = "recurring"
)

// Recurring intervals.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
	IntervalYear  = "year"
)

// Price is an amount a product sells for: once (one_time) or every
// Recurring period (recurring). Amounts are minor units of Currency.
// A deleted price keeps its row (DeletedAt set), so that an order that
// sold it still finds it by id; lists and gets hide it.
type Price struct {
	ID          string     `json:"id"`
	AccountID   string     `json:"account_id"`
	ProductID   string     `json:"product_id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Type        string     `json:"type"`
	Currency    Currency   `json:"currency"`
	Amount      int64      `json:"amount"`
	Recurring   *Recurring `json:"recurring,omitempty"`
	// TrialPeriodDays and TotalCycles (0 = until cancelled) apply to
	// recurring prices; SetupFee is charged with the first period.
	TrialPeriodDays  int      `json:"trial_period_days,omitempty"`
	TotalCycles      int      `json:"total_cycles,omitempty"`
	SetupFee         int64    `json:"setup_fee,omitempty"`
	CompareAtPrice   *int64   `json:"compare_at_price,omitempty"`
	VariantOptionIDs []string `json:"variant_option_ids,omitempty"`
	SKU              string   `json:"sku,omitempty"`
	// Inventory: AvailableQuantity counts only when TrackInventory.
	TrackInventory           bool       `json:"track_inventory,omitempty"`
	AvailableQuantity        *int64     `json:"available_quantity,omitempty"`
	AllowOutOfStockPurchases bool       `json:"allow_out_of_stock_purchases,omitempty"`
	UserID                   string     `json:"user_id,omitempty"`
	CreatedAt                time.Time  `json:"created_at"`
	UpdatedAt                time.Time  `json:"updated_at"`
	DeletedAt                *time.Time `json:"deleted_at,omitempty"`
}

// Recurring is a recurring price's period: IntervalCount Intervals.
type Recurring struct {
	Interval      string `json:"interval"`
	IntervalCount int    `json:"interval_count"`
}

// ProductFilter selects an account's undeleted products for a list.
// Zero fields do not filter.
type ProductFilter struct {
	// Search matches names containing it, ignoring case.
	Search string
	// IDs keeps only these products.
	IDs []string
	// Limit (0 = no limit) and Offset page the list, newest first, or
	// oldest first with Ascending.
	Limit, Offset int
	Ascending     bool
}

// PriceFilter selects a product's undeleted prices for a list.
type PriceFilter struct {
	// IDs keeps only these prices.
	IDs []string
	// Limit (0 = no limit) and Offset page the list, oldest first.
	Limit, Offset int
}

// Coupon discount types.
const (
	DiscountPercentage = "percentage"
	DiscountAmount     = "amount"
)

// Coupon statuses, computed from the dates and usage at read time (see
// Coupon.StatusAt).
const (
	CouponScheduled = "scheduled"
	CouponActive    = "active"
	CouponExpired   = "expired"
)

// CouponStatuses are the coupon statuses a list may filter on.
var CouponStatuses = []string{CouponScheduled, CouponActive, CouponExpired}

// Future-payments durations: a coupon used on a subscription discounts
// every later payment (forever) or those of the first Duration months
// (fixed).
const (
	FuturePaymentsForever = "forever"
	FuturePaymentsFixed   = "fixed"
	DurationMonths        = "months"
)

// PercentScale is the unit of a percentage coupon's DiscountValue:
// hundredths of a percent, so 25% is 2500 and 12.5% is 1250.
const PercentScale = 100

// Coupon is a discount code of an account. Codes are unique per account
// ignoring case among undeleted coupons. A deleted coupon keeps its row
// (DeletedAt set) for the orders that used it.
type Coupon struct {
	ID           string `json:"id"`
	AccountID    string `json:"account_id"`
	Name         string `json:"name"`
	Code         string `json:"code"`
	DiscountType string `json:"discount_type"`
	// DiscountValue is, for a percentage coupon, hundredths of a percent
	// (PercentScale: 1 to 10000); for an amount coupon, minor units of
	// Currency.
	DiscountValue int64 `json:"discount_value"`
	// Currency is an amount coupon's currency; it applies only to orders
	// in that currency. Percentage coupons have none.
	Currency  Currency   `json:"currency,omitempty"`
	StartDate time.Time  `json:"start_date"`
	EndDate   *time.Time `json:"end_date,omitempty"`
	// UsageLimit caps redemptions over all customers (0 = no limit);
	// UsageCount counts them.
	UsageLimit int `json:"usage_limit,omitempty"`
	UsageCount int `json:"usage_count"`
	// Status is computed when the coupon is read (StatusAt the read's
	// time) and never stored.
	Status string `json:"-"`
	// LimitPerCustomer caps one contact's redemptions (0 = no limit).
	LimitPerCustomer int `json:"limit_per_customer,omitempty"`
	// ProductIDs and PriceIDs restrict the coupon to order lines of those
	// products or prices; both empty means every line. VariantIDs are
	// kept and shown, not enforced.
	ProductIDs []string `json:"product_ids,omitempty"`
	PriceIDs   []string `json:"price_ids,omitempty"`
	VariantIDs []string `json:"variant_ids,omitempty"`
	// ApplyToFuturePayments says whether the coupon also discounts a
	// subscription's later payments, for how long FuturePayments says.
	ApplyToFuturePayments bool                 `json:"apply_to_future_payments"`
	FuturePayments        FuturePaymentsConfig `json:"future_payments"`
	UserID                string               `json:"user_id,omitempty"`
	CreatedAt             time.Time            `json:"created_at"`
	UpdatedAt             time.Time            `json:"updated_at"`
	DeletedAt             *time.Time           `json:"deleted_at,omitempty"`
}

// FuturePaymentsConfig is how long a coupon keeps discounting a
// subscription: forever, or Duration DurationTypes (months) when fixed.
type FuturePaymentsConfig struct {
	Type         string `json:"type"`
	Duration     int    `json:"duration,omitempty"`
	DurationType string `json:"duration_type,omitempty"`
}

// StatusAt is the coupon's status at now: scheduled before StartDate,
// expired from EndDate on or once UsageCount reaches UsageLimit, and
// active otherwise.
func (c *Coupon) StatusAt(now time.Time) string {
	switch {
	case now.Before(c.StartDate):
		return CouponScheduled
	case c.EndDate != nil && !now.Before(*c.EndDate):
		return CouponExpired
	case c.UsageLimit > 0 && c.UsageCount >= c.UsageLimit:
		return CouponExpired
	}
	return CouponActive
}

// CouponFilter selects an account's undeleted coupons for a list.
type CouponFilter struct {
	// Status keeps coupons with that status at Now ("" = any).
	Status string
	Now    time.Time
	// Search matches names or codes containing it, ignoring case.
	Search string
	// Limit (0 = no limit) and Offset page the list, newest first.
	Limit, Offset int
}

// CouponRedemption is one use of a coupon by an order or a subscription
// (RedeemedBy names it), for a contact.
type CouponRedemption struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"`
	CouponID   string    `json:"coupon_id"`
	ContactID  string    `json:"contact_id,omitempty"`
	RedeemedBy string    `json:"redeemed_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Catalog events. A product or price has no mode, so each change is
// recorded once for each mode: endpoints of either mode see the catalog
// their orders sell from. Deleting a product records price.deleted for each
// of its prices, then product.deleted.
const (
	EventProductCreated = "product.created"
	EventProductUpdated = "product.updated"
	EventProductDeleted = "product.deleted"
	EventPriceCreated   = "price.created"
	EventPriceUpdated   = "price.updated"
	EventPriceDeleted   = "price.deleted"
)
