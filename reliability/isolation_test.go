package reliability

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
)

func TestIsolation(t *testing.T) {
	runIsolation(t, testserver.Start(t, testserver.Options{}))
}

func TestIsolation_Postgres(t *testing.T) {
	runIsolation(t, testserver.Start(t, testserver.Options{Postgres: true}))
}

// objects are the ids of one full card flow.
type objects struct {
	pm, pi, pay, re string
}

// actor sends Forward requests with one key and account header.
type actor struct {
	t    *testing.T
	c    *http.Client
	url  string
	key  string
	acct string
}

func (a actor) as(acct string) actor { a.acct = acct; return a }

func (a actor) do(method, path string, body any) *reply {
	a.t.Helper()
	var b []byte
	if body != nil {
		b = mustJSON(body)
	}
	r, err := send(a.c, method, a.url+path, b, fwd(a.key, a.acct, ""))
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (a actor) ok(method, path string, body any, want int) map[string]any {
	a.t.Helper()
	r := a.do(method, path, body)
	if r.Status != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return object(a.t, method+" "+path, r)
}

// flow makes a payment method, a captured intent and a partial refund.
func (a actor) flow(amount int64) objects {
	a.t.Helper()
	var o objects
	r := a.do("POST", "/payment_methods", json.RawMessage(cardBody("4242424242424242")))
	if r.Status != 201 {
		a.t.Fatalf("create payment method: %d %s", r.Status, r.Body)
	}
	o.pm = str(object(a.t, "pm", r), "id")
	o.pi = str(a.ok("POST", "/payment_intents", map[string]any{"amount": amount}, 201), "id")
	o.pay = str(a.ok("POST", "/payment_intents/"+o.pi+"/payments", map[string]any{"payment_method_id": o.pm}, 201), "id")
	o.re = str(a.ok("POST", "/payment_intents/"+o.pi+"/refunds", map[string]any{"amount": amount / 4}, 201), "id")
	return o
}

// cannotSee checks that a finds none of o: every read and every write
// naming o's ids answers 404 in Forward's envelope (or, for a payment
// method used in a body, a 400 naming the field), and lists are free of o.
func (a actor) cannotSee(who string, o objects) {
	t := a.t
	t.Helper()
	for _, p := range []string{"/payment_intents/" + o.pi, "/payments/" + o.pay, "/refunds/" + o.re, "/payment_methods/" + o.pm,
		"/payment_intents/" + o.pi + "/payments"} {
		expectError(t, who+": GET "+p, a.do("GET", p, nil), http.StatusNotFound, "invalid_request_error")
	}
	for _, w := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "/payment_intents/" + o.pi, map[string]any{"description": "hijacked"}},
		{"POST", "/payment_intents/" + o.pi + "/capture", map[string]any{}},
		{"POST", "/payment_intents/" + o.pi + "/cancel", map[string]any{}},
		{"POST", "/payment_intents/" + o.pi + "/refunds", map[string]any{"amount": 1}},
		{"POST", "/payment_intents/" + o.pi + "/payments", map[string]any{"payment_method_id": o.pm}},
		{"PATCH", "/payment_methods/" + o.pm, map[string]any{"billing_details": map[string]any{"name": "hijacked"}}},
	} {
		expectError(t, who+": "+w.method+" "+w.path, a.do(w.method, w.path, w.body), http.StatusNotFound, "invalid_request_error")
	}
	// Paying an own intent with the other's payment method names the field.
	own := str(a.ok("POST", "/payment_intents", map[string]any{"amount": 500}, 201), "id")
	r := a.do("POST", "/payment_intents/"+own+"/payments", map[string]any{"payment_method_id": o.pm})
	if e := expectError(t, who+": pay with a foreign payment method", r, http.StatusBadRequest, ""); e.Type != "" {
		if _, ok := e.ArgumentErrors["payment_method_id"]; !ok {
			t.Errorf("%s: paying with a foreign payment method does not name payment_method_id: %s", who, r.Body)
		}
	}
	// Lists and searches do not show o.
	for _, pg := range []struct{ method, path string }{{"GET", "/payment_intents?limit=50"}, {"POST", "/payment_intents/search"}} {
		var body any
		if pg.method == "POST" {
			body = map[string]any{"limit": 50}
		}
		r := a.do(pg.method, pg.path, body)
		if r.Status != 200 {
			t.Fatalf("%s: %s %s: %d %s", who, pg.method, pg.path, r.Status, r.Body)
		}
		var p pageOf
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		for _, pi := range p.Data {
			if str(pi, "id") == o.pi {
				t.Errorf("%s: %s %s shows the other's intent %s", who, pg.method, pg.path, o.pi)
			}
			if str(pi, "account_id") != a.acct && a.acct != "" {
				t.Errorf("%s: %s %s shows intent %s of account %s", who, pg.method, pg.path, str(pi, "id"), str(pi, "account_id"))
			}
		}
	}
}

