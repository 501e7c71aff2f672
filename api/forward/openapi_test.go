package forward_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tenderpay/tender/api/apitest"
	"github.com/tenderpay/tender/api/forward"
	"github.com/tenderpay/tender/internal/testserver"
)

// registeredForwardRoutes is every route pattern that Register in
// api/forward/forward.go adds, minus the catch-all "/" (unknown routes).
// Keep it in sync by hand when a route is added or removed there:
// TestOpenAPI_DocumentsEveryRoute then fails until openapi/forward.json
// documents the new route.
var registeredForwardRoutes = []string{
	"POST /payment_intents",
	"GET /payment_intents",
	"POST /payment_intents/search",
	"GET /payment_intents/{id}",
	"PATCH /payment_intents/{id}",
	"POST /payment_intents/{id}/cancel",
	"POST /payment_intents/{id}/capture",
	"GET /payment_intents/{id}/payments",
	"POST /payment_intents/{id}/payments",
	"POST /payment_intents/{id}/refunds",
	"GET /payments/{id}",
	"GET /refunds/{id}",
	"POST /payment_methods",
	"GET /payment_methods/{id}",
	"PATCH /payment_methods/{id}",
	"POST /external_payments",
	"POST /external_payments/{id}/capture",
	"POST /external_payments/{id}/cancel",
	"POST /external_refunds",
	"POST /webhook_endpoints",
	"GET /webhook_endpoints",
	"GET /webhook_endpoints/{id}",
	"PATCH /webhook_endpoints/{id}",
	"DELETE /webhook_endpoints/{id}",
	"GET /webhook_endpoints/{id}/deliveries",
	"GET /webhook_endpoints/{id}/deliveries/{delivery_id}/attempts",
	"GET /events",
	"GET /events/{id}",
	"POST /events/{id}/redeliver",
	"POST /events/redeliver_failed",
	"GET /openapi/forward.json",
	"GET /balances",
	"GET /ledger/balances",
	"GET /transactions",
	"GET /transactions/{id}",
	"POST /transactions/search",
	"POST /transactions/download",
	"GET /processing_plans",
	"GET /processing_plans/{id}",
	"GET /accounts/{id}/processing_plan",
	"GET /disputes",
	"GET /disputes/{id}",
	"GET /payouts",
	"GET /payouts/{id}",
	"GET /businesses/payouts",
	"POST /test_helpers/disputes/{id}/contest",
	"POST /test_helpers/disputes/{id}/accept",
	"POST /test_helpers/disputes/{id}/win",
	"POST /test_helpers/disputes/{id}/lose",
	"POST /test_helpers/payouts/{id}/fail",
	"POST /test_helpers/payouts/{id}/return",
	"POST /test_helpers/payouts/{id}/cancel",
}

// TestOpenAPI_DocumentsEveryRoute proves that the document describes
// exactly the routes of registeredForwardRoutes, and that each of those is
// a pattern the real router holds (not one answered by the catch-all).
func TestOpenAPI_DocumentsEveryRoute(t *testing.T) {
	v := apitest.Load(t, forward.OpenAPI)
	want := slices.Clone(registeredForwardRoutes)
	slices.Sort(want)
	got := v.Operations()
	for _, op := range want {
		if !slices.Contains(got, op) {
			t.Errorf("route %q is registered but not documented in openapi/forward.json", op)
		}
	}
	for _, op := range got {
		if !slices.Contains(want, op) {
			t.Errorf("operation %q is documented but not in registeredForwardRoutes (is it registered?)", op)
		}
	}

	// Register only builds closures, so a Handler without services is
	// enough to ask the mux which pattern serves each route.
	mux := http.NewServeMux()
	(&forward.Handler{}).Register(mux)
	for _, op := range registeredForwardRoutes {
		method, path, _ := strings.Cut(op, " ")
		req := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "x_1"), nil)
		if _, pattern := mux.Handler(req); pattern != op {
			t.Errorf("%s is served by pattern %q, want %q: registeredForwardRoutes is out of date", op, pattern, op)
		}
	}
}

