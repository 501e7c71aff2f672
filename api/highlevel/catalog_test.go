package highlevel_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tenderpay/tender/api/highlevel"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/store"
)

// hl is a HighLevel test client of one location.
type hl struct {
	t   *testing.T
	s   *testserver.Server
	loc string
}

func newHL(t *testing.T, opts testserver.Options) *hl {
	s := testserver.Start(t, opts)
	return &hl{t: t, s: s, loc: s.Boot.HighLevel.LocationID}
}

// want sends a request and fails the test unless the status is status; it
// returns the decoded JSON object.
func (c *hl) want(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	r := c.s.HighLevel(c.t, method, path, body)
	if r.Status != status {
		c.t.Fatalf("%s %s: %d %s (want %d)", method, path, r.Status, r.Body, status)
	}
	return r.JSON(c.t)
}

// wantField sends a request and fails the test unless it is a 422 whose
// message names field.
func (c *hl) wantField(field, method, path string, body any) {
	c.t.Helper()
	r := c.s.HighLevel(c.t, method, path, body)
	if r.Status != 422 {
		c.t.Errorf("%s %s %v: %d %s (want 422 naming %s)", method, path, body, r.Status, r.Body, field)
		return
	}
	msgs, _ := r.JSON(c.t)["message"].([]any)
	for _, m := range msgs {
		if s, _ := m.(string); strings.HasPrefix(s, field+" ") {
			return
		}
	}
	c.t.Errorf("%s %s %v: 422 %s does not name %s", method, path, body, r.Body, field)
}

// token mints a token of the location with the given scopes.
func (c *hl) token(scopes ...string) string {
	c.t.Helper()
	tok, err := c.s.Accounts.CreateHighLevelToken(context.Background(), c.loc, false, scopes)
	if err != nil {
		c.t.Fatal(err)
	}
	return tok
}

// wantAs sends with another token and checks the status.
func (c *hl) wantAs(token string, status int, method, path string, body any) {
	c.t.Helper()
	if r := c.s.HighLevelAs(c.t, token, method, path, body); r.Status != status {
		c.t.Errorf("%s %s with another token: %d %s (want %d)", method, path, r.Status, r.Body, status)
	}
}

// foreignLocation returns the location of another company.
func (c *hl) foreignLocation() string {
	c.t.Helper()
	other, err := c.s.Accounts.CreateOrganization(context.Background(), "other")
	if err != nil {
		c.t.Fatal(err)
	}
	return other.AccountID
}

func (c *hl) product(name string) map[string]any {
	c.t.Helper()
	return c.want(201, "POST", "/products/", map[string]any{"name": name, "locationId": c.loc, "productType": "DIGITAL"})
}

func (c *hl) price(productID string, body map[string]any) map[string]any {
	c.t.Helper()
	b := map[string]any{"name": "Standard", "type": "one_time", "currency": "USD", "amount": 10, "locationId": c.loc}
	for k, v := range body {
		b[k] = v
	}
	return c.want(201, "POST", "/products/"+productID+"/price", b)
}

func TestProducts(t *testing.T) {
	t.Parallel()
	testProducts(t, testserver.Options{})
}

func TestProducts_Postgres(t *testing.T) {
	t.Parallel()
	testProducts(t, testserver.Options{Postgres: true})
}

