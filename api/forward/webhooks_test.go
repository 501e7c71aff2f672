package forward_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/api/apitest"
	"github.com/tenderpay/tender/api/forward"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/processor/sim"
	"github.com/tenderpay/tender/server"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
	"github.com/tenderpay/tender/webhook"
)

// The tests of this file drive a forward.Handler built here, with real
// services over a real SQLite file, behind the same middleware as the
// server, and check every response against openapi/forward.json. They do
// not need server.go to wire the webhook fields.

const testMasterKey = "0123456789abcdef0123456789abcdef0123456789abcdef"

// fakeEngine records redelivery requests.
type fakeEngine struct {
	mu     sync.Mutex
	events []string
	since  []time.Time
	n      int
}

func (f *fakeEngine) Redeliver(ctx context.Context, sc tender.Scope, eventID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, eventID)
	return f.n, nil
}

func (f *fakeEngine) RedeliverFailed(ctx context.Context, sc tender.Scope, since time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, since)
	return f.n, nil
}

// harness is a Forward handler over SQLite, served by httptest.
type harness struct {
	t        *testing.T
	URL      string
	Store    store.Store
	Path     string // the SQLite file
	Accounts *account.Service
	Payments *payment.Service
	Notify   *notify.Service
	Handler  *forward.Handler
	Engine   *fakeEngine
	Real     *webhook.Engine
	Boot     *account.Bootstrap
	Key      string
	v        *apitest.Validator
	client   *http.Client
}

type harnessOptions struct {
	allowPrivate bool
	noNotify     bool
	noEngine     bool
	// engine runs the real delivery engine (with private targets allowed
	// and a fast retry schedule) instead of the fake.
	engine   bool
	schedule []time.Duration
	// postgres runs on a new schema of TENDER_TEST_POSTGRES_URL (skipped
	// when it is unset) instead of SQLite.
	postgres bool
}

// bothStores runs fn on SQLite and on PostgreSQL.
func bothStores(t *testing.T, o harnessOptions, fn func(t *testing.T, h *harness)) {
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		fn(t, newHarness(t, o))
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		o := o
		o.postgres = true
		fn(t, newHarness(t, o))
	})
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	var path string
	var err error
	if o.postgres {
		st, err = postgres.Open(ctx, testserver.PostgresURL(t), postgres.Options{MaxConns: 8})
	} else {
		path = filepath.Join(t.TempDir(), "tender.db")
		st, err = sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &harness{t: t, Store: st, Path: path, Accounts: account.New(st), Engine: &fakeEngine{n: 1},
		v: apitest.Load(t, forward.OpenAPI), client: &http.Client{Timeout: 30 * time.Second}}
	h.Payments = payment.New(st, sim.New(time.Hour), []byte(testMasterKey))
	if h.Boot, err = h.Accounts.CreateOrganization(ctx, "Webhook tests"); err != nil {
		t.Fatal(err)
	}
	h.Key = h.Boot.Forward.Test.PrivateKey
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.Handler = &forward.Handler{Payments: h.Payments, Accounts: h.Accounts, Idem: forward.NewIdempotency(st, time.Hour), Log: log}
	if !o.noNotify {
		if h.Notify, err = notify.New(st, []byte(testMasterKey)); err != nil {
			t.Fatal(err)
		}
		h.Notify.AllowPrivate = o.allowPrivate
		h.Handler.Notify = h.Notify
	}
	switch {
	case o.engine:
		sched := o.schedule
		if sched == nil {
			sched = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 100 * time.Millisecond,
				100 * time.Millisecond, 100 * time.Millisecond}
		}
		h.Real = webhook.New(st, log, webhook.Options{AllowPrivate: true, OpenSecret: h.Notify.OpenSecret, Schedule: sched,
			Jitter: -1, PollInterval: 10 * time.Millisecond, Timeout: 5 * time.Second, StopGrace: time.Second})
		h.Real.Register(forward.NewWebhookDialect(st, h.Payments.ClientSecret))
		h.Real.Start(ctx)
		t.Cleanup(h.Real.Stop)
		h.Handler.Webhooks = h.Real
	case !o.noEngine:
		h.Handler.Webhooks = h.Engine
	}
	mux := http.NewServeMux()
	h.Handler.Register(mux)
	mw := &api.Middleware{Log: log, Metrics: api.NewMetrics(), MaxBodyBytes: 1 << 20, Dialect: func(string) string { return "forward" }}
	srv := httptest.NewServer(mw.Wrap(mux))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// resp is one checked exchange.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *resp) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// do sends a request with the given headers, validates the response
