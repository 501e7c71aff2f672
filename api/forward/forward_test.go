package forward_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/server"
)

// engines runs fn on SQLite and, when TENDER_TEST_POSTGRES_URL is set, on
// PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, s *testserver.Server)) {
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		fn(t, testserver.Start(t, testserver.Options{}))
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, testserver.Start(t, testserver.Options{Postgres: true}))
	})
}

func card(number string) map[string]any {
	return map[string]any{"payment_method_type": "card", "card": map[string]any{
		"number": number, "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvv": "123"},
		"billing_details": map[string]any{"name": "Ada Buyer", "email": "ada@example.com",
			"address": map[string]any{"line1": "1 Main St", "postal_code": "94110", "country": "US"}}}
}

// want fails unless r has status code.
func want(t *testing.T, r *testserver.Response, code int) map[string]any {
	t.Helper()
	if r.Status != code {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.Status, code, r.Body)
	}
	return r.JSON(t)
}

// wantError checks Forward's error envelope and returns it.
func wantError(t *testing.T, r *testserver.Response, code int, wireCode string) map[string]any {
	t.Helper()
	m := want(t, r, code)
	if m["code"] != wireCode {
		t.Errorf("%s %s: error code %v, want %s; body %s", r.Request.Method, r.Request.URL.Path, m["code"], wireCode, r.Body)
	}
	for _, k := range []string{"type", "code", "message"} {
		if s, _ := m[k].(string); s == "" {
			t.Errorf("error envelope lacks %q: %s", k, r.Body)
		}
	}
	return m
}

func num(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}

func newMethod(t *testing.T, s *testserver.Server, number string) string {
	t.Helper()
	pm := want(t, s.Forward(t, "POST", "/payment_methods", card(number)), http.StatusCreated)
	return pm["id"].(string)
}

func newIntent(t *testing.T, s *testserver.Server, body map[string]any) map[string]any {
	t.Helper()
	return want(t, s.Forward(t, "POST", "/payment_intents", body), http.StatusCreated)
}

