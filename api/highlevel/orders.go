package highlevel

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/order"
)

// OAuth scopes of the orders, transactions and subscriptions routes.
const (
	ScopeOrdersReadonly        = "payments/orders.readonly"
	ScopeOrdersWrite           = "payments/orders.write"
	ScopeOrdersCollectPayment  = "payments/orders.collectPayment"
	ScopeTransactionsReadonly  = "payments/transactions.readonly"
	ScopeSubscriptionsReadonly = "payments/subscriptions.readonly"
)

func init() { routeGroups = append(routeGroups, (*Handler).orderRoutes) }

func (h *Handler) orderRoutes(mux *http.ServeMux) {
	h.route(mux, "POST /payments/orders", ScopeOrdersWrite, h.createOrder)
	h.route(mux, "GET /payments/orders", ScopeOrdersReadonly, h.listOrders)
	h.route(mux, "GET /payments/orders/{orderId}", ScopeOrdersReadonly, h.getOrder)
	h.route(mux, "POST /payments/orders/{orderId}/record-payment", ScopeOrdersCollectPayment, h.recordOrderPayment)
	h.route(mux, "POST /payments/orders/{orderId}/charge", ScopeOrdersCollectPayment, h.chargeOrder)
	h.route(mux, "POST /payments/orders/{orderId}/fulfillments", ScopeOrdersWrite, h.createFulfillment)
	h.route(mux, "GET /payments/orders/{orderId}/fulfillments", ScopeOrdersReadonly, h.listFulfillments)
	// HighLevel's spec lists no scope for the notes.
	h.route(mux, "GET /payments/orders/{orderId}/notes", "", h.listOrderNotes)
}

func (h *Handler) ordersReady() error {
	if h.Orders == nil {
		return tender.Errorf(tender.ENOTIMPLEMENTED, "orders are not configured")
	}
	return nil
}

// locateOrders is LocateQuery after checking the order service is there.
func (h *Handler) locateOrders(r *http.Request, sc tender.Scope, needAltType, allowLocationID bool) (tender.Scope, error) {
	if err := h.ordersReady(); err != nil {
		return tender.Scope{}, err
	}
	return h.LocateQuery(r, sc, needAltType, allowLocationID)
}

// ---- wire shapes ----

type wireOrderSource struct {
	Type    string          `json:"type"`
	SubType string          `json:"subType,omitempty"`
	ID      string          `json:"id"`
	Name    string          `json:"name,omitempty"`
	Meta    json.RawMessage `json:"meta,omitempty"`
}

func renderSource(s tender.OrderSource) wireOrderSource {
	return wireOrderSource{Type: s.Type, SubType: s.SubType, ID: s.ID, Name: s.Name, Meta: s.Meta}
}

type wireContactSnapshot struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

func renderContact(c tender.Contact) wireContactSnapshot {
	return wireContactSnapshot{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone}
}

// wireOrderSummary is OrderResponseSchema (a list item), with tender's
// paymentStatus.
type wireOrderSummary struct {
	ID                string          `json:"_id"`
	AltID             string          `json:"altId"`
	AltType           string          `json:"altType"`
	ContactID         string          `json:"contactId,omitempty"`
	ContactName       string          `json:"contactName,omitempty"`
	ContactEmail      string          `json:"contactEmail,omitempty"`
	Currency          string          `json:"currency"`
	Amount            json.Number     `json:"amount"`
	Subtotal          json.Number     `json:"subtotal"`
	Discount          json.Number     `json:"discount"`
	Status            string          `json:"status"`
	PaymentStatus     string          `json:"paymentStatus"`
	LiveMode          bool            `json:"liveMode"`
	TotalProducts     int             `json:"totalProducts"`
	OnetimeProducts   int             `json:"onetimeProducts"`
	RecurringProducts int             `json:"recurringProducts"`
	SourceType        string          `json:"sourceType"`
	SourceName        string          `json:"sourceName,omitempty"`
	SourceID          string          `json:"sourceId,omitempty"`
	SourceSubType     string          `json:"sourceSubType,omitempty"`
	SourceMeta        json.RawMessage `json:"sourceMeta,omitempty"`
	CouponCode        string          `json:"couponCode,omitempty"`
	FulfillmentStatus string          `json:"fulfillmentStatus"`
	CreatedBy         string          `json:"createdBy,omitempty"`
	CreatedAt         string          `json:"createdAt"`
	UpdatedAt         string          `json:"updatedAt"`
}