// against the OpenAPI document and returns it.
func (h *harness) do(method, path string, body any, headers map[string]string) *resp {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	h.v.Check(h.t, req, res.StatusCode, res.Header, b)
	return &resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// fwd sends a request with the test private key.
func (h *harness) fwd(method, path string, body any) *resp {
	h.t.Helper()
	return h.do(method, path, body, map[string]string{"x-api-key": h.Key})
}

// ok requires status code and returns the decoded object.
func (h *harness) ok(r *resp, code int) map[string]any {
	h.t.Helper()
	if r.Status != code {
		h.t.Fatalf("status %d, want %d: %s", r.Status, code, r.Body)
	}
	return r.JSON(h.t)
}

// fieldError requires a 400 validation error naming field.
func (h *harness) fieldError(r *resp, field string) {
	h.t.Helper()
	m := h.ok(r, http.StatusBadRequest)
	if m["code"] != "validation_error" {
		h.t.Errorf("code %v, want validation_error: %s", m["code"], r.Body)
	}
	args, _ := m["argument_errors"].(map[string]any)
	if _, ok := args[field]; !ok {
		h.t.Errorf("argument_errors does not name %q: %s", field, r.Body)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, field) {
		h.t.Errorf("message does not name %q: %s", field, r.Body)
	}
}

func (h *harness) errorCode(r *resp, status int, code string) {
	h.t.Helper()
	m := h.ok(r, status)
	if m["code"] != code {
		h.t.Errorf("code %v, want %s: %s", m["code"], code, r.Body)
	}
}

func (h *harness) scope() tender.Scope {
	return tender.Scope{OrganizationID: h.Boot.OrganizationID, AccountID: h.Boot.AccountID, Mode: tender.ModeTest}
}

// pay creates a card payment method and an auto-captured intent of amount
// and pays it; it returns the intent id.
func (h *harness) pay(amount int) string {
	h.t.Helper()
	pm := h.ok(h.fwd("POST", "/payment_methods", card("4242424242424242")), 201)
	acct := map[string]string{"x-api-key": h.Key, "x-account-id": h.Boot.AccountID}
	pi := h.ok(h.do("POST", "/payment_intents", map[string]any{"amount": amount}, acct), 201)
	h.ok(h.do("POST", "/payment_intents/"+pi["id"].(string)+"/payments", map[string]any{"payment_method_id": pm["id"]}, acct), 201)
	return pi["id"].(string)
}

const publicURL = "https://203.0.113.10/hooks/tender"

func TestWebhookEndpoints_CRUD(t *testing.T) {
	bothStores(t, harnessOptions{}, testWebhookEndpoints_CRUD)
}

func testWebhookEndpoints_CRUD(t *testing.T, h *harness) {
	created := h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL,
		"events": []string{"v2.payment_intent.captured", "v2.refund.created", "v2.payment_intent.captured"}, "description": "orders"}), 201)
	id, _ := created["id"].(string)
	secret, _ := created["secret"].(string)
	if !strings.HasPrefix(id, "we_") || !strings.HasPrefix(secret, "whsec_") || created["enabled"] != true ||
		created["entity"] != "webhook_endpoint" || created["livemode"] != false || created["description"] != "orders" {
		t.Fatalf("created endpoint: %v", created)
	}
	if ev := created["events"].([]any); len(ev) != 2 {
		t.Errorf("duplicate event names kept: %v", ev)
	}

	got := h.ok(h.fwd("GET", "/webhook_endpoints/"+id, nil), 200)
	if _, ok := got["secret"]; ok {
		t.Errorf("GET shows the secret: %v", got)
	}
	if got["url"] != publicURL || got["created_at"] != created["created_at"] {
		t.Errorf("GET: %v", got)
	}

	// A second one, disabled and subscribed to everything.
	all := h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL + "/all",
		"events": []string{"v2.payment.created", "*"}, "enabled": false}), 201)
	if ev := all["events"].([]any); len(ev) != 1 || ev[0] != "*" || all["enabled"] != false || all["description"] != nil {
		t.Errorf("wildcard endpoint: %v", all)
	}

	list := h.ok(h.fwd("GET", "/webhook_endpoints", nil), 200)
	data := list["data"].([]any)
	if len(data) != 2 || data[0].(map[string]any)["id"] != all["id"] || data[1].(map[string]any)["id"] != id {
		t.Fatalf("list: %s", list)
	}
	page := h.ok(h.fwd("GET", "/webhook_endpoints?limit=1", nil), 200)
	if meta := page["meta"].(map[string]any); meta["has_more"] != true || meta["size"] != float64(1) {
		t.Errorf("page meta: %v", meta)
	}
	next := h.ok(h.fwd("GET", "/webhook_endpoints?limit=1&starting_after="+all["id"].(string), nil), 200)
	if d := next["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != id {
		t.Errorf("next page: %v", next)
	}

	// PATCH: every field, then a partial one.
	upd := h.ok(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"url": publicURL + "/v2", "events": []string{"*"},
		"description": "all of it", "enabled": false}), 200)
	if upd["url"] != publicURL+"/v2" || upd["enabled"] != false || upd["description"] != "all of it" || upd["events"].([]any)[0] != "*" {
		t.Errorf("patch: %v", upd)
	}
	upd = h.ok(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"enabled": true}), 200)
	if upd["enabled"] != true || upd["url"] != publicURL+"/v2" || upd["description"] != "all of it" {
		t.Errorf("partial patch: %v", upd)
	}

	// DELETE, then it is gone.
	del := h.ok(h.fwd("DELETE", "/webhook_endpoints/"+id, nil), 200)
	if del["id"] != id || del["deleted"] != true || del["entity"] != "webhook_endpoint" {
		t.Errorf("delete: %v", del)
	}
	h.errorCode(h.fwd("GET", "/webhook_endpoints/"+id, nil), 404, "resource_not_found")
	h.errorCode(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"enabled": true}), 404, "resource_not_found")
	h.errorCode(h.fwd("DELETE", "/webhook_endpoints/"+id, nil), 404, "resource_not_found")
	h.errorCode(h.fwd("GET", "/webhook_endpoints/"+id+"/deliveries", nil), 404, "resource_not_found")
	list = h.ok(h.fwd("GET", "/webhook_endpoints", nil), 200)
	if d := list["data"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != all["id"] {
		t.Errorf("list after delete: %v", list)
	}
	// The row stays, marked deleted and disabled.
	_ = h.Store.Read(context.Background(), func(tx store.Tx) error {
		items, _, err := tx.ListWebhookEndpoints(context.Background(), h.scope(), tender.Page{Limit: 10})
		if err != nil || len(items) != 1 {
			t.Errorf("store list after delete: %d, %v", len(items), err)
		}
		return nil
	})
}