// canSee checks that a reads every object of o.
func (a actor) canSee(who string, o objects) {
	a.t.Helper()
	for _, p := range []string{"/payment_intents/" + o.pi, "/payments/" + o.pay, "/refunds/" + o.re, "/payment_methods/" + o.pm} {
		if r := a.do("GET", p, nil); r.Status != 200 {
			a.t.Errorf("%s: GET %s: %d, want 200: %s", who, p, r.Status, r.Body)
		}
	}
}

func runIsolation(t *testing.T, s *testserver.Server) {
	ctx := context.Background()
	c := &http.Client{Timeout: 30 * time.Second}
	orgA := s.Boot.OrganizationID
	a := actor{t: t, c: c, url: s.URL, key: s.Key, acct: s.AccountID}
	aObjs := a.flow(10_000)
	a.canSee("owner", aObjs)

	// A second organization.
	bootB, err := s.Accounts.CreateOrganization(ctx, "Other organization")
	if err != nil {
		t.Fatal(err)
	}
	b := actor{t: t, c: c, url: s.URL, key: bootB.Forward.Test.PrivateKey, acct: bootB.AccountID}
	bObjs := b.flow(20_000)
	b.cannotSee("second organization", aObjs)
	a.cannotSee("first organization", bObjs)

	// Naming another organization's account is forbidden.
	expectError(t, "second org's key for the first org's account", b.as(s.AccountID).do("GET", "/payment_intents/"+aObjs.pi, nil), http.StatusForbidden, "authorization_error")
	expectError(t, "second org's key for the first org's account (list)", b.as(s.AccountID).do("GET", "/payment_intents", nil), http.StatusForbidden, "authorization_error")
	expectError(t, "second org's key creating in the first org's account", b.as(s.AccountID).do("POST", "/payment_intents", map[string]any{"amount": 100}), http.StatusForbidden, "authorization_error")
	expectError(t, "first org's key for the second org's account", a.as(bootB.AccountID).do("GET", "/payment_intents/"+bObjs.pi, nil), http.StatusForbidden, "authorization_error")
	expectError(t, "an unknown account", a.as("acct_01aaaaaaaaaaaaaaaaaaaaaaaa").do("GET", "/payment_intents", nil), http.StatusForbidden, "authorization_error")

	// Modes: the live key of the same account sees no test object, and the
	// test key no live object.
	live := actor{t: t, c: c, url: s.URL, key: s.Boot.Forward.Live.PrivateKey, acct: s.AccountID}
	live.cannotSee("live key of the same account", aObjs)
	liveObjs := live.flow(30_000)
	a.cannotSee("test key of the same account", liveObjs)
	live.canSee("live key", liveObjs)

	// A second account of the first organization: the first account's key
	// may act for it with x-account-id and then sees only its objects.
	acct2, keys2, err := s.Accounts.CreateAccount(ctx, orgA, "Second account")
	if err != nil {
		t.Fatal(err)
	}
	a2 := a.as(acct2.ID)
	objs2 := a2.flow(40_000)
	pi := a2.ok("GET", "/payment_intents/"+objs2.pi, nil, 200)
	if str(pi, "account_id") != acct2.ID {
		t.Errorf("intent made with x-account-id %s belongs to %s", acct2.ID, str(pi, "account_id"))
	}
	a2.cannotSee("first account's key acting for the second account", aObjs)
	a.cannotSee("first account's key for its own account", objs2)
	own2 := actor{t: t, c: c, url: s.URL, key: keys2["test"].PrivateKey, acct: acct2.ID}
	own2.canSee("second account's own key", objs2)
	own2.cannotSee("second account's own key", aObjs)
	expectError(t, "second org's key for the first org's second account", b.as(acct2.ID).do("GET", "/payment_intents/"+objs2.pi, nil), http.StatusForbidden, "authorization_error")

	// Missing or wrong keys are 401.
	for _, k := range []string{"", "fwd_sk_test_0000000000000000000000000000000", "garbage", s.Key + "x"} {
		r, err := send(c, "GET", s.URL+"/payment_intents/"+aObjs.pi, nil, fwd(k, s.AccountID, ""))
		if err != nil {
			t.Fatal(err)
		}
		expectError(t, "x-api-key "+k, r, http.StatusUnauthorized, "authentication_error")
		r, err = send(c, "POST", s.URL+"/payment_intents", mustJSON(map[string]any{"amount": 100}), fwd(k, s.AccountID, ""))
		if err != nil {
			t.Fatal(err)
		}
		expectError(t, "POST with x-api-key "+k, r, http.StatusUnauthorized, "authentication_error")
	}

	// The public key may tokenize a card but not create an intent.
	pub := actor{t: t, c: c, url: s.URL, key: s.PubKey, acct: s.AccountID}
	if r := pub.do("POST", "/payment_methods", json.RawMessage(cardBody("4242424242424242"))); r.Status != http.StatusCreated {
		t.Errorf("public key creating a payment method: %d %s", r.Status, r.Body)
	}
	expectError(t, "public key creating an intent", pub.do("POST", "/payment_intents", map[string]any{"amount": 100}), http.StatusForbidden, "")
	expectError(t, "public key reading an intent", pub.do("GET", "/payment_intents/"+aObjs.pi, nil), http.StatusForbidden, "")
}
