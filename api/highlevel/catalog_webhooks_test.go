package highlevel_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
)

// verifyDeliveries checks both signatures of each HighLevel delivery with
// the keys the server serves, and each body against the schema HighLevel
// documents for its event; it returns the bodies.
func verifyDeliveries(t *testing.T, s *testserver.Server, got []received) []map[string]any {
	t.Helper()
	rsaPub := parsePEM(t, s.Do(t, "GET", "/.well-known/tender/highlevel-webhook-public-key.pem", nil, nil).Body).(*rsa.PublicKey)
	edPub := parsePEM(t, s.Do(t, "GET", "/.well-known/tender/highlevel-webhook-ed25519-public-key.pem", nil, nil).Body).(ed25519.PublicKey)
	var out []map[string]any
	for _, g := range got {
		sig, _ := base64.StdEncoding.DecodeString(g.header.Get("x-wh-signature"))
		digest := sha256.Sum256(g.body)
		if err := rsa.VerifyPKCS1v15(rsaPub, crypto.SHA256, digest[:], sig); err != nil {
			t.Errorf("x-wh-signature: %v", err)
		}
		esig, _ := base64.StdEncoding.DecodeString(g.header.Get("x-ghl-signature"))
		if !ed25519.Verify(edPub, g.body, esig) {
			t.Errorf("x-ghl-signature does not verify")
		}
		var m map[string]any
		if err := json.Unmarshal(g.body, &m); err != nil {
			t.Fatal(err)
		}
		typ, _ := m["type"].(string)
		if schema := webhookSchema(t, typ); schema != nil {
			var v any
			_ = json.Unmarshal(g.body, &v)
			if err := schema.VisitJSON(v); err != nil {
				t.Errorf("%s payload does not match HighLevel's schema: %v\n%s", typ, err, g.body)
			}
		}
		out = append(out, m)
	}
	return out
}

// TestCatalogWebhooks creates, updates and deletes a product and its
// prices through the products API and checks that HighLevel endpoints of
// both modes receive each change, signed and shaped as HighLevel documents
// it, while a Forward endpoint of the same account receives none of them.
func TestCatalogWebhooks(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "SQLite"
		if pg {
			name = "Postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testCatalogWebhooks(t, testserver.Start(t, testserver.Options{Postgres: pg}))
		})
	}
}