func renderOrderSummary(o *tender.Order) wireOrderSummary {
	out := wireOrderSummary{ID: o.ID, AltID: o.AccountID, AltType: "location", ContactID: o.Contact.ID, ContactName: o.Contact.Name,
		ContactEmail: o.Contact.Email, Currency: string(o.Currency), Amount: Major(o.Amount, o.Currency), Subtotal: Major(o.Subtotal, o.Currency),
		Discount: Major(o.Discount, o.Currency), Status: o.Status, PaymentStatus: o.PaymentStatus, LiveMode: o.Mode == tender.ModeLive,
		SourceType: o.Source.Type, SourceName: o.Source.Name, SourceID: o.Source.ID, SourceSubType: o.Source.SubType, SourceMeta: o.Source.Meta,
		FulfillmentStatus: o.FulfillmentStatus, CreatedBy: o.CreatedBy, CreatedAt: FormatTime(o.CreatedAt), UpdatedAt: FormatTime(o.UpdatedAt)}
	for _, it := range o.Items {
		out.TotalProducts++
		if it.PriceType == "recurring" {
			out.RecurringProducts++
		} else {
			out.OnetimeProducts++
		}
	}
	if o.Coupon != nil {
		out.CouponCode = o.Coupon.Code
	}
	return out
}

type wireAmountSummary struct {
	Subtotal json.Number `json:"subtotal"`
	Discount json.Number `json:"discount"`
}

type wireOrderCoupon struct {
	ID   string `json:"_id"`
	Code string `json:"code"`
}

// wireOrder is GetOrderResponseSchema, with items as the objects HighLevel
// really sends, and tender's additions: paymentStatus, amountPaid,
// amountRefunded, amountDue, paymentIntentId (the intent that pays the
// order through any dialect) and subscriptionIds.
type wireOrder struct {
	ID                string              `json:"_id"`
	AltID             string              `json:"altId"`
	AltType           string              `json:"altType"`
	ContactID         string              `json:"contactId,omitempty"`
	ContactSnapshot   wireContactSnapshot `json:"contactSnapshot"`
	Currency          string              `json:"currency"`
	Amount            json.Number         `json:"amount"`
	AmountSummary     wireAmountSummary   `json:"amountSummary"`
	Status            string              `json:"status"`
	PaymentStatus     string              `json:"paymentStatus"`
	FulfillmentStatus string              `json:"fulfillmentStatus"`
	LiveMode          bool                `json:"liveMode"`
	Source            wireOrderSource     `json:"source"`
	Items             []wireOrderItem     `json:"items"`
	Coupon            *wireOrderCoupon    `json:"coupon,omitempty"`
	Meta              json.RawMessage     `json:"meta,omitempty"`
	CreatedBy         string              `json:"createdBy,omitempty"`
	AmountPaid        json.Number         `json:"amountPaid"`
	AmountRefunded    json.Number         `json:"amountRefunded"`
	AmountDue         json.Number         `json:"amountDue"`
	PaymentIntentID   string              `json:"paymentIntentId,omitempty"`
	SubscriptionIDs   []string            `json:"subscriptionIds,omitempty"`
	CreatedAt         string              `json:"createdAt"`
	UpdatedAt         string              `json:"updatedAt"`
}

// wireOrderItem is an order line as HighLevel's order webhooks show it:
// name, qty and the product and price as ordered.
type wireOrderItem struct {
	Name    string       `json:"name"`
	Qty     int64        `json:"qty"`
	Product *wireProduct `json:"product,omitempty"`
	Price   *wirePrice   `json:"price,omitempty"`
}

func renderOrder(o *tender.Order) wireOrder {
	out := wireOrder{ID: o.ID, AltID: o.AccountID, AltType: "location", ContactID: o.Contact.ID, ContactSnapshot: renderContact(o.Contact),
		Currency: string(o.Currency), Amount: Major(o.Amount, o.Currency),
		AmountSummary: wireAmountSummary{Subtotal: Major(o.Subtotal, o.Currency), Discount: Major(o.Discount, o.Currency)},
		Status:        o.Status, PaymentStatus: o.PaymentStatus, FulfillmentStatus: o.FulfillmentStatus, LiveMode: o.Mode == tender.ModeLive,
		Source: renderSource(o.Source), Items: make([]wireOrderItem, 0, len(o.Items)), Meta: o.Meta, CreatedBy: o.CreatedBy,
		AmountPaid: Major(o.AmountPaid, o.Currency), AmountRefunded: Major(o.AmountRefunded, o.Currency), AmountDue: Major(o.Due(), o.Currency),
		PaymentIntentID: o.PaymentIntentID, SubscriptionIDs: o.SubscriptionIDs, CreatedAt: FormatTime(o.CreatedAt), UpdatedAt: FormatTime(o.UpdatedAt)}
	for _, it := range o.Items {
		out.Items = append(out.Items, wireOrderItem{Name: it.Name, Qty: it.Qty, Product: itemProduct(it.Product), Price: itemPrice(it.Price)})
	}
	if o.Coupon != nil {
		out.Coupon = &wireOrderCoupon{ID: o.Coupon.ID, Code: o.Coupon.Code}
	}
	return out
}

