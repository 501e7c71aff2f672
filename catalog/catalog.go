// Package catalog holds the business rules of an account's catalog:
// products, their prices (one-time or recurring) and coupons, with the
// validation of their values, the computed coupon status, the discount
// arithmetic and coupon redemption. HighLevel's dialect is its only
// dialect today, so validation errors name fields as HighLevel's wire does
// (productType, discountValue, …).
//
// # Deletion
//
// Products, prices and coupons are never removed. Deleting one sets its
// DeletedAt: gets and lists answer as if it did not exist, while orders
// that used it still find it by id (FindPrice, and the store's Find
// methods). Deleting a product deletes its prices with it. A deleted
// coupon's code may be used again by a new coupon.
//
// # Events
//
// Every change of a product or a price records its event (product.created,
// product.updated, product.deleted, price.created, price.updated,
// price.deleted, with the object as it became) in the change's own
// transaction. The catalog has no mode, so each event is recorded twice,
// once for live and once for test: the endpoints of each mode are told of
// the catalog both modes sell from. Deleting a product records
// price.deleted for each of its prices before product.deleted. Coupons
// record no events: no dialect has a name for them.
//
// # For orders
//
// An order engine runs these in its own write transaction, so that the
// order, the coupon's usage and their events commit together:
//
//	price, product, err := svc.FindPriceForSale(ctx, tx, accountID, priceID)
//	coupon, err := svc.FindCouponByCode(ctx, tx, accountID, code)
//	discount, err := catalog.ApplyCoupon(coupon, lines)
//	err = svc.RedeemCoupon(ctx, tx, coupon, contactID, orderID)
//
// # Errors
//
// Methods return EINVALID naming the field for bad values, ENOTFOUND for
// an id that is unknown, deleted or of another account (the message says
// which object: "Product not found"), and ECONFLICT when a coupon cannot be
// used now (not started, expired, used up) or its code is taken.
package catalog

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/store"
)

// Service is the catalog.
type Service struct {
	Store store.Store
}

// New returns a Service over st.
func New(st store.Store) *Service { return &Service{Store: st} }

// Limits on free text, so that one request cannot store megabytes in a
// name.
const (
	maxName = 500
	maxText = 5000
	maxList = 500 // ids in a list (collectionIds, productIds, …)
)

func checkText(v *tender.Validation, field, s string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "should not be empty")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "must be shorter than or equal to "+itoa(max)+" characters")
	}
}

func checkIDs(v *tender.Validation, field string, ids []string) {
	if len(ids) > maxList {
		v.Add(field, "must contain no more than "+itoa(maxList)+" elements")
		return
	}
	for _, id := range ids {
		if strings.TrimSpace(id) == "" || len(id) > maxName {
			v.Add(field, "each value in "+field+" must be a non-empty string")
			return
		}
	}
}

func oneOf(values []string) string {
	return "must be one of the following values: " + strings.Join(values, ", ")
}

func itoa(n int) string { return strconv.Itoa(n) }

// ---- products ----

// ProductParams are a product's values, for a create or a full replace.
type ProductParams struct {
	Name                   string
	Description            string
	ProductType            string
	Image                  string
	StatementDescriptor    string
	AvailableInStore       bool
	Variants               []tender.ProductVariant
	CollectionIDs          []string
	IsTaxesEnabled         bool
	Taxes                  []string
	AutomaticTaxCategoryID string
	Label                  *tender.ProductLabel
	Slug                   string
}

func (p *ProductParams) validate() error {
	var v tender.Validation
	checkText(&v, "name", p.Name, maxName, true)
	checkText(&v, "description", p.Description, maxText, false)
	if !slices.Contains(tender.ProductTypes, p.ProductType) {
		v.Add("productType", oneOf(tender.ProductTypes))
	}
	checkText(&v, "image", p.Image, maxText, false)
	// Card networks show at most 22 characters of a statement descriptor.
	checkText(&v, "statementDescriptor", p.StatementDescriptor, 22, false)
	checkText(&v, "automaticTaxCategoryId", p.AutomaticTaxCategoryID, maxName, false)
	checkText(&v, "slug", p.Slug, maxName, false)
	checkIDs(&v, "collectionIds", p.CollectionIDs)
	checkIDs(&v, "taxes", p.Taxes)
	switch {
	case p.IsTaxesEnabled && len(p.Taxes) == 0:
		v.Add("taxes", "should not be empty when isTaxesEnabled is true")
	case !p.IsTaxesEnabled && len(p.Taxes) > 0:
		v.Add("isTaxesEnabled", "must be true when taxes are given")
	}
	if p.Label != nil {
		checkText(&v, "label.title", p.Label.Title, maxName, true)
		if p.Label.StartDate != nil && p.Label.EndDate != nil && !p.Label.EndDate.After(*p.Label.StartDate) {
			v.Add("label.endDate", "must be after label.startDate")
		}
	}
	if len(p.Variants) > maxList {
		v.Add("variants", "must contain no more than "+itoa(maxList)+" elements")
	}
	seen := map[string]bool{}
	for _, vr := range p.Variants {
		if strings.TrimSpace(vr.ID) == "" || strings.TrimSpace(vr.Name) == "" {
			v.Add("variants", "each variant needs an id and a name")
			break
		}
		if len(vr.Options) == 0 {
			v.Add("variants", "each variant needs at least one option")
			break
		}
		bad := false
		for _, o := range vr.Options {
			if strings.TrimSpace(o.ID) == "" || strings.TrimSpace(o.Name) == "" {
				v.Add("variants", "each variant option needs an id and a name")
				bad = true
				break
			}
			if seen[o.ID] {
				v.Add("variants", "variant option id "+o.ID+" is used twice")
				bad = true
				break
			}
			seen[o.ID] = true
		}
		if bad {
			break
		}
	}
	return v.Err()
}

