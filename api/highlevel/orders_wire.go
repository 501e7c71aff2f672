package highlevel

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// Helpers of the orders, transactions and subscriptions routes.

// bodyNumber returns raw as a JSON number literal; present is false for an
// absent or null value. A value of another type is a problem of field.
func bodyNumber(v *tender.Validation, field string, raw json.RawMessage) (n json.Number, present bool) {
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

// bodyInt reads a whole number; absent is def.
func bodyInt(v *tender.Validation, field string, raw json.RawMessage, def int64) int64 {
	n, ok := bodyNumber(v, field, raw)
	if !ok {
		return def
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		v.Add(field, "must be an integer number")
		return def
	}
	return i
}

// queryList reads a list query parameter given as repeated or
// comma-separated values.
func queryList(vals []string) []string {
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

func timeOrEmpty(t *time.Time) string {
	if t == nil {
		return ""
	}
	return FormatTime(*t)
}

// orderProduct is DefaultProductResponseDto: a product as an order line
// shows it.
type orderProduct struct {
	ID                  string   `json:"_id"`
	LocationID          string   `json:"locationId"`
	Name                string   `json:"name"`
	ProductType         string   `json:"productType"`
	Description         string   `json:"description,omitempty"`
	Image               string   `json:"image,omitempty"`
	StatementDescriptor string   `json:"statementDescriptor,omitempty"`
	AvailableInStore    bool     `json:"availableInStore"`
	CollectionIDs       []string `json:"collectionIds"`
	IsTaxesEnabled      bool     `json:"isTaxesEnabled"`
	Slug                string   `json:"slug,omitempty"`
	CreatedAt           string   `json:"createdAt"`
	UpdatedAt           string   `json:"updatedAt"`
}

// orderPrice is DefaultPriceResponseDto: a price as an order line shows
// it.
type orderPrice struct {
	ID               string               `json:"_id"`
	Name             string               `json:"name"`
	Type             string               `json:"type"`
	Currency         string               `json:"currency"`
	Amount           json.Number          `json:"amount"`
	Recurring        *orderPriceRecurring `json:"recurring,omitempty"`
	LocationID       string               `json:"locationId"`
	Product          string               `json:"product"`
	VariantOptionIDs []string             `json:"variantOptionIds"`
	CreatedAt        string               `json:"createdAt"`
	UpdatedAt        string               `json:"updatedAt"`
}

type orderPriceRecurring struct {
	Interval      string `json:"interval"`
	IntervalCount int    `json:"intervalCount"`
}

// itemProduct renders the product an order line was sold with (as it was
// then).
func itemProduct(raw json.RawMessage) *orderProduct {
	var p tender.Product
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil {
		return nil
	}
	ids := p.CollectionIDs
	if ids == nil {
		ids = []string{}
	}
	return &orderProduct{ID: p.ID, LocationID: p.AccountID, Name: p.Name, ProductType: p.ProductType, Description: p.Description,
		Image: p.Image, StatementDescriptor: p.StatementDescriptor, AvailableInStore: p.AvailableInStore, CollectionIDs: ids,
		IsTaxesEnabled: p.IsTaxesEnabled, Slug: p.Slug, CreatedAt: FormatTime(p.CreatedAt), UpdatedAt: FormatTime(p.UpdatedAt)}
}

// itemPrice renders the price an order line was sold at (as it was then).
func itemPrice(raw json.RawMessage) *orderPrice {
	var p tender.Price
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil {
		return nil
	}
	ids := p.VariantOptionIDs
	if ids == nil {
		ids = []string{}
	}
	out := &orderPrice{ID: p.ID, Name: p.Name, Type: p.Type, Currency: string(p.Currency), Amount: Major(p.Amount, p.Currency),
		LocationID: p.AccountID, Product: p.ProductID, VariantOptionIDs: ids, CreatedAt: FormatTime(p.CreatedAt), UpdatedAt: FormatTime(p.UpdatedAt)}
	if p.Recurring != nil {
		out.Recurring = &orderPriceRecurring{Interval: p.Recurring.Interval, IntervalCount: p.Recurring.IntervalCount}
	}
	return out
}
