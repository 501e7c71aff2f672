package highlevel

import (
	"bytes"
	"encoding/json"

	"github.com/tenderpay/tender"
)

// Catalog events reach HighLevel endpoints as ProductCreate, ProductUpdate,
// ProductDelete, PriceCreate, PriceUpdate and PriceDelete
// (refs/highlevel/docs/webhook-events), with the object as the products API
// renders it (GET /products/{id}, GET /products/{id}/price/{priceId}) plus
// what those documents add:
//
//   - a product gets medias (always empty: tender keeps no media);
//   - a price gets priceType, its one_time or recurring type, and
//     trackInventory is null unless the price tracks inventory (the
//     documents type it as null).
//
// HighLevel's documents show a price's own type under priceType in
// PriceCreate but under type in PriceUpdate and PriceDelete. tender sends
// priceType in all three and keeps type for the event's name, as in every
// other HighLevel webhook: a marketplace app has one webhook URL, and type
// is the only field that tells a PriceUpdate from a PriceDelete.
func init() {
	registerWebhook("product", renderProductEvent, map[string]string{
		tender.EventProductCreated: "ProductCreate",
		tender.EventProductUpdated: "ProductUpdate",
		tender.EventProductDeleted: "ProductDelete",
	})
	registerWebhook("price", renderPriceEvent, map[string]string{
		tender.EventPriceCreated: "PriceCreate",
		tender.EventPriceUpdated: "PriceUpdate",
		tender.EventPriceDeleted: "PriceDelete",
	})
}

func renderProductEvent(ev *tender.Event) (map[string]any, error) {
	var p tender.Product
	if err := json.Unmarshal(ev.Object, &p); err != nil {
		return nil, err
	}
	m, err := toMap(renderProduct(&p))
	if err != nil {
		return nil, err
	}
	m["medias"] = []any{}
	return m, nil
}

func renderPriceEvent(ev *tender.Event) (map[string]any, error) {
	var p tender.Price
	if err := json.Unmarshal(ev.Object, &p); err != nil {
		return nil, err
	}
	m, err := toMap(renderPrice(&p))
	if err != nil {
		return nil, err
	}
	m["priceType"] = p.Type
	if !p.TrackInventory {
		m["trackInventory"] = nil
	}
	return m, nil
}

// toMap turns a wire value into a JSON object whose numbers stay the exact
// decimals the value wrote.
func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}
