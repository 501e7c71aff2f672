package highlevel

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/catalog"
)

// Coupons: every coupon operation of payments.json. Mutations carry altId
// and altType in the JSON body (DELETE too); reads in the query.

func init() { routeGroups = append(routeGroups, (*Handler).couponRoutes) }

// OAuth scopes of the coupon operations.
const (
	ScopeCouponsReadonly = "payments/coupons.readonly"
	ScopeCouponsWrite    = "payments/coupons.write"
)

func (h *Handler) couponRoutes(mux *http.ServeMux) {
	h.route(mux, "POST /payments/coupon", ScopeCouponsWrite, h.createCoupon)
	h.route(mux, "PUT /payments/coupon", ScopeCouponsWrite, h.updateCoupon)
	h.route(mux, "DELETE /payments/coupon", ScopeCouponsWrite, h.deleteCoupon)
	h.route(mux, "GET /payments/coupon", ScopeCouponsReadonly, h.getCoupon)
	h.route(mux, "GET /payments/coupon/list", ScopeCouponsReadonly, h.listCoupons)
}

type wireFuturePayments struct {
	Type         string          `json:"type"`
	Duration     json.RawMessage `json:"duration,omitempty"`
	DurationType string          `json:"durationType,omitempty"`
}

// couponRequest is CreateCouponParams, UpdateCouponParams (with id) and
// DeleteCouponParams (altId, altType, id).
type couponRequest struct {
	AltID                       string              `json:"altId"`
	AltType                     string              `json:"altType"`
	ID                          string              `json:"id"`
	Name                        string              `json:"name"`
	Code                        string              `json:"code"`
	DiscountType                string              `json:"discountType"`
	DiscountValue               json.RawMessage     `json:"discountValue"`
	Currency                    string              `json:"currency"`
	StartDate                   string              `json:"startDate"`
	EndDate                     string              `json:"endDate"`
	UsageLimit                  json.RawMessage     `json:"usageLimit"`
	ProductIDs                  []string            `json:"productIds"`
	PriceIDs                    []string            `json:"priceIds"`
	VariantIDs                  []string            `json:"variantIds"`
	ApplyToFuturePayments       *bool               `json:"applyToFuturePayments"`
	ApplyToFuturePaymentsConfig *wireFuturePayments `json:"applyToFuturePaymentsConfig"`
	LimitPerCustomer            json.RawMessage     `json:"limitPerCustomer"`
}

// locate checks the body's altType and resolves its altId; with needID,
// id must be given too.
func (h *Handler) locateCoupon(r *http.Request, sc tender.Scope, req *couponRequest, needID bool) (tender.Scope, error) {
	if err := h.catalogReady(); err != nil {
		return tender.Scope{}, err
	}
	var v tender.Validation
	CheckBodyLocation(&v, req.AltID, req.AltType)
	if needID && req.ID == "" {
		v.Add("id", "should not be empty")
	}
	if err := v.Err(); err != nil {
		return tender.Scope{}, err
	}
	return h.Locate(r.Context(), sc, "altId", req.AltID)
}

