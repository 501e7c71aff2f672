package highlevel_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"

	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"github.com/getkin/kin-openapi/openapi3"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/api/highlevel"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/server"
)

// parsePEM loads a served public key with the standard library alone.
func parsePEM(t *testing.T, b []byte) crypto.PublicKey {
	t.Helper()
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("not one PUBLIC KEY PEM block: %q", b)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestWebhookKeys(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "t.db")
	cfg := func(c *server.Config) { c.DB = db }
	s := testserver.Start(t, testserver.Options{Config: cfg})
	fetch := func(s *testserver.Server, name string) []byte {
		r := s.Do(t, "GET", "/.well-known/tender/"+name, nil, nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/x-pem-file" {
			t.Fatalf("GET %s: %d %s", name, r.Status, r.Body)
		}
		return r.Body
	}
	rsaPEM := fetch(s, "highlevel-webhook-public-key.pem")
	edPEM := fetch(s, "highlevel-webhook-ed25519-public-key.pem")
	rsaPub, ok := parsePEM(t, rsaPEM).(*rsa.PublicKey)
	if !ok || rsaPub.N.BitLen() < 2048 {
		t.Fatalf("RSA key: %T", parsePEM(t, rsaPEM))
	}
	edPub, ok := parsePEM(t, edPEM).(ed25519.PublicKey)
	if !ok {
		t.Fatalf("Ed25519 key: %T", parsePEM(t, edPEM))
	}
	if r := s.Do(t, "GET", "/.well-known/tender/highlevel-other.pem", nil, nil); r.Status != 404 {
		t.Fatalf("unknown key file: %d", r.Status)
	}

	// The dialect signs with exactly the served keys, in both headers.
	body := []byte(`{"type":"OrderCreate","amount":150.1}`)
	h, err := s.Server.HighLevel.Webhook.Sign("", "evt_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(h.Get("x-wh-signature"))
	digest := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(rsaPub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("x-wh-signature does not verify with the served key: %v", err)
	}
	esig, _ := base64.StdEncoding.DecodeString(h.Get("x-ghl-signature"))
	if !ed25519.Verify(edPub, body, esig) {
		t.Fatal("x-ghl-signature does not verify with the served key")
	}

	// Another process of the installation (here: a restart on the same
	// database and secret) serves and signs with the same keys.
	s.Close()
	s2 := testserver.Start(t, testserver.Options{Config: cfg})
	if got := fetch(s2, "highlevel-webhook-public-key.pem"); string(got) != string(rsaPEM) {
		t.Fatal("the RSA key changed across a restart")
	}
	if got := fetch(s2, "highlevel-webhook-ed25519-public-key.pem"); string(got) != string(edPEM) {
		t.Fatal("the Ed25519 key changed across a restart")
	}
}

func TestWebhookEndpoints(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	loc := s.Boot.HighLevel.LocationID
	create := map[string]any{"altId": loc, "altType": "location", "url": "https://hooks.example.com/tender",
		"events": []string{"*"}, "liveMode": true, "description": "app"}
	r := s.HighLevel(t, "POST", "/payments/webhook-endpoints", create)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	ep := r.JSON(t)
	id, _ := ep["_id"].(string)
	if id == "" || ep["liveMode"] != true || ep["enabled"] != true || ep["url"] != create["url"] {
		t.Fatalf("create: %s", r.Body)
	}
	if strings.Contains(string(r.Body), "secret") {
		t.Fatalf("an endpoint shows a secret: %s", r.Body)
	}

	list := func(live string) []any {
		r := s.HighLevel(t, "GET", "/payments/webhook-endpoints?altType=location&altId="+loc+"&liveMode="+live, nil)
		if r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		data, _ := m["data"].([]any)
		if int(m["totalCount"].(float64)) != len(data) {
			t.Fatalf("totalCount: %s", r.Body)
		}
		return data
	}
	if got := list("true"); len(got) != 1 {
		t.Fatalf("live endpoints: %v", got)
	}
	if got := list("false"); len(got) != 0 {
		t.Fatalf("test endpoints: %v", got)
	}

	upd := map[string]any{"altId": loc, "altType": "location", "liveMode": true, "enabled": false, "events": []string{"*"}}
	if r := s.HighLevel(t, "PUT", "/payments/webhook-endpoints/"+id, upd); r.Status != 200 || r.JSON(t)["enabled"] != false {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	// The endpoint is of live mode: the test-mode view does not find it.
	upd["liveMode"] = false
	if r := s.HighLevel(t, "PUT", "/payments/webhook-endpoints/"+id, upd); r.Status != 400 {
		t.Fatalf("update in the other mode: %d %s", r.Status, r.Body)
	}

	// Bad input names the field.
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"altId": loc, "altType": "location"}, "url"},
		{map[string]any{"altId": loc, "altType": "location", "url": "ftp://x"}, "url"},
		{map[string]any{"altId": loc, "altType": "location", "url": "https://hooks.example.com", "events": []string{"Nope"}}, "events"},
		{map[string]any{"altId": loc, "url": "https://hooks.example.com"}, "altType"},
		{map[string]any{"altType": "location", "url": "https://hooks.example.com"}, "altId"},
		{map[string]any{"altId": 5}, "altId"},
	} {
		r := s.HighLevel(t, "POST", "/payments/webhook-endpoints", c.body)
		if r.Status != 422 || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%v: %d %s", c.body, r.Status, r.Body)
		}
	}

	// Scope and tenancy.
	ro, err := s.Accounts.CreateHighLevelToken(context.Background(), loc, false, []string{highlevel.ScopeWebhooksReadonly})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.HighLevelAs(t, ro, "POST", "/payments/webhook-endpoints", create); r.Status != 401 {
		t.Fatalf("read-only token creates: %d %s", r.Status, r.Body)
	}
	if r := s.HighLevelAs(t, ro, "GET", "/payments/webhook-endpoints?altType=location&altId="+loc+"&liveMode=true", nil); r.Status != 200 {
		t.Fatalf("read-only token lists: %d %s", r.Status, r.Body)
	}
	other, err := s.Accounts.CreateOrganization(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	foreign := map[string]any{"altId": other.AccountID, "altType": "location", "url": "https://hooks.example.com"}
	if r := s.HighLevel(t, "POST", "/payments/webhook-endpoints", foreign); r.Status != 403 {
		t.Fatalf("foreign location: %d %s", r.Status, r.Body)
	}
	if r := s.HighLevelAs(t, other.HighLevel.Token, "DELETE", "/payments/webhook-endpoints/"+id+"?altType=location&liveMode=true&altId="+other.AccountID, nil); r.Status != 400 {
		t.Fatalf("another location deletes the endpoint: %d %s", r.Status, r.Body)
	}

	if r := s.HighLevel(t, "DELETE", "/payments/webhook-endpoints/"+id+"?altType=location&liveMode=true&altId="+loc, nil); r.Status != 200 || r.JSON(t)["success"] != true {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if got := list("true"); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}
}