func TestWebhookEndpoints_Validation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ok := []string{"v2.payment.captured"}
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"no url", map[string]any{"events": ok}, "url"},
		{"relative url", map[string]any{"url": "/hooks", "events": ok}, "url"},
		{"ftp url", map[string]any{"url": "ftp://203.0.113.10/x", "events": ok}, "url"},
		{"credentials", map[string]any{"url": "https://user:pw@203.0.113.10/x", "events": ok}, "url"},
		{"fragment", map[string]any{"url": "https://203.0.113.10/x#y", "events": ok}, "url"},
		{"long url", map[string]any{"url": "https://203.0.113.10/" + strings.Repeat("a", 2048), "events": ok}, "url"},
		{"loopback", map[string]any{"url": "http://127.0.0.1:8080/hook", "events": ok}, "url"},
		{"localhost", map[string]any{"url": "http://localhost/hook", "events": ok}, "url"},
		{"private", map[string]any{"url": "http://10.1.2.3/hook", "events": ok}, "url"},
		{"private 192.168", map[string]any{"url": "https://192.168.0.10/hook", "events": ok}, "url"},
		{"link-local metadata", map[string]any{"url": "http://169.254.169.254/latest", "events": ok}, "url"},
		{"ipv6 loopback", map[string]any{"url": "http://[::1]/hook", "events": ok}, "url"},
		{"ipv4-mapped loopback", map[string]any{"url": "http://[::ffff:127.0.0.1]/hook", "events": ok}, "url"},
		{"unspecified", map[string]any{"url": "http://0.0.0.0/hook", "events": ok}, "url"},
		{"url not a string", map[string]any{"url": 7, "events": ok}, "url"},
		{"no events", map[string]any{"url": publicURL}, "events"},
		{"empty events", map[string]any{"url": publicURL, "events": []string{}}, "events"},
		{"unknown event", map[string]any{"url": publicURL, "events": []string{"v2.payment.captured", "payment.captured"}}, "events"},
		{"events not a list", map[string]any{"url": publicURL, "events": "*"}, "events"},
		{"long description", map[string]any{"url": publicURL, "events": ok, "description": strings.Repeat("d", 501)}, "description"},
		{"enabled not a boolean", map[string]any{"url": publicURL, "events": ok, "enabled": "yes"}, "enabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			h.fieldError(h.fwd("POST", "/webhook_endpoints", c.body), c.field)
		})
	}
	h.t = t
	h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL, "events": ok, "description": strings.Repeat("d", 500)}), 201)
	h.errorCode(h.fwd("POST", "/webhook_endpoints", `{"url": `), 400, "validation_error")

	// PATCH validates the same way, and changes nothing when it fails.
	ep := h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL, "events": ok}), 201)
	id := ep["id"].(string)
	h.fieldError(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"url": "http://127.0.0.1/x"}), "url")
	h.fieldError(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"url": ""}), "url")
	h.fieldError(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"events": []string{}}), "events")
	h.fieldError(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"events": []string{"v2.nope"}}), "events")
	h.fieldError(h.fwd("PATCH", "/webhook_endpoints/"+id, map[string]any{"description": strings.Repeat("d", 501)}), "description")
	got := h.ok(h.fwd("GET", "/webhook_endpoints/"+id, nil), 200)
	if got["url"] != publicURL || got["updated_at"] != ep["updated_at"] {
		t.Errorf("a failed PATCH changed the endpoint: %v", got)
	}
	h.fieldError(h.fwd("GET", "/webhook_endpoints?limit=0", nil), "limit")
	h.errorCode(h.fwd("GET", "/webhook_endpoints/we_nope", nil), 404, "resource_not_found")

	// Authentication as on every Forward route.
	h.errorCode(h.do("GET", "/webhook_endpoints", nil, nil), 401, "unauthorized")
	h.errorCode(h.do("POST", "/webhook_endpoints", map[string]any{"url": publicURL, "events": ok},
		map[string]string{"x-api-key": h.Boot.Forward.Test.PublicKey}), 403, "forbidden")
}

func TestWebhookEndpoints_AllowPrivate(t *testing.T) {
	h := newHarness(t, harnessOptions{allowPrivate: true})
	for _, u := range []string{"http://127.0.0.1:9/hook", "http://localhost:8080/x", "http://10.0.0.1/x", "http://[::1]:81/"} {
		h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": u, "events": []string{"*"}}), 201)
	}
	// The other rules still hold.
	h.fieldError(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": "gopher://127.0.0.1/", "events": []string{"*"}}), "url")
}

func TestWebhookEndpoints_SecretShownOnceAndSealed(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	hdr := map[string]string{"x-api-key": h.Key, "x-idempotency-key": "endpoint-create-0001"}
	body := map[string]any{"url": publicURL, "events": []string{"*"}}
	first := h.do("POST", "/webhook_endpoints", body, hdr)
	m := h.ok(first, 201)
	secret := m["secret"].(string)
	replay := h.do("POST", "/webhook_endpoints", body, hdr)
	if replay.Status != 201 || !bytes.Equal(replay.Body, first.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay differs:\n%s\n%s", first.Body, replay.Body)
	}
	h.errorCode(h.do("POST", "/webhook_endpoints", map[string]any{"url": publicURL + "/x", "events": []string{"*"}}, hdr),
		422, "idempotency_key_reused")

	// The store holds the secret sealed, and it opens to the one shown.
	var ep *tender.WebhookEndpoint
	err := h.Store.Read(context.Background(), func(tx store.Tx) (err error) {
		ep, err = tx.FindWebhookEndpointByID(context.Background(), h.scope(), m["id"].(string))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ep.SecretSealed, secret) || !strings.HasPrefix(ep.SecretSealed, "v1.") {
		t.Fatalf("secret stored as %q", ep.SecretSealed)
	}
	if clear, err := h.Notify.OpenSecret(ep.SecretSealed); err != nil || clear != secret {
		t.Fatalf("sealed secret opens to %q, %v", clear, err)
	}
	if ep.Dialect != "forward" {
		t.Errorf("dialect %q", ep.Dialect)
	}

	// Nowhere in the database files, idempotency record included.
	if err := h.Store.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(h.Path + "*")
	key := strings.TrimPrefix(secret, "whsec_")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a -wal or -shm file removed as the store closed
		} else if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(key)) {
			t.Errorf("%s holds the clear secret", filepath.Base(f))
		}
	}
}