func testProducts(t *testing.T, opts testserver.Options) {
	c := newHL(t, opts)
	loc := c.loc
	full := map[string]any{"name": "Awesome Hat", "locationId": loc, "description": "warm", "productType": "PHYSICAL",
		"image": "https://img.example.com/hat.png", "statementDescriptor": "HATS", "availableInStore": true,
		"variants":      []any{map[string]any{"id": "size", "name": "Size", "options": []any{map[string]any{"id": "s", "name": "S"}, map[string]any{"id": "m", "name": "M"}}}},
		"collectionIds": []string{"col1"}, "isTaxesEnabled": true, "taxes": []string{"tax1"}, "automaticTaxCategoryId": "cat1",
		"isLabelEnabled": true, "label": map[string]any{"title": "New", "startDate": "2024-06-26T05:43:35.000Z"}, "slug": "awesome-hat",
		"medias": []any{map[string]any{"id": "m1", "url": "https://img.example.com/x.png", "type": "image"}}, "seo": map[string]any{"title": "x"}}
	p := c.want(201, "POST", "/products/", full)
	id, _ := p["_id"].(string)
	if !strings.HasPrefix(id, "prod_") || p["locationId"] != loc || p["name"] != "Awesome Hat" || p["productType"] != "PHYSICAL" ||
		p["availableInStore"] != true || p["isTaxesEnabled"] != true || p["slug"] != "awesome-hat" || p["statementDescriptor"] != "HATS" {
		t.Fatalf("create: %v", p)
	}
	if l, _ := p["label"].(map[string]any); l["title"] != "New" || l["startDate"] != "2024-06-26T05:43:35.000Z" {
		t.Errorf("label: %v", p["label"])
	}
	if vs, _ := p["variants"].([]any); len(vs) != 1 {
		t.Errorf("variants: %v", p["variants"])
	}
	got := c.want(200, "GET", "/products/"+id+"?locationId="+loc, nil)
	if fmt.Sprint(got) != fmt.Sprint(p) {
		t.Errorf("get = %v\nwant %v", got, p)
	}
	// Without the trailing slash too.
	other := c.want(201, "POST", "/products", map[string]any{"name": "Scarf", "locationId": loc, "productType": "PHYSICAL/DIGITAL"})

	// Update replaces every field.
	up := c.want(200, "PUT", "/products/"+id, map[string]any{"name": "Hat", "locationId": loc, "productType": "SERVICE"})
	if up["name"] != "Hat" || up["productType"] != "SERVICE" || up["description"] != nil || up["availableInStore"] != false ||
		up["createdAt"] != p["createdAt"] || len(up["variants"].([]any)) != 0 {
		t.Errorf("update: %v", up)
	}

	// List, search, pages, totals.
	list := func(query string) ([]string, float64) {
		t.Helper()
		m := c.want(200, "GET", "/products/?locationId="+loc+query, nil)
		var names []string
		for _, x := range m["products"].([]any) {
			names = append(names, x.(map[string]any)["name"].(string))
		}
		return names, m["total"].([]any)[0].(map[string]any)["total"].(float64)
	}
	if names, n := list(""); fmt.Sprint(names) != "[Scarf Hat]" || n != 2 {
		t.Errorf("list: %v %v", names, n)
	}
	if names, n := list("&search=HA"); fmt.Sprint(names) != "[Hat]" || n != 1 {
		t.Errorf("search: %v %v", names, n)
	}
	if names, n := list("&limit=1&offset=1"); fmt.Sprint(names) != "[Hat]" || n != 2 {
		t.Errorf("page: %v %v", names, n)
	}
	if names, _ := list("&sortOrder=asc"); fmt.Sprint(names) != "[Hat Scarf]" {
		t.Errorf("ascending: %v", names)
	}
	if names, _ := list("&productIds=" + other["_id"].(string)); fmt.Sprint(names) != "[Scarf]" {
		t.Errorf("productIds: %v", names)
	}
	if m := c.want(200, "GET", "/products?locationId="+loc, nil); len(m["products"].([]any)) != 2 {
		t.Errorf("list without the slash: %v", m)
	}

	// Bad input names the field.
	for _, x := range []struct {
		field string
		body  map[string]any
	}{
		{"name", map[string]any{"locationId": loc, "productType": "DIGITAL"}},
		{"productType", map[string]any{"name": "x", "locationId": loc, "productType": "FOOD"}},
		{"locationId", map[string]any{"name": "x", "productType": "DIGITAL"}},
		{"name", map[string]any{"name": 5, "locationId": loc, "productType": "DIGITAL"}},
		{"taxes", map[string]any{"name": "x", "locationId": loc, "productType": "DIGITAL", "isTaxesEnabled": true}},
		{"label", map[string]any{"name": "x", "locationId": loc, "productType": "DIGITAL", "isLabelEnabled": true}},
		{"label.startDate", map[string]any{"name": "x", "locationId": loc, "productType": "DIGITAL", "label": map[string]any{"title": "t", "startDate": "soon"}}},
		{"variants", map[string]any{"name": "x", "locationId": loc, "productType": "DIGITAL", "variants": []any{map[string]any{"id": "v", "name": "V"}}}},
		{"statementDescriptor", map[string]any{"name": "x", "locationId": loc, "productType": "DIGITAL", "statementDescriptor": strings.Repeat("x", 23)}},
	} {
		c.wantField(x.field, "POST", "/products/", x.body)
	}
	c.wantField("body", "POST", "/products/", "")
	c.wantField("sortOrder", "GET", "/products/?locationId="+loc+"&sortOrder=up", nil)
	c.wantField("limit", "GET", "/products/?locationId="+loc+"&limit=500", nil)
	c.wantField("collectionIds", "GET", "/products/?locationId="+loc+"&collectionIds=a", nil)
	c.wantField("locationId", "GET", "/products/", nil)
	c.wantField("locationId", "GET", "/products/"+id, nil)

	// Scopes and tenancy.
	ro := c.token(highlevel.ScopeProductsReadonly)
	c.wantAs(ro, 401, "POST", "/products/", full)
	c.wantAs(ro, 401, "PUT", "/products/"+id, full)
	c.wantAs(ro, 401, "DELETE", "/products/"+id+"?locationId="+loc, nil)
	c.wantAs(ro, 200, "GET", "/products/"+id+"?locationId="+loc, nil)
	prices := c.token(highlevel.ScopePricesReadonly, highlevel.ScopePricesWrite)
	c.wantAs(prices, 401, "GET", "/products/?locationId="+loc, nil)
	c.wantAs(prices, 401, "GET", "/products/"+id+"?locationId="+loc, nil)
	foreign := c.foreignLocation()
	c.want(403, "GET", "/products/?locationId="+foreign, nil)
	c.want(403, "GET", "/products/"+id+"?locationId="+foreign, nil)
	c.want(403, "DELETE", "/products/"+id+"?locationId="+foreign, nil)
	c.want(403, "POST", "/products/", map[string]any{"name": "x", "locationId": foreign, "productType": "DIGITAL"})
	c.want(403, "PUT", "/products/"+id, map[string]any{"name": "x", "locationId": foreign, "productType": "DIGITAL"})

	// Unknown ids.
	for _, m := range []string{"GET", "DELETE"} {
		if r := c.want(400, m, "/products/prod_nope?locationId="+loc, nil); r["message"] != "Product not found" {
			t.Errorf("%s unknown: %v", m, r)
		}
	}
	c.want(400, "PUT", "/products/prod_nope", map[string]any{"name": "x", "locationId": loc, "productType": "DIGITAL"})

	// Delete hides the product.
	if r := c.want(200, "DELETE", "/products/"+id+"?locationId="+loc, nil); r["status"] != true {
		t.Errorf("delete: %v", r)
	}
	c.want(400, "GET", "/products/"+id+"?locationId="+loc, nil)
	c.want(400, "DELETE", "/products/"+id+"?locationId="+loc, nil)
	c.want(400, "PUT", "/products/"+id, map[string]any{"name": "x", "locationId": loc, "productType": "DIGITAL"})
	if names, n := list(""); fmt.Sprint(names) != "[Scarf]" || n != 1 {
		t.Errorf("list after delete: %v %v", names, n)
	}
}

