package highlevel

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/store/sqlite"
)

// authFixture is a real HighLevel handler over a SQLite file, serving one
// extra route (GET /payments/orders/probe) that answers the location it
// was called for, so the shared checks can be tested before and apart
// from every endpoint group.
type authFixture struct {
	url     string
	boot    *account.Bootstrap
	other   *account.Bootstrap // a second organization
	sibling string             // a second account of boot's organization
	acc     *account.Service
}

func newAuthFixture(t *testing.T, limit *RateLimit) *authFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &authFixture{acc: account.New(st)}
	if f.boot, err = f.acc.CreateOrganization(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if f.other, err = f.acc.CreateOrganization(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	sib, _, err := f.acc.CreateAccount(ctx, f.boot.OrganizationID, "sibling")
	if err != nil {
		t.Fatal(err)
	}
	f.sibling = sib.ID
	h := &Handler{Accounts: f.acc, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if limit != nil {
		h.Limiter = NewLimiter(*limit)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	h.route(mux, "GET /payments/orders/probe", "payments/orders.readonly", func(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
		loc, err := h.LocateQuery(r, sc, false, true)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, map[string]string{"location": loc.AccountID})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (f *authFixture) get(t *testing.T, path string, headers map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: body is not a JSON object: %s", path, b)
	}
	return reply{resp.StatusCode, resp.Header, m}
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Version": "2021-07-28"}
}

func TestAuthentication(t *testing.T) {
	f := newAuthFixture(t, nil)
	loc := f.boot.HighLevel.LocationID
	probe := "/payments/orders/probe?altId=" + loc
	good := bearer(f.boot.HighLevel.Token)

	r := f.get(t, probe, good)
	if r.status != 200 || r.body["location"] != loc {
		t.Fatalf("good token: %d %v", r.status, r.body)
	}
	for _, v := range Versions {
		if r := f.get(t, probe, map[string]string{"Authorization": good["Authorization"], "Version": v}); r.status != 200 {
			t.Errorf("Version %s: %d %v", v, r.status, r.body)
		}
	}

	cases := []struct {
		name    string
		path    string
		headers map[string]string
		status  int
		message string
	}{
		{"no version", probe, map[string]string{"Authorization": good["Authorization"]}, 400, "Version header was not found"},
		{"unknown version", probe, map[string]string{"Authorization": good["Authorization"], "Version": "2020-01-01"}, 400, "Version header is invalid"},
		{"no token", probe, map[string]string{"Version": "2021-07-28"}, 401, "Invalid token: access token is invalid"},
		{"not bearer", probe, map[string]string{"Authorization": "Basic abc", "Version": "2021-07-28"}, 401, "Invalid token"},
		{"unknown token", probe, bearer("hl_loc_" + strings.Repeat("x", 40)), 401, "Invalid token"},
		{"forward key", probe, bearer(f.boot.Forward.Test.PrivateKey), 401, "Invalid token"},
		{"foreign location", "/payments/orders/probe?altId=" + f.other.AccountID, good, 403, "does not have access to this location"},
		{"sibling location with a location token", "/payments/orders/probe?altId=" + f.sibling, good, 403, "does not have access"},
		{"unknown location", "/payments/orders/probe?altId=acct_nope", good, 403, "does not have access"},
		{"no altId", "/payments/orders/probe", good, 422, "altId should not be empty"},
		{"bad altType", probe + "&altType=company", good, 422, "altType must be one of the following values: location"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.get(t, c.path, c.headers)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %v", r.status, c.status, r.body)
			}
			if got, _ := r.body["statusCode"].(float64); int(got) != c.status {
				t.Errorf("statusCode %v, want %d", r.body["statusCode"], c.status)
			}
			msg, _ := json.Marshal(r.body["message"])
			if !strings.Contains(string(msg), c.message) {
				t.Errorf("message %s does not say %q", msg, c.message)
			}
			if c.status == 422 {
				if _, ok := r.body["message"].([]any); !ok {
					t.Errorf("a 422's message must be an array: %v", r.body["message"])
				}
			}
		})
	}
}

func TestScopes(t *testing.T) {
	f := newAuthFixture(t, nil)
	ctx := context.Background()
	loc := f.boot.HighLevel.LocationID
	probe := "/payments/orders/probe?altId=" + loc

	narrow, err := f.acc.CreateHighLevelToken(ctx, loc, false, []string{"payments/coupons.readonly"})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.get(t, probe, bearer(narrow)); r.status != 401 || r.body["message"] != "The token is not authorized for this scope." {
		t.Fatalf("token without the scope: %d %v", r.status, r.body)
	}
	orders, err := f.acc.CreateHighLevelToken(ctx, loc, false, []string{"payments/orders.readonly"})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.get(t, probe, bearer(orders)); r.status != 200 {
		t.Fatalf("token with the scope: %d %v", r.status, r.body)
	}

	// A company token acts for every location of its company, none other.
	company, err := f.acc.CreateHighLevelToken(ctx, loc, true, []string{"payments/orders.readonly"})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.get(t, "/payments/orders/probe?altId="+f.sibling, bearer(company)); r.status != 200 || r.body["location"] != f.sibling {
		t.Fatalf("company token for a sibling location: %d %v", r.status, r.body)
	}
	if r := f.get(t, "/payments/orders/probe?locationId="+f.sibling, bearer(company)); r.status != 200 || r.body["location"] != f.sibling {
		t.Fatalf("company token with locationId: %d %v", r.status, r.body)
	}
	if r := f.get(t, "/payments/orders/probe?altId="+f.other.AccountID, bearer(company)); r.status != 403 {
		t.Fatalf("company token for another company's location: %d %v", r.status, r.body)
	}

	if _, err := f.acc.CreateHighLevelToken(ctx, loc, false, []string{"payments/everything"}); tender.ErrorCode(err) != tender.EINVALID {
		t.Fatalf("unknown scope: %v", err)
	}
	if _, err := f.acc.CreateHighLevelToken(ctx, "acct_nope", false, []string{"products.readonly"}); tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	f := newAuthFixture(t, &RateLimit{Burst: 3, Interval: time.Hour, Daily: 5})
	probe := "/payments/orders/probe?altId=" + f.boot.HighLevel.LocationID
	h := bearer(f.boot.HighLevel.Token)
	for i := 0; i < 3; i++ {
		r := f.get(t, probe, h)
		if r.status != 200 {
			t.Fatalf("request %d: %d %v", i, r.status, r.body)
		}
		want := map[string]string{"X-RateLimit-Max": "3", "X-RateLimit-Remaining": string(rune('2' - i)),
			"X-RateLimit-Limit-Daily": "5", "X-RateLimit-Daily-Remaining": string(rune('4' - i)), "X-RateLimit-Interval-Milliseconds": "3600000"}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, v)
			}
		}
		if r.header.Get("X-RateLimit-Daily-Reset") == "" {
			t.Errorf("request %d: no X-RateLimit-Daily-Reset", i)
		}
	}
	r := f.get(t, probe, h)
	if r.status != 429 || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("fourth request: %d %v %v", r.status, r.header, r.body)
	}
	// Another token of the same location has its own budget.
	other, err := f.acc.CreateHighLevelToken(context.Background(), f.boot.HighLevel.LocationID, false, []string{"payments/orders.readonly"})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.get(t, probe, bearer(other)); r.status != 200 {
		t.Fatalf("another token: %d %v", r.status, r.body)
	}
}

func TestLimiterDailyAndWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 23, 59, 50, 0, time.UTC)
	l := NewLimiter(RateLimit{Burst: 2, Interval: 10 * time.Second, Daily: 3})
	l.now = func() time.Time { return now }
	h := http.Header{}
	step := func(want bool) {
		t.Helper()
		if err := l.Allow("k", h); (err == nil) != want {
			t.Fatalf("at %s: allowed=%v, want %v (%v)", now, err == nil, want, err)
		}
	}
	step(true)
	step(true)
	step(false) // burst spent
	now = now.Add(10 * time.Second)
	step(true) // new window, third of the day... which is a new day (00:00:00)
	step(true)
	step(false)
	now = now.Add(11 * time.Second)
	step(true) // 3 of 3 for the new day
	now = now.Add(11 * time.Second)
	step(false) // the day's budget is spent
	if h.Get("X-RateLimit-Daily-Remaining") != "0" {
		t.Fatalf("daily remaining %q", h.Get("X-RateLimit-Daily-Remaining"))
	}
}

func TestMajor(t *testing.T) {
	for _, c := range []struct {
		amount int64
		cur    tender.Currency
		want   string
	}{{15010, "USD", "150.1"}, {15000, "USD", "150"}, {1, "USD", "0.01"}, {-250, "USD", "-2.5"}, {500, "JPY", "500"}, {1234, "BHD", "1.234"}} {
		if got := Major(c.amount, c.cur); string(got) != c.want {
			t.Errorf("Major(%d %s) = %s, want %s", c.amount, c.cur, got, c.want)
		}
		back, err := ParseMajor("amount", Major(c.amount, c.cur), c.cur)
		if err != nil || back != c.amount {
			t.Errorf("ParseMajor(Major(%d)) = %d, %v", c.amount, back, err)
		}
	}
	if _, err := ParseMajor("amount", "1.234", "USD"); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("three decimals of USD: %v", err)
	}
}