// ---- create (tender's extension) ----

type createOrderRequest struct {
	AltID     string          `json:"altId"`
	AltType   string          `json:"altType"`
	ContactID string          `json:"contactId"`
	Contact   *contactRequest `json:"contact"`
	Items     []struct {
		PriceID string          `json:"priceId"`
		Qty     json.RawMessage `json:"qty"`
	} `json:"items"`
	CouponCode string `json:"couponCode"`
	Source     *struct {
		Type    string          `json:"type"`
		SubType string          `json:"subType"`
		ID      string          `json:"id"`
		Name    string          `json:"name"`
		Meta    json.RawMessage `json:"meta"`
	} `json:"source"`
	Currency string          `json:"currency"`
	LiveMode *bool           `json:"liveMode"`
	Meta     json.RawMessage `json:"meta"`
}

type contactRequest struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

func (h *Handler) createOrder(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.ordersReady(); err != nil {
		return err
	}
	var req createOrderRequest
	if err := Decode(r, &req); err != nil {
		return err
	}
	var v tender.Validation
	CheckBodyLocation(&v, req.AltID, req.AltType)
	p := order.CreateParams{CouponCode: req.CouponCode, Meta: req.Meta, CreatedBy: sc.CredentialID}
	if c := req.Contact; c != nil {
		p.Contact = tender.Contact{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone}
	}
	if req.ContactID != "" {
		p.Contact.ID = req.ContactID
	}
	for i, it := range req.Items {
		field := "items." + strconv.Itoa(i) + ".qty"
		if len(it.Qty) == 0 || string(it.Qty) == "null" {
			v.Add(field, "must be a number conforming to the specified constraints")
		}
		p.Items = append(p.Items, order.ItemParams{PriceID: it.PriceID, Qty: int64(rawInt(&v, field, it.Qty, 0))})
	}
	if s := req.Source; s != nil {
		p.Source = &tender.OrderSource{Type: s.Type, SubType: s.SubType, ID: s.ID, Name: s.Name, Meta: s.Meta}
	}
	if req.Currency != "" {
		p.Currency = tender.Currency(strings.ToUpper(req.Currency))
	}
	p.Mode = tender.ModeTest
	if req.LiveMode != nil && *req.LiveMode {
		p.Mode = tender.ModeLive
	}
	if err := v.Err(); err != nil {
		return err
	}
	loc, err := h.Locate(r.Context(), sc, "altId", req.AltID)
	if err != nil {
		return err
	}
	o, err := h.Orders.Create(r.Context(), loc, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, renderOrder(o))
}

// ---- list and get ----

type wireOrderList struct {
	Data       []wireOrderSummary `json:"data"`
	TotalCount int                `json:"totalCount"`
}

