package forward_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
)

// fzPath is a path template of the fuzz target; {name} is replaced by a
// fixture id. methods lists the methods Forward serves on it.
type fzPath struct {
	tmpl    string
	methods string
}

var fzPaths = []fzPath{
	{"/payment_intents", "GET POST"},
	{"/payment_intents?limit=50&starting_after={created}", "GET"},
	{"/payment_intents/search", "POST"},
	{"/payment_intents/{created}", "GET PATCH"},
	{"/payment_intents/{created}/payments", "GET POST"},
	{"/payment_intents/{created}/cancel", "POST"},
	{"/payment_intents/{uncaptured}/capture", "POST"},
	{"/payment_intents/{uncaptured}/cancel", "POST"},
	{"/payment_intents/{captured}/refunds", "POST"},
	{"/payment_intents/{captured}", "GET PATCH"},
	{"/payment_intents/pi_00000000000000000000000000/capture", "POST"},
	{"/payments/{payment}", "GET"},
	{"/refunds/{refund}", "GET"},
	{"/payment_methods", "POST"},
	{"/payment_methods/{pm}", "GET PATCH"},
	{"/external_payments", "POST"},
	{"/external_refunds", "POST"},
	{"/payment_intents/{external}", "GET"},
}

var fzMethods = []string{"POST", "GET", "PATCH", "PUT", "DELETE"}

// fzUnmatched is Forward's answer to a route it does not serve (AWS API
// Gateway style, see docs/forward.md).
const fzUnmatched = `{"message":"Missing Authentication Token"}`