func (p *ProductParams) apply(pr *tender.Product) {
	pr.Name, pr.Description, pr.ProductType = p.Name, p.Description, p.ProductType
	pr.Image, pr.StatementDescriptor, pr.AvailableInStore = p.Image, p.StatementDescriptor, p.AvailableInStore
	pr.Variants, pr.CollectionIDs = p.Variants, p.CollectionIDs
	pr.IsTaxesEnabled, pr.Taxes, pr.AutomaticTaxCategoryID = p.IsTaxesEnabled, p.Taxes, p.AutomaticTaxCategoryID
	pr.Label, pr.Slug = p.Label, p.Slug
}

// record records a catalog event about obj in tx, once for each mode: the
// catalog has none, and endpoints of both modes sell from it.
func record(ctx context.Context, tx store.Tx, accountID, typ string, obj any) error {
	for _, m := range []tender.Mode{tender.ModeLive, tender.ModeTest} {
		if err := event.Record(ctx, tx, tender.Scope{AccountID: accountID, Mode: m}, typ, obj); err != nil {
			return err
		}
	}
	return nil
}

// errProductNotFound is the answer for an unknown, deleted or foreign
// product.
func errProductNotFound() error { return tender.Errorf(tender.ENOTFOUND, "Product not found") }

func errPriceNotFound() error { return tender.Errorf(tender.ENOTFOUND, "Price not found") }

// CreateProduct adds a product to the scope's account.
func (s *Service) CreateProduct(ctx context.Context, sc tender.Scope, p ProductParams) (*tender.Product, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var out *tender.Product
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		pr := &tender.Product{ID: tender.NewID(tender.PrefixProduct, now), AccountID: sc.AccountID, CreatedAt: now, UpdatedAt: now}
		p.apply(pr)
		if err := tx.CreateProduct(ctx, pr); err != nil {
			return err
		}
		out = pr
		return record(ctx, tx, sc.AccountID, tender.EventProductCreated, pr)
	})
	return out, err
}

// liveProduct returns the account's undeleted product id.
func liveProduct(ctx context.Context, tx store.Tx, accountID, id string) (*tender.Product, error) {
	pr, err := tx.FindProductByID(ctx, accountID, id)
	if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && pr.DeletedAt != nil) {
		return nil, errProductNotFound()
	}
	return pr, err
}

// UpdateProduct replaces every value of the product with p's. A variant
// option that one of its prices names must remain.
func (s *Service) UpdateProduct(ctx context.Context, sc tender.Scope, id string, p ProductParams) (*tender.Product, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var out *tender.Product
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		pr, err := liveProduct(ctx, tx, sc.AccountID, id)
		if err != nil {
			return err
		}
		prices, _, err := tx.ListPrices(ctx, sc.AccountID, id, tender.PriceFilter{})
		if err != nil {
			return err
		}
		options := variantOptions(p.Variants)
		for _, price := range prices {
			for _, o := range price.VariantOptionIDs {
				if !options[o] {
					return tender.FieldError("variants", "must keep option "+o+", which price "+price.ID+" uses")
				}
			}
		}
		cp := *pr
		p.apply(&cp)
		cp.UpdatedAt = tx.Now()
		if err := tx.UpdateProduct(ctx, &cp); err != nil {
			return err
		}
		out = &cp
		return record(ctx, tx, sc.AccountID, tender.EventProductUpdated, &cp)
	})
	return out, err
}

func variantOptions(vs []tender.ProductVariant) map[string]bool {
	m := map[string]bool{}
	for _, v := range vs {
		for _, o := range v.Options {
			m[o.ID] = true
		}
	}
	return m
}

// GetProduct returns the account's product id; ENOTFOUND when it is
// unknown or deleted.
func (s *Service) GetProduct(ctx context.Context, sc tender.Scope, id string) (*tender.Product, error) {
	var out *tender.Product
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = liveProduct(ctx, tx, sc.AccountID, id)
		return err
	})
	return out, err
}

// ListProducts returns a page of the account's products and how many
// match f over all pages.
func (s *Service) ListProducts(ctx context.Context, sc tender.Scope, f tender.ProductFilter) ([]*tender.Product, int, error) {
	var out []*tender.Product
	var total int
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		out, total, err = tx.ListProducts(ctx, sc.AccountID, f)
		return err
	})
	return out, total, err
}

// DeleteProduct deletes the product and its prices.
func (s *Service) DeleteProduct(ctx context.Context, sc tender.Scope, id string) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		pr, err := liveProduct(ctx, tx, sc.AccountID, id)
		if err != nil {
			return err
		}
		now := tx.Now()
		prices, _, err := tx.ListPrices(ctx, sc.AccountID, id, tender.PriceFilter{})
		if err != nil {
			return err
		}
		for _, p := range prices {
			cp := *p
			cp.DeletedAt, cp.UpdatedAt = &now, now
			if err := tx.UpdatePrice(ctx, &cp); err != nil {
				return err
			}
			if err := record(ctx, tx, sc.AccountID, tender.EventPriceDeleted, &cp); err != nil {
				return err
			}
		}
		cp := *pr
		cp.DeletedAt, cp.UpdatedAt = &now, now
		if err := tx.UpdateProduct(ctx, &cp); err != nil {
			return err
		}
		return record(ctx, tx, sc.AccountID, tender.EventProductDeleted, &cp)
	})
}
