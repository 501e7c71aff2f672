package highlevel

import (
	"encoding/json"

	"github.com/tenderpay/tender"
)

// Order lines show their product and price as HighLevel's products API
// renders them.

// itemProduct renders the product an order line was sold with (as it was
// then).
func itemProduct(raw json.RawMessage) *wireProduct {
	var p tender.Product
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil {
		return nil
	}
	out := renderProduct(&p)
	return &out
}

// itemPrice renders the price an order line was sold at (as it was then).
func itemPrice(raw json.RawMessage) *wirePrice {
	var p tender.Price
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil {
		return nil
	}
	out := renderPrice(&p)
	return &out
}
