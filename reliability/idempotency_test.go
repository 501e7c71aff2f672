package reliability

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
)

func TestIdempotency_Concurrent(t *testing.T) {
	runIdempotency(t, testserver.Start(t, testserver.Options{}))
}

func TestIdempotency_Concurrent_Postgres(t *testing.T) {
	runIdempotency(t, testserver.Start(t, testserver.Options{Postgres: true}))
}

// concurrently sends n copies of one request at once and returns the answers.
func concurrently(t *testing.T, c *http.Client, n int, method, url string, body []byte, headers map[string]string) []*reply {
	t.Helper()
	replies := make([]*reply, n)
	errs := make([]error, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			replies[i], errs[i] = send(c, method, url, body, headers)
		}()
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d of %d: %v", i, n, err)
		}
	}
	return replies
}

// oneEffect checks the answers to n concurrent requests with one key: every
// 2xx answer is the same bytes with status want, exactly one of them is the
// original (the others are marked as replays), and every other answer is
// 409 idempotency_error. It returns the 2xx body.
func oneEffect(t *testing.T, what string, replies []*reply, want int) []byte {
	t.Helper()
	var body []byte
	ok, originals, conflicts := 0, 0, 0
	for _, r := range replies {
		switch {
		case r.Status == want:
			ok++
			if body == nil {
				body = r.Body
			} else if string(r.Body) != string(body) {
				t.Errorf("%s: two %d answers differ:\n%s\n%s", what, want, body, r.Body)
			}
			if r.Header.Get("Idempotent-Replayed") != "true" {
				originals++
			}
		case r.Status == http.StatusConflict:
			conflicts++
			if e := expectError(t, what, r, http.StatusConflict, "idempotency_error"); e.Code != "" && e.Code != "idempotency_key_in_use" {
				t.Errorf("%s: 409 with code %q: %s", what, e.Code, r.Body)
			}
		default:
			t.Errorf("%s: unexpected answer %d: %s", what, r.Status, r.Body)
		}
	}
	if ok == 0 {
		t.Fatalf("%s: no request of %d succeeded", what, len(replies))
	}
	if originals != 1 {
		t.Errorf("%s: %d answers are not marked Idempotent-Replayed, want exactly 1 (the one that ran)", what, originals)
	}
	t.Logf("%s: %d × %d (1 original, %d replays), %d × 409 in flight", what, ok, want, ok-originals, conflicts)
	return body
}

