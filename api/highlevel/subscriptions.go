package highlevel

import (
	"encoding/json"
	"net/http"

	"github.com/tenderpay/tender"
)

func init() { routeGroups = append(routeGroups, (*Handler).subscriptionRoutes) }

func (h *Handler) subscriptionRoutes(mux *http.ServeMux) {
	h.route(mux, "GET /payments/subscriptions", ScopeSubscriptionsReadonly, h.listSubscriptions)
	h.route(mux, "GET /payments/subscriptions/{subscriptionId}", ScopeSubscriptionsReadonly, h.getSubscription)
	h.route(mux, "POST /payments/subscriptions/{subscriptionId}/cancel", ScopeSubscriptionsWrite, h.cancelSubscription)
}

// ScopeSubscriptionsWrite is tender's scope for its subscription cancel
// extension (HighLevel's spec has no write operation on subscriptions).
const ScopeSubscriptionsWrite = "payments/subscriptions.write"

// cancelSubscription cancels a subscription at once (at its custom
// provider first, when one runs it) and answers it as GET shows it.
func (h *Handler) cancelSubscription(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.ordersReady(); err != nil {
		return err
	}
	var req struct {
		AltID   string `json:"altId"`
		AltType string `json:"altType"`
	}
	if err := Decode(r, &req); err != nil {
		return err
	}
	var v tender.Validation
	CheckBodyLocation(&v, req.AltID, req.AltType)
	if err := v.Err(); err != nil {
		return err
	}
	loc, err := h.Locate(r.Context(), sc, "altId", req.AltID)
	if err != nil {
		return err
	}
	s, err := h.Orders.CancelSubscription(r.Context(), loc, r.PathValue("subscriptionId"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderSubscription(s))
}

// wireSubscriptionSnapshot is a subscription's subscriptionSnapshot: the
// core subscription as tender keeps it (HighLevel passes the provider's own
// object through here).
type wireSubscriptionSnapshot struct {
	ID                 string                 `json:"id"`
	Status             string                 `json:"status"`
	Interval           string                 `json:"interval"`
	IntervalCount      int                    `json:"intervalCount"`
	Amount             json.Number            `json:"amount"`
	Discount           json.Number            `json:"discount"`
	Currency           string                 `json:"currency"`
	CurrentPeriodStart string                 `json:"currentPeriodStart,omitempty"`
	CurrentPeriodEnd   string                 `json:"currentPeriodEnd,omitempty"`
	TrialDays          int                    `json:"trialDays,omitempty"`
	TrialEnd           string                 `json:"trialEnd,omitempty"`
	TotalCycles        int                    `json:"totalCycles,omitempty"`
	ProviderMessage    string                 `json:"providerMessage,omitempty"`
	Items              []wireSubscriptionItem `json:"items"`
}

type wireSubscriptionItem struct {
	PriceID   string      `json:"priceId"`
	ProductID string      `json:"productId"`
	Name      string      `json:"name"`
	Qty       int64       `json:"qty"`
	Amount    json.Number `json:"amount"`
}

func renderSubscriptionSnapshot(s *tender.Subscription) wireSubscriptionSnapshot {
	out := wireSubscriptionSnapshot{ID: s.ID, Status: s.Status, Interval: s.Recurrence.Interval, IntervalCount: s.Recurrence.IntervalCount,
		Amount: Major(s.Amount, s.Currency), Discount: Major(s.Discount, s.Currency), Currency: string(s.Currency),
		CurrentPeriodStart: formatTimePtr(s.CurrentPeriodStart), CurrentPeriodEnd: formatTimePtr(s.CurrentPeriodEnd),
		TrialDays: s.TrialDays, TrialEnd: formatTimePtr(s.TrialEnd), TotalCycles: s.TotalCycles, ProviderMessage: s.ProviderMessage,
		Items: make([]wireSubscriptionItem, 0, len(s.Items))}
	for _, it := range s.Items {
		out.Items = append(out.Items, wireSubscriptionItem{PriceID: it.PriceID, ProductID: it.ProductID, Name: it.Name, Qty: it.Qty,
			Amount: Major(it.UnitAmount, s.Currency)})
	}
	return out
}

// providerSubscriptionID is the subscriptionId HighLevel shows: the
// provider's own id, which is tender's when tender bills it.
func providerSubscriptionID(s *tender.Subscription) string {
	if s.ProviderID != "" {
		return s.ProviderID
	}
	return s.ID
}

// wireSubscriptionSummary is SubscriptionResponseSchema (a list item),
// with paymentsCollectedCount when the list is asked for it.
type wireSubscriptionSummary struct {
	ID                     string                   `json:"_id"`
	AltID                  string                   `json:"altId"`
	AltType                string                   `json:"altType"`
	ContactID              string                   `json:"contactId,omitempty"`
	ContactName            string                   `json:"contactName,omitempty"`
	ContactEmail           string                   `json:"contactEmail,omitempty"`
	Currency               string                   `json:"currency"`
	Amount                 json.Number              `json:"amount"`
	Status                 string                   `json:"status"`
	LiveMode               bool                     `json:"liveMode"`
	EntityType             string                   `json:"entityType,omitempty"`
	EntityID               string                   `json:"entityId,omitempty"`
	EntitySourceType       string                   `json:"entitySourceType"`
	EntitySourceName       string                   `json:"entitySourceName,omitempty"`
	EntitySourceID         string                   `json:"entitySourceId,omitempty"`
	EntitySourceMeta       json.RawMessage          `json:"entitySourceMeta,omitempty"`
	SubscriptionID         string                   `json:"subscriptionId"`
	SubscriptionSnapshot   wireSubscriptionSnapshot `json:"subscriptionSnapshot"`
	PaymentProviderType    string                   `json:"paymentProviderType"`
	PaymentsCollectedCount *int                     `json:"paymentsCollectedCount,omitempty"`
	CreatedAt              string                   `json:"createdAt"`
	UpdatedAt              string                   `json:"updatedAt"`
}

func renderSubscriptionSummary(s *tender.Subscription) wireSubscriptionSummary {
	return wireSubscriptionSummary{ID: s.ID, AltID: s.AccountID, AltType: "location", ContactID: s.Contact.ID, ContactName: s.Contact.Name,
		ContactEmail: s.Contact.Email, Currency: string(s.Currency), Amount: Major(s.Amount, s.Currency), Status: s.Status,
		LiveMode: s.Mode == tender.ModeLive, EntityType: s.EntityType, EntityID: s.EntityID, EntitySourceType: s.Source.Type,
		EntitySourceName: s.Source.Name, EntitySourceID: s.Source.ID, EntitySourceMeta: s.Source.Meta, SubscriptionID: providerSubscriptionID(s),
		SubscriptionSnapshot: renderSubscriptionSnapshot(s), PaymentProviderType: s.ProviderType,
		CreatedAt: FormatTime(s.CreatedAt), UpdatedAt: FormatTime(s.UpdatedAt)}
}

// rruleIntervals maps a recurrence's interval to CustomRRuleOptionsDto's
// intervalType.
var rruleIntervals = map[string]string{"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}

type wireRRule struct {
	IntervalType string `json:"intervalType"`
	Interval     int    `json:"interval"`
	StartDate    string `json:"startDate"`
	StartTime    string `json:"startTime,omitempty"`
}

type wireSchedule struct {
	ExecuteAt string     `json:"executeAt,omitempty"`
	RRule     *wireRRule `json:"rrule,omitempty"`
}

type wireAutoPayment struct {
	PaymentMethodID string `json:"paymentMethodId,omitempty"`
}

type wireRecurringProduct struct {
	Name    string       `json:"name"`
	Qty     int64        `json:"qty"`
	Product *wireProduct `json:"product,omitempty"`
	Price   *wirePrice   `json:"price,omitempty"`
}

// wireSubscription is GetSubscriptionResponseSchema.
type wireSubscription struct {
	ID                   string                   `json:"_id"`
	AltID                string                   `json:"altId"`
	AltType              string                   `json:"altType"`
	ContactID            string                   `json:"contactId,omitempty"`
	ContactSnapshot      wireContactSnapshot      `json:"contactSnapshot"`
	Coupon               *wireOrderCoupon         `json:"coupon,omitempty"`
	Currency             string                   `json:"currency"`
	Amount               json.Number              `json:"amount"`
	Status               string                   `json:"status"`
	LiveMode             bool                     `json:"liveMode"`
	EntityType           string                   `json:"entityType,omitempty"`
	EntityID             string                   `json:"entityId,omitempty"`
	EntitySource         wireOrderSource          `json:"entitySource"`
	SubscriptionID       string                   `json:"subscriptionId"`
	SubscriptionSnapshot wireSubscriptionSnapshot `json:"subscriptionSnapshot"`
	PaymentProvider      wirePaymentProvider      `json:"paymentProvider"`
	MarkAsTest           bool                     `json:"markAsTest"`
	Schedule             *wireSchedule            `json:"schedule,omitempty"`
	AutoPayment          *wireAutoPayment         `json:"autoPayment,omitempty"`
	RecurringProduct     *wireRecurringProduct    `json:"recurringProduct,omitempty"`
	CanceledAt           string                   `json:"canceledAt,omitempty"`
	CreatedAt            string                   `json:"createdAt"`
	UpdatedAt            string                   `json:"updatedAt"`
}

func renderSubscription(s *tender.Subscription) wireSubscription {
	out := wireSubscription{ID: s.ID, AltID: s.AccountID, AltType: "location", ContactID: s.Contact.ID, ContactSnapshot: renderContact(s.Contact),
		Currency: string(s.Currency), Amount: Major(s.Amount, s.Currency), Status: s.Status, LiveMode: s.Mode == tender.ModeLive,
		EntityType: s.EntityType, EntityID: s.EntityID, EntitySource: renderSource(s.Source), SubscriptionID: providerSubscriptionID(s),
		SubscriptionSnapshot: renderSubscriptionSnapshot(s), PaymentProvider: wirePaymentProvider{Type: s.ProviderType},
		MarkAsTest: s.Mode == tender.ModeTest, CanceledAt: formatTimePtr(s.CanceledAt), CreatedAt: FormatTime(s.CreatedAt), UpdatedAt: FormatTime(s.UpdatedAt)}
	if s.Coupon != nil {
		out.Coupon = &wireOrderCoupon{ID: s.Coupon.ID, Code: s.Coupon.Code}
	}
	if s.CurrentPeriodStart != nil {
		start := *s.CurrentPeriodStart
		out.Schedule = &wireSchedule{ExecuteAt: formatTimePtr(s.CurrentPeriodEnd), RRule: &wireRRule{IntervalType: rruleIntervals[s.Recurrence.Interval],
			Interval: max(s.Recurrence.IntervalCount, 1), StartDate: start.Format("2006-01-02"), StartTime: start.Format("15:04:05")}}
	}
	if s.PaymentMethodID != "" {
		out.AutoPayment = &wireAutoPayment{PaymentMethodID: s.PaymentMethodID}
	}
	if len(s.Items) > 0 {
		it := s.Items[0]
		rp := &wireRecurringProduct{Name: it.Name, Qty: it.Qty}
		rp.Product = itemProduct(it.Product)
		rp.Price = itemPrice(it.Price)
		out.RecurringProduct = rp
	}
	return out
}

type wireSubscriptionList struct {
	Data       []wireSubscriptionSummary `json:"data"`
	TotalCount int                       `json:"totalCount"`
}

func (h *Handler) listSubscriptions(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateOrders(r, sc, true, false)
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	f := tender.SubscriptionFilter{Mode: q.LiveMode(), ID: q.Get("id"), EntityID: q.Get("entityId"), ContactID: q.Get("contactId"),
		SourceType: q.Get("entitySourceType"), Search: q.Get("search"), Start: q.Date("startAt", false), End: q.Date("endAt", true)}
	f.Limit, f.Offset = q.Page(10)
	withCounts := q.Bool("getPaymentsCollectedCount")
	if err := q.V.Err(); err != nil {
		return err
	}
	items, n, counts, err := h.Orders.ListSubscriptions(r.Context(), loc, f, withCounts)
	if err != nil {
		return err
	}
	out := wireSubscriptionList{Data: make([]wireSubscriptionSummary, 0, len(items)), TotalCount: n}
	for _, s := range items {
		ws := renderSubscriptionSummary(s)
		if withCounts {
			c := counts[s.ID]
			ws.PaymentsCollectedCount = &c
		}
		out.Data = append(out.Data, ws)
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getSubscription(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateOrders(r, sc, true, false)
	if err != nil {
		return err
	}
	s, err := h.Orders.GetSubscription(r.Context(), loc, r.PathValue("subscriptionId"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderSubscription(s))
}