// openAPIFlow drives a real server and validates every response it gets.
type openAPIFlow struct {
	t   *testing.T
	s   *testserver.Server
	v   *apitest.Validator
	ops map[string]bool // operations exercised, "METHOD /pattern"
}

// check validates r against the document, requires status code, and
// returns the decoded body when it is an object.
func (f *openAPIFlow) check(r *testserver.Response, code int) map[string]any {
	f.t.Helper()
	f.v.Check(f.t, r.Request, r.Status, r.Header, r.Body)
	if r.Status != code {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.Status, code, r.Body)
	}
	f.ops[r.Request.Method+" "+f.pattern(r.Request.URL.Path)] = true
	if bytes.HasPrefix(bytes.TrimSpace(r.Body), []byte("{")) {
		return r.JSON(f.t)
	}
	return nil
}

// pattern maps a concrete path back to its route pattern.
func (f *openAPIFlow) pattern(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) == 5 && parts[1] == "test_helpers" {
		parts[3] = "{id}"
	} else if len(parts) >= 3 && parts[2] != "search" && parts[2] != "download" && parts[1] != "openapi" && parts[1] != "ledger" &&
		parts[1] != "businesses" {
		parts[2] = "{id}"
	}
	return strings.Join(parts, "/")
}

// fwd sends a Forward request with the private key and account header.
func (f *openAPIFlow) fwd(method, path string, body any, code int) map[string]any {
	f.t.Helper()
	return f.check(f.s.Forward(f.t, method, path, body), code)
}

// errorCode sends a request and requires Forward's error envelope with the
// given status and code.
func (f *openAPIFlow) errorCode(r *testserver.Response, status int, code string) {
	f.t.Helper()
	m := f.check(r, status)
	if m["code"] != code {
		f.t.Errorf("%s %s: error code %v, want %s; body %s", r.Request.Method, r.Request.URL.Path, m["code"], code, r.Body)
	}
}

func openAPICard(number string) map[string]any {
	return map[string]any{
		"payment_method_type": "card",
		"card":                map[string]any{"number": number, "exp_month": 12, "exp_year": 2030, "cvv": "123"},
		"billing_details": map[string]any{"name": "Ada Buyer", "email": "ada@example.com",
			"address": map[string]any{"line1": "1 Main St", "city": "San Francisco", "postal_code": "94110", "country": "US"}},
	}
}