func runIdempotency(t *testing.T, s *testserver.Server) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(c.CloseIdleConnections) // before the server's own cleanup, so its shutdown need not wait
	h := func(key string) map[string]string { return fwd(s.Key, s.AccountID, key) }
	const n = 50

	// 50 concurrent creates with one key make one intent.
	createBody := mustJSON(map[string]any{"amount": 4200, "currency": "USD", "reference_id": "idem-concurrent", "capture": true})
	replies := concurrently(t, c, n, "POST", s.URL+"/payment_intents", createBody, h("idem-create-0001"))
	body := oneEffect(t, "50 × POST /payment_intents", replies, http.StatusCreated)
	var pi struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &pi); err != nil || pi.ID == "" {
		t.Fatalf("create answer: %v: %s", err, body)
	}
	r, err := send(c, "GET", s.URL+"/payment_intents?limit=50", nil, h(""))
	if err != nil || r.Status != 200 {
		t.Fatalf("list: %v %v", err, r)
	}
	var list pageOf
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 1 || str(list.Data[0], "id") != pi.ID {
		t.Errorf("after 50 concurrent creates with one key the account lists %d intents, want exactly %s", len(list.Data), pi.ID)
	}

	// A later retry replays the same status and body, marked as a replay.
	r, err = send(c, "POST", s.URL+"/payment_intents", createBody, h("idem-create-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusCreated || string(r.Body) != string(body) || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry of the create: %d, Idempotent-Replayed %q, same body %v; want 201, true, true",
			r.Status, r.Header.Get("Idempotent-Replayed"), string(r.Body) == string(body))
	}

	// 50 concurrent pays of one intent with one key make one payment.
	r, err = send(c, "POST", s.URL+"/payment_methods", cardBody("4242424242424242"), h("idem-pm-00001"))
	if err != nil || r.Status != http.StatusCreated {
		t.Fatalf("create payment method: %v %v", err, r)
	}
	pm := str(object(t, "payment method", r), "id")
	payBody := mustJSON(map[string]any{"payment_method_id": pm, "description": "concurrent pay"})
	replies = concurrently(t, c, n, "POST", s.URL+"/payment_intents/"+pi.ID+"/payments", payBody, h("idem-pay-00001"))
	payAnswer := oneEffect(t, "50 × POST /payment_intents/{id}/payments", replies, http.StatusCreated)
	r, err = send(c, "GET", s.URL+"/payment_intents/"+pi.ID+"/payments?limit=50", nil, h(""))
	if err != nil || r.Status != 200 {
		t.Fatalf("list payments: %v %v", err, r)
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatal(err)
	}
	var pay map[string]any
	_ = json.Unmarshal(payAnswer, &pay)
	if len(list.Data) != 1 || str(list.Data[0], "id") != str(pay, "id") {
		t.Errorf("after 50 concurrent pays with one key the intent has %d payments, want exactly the answered %s", len(list.Data), str(pay, "id"))
	}
	r, err = send(c, "GET", s.URL+"/payment_intents/"+pi.ID, nil, h(""))
	if err != nil || r.Status != 200 {
		t.Fatalf("get intent: %v %v", err, r)
	}
	got := object(t, "intent", r)
	if str(got, "status") != "captured" || num(got, "amount_captured") != 4200 {
		t.Errorf("intent after the pays: status %s, amount_captured %d; want captured 4200", str(got, "status"), num(got, "amount_captured"))
	}

	// The same key with another body is an idempotency error (422), and
	// leaves the first answer in place.
	other := mustJSON(map[string]any{"amount": 4300, "currency": "USD", "reference_id": "idem-concurrent", "capture": true})
	r, err = send(c, "POST", s.URL+"/payment_intents", other, h("idem-create-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if e := expectError(t, "same key, different body", r, http.StatusUnprocessableEntity, "idempotency_error"); e.Code != "" && e.Code != "idempotency_key_reused" {
		t.Errorf("same key, different body: code %q", e.Code)
	}
	// The same key on another path is another request too.
	r, err = send(c, "POST", s.URL+"/payment_methods", cardBody("4242424242424242"), h("idem-create-0001"))
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, "same key, different path", r, http.StatusUnprocessableEntity, "idempotency_error")
	r, err = send(c, "POST", s.URL+"/payment_intents", createBody, h("idem-create-0001"))
	if err != nil || r.Status != http.StatusCreated || string(r.Body) != string(body) {
		t.Errorf("the original request no longer replays after a mismatched reuse: %v %v", err, r)
	}
	// Key order and spacing in the JSON body do not make another request.
	reordered := []byte(`{ "capture": true, "reference_id": "idem-concurrent", "currency": "USD", "amount": 4200 }`)
	r, err = send(c, "POST", s.URL+"/payment_intents", reordered, h("idem-create-0001"))
	if err != nil || r.Status != http.StatusCreated || string(r.Body) != string(body) {
		t.Errorf("the same JSON with keys reordered is not replayed: %v %v", err, r)
	}

	// A key shorter than 10 characters is a 400 naming the header.
	for _, key := range []string{"short", "123456789"} {
		r, err = send(c, "POST", s.URL+"/payment_intents", createBody, h(key))
		if err != nil {
			t.Fatal(err)
		}
		e := expectError(t, "key "+key, r, http.StatusBadRequest, "")
		if _, named := e.ArgumentErrors["x-idempotency-key"]; !named && !strings.Contains(e.Message, "x-idempotency-key") {
			t.Errorf("key %q: the error does not name x-idempotency-key: %s", key, r.Body)
		}
	}
	r, err = send(c, "POST", s.URL+"/payment_intents", createBody, h("1234567890"))
	if err != nil || r.Status != http.StatusCreated {
		t.Errorf("a 10-character key is refused: %v %v", err, r)
	}

	// A replayed 200 keeps its status too.
	patch := mustJSON(map[string]any{"description": "patched once"})
	var fresh map[string]any
	_ = json.Unmarshal(r.Body, &fresh)
	first, err := send(c, "PATCH", s.URL+"/payment_intents/"+str(fresh, "id"), patch, h("idem-patch-0001"))
	if err != nil || first.Status != http.StatusOK {
		t.Fatalf("patch: %v %v", err, first)
	}
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("a first answer is marked Idempotent-Replayed")
	}
	again, err := send(c, "PATCH", s.URL+"/payment_intents/"+str(fresh, "id"), patch, h("idem-patch-0001"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != http.StatusOK || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("patch replay: %d, Idempotent-Replayed %q, same body %v; want 200, true, true",
			again.Status, again.Header.Get("Idempotent-Replayed"), string(again.Body) == string(first.Body))
	}
}