func TestForward_CardFlow(t *testing.T) {
	engines(t, func(t *testing.T, s *testserver.Server) {
		pmID := newMethod(t, s, "4242424242424242")
		pi := newIntent(t, s, map[string]any{"amount": 5000, "capture": false, "reference_id": "order-1",
			"user_fields": map[string]any{"cart": "c1"}})
		if pi["status"] != "created" || num(pi, "amount") != 5000 || pi["currency"] != "USD" {
			t.Fatalf("new intent: %v", pi)
		}
		id := pi["id"].(string)
		if cs, _ := pi["client_secret"].(string); !strings.HasPrefix(cs, id+"_secret_") {
			t.Errorf("client_secret %q", cs)
		}

		pay := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": pmID}), http.StatusCreated)
		if pay["status"] != "uncaptured" || num(pay, "amount_authorized") != 5000 || pay["payment_intent_id"] != id {
			t.Fatalf("payment: %v", pay)
		}
		pm := pay["payment_method"].(map[string]any)
		c := pm["card"].(map[string]any)
		if c["last_four_digits"] != "4242" || c["first_six_digits"] != "424242" || c["brand"] != "visa" {
			t.Errorf("card: %v", c)
		}
		got := want(t, s.Forward(t, "GET", "/payment_intents/"+id, nil), http.StatusOK)
		if got["status"] != "uncaptured" || got["latest_payment"].(map[string]any)["id"] != pay["id"] {
			t.Fatalf("after pay: %v", got)
		}

		// Capture 3000 of 5000: the rest is voided.
		capd := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/capture", map[string]any{"amount": 3000}), http.StatusOK)
		if capd["status"] != "captured" || num(capd, "amount_captured") != 3000 || num(capd, "amount_voided") != 2000 || capd["captured_at"] == nil {
			t.Fatalf("capture: %v", capd)
		}
		wantError(t, s.Forward(t, "POST", "/payment_intents/"+id+"/capture", nil), http.StatusConflict, "invalid_state")

		// Refunds: partial, then over the rest is refused, then the rest.
		r1 := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/refunds", map[string]any{"amount": 1000}), http.StatusCreated)
		if r1["status"] != "succeeded" || num(r1, "amount") != 1000 || r1["payment_id"] != pay["id"] {
			t.Fatalf("refund: %v", r1)
		}
		e := wantError(t, s.Forward(t, "POST", "/payment_intents/"+id+"/refunds", map[string]any{"amount": 2001}), http.StatusBadRequest, "validation_error")
		if _, ok := e["argument_errors"].(map[string]any)["amount"]; !ok {
			t.Errorf("refund error names no field: %v", e)
		}
		r2 := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/refunds", nil), http.StatusCreated)
		if num(r2, "amount") != 2000 {
			t.Fatalf("refund of the rest: %v", r2)
		}
		wantError(t, s.Forward(t, "POST", "/payment_intents/"+id+"/refunds", nil), http.StatusConflict, "invalid_state")

		final := want(t, s.Forward(t, "GET", "/payment_intents/"+id, nil), http.StatusOK)
		if num(final, "amount_refunded") != 3000 || final["status"] != "captured" {
			t.Fatalf("final: %v", final)
		}
		gotRefund := want(t, s.Forward(t, "GET", "/refunds/"+r1["id"].(string), nil), http.StatusOK)
		if gotRefund["id"] != r1["id"] {
			t.Errorf("GET refund: %v", gotRefund)
		}
		gotPay := want(t, s.Forward(t, "GET", "/payments/"+pay["id"].(string), nil), http.StatusOK)
		if num(gotPay, "amount_refunded") != 3000 || num(gotPay, "amount_captured") != 3000 {
			t.Errorf("GET payment: %v", gotPay)
		}
		list := want(t, s.Forward(t, "GET", "/payment_intents/"+id+"/payments", nil), http.StatusOK)
		if d := list["data"].([]any); len(d) != 1 {
			t.Errorf("payments of intent: %v", list)
		}
	})
}

