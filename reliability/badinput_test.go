package reliability

import (
	"net/http"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
)

// TestBadInput sends hostile bodies and headers that reach the database
// (odd bytes in stored strings and in idempotency keys) over a real socket:
// none may answer 5xx, and what is accepted must read back.
func TestBadInput(t *testing.T) {
	runBadInput(t, testserver.Start(t, testserver.Options{}))
}

func runBadInput(t *testing.T, s *testserver.Server) {
	c := &http.Client{Timeout: 30 * time.Second}
	for _, tc := range []struct {
		name, method, path, body, key string
	}{
		{"invalid UTF-8 in description", "POST", "/payment_intents", "{\"amount\": 100, \"description\": \"\xff\xfe\"}", ""},
		{"invalid UTF-8 in user_fields", "POST", "/payment_intents", "{\"amount\": 100, \"user_fields\": {\"k\": \"\xff\"}}", ""},
		{"invalid UTF-8 in order_details", "POST", "/payment_intents", "{\"amount\": 100, \"order_details\": {\"\xc3\x28\": 1}}", ""},
		{"invalid UTF-8 in reference_id", "POST", "/payment_intents", "{\"amount\": 100, \"reference_id\": \"\xff\"}", ""},
		{"NUL in description", "POST", "/payment_intents", `{"amount": 100, "description": "a\u0000b"}`, ""},
		{"NUL in user_fields", "POST", "/payment_intents", `{"amount": 100, "user_fields": {"k": "a\u0000b"}}`, ""},
		{"NUL in reference_id", "POST", "/payment_intents", `{"amount": 100, "reference_id": "a\u0000b"}`, ""},
		{"NUL in a search filter", "POST", "/payment_intents/search", `{"reference_id": "a\u0000b"}`, ""},
		{"lone surrogate in reference_id", "POST", "/payment_intents", `{"amount": 100, "reference_id": "\ud800"}`, ""},
		{"non-UTF-8 idempotency key", "POST", "/payment_intents", `{"amount": 100}`, "key-\xff\xfe-abcdef"},
		{"non-ASCII idempotency key", "POST", "/payment_intents", `{"amount": 100}`, "clé-idempotence-é"},
		{"NUL in billing name", "POST", "/payment_methods", `{"payment_method_type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099}, "billing_details": {"name": "a\u0000b"}}`, ""},
	} {
		r, err := send(c, tc.method, s.URL+tc.path, []byte(tc.body), fwd(s.Key, s.AccountID, tc.key))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		switch {
		case r.Status >= 500:
			t.Errorf("%s: %s %s answered %d: %s", tc.name, tc.method, tc.path, r.Status, r.Body)
		case r.Status >= 400:
			if _, err := envelope(r.Body); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		case tc.path != "/payment_intents/search":
			id := str(object(t, tc.name, r), "id")
			kind := "/payment_intents/"
			if tc.path == "/payment_methods" {
				kind = "/payment_methods/"
			}
			if g, err := send(c, "GET", s.URL+kind+id, nil, fwd(s.Key, s.AccountID, "")); err != nil || g.Status != 200 {
				t.Errorf("%s: accepted %s but cannot read it back: %v %v", tc.name, id, err, g)
			}
			if tc.key != "" {
				again, err := send(c, tc.method, s.URL+tc.path, []byte(tc.body), fwd(s.Key, s.AccountID, tc.key))
				if err != nil || again.Status != r.Status || string(again.Body) != string(r.Body) {
					t.Errorf("%s: the retry is not a replay: %v %v", tc.name, err, again)
				}
			}
		}
	}
}
