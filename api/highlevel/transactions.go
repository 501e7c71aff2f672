package highlevel

import (
	"encoding/json"
	"net/http"

	"github.com/tenderpay/tender"
)

func init() { routeGroups = append(routeGroups, (*Handler).transactionRoutes) }

func (h *Handler) transactionRoutes(mux *http.ServeMux) {
	h.route(mux, "GET /payments/transactions", ScopeTransactionsReadonly, h.listTransactions)
	h.route(mux, "GET /payments/transactions/{transactionId}", ScopeTransactionsReadonly, h.getTransaction)
}

// TransactionStatus is a payment's HighLevel transaction status:
// succeeded once captured, refunded or partially_refunded after refunds,
// pending while a bank payment settles or a card authorization waits for
// capture, failed when declined, voided when an authorization was
// released.
func TransactionStatus(x *tender.Transaction) string {
	switch x.Status {
	case tender.PaymentCaptured:
		switch {
		case x.AmountRefunded > 0 && x.AmountRefunded >= x.AmountCaptured:
			return "refunded"
		case x.AmountRefunded > 0:
			return "partially_refunded"
		}
		return "succeeded"
	case tender.PaymentPending, tender.PaymentUncaptured:
		return "pending"
	case tender.PaymentFailed:
		return "failed"
	case tender.PaymentVoided, tender.PaymentCancelled:
		return "voided"
	}
	return x.Status
}

// wirePaymentMethod is a transaction's paymentMethod: {card:{brand,last4}}
// for cards, else {type} naming the method (bank, cash, cheque, …).
type wirePaymentMethod struct {
	Type string            `json:"type"`
	Card *tender.CardBrief `json:"card,omitempty"`
}

func renderPaymentMethod(x *tender.Transaction) *wirePaymentMethod {
	if x.Method == "" && x.Card == nil {
		return nil
	}
	return &wirePaymentMethod{Type: x.Method, Card: x.Card}
}

// fulfilledAt is when the transaction was charged: its capture, or its
// attempt when it captured nothing.
func fulfilledAt(x *tender.Transaction) string {
	if x.CapturedAt != nil {
		return FormatTime(*x.CapturedAt)
	}
	return FormatTime(x.CreatedAt)
}

// wireTxnSummary is TxnResponseSchema (a list item), with tender's
// paymentIntentId.
type wireTxnSummary struct {
	ID                  string             `json:"_id"`
	AltID               string             `json:"altId"`
	AltType             string             `json:"altType"`
	ContactID           string             `json:"contactId,omitempty"`
	ContactName         string             `json:"contactName,omitempty"`
	ContactEmail        string             `json:"contactEmail,omitempty"`
	Currency            string             `json:"currency"`
	Amount              json.Number        `json:"amount"`
	AmountRefunded      json.Number        `json:"amountRefunded"`
	Status              string             `json:"status"`
	LiveMode            bool               `json:"liveMode"`
	EntityType          string             `json:"entityType,omitempty"`
	EntityID            string             `json:"entityId,omitempty"`
	EntitySourceType    string             `json:"entitySourceType"`
	EntitySourceSubType string             `json:"entitySourceSubType,omitempty"`
	EntitySourceName    string             `json:"entitySourceName,omitempty"`
	EntitySourceID      string             `json:"entitySourceId,omitempty"`
	EntitySourceMeta    json.RawMessage    `json:"entitySourceMeta,omitempty"`
	SubscriptionID      string             `json:"subscriptionId,omitempty"`
	ChargeID            string             `json:"chargeId,omitempty"`
	PaymentProviderType string             `json:"paymentProviderType"`
	PaymentMethod       *wirePaymentMethod `json:"paymentMethod,omitempty"`
	PaymentIntentID     string             `json:"paymentIntentId"`
	FulfilledAt         string             `json:"fulfilledAt"`
	CreatedAt           string             `json:"createdAt"`
	UpdatedAt           string             `json:"updatedAt"`
}

func renderTxnSummary(x *tender.Transaction) wireTxnSummary {
	return wireTxnSummary{ID: x.ID, AltID: x.AccountID, AltType: "location", ContactID: x.Contact.ID, ContactName: x.Contact.Name,
		ContactEmail: x.Contact.Email, Currency: string(x.Currency), Amount: Major(x.Amount, x.Currency),
		AmountRefunded: Major(x.AmountRefunded, x.Currency), Status: TransactionStatus(x), LiveMode: x.Mode == tender.ModeLive,
		EntityType: x.EntityType, EntityID: x.EntityID, EntitySourceType: x.Source.Type, EntitySourceSubType: x.Source.SubType,
		EntitySourceName: x.Source.Name, EntitySourceID: x.Source.ID, EntitySourceMeta: x.Source.Meta, SubscriptionID: x.SubscriptionID,
		ChargeID: x.ChargeID, PaymentProviderType: x.ProviderType, PaymentMethod: renderPaymentMethod(x), PaymentIntentID: x.PaymentIntentID,
		FulfilledAt: fulfilledAt(x), CreatedAt: FormatTime(x.CreatedAt), UpdatedAt: FormatTime(x.UpdatedAt)}
}

