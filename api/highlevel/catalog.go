package highlevel

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/catalog"
)

// Products and prices: the part of HighLevel's products.json that orders
// need. These operations address the location with locationId (in the
// query for GET and DELETE, in the body for POST and PUT), not altId.

func init() { routeGroups = append(routeGroups, (*Handler).catalogRoutes) }

// OAuth scopes of the products API.
const (
	ScopeProductsReadonly = "products.readonly"
	ScopeProductsWrite    = "products.write"
	ScopePricesReadonly   = "products/prices.readonly"
	ScopePricesWrite      = "products/prices.write"
)

func (h *Handler) catalogRoutes(mux *http.ServeMux) {
	// The spec's paths end in a slash (/products/); clients that drop it
	// are served alike.
	for _, p := range []string{"/products/{$}", "/products"} {
		h.route(mux, "POST "+p, ScopeProductsWrite, h.createProduct)
		h.route(mux, "GET "+p, ScopeProductsReadonly, h.listProducts)
	}
	h.route(mux, "GET /products/{productId}", ScopeProductsReadonly, h.getProduct)
	h.route(mux, "PUT /products/{productId}", ScopeProductsWrite, h.updateProduct)
	h.route(mux, "DELETE /products/{productId}", ScopeProductsWrite, h.deleteProduct)
	h.route(mux, "POST /products/{productId}/price", ScopePricesWrite, h.createPrice)
	h.route(mux, "GET /products/{productId}/price", ScopePricesReadonly, h.listPrices)
	h.route(mux, "GET /products/{productId}/price/{priceId}", ScopePricesReadonly, h.getPrice)
	h.route(mux, "PUT /products/{productId}/price/{priceId}", ScopePricesWrite, h.updatePrice)
	h.route(mux, "DELETE /products/{productId}/price/{priceId}", ScopePricesWrite, h.deletePrice)
}

func (h *Handler) catalogReady() error {
	if h.Catalog == nil {
		return tender.Errorf(tender.ENOTIMPLEMENTED, "the catalog is not configured")
	}
	return nil
}

// locateLocationID resolves a locationId (from the query or a body) to the
// location's scope.
func (h *Handler) locateLocationID(r *http.Request, sc tender.Scope, id string) (tender.Scope, error) {
	if err := h.catalogReady(); err != nil {
		return tender.Scope{}, err
	}
	return h.Locate(r.Context(), sc, "locationId", id)
}

// ---- numbers in request bodies ----

// A request's numbers are decoded as raw JSON so that a wrong type or a
// malformed number is a 422 naming the field, and amounts convert to minor
// units exactly.

// rawNumber returns raw as a JSON number literal; present is false for an
// absent or null value. A value of another type is a problem of field.
func rawNumber(v *tender.Validation, field string, raw json.RawMessage) (n json.Number, present bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", false
	}
	if c := s[0]; c != '-' && (c < '0' || c > '9') {
		v.Add(field, "must be a number conforming to the specified constraints")
		return "", false
	}
	return json.Number(s), true
}

// rawInt reads an optional whole number; absent is def.
func rawInt(v *tender.Validation, field string, raw json.RawMessage, def int) int {
	n, ok := rawNumber(v, field, raw)
	if !ok {
		return def
	}
	i, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		v.Add(field, "must be an integer number")
		return def
	}
	return int(i)
}

// rawAmount reads an optional major-unit amount into minor units of c.
func rawAmount(v *tender.Validation, field string, raw json.RawMessage, c tender.Currency) (int64, bool) {
	n, ok := rawNumber(v, field, raw)
	if !ok {
		return 0, false
	}
	if c == "" {
		return 0, false // the currency's own problem is reported
	}
	a, err := ParseMajor(field, n, c)
	if err != nil {
		v.Add(field, tender.ErrorFields(err)[field])
		return 0, false
	}
	return a, true
}

// parseWireTime reads an ISO 8601 time ("2023-01-01T22:45:00.000Z") or a
// date (midnight UTC).
func parseWireTime(v *tender.Validation, field, s string) *time.Time {
	if s == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t = t.UTC()
		return &t
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return &t
	}
	v.Add(field, "must be a valid ISO 8601 date string")
	return nil
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return FormatTime(*t)
}