func TestPrices(t *testing.T) {
	t.Parallel()
	testPrices(t, testserver.Options{})
}

func TestPrices_Postgres(t *testing.T) {
	t.Parallel()
	testPrices(t, testserver.Options{Postgres: true})
}

func testPrices(t *testing.T, opts testserver.Options) {
	c := newHL(t, opts)
	loc := c.loc
	prod := c.want(201, "POST", "/products/", map[string]any{"name": "Hat", "locationId": loc, "productType": "PHYSICAL",
		"variants": []any{map[string]any{"id": "size", "name": "Size", "options": []any{map[string]any{"id": "s", "name": "S"}}}}})
	pid := prod["_id"].(string)
	base := "/products/" + pid + "/price"

	one := c.price(pid, map[string]any{"name": "Hat S", "amount": 19.99, "compareAtPrice": 25, "variantOptionIds": []string{"s"},
		"sku": "HAT-S", "trackInventory": true, "availableQuantity": 5, "description": "small", "membershipOffers": []any{}})
	oneID, _ := one["_id"].(string)
	if !strings.HasPrefix(oneID, "price_") || one["amount"] != 19.99 || one["currency"] != "USD" || one["type"] != "one_time" ||
		one["product"] != pid || one["locationId"] != loc || one["compareAtPrice"] != 25.0 || one["availableQuantity"] != 5.0 ||
		one["trackInventory"] != true || one["recurring"] != nil {
		t.Fatalf("create one-time: %v", one)
	}
	rec := c.price(pid, map[string]any{"name": "Monthly", "type": "recurring", "currency": "jpy", "amount": 1500,
		"recurring": map[string]any{"interval": "month", "intervalCount": 3}, "trialPeriod": 7, "totalCycles": 12, "setupFee": 500})
	recID := rec["_id"].(string)
	if r, _ := rec["recurring"].(map[string]any); rec["currency"] != "JPY" || rec["amount"] != 1500.0 || r["interval"] != "month" ||
		r["intervalCount"] != 3.0 || rec["trialPeriod"] != 7.0 || rec["totalCycles"] != 12.0 || rec["setupFee"] != 500.0 {
		t.Fatalf("create recurring: %v", rec)
	}
	// Amounts are exact in minor units: 0.1 + 0.2 style values survive.
	exact := c.price(pid, map[string]any{"name": "Odd", "amount": 1234567.89, "currency": "USD"})
	if fmt.Sprint(exact["amount"]) != "1.23456789e+06" {
		t.Errorf("amount 1234567.89 came back as %v", exact["amount"])
	}
	kwd := c.price(pid, map[string]any{"name": "Dinar", "amount": 1.005, "currency": "KWD"})
	if kwd["amount"] != 1.005 {
		t.Errorf("KWD amount: %v", kwd["amount"])
	}

	got := c.want(200, "GET", base+"/"+oneID+"?locationId="+loc, nil)
	if fmt.Sprint(got) != fmt.Sprint(one) {
		t.Errorf("get = %v\nwant %v", got, one)
	}
	lst := c.want(200, "GET", base+"?locationId="+loc, nil)
	if ps := lst["prices"].([]any); len(ps) != 4 || lst["total"] != 4.0 || ps[0].(map[string]any)["_id"] != oneID {
		t.Errorf("list: %v", lst)
	}
	lst = c.want(200, "GET", base+"?locationId="+loc+"&limit=1&offset=1", nil)
	if ps := lst["prices"].([]any); len(ps) != 1 || lst["total"] != 4.0 || ps[0].(map[string]any)["_id"] != recID {
		t.Errorf("page: %v", lst)
	}
	lst = c.want(200, "GET", base+"?locationId="+loc+"&ids="+url.QueryEscape(oneID+","+recID), nil)
	if lst["total"] != 2.0 {
		t.Errorf("ids: %v", lst)
	}

	// Update replaces the price.
	up := c.want(200, "PUT", base+"/"+recID, map[string]any{"name": "Yearly", "type": "recurring", "currency": "USD", "amount": 99,
		"recurring": map[string]any{"interval": "year", "intervalCount": 1}, "locationId": loc})
	if up["name"] != "Yearly" || up["amount"] != 99.0 || up["setupFee"] != nil || up["createdAt"] != rec["createdAt"] {
		t.Errorf("update: %v", up)
	}

	// Bad input names the field.
	for _, x := range []struct {
		field string
		body  map[string]any
	}{
		{"name", map[string]any{"name": ""}},
		{"type", map[string]any{"type": "weekly"}},
		{"currency", map[string]any{"currency": "XXY"}},
		{"amount", map[string]any{"amount": nil}},
		{"amount", map[string]any{"amount": "ten"}},
		{"amount", map[string]any{"amount": -1}},
		{"amount", map[string]any{"amount": 1.001}},
		{"recurring", map[string]any{"type": "recurring"}},
		{"recurring", map[string]any{"recurring": map[string]any{"interval": "month", "intervalCount": 1}}},
		{"recurring.interval", map[string]any{"type": "recurring", "recurring": map[string]any{"interval": "fortnight", "intervalCount": 1}}},
		{"recurring.intervalCount", map[string]any{"type": "recurring", "recurring": map[string]any{"interval": "month", "intervalCount": 0}}},
		{"recurring.intervalCount", map[string]any{"type": "recurring", "recurring": map[string]any{"interval": "year", "intervalCount": 4}}},
		{"recurring.intervalCount", map[string]any{"type": "recurring", "recurring": map[string]any{"interval": "year", "intervalCount": 1.5}}},
		{"trialPeriod", map[string]any{"trialPeriod": 7}},
		{"variantOptionIds", map[string]any{"variantOptionIds": []string{"xl"}}},
		{"locationId", map[string]any{"locationId": ""}},
	} {
		b := map[string]any{"name": "P", "type": "one_time", "currency": "USD", "amount": 10, "locationId": loc}
		for k, v := range x.body {
			b[k] = v
		}
		c.wantField(x.field, "POST", base, b)
	}
	// The product's variant options that prices use must stay.
	c.wantField("variants", "PUT", "/products/"+pid, map[string]any{"name": "Hat", "locationId": loc, "productType": "PHYSICAL"})

	// Scopes and tenancy.
	ro := c.token(highlevel.ScopePricesReadonly)
	c.wantAs(ro, 401, "POST", base, map[string]any{"name": "P", "type": "one_time", "currency": "USD", "amount": 1, "locationId": loc})
	c.wantAs(ro, 401, "PUT", base+"/"+oneID, map[string]any{"name": "P", "type": "one_time", "currency": "USD", "amount": 1, "locationId": loc})
	c.wantAs(ro, 401, "DELETE", base+"/"+oneID+"?locationId="+loc, nil)
	c.wantAs(ro, 200, "GET", base+"/"+oneID+"?locationId="+loc, nil)
	c.wantAs(ro, 200, "GET", base+"?locationId="+loc, nil)
	products := c.token(highlevel.ScopeProductsReadonly, highlevel.ScopeProductsWrite)
	c.wantAs(products, 401, "GET", base+"?locationId="+loc, nil)
	foreign := c.foreignLocation()
	c.want(403, "GET", base+"?locationId="+foreign, nil)
	c.want(403, "GET", base+"/"+oneID+"?locationId="+foreign, nil)
	c.want(403, "DELETE", base+"/"+oneID+"?locationId="+foreign, nil)
	c.want(403, "POST", base, map[string]any{"name": "P", "type": "one_time", "currency": "USD", "amount": 1, "locationId": foreign})

	// Unknown ids: product, price, and a price of another product.
	if r := c.want(400, "GET", "/products/prod_nope/price?locationId="+loc, nil); r["message"] != "Product not found" {
		t.Errorf("unknown product: %v", r)
	}
	if r := c.want(400, "GET", base+"/price_nope?locationId="+loc, nil); r["message"] != "Price not found" {
		t.Errorf("unknown price: %v", r)
	}
	scarf := c.product("Scarf")
	c.want(400, "GET", "/products/"+scarf["_id"].(string)+"/price/"+oneID+"?locationId="+loc, nil)
	c.want(400, "DELETE", "/products/"+scarf["_id"].(string)+"/price/"+oneID+"?locationId="+loc, nil)
	c.want(400, "POST", "/products/prod_nope/price", map[string]any{"name": "P", "type": "one_time", "currency": "USD", "amount": 1, "locationId": loc})

	// Delete a price; then delete the product, which deletes the rest.
	if r := c.want(200, "DELETE", base+"/"+oneID+"?locationId="+loc, nil); r["status"] != true {
		t.Errorf("delete price: %v", r)
	}
	c.want(400, "GET", base+"/"+oneID+"?locationId="+loc, nil)
	if lst := c.want(200, "GET", base+"?locationId="+loc, nil); lst["total"] != 3.0 {
		t.Errorf("list after deleting a price: %v", lst)
	}
	c.want(200, "DELETE", "/products/"+pid+"?locationId="+loc, nil)
	c.want(400, "GET", base+"/"+recID+"?locationId="+loc, nil)
	c.want(400, "GET", base+"?locationId="+loc, nil)

	// Orders still find deleted prices with their product.
	err := c.s.Store.Read(context.Background(), func(tx store.Tx) error {
		pr, product, err := c.s.Server.HighLevel.Catalog.FindPrice(context.Background(), tx, loc, recID)
		if err != nil {
			return err
		}
		if pr.DeletedAt == nil || product.DeletedAt == nil || product.ID != pid || pr.Name != "Yearly" {
			t.Errorf("FindPrice of a deleted price: %+v %+v", pr, product)
		}
		_, _, err = c.s.Server.HighLevel.Catalog.FindPriceForSale(context.Background(), tx, loc, recID)
		if err == nil {
			t.Error("FindPriceForSale found a deleted price")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
