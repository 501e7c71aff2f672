package highlevel

import (
	"bytes"
	"encoding/json"

	"github.com/tenderpay/tender"
)

// Order events reach HighLevel endpoints as OrderCreate and
// OrderStatusUpdate (an order's status, payment status or fulfillment
// status changed), with the order as GET /payments/orders/{id} renders it
// plus the webhook's amountSummary.tax and .shipping (always 0: tender's
// orders carry neither) and taxSummary (empty).
func init() {
	registerWebhook("order", renderOrderEvent, map[string]string{
		tender.EventOrderCreated: "OrderCreate",
		tender.EventOrderUpdated: "OrderStatusUpdate",
	})
}

func renderOrderEvent(ev *tender.Event) (map[string]any, error) {
	var o tender.Order
	if err := json.Unmarshal(ev.Object, &o); err != nil {
		return nil, err
	}
	b, err := json.Marshal(renderOrder(&o))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // amounts stay the exact decimals renderOrder wrote
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if s, ok := m["amountSummary"].(map[string]any); ok {
		s["tax"], s["shipping"] = 0, 0
	}
	m["taxSummary"] = []any{}
	return m, nil
}