func (h *Handler) listOrders(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateOrders(r, sc, false, true)
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	f := tender.OrderFilter{Mode: q.LiveMode(), Status: q.Get("status"), PaymentStatus: q.Get("paymentStatus"),
		Start: q.Date("startAt", false), End: q.Date("endAt", true), Search: q.Get("search"), ContactID: q.Get("contactId"),
		ProductIDs: splitIDs(q, "funnelProductIds"), SourceID: q.Get("sourceId")}
	f.Limit, f.Offset = q.Page(10)
	if err := q.V.Err(); err != nil {
		return err
	}
	items, n, err := h.Orders.List(r.Context(), loc, f)
	if err != nil {
		return err
	}
	out := wireOrderList{Data: make([]wireOrderSummary, 0, len(items)), TotalCount: n}
	for _, o := range items {
		out.Data = append(out.Data, renderOrderSummary(o))
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getOrder(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateOrders(r, sc, false, true)
	if err != nil {
		return err
	}
	o, err := h.Orders.Get(r.Context(), loc, r.PathValue("orderId"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderOrder(o))
}

// ---- record payment ----

type recordPaymentRequest struct {
	AltID   string `json:"altId"`
	AltType string `json:"altType"`
	Mode    string `json:"mode"`
	Card    *struct {
		Type  string `json:"type"`
		Last4 string `json:"last4"`
	} `json:"card"`
	Cheque *struct {
		Number string `json:"number"`
	} `json:"cheque"`
	Notes            string          `json:"notes"`
	Amount           json.RawMessage `json:"amount"`
	Meta             json.RawMessage `json:"meta"`
	IsPartialPayment *bool           `json:"isPartialPayment"`
}

func (h *Handler) recordOrderPayment(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.ordersReady(); err != nil {
		return err
	}
	var req recordPaymentRequest
	if err := Decode(r, &req); err != nil {
		return err
	}
	var v tender.Validation
	CheckBodyLocation(&v, req.AltID, req.AltType)
	if req.Mode == "" {
		v.Add("mode", "should not be empty")
	}
	amount, hasAmount := rawNumber(&v, "amount", req.Amount)
	if err := v.Err(); err != nil {
		return err
	}
	loc, err := h.Locate(r.Context(), sc, "altId", req.AltID)
	if err != nil {
		return err
	}
	p := order.RecordParams{Mode: req.Mode, Notes: req.Notes, Meta: req.Meta, CreatedBy: sc.CredentialID}
	if c := req.Card; c != nil {
		p.Card = &tender.CardBrief{Brand: c.Type, Last4: c.Last4}
	}
	if c := req.Cheque; c != nil {
		p.ChequeNumber = &c.Number
	}
	if hasAmount {
		if p.Amount, err = h.orderAmount(r, loc, amount); err != nil {
			return err
		}
	}
	if _, err := h.Orders.RecordPayment(r.Context(), loc, r.PathValue("orderId"), p); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// orderAmount reads a body's amount, in major units of the currency of the
// order the path names.
func (h *Handler) orderAmount(r *http.Request, loc tender.Scope, amount json.Number) (*int64, error) {
	o, err := h.Orders.Get(r.Context(), loc, r.PathValue("orderId"))
	if err != nil {
		return nil, err
	}
	a, err := ParseMajor("amount", amount, o.Currency)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// ---- charge with a saved method (tender's extension) ----

type chargeOrderRequest struct {
	AltID           string          `json:"altId"`
	AltType         string          `json:"altType"`
	PaymentMethodID string          `json:"paymentMethodId"`
	Amount          json.RawMessage `json:"amount"`
}

// chargeOrder charges an order off-session with a payment method the
// location's custom provider keeps for the order's contact, and answers
// the payment's transaction as GET /payments/transactions/{id} shows it
// (status failed for a decline).
func (h *Handler) chargeOrder(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.ordersReady(); err != nil {
		return err
	}
	var req chargeOrderRequest
	if err := Decode(r, &req); err != nil {
		return err
	}
	var v tender.Validation
	CheckBodyLocation(&v, req.AltID, req.AltType)
	if req.PaymentMethodID == "" {
		v.Add("paymentMethodId", "should not be empty")
	}
	amount, hasAmount := rawNumber(&v, "amount", req.Amount)
	if err := v.Err(); err != nil {
		return err
	}
	loc, err := h.Locate(r.Context(), sc, "altId", req.AltID)
	if err != nil {
		return err
	}
	p := order.ChargeParams{PaymentMethodID: req.PaymentMethodID}
	if hasAmount {
		if p.Amount, err = h.orderAmount(r, loc, amount); err != nil {
			return err
		}
	}
	x, err := h.Orders.ChargeSavedMethod(r.Context(), loc, r.PathValue("orderId"), p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderTxn(x))
}

// ---- fulfillments ----

type fulfillmentRequest struct {
	AltID     string `json:"altId"`
	AltType   string `json:"altType"`
	Trackings []struct {
		TrackingNumber  string `json:"trackingNumber"`
		ShippingCarrier string `json:"shippingCarrier"`
		TrackingURL     string `json:"trackingUrl"`
	} `json:"trackings"`
	Items []struct {
		PriceID string          `json:"priceId"`
		Qty     json.RawMessage `json:"qty"`
	} `json:"items"`
	NotifyCustomer *bool `json:"notifyCustomer"`
}

type wireTracking struct {
	TrackingNumber  string `json:"trackingNumber,omitempty"`
	ShippingCarrier string `json:"shippingCarrier,omitempty"`
	TrackingURL     string `json:"trackingUrl,omitempty"`
}

// wireFulfilledItem is FulfilledItem: _id is the price's id.
type wireFulfilledItem struct {
	ID      string       `json:"_id"`
	Name    string       `json:"name"`
	Qty     int64        `json:"qty"`
	Product *wireProduct `json:"product"`
	Price   *wirePrice   `json:"price"`
}

// wireFulfillment is FulfillmentSchema, with tender's notifyCustomer.
type wireFulfillment struct {
	ID             string              `json:"_id"`
	AltID          string              `json:"altId"`
	AltType        string              `json:"altType"`
	Trackings      []wireTracking      `json:"trackings"`
	Items          []wireFulfilledItem `json:"items"`
	NotifyCustomer bool                `json:"notifyCustomer"`
	CreatedAt      string              `json:"createdAt"`
	UpdatedAt      string              `json:"updatedAt"`
}

func renderFulfillment(f *tender.Fulfillment, o *tender.Order) wireFulfillment {
	out := wireFulfillment{ID: f.ID, AltID: f.AccountID, AltType: "location", Trackings: make([]wireTracking, 0, len(f.Trackings)),
		Items: make([]wireFulfilledItem, 0, len(f.Items)), NotifyCustomer: f.NotifyCustomer, CreatedAt: FormatTime(f.CreatedAt), UpdatedAt: FormatTime(f.UpdatedAt)}
	for _, t := range f.Trackings {
		out.Trackings = append(out.Trackings, wireTracking{TrackingNumber: t.TrackingNumber, ShippingCarrier: t.ShippingCarrier, TrackingURL: t.TrackingURL})
	}
	for _, it := range f.Items {
		item := wireFulfilledItem{ID: it.PriceID, Qty: it.Qty}
		for _, line := range o.Items {
			if line.PriceID == it.PriceID {
				item.Name, item.Product, item.Price = line.Name, itemProduct(line.Product), itemPrice(line.Price)
			}
		}
		out.Items = append(out.Items, item)
	}
	return out
}

type wireFulfillmentReply struct {
	Status bool `json:"status"`
	Data   any  `json:"data"`
}

func (h *Handler) createFulfillment(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.ordersReady(); err != nil {
		return err
	}
	var req fulfillmentRequest
	if err := Decode(r, &req); err != nil {
		return err
	}
	var v tender.Validation
	CheckBodyLocation(&v, req.AltID, req.AltType)
	if req.Trackings == nil {
		v.Add("trackings", "must be an array")
	}
	if req.NotifyCustomer == nil {
		v.Add("notifyCustomer", "must be a boolean value")
	}
	p := order.FulfillParams{CreatedBy: sc.CredentialID, NotifyCustomer: req.NotifyCustomer != nil && *req.NotifyCustomer}
	for _, t := range req.Trackings {
		p.Trackings = append(p.Trackings, tender.FulfillmentTracking{TrackingNumber: t.TrackingNumber, ShippingCarrier: t.ShippingCarrier, TrackingURL: t.TrackingURL})
	}
	for i, it := range req.Items {
		field := "items." + strconv.Itoa(i) + ".qty"
		if len(it.Qty) == 0 || string(it.Qty) == "null" {
			v.Add(field, "must be a number conforming to the specified constraints")
		}
		p.Items = append(p.Items, tender.FulfillmentItem{PriceID: it.PriceID, Qty: int64(rawInt(&v, field, it.Qty, 0))})
	}
	if err := v.Err(); err != nil {
		return err
	}
	loc, err := h.Locate(r.Context(), sc, "altId", req.AltID)
	if err != nil {
		return err
	}
	f, o, err := h.Orders.Fulfill(r.Context(), loc, r.PathValue("orderId"), p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, wireFulfillmentReply{Status: true, Data: renderFulfillment(f, o)})
}

func (h *Handler) listFulfillments(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateOrders(r, sc, true, false)
	if err != nil {
		return err
	}
	fs, o, err := h.Orders.ListFulfillments(r.Context(), loc, r.PathValue("orderId"))
	if err != nil {
		return err
	}
	data := make([]wireFulfillment, 0, len(fs))
	for _, f := range fs {
		data = append(data, renderFulfillment(f, o))
	}
	return WriteJSON(w, http.StatusOK, wireFulfillmentReply{Status: true, Data: data})
}

// ---- notes ----

// wireNote is an order note as tender answers it (HighLevel documents no
// shape): action names what left it.
type wireNote struct {
	ID        string `json:"_id"`
	Body      string `json:"body"`
	Action    string `json:"action"`
	CreatedBy string `json:"createdBy,omitempty"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

func (h *Handler) listOrderNotes(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateOrders(r, sc, true, false)
	if err != nil {
		return err
	}
	notes, err := h.Orders.ListNotes(r.Context(), loc, r.PathValue("orderId"))
	if err != nil {
		return err
	}
	data := make([]wireNote, 0, len(notes))
	for _, n := range notes {
		data = append(data, wireNote{ID: n.ID, Body: n.Body, Action: n.Action, CreatedBy: n.CreatedBy, CreatedAt: FormatTime(n.CreatedAt), UpdatedAt: FormatTime(n.UpdatedAt)})
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"data": data})
}