func testCatalogWebhooks(t *testing.T, s *testserver.Server) {
	loc := s.Boot.HighLevel.LocationID
	names := []string{"ProductCreate", "ProductUpdate", "ProductDelete", "PriceCreate", "PriceUpdate", "PriceDelete"}
	live, test, fwd := newReceiver(t), newReceiver(t), newReceiver(t)
	for _, ep := range []struct {
		rc   *receiver
		live bool
	}{{live, true}, {test, false}} {
		r := s.HighLevel(t, "POST", "/payments/webhook-endpoints", map[string]any{"altId": loc, "altType": "location",
			"url": ep.rc.srv.URL + "/hl", "events": names, "liveMode": ep.live})
		if r.Status != 201 {
			t.Fatalf("create endpoint: %d %s", r.Status, r.Body)
		}
	}
	if r := s.Forward(t, "POST", "/webhook_endpoints", map[string]any{"url": fwd.srv.URL, "events": []string{"*"}}); r.Status != 201 {
		t.Fatalf("create the Forward endpoint: %d %s", r.Status, r.Body)
	}
	hl := func(status int, method, path string, body any) map[string]any {
		t.Helper()
		r := s.HighLevel(t, method, path, body)
		if r.Status != status {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, r.Status, status, r.Body)
		}
		return r.JSON(t)
	}

	variants := []map[string]any{{"id": "size", "name": "Size", "options": []map[string]any{{"id": "s", "name": "S"}, {"id": "xl", "name": "XL"}}}}
	product := hl(201, "POST", "/products/", map[string]any{"name": "Tee", "locationId": loc, "productType": "PHYSICAL",
		"description": "A shirt", "availableInStore": true, "variants": variants, "statementDescriptor": "TEE"})
	pid := product["_id"].(string)
	hl(200, "PUT", "/products/"+pid, map[string]any{"name": "Tee v2", "locationId": loc, "productType": "PHYSICAL",
		"description": "A better shirt", "variants": variants})
	price := hl(201, "POST", "/products/"+pid+"/price", map[string]any{"name": "XL", "locationId": loc, "type": "one_time",
		"currency": "USD", "amount": 19.99, "compareAtPrice": 25, "variantOptionIds": []string{"xl"}, "availableQuantity": 5,
		"allowOutOfStockPurchases": true, "userId": "user-1"})
	priceID := price["_id"].(string)
	hl(200, "PUT", "/products/"+pid+"/price/"+priceID, map[string]any{"name": "XL", "locationId": loc, "type": "one_time",
		"currency": "USD", "amount": 21.5, "variantOptionIds": []string{"xl"}})
	hl(200, "DELETE", "/products/"+pid+"/price/"+priceID+"?locationId="+loc, nil)
	monthly := hl(201, "POST", "/products/"+pid+"/price", map[string]any{"name": "Club", "locationId": loc, "type": "recurring",
		"currency": "JPY", "amount": 500, "recurring": map[string]any{"interval": "month", "intervalCount": 3}})
	hl(200, "DELETE", "/products/"+pid+"?locationId="+loc, nil)

	// In the order made: the deleted product's price goes before it.
	want := []string{"ProductCreate", "ProductUpdate", "PriceCreate", "PriceUpdate", "PriceDelete", "PriceCreate", "PriceDelete", "ProductDelete"}
	for _, rc := range []*receiver{live, test} {
		bodies := verifyDeliveries(t, s, rc.waitFor(t, len(want)))
		byType := map[string][]map[string]any{}
		ids := map[string]bool{}
		for _, m := range bodies {
			typ := m["type"].(string)
			byType[typ] = append(byType[typ], m)
			if m["locationId"] != loc {
				t.Errorf("%s locationId: %v", typ, m["locationId"])
			}
			id, _ := m["webhookId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s webhookId %q is empty or repeated", typ, id)
			}
			ids[id] = true
			if _, err := time.Parse(time.RFC3339, m["createdAt"].(string)); err != nil {
				t.Errorf("%s createdAt: %v", typ, err)
			}
		}
		for _, typ := range names {
			n := 0
			for _, w := range want {
				if w == typ {
					n++
				}
			}
			if len(byType[typ]) != n {
				t.Fatalf("%d %s deliveries, want %d: %v", len(byType[typ]), typ, n, byType)
			}
		}
		pc, pu, pd := byType["ProductCreate"][0], byType["ProductUpdate"][0], byType["ProductDelete"][0]
		if pc["_id"] != pid || pc["name"] != "Tee" || pc["productType"] != "PHYSICAL" || pc["availableInStore"] != true ||
			pc["description"] != "A shirt" || pc["statementDescriptor"] != "TEE" {
			t.Errorf("ProductCreate: %v", pc)
		}
		if v := pc["variants"].([]any); len(v) != 1 || v[0].(map[string]any)["options"].([]any)[1].(map[string]any)["name"] != "XL" {
			t.Errorf("ProductCreate variants: %v", pc["variants"])
		}
		if m, ok := pc["medias"].([]any); !ok || len(m) != 0 {
			t.Errorf("ProductCreate medias: %v", pc["medias"])
		}
		if pu["_id"] != pid || pu["name"] != "Tee v2" || pu["description"] != "A better shirt" || pu["availableInStore"] != false {
			t.Errorf("ProductUpdate: %v", pu)
		}
		if pd["_id"] != pid || pd["name"] != "Tee v2" {
			t.Errorf("ProductDelete: %v", pd)
		}
		var created, club map[string]any
		for _, m := range byType["PriceCreate"] {
			if m["_id"] == priceID {
				created = m
			} else {
				club = m
			}
		}
		if created == nil || club == nil || club["_id"] != monthly["_id"] {
			t.Fatalf("PriceCreate: %v", byType["PriceCreate"])
		}
		if created["product"] != pid || created["name"] != "XL" || created["priceType"] != "one_time" || created["currency"] != "USD" ||
			created["amount"] != 19.99 || created["compareAtPrice"] != 25.0 || created["availableQuantity"] != 5.0 ||
			created["allowOutOfStockPurchases"] != true || created["userId"] != "user-1" || created["trackInventory"] != nil {
			t.Errorf("PriceCreate: %v", created)
		}
		if v, ok := created["trackInventory"]; !ok || v != nil {
			t.Errorf("PriceCreate trackInventory is not null: %v", created)
		}
		if o := created["variantOptionIds"].([]any); len(o) != 1 || o[0] != "xl" {
			t.Errorf("PriceCreate variantOptionIds: %v", created["variantOptionIds"])
		}
		rec, _ := club["recurring"].(map[string]any)
		if club["amount"] != 500.0 || club["currency"] != "JPY" || club["priceType"] != "recurring" || rec["interval"] != "month" || rec["intervalCount"] != 3.0 {
			t.Errorf("PriceCreate (recurring): %v", club)
		}
		if u := byType["PriceUpdate"][0]; u["_id"] != priceID || u["amount"] != 21.5 || u["priceType"] != "one_time" {
			t.Errorf("PriceUpdate: %v", u)
		}
		deleted := map[any]bool{}
		for _, m := range byType["PriceDelete"] {
			deleted[m["_id"]] = true
		}
		if !deleted[priceID] || !deleted[monthly["_id"]] {
			t.Errorf("PriceDelete: %v", byType["PriceDelete"])
		}
	}
	// Forward has no catalog events: its endpoint was owed nothing.
	time.Sleep(300 * time.Millisecond)
	fwd.mu.Lock()
	n := len(fwd.got)
	fwd.mu.Unlock()
	if n != 0 {
		t.Errorf("the Forward endpoint got %d deliveries of catalog events", n)
	}
	if got := len(live.waitFor(t, len(want))); got != len(want) {
		t.Errorf("the live endpoint got %d deliveries, want %d", got, len(want))
	}
}