func TestForward_AutoCaptureAndCancel(t *testing.T) {
	engines(t, func(t *testing.T, s *testserver.Server) {
		pmID := newMethod(t, s, "5555555555554444")
		pi := newIntent(t, s, map[string]any{"amount": 1234})
		id := pi["id"].(string)
		pay := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": pmID}), http.StatusCreated)
		if pay["status"] != "captured" || num(pay, "amount_captured") != 1234 {
			t.Fatalf("auto capture: %v", pay)
		}
		wantError(t, s.Forward(t, "POST", "/payment_intents/"+id+"/cancel", map[string]any{"cancellation_reason": "duplicate"}), http.StatusConflict, "invalid_state")
		wantError(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": pmID}), http.StatusConflict, "invalid_state")
		wantError(t, s.Forward(t, "PATCH", "/payment_intents/"+id, map[string]any{"amount": 5}), http.StatusConflict, "invalid_state")

		// Cancel a created intent, and an uncaptured one (its authorization is voided).
		c1 := newIntent(t, s, map[string]any{"amount": 100})
		got := want(t, s.Forward(t, "POST", "/payment_intents/"+c1["id"].(string)+"/cancel", map[string]any{"cancellation_reason": "abandoned"}), http.StatusOK)
		if got["status"] != "cancelled" || got["cancellation_reason"] != "abandoned" || got["cancelled_at"] == nil {
			t.Fatalf("cancel created: %v", got)
		}
		c2 := newIntent(t, s, map[string]any{"amount": 700, "capture": false})
		want(t, s.Forward(t, "POST", "/payment_intents/"+c2["id"].(string)+"/payments", map[string]any{"payment_method_id": pmID}), http.StatusCreated)
		got = want(t, s.Forward(t, "POST", "/payment_intents/"+c2["id"].(string)+"/cancel", nil), http.StatusOK)
		lp := got["latest_payment"].(map[string]any)
		if got["status"] != "cancelled" || num(got, "amount_voided") != 700 || lp["status"] != "voided" {
			t.Fatalf("cancel uncaptured: %v", got)
		}
		e := wantError(t, s.Forward(t, "POST", "/payment_intents/"+c1["id"].(string)+"/cancel", map[string]any{"cancellation_reason": "bored"}), http.StatusBadRequest, "validation_error")
		if _, ok := e["argument_errors"].(map[string]any)["cancellation_reason"]; !ok {
			t.Errorf("no field named: %v", e)
		}
	})
}

func TestForward_Declines(t *testing.T) {
	engines(t, func(t *testing.T, s *testserver.Server) {
		cases := []struct{ number, declineCode string }{
			{"4000000000000002", "card_declined"},
			{"4867094332104873", "card_declined"},
			{"4000000000009995", "insufficient_funds"},
			{"4112912498587255", "insufficient_funds"},
			{"4208475663072763", "avs_mismatch"},
		}
		good := newMethod(t, s, "4242424242424242")
		for _, c := range cases {
			pmID := newMethod(t, s, c.number)
			id := newIntent(t, s, map[string]any{"amount": 900})["id"].(string)
			pay := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": pmID}), http.StatusCreated)
			if pay["status"] != "failed" || pay["decline_code"] != c.declineCode || num(pay, "amount_captured") != 0 {
				t.Errorf("%s: %v", c.number, pay)
			}
			pi := want(t, s.Forward(t, "GET", "/payment_intents/"+id, nil), http.StatusOK)
			if pi["status"] != "failed" {
				t.Errorf("%s: intent %v", c.number, pi["status"])
			}
			// A failed intent accepts a new attempt.
			again := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": good}), http.StatusCreated)
			if again["status"] != "captured" {
				t.Errorf("%s: retry with a good card: %v", c.number, again)
			}
			list := want(t, s.Forward(t, "GET", "/payment_intents/"+id+"/payments", nil), http.StatusOK)
			if n := len(list["data"].([]any)); n != 2 {
				t.Errorf("%s: %d payments, want 2", c.number, n)
			}
		}
	})
}

func TestForward_BankPaymentSettlesLater(t *testing.T) {
	for _, c := range []struct {
		account, intent, payment string
	}{{"000123456789", "captured", "captured"}, {"000111111113", "failed", "failed"}} {
		t.Run(c.account, func(t *testing.T) {
			s := testserver.Start(t, testserver.Options{Config: func(c *server.Config) { c.SimBankDelay = 50 * time.Millisecond }})
			pm := want(t, s.Forward(t, "POST", "/payment_methods", map[string]any{"payment_method_type": "bank",
				"bank": map[string]any{"account_number": c.account, "routing_number": "110000000", "account_type": "checking"}}), http.StatusCreated)
			if b := pm["bank"].(map[string]any); !strings.HasSuffix(b["masked_account"].(string), c.account[len(c.account)-4:]) || strings.Contains(string(mustJSON(pm)), c.account) {
				t.Fatalf("bank method leaks or lacks its mask: %v", pm)
			}
			id := newIntent(t, s, map[string]any{"amount": 2500})["id"].(string)
			pay := want(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": pm["id"]}), http.StatusCreated)
			if pay["status"] != "pending" {
				t.Fatalf("bank payment: %v", pay)
			}
			if got := want(t, s.Forward(t, "GET", "/payment_intents/"+id, nil), http.StatusOK); got["status"] != "pending" {
				t.Fatalf("intent: %v", got["status"])
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				got := want(t, s.Forward(t, "GET", "/payment_intents/"+id, nil), http.StatusOK)
				if got["status"] == c.intent {
					if got["latest_payment"].(map[string]any)["status"] != c.payment {
						t.Errorf("payment status: %v", got["latest_payment"])
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("intent still %v after 10s", got["status"])
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestForward_ListAndSearch(t *testing.T) {
	engines(t, func(t *testing.T, s *testserver.Server) {
		var ids []string
		for i := 0; i < 25; i++ {
			pi := newIntent(t, s, map[string]any{"amount": 100 + i, "reference_id": fmt.Sprintf("ref-%d", i%3)})
			ids = append(ids, pi["id"].(string))
		}
		// Newest first, pages of 10 by starting_after.
		var seen []string
		after := ""
		for page := 0; page < 4; page++ {
			path := "/payment_intents?limit=10"
			if after != "" {
				path += "&starting_after=" + after
			}
			m := want(t, s.Forward(t, "GET", path, nil), http.StatusOK)
			data := m["data"].([]any)
			for _, d := range data {
				seen = append(seen, d.(map[string]any)["id"].(string))
			}
			meta := m["meta"].(map[string]any)
			if more := meta["has_more"].(bool); !more {
				break
			}
			after = seen[len(seen)-1]
		}
		if len(seen) != 25 {
			t.Fatalf("paged %d intents, want 25", len(seen))
		}
		for i := range seen {
			if seen[i] != ids[24-i] {
				t.Fatalf("page order: position %d is %s, want %s", i, seen[i], ids[24-i])
			}
		}
		// ending_before walks back toward the newest.
		m := want(t, s.Forward(t, "GET", "/payment_intents?limit=5&ending_before="+ids[10], nil), http.StatusOK)
		data := m["data"].([]any)
		if len(data) != 5 || data[0].(map[string]any)["id"] != ids[15] || data[4].(map[string]any)["id"] != ids[11] {
			t.Errorf("ending_before page: %v", data)
		}
		wantError(t, s.Forward(t, "GET", "/payment_intents?limit=51", nil), http.StatusBadRequest, "validation_error")

		// Search by reference and amount, sorted by amount ascending.
		r := want(t, s.Forward(t, "POST", "/payment_intents/search", map[string]any{"reference_id": "ref-1", "amount_min": 104,
			"sort_column": "amount", "sort_direction": "asc", "limit": 3, "page": 1}), http.StatusOK)
		got := r["data"].([]any)
		if len(got) != 3 || num(got[0].(map[string]any), "amount") != 104 || num(got[2].(map[string]any), "amount") != 110 || !r["meta"].(map[string]any)["has_more"].(bool) {
			t.Errorf("search page 1: %s", r)
		}
		r = want(t, s.Forward(t, "POST", "/payment_intents/search", map[string]any{"reference_id": "ref-1", "amount_min": 104,
			"sort_column": "amount", "sort_direction": "asc", "limit": 3, "page": 3}), http.StatusOK)
		if got := r["data"].([]any); len(got) != 1 || num(got[0].(map[string]any), "amount") != 122 {
			t.Errorf("search page 3: %v", r)
		}
		r = want(t, s.Forward(t, "POST", "/payment_intents/search", map[string]any{"status": "captured"}), http.StatusOK)
		if len(r["data"].([]any)) != 0 {
			t.Errorf("no intent is captured: %v", r)
		}
		wantError(t, s.Forward(t, "POST", "/payment_intents/search", map[string]any{"status": "paid"}), http.StatusBadRequest, "validation_error")
		wantError(t, s.Forward(t, "POST", "/payment_intents/search", map[string]any{"start_date": "yesterday"}), http.StatusBadRequest, "validation_error")
	})
}

func TestForward_PatchIntent(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := newIntent(t, s, map[string]any{"amount": 100, "description": "a"})["id"].(string)
	got := want(t, s.Forward(t, "PATCH", "/payment_intents/"+id, map[string]any{"amount": 250, "description": "b",
		"user_fields": map[string]any{"k": "v"}, "capture": false}), http.StatusOK)
	if num(got, "amount") != 250 || got["description"] != "b" || got["capture"] != false || got["user_fields"].(map[string]any)["k"] != "v" {
		t.Fatalf("patched: %v", got)
	}
	e := wantError(t, s.Forward(t, "PATCH", "/payment_intents/"+id, map[string]any{"amount": -1}), http.StatusBadRequest, "validation_error")
	if _, ok := e["argument_errors"].(map[string]any)["amount"]; !ok {
		t.Errorf("no field named: %v", e)
	}
	if got := want(t, s.Forward(t, "GET", "/payment_intents/"+id, nil), http.StatusOK); num(got, "amount") != 250 {
		t.Errorf("a refused patch changed the intent: %v", got)
	}
}

func TestForward_BadInput(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"missing amount", "POST", "/payment_intents", map[string]any{}, 400, "amount"},
		{"amount type", "POST", "/payment_intents", `{"amount":"ten"}`, 400, "amount"},
		{"fractional amount", "POST", "/payment_intents", `{"amount":10.5}`, 400, "amount"},
		{"negative amount", "POST", "/payment_intents", `{"amount":-5}`, 400, "amount"},
		{"huge amount", "POST", "/payment_intents", `{"amount":99999999999999999999}`, 400, "amount"},
		{"currency", "POST", "/payment_intents", `{"amount":5,"currency":"EUR"}`, 400, "currency"},
		{"method types", "POST", "/payment_intents", `{"amount":5,"payment_method_types":["cash"]}`, 400, "payment_method_types"},
		{"user_fields type", "POST", "/payment_intents", `{"amount":5,"user_fields":[1]}`, 400, "user_fields"},
		{"splits over amount", "POST", "/payment_intents", `{"amount":5,"payment_splits":[{"account_id":"acct_x","amount":6}]}`, 400, "payment_splits"},
		{"not json", "POST", "/payment_intents", `{"amount":`, 400, ""},
		{"array body", "POST", "/payment_intents", `[1,2]`, 400, ""},
		{"card number", "POST", "/payment_methods", card("4242424242424241"), 400, "card.number"},
		{"card expired", "POST", "/payment_methods", map[string]any{"payment_method_type": "card", "card": map[string]any{"number": "4242424242424242", "exp_month": 1, "exp_year": 2020}}, 400, "card.exp_year"},
		{"method type", "POST", "/payment_methods", map[string]any{"payment_method_type": "cash"}, 400, "payment_method_type"},
		{"routing", "POST", "/payment_methods", map[string]any{"payment_method_type": "bank", "bank": map[string]any{"account_number": "000123456789", "routing_number": "123456789"}}, 400, "bank.routing_number"},
		{"pay without method", "POST", "/payment_intents/pi_x/payments", map[string]any{}, 400, "payment_method_id"},
		{"unknown intent", "GET", "/payment_intents/pi_01m7yk13z35vd95rtjp6pxvc79", nil, 404, ""},
		{"unknown payment", "GET", "/payments/pmt_nope", nil, 404, ""},
		{"unknown refund", "GET", "/refunds/re_nope", nil, 404, ""},
		{"unknown method", "GET", "/payment_methods/pm_nope", nil, 404, ""},
		{"external without gateway", "POST", "/external_payments", map[string]any{"payment_intent": map[string]any{"amount": 5},
			"payment_method": map[string]any{"payment_method_type": "card", "card": map[string]any{"last_four_digits": "4242"}}}, 400, "gateway_response"},
		{"external refund unknown", "POST", "/external_refunds", map[string]any{"payment_intent_id": "pi_nope", "gateway_response": map[string]any{}}, 400, "payment_intent_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.Forward(t, c.method, c.path, c.body)
			code := map[int]string{400: "validation_error", 404: "resource_not_found"}[c.status]
			e := wantError(t, r, c.status, code)
			if c.field != "" {
				args, _ := e["argument_errors"].(map[string]any)
				if _, ok := args[c.field]; !ok {
					t.Errorf("argument_errors does not name %q: %s", c.field, r.Body)
				}
			}
		})
	}
	// Payment with a method of the wrong type for the intent.
	pm := newMethod(t, s, "4242424242424242")
	id := newIntent(t, s, map[string]any{"amount": 10, "payment_method_types": []string{"bank"}})["id"].(string)
	wantError(t, s.Forward(t, "POST", "/payment_intents/"+id+"/payments", map[string]any{"payment_method_id": pm}), http.StatusBadRequest, "validation_error")
	// A body over the limit is refused in the envelope.
	big := `{"amount":1,"description":"` + strings.Repeat("x", 2<<20) + `"}`
	wantError(t, s.Forward(t, "POST", "/payment_intents", big), http.StatusRequestEntityTooLarge, "request_too_large")
	// Auth.
	wantError(t, s.Do(t, "GET", "/payment_intents", nil, nil), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.Do(t, "GET", "/payment_intents", nil, map[string]string{"x-api-key": "fwd_sk_test_nope"}), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.Do(t, "POST", "/payment_intents", map[string]any{"amount": 1}, map[string]string{"x-api-key": s.Key}), http.StatusBadRequest, "validation_error")
	// Unknown route: the gateway's answer.
	r := s.Forward(t, "GET", "/nope", nil)
	if r.Status != 404 || !strings.Contains(string(r.Body), "Missing Authentication Token") {
		t.Errorf("unknown route: %d %s", r.Status, r.Body)
	}
}

func TestForward_PaymentMethods(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	// The public key may tokenize, as the browser SDK would.
	r := s.Do(t, "POST", "/payment_methods", card("4242 4242 4242 4242"), map[string]string{"x-api-key": s.PubKey})
	pm := want(t, r, http.StatusCreated)
	if strings.Contains(string(r.Body), "4242424242424242") || strings.Contains(string(r.Body), "4242 4242") {
		t.Fatalf("card number echoed: %s", r.Body)
	}
	c := pm["card"].(map[string]any)
	if c["exp_month"] != "12" || c["fingerprint"] == "" || pm["payment_method_type"] != "card" {
		t.Errorf("card: %v", pm)
	}
	again := want(t, s.Forward(t, "POST", "/payment_methods", card("4242424242424242")), http.StatusCreated)
	if again["card"].(map[string]any)["fingerprint"] != c["fingerprint"] {
		t.Errorf("the same card fingerprints differently")
	}
	other := want(t, s.Forward(t, "POST", "/payment_methods", card("5555555555554444")), http.StatusCreated)
	if other["card"].(map[string]any)["fingerprint"] == c["fingerprint"] {
		t.Errorf("two cards share a fingerprint")
	}
	id := pm["id"].(string)
	got := want(t, s.Forward(t, "PATCH", "/payment_methods/"+id, map[string]any{"billing_details": map[string]any{"name": "New Name"},
		"card": map[string]any{"exp_month": "3"}}), http.StatusOK)
	if got["billing_details"].(map[string]any)["name"] != "New Name" || got["card"].(map[string]any)["exp_month"] != "3" {
		t.Errorf("patched: %v", got)
	}
	if g := want(t, s.Forward(t, "GET", "/payment_methods/"+id, nil), http.StatusOK); g["billing_details"].(map[string]any)["name"] != "New Name" {
		t.Errorf("GET after PATCH: %v", g)
	}
}

func TestForward_ExternalPayments(t *testing.T) {
	engines(t, func(t *testing.T, s *testserver.Server) {
		pi := want(t, s.Forward(t, "POST", "/external_payments", map[string]any{
			"payment_intent": map[string]any{"amount": 4200, "reference_id": "ext-1"},
			"payment_method": map[string]any{"payment_method_type": "card", "source_type": "cardpointe",
				"card": map[string]any{"last_four_digits": "1111", "first_six_digits": "411111", "brand": "visa", "exp_month": "10", "exp_year": "2031", "token": "9411111111111111"}},
			"gateway_response": map[string]any{"auth_code": "PPS123", "retrieval_reference": "rr-1", "response_raw": "{}"},
		}), http.StatusCreated)
		if pi["external"] != true || pi["status"] != "captured" || num(pi, "amount_captured") != 4200 || pi["latest_payment"].(map[string]any)["auth_code"] != "PPS123" {
			t.Fatalf("external payment: %v", pi)
		}
		id := pi["id"].(string)
		// A processed-by-tender refund route refuses nothing here; external refunds go through /external_refunds.
		ref := want(t, s.Forward(t, "POST", "/external_refunds", map[string]any{"payment_intent_id": id,
			"refund_request": map[string]any{"amount": 200}, "gateway_response": map[string]any{"retrieval_reference": "rr-2"}}), http.StatusCreated)
		if ref["external"] != true || num(ref, "amount") != 200 {
			t.Fatalf("external refund: %v", ref)
		}
		wantError(t, s.Forward(t, "POST", "/external_refunds", map[string]any{"payment_intent_id": id,
			"refund_request": map[string]any{"amount": 4001}, "gateway_response": map[string]any{}}), http.StatusBadRequest, "validation_error")
		// Authorize elsewhere, then capture part of it, and cancel another.
		ext := func(amount int) string {
			return want(t, s.Forward(t, "POST", "/external_payments", map[string]any{
				"payment_intent":   map[string]any{"amount": amount, "capture": false},
				"payment_method":   map[string]any{"payment_method_type": "card", "card": map[string]any{"last_four_digits": "1111"}},
				"gateway_response": map[string]any{"retrieval_reference": "rr-9"}, "card_present": true,
			}), http.StatusCreated)["id"].(string)
		}
		a := ext(1000)
		if got := want(t, s.Forward(t, "GET", "/payment_intents/"+a, nil), http.StatusOK); got["status"] != "uncaptured" ||
			got["latest_payment"].(map[string]any)["card_present"] != true {
			t.Fatalf("external authorization: %v", got)
		}
		wantError(t, s.Forward(t, "POST", "/payment_intents/"+a+"/capture", nil), http.StatusConflict, "invalid_state")
		wantError(t, s.Forward(t, "POST", "/external_payments/"+a+"/capture", map[string]any{"amount": 10}), http.StatusBadRequest, "validation_error")
		capd := want(t, s.Forward(t, "POST", "/external_payments/"+a+"/capture", map[string]any{"amount": 400,
			"gateway_capture_response": map[string]any{"auth_code": "C1"}}), http.StatusOK)
		if capd["status"] != "captured" || num(capd, "amount_captured") != 400 || num(capd, "amount_voided") != 600 {
			t.Fatalf("external capture: %v", capd)
		}
		b := ext(300)
		cnl := want(t, s.Forward(t, "POST", "/external_payments/"+b+"/cancel", map[string]any{"cancellation_reason": "duplicate"}), http.StatusOK)
		if cnl["status"] != "cancelled" || num(cnl, "amount_voided") != 300 {
			t.Fatalf("external cancel: %v", cnl)
		}

		// An intent tender processed cannot take an external refund, capture or cancel.
		pmID := newMethod(t, s, "4242424242424242")
		own := newIntent(t, s, map[string]any{"amount": 50})["id"].(string)
		want(t, s.Forward(t, "POST", "/payment_intents/"+own+"/payments", map[string]any{"payment_method_id": pmID}), http.StatusCreated)
		wantError(t, s.Forward(t, "POST", "/external_refunds", map[string]any{"payment_intent_id": own, "gateway_response": map[string]any{}}), http.StatusBadRequest, "validation_error")
		wantError(t, s.Forward(t, "POST", "/external_payments/"+own+"/cancel", nil), http.StatusConflict, "invalid_state")
	})
}

func mustJSON(v any) []byte {
	b, _ := jsonMarshal(v)
	return b
}

var jsonMarshal = json.Marshal
