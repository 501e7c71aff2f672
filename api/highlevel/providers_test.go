package highlevel_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/server"
)

// engines runs fn on SQLite and, when TENDER_TEST_POSTGRES_URL is set, on
// PostgreSQL.
func providerEngines(t *testing.T, fn func(t *testing.T, s *testserver.Server)) {
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		fn(t, testserver.Start(t, testserver.Options{}))
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, testserver.Start(t, testserver.Options{Postgres: true}))
	})
}

// hlWant fails unless r has status code and returns its JSON object.
func hlWant(t *testing.T, r *testserver.Response, code int) map[string]any {
	t.Helper()
	if r.Status != code {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL, r.Status, code, r.Body)
	}
	return r.JSON(t)
}

// hlWantError checks HighLevel's error envelope: status, statusCode, and a
// message (a string, or for 422 an array) holding each of parts.
func hlWantError(t *testing.T, r *testserver.Response, code int, parts ...string) {
	t.Helper()
	m := hlWant(t, r, code)
	if sc, _ := m["statusCode"].(float64); int(sc) != code {
		t.Errorf("%s %s: statusCode %v, want %d", r.Request.Method, r.Request.URL, m["statusCode"], code)
	}
	var msg string
	switch v := m["message"].(type) {
	case string:
		if code == http.StatusUnprocessableEntity {
			t.Errorf("422 message is a string, want an array: %s", r.Body)
		}
		msg = v
	case []any:
		for _, x := range v {
			msg += fmt.Sprint(x) + "\n"
		}
	default:
		t.Errorf("%s %s: no message: %s", r.Request.Method, r.Request.URL, r.Body)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("%s %s: message %q lacks %q", r.Request.Method, r.Request.URL, msg, p)
		}
	}
}