func TestWebhookEndpoints_Isolation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ep := h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL, "events": []string{"*"}}), 201)
	id := ep["id"].(string)
	// The live key of the same account, and another organization's key,
	// see nothing.
	other, err := h.Accounts.CreateOrganization(context.Background(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{h.Boot.Forward.Live.PrivateKey, other.Forward.Test.PrivateKey} {
		hdr := map[string]string{"x-api-key": key}
		h.errorCode(h.do("GET", "/webhook_endpoints/"+id, nil, hdr), 404, "resource_not_found")
		h.errorCode(h.do("PATCH", "/webhook_endpoints/"+id, map[string]any{"enabled": false}, hdr), 404, "resource_not_found")
		h.errorCode(h.do("DELETE", "/webhook_endpoints/"+id, nil, hdr), 404, "resource_not_found")
		h.errorCode(h.do("GET", "/webhook_endpoints/"+id+"/deliveries", nil, hdr), 404, "resource_not_found")
		list := h.ok(h.do("GET", "/webhook_endpoints", nil, hdr), 200)
		if d := list["data"].([]any); len(d) != 0 {
			t.Errorf("another scope lists %v", d)
		}
	}
	// x-account-id outside the organization is 403.
	h.errorCode(h.do("GET", "/webhook_endpoints", nil, map[string]string{"x-api-key": h.Key, "x-account-id": other.AccountID}),
		403, "forbidden")
}

func TestEvents_ListAndGet(t *testing.T) {
	bothStores(t, harnessOptions{}, testEvents_ListAndGet)
}

func testEvents_ListAndGet(t *testing.T, h *harness) {
	piID := h.pay(1200)
	list := h.ok(h.fwd("GET", "/events?limit=50", nil), 200)
	var types []string
	for _, it := range list["data"].([]any) {
		ev := it.(map[string]any)
		types = append(types, ev["type"].(string))
		if ev["account_id"] != h.Boot.AccountID || ev["livemode"] != false || !strings.HasPrefix(ev["id"].(string), "evt_") {
			t.Errorf("event: %v", ev)
		}
	}
	// Newest first; payment_method.created has no Forward name and is
	// not listed.
	want := []string{"v2.payment_intent.captured", "v2.payment.captured", "v2.payment.created", "v2.payment_intent.created"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("event types %v, want %v", types, want)
	}

	captured := h.ok(h.fwd("GET", "/events?type=v2.payment_intent.captured", nil), 200)
	data := captured["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("type filter: %v", captured)
	}
	ev := data[0].(map[string]any)
	obj := ev["data"].(map[string]any)
	if obj["id"] != piID || obj["entity"] != "payment_intent" || obj["status"] != "captured" || obj["latest_payment"] != nil {
		t.Errorf("captured event data: %v", obj)
	}
	both := h.ok(h.fwd("GET", "/events?type=v2.payment.created,v2.payment.captured", nil), 200)
	if len(both["data"].([]any)) != 2 {
		t.Errorf("comma-separated types: %v", both)
	}
	rep := h.ok(h.fwd("GET", "/events?type=v2.payment.created&type=v2.payment_intent.created", nil), 200)
	if len(rep["data"].([]any)) != 2 {
		t.Errorf("repeated types: %v", rep)
	}
	h.fieldError(h.fwd("GET", "/events?type=payment.created", nil), "type")
	h.fieldError(h.fwd("GET", "/events?limit=51", nil), "limit")

	// Pages.
	p1 := h.ok(h.fwd("GET", "/events?limit=3", nil), 200)
	if len(p1["data"].([]any)) != 3 || p1["meta"].(map[string]any)["has_more"] != true {
		t.Fatalf("page 1: %v", p1)
	}
	last := p1["data"].([]any)[2].(map[string]any)["id"].(string)
	p2 := h.ok(h.fwd("GET", "/events?limit=3&starting_after="+last, nil), 200)
	if d := p2["data"].([]any); len(d) != 1 || d[0].(map[string]any)["type"] != "v2.payment_intent.created" {
		t.Fatalf("page 2: %v", p2)
	}

	// GET one: the same rendering, with its deliveries.
	id := ev["id"].(string)
	one := h.ok(h.fwd("GET", "/events/"+id, nil), 200)
	if one["type"] != "v2.payment_intent.captured" || one["created_at"] != ev["created_at"] {
		t.Errorf("GET event: %v", one)
	}
	if d, ok := one["deliveries"].([]any); !ok || len(d) != 0 {
		t.Errorf("deliveries of an event with no endpoint: %v", one["deliveries"])
	}
	h.errorCode(h.fwd("GET", "/events/evt_nope", nil), 404, "resource_not_found")

	// An event Forward does not deliver is not found through Forward.
	var pmEvent string
	_ = h.Store.Read(context.Background(), func(tx store.Tx) error {
		evs, _, err := tx.ListEvents(context.Background(), h.scope(), tender.Page{Limit: 1}, []string{tender.EventPaymentMethodCreated})
		if err != nil || len(evs) != 1 {
			t.Fatalf("payment_method.created events: %v %v", evs, err)
		}
		pmEvent = evs[0].ID
		return nil
	})
	h.errorCode(h.fwd("GET", "/events/"+pmEvent, nil), 404, "resource_not_found")

	// Another mode sees none of it.
	live := h.ok(h.do("GET", "/events", nil, map[string]string{"x-api-key": h.Boot.Forward.Live.PrivateKey}), 200)
	if len(live["data"].([]any)) != 0 {
		t.Errorf("live key lists test events: %v", live)
	}
	h.errorCode(h.do("GET", "/events/"+id, nil, map[string]string{"x-api-key": h.Boot.Forward.Live.PrivateKey}), 404, "resource_not_found")
}

// seedDelivery writes a delivery of event to endpoint with attempts, as
// the delivery engine would.
func (h *harness) seedDelivery(eventID, endpointID, state string, statuses ...int) *tender.Delivery {
	h.t.Helper()
	ctx := context.Background()
	var d *tender.Delivery
	err := h.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		d = &tender.Delivery{ID: tender.NewID(tender.PrefixDelivery, now), EventID: eventID, EndpointID: endpointID,
			AccountID: h.Boot.AccountID, Mode: tender.ModeTest, State: state, Attempts: len(statuses), NextAt: now.Add(time.Minute),
			CreatedAt: now, UpdatedAt: now}
		for i, code := range statuses {
			a := &tender.DeliveryAttempt{ID: tender.NewID(tender.PrefixAttempt, now), DeliveryID: d.ID, EndpointID: endpointID,
				EventID: eventID, Attempt: i + 1, StatusCode: code, LatencyMillis: int64(10 * (i + 1)), CreatedAt: now}
			if code == 0 {
				a.Error = "dial tcp: connection refused"
			} else {
				a.ResponseExcerpt = "status " + http.StatusText(code)
			}
			if err := tx.CreateDeliveryAttempt(ctx, a); err != nil {
				return err
			}
			d.LastStatus, d.LastError = code, a.Error
		}
		if state == tender.DeliverySucceeded {
			d.SucceededAt = &now
		}
		return tx.CreateDelivery(ctx, d)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func TestWebhookDeliveries_Log(t *testing.T) {
	bothStores(t, harnessOptions{}, testWebhookDeliveries_Log)
}

func testWebhookDeliveries_Log(t *testing.T, h *harness) {
	ep := h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL, "events": []string{"*"}}), 201)
	other := h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL + "/b", "events": []string{"*"}}), 201)
	epID, otherID := ep["id"].(string), other["id"].(string)
	h.pay(500)
	evs := h.ok(h.fwd("GET", "/events?type=v2.payment_intent.captured", nil), 200)["data"].([]any)
	evID := evs[0].(map[string]any)["id"].(string)

	ok := h.seedDelivery(evID, epID, tender.DeliverySucceeded, 0, 500, 200)
	failing := h.seedDelivery(evID, otherID, tender.DeliveryPending, 503)

	list := h.ok(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries", nil), 200)
	data := list["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("deliveries: %v", list)
	}
	d := data[0].(map[string]any)
	if d["id"] != ok.ID || d["status"] != "succeeded" || d["attempts"] != float64(3) || d["last_status_code"] != float64(200) ||
		d["succeeded_at"] == nil || d["next_attempt_at"] != nil || d["event_id"] != evID || d["endpoint_id"] != epID {
		t.Errorf("delivery: %v", d)
	}
	att := h.ok(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries/"+ok.ID+"/attempts", nil), 200)
	items := att["data"].([]any)
	if len(items) != 3 {
		t.Fatalf("attempts: %v", att)
	}
	first := items[2].(map[string]any)
	if first["attempt"] != float64(1) || first["status_code"] != nil || first["error"] != "dial tcp: connection refused" {
		t.Errorf("first attempt: %v", first)
	}
	if newest := items[0].(map[string]any); newest["attempt"] != float64(3) || newest["status_code"] != float64(200) {
		t.Errorf("newest attempt: %v", newest)
	}
	p := h.ok(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries/"+ok.ID+"/attempts?limit=1", nil), 200)
	if p["meta"].(map[string]any)["has_more"] != true {
		t.Errorf("attempt page: %v", p)
	}

	pend := h.ok(h.fwd("GET", "/webhook_endpoints/"+otherID+"/deliveries", nil), 200)["data"].([]any)[0].(map[string]any)
	if pend["status"] != "pending" || pend["next_attempt_at"] == nil || pend["last_status_code"] != float64(503) {
		t.Errorf("pending delivery: %v", pend)
	}

	// A delivery looked up under another endpoint is not found.
	h.errorCode(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries/"+failing.ID+"/attempts", nil), 404, "resource_not_found")
	h.errorCode(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries/wd_nope/attempts", nil), 404, "resource_not_found")
	h.errorCode(h.fwd("GET", "/webhook_endpoints/we_nope/deliveries/"+ok.ID+"/attempts", nil), 404, "resource_not_found")

	// The event shows both deliveries' states.
	one := h.ok(h.fwd("GET", "/events/"+evID, nil), 200)
	ds := one["deliveries"].([]any)
	if len(ds) != 2 || ds[0].(map[string]any)["status"] != "succeeded" || ds[1].(map[string]any)["status"] != "pending" {
		t.Errorf("event deliveries: %v", ds)
	}
}

func TestEvents_Redeliver(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.pay(700)
	evID := h.ok(h.fwd("GET", "/events?limit=1", nil), 200)["data"].([]any)[0].(map[string]any)["id"].(string)
	h.Engine.n = 2
	r := h.ok(h.fwd("POST", "/events/"+evID+"/redeliver", nil), 202)
	if r["count"] != float64(2) || r["event_id"] != evID || r["since"] != nil || r["entity"] != "webhook_redelivery" {
		t.Errorf("redeliver: %v", r)
	}
	if len(h.Engine.events) != 1 || h.Engine.events[0] != evID {
		t.Errorf("engine got %v", h.Engine.events)
	}
	h.errorCode(h.fwd("POST", "/events/evt_nope/redeliver", nil), 404, "resource_not_found")
	if len(h.Engine.events) != 1 {
		t.Errorf("the engine was called for an unknown event")
	}

	// With an idempotency key, a retry replays and does not redeliver again.
	hdr := map[string]string{"x-api-key": h.Key, "x-idempotency-key": "redeliver-key-001"}
	a := h.do("POST", "/events/"+evID+"/redeliver", nil, hdr)
	b := h.do("POST", "/events/"+evID+"/redeliver", nil, hdr)
	if a.Status != 202 || !bytes.Equal(a.Body, b.Body) || b.Header.Get("Idempotent-Replayed") != "true" || len(h.Engine.events) != 2 {
		t.Errorf("idempotent redeliver: %d %s / %s, engine calls %d", a.Status, a.Body, b.Body, len(h.Engine.events))
	}

	since := "2024-05-01T00:00:00Z"
	f := h.ok(h.fwd("POST", "/events/redeliver_failed", map[string]any{"since": since}), 202)
	if f["count"] != float64(2) || f["since"] != "2024-05-01T00:00:00.000Z" || f["event_id"] != nil {
		t.Errorf("redeliver_failed: %v", f)
	}
	if len(h.Engine.since) != 1 || !h.Engine.since[0].Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("engine got since %v", h.Engine.since)
	}
	h.ok(h.fwd("POST", "/events/redeliver_failed", map[string]any{"since": "2024-05-01"}), 202)
	h.fieldError(h.fwd("POST", "/events/redeliver_failed", nil), "since")
	h.fieldError(h.fwd("POST", "/events/redeliver_failed", map[string]any{"since": "yesterday"}), "since")
	h.fieldError(h.fwd("POST", "/events/redeliver_failed", map[string]any{"since": 5}), "since")
}

func TestWebhooks_NotEnabled(t *testing.T) {
	h := newHarness(t, harnessOptions{noNotify: true, noEngine: true})
	h.errorCode(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": publicURL, "events": []string{"*"}}), 501, "not_implemented")
	h.errorCode(h.fwd("GET", "/webhook_endpoints", nil), 501, "not_implemented")
	h.errorCode(h.fwd("POST", "/events/evt_x/redeliver", nil), 501, "not_implemented")
	h.errorCode(h.fwd("POST", "/events/redeliver_failed", map[string]any{"since": "2024-01-01"}), 501, "not_implemented")
	// Events are readable without the engine.
	h.ok(h.fwd("GET", "/events", nil), 200)
}

// exerciseWebhookRoutes drives every webhook and event route through the
// real server of TestOpenAPI_ValidatesResponses, validating each response,
// and marks the operations exercised. Call it from that flow after a
// payment was made (so that events exist). It works whether or not the
// server wires the webhook fields: without them, the endpoint and
// redelivery routes answer 501, which the document also describes.
func exerciseWebhookRoutes(f *openAPIFlow) {
	f.t.Helper()
	s := f.s
	mark := func(op string) { f.ops[op] = true }

	// Events exist without any webhook wiring.
	evs := f.fwd("GET", "/events?limit=2", nil, 200)
	mark("GET /events")
	data, _ := evs["data"].([]any)
	if len(data) == 0 {
		f.t.Fatal("exerciseWebhookRoutes: no events; call it after a payment")
	}
	evID := data[0].(map[string]any)["id"].(string)
	f.fwd("GET", "/events?type=v2.payment_intent.created&type=v2.payment.captured", nil, 200)
	f.errorCode(s.Forward(f.t, "GET", "/events?type=charge.succeeded", nil), 400, "validation_error")
	f.fwd("GET", "/events/"+evID, nil, 200)
	f.errorCode(s.Forward(f.t, "GET", "/events/evt_nope", nil), 404, "resource_not_found")
	mark("GET /events/{id}")

	// A disabled endpoint: it receives nothing, so the test sends no
	// traffic out of the machine.
	create := s.Forward(f.t, "POST", "/webhook_endpoints", map[string]any{"url": "https://203.0.113.10/hooks",
		"events": []string{"v2.payment_intent.captured"}, "description": "openapi flow", "enabled": false})
	mark("POST /webhook_endpoints")
	wired := create.Status != http.StatusNotImplemented
	if !wired {
		f.errorCode(create, 501, "not_implemented")
		for _, c := range []struct{ method, path, op string }{
			{"GET", "/webhook_endpoints", "GET /webhook_endpoints"},
			{"GET", "/webhook_endpoints/we_x", "GET /webhook_endpoints/{id}"},
			{"PATCH", "/webhook_endpoints/we_x", "PATCH /webhook_endpoints/{id}"},
			{"DELETE", "/webhook_endpoints/we_x", "DELETE /webhook_endpoints/{id}"},
			{"GET", "/webhook_endpoints/we_x/deliveries", "GET /webhook_endpoints/{id}/deliveries"},
			{"GET", "/webhook_endpoints/we_x/deliveries/wd_x/attempts", "GET /webhook_endpoints/{id}/deliveries/{delivery_id}/attempts"},
			{"POST", "/events/" + evID + "/redeliver", "POST /events/{id}/redeliver"},
			{"POST", "/events/redeliver_failed", "POST /events/redeliver_failed"},
		} {
			var body any
			switch {
			case c.method == "PATCH":
				body = map[string]any{"enabled": true}
			case c.path == "/events/redeliver_failed":
				body = map[string]any{"since": "2024-01-01T00:00:00Z"}
			}
			f.errorCode(s.Forward(f.t, c.method, c.path, body), 501, "not_implemented")
			mark(c.op)
		}
		return
	}
	ep := f.check(create, 201)
	epID := ep["id"].(string)
	if secret, _ := ep["secret"].(string); !strings.HasPrefix(secret, "whsec_") {
		f.t.Errorf("created endpoint without a secret: %v", ep)
	}
	f.errorCode(s.Forward(f.t, "POST", "/webhook_endpoints", map[string]any{"url": "ftp://203.0.113.10/x", "events": []string{"*"}}),
		400, "validation_error")
	f.fwd("GET", "/webhook_endpoints?limit=5", nil, 200)
	mark("GET /webhook_endpoints")
	f.fwd("GET", "/webhook_endpoints/"+epID, nil, 200)
	f.errorCode(s.Forward(f.t, "GET", "/webhook_endpoints/we_nope", nil), 404, "resource_not_found")
	mark("GET /webhook_endpoints/{id}")
	f.fwd("PATCH", "/webhook_endpoints/"+epID, map[string]any{"events": []string{"*"}, "description": "all events"}, 200)
	f.errorCode(s.Forward(f.t, "PATCH", "/webhook_endpoints/"+epID, map[string]any{"events": []string{}}), 400, "validation_error")
	mark("PATCH /webhook_endpoints/{id}")
	f.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries", nil, 200)
	mark("GET /webhook_endpoints/{id}/deliveries")
	f.errorCode(s.Forward(f.t, "GET", "/webhook_endpoints/"+epID+"/deliveries/wd_nope/attempts", nil), 404, "resource_not_found")
	mark("GET /webhook_endpoints/{id}/deliveries/{delivery_id}/attempts")
	f.check(s.Forward(f.t, "POST", "/events/"+evID+"/redeliver", nil), 202)
	mark("POST /events/{id}/redeliver")
	f.check(s.Forward(f.t, "POST", "/events/redeliver_failed", map[string]any{"since": "2024-01-01T00:00:00Z"}), 202)
	f.errorCode(s.Forward(f.t, "POST", "/events/redeliver_failed", nil), 400, "validation_error")
	mark("POST /events/redeliver_failed")
	f.fwd("DELETE", "/webhook_endpoints/"+epID, nil, 200)
	mark("DELETE /webhook_endpoints/{id}")
}

// ---- end to end, with the real delivery engine ----

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
}

// receiver is an HTTP endpoint that records what it receives. It answers
// failFirst requests with 503, then status (200 by default).
type receiver struct {
	URL string

	mu        sync.Mutex
	got       []received
	failFirst int
	status    int
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: body})
		status := rc.status
		if rc.failFirst > 0 {
			rc.failFirst--
			status = http.StatusServiceUnavailable
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(http.StatusText(status)))
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/hooks"
	return rc
}

func (rc *receiver) set(failFirst, status int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.failFirst, rc.status = failFirst, status
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// ids returns the distinct webhook-ids of the requests answered 2xx so
// far (the ones after the failures).
func (rc *receiver) ids() []string {
	var out []string
	for _, r := range rc.requests() {
		if id := r.Header.Get("webhook-id"); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// eventually polls cond for up to 15 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verify checks every request with the standard-webhooks library and
// returns the decoded bodies.
func verify(t *testing.T, secret string, reqs []received) []map[string]any {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range reqs {
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("delivery %s does not verify: %v", r.Header.Get("webhook-id"), err)
		}
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatalf("delivery body: %v\n%s", err, r.Body)
		}
		if m["id"] != r.Header.Get("webhook-id") || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery headers %v for body %s", r.Header, r.Body)
		}
		out = append(out, m)
	}
	return out
}

// createEndpoint creates an endpoint through the API and returns its id
// and secret.
func (h *harness) createEndpoint(url string, events []string, enabled bool) (string, string) {
	h.t.Helper()
	ep := h.ok(h.fwd("POST", "/webhook_endpoints", map[string]any{"url": url, "events": events, "enabled": enabled}), 201)
	return ep["id"].(string), ep["secret"].(string)
}

func TestWebhooks_EndToEnd_SignedDelivery(t *testing.T) {
	bothStores(t, harnessOptions{allowPrivate: true, engine: true}, testWebhooks_EndToEnd_SignedDelivery)
}

func testWebhooks_EndToEnd_SignedDelivery(t *testing.T, h *harness) {
	main, all, refunds, disabled, deleted := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	mainID, mainSecret := h.createEndpoint(main.URL, []string{"v2.payment_intent.captured"}, true)
	allID, allSecret := h.createEndpoint(all.URL, []string{"*"}, true)
	refundsID, refundsSecret := h.createEndpoint(refunds.URL, []string{"v2.refund.created"}, true)
	disabledID, _ := h.createEndpoint(disabled.URL, []string{"*"}, false)
	deletedID, _ := h.createEndpoint(deleted.URL, []string{"*"}, true)
	h.ok(h.fwd("DELETE", "/webhook_endpoints/"+deletedID, nil), 200)

	piID := h.pay(1500)
	eventually(t, "the captured intent at the main receiver", func() bool { return len(main.requests()) >= 1 })
	eventually(t, "four events at the catch-all receiver", func() bool { return len(all.ids()) >= 4 })

	got := verify(t, mainSecret, main.requests())
	if len(got) != 1 {
		t.Fatalf("main receiver got %d deliveries", len(got))
	}
	data := got[0]["data"].(map[string]any)
	if got[0]["type"] != "v2.payment_intent.captured" || data["id"] != piID || data["status"] != "captured" ||
		data["amount_captured"] != float64(1500) || got[0]["account_id"] != h.Boot.AccountID || got[0]["livemode"] != false {
		t.Errorf("delivered event: %v", got[0])
	}
	// The body is the event as GET /events/{id} shows it.
	one := h.ok(h.fwd("GET", "/events/"+got[0]["id"].(string), nil), 200)
	deliveries := one["deliveries"].([]any)
	delete(one, "deliveries")
	if !reflect.DeepEqual(one, got[0]) {
		t.Errorf("GET /events/{id} differs from the delivery:\n%v\n%v", one, got[0])
	}
	if len(deliveries) != 2 {
		t.Errorf("the captured event has %d deliveries, want 2 (main and catch-all): %v", len(deliveries), deliveries)
	}

	var types []string
	for _, m := range verify(t, allSecret, all.requests()) {
		types = append(types, m["type"].(string))
	}
	slices.Sort(types)
	if want := []string{"v2.payment.captured", "v2.payment.created", "v2.payment_intent.captured", "v2.payment_intent.created"}; !slices.Equal(types, want) {
		t.Errorf("catch-all receiver got %v, want %v", types, want)
	}

	// The delivery log of the main endpoint.
	log := h.ok(h.fwd("GET", "/webhook_endpoints/"+mainID+"/deliveries", nil), 200)["data"].([]any)
	if len(log) != 1 {
		t.Fatalf("main delivery log: %v", log)
	}
	d := log[0].(map[string]any)
	eventually(t, "the delivery recorded as succeeded", func() bool {
		d = h.ok(h.fwd("GET", "/webhook_endpoints/"+mainID+"/deliveries", nil), 200)["data"].([]any)[0].(map[string]any)
		return d["status"] == "succeeded"
	})
	if d["attempts"] != float64(1) || d["last_status_code"] != float64(200) || d["succeeded_at"] == nil {
		t.Errorf("delivery: %v", d)
	}
	att := h.ok(h.fwd("GET", "/webhook_endpoints/"+mainID+"/deliveries/"+d["id"].(string)+"/attempts", nil), 200)["data"].([]any)
	if len(att) != 1 || att[0].(map[string]any)["status_code"] != float64(200) || att[0].(map[string]any)["response_excerpt"] != "OK" {
		t.Errorf("attempts: %v", att)
	}

	// A refund reaches the refunds endpoint (and the catch-all).
	acct := map[string]string{"x-api-key": h.Key, "x-account-id": h.Boot.AccountID}
	ref := h.ok(h.do("POST", "/payment_intents/"+piID+"/refunds", map[string]any{"amount": 300}, acct), 201)
	eventually(t, "the refund at the refunds receiver", func() bool { return len(refunds.requests()) >= 1 })
	rg := verify(t, refundsSecret, refunds.requests())
	if rg[0]["type"] != "v2.refund.created" || rg[0]["data"].(map[string]any)["id"] != ref["id"] {
		t.Errorf("refund delivery: %v", rg[0])
	}
	eventually(t, "six events at the catch-all receiver", func() bool { return len(all.ids()) >= 6 })

	// Filtered, disabled and deleted endpoints got nothing, and owe nothing.
	time.Sleep(100 * time.Millisecond)
	if n := len(main.requests()); n != 1 {
		t.Errorf("the main receiver, subscribed to captures only, got %d deliveries", n)
	}
	if n := len(refunds.requests()); n != 1 {
		t.Errorf("the refunds receiver got %d deliveries", n)
	}
	if n := len(disabled.requests()) + len(deleted.requests()); n != 0 {
		t.Errorf("disabled and deleted receivers got %d deliveries", n)
	}
	if d := h.ok(h.fwd("GET", "/webhook_endpoints/"+disabledID+"/deliveries", nil), 200)["data"].([]any); len(d) != 0 {
		t.Errorf("disabled endpoint's deliveries: %v", d)
	}
	_ = allID
	_ = refundsID
}

func TestWebhooks_EndToEnd_ReceiverDownThenUp(t *testing.T) {
	sched := make([]time.Duration, 100) // 3 s of retries: far longer than the outage
	for i := range sched {
		sched[i] = 30 * time.Millisecond
	}
	h := newHarness(t, harnessOptions{allowPrivate: true, engine: true, schedule: sched})
	rc := newReceiver(t)
	rc.set(1000, http.StatusOK) // down: every request answered 503
	epID, secret := h.createEndpoint(rc.URL, []string{"*"}, true)
	for i := 0; i < 3; i++ {
		h.pay(100 * (i + 1))
	}
	deliveries := func() []map[string]any {
		var out []map[string]any
		for _, d := range h.ok(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries?limit=50", nil), 200)["data"].([]any) {
			out = append(out, d.(map[string]any))
		}
		return out
	}
	eventually(t, "a failed attempt of each of the twelve deliveries", func() bool {
		ds := deliveries()
		for _, d := range ds {
			if d["attempts"].(float64) < 1 {
				return false
			}
		}
		return len(ds) == 12
	})
	rc.set(0, http.StatusOK) // up
	eventually(t, "all twelve events delivered", func() bool {
		for _, d := range deliveries() {
			if d["status"] != "succeeded" {
				return false
			}
		}
		return true
	})
	verify(t, secret, rc.requests())
	if ids := rc.ids(); len(ids) != 12 {
		t.Errorf("the receiver saw %d distinct events, want 12", len(ids))
	}
	// Each delivery's log shows the 503s before the 200.
	for _, d := range deliveries() {
		att := h.ok(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries/"+d["id"].(string)+"/attempts?limit=50", nil), 200)["data"].([]any)
		if len(att) < 2 || att[0].(map[string]any)["status_code"] != float64(200) ||
			att[len(att)-1].(map[string]any)["status_code"] != float64(503) || int(d["attempts"].(float64)) != len(att) {
			t.Errorf("attempts of %v: %v", d, att)
		}
	}
}

func TestWebhooks_EndToEnd_Redeliver(t *testing.T) {
	h := newHarness(t, harnessOptions{allowPrivate: true, engine: true, schedule: []time.Duration{20 * time.Millisecond}})
	rc := newReceiver(t)
	rc.set(0, http.StatusInternalServerError)
	epID, secret := h.createEndpoint(rc.URL, []string{"v2.payment_intent.created"}, true)
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	h.pay(900)
	eventually(t, "the delivery to fail", func() bool {
		ds := h.ok(h.fwd("GET", "/webhook_endpoints/"+epID+"/deliveries", nil), 200)["data"].([]any)
		return len(ds) == 1 && ds[0].(map[string]any)["status"] == "failed"
	})
	failedAttempts := len(rc.requests())
	if failedAttempts != 2 {
		t.Errorf("%d attempts before failing, want 2", failedAttempts)
	}

	rc.set(0, http.StatusOK)
	r := h.ok(h.fwd("POST", "/events/redeliver_failed", map[string]any{"since": start}), 202)
	if r["count"] != float64(1) {
		t.Fatalf("redeliver_failed: %v", r)
	}
	eventually(t, "the redelivery", func() bool { return len(rc.requests()) == failedAttempts+1 })
	first := verify(t, secret, rc.requests())
	evID := first[0]["id"].(string)
	if last := first[len(first)-1]; last["id"] != evID || last["type"] != "v2.payment_intent.created" {
		t.Errorf("redelivered %v, want event %s", last, evID)
	}

	// One event, again: same webhook-id, fresh signature.
	r = h.ok(h.fwd("POST", "/events/"+evID+"/redeliver", nil), 202)
	if r["count"] != float64(1) || r["event_id"] != evID {
		t.Fatalf("redeliver: %v", r)
	}
	eventually(t, "the second redelivery", func() bool { return len(rc.requests()) == failedAttempts+2 })
	again := verify(t, secret, rc.requests())
	if again[len(again)-1]["id"] != evID {
		t.Errorf("redelivered %v", again[len(again)-1])
	}
	// An event this endpoint does not subscribe to has nowhere to go.
	other := h.ok(h.fwd("GET", "/events?type=v2.payment.captured", nil), 200)["data"].([]any)[0].(map[string]any)["id"].(string)
	if r := h.ok(h.fwd("POST", "/events/"+other+"/redeliver", nil), 202); r["count"] != float64(0) {
		t.Errorf("redeliver of an unsubscribed event: %v", r)
	}
}

// allowPrivateTargets sets server.Config.WebhooksAllowPrivate when the
// server has that setting (looked up by name, so that this file compiles
// before server.go wires webhooks).
func allowPrivateTargets(c *server.Config) {
	if f := reflect.ValueOf(c).Elem().FieldByName("WebhooksAllowPrivate"); f.IsValid() && f.Kind() == reflect.Bool {
		f.SetBool(true)
	}
}

// TestWebhooks_ServerEndToEnd runs the whole path through the real server
// (server.New, as tender serve does): an endpoint created over HTTP, an
// intent paid, and a signed v2.payment_intent.captured received and
// verified with the standard-webhooks library. It skips itself until
// server.go wires Handler.Notify, Handler.Webhooks and
// Config.WebhooksAllowPrivate.
func TestWebhooks_ServerEndToEnd(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "SQLite"
		if pg {
			name = "Postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := testserver.Start(t, testserver.Options{Postgres: pg, Config: allowPrivateTargets})
			rc := newReceiver(t)
			r := s.Forward(t, "POST", "/webhook_endpoints", map[string]any{"url": rc.URL, "events": []string{"v2.payment_intent.captured"}})
			switch {
			case r.Status == http.StatusNotImplemented:
				t.Skip("server.go does not wire forward.Handler.Notify yet")
			case r.Status == http.StatusBadRequest && strings.Contains(string(r.Body), `"url"`):
				t.Skip("server.Config has no WebhooksAllowPrivate yet: a loopback receiver is refused")
			}
			ep := want(t, r, http.StatusCreated)
			secret := ep["secret"].(string)

			pmID := newMethod(t, s, "4242424242424242")
			pi := newIntent(t, s, map[string]any{"amount": 4200})
			want(t, s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/payments", map[string]any{"payment_method_id": pmID}), http.StatusCreated)

			eventually(t, "the signed delivery", func() bool { return len(rc.requests()) >= 1 })
			got := verify(t, secret, rc.requests())
			data := got[0]["data"].(map[string]any)
			if got[0]["type"] != "v2.payment_intent.captured" || data["id"] != pi["id"] || data["amount_captured"] != float64(4200) {
				t.Errorf("delivered: %v", got[0])
			}
			eventually(t, "the delivery logged as succeeded", func() bool {
				ds := want(t, s.Forward(t, "GET", "/webhook_endpoints/"+ep["id"].(string)+"/deliveries", nil), 200)["data"].([]any)
				return len(ds) == 1 && ds[0].(map[string]any)["status"] == "succeeded"
			})
			one := want(t, s.Forward(t, "GET", "/events/"+got[0]["id"].(string), nil), 200)
			if ds := one["deliveries"].([]any); len(ds) != 1 || ds[0].(map[string]any)["status"] != "succeeded" {
				t.Errorf("event deliveries: %v", ds)
			}
			r2 := want(t, s.Forward(t, "POST", "/events/"+got[0]["id"].(string)+"/redeliver", nil), http.StatusAccepted)
			if r2["count"] != float64(1) {
				t.Errorf("redeliver: %v", r2)
			}
			eventually(t, "the redelivery", func() bool { return len(rc.requests()) >= 2 })
			verify(t, secret, rc.requests())
		})
	}
}
