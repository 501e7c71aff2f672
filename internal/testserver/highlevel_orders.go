package testserver

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// Quirks of HighLevel's payments.json in the orders, transactions and
// subscriptions schemas, where the spec's types contradict what HighLevel
// sends (refs/highlevel/SUMMARY.md §3.2–3.4 and the quirk checklist, item
// 7). docs/highlevel.md lists them under "Orders, transactions and
// subscriptions".
func init() {
	HighLevelQuirks = append(HighLevelQuirks, func(doc *openapi3.T) error {
		if doc.Info == nil || doc.Info.Title != "Payments API" {
			return nil // products.json
		}
		schema := func(name string) (*openapi3.Schema, error) {
			s := doc.Components.Schemas[name]
			if s == nil || s.Value == nil {
				return nil, fmt.Errorf("payments.json has no schema %s", name)
			}
			return s.Value, nil
		}
		prop := func(schemaName, prop string) (*openapi3.Schema, error) {
			s, err := schema(schemaName)
			if err != nil {
				return nil, err
			}
			p := s.Properties[prop]
			if p == nil || p.Value == nil {
				return nil, fmt.Errorf("payments.json %s has no property %s", schemaName, prop)
			}
			// A property's schema may be shared; replace it rather than edit it.
			cp := *p.Value
			s.Properties[prop] = &openapi3.SchemaRef{Value: &cp}
			return &cp, nil
		}
		// SUMMARY §3.2: order items are typed string[] but are objects
		// {name, qty, product, price}.
		items, err := prop("GetOrderResponseSchema", "items")
		if err != nil {
			return err
		}
		items.Items = &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"object"}}}
		// SUMMARY §3.3, §3.4 and checklist 7: a transaction's and a
		// subscription's status, and a subscription's altType, are typed
		// object but are strings ("succeeded", "active", "location").
		for _, sp := range [][2]string{
			{"TxnResponseSchema", "status"}, {"GetTxnResponseSchema", "status"},
			{"SubscriptionResponseSchema", "status"}, {"GetSubscriptionResponseSchema", "status"},
			{"GetSubscriptionResponseSchema", "altType"},
		} {
			s, err := prop(sp[0], sp[1])
			if err != nil {
				return err
			}
			s.Type = &openapi3.Types{"string"}
		}
		return nil
	})
}