// token mints a HighLevel token of the first location.
func token(t *testing.T, s *testserver.Server, company bool, app string, scopes ...string) string {
	t.Helper()
	tok, err := s.Accounts.CreateHighLevelAppToken(context.Background(), s.AccountID, company, app, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// foreignLocation makes a second organization and returns its location.
func foreignLocation(t *testing.T, s *testserver.Server) string {
	t.Helper()
	b, err := s.Accounts.CreateOrganization(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	return b.AccountID
}

func whiteLabel(loc, name string) map[string]any {
	return map[string]any{"altId": loc, "altType": "location", "uniqueName": name, "title": "Easy Direct",
		"provider": "nmi", "description": "Cards through NMI", "imageUrl": "https://example.com/logo.png"}
}

func edit(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestHighLevel_WhiteLabelProviders(t *testing.T) {
	providerEngines(t, func(t *testing.T, s *testserver.Server) {
		loc := s.Boot.HighLevel.LocationID
		const path = "/payments/integrations/provider/whitelabel"
		list := path + "?altType=location&altId=" + loc

		empty := hlWant(t, s.HighLevel(t, "GET", list, nil), http.StatusOK)
		if p, ok := empty["providers"].([]any); !ok || len(p) != 0 {
			t.Fatalf("empty list: %v", empty)
		}
		a := hlWant(t, s.HighLevel(t, "POST", path, whiteLabel(loc, "easy-direct")), http.StatusOK)
		for k, want := range map[string]any{"altId": loc, "altType": "location", "title": "Easy Direct", "route": "easy-direct",
			"provider": "nmi", "description": "Cards through NMI", "imageUrl": "https://example.com/logo.png"} {
			if a[k] != want {
				t.Errorf("created %s = %v, want %v", k, a[k], want)
			}
		}
		if id, _ := a["_id"].(string); !strings.HasPrefix(id, "wlp_") || a["createdAt"] == nil {
			t.Errorf("created: %v", a)
		}
		b := hlWant(t, s.HighLevel(t, "POST", path, edit(whiteLabel(loc, "a"), "provider", "authorize-net")), http.StatusOK)

		got := hlWant(t, s.HighLevel(t, "GET", list, nil), http.StatusOK)["providers"].([]any)
		if len(got) != 2 || got[0].(map[string]any)["_id"] != b["_id"] || got[1].(map[string]any)["_id"] != a["_id"] {
			t.Fatalf("list, newest first: %v", got)
		}
		page := hlWant(t, s.HighLevel(t, "GET", list+"&limit=1&offset=1", nil), http.StatusOK)["providers"].([]any)
		if len(page) != 1 || page[0].(map[string]any)["_id"] != a["_id"] {
			t.Fatalf("page 2 of 1: %v", page)
		}

		// The unique name is unique per location; another location may reuse it.
		hlWantError(t, s.HighLevel(t, "POST", path, whiteLabel(loc, "easy-direct")), http.StatusUnprocessableEntity, "uniqueName is already taken")
		sib, _, err := s.Accounts.CreateAccount(context.Background(), s.Boot.OrganizationID, "sibling")
		if err != nil {
			t.Fatal(err)
		}
		co := token(t, s, true, "", "payments/integration.write", "payments/integration.readonly")
		hlWant(t, s.HighLevelAs(t, co, "POST", path, whiteLabel(sib.ID, "easy-direct")), http.StatusOK)
		if n := len(hlWant(t, s.HighLevelAs(t, co, "GET", path+"?altType=location&altId="+sib.ID, nil), http.StatusOK)["providers"].([]any)); n != 1 {
			t.Errorf("sibling's list holds %d providers, want 1", n)
		}

		// Bad input names the field.
		for _, c := range []struct {
			body map[string]any
			msg  string
		}{
			{edit(whiteLabel(loc, "Easy_Direct")), "uniqueName must hold only lowercase letters and hyphens"},
			{edit(whiteLabel(loc, "-easy")), "uniqueName must hold only lowercase"},
			{edit(whiteLabel(loc, "easy-")), "uniqueName must hold only lowercase"},
			{edit(whiteLabel(loc, ""), "uniqueName", nil), "uniqueName should not be empty"},
			{edit(whiteLabel(loc, "x"), "provider", "stripe"), "provider must be one of the following values: authorize-net, nmi"},
			{edit(whiteLabel(loc, "x"), "imageUrl", "http://example.com/logo.png"), "imageUrl must be a URL starting with https://"},
			{edit(whiteLabel(loc, "x"), "title", nil), "title should not be empty"},
			{edit(whiteLabel(loc, "x"), "description", ""), "description should not be empty"},
			{edit(whiteLabel(loc, "x"), "title", 5), "title must be a string"},
			{edit(whiteLabel(loc, "x"), "altType", "company"), "altType must be one of the following values: location"},
			{edit(whiteLabel(loc, "x"), "altId", nil), "altId should not be empty"},
		} {
			hlWantError(t, s.HighLevel(t, "POST", path, c.body), http.StatusUnprocessableEntity, c.msg)
		}
		hlWantError(t, s.HighLevel(t, "POST", path, "not json"), http.StatusUnprocessableEntity)
		hlWantError(t, s.HighLevel(t, "GET", path+"?altId="+loc, nil), http.StatusUnprocessableEntity, "altType must be one of the following values: location")
		hlWantError(t, s.HighLevel(t, "GET", list+"&limit=-1", nil), http.StatusUnprocessableEntity, "limit must be a number")

		// Scopes and tenancy.
		ro := token(t, s, false, "", "payments/integration.readonly")
		wo := token(t, s, false, "", "payments/integration.write")
		hlWantError(t, s.HighLevelAs(t, ro, "POST", path, whiteLabel(loc, "other")), http.StatusUnauthorized)
		hlWantError(t, s.HighLevelAs(t, wo, "GET", list, nil), http.StatusUnauthorized)
		hlWant(t, s.HighLevelAs(t, ro, "GET", list, nil), http.StatusOK)
		foreign := foreignLocation(t, s)
		hlWantError(t, s.HighLevel(t, "POST", path, whiteLabel(foreign, "mine")), http.StatusForbidden)
		hlWantError(t, s.HighLevel(t, "GET", path+"?altType=location&altId="+foreign, nil), http.StatusForbidden)
		hlWantError(t, s.HighLevelAs(t, co, "GET", path+"?altType=location&altId="+foreign, nil), http.StatusForbidden)
	})
}

const (
	testAPIKey = "sk_test_0123456789abcdef"
	liveAPIKey = "sk_live_fedcba9876543210"
)

func customProvider(queryURL string) map[string]any {
	return map[string]any{"name": "Company Pay", "description": "Cards and wallets", "paymentsUrl": "https://pay.example.com/checkout",
		"queryUrl": queryURL, "imageUrl": "https://pay.example.com/logo.png", "supportsSubscriptionSchedule": true}
}

func keys(live, test string) map[string]any {
	return map[string]any{"live": map[string]any{"apiKey": live, "publishableKey": "pk_live_1"},
		"test": map[string]any{"apiKey": test, "publishableKey": "pk_test_1"}}
}

// modeKeys returns paymentProvider[mode] of a config.
func modeKeys(t *testing.T, cfg map[string]any, mode string) map[string]any {
	t.Helper()
	pp, _ := cfg["paymentProvider"].(map[string]any)
	m, _ := pp[mode].(map[string]any)
	if m == nil {
		t.Fatalf("config without paymentProvider.%s: %v", mode, cfg)
	}
	return m
}

func TestHighLevel_CustomProviderConfig(t *testing.T) {
	providerEngines(t, func(t *testing.T, s *testserver.Server) {
		loc := s.Boot.HighLevel.LocationID
		q := "?locationId=" + loc
		const base = "/payments/custom-provider"

		hlWantError(t, s.HighLevel(t, "GET", base+"/connect"+q, nil), http.StatusBadRequest,
			"No such config exists for given locationId and marketplaceAppId")
		hlWantError(t, s.HighLevel(t, "POST", base+"/connect"+q, keys(liveAPIKey, testAPIKey)), http.StatusBadRequest,
			"No such config exists")
		hlWantError(t, s.HighLevel(t, "POST", base+"/disconnect"+q, map[string]any{"liveMode": true}), http.StatusBadRequest, "No such config exists")
		hlWantError(t, s.HighLevel(t, "DELETE", base+"/provider"+q, nil), http.StatusBadRequest, "No such config exists")
		hlWantError(t, s.HighLevel(t, "PUT", base+"/capabilities", map[string]any{"supportsSubscriptionSchedules": true, "locationId": loc}),
			http.StatusBadRequest, "No such config exists")

		cfg := hlWant(t, s.HighLevel(t, "POST", base+"/provider"+q, customProvider("https://pay.example.com/query")), http.StatusOK)
		for k, want := range map[string]any{"name": "Company Pay", "description": "Cards and wallets", "paymentsUrl": "https://pay.example.com/checkout",
			"queryUrl": "https://pay.example.com/query", "imageUrl": "https://pay.example.com/logo.png", "locationId": loc,
			"marketplaceAppId": account.DefaultHighLevelAppID, "deleted": false} {
			if cfg[k] != want {
				t.Errorf("created %s = %v, want %v", k, cfg[k], want)
			}
		}
		id, _ := cfg["_id"].(string)
		if !strings.HasPrefix(id, "cprov_") {
			t.Errorf("_id %q", id)
		}
		if m := modeKeys(t, cfg, "live"); m["liveMode"] != true || m["apiKey"] != nil {
			t.Errorf("live before connect: %v", m)
		}
		if m := modeKeys(t, cfg, "test"); m["liveMode"] != false || m["apiKey"] != nil {
			t.Errorf("test before connect: %v", m)
		}

		// Creating again for the same location and app replaces the fields.
		again := hlWant(t, s.HighLevel(t, "POST", base+"/provider"+q, edit(customProvider("https://pay.example.com/query2"), "name", "Renamed")), http.StatusOK)
		if again["_id"] != id || again["name"] != "Renamed" || again["queryUrl"] != "https://pay.example.com/query2" {
			t.Errorf("create again: %v", again)
		}

		conn := hlWant(t, s.HighLevel(t, "POST", base+"/connect"+q, keys(liveAPIKey, testAPIKey)), http.StatusOK)
		got := hlWant(t, s.HighLevel(t, "GET", base+"/connect"+q, nil), http.StatusOK)
		for _, c := range []map[string]any{conn, got} {
			live, test := modeKeys(t, c, "live"), modeKeys(t, c, "test")
			if live["liveMode"] != true || live["apiKey"] != "****"+liveAPIKey[len(liveAPIKey)-4:] || live["publishableKey"] != "pk_live_1" {
				t.Errorf("live keys shown: %v", live)
			}
			if test["liveMode"] != false || test["apiKey"] != testAPIKey || test["publishableKey"] != "pk_test_1" {
				t.Errorf("test keys shown: %v", test)
			}
			if c["_id"] != id || c["name"] != "Renamed" {
				t.Errorf("config: %v", c)
			}
		}

		// Another marketplace app has its own configuration at the location.
		other := token(t, s, false, "app-two", "payments/custom-provider.readonly", "payments/custom-provider.write")
		hlWantError(t, s.HighLevelAs(t, other, "GET", base+"/connect"+q, nil), http.StatusBadRequest, "No such config exists")
		two := hlWant(t, s.HighLevelAs(t, other, "POST", base+"/provider"+q, customProvider("https://two.example.com/q")), http.StatusOK)
		if two["_id"] == id || two["marketplaceAppId"] != "app-two" {
			t.Errorf("second app's config: %v", two)
		}

		// Disconnect one mode.
		hlWant(t, s.HighLevel(t, "POST", base+"/disconnect"+q, map[string]any{"liveMode": true}), http.StatusOK)
		got = hlWant(t, s.HighLevel(t, "GET", base+"/connect"+q, nil), http.StatusOK)
		if live := modeKeys(t, got, "live"); live["apiKey"] != nil || live["publishableKey"] != nil {
			t.Errorf("live after disconnect: %v", live)
		}
		if test := modeKeys(t, got, "test"); test["apiKey"] != testAPIKey {
			t.Errorf("test after disconnecting live: %v", test)
		}
		hlWant(t, s.HighLevel(t, "POST", base+"/disconnect"+q, map[string]any{"liveMode": true}), http.StatusOK) // again: no-op

		// Capabilities.
		if r := hlWant(t, s.HighLevel(t, "PUT", base+"/capabilities", map[string]any{"supportsSubscriptionSchedules": false, "locationId": loc}),
			http.StatusOK); r["success"] != true {
			t.Errorf("capabilities: %v", r)
		}
		hlWantError(t, s.HighLevel(t, "PUT", base+"/capabilities", map[string]any{"supportsSubscriptionSchedules": false,
			"companyId": s.Boot.OrganizationID}), http.StatusForbidden)
		co := token(t, s, true, "", "payments/custom-provider.write")
		hlWant(t, s.HighLevelAs(t, co, "PUT", base+"/capabilities", map[string]any{"supportsSubscriptionSchedules": true,
			"companyId": s.Boot.OrganizationID}), http.StatusOK)
		hlWantError(t, s.HighLevelAs(t, co, "PUT", base+"/capabilities", map[string]any{"supportsSubscriptionSchedules": true,
			"companyId": "org_other"}), http.StatusForbidden)
		hlWantError(t, s.HighLevel(t, "PUT", base+"/capabilities", map[string]any{"supportsSubscriptionSchedules": true,
			"locationId": loc, "companyId": "org_other"}), http.StatusForbidden)
		cp, err := s.Providers.FindCustomProvider(context.Background(), server.ScopeOf(s.Boot.OrganizationID, s.AccountID, tender.ModeLive), account.DefaultHighLevelAppID)
		if err != nil || !cp.SupportsSubscriptionSchedule {
			t.Errorf("capability after the company-wide update: %v %v", cp, err)
		}

		// Bad input names the field.
		for _, c := range []struct {
			method, path string
			body         any
			msg          string
		}{
			{"POST", base + "/provider" + q, edit(customProvider("http://pay.example.com/q")), "queryUrl must be an https URL"},
			{"POST", base + "/provider" + q, edit(customProvider("https://pay.example.com/q"), "paymentsUrl", "ftp://x/y"), "paymentsUrl must use http or https"},
			{"POST", base + "/provider" + q, edit(customProvider("https://pay.example.com/q"), "queryUrl", "not a url"), "queryUrl must be an absolute"},
			{"POST", base + "/provider" + q, edit(customProvider("https://pay.example.com/q"), "imageUrl", nil), "imageUrl should not be empty"},
			{"POST", base + "/provider" + q, edit(customProvider("https://pay.example.com/q"), "name", nil), "name should not be empty"},
			{"POST", base + "/provider" + q, edit(customProvider("https://pay.example.com/q"), "supportsSubscriptionSchedule", nil),
				"supportsSubscriptionSchedule must be a boolean value"},
			{"POST", base + "/provider" + q, edit(customProvider("https://pay.example.com/q"), "supportsSubscriptionSchedule", "yes"),
				"supportsSubscriptionSchedule must be a boolean"},
			{"POST", base + "/connect" + q, map[string]any{"test": map[string]any{"apiKey": "a", "publishableKey": "b"}}, "live should not be empty"},
			{"POST", base + "/connect" + q, map[string]any{"live": map[string]any{"apiKey": 5, "publishableKey": "b"}, "test": map[string]any{}},
				"live.apiKey must be a string"},
			{"POST", base + "/connect" + q, keys(liveAPIKey, ""), "test.apiKey should not be empty"},
			{"POST", base + "/disconnect" + q, map[string]any{}, "liveMode must be a boolean value"},
			{"POST", base + "/disconnect" + q, map[string]any{"liveMode": "true"}, "liveMode must be a boolean"},
			{"PUT", base + "/capabilities", map[string]any{"locationId": loc}, "supportsSubscriptionSchedules must be a boolean value"},
			{"PUT", base + "/capabilities", map[string]any{"supportsSubscriptionSchedules": true}, "locationId should not be empty"},
			{"GET", base + "/connect", nil, "locationId should not be empty"},
		} {
			hlWantError(t, s.HighLevel(t, c.method, c.path, c.body), http.StatusUnprocessableEntity, c.msg)
		}

		// Scopes and tenancy.
		ro := token(t, s, false, "", "payments/custom-provider.readonly")
		none := token(t, s, false, "", "payments/orders.readonly")
		hlWant(t, s.HighLevelAs(t, ro, "GET", base+"/connect"+q, nil), http.StatusOK)
		hlWantError(t, s.HighLevelAs(t, none, "GET", base+"/connect"+q, nil), http.StatusUnauthorized)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", base + "/provider" + q, customProvider("https://pay.example.com/q")},
			{"DELETE", base + "/provider" + q, nil},
			{"POST", base + "/connect" + q, keys(liveAPIKey, testAPIKey)},
			{"POST", base + "/disconnect" + q, map[string]any{"liveMode": false}},
			{"PUT", base + "/capabilities", map[string]any{"supportsSubscriptionSchedules": true, "locationId": loc}},
		} {
			hlWantError(t, s.HighLevelAs(t, ro, c.method, c.path, c.body), http.StatusUnauthorized)
		}
		foreign := foreignLocation(t, s)
		fq := "?locationId=" + foreign
		hlWantError(t, s.HighLevel(t, "GET", base+"/connect"+fq, nil), http.StatusForbidden)
		hlWantError(t, s.HighLevel(t, "POST", base+"/provider"+fq, customProvider("https://pay.example.com/q")), http.StatusForbidden)
		hlWantError(t, s.HighLevel(t, "DELETE", base+"/provider"+fq, nil), http.StatusForbidden)
		hlWantError(t, s.HighLevel(t, "POST", base+"/connect"+fq, keys(liveAPIKey, testAPIKey)), http.StatusForbidden)
		hlWantError(t, s.HighLevel(t, "POST", base+"/disconnect"+fq, map[string]any{"liveMode": false}), http.StatusForbidden)
		hlWantError(t, s.HighLevel(t, "PUT", base+"/capabilities", map[string]any{"supportsSubscriptionSchedules": true, "locationId": foreign}),
			http.StatusForbidden)

		// The API keys are stored sealed: neither is in the database.
		if s.Store.Engine() == "sqlite" {
			checkNoSecretOnDisk(t, s, testAPIKey, liveAPIKey)
		}

		// Delete: gone for this app, the other app's stays.
		if r := hlWant(t, s.HighLevel(t, "DELETE", base+"/provider"+q, nil), http.StatusOK); r["success"] != true {
			t.Errorf("delete: %v", r)
		}
		hlWantError(t, s.HighLevel(t, "GET", base+"/connect"+q, nil), http.StatusBadRequest, "No such config exists")
		hlWantError(t, s.HighLevel(t, "DELETE", base+"/provider"+q, nil), http.StatusBadRequest, "No such config exists")
		hlWant(t, s.HighLevelAs(t, other, "GET", base+"/connect"+q, nil), http.StatusOK)
		// And it can be created afresh.
		fresh := hlWant(t, s.HighLevel(t, "POST", base+"/provider"+q, customProvider("https://pay.example.com/query")), http.StatusOK)
		if fresh["_id"] == id {
			t.Errorf("a new association reuses the deleted one's id")
		}
	})
}

// checkNoSecretOnDisk fails if any of secrets appears in the SQLite
// database files.
func checkNoSecretOnDisk(t *testing.T, s *testserver.Server, secrets ...string) {
	t.Helper()
	path := strings.TrimPrefix(s.Config.DB, "sqlite:")
	files, _ := filepath.Glob(path + "*")
	if len(files) == 0 {
		t.Fatalf("no database files at %s", path)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".secret") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if strings.Contains(string(b), sec) {
				t.Errorf("%s holds an API key in clear", filepath.Base(f))
			}
		}
	}
}