// TestOpenAPI_ValidatesResponses runs a representative flow through a real
// server, successes and errors, and validates every response against
// openapi/forward.json.
func TestOpenAPI_ValidatesResponses(t *testing.T) {
	v := apitest.Load(t, forward.OpenAPI)
	s := testserver.Start(t, testserver.Options{})
	f := &openAPIFlow{t: t, s: s, v: v, ops: map[string]bool{}}

	// The document itself, without a key.
	doc := f.check(s.Do(t, "GET", "/openapi/forward.json", nil, nil), 200)
	if info, _ := doc["info"].(map[string]any); info["version"] != "1.3.0-tender.3" {
		t.Errorf("served document has info %v", doc["info"])
	}

	// Payment methods: card with the private and with the public key, card
	// expiry as strings, bank; fetch and patch.
	pm := f.fwd("POST", "/payment_methods", openAPICard("4242424242424242"), 201)
	pmID := pm["id"].(string)
	f.check(s.Do(t, "POST", "/payment_methods", openAPICard("4242 4242 4242 4242"),
		map[string]string{"x-api-key": s.PubKey}), 201)
	f.fwd("POST", "/payment_methods", map[string]any{"payment_method_type": "card",
		"card": map[string]any{"number": "4242424242424242", "exp_month": "01", "exp_year": "2031"}}, 201)
	bank := f.fwd("POST", "/payment_methods", map[string]any{"payment_method_type": "bank",
		"bank": map[string]any{"account_number": "000123456789", "routing_number": "110000000", "account_type": "checking"}}, 201)
	f.fwd("GET", "/payment_methods/"+pmID, nil, 200)
	f.fwd("PATCH", "/payment_methods/"+pmID, map[string]any{"billing_details": map[string]any{"phone": "+14155550100"},
		"card": map[string]any{"exp_month": 11, "exp_year": "2032"}}, 200)
	f.fwd("GET", "/payment_methods/"+bank["id"].(string), nil, 200)

	// An auto-captured intent, created idempotently, patched, paid,
	// partially refunded.
	create := map[string]any{"amount": 1000, "reference_id": "order-1", "description": "Two mugs",
		"user_fields": map[string]any{"crm_id": "c_9"}, "order_details": map[string]any{"po_number": "PO-7"},
		"payment_splits": []any{map[string]any{"account_id": s.AccountID, "amount": 100}}}
	r := s.ForwardIdem(t, "POST", "/payment_intents", "openapi-key-0001", create)
	pi := f.check(r, 201)
	piID := pi["id"].(string)
	replay := s.ForwardIdem(t, "POST", "/payment_intents", "openapi-key-0001", create)
	f.check(replay, 201)
	if !bytes.Equal(replay.Body, r.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("idempotent replay differs or is unmarked: %s\n%s", replay.Header, replay.Body)
	}
	f.errorCode(s.ForwardIdem(t, "POST", "/payment_intents", "openapi-key-0001", map[string]any{"amount": 5}),
		422, "idempotency_key_reused")
	f.fwd("GET", "/payment_intents/"+piID, nil, 200)
	f.fwd("PATCH", "/payment_intents/"+piID, map[string]any{"amount": 1200, "description": "Three mugs"}, 200)
	pay := f.fwd("POST", "/payment_intents/"+piID+"/payments", map[string]any{"payment_method_id": pmID}, 201)
	if pay["status"] != "captured" {
		t.Errorf("payment status %v, want captured", pay["status"])
	}
	ref := f.fwd("POST", "/payment_intents/"+piID+"/refunds", map[string]any{"amount": 200, "reason": "one broke"}, 201)
	f.fwd("GET", "/refunds/"+ref["id"].(string), nil, 200)
	f.fwd("GET", "/payments/"+pay["id"].(string), nil, 200)
	got := f.fwd("GET", "/payment_intents/"+piID, nil, 200)
	if got["amount_refunded"] != float64(200) || got["latest_payment"] == nil {
		t.Errorf("intent after refund: %v", got)
	}
	f.fwd("GET", "/payment_intents/"+piID+"/payments", nil, 200)

	// capture:false → uncaptured → partial capture.
	pi2 := f.fwd("POST", "/payment_intents", map[string]any{"amount": 900, "capture": false, "currency": "usd"}, 201)
	pi2ID := pi2["id"].(string)
	f.fwd("POST", "/payment_intents/"+pi2ID+"/payments", map[string]any{"payment_method_id": pmID,
		"billing_details": map[string]any{"name": "Other Name"}}, 201)
	cap2 := f.fwd("POST", "/payment_intents/"+pi2ID+"/capture", map[string]any{"amount": 500}, 200)
	if cap2["status"] != "captured" || cap2["amount_voided"] != float64(400) {
		t.Errorf("partial capture: status %v, amount_voided %v", cap2["status"], cap2["amount_voided"])
	}

	// capture:false → uncaptured → cancel (authorization voided).
	pi3 := f.fwd("POST", "/payment_intents", map[string]any{"amount": 700, "capture": false}, 201)
	pi3ID := pi3["id"].(string)
	f.fwd("POST", "/payment_intents/"+pi3ID+"/payments", map[string]any{"payment_method_id": pmID}, 201)
	can3 := f.fwd("POST", "/payment_intents/"+pi3ID+"/cancel", map[string]any{"cancellation_reason": "requested_by_customer"}, 200)
	if can3["status"] != "cancelled" {
		t.Errorf("cancel: status %v", can3["status"])
	}

	// A created intent cancelled with no body.
	pi4 := f.fwd("POST", "/payment_intents", map[string]any{"amount": 300}, 201)
	f.fwd("POST", "/payment_intents/"+pi4["id"].(string)+"/cancel", nil, 200)

	// A decline is a 201 with a failed payment; the intent is failed.
	declined := f.fwd("POST", "/payment_methods", openAPICard("4000000000000002"), 201)
	pi5 := f.fwd("POST", "/payment_intents", map[string]any{"amount": 400}, 201)
	pi5ID := pi5["id"].(string)
	failed := f.fwd("POST", "/payment_intents/"+pi5ID+"/payments", map[string]any{"payment_method_id": declined["id"]}, 201)
	if failed["status"] != "failed" {
		t.Errorf("declined payment status %v", failed["status"])
	}
	f.fwd("GET", "/payment_intents/"+pi5ID, nil, 200)

	// A bank payment is pending.
	pi6 := f.fwd("POST", "/payment_intents", map[string]any{"amount": 2500, "payment_method_types": []string{"bank"}}, 201)
	f.fwd("POST", "/payment_intents/"+pi6["id"].(string)+"/payments", map[string]any{"payment_method_id": bank["id"]}, 201)

	// Lists and search.
	page := f.fwd("GET", "/payment_intents?limit=2", nil, 200)
	data, _ := page["data"].([]any)
	if len(data) != 2 {
		t.Fatalf("list limit=2 returned %d items", len(data))
	}
	last := data[1].(map[string]any)["id"].(string)
	f.fwd("GET", "/payment_intents?limit=50&starting_after="+last, nil, 200)
	f.fwd("GET", "/payment_intents?ending_before="+last, nil, 200)
	f.fwd("POST", "/payment_intents/search", map[string]any{"status": "captured", "limit": 5, "page": 1,
		"sort_column": "amount", "sort_direction": "asc"}, 200)
	f.fwd("POST", "/payment_intents/search", nil, 200)

	// External payment and refund.
	ext := f.fwd("POST", "/external_payments", map[string]any{
		"payment_intent": map[string]any{"amount": 1500, "reference_id": "ext-1"},
		"payment_method": map[string]any{"payment_method_type": "card", "source_type": "cardpointe",
			"card": map[string]any{"last_four_digits": "1111", "first_six_digits": "411111", "brand": "visa",
				"exp_month": "09", "exp_year": "2029", "token": "9411111111111111"}},
		"gateway_response": map[string]any{"auth_code": "PPS123", "retrieval_reference": "rr-1",
			"response_raw": "{}", "created_at": "2024-07-14T17:16:34.651Z"},
	}, 201)
	f.fwd("POST", "/external_refunds", map[string]any{"payment_intent_id": ext["id"],
		"refund_request":   map[string]any{"amount": 500},
		"gateway_response": map[string]any{"retrieval_reference": "rr-2", "created_at": "2024-07-15T10:00:00.000Z"}}, 201)
	auth := func(amount int) string {
		m := f.fwd("POST", "/external_payments", map[string]any{
			"payment_intent": map[string]any{"amount": amount, "capture": false},
			"payment_method": map[string]any{"payment_method_type": "bank",
				"bank": map[string]any{"masked_account": "****6789", "masked_routing": "****0000"}},
			"gateway_response": map[string]any{"retrieval_reference": "rr-3"},
		}, 201)
		return m["id"].(string)
	}
	f.fwd("POST", "/external_payments/"+auth(800)+"/capture", map[string]any{"amount": 600,
		"gateway_capture_response": map[string]any{"retrieval_reference": "rr-4"}}, 200)
	f.fwd("POST", "/external_payments/"+auth(700)+"/cancel", map[string]any{"cancellation_reason": "abandoned",
		"gateway_void_response": map[string]any{"retrieval_reference": "rr-5"}}, 200)

	exerciseWebhookRoutes(f)
	exerciseLedgerRoutes(f)
	exerciseDisputePayoutRoutes(f)

	// Errors.
	f.errorCode(s.Do(t, "GET", "/payment_intents", nil, nil), 401, "unauthorized")
	f.errorCode(s.Do(t, "GET", "/payment_intents/"+piID, nil, map[string]string{"x-api-key": "nope",
		"x-account-id": s.AccountID}), 401, "unauthorized")
	f.errorCode(s.Do(t, "GET", "/payment_intents", nil, map[string]string{"x-api-key": s.PubKey}), 403, "forbidden")
	f.errorCode(s.Do(t, "POST", "/payment_intents", map[string]any{"amount": 1},
		map[string]string{"x-api-key": s.Key, "x-account-id": "acct_someoneelse"}), 403, "forbidden")
	f.errorCode(s.Do(t, "POST", "/payment_intents", map[string]any{"amount": 1},
		map[string]string{"x-api-key": s.Key}), 400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/payment_intents", `{"amount": `), 400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/payment_intents", map[string]any{"amount": "ten"}), 400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/payment_intents", map[string]any{}), 400, "validation_error")
	f.errorCode(s.ForwardIdem(t, "POST", "/payment_intents", "short", map[string]any{"amount": 1}), 400, "validation_error")
	f.errorCode(s.Forward(t, "GET", "/payment_intents?limit=500", nil), 400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/payment_intents/search", map[string]any{"status": "refunded"}), 400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/payment_methods", map[string]any{"payment_method_type": "cash"}), 400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/payment_intents/"+piID+"/cancel", map[string]any{"cancellation_reason": "bored"}),
		400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/external_refunds", map[string]any{"payment_intent_id": "pi_nope",
		"gateway_response": map[string]any{}}), 400, "validation_error")
	f.errorCode(s.Forward(t, "GET", "/payment_intents/pi_nope", nil), 404, "resource_not_found")
	f.errorCode(s.Forward(t, "GET", "/payment_intents/pi_nope/payments", nil), 404, "resource_not_found")
	f.errorCode(s.Forward(t, "GET", "/payments/pmt_nope", nil), 404, "resource_not_found")
	f.errorCode(s.Forward(t, "GET", "/refunds/re_nope", nil), 404, "resource_not_found")
	f.errorCode(s.Forward(t, "GET", "/payment_methods/pm_nope", nil), 404, "resource_not_found")
	f.errorCode(s.Forward(t, "PATCH", "/payment_intents/pi_nope", map[string]any{"amount": 1}), 404, "resource_not_found")
	f.errorCode(s.Forward(t, "POST", "/payment_intents/"+piID+"/capture", nil), 409, "invalid_state")
	f.errorCode(s.Forward(t, "POST", "/payment_intents/"+piID+"/cancel", nil), 409, "invalid_state")
	f.errorCode(s.Forward(t, "PATCH", "/payment_intents/"+piID, map[string]any{"amount": 1}), 409, "invalid_state")
	f.errorCode(s.Forward(t, "POST", "/payment_intents/"+pi4["id"].(string)+"/refunds", nil), 409, "invalid_state")
	f.errorCode(s.Forward(t, "POST", "/payment_intents/"+piID+"/payments", map[string]any{"payment_method_id": pmID}),
		409, "invalid_state")
	big := `{"description":"` + strings.Repeat("x", 2<<20) + `"}`
	f.errorCode(s.Forward(t, "POST", "/payment_intents", big), 413, "request_too_large")

	// An unknown route answers as Forward's gateway does; it is no operation.
	nf := s.Forward(t, "GET", "/no_such_route", nil)
	if nf.Status != 404 || string(nf.Body) != `{"message":"Missing Authentication Token"}` {
		t.Errorf("unknown route: %d %s", nf.Status, nf.Body)
	}

	// The flow must have touched every documented operation.
	for _, op := range v.Operations() {
		if !f.ops[op] {
			t.Errorf("the flow never exercised %s", op)
		}
	}
}