type wirePaymentProvider struct {
	Type string `json:"type"`
}

// wireTxn is GetTxnResponseSchema: entitySource and paymentProvider
// nested, with tender's paymentMethod, paymentIntentId and fulfilledAt.
type wireTxn struct {
	ID              string              `json:"_id"`
	AltID           string              `json:"altId"`
	AltType         string              `json:"altType"`
	ContactID       string              `json:"contactId,omitempty"`
	ContactSnapshot wireContactSnapshot `json:"contactSnapshot"`
	Currency        string              `json:"currency"`
	Amount          json.Number         `json:"amount"`
	AmountRefunded  json.Number         `json:"amountRefunded"`
	Status          string              `json:"status"`
	LiveMode        bool                `json:"liveMode"`
	EntityType      string              `json:"entityType,omitempty"`
	EntityID        string              `json:"entityId,omitempty"`
	EntitySource    wireOrderSource     `json:"entitySource"`
	ChargeID        string              `json:"chargeId,omitempty"`
	SubscriptionID  string              `json:"subscriptionId,omitempty"`
	PaymentProvider wirePaymentProvider `json:"paymentProvider"`
	PaymentMethod   *wirePaymentMethod  `json:"paymentMethod,omitempty"`
	MarkAsTest      bool                `json:"markAsTest"`
	Meta            map[string]string   `json:"meta,omitempty"`
	PaymentIntentID string              `json:"paymentIntentId"`
	FulfilledAt     string              `json:"fulfilledAt"`
	CreatedAt       string              `json:"createdAt"`
	UpdatedAt       string              `json:"updatedAt"`
}

func renderTxn(x *tender.Transaction) wireTxn {
	out := wireTxn{ID: x.ID, AltID: x.AccountID, AltType: "location", ContactID: x.Contact.ID, ContactSnapshot: renderContact(x.Contact),
		Currency: string(x.Currency), Amount: Major(x.Amount, x.Currency), AmountRefunded: Major(x.AmountRefunded, x.Currency),
		Status: TransactionStatus(x), LiveMode: x.Mode == tender.ModeLive, EntityType: x.EntityType, EntityID: x.EntityID,
		EntitySource: renderSource(x.Source), ChargeID: x.ChargeID, SubscriptionID: x.SubscriptionID,
		PaymentProvider: wirePaymentProvider{Type: x.ProviderType}, PaymentMethod: renderPaymentMethod(x), MarkAsTest: x.Mode == tender.ModeTest,
		PaymentIntentID: x.PaymentIntentID, FulfilledAt: fulfilledAt(x), CreatedAt: FormatTime(x.CreatedAt), UpdatedAt: FormatTime(x.UpdatedAt)}
	if x.Description != "" {
		out.Meta = map[string]string{"description": x.Description}
	}
	return out
}

type wireTxnList struct {
	Data       []wireTxnSummary `json:"data"`
	TotalCount int              `json:"totalCount"`
}

// locateTransactions resolves altId (or locationId) for the transactions
// routes, whose altType HighLevel types as a free string: "location", or
// "account" as HighLevel's own examples of this route send.
func (h *Handler) locateTransactions(r *http.Request, sc tender.Scope) (tender.Scope, error) {
	if err := h.ordersReady(); err != nil {
		return tender.Scope{}, err
	}
	q := r.URL.Query()
	var v tender.Validation
	if t := q.Get("altType"); t != "location" && t != "account" {
		v.Add("altType", "must be one of the following values: location, account")
	}
	id := q.Get("altId")
	if id == "" {
		id = q.Get("locationId")
	}
	if id == "" {
		v.Add("altId", "should not be empty")
	}
	if err := v.Err(); err != nil {
		return tender.Scope{}, err
	}
	return h.Locate(r.Context(), sc, "altId", id)
}

func (h *Handler) listTransactions(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateTransactions(r, sc)
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	f := tender.TransactionFilter{Mode: q.LiveMode(), Start: q.Date("startAt", false), End: q.Date("endAt", true),
		SourceType: q.Get("entitySourceType"), SourceSubType: q.Get("entitySourceSubType"), Search: q.Get("search"),
		SubscriptionID: q.Get("subscriptionId"), EntityID: q.Get("entityId"), ContactID: q.Get("contactId")}
	f.Limit, f.Offset = q.Page(10)
	if err := q.V.Err(); err != nil {
		return err
	}
	items, n, err := h.Orders.ListTransactions(r.Context(), loc, f)
	if err != nil {
		return err
	}
	out := wireTxnList{Data: make([]wireTxnSummary, 0, len(items)), TotalCount: n}
	for _, x := range items {
		out.Data = append(out.Data, renderTxnSummary(x))
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getTransaction(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateTransactions(r, sc)
	if err != nil {
		return err
	}
	x, err := h.Orders.GetTransaction(r.Context(), loc, r.PathValue("transactionId"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderTxn(x))
}