// fzFixtures makes one object in each state for the path templates.
func fzFixtures(f *testing.F, s *testserver.Server) map[string]string {
	ids := map[string]string{}
	obj := func(r *testserver.Response, code int) map[string]any {
		if r.Status != code {
			f.Fatalf("%s %s: %d %s", r.Request.Method, r.Request.URL.Path, r.Status, r.Body)
		}
		return r.JSON(f)
	}
	id := func(m map[string]any) string { s, _ := m["id"].(string); return s }
	card := map[string]any{"payment_method_type": "card",
		"card": map[string]any{"number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 2, "cvv": "123"}}
	ids["pm"] = id(obj(s.Forward(f, "POST", "/payment_methods", card), 201))
	ids["created"] = id(obj(s.Forward(f, "POST", "/payment_intents", map[string]any{"amount": 5000}), 201))
	ids["uncaptured"] = id(obj(s.Forward(f, "POST", "/payment_intents", map[string]any{"amount": 5000, "capture": false}), 201))
	obj(s.Forward(f, "POST", "/payment_intents/"+ids["uncaptured"]+"/payments", map[string]any{"payment_method_id": ids["pm"]}), 201)
	ids["captured"] = id(obj(s.Forward(f, "POST", "/payment_intents", map[string]any{"amount": 5000}), 201))
	ids["payment"] = id(obj(s.Forward(f, "POST", "/payment_intents/"+ids["captured"]+"/payments", map[string]any{"payment_method_id": ids["pm"]}), 201))
	ids["refund"] = id(obj(s.Forward(f, "POST", "/payment_intents/"+ids["captured"]+"/refunds", map[string]any{"amount": 100}), 201))
	ids["external"] = id(obj(s.Forward(f, "POST", "/external_payments", map[string]any{
		"payment_intent":   map[string]any{"amount": 2500},
		"payment_method":   map[string]any{"payment_method_type": "card", "card": map[string]any{"last_four_digits": "4242", "brand": "visa"}},
		"gateway_response": map[string]any{"auth_code": "A1", "retrieval_reference": "R1"}}), 201))
	return ids
}

// fzValidKey reports whether key could arrive as an HTTP header value.
func fzValidKey(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func FuzzForwardRequests(f *testing.F) {
	s := testserver.Start(f, testserver.Options{})
	ids := fzFixtures(f, s)

	huge := `{"description": "` + strings.Repeat("a", 2<<20) + `"}`
	deep := `{"user_fields": ` + strings.Repeat(`{"a":`, 3000) + `1` + strings.Repeat(`}`, 3000) + `}`
	seeds := []struct {
		method, path uint8
		body, key    string
	}{
		// Realistic requests.
		{0, 0, `{"amount": 1000, "currency": "USD", "capture": false, "reference_id": "order-1", "user_fields": {"a": "b"}}`, "fuzz-seed-000001"},
		{0, 0, `{"amount": 1000, "payment_method_types": ["card"], "payment_splits": [{"account_id": "acct_x", "amount": 100}]}`, ""},
		{1, 0, ``, ""},
		{1, 1, ``, ""},
		{0, 2, `{"status": "captured", "sort_column": "amount", "sort_direction": "asc", "limit": 5, "page": 2}`, ""},
		{2, 3, `{"description": "patched", "amount": 6000}`, "fuzz-seed-000002"},
		{0, 4, `{"payment_method_id": "` + ids["pm"] + `"}`, "fuzz-seed-000003"},
		{0, 6, `{"amount": 100}`, "fuzz-seed-000004"},
		{0, 7, `{"cancellation_reason": "requested_by_customer"}`, ""},
		{0, 8, `{"amount": 50, "reason": "requested_by_customer"}`, "fuzz-seed-000005"},
		{0, 13, `{"payment_method_type": "card", "card": {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2099", "cvv": "123"}}`, ""},
		{0, 13, `{"payment_method_type": "bank", "bank": {"account_number": "000123456789", "routing_number": "110000000", "account_type": "checking"}}`, ""},
		{2, 14, `{"billing_details": {"name": "A", "address": {"line1": "1 Main", "country": "US"}}, "card": {"exp_month": 10}}`, ""},
		{0, 15, `{"payment_intent": {"amount": 300}, "payment_method": {"payment_method_type": "bank", "bank": {"masked_account": "****6789"}}, "gateway_response": {"x": 1}}`, ""},
		{0, 16, `{"payment_intent_id": "` + ids["external"] + `", "refund_request": {"amount": 10}, "gateway_response": {}}`, ""},
		{1, 11, ``, ""},
		{1, 12, ``, ""},
		{1, 17, ``, ""},
		// Hostile numbers.
		{0, 0, `{"amount": 99999999999999999999999999}`, ""},
		{0, 0, `{"amount": 9223372036854775807, "merchant_amount": 9223372036854775807}`, ""},
		{0, 0, `{"amount": -1}`, ""},
		{0, 0, `{"amount": 1e3}`, ""},
		{0, 0, `{"amount": 10.5}`, ""},
		{0, 0, `{"amount": 100, "payment_splits": [{"account_id": "a", "amount": 9223372036854775807}, {"account_id": "b", "amount": 9223372036854775807}]}`, ""},
		{0, 6, `{"amount": -9223372036854775808}`, ""},
		{0, 6, `{"amount": 9223372036854775807}`, ""},
		{0, 8, `{"amount": 0}`, ""},
		{0, 8, `{"amount": 99999999}`, ""},
		{0, 2, `{"limit": 0, "page": -1, "amount_min": -9223372036854775808, "amount_max": 9223372036854775807}`, ""},
		{0, 2, `{"limit": 50, "page": 100000, "start_date": "yesterday", "end_date": "2024-13-45"}`, ""},
		// Wrong types.
		{0, 0, `{"amount": "1000"}`, ""},
		{0, 0, `{"capture": "yes", "currency": 840}`, ""},
		{0, 0, `{"payment_method_types": "card"}`, ""},
		{0, 0, `{"user_fields": [1, 2], "order_details": "x", "payment_splits": {"a": 1}}`, ""},
		{0, 4, `{"payment_method_id": 12}`, ""},
		{0, 13, `{"payment_method_type": "card", "card": "4242424242424242"}`, ""},
		{0, 13, `{"payment_method_type": "card", "card": {"number": 4242424242424242, "exp_month": "abc"}}`, ""},
		{0, 13, `{"payment_method_type": "crypto"}`, ""},
		{0, 2, `{"sort_column": "id; DROP TABLE payment_intents", "status": "everything"}`, ""},
		{0, 16, `{"payment_intent_id": "` + ids["captured"] + `", "gateway_response": {}}`, ""},
		// Not JSON objects, nested junk, invalid UTF-8, too large.
		{0, 0, `null`, ""},
		{0, 0, `[]`, ""},
		{0, 0, `"string"`, ""},
		{0, 0, `{"amount": 1`, ""},
		{0, 0, `{"amount": 1}{"amount": 2}`, ""},
		{0, 0, deep, ""},
		{0, 0, `{"user_fields": {"a": [[[[[[[[[[{"b": null}]]]]]]]]]]}, "order_details": {"": {"": {}}}}`, ""},
		{0, 0, "{\"amount\": 100, \"description\": \"\xff\xfe\xfd\", \"user_fields\": {\"k\": \"\xc3\x28\"}}", ""},
		{0, 0, `{"amount": 100, "description": "\u0000\ud800", "reference_id": "\u0000"}`, ""},
		{0, 0, huge, ""},
		{2, 3, huge, ""},
		// Idempotency keys: short, long, odd bytes, reused with another body.
		{0, 0, `{"amount": 1000}`, "short"},
		{0, 0, `{"amount": 1000}`, strings.Repeat("k", 300)},
		{0, 0, `{"amount": 1000}`, "key-\xff\xfe-invalid-utf8"},
		{0, 0, `{"amount": 2000}`, "fuzz-seed-000001"},
		// Methods Forward does not serve on a path.
		{3, 0, `{}`, ""},
		{4, 3, ``, ""},
		{1, 5, ``, ""},
	}
	for _, sd := range seeds {
		f.Add(sd.method, sd.path, []byte(sd.body), sd.key)
	}

	f.Fuzz(func(t *testing.T, mi, pi uint8, body []byte, key string) {
		method := fzMethods[int(mi)%len(fzMethods)]
		p := fzPaths[int(pi)%len(fzPaths)]
		path := p.tmpl
		for name, id := range ids {
			path = strings.ReplaceAll(path, "{"+name+"}", id)
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", s.Key)
		req.Header.Set("x-account-id", s.AccountID)
		if key != "" && fzValidKey(key) {
			req.Header.Set("x-idempotency-key", key)
		}
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)

		served := strings.Contains(" "+p.methods+" ", " "+method+" ")
		got := rec.Body.Bytes()
		if rec.Code >= 500 {
			t.Fatalf("%s %s answered %d: %.500s\nbody: %.300q", method, p.tmpl, rec.Code, got, body)
		}
		if rec.Code >= 400 {
			if !served && rec.Code == http.StatusNotFound && string(got) == fzUnmatched {
				return
			}
			var e map[string]any
			if err := json.Unmarshal(got, &e); err != nil {
				t.Fatalf("%s %s answered %d with a body that is not JSON: %v: %.300s", method, p.tmpl, rec.Code, err, got)
			}
			for _, field := range []string{"type", "code", "message"} {
				if s, _ := e[field].(string); s == "" {
					t.Fatalf("%s %s answered %d without Forward's %q: %.300s", method, p.tmpl, rec.Code, field, got)
				}
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("%s %s answered %d with invalid JSON: %.300s", method, p.tmpl, rec.Code, got)
		}
	})
}