// splitIDs reads the list query parameter name, given as repeated values,
// comma-separated values, or both; at most MaxLimit ids.
func splitIDs(q *Query, name string) []string {
	out := splitList(q.Values[name])
	if len(out) > MaxLimit {
		q.V.Add(name, "must contain no more than "+strconv.Itoa(MaxLimit)+" elements")
		return nil
	}
	return out
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

// ---- products ----

type wireVariant struct {
	ID      string              `json:"id"`
	Name    string              `json:"name"`
	Options []wireVariantOption `json:"options"`
}

type wireVariantOption struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wireLabel struct {
	Title     string `json:"title"`
	StartDate string `json:"startDate,omitempty"`
	EndDate   string `json:"endDate,omitempty"`
}

type productRequest struct {
	Name                   string        `json:"name"`
	LocationID             string        `json:"locationId"`
	Description            string        `json:"description"`
	ProductType            string        `json:"productType"`
	Image                  string        `json:"image"`
	StatementDescriptor    string        `json:"statementDescriptor"`
	AvailableInStore       bool          `json:"availableInStore"`
	Variants               []wireVariant `json:"variants"`
	CollectionIDs          []string      `json:"collectionIds"`
	IsTaxesEnabled         bool          `json:"isTaxesEnabled"`
	Taxes                  []string      `json:"taxes"`
	AutomaticTaxCategoryID string        `json:"automaticTaxCategoryId"`
	IsLabelEnabled         bool          `json:"isLabelEnabled"`
	Label                  *wireLabel    `json:"label"`
	Slug                   string        `json:"slug"`
	// medias, seo and taxInclusive are accepted and not kept.
}

func (req *productRequest) params() (catalog.ProductParams, error) {
	var v tender.Validation
	p := catalog.ProductParams{Name: req.Name, Description: req.Description, ProductType: req.ProductType, Image: req.Image,
		StatementDescriptor: req.StatementDescriptor, AvailableInStore: req.AvailableInStore, CollectionIDs: req.CollectionIDs,
		IsTaxesEnabled: req.IsTaxesEnabled, Taxes: req.Taxes, AutomaticTaxCategoryID: req.AutomaticTaxCategoryID, Slug: req.Slug}
	for _, vr := range req.Variants {
		x := tender.ProductVariant{ID: vr.ID, Name: vr.Name, Options: []tender.ProductVariantOption{}}
		for _, o := range vr.Options {
			x.Options = append(x.Options, tender.ProductVariantOption{ID: o.ID, Name: o.Name})
		}
		p.Variants = append(p.Variants, x)
	}
	if req.IsLabelEnabled && req.Label == nil {
		v.Add("label", "should not be empty when isLabelEnabled is true")
	}
	if req.Label != nil {
		p.Label = &tender.ProductLabel{Title: req.Label.Title, StartDate: parseWireTime(&v, "label.startDate", req.Label.StartDate),
			EndDate: parseWireTime(&v, "label.endDate", req.Label.EndDate)}
	}
	return p, v.Err()
}

// wireProduct is DefaultProductResponseDto (and the create, get and update
// responses, which are the same).
type wireProduct struct {
	ID                     string        `json:"_id"`
	LocationID             string        `json:"locationId"`
	Name                   string        `json:"name"`
	Description            string        `json:"description,omitempty"`
	ProductType            string        `json:"productType"`
	Image                  string        `json:"image,omitempty"`
	StatementDescriptor    string        `json:"statementDescriptor,omitempty"`
	AvailableInStore       bool          `json:"availableInStore"`
	Variants               []wireVariant `json:"variants"`
	CollectionIDs          []string      `json:"collectionIds"`
	IsTaxesEnabled         bool          `json:"isTaxesEnabled"`
	Taxes                  []string      `json:"taxes"`
	AutomaticTaxCategoryID string        `json:"automaticTaxCategoryId,omitempty"`
	Label                  *wireLabel    `json:"label,omitempty"`
	Slug                   string        `json:"slug,omitempty"`
	CreatedAt              string        `json:"createdAt"`
	UpdatedAt              string        `json:"updatedAt"`
}

// renderProduct renders a product as HighLevel's DefaultProductResponseDto,
// for the products routes and for order items that show their product.
func renderProduct(p *tender.Product) wireProduct {
	out := wireProduct{ID: p.ID, LocationID: p.AccountID, Name: p.Name, Description: p.Description, ProductType: p.ProductType,
		Image: p.Image, StatementDescriptor: p.StatementDescriptor, AvailableInStore: p.AvailableInStore, Variants: []wireVariant{},
		CollectionIDs: nonNil(p.CollectionIDs), IsTaxesEnabled: p.IsTaxesEnabled, Taxes: nonNil(p.Taxes),
		AutomaticTaxCategoryID: p.AutomaticTaxCategoryID, Slug: p.Slug, CreatedAt: FormatTime(p.CreatedAt), UpdatedAt: FormatTime(p.UpdatedAt)}
	for _, v := range p.Variants {
		w := wireVariant{ID: v.ID, Name: v.Name, Options: []wireVariantOption{}}
		for _, o := range v.Options {
			w.Options = append(w.Options, wireVariantOption{ID: o.ID, Name: o.Name})
		}
		out.Variants = append(out.Variants, w)
	}
	if p.Label != nil {
		out.Label = &wireLabel{Title: p.Label.Title, StartDate: formatTimePtr(p.Label.StartDate), EndDate: formatTimePtr(p.Label.EndDate)}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// productInput reads a product request: its location and its values.
func (h *Handler) productInput(r *http.Request, sc tender.Scope) (tender.Scope, catalog.ProductParams, error) {
	var req productRequest
	if err := Decode(r, &req); err != nil {
		return tender.Scope{}, catalog.ProductParams{}, err
	}
	loc, err := h.locateLocationID(r, sc, req.LocationID)
	if err != nil {
		return tender.Scope{}, catalog.ProductParams{}, err
	}
	p, err := req.params()
	return loc, p, err
}

func (h *Handler) createProduct(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, p, err := h.productInput(r, sc)
	if err != nil {
		return err
	}
	pr, err := h.Catalog.CreateProduct(r.Context(), loc, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, renderProduct(pr))
}

func (h *Handler) updateProduct(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, p, err := h.productInput(r, sc)
	if err != nil {
		return err
	}
	pr, err := h.Catalog.UpdateProduct(r.Context(), loc, r.PathValue("productId"), p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderProduct(pr))
}

func (h *Handler) getProduct(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateLocationID(r, sc, r.URL.Query().Get("locationId"))
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	q.Bool("sendWishlistStatus") // tender has no wishlists: checked, then ignored
	if err := q.V.Err(); err != nil {
		return err
	}
	pr, err := h.Catalog.GetProduct(r.Context(), loc, r.PathValue("productId"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderProduct(pr))
}

func (h *Handler) deleteProduct(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateLocationID(r, sc, r.URL.Query().Get("locationId"))
	if err != nil {
		return err
	}
	if err := h.Catalog.DeleteProduct(r.Context(), loc, r.PathValue("productId")); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]bool{"status": true})
}

// unsupportedProductFilters are list filters of HighLevel's online store,
// which tender does not have: refused rather than silently ignored.
var unsupportedProductFilters = []string{"collectionIds", "collectionSlug", "storeId", "includedInStore", "availableInStore"}

func (h *Handler) listProducts(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateLocationID(r, sc, r.URL.Query().Get("locationId"))
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	f := tender.ProductFilter{Search: strings.TrimSpace(q.Get("search")), IDs: splitIDs(q, "productIds")}
	f.Limit, f.Offset = q.Page(MaxLimit)
	if f.Limit == 0 {
		f.Limit = MaxLimit
	}
	switch q.Get("sortOrder") {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		q.V.Add("sortOrder", "must be one of the following values: asc, desc")
	}
	for _, name := range unsupportedProductFilters {
		if q.Has(name) {
			q.V.Add(name, "is not supported: tender has no online store or collections")
		}
	}
	if err := q.V.Err(); err != nil {
		return err
	}
	ps, total, err := h.Catalog.ListProducts(r.Context(), loc, f)
	if err != nil {
		return err
	}
	out := make([]wireProduct, 0, len(ps))
	for _, p := range ps {
		out = append(out, renderProduct(p))
	}
	// ListProductsResponseDto: total is an array of {total}.
	return WriteJSON(w, http.StatusOK, map[string]any{"products": out, "total": []map[string]int{{"total": total}}})
}

// ---- prices ----

type wireRecurring struct {
	Interval      string          `json:"interval"`
	IntervalCount json.RawMessage `json:"intervalCount"`
}

type priceRequest struct {
	Name                     string          `json:"name"`
	LocationID               string          `json:"locationId"`
	Description              string          `json:"description"`
	Type                     string          `json:"type"`
	Currency                 string          `json:"currency"`
	Amount                   json.RawMessage `json:"amount"`
	Recurring                *wireRecurring  `json:"recurring"`
	TrialPeriod              json.RawMessage `json:"trialPeriod"`
	TotalCycles              json.RawMessage `json:"totalCycles"`
	SetupFee                 json.RawMessage `json:"setupFee"`
	CompareAtPrice           json.RawMessage `json:"compareAtPrice"`
	VariantOptionIDs         []string        `json:"variantOptionIds"`
	SKU                      string          `json:"sku"`
	TrackInventory           bool            `json:"trackInventory"`
	AvailableQuantity        json.RawMessage `json:"availableQuantity"`
	AllowOutOfStockPurchases bool            `json:"allowOutOfStockPurchases"`
	UserID                   string          `json:"userId"`
	// membershipOffers, meta, shippingOptions, isDigitalProduct and
	// digitalDelivery are accepted and not kept.
}

func (req *priceRequest) params() (catalog.PriceParams, error) {
	var v tender.Validation
	p := catalog.PriceParams{Name: req.Name, Description: req.Description, Type: req.Type, VariantOptionIDs: req.VariantOptionIDs,
		SKU: req.SKU, TrackInventory: req.TrackInventory, AllowOutOfStockPurchases: req.AllowOutOfStockPurchases, UserID: req.UserID}
	cur, err := tender.ParseCurrency(req.Currency)
	if err != nil {
		v.Add("currency", "must be a three-letter ISO 4217 currency code")
	}
	p.Currency = cur
	if s := strings.TrimSpace(string(req.Amount)); s == "" || s == "null" {
		v.Add("amount", "should not be empty")
	}
	p.Amount, _ = rawAmount(&v, "amount", req.Amount, cur)
	p.SetupFee, _ = rawAmount(&v, "setupFee", req.SetupFee, cur)
	if a, ok := rawAmount(&v, "compareAtPrice", req.CompareAtPrice, cur); ok {
		p.CompareAtPrice = &a
	}
	if req.Recurring != nil {
		p.Recurring = &tender.Recurring{Interval: req.Recurring.Interval,
			IntervalCount: rawInt(&v, "recurring.intervalCount", req.Recurring.IntervalCount, 0)}
	}
	p.TrialPeriodDays = rawInt(&v, "trialPeriod", req.TrialPeriod, 0)
	p.TotalCycles = rawInt(&v, "totalCycles", req.TotalCycles, 0)
	if n, ok := rawNumber(&v, "availableQuantity", req.AvailableQuantity); ok {
		q, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			v.Add("availableQuantity", "must be an integer number")
		}
		p.AvailableQuantity = &q
	}
	return p, v.Err()
}

// wirePrice is DefaultPriceResponseDto, with tender's description,
// trialPeriod, totalCycles, setupFee and sku when set.
type wirePrice struct {
	ID                       string            `json:"_id"`
	Name                     string            `json:"name"`
	Type                     string            `json:"type"`
	Currency                 string            `json:"currency"`
	Amount                   json.Number       `json:"amount"`
	Recurring                *wireRecurringOut `json:"recurring,omitempty"`
	LocationID               string            `json:"locationId"`
	Product                  string            `json:"product"`
	UserID                   string            `json:"userId,omitempty"`
	MembershipOffers         []struct{}        `json:"membershipOffers"`
	VariantOptionIDs         []string          `json:"variantOptionIds"`
	CompareAtPrice           *json.Number      `json:"compareAtPrice,omitempty"`
	TrackInventory           bool              `json:"trackInventory"`
	AvailableQuantity        *int64            `json:"availableQuantity,omitempty"`
	AllowOutOfStockPurchases bool              `json:"allowOutOfStockPurchases"`
	Description              string            `json:"description,omitempty"`
	TrialPeriod              int               `json:"trialPeriod,omitempty"`
	TotalCycles              int               `json:"totalCycles,omitempty"`
	SetupFee                 *json.Number      `json:"setupFee,omitempty"`
	SKU                      string            `json:"sku,omitempty"`
	CreatedAt                string            `json:"createdAt"`
	UpdatedAt                string            `json:"updatedAt"`
}

type wireRecurringOut struct {
	Interval      string `json:"interval"`
	IntervalCount int    `json:"intervalCount"`
}

// renderPrice renders a price as HighLevel's DefaultPriceResponseDto, for
// the prices routes and for order items that show their price.
func renderPrice(p *tender.Price) wirePrice {
	out := wirePrice{ID: p.ID, Name: p.Name, Type: p.Type, Currency: string(p.Currency), Amount: Major(p.Amount, p.Currency),
		LocationID: p.AccountID, Product: p.ProductID, UserID: p.UserID, MembershipOffers: []struct{}{},
		VariantOptionIDs: nonNil(p.VariantOptionIDs), TrackInventory: p.TrackInventory, AvailableQuantity: p.AvailableQuantity,
		AllowOutOfStockPurchases: p.AllowOutOfStockPurchases, Description: p.Description, TrialPeriod: p.TrialPeriodDays,
		TotalCycles: p.TotalCycles, SKU: p.SKU, CreatedAt: FormatTime(p.CreatedAt), UpdatedAt: FormatTime(p.UpdatedAt)}
	if p.Recurring != nil {
		out.Recurring = &wireRecurringOut{Interval: p.Recurring.Interval, IntervalCount: p.Recurring.IntervalCount}
	}
	if p.CompareAtPrice != nil {
		n := Major(*p.CompareAtPrice, p.Currency)
		out.CompareAtPrice = &n
	}
	if p.SetupFee != 0 {
		n := Major(p.SetupFee, p.Currency)
		out.SetupFee = &n
	}
	return out
}

// priceInput reads a price request: its location and its values.
func (h *Handler) priceInput(r *http.Request, sc tender.Scope) (tender.Scope, catalog.PriceParams, error) {
	var req priceRequest
	if err := Decode(r, &req); err != nil {
		return tender.Scope{}, catalog.PriceParams{}, err
	}
	loc, err := h.locateLocationID(r, sc, req.LocationID)
	if err != nil {
		return tender.Scope{}, catalog.PriceParams{}, err
	}
	p, err := req.params()
	return loc, p, err
}

func (h *Handler) createPrice(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, p, err := h.priceInput(r, sc)
	if err != nil {
		return err
	}
	pr, err := h.Catalog.CreatePrice(r.Context(), loc, r.PathValue("productId"), p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, renderPrice(pr))
}

func (h *Handler) updatePrice(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, p, err := h.priceInput(r, sc)
	if err != nil {
		return err
	}
	pr, err := h.Catalog.UpdatePrice(r.Context(), loc, r.PathValue("productId"), r.PathValue("priceId"), p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderPrice(pr))
}

func (h *Handler) getPrice(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateLocationID(r, sc, r.URL.Query().Get("locationId"))
	if err != nil {
		return err
	}
	pr, err := h.Catalog.GetPrice(r.Context(), loc, r.PathValue("productId"), r.PathValue("priceId"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderPrice(pr))
}

func (h *Handler) deletePrice(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateLocationID(r, sc, r.URL.Query().Get("locationId"))
	if err != nil {
		return err
	}
	if err := h.Catalog.DeletePrice(r.Context(), loc, r.PathValue("productId"), r.PathValue("priceId")); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]bool{"status": true})
}

func (h *Handler) listPrices(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateLocationID(r, sc, r.URL.Query().Get("locationId"))
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	f := tender.PriceFilter{IDs: splitIDs(q, "ids")}
	f.Limit, f.Offset = q.Page(MaxLimit)
	if f.Limit == 0 {
		f.Limit = MaxLimit
	}
	if err := q.V.Err(); err != nil {
		return err
	}
	ps, total, err := h.Catalog.ListPrices(r.Context(), loc, r.PathValue("productId"), f)
	if err != nil {
		return err
	}
	out := make([]wirePrice, 0, len(ps))
	for _, p := range ps {
		out = append(out, renderPrice(p))
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"prices": out, "total": total})
}