// receiver is a webhook receiver on 127.0.0.1 that keeps every request.
type receiver struct {
	mu   sync.Mutex
	got  []received
	srv  *httptest.Server
	seen chan struct{}
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{seen: make(chan struct{}, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Clone(), b})
		rc.mu.Unlock()
		rc.seen <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// waitFor waits until the receiver holds n requests.
func (rc *receiver) waitFor(t *testing.T, n int) []received {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.got) >= n {
			out := append([]received(nil), rc.got...)
			rc.mu.Unlock()
			return out
		}
		rc.mu.Unlock()
		select {
		case <-rc.seen:
		case <-deadline:
			t.Fatalf("the receiver got %d requests, want %d", len(rc.got), n)
		}
	}
}

// webhookSchema returns the JSON schema HighLevel documents for an event
// (refs/highlevel/docs/webhook-events/NAME.md), or nil when the documents
// are not on this machine.
func webhookSchema(t *testing.T, name string) *openapi3.Schema {
	t.Helper()
	dir := os.Getenv(testserver.HighLevelSpecDirEnv)
	if dir == "" {
		dir = "/work/shared/refs/highlevel"
	}
	md, err := os.ReadFile(filepath.Join(dir, "docs", "webhook-events", name+".md"))
	if err != nil {
		t.Logf("HighLevel's webhook documents are not at %s: payloads are not checked against their schema", dir)
		return nil
	}
	_, rest, ok := strings.Cut(string(md), "```json json_schema")
	raw, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("%s.md holds no json_schema block", name)
	}
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("%s.md schema: %v", name, err)
	}
	return &s
}

func TestOrderWebhooks(t *testing.T) {
	f := newOrderFixture(t, testserver.Options{})
	s := f.s
	rc := newReceiver(t)
	for _, live := range []bool{true, false} {
		r := s.HighLevel(t, "POST", "/payments/webhook-endpoints", map[string]any{"altId": f.loc, "altType": "location",
			"url": rc.srv.URL + "/hl", "events": []string{"OrderCreate", "OrderStatusUpdate"}, "liveMode": live})
		if r.Status != 201 {
			t.Fatalf("create endpoint: %d %s", r.Status, r.Body)
		}
	}
	o := f.createOrder(t, nil)
	id := o["_id"].(string)
	f.hl(t, "POST", "/payments/orders/"+id+"/record-payment", map[string]any{"altId": f.loc, "altType": "location", "mode": "cash"}, 200)

	got := rc.waitFor(t, 2)
	keys := map[string][]byte{}
	for _, name := range []string{"highlevel-webhook-public-key.pem", "highlevel-webhook-ed25519-public-key.pem"} {
		keys[name] = s.Do(t, "GET", "/.well-known/tender/"+name, nil, nil).Body
	}
	rsaPub := parsePEM(t, keys["highlevel-webhook-public-key.pem"]).(*rsa.PublicKey)
	edPub := parsePEM(t, keys["highlevel-webhook-ed25519-public-key.pem"]).(ed25519.PublicKey)
	types := map[string]map[string]any{}
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
		types[typ] = m
		if schema := webhookSchema(t, typ); schema != nil {
			var v any
			_ = json.Unmarshal(g.body, &v)
			if err := schema.VisitJSON(v); err != nil {
				t.Errorf("%s payload does not match HighLevel's schema: %v\n%s", typ, err, g.body)
			}
		}
	}
	create, update := types["OrderCreate"], types["OrderStatusUpdate"]
	if create == nil || update == nil {
		t.Fatalf("deliveries: %v", types)
	}
	if create["_id"] != id || create["locationId"] != f.loc || create["altId"] != f.loc || create["status"] != "pending" || create["amount"] != 25.0 {
		t.Errorf("OrderCreate: %v", create)
	}
	if update["_id"] != id || update["status"] != "completed" || update["paymentStatus"] != "paid" {
		t.Errorf("OrderStatusUpdate: %v", update)
	}
	if create["webhookId"] == update["webhookId"] || create["webhookId"] == "" {
		t.Errorf("webhook ids: %v %v", create["webhookId"], update["webhookId"])
	}
	// The order is of one mode: the other mode's endpoint got nothing.
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.waitFor(t, 2)); n != 2 {
		t.Errorf("the receiver got %d requests, want 2 (one mode's endpoint only)", n)
	}
}