func (req *couponRequest) params() (catalog.CouponParams, error) {
	var v tender.Validation
	p := catalog.CouponParams{Name: req.Name, Code: req.Code, DiscountType: req.DiscountType, Currency: tender.Currency(strings.ToUpper(req.Currency)),
		ProductIDs: req.ProductIDs, PriceIDs: req.PriceIDs, VariantIDs: req.VariantIDs, ApplyToFuturePayments: req.ApplyToFuturePayments}
	if n, ok := rawNumber(&v, "discountValue", req.DiscountValue); ok {
		p.DiscountValue = string(n)
	} else if s := strings.TrimSpace(string(req.DiscountValue)); s == "" || s == "null" {
		v.Add("discountValue", "should not be empty")
	}
	if req.StartDate == "" {
		v.Add("startDate", "should not be empty")
	} else if t := parseWireTime(&v, "startDate", req.StartDate); t != nil {
		p.StartDate = *t
	}
	p.EndDate = parseWireTime(&v, "endDate", req.EndDate)
	if _, ok := rawNumber(&v, "usageLimit", req.UsageLimit); ok {
		n := rawInt(&v, "usageLimit", req.UsageLimit, 0)
		p.UsageLimit = &n
	}
	// limitPerCustomer is a boolean in HighLevel's requests (true: once per
	// customer) and a number in its responses; a number is accepted too, so
	// that a coupon read back can be sent again.
	switch s := strings.TrimSpace(string(req.LimitPerCustomer)); s {
	case "", "null", "false":
	case "true":
		p.LimitPerCustomer = 1
	default:
		if _, ok := rawNumber(&v, "limitPerCustomer", req.LimitPerCustomer); ok {
			p.LimitPerCustomer = rawInt(&v, "limitPerCustomer", req.LimitPerCustomer, 0)
		} else {
			v.Add("limitPerCustomer", "must be a boolean value")
		}
	}
	if f := req.ApplyToFuturePaymentsConfig; f != nil {
		p.FuturePayments = &tender.FuturePaymentsConfig{Type: f.Type, DurationType: f.DurationType,
			Duration: rawInt(&v, "applyToFuturePaymentsConfig.duration", f.Duration, 0)}
	}
	return p, v.Err()
}

// wireCoupon is CouponDto (with traceId, CreateCouponResponseDto), plus
// tender's usageLimit, currency, productIds, priceIds and variantIds.
type wireCoupon struct {
	ID                          string                `json:"_id"`
	UsageCount                  int                   `json:"usageCount"`
	LimitPerCustomer            int                   `json:"limitPerCustomer"`
	AltID                       string                `json:"altId"`
	AltType                     string                `json:"altType"`
	Name                        string                `json:"name"`
	Code                        string                `json:"code"`
	DiscountType                string                `json:"discountType"`
	DiscountValue               json.Number           `json:"discountValue"`
	Currency                    string                `json:"currency,omitempty"`
	Status                      string                `json:"status"`
	StartDate                   string                `json:"startDate"`
	EndDate                     string                `json:"endDate,omitempty"`
	UsageLimit                  *int                  `json:"usageLimit,omitempty"`
	ProductIDs                  []string              `json:"productIds"`
	PriceIDs                    []string              `json:"priceIds"`
	VariantIDs                  []string              `json:"variantIds"`
	ApplyToFuturePayments       bool                  `json:"applyToFuturePayments"`
	ApplyToFuturePaymentsConfig wireFuturePaymentsOut `json:"applyToFuturePaymentsConfig"`
	UserID                      string                `json:"userId,omitempty"`
	CreatedAt                   string                `json:"createdAt"`
	UpdatedAt                   string                `json:"updatedAt"`
	TraceID                     string                `json:"traceId,omitempty"`
}

type wireFuturePaymentsOut struct {
	Type         string `json:"type"`
	Duration     int    `json:"duration,omitempty"`
	DurationType string `json:"durationType,omitempty"`
}

// discountValue renders a coupon's discount as HighLevel's number: a
// percentage (12.5) or an amount in major units.
func discountValue(c *tender.Coupon) json.Number {
	if c.DiscountType == tender.DiscountPercentage {
		return Major(c.DiscountValue, "USD") // hundredths of a percent, exactly
	}
	return Major(c.DiscountValue, c.Currency)
}

