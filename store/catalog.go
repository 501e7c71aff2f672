package store

import (
	"context"

	"github.com/tenderpay/tender"
)

// CatalogTx stores products, prices and coupons. They belong to an account
// without a mode, so every method takes the account id, and no method
// reaches another account's rows: an id of another account is ENOTFOUND.
//
// Deleting is the caller's update that sets DeletedAt. Find methods by id
// return deleted objects too (orders keep pointing at what they sold);
// lists and FindCouponByCode leave them out.
type CatalogTx interface {
	// CreateProduct inserts p.
	CreateProduct(ctx context.Context, p *tender.Product) error
	// UpdateProduct overwrites the stored product with p; ENOTFOUND when
	// p.ID is not a product of p.AccountID.
	UpdateProduct(ctx context.Context, p *tender.Product) error
	// FindProductByID returns ENOTFOUND for an unknown id or another
	// account's.
	FindProductByID(ctx context.Context, accountID, id string) (*tender.Product, error)
	// ListProducts returns the page of f's undeleted matches and the number
	// of matches over all pages.
	ListProducts(ctx context.Context, accountID string, f tender.ProductFilter) ([]*tender.Product, int, error)

	// CreatePrice inserts p.
	CreatePrice(ctx context.Context, p *tender.Price) error
	// UpdatePrice overwrites the stored price with p; ENOTFOUND when p.ID
	// is not a price of p.AccountID.
	UpdatePrice(ctx context.Context, p *tender.Price) error
	// FindPriceByID returns ENOTFOUND for an unknown id or another
	// account's.
	FindPriceByID(ctx context.Context, accountID, id string) (*tender.Price, error)
	// ListPrices returns the page of the product's undeleted prices
	// matching f, oldest first, and the number of matches over all pages.
	ListPrices(ctx context.Context, accountID, productID string, f tender.PriceFilter) ([]*tender.Price, int, error)

	// CreateCoupon inserts c; ECONFLICT when an undeleted coupon of the
	// account has the same code ignoring case.
	CreateCoupon(ctx context.Context, c *tender.Coupon) error
	// UpdateCoupon overwrites the stored coupon with c, except its usage
	// count, which only IncrementCouponUsage changes; ENOTFOUND when c.ID
	// is not a coupon of c.AccountID, ECONFLICT when another undeleted
	// coupon has c's code ignoring case.
	UpdateCoupon(ctx context.Context, c *tender.Coupon) error
	// FindCouponByID returns ENOTFOUND for an unknown id or another
	// account's.
	FindCouponByID(ctx context.Context, accountID, id string) (*tender.Coupon, error)
	// FindCouponByCode returns the undeleted coupon whose code equals code
	// ignoring case; ENOTFOUND when there is none.
	FindCouponByCode(ctx context.Context, accountID, code string) (*tender.Coupon, error)
	// ListCoupons returns the page of f's undeleted matches, newest first,
	// and the number of matches over all pages.
	ListCoupons(ctx context.Context, accountID string, f tender.CouponFilter) ([]*tender.Coupon, int, error)
	// IncrementCouponUsage adds one to the coupon's usage count and returns
	// the new count. It returns ECONFLICT, changing nothing, when the
	// coupon has a usage limit and the count has reached it, and ENOTFOUND
	// for an unknown, deleted or foreign coupon.
	IncrementCouponUsage(ctx context.Context, accountID, couponID string) (int, error)
	// CreateCouponRedemption records one use of a coupon.
	CreateCouponRedemption(ctx context.Context, r *tender.CouponRedemption) error
	// CountCouponRedemptions counts a coupon's redemptions for one contact.
	CountCouponRedemptions(ctx context.Context, accountID, couponID, contactID string) (int, error)
}