// renderCoupon renders a coupon (read with its Status) as CouponDto; for
// order and subscription responses that show their coupon too.
func renderCoupon(c *tender.Coupon, traceID string) wireCoupon {
	out := wireCoupon{ID: c.ID, UsageCount: c.UsageCount, LimitPerCustomer: c.LimitPerCustomer, AltID: c.AccountID, AltType: "location",
		Name: c.Name, Code: c.Code, DiscountType: c.DiscountType, DiscountValue: discountValue(c), Currency: string(c.Currency),
		Status: c.Status, StartDate: FormatTime(c.StartDate), EndDate: formatTimePtr(c.EndDate), ProductIDs: nonNil(c.ProductIDs),
		PriceIDs: nonNil(c.PriceIDs), VariantIDs: nonNil(c.VariantIDs), ApplyToFuturePayments: c.ApplyToFuturePayments,
		ApplyToFuturePaymentsConfig: wireFuturePaymentsOut{Type: c.FuturePayments.Type, Duration: c.FuturePayments.Duration,
			DurationType: c.FuturePayments.DurationType},
		UserID: c.UserID, CreatedAt: FormatTime(c.CreatedAt), UpdatedAt: FormatTime(c.UpdatedAt), TraceID: traceID}
	if c.UsageLimit > 0 {
		n := c.UsageLimit
		out.UsageLimit = &n
	}
	if out.Status == "" {
		out.Status = tender.CouponActive
	}
	return out
}

// couponInput reads a create or update request: the request, its
// location and its values.
func (h *Handler) couponInput(r *http.Request, sc tender.Scope, needID bool) (*couponRequest, tender.Scope, catalog.CouponParams, error) {
	var req couponRequest
	if err := Decode(r, &req); err != nil {
		return nil, tender.Scope{}, catalog.CouponParams{}, err
	}
	loc, err := h.locateCoupon(r, sc, &req, needID)
	if err != nil {
		return nil, tender.Scope{}, catalog.CouponParams{}, err
	}
	p, err := req.params()
	return &req, loc, p, err
}

func (h *Handler) createCoupon(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	_, loc, p, err := h.couponInput(r, sc, false)
	if err != nil {
		return err
	}
	c, err := h.Catalog.CreateCoupon(r.Context(), loc, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, renderCoupon(c, api.RequestID(r.Context())))
}

func (h *Handler) updateCoupon(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	req, loc, p, err := h.couponInput(r, sc, true)
	if err != nil {
		return err
	}
	c, err := h.Catalog.UpdateCoupon(r.Context(), loc, req.ID, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderCoupon(c, api.RequestID(r.Context())))
}

func (h *Handler) deleteCoupon(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req couponRequest
	if err := Decode(r, &req); err != nil {
		return err
	}
	loc, err := h.locateCoupon(r, sc, &req, true)
	if err != nil {
		return err
	}
	if err := h.Catalog.DeleteCoupon(r.Context(), loc, req.ID); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"success": true, "traceId": api.RequestID(r.Context())})
}

func (h *Handler) getCoupon(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.catalogReady(); err != nil {
		return err
	}
	loc, err := h.LocateQuery(r, sc, true, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	id, code := strings.TrimSpace(q.Get("id")), strings.TrimSpace(q.Get("code"))
	if id == "" && code == "" {
		return tender.FieldError("id", "should not be empty when code is empty")
	}
	c, err := h.Catalog.GetCoupon(r.Context(), loc, id, code)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderCoupon(c, api.RequestID(r.Context())))
}

// couponListDefault is the spec's default page size of the coupon list.
const couponListDefault = 100

func (h *Handler) listCoupons(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.catalogReady(); err != nil {
		return err
	}
	loc, err := h.LocateQuery(r, sc, true, false)
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	f := tender.CouponFilter{Status: q.Get("status"), Search: strings.TrimSpace(q.Get("search"))}
	f.Limit, f.Offset = q.Page(couponListDefault)
	if f.Limit == 0 {
		f.Limit = couponListDefault
	}
	if err := q.V.Err(); err != nil {
		return err
	}
	cs, total, err := h.Catalog.ListCoupons(r.Context(), loc, f)
	if err != nil {
		return err
	}
	data := make([]wireCoupon, 0, len(cs))
	for _, c := range cs {
		data = append(data, renderCoupon(c, ""))
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"data": data, "totalCount": total, "traceId": api.RequestID(r.Context())})
}
