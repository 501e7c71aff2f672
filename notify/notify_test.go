package notify_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlite"
	"github.com/tenderpay/tender/webhook/signature"
)

// dialect is a test dialect with two event names.
type dialect string

func (d dialect) Name() string               { return string(d) }
func (d dialect) EventNames() []string       { return []string{"thing.created", "thing.deleted"} }
func (d dialect) NewSecret() (string, error) { return signature.NewStandardSecret() }

const (
	alpha = dialect("alpha")
	beta  = dialect("beta")
)

var master = []byte("a master key of at least thirty-two bytes")

func newService(t *testing.T) (*notify.Service, tender.Scope) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := notify.New(st, master)
	if err != nil {
		t.Fatal(err)
	}
	return svc, tender.Scope{OrganizationID: "org_1", AccountID: "acct_1", Mode: tender.ModeTest}
}

func fields(err error) []string {
	var out []string
	for k := range tender.ErrorFields(err) {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestNew_RefusesShortMasterKey(t *testing.T) {
	if _, err := notify.New(nil, []byte("short")); err == nil {
		t.Fatal("notify.New accepted a short master key")
	}
}

func TestCreate(t *testing.T) {
	svc, sc := newService(t)
	ctx := context.Background()
	var hooked any
	hctx := store.WithCommitHook(ctx, func(ctx context.Context, tx store.Tx, result any) error {
		hooked = result
		return nil
	})
	c, err := svc.Create(hctx, sc, alpha, notify.EndpointParams{URL: "https://203.0.113.5/h",
		Events: []string{"thing.created", "thing.created", "thing.deleted"}, Description: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if hooked != c {
		t.Errorf("the commit hook got %v", hooked)
	}
	ep := c.Endpoint
	if !strings.HasPrefix(ep.ID, "we_") || ep.Dialect != "alpha" || !ep.Enabled || ep.AccountID != "acct_1" ||
		ep.Mode != tender.ModeTest || !slices.Equal(ep.Events, []string{"thing.created", "thing.deleted"}) {
		t.Errorf("endpoint %+v", ep)
	}
	if !strings.HasPrefix(c.Secret, "whsec_") || strings.Contains(ep.SecretSealed, c.Secret) {
		t.Errorf("secret %q sealed as %q", c.Secret, ep.SecretSealed)
	}
	if got, err := svc.OpenSecret(ep.SecretSealed); err != nil || got != c.Secret {
		t.Errorf("OpenSecret = %q, %v", got, err)
	}
	// Sealed under this master key only.
	if _, err := signature.Open([]byte("another master key of thirty-two bytes!!"), ep.SecretSealed); err == nil {
		t.Error("the secret opens under another master key")
	}
	if _, err := svc.OpenSecret("v1.garbage"); err == nil {
		t.Error("OpenSecret accepted garbage")
	}

	got, err := svc.Get(ctx, sc, alpha, ep.ID)
	if err != nil || got.SecretSealed != ep.SecretSealed {
		t.Fatalf("Get: %+v %v", got, err)
	}
	// Another dialect, mode or account does not see it.
	if _, err := svc.Get(ctx, sc, beta, ep.ID); tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Errorf("another dialect: %v", err)
	}
	live := sc
	live.Mode = tender.ModeLive
	if _, err := svc.Get(ctx, live, alpha, ep.ID); tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Errorf("another mode: %v", err)
	}

	off := false
	c2, err := svc.Create(ctx, sc, alpha, notify.EndpointParams{URL: "http://203.0.113.5/h", Events: []string{"thing.deleted", "*"}, Enabled: &off})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Endpoint.Enabled || !slices.Equal(c2.Endpoint.Events, []string{"*"}) || c2.Secret == c.Secret {
		t.Errorf("second endpoint %+v", c2.Endpoint)
	}
}

func TestCreate_Validation(t *testing.T) {
	svc, sc := newService(t)
	ctx := context.Background()
	ev := []string{"thing.created"}
	cases := []struct {
		p     notify.EndpointParams
		field string
	}{
		{notify.EndpointParams{Events: ev}, "url"},
		{notify.EndpointParams{URL: "203.0.113.5/h", Events: ev}, "url"},
		{notify.EndpointParams{URL: "mailto:a@b.c", Events: ev}, "url"},
		{notify.EndpointParams{URL: "https://u:p@203.0.113.5/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "https://203.0.113.5/#x", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://127.0.0.1/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://localhost:3000/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://app.localhost/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://172.16.0.1/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://[fe80::1]/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://[fd00::1]/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://100.64.0.1/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://127.1/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "http://[::ffff:10.0.0.1]/", Events: ev}, "url"},
		{notify.EndpointParams{URL: "https://203.0.113.5/", Events: nil}, "events"},
		{notify.EndpointParams{URL: "https://203.0.113.5/", Events: []string{"thing.updated"}}, "events"},
		{notify.EndpointParams{URL: "https://203.0.113.5/", Events: make([]string, 101)}, "events"},
		{notify.EndpointParams{URL: "https://203.0.113.5/", Events: ev, Description: strings.Repeat("x", 501)}, "description"},
	}
	for _, c := range cases {
		_, err := svc.Create(ctx, sc, alpha, c.p)
		if tender.ErrorCode(err) != tender.EINVALID || !slices.Equal(fields(err), []string{c.field}) {
			t.Errorf("Create(%+v): %v, want a %s error", c.p, err, c.field)
		}
	}
	// Every problem at once.
	_, err := svc.Create(ctx, sc, alpha, notify.EndpointParams{URL: "ftp://x", Description: strings.Repeat("x", 501)})
	if got := fields(err); !slices.Equal(got, []string{"description", "events", "url"}) {
		t.Errorf("fields %v", got)
	}
	items, _, err := svc.List(ctx, sc, alpha, tender.Page{Limit: 10})
	if err != nil || len(items) != 0 {
		t.Errorf("failed creates wrote %d endpoints (%v)", len(items), err)
	}

	svc.AllowPrivate = true
	for _, u := range []string{"http://127.0.0.1:8080/", "http://localhost/", "http://10.0.0.1/", "http://[::1]/"} {
		if _, err := svc.Create(ctx, sc, alpha, notify.EndpointParams{URL: u, Events: ev}); err != nil {
			t.Errorf("AllowPrivate: %s: %v", u, err)
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	svc, sc := newService(t)
	ctx := context.Background()
	c, err := svc.Create(ctx, sc, alpha, notify.EndpointParams{URL: "https://203.0.113.5/a", Events: []string{"thing.created"}})
	if err != nil {
		t.Fatal(err)
	}
	id := c.Endpoint.ID
	u, d := "https://203.0.113.5/b", ""
	ep, err := svc.Update(ctx, sc, alpha, id, notify.EndpointUpdate{URL: &u, Events: []string{"*"}, Description: &d})
	if err != nil {
		t.Fatal(err)
	}
	if ep.URL != u || !slices.Equal(ep.Events, []string{"*"}) || !ep.Enabled || ep.SecretSealed != c.Endpoint.SecretSealed {
		t.Errorf("updated %+v", ep)
	}
	bad := "http://10.0.0.1/"
	if _, err := svc.Update(ctx, sc, alpha, id, notify.EndpointUpdate{URL: &bad}); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("private url: %v", err)
	}
	if _, err := svc.Update(ctx, sc, alpha, id, notify.EndpointUpdate{Events: []string{}}); tender.ErrorCode(err) != tender.EINVALID {
		t.Errorf("empty events: %v", err)
	}
	if _, err := svc.Update(ctx, sc, beta, id, notify.EndpointUpdate{}); tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Errorf("other dialect: %v", err)
	}

	// Re-enabling an endpoint the engine disabled clears its failure.
	err = svc.Store.Write(ctx, func(tx store.Tx) error {
		ep, err := tx.FindWebhookEndpointByID(ctx, sc, id)
		if err != nil {
			return err
		}
		now := tx.Now()
		ep.Enabled, ep.DisabledReason, ep.FailingSince = false, "the endpoint answered 410 Gone", &now
		return tx.UpdateWebhookEndpoint(ctx, ep)
	})
	if err != nil {
		t.Fatal(err)
	}
	on := true
	ep, err = svc.Update(ctx, sc, alpha, id, notify.EndpointUpdate{Enabled: &on})
	if err != nil || !ep.Enabled || ep.DisabledReason != "" || ep.FailingSince != nil {
		t.Errorf("re-enabled %+v %v", ep, err)
	}

	if _, err := svc.Delete(ctx, sc, beta, id); tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Errorf("delete through another dialect: %v", err)
	}
	del, err := svc.Delete(ctx, sc, alpha, id)
	if err != nil || !del.Deleted || del.Enabled {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if _, err := svc.Get(ctx, sc, alpha, id); tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := svc.Delete(ctx, sc, alpha, id); tender.ErrorCode(err) != tender.ENOTFOUND {
		t.Errorf("second delete: %v", err)
	}
}

// TestList_SkipsOtherDialects proves that pages of one dialect's endpoints
// stay full and ordered when other dialects' endpoints sit between them.
func TestList_SkipsOtherDialects(t *testing.T) {
	svc, sc := newService(t)
	ctx := context.Background()
	var want []string // alpha ids, newest first
	for i := 0; i < 12; i++ {
		d := alpha
		if i%3 != 0 {
			d = beta
		}
		c, err := svc.Create(ctx, sc, d, notify.EndpointParams{URL: "https://203.0.113.5/", Events: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		if d == alpha {
			want = append([]string{c.Endpoint.ID}, want...)
		}
	}
	ids := func(items []*tender.WebhookEndpoint) []string {
		var out []string
		for _, ep := range items {
			if ep.Dialect != "alpha" {
				t.Errorf("listed a %s endpoint", ep.Dialect)
			}
			out = append(out, ep.ID)
		}
		return out
	}
	all, more, err := svc.List(ctx, sc, alpha, tender.Page{Limit: 10})
	if err != nil || more || !slices.Equal(ids(all), want) {
		t.Fatalf("all: %v %v %v, want %v", ids(all), more, err, want)
	}
	p1, more, _ := svc.List(ctx, sc, alpha, tender.Page{Limit: 2})
	if !more || !slices.Equal(ids(p1), want[:2]) {
		t.Errorf("page 1: %v %v", ids(p1), more)
	}
	p2, more, _ := svc.List(ctx, sc, alpha, tender.Page{Limit: 2, StartingAfter: want[1]})
	if more || !slices.Equal(ids(p2), want[2:]) {
		t.Errorf("page 2: %v %v", ids(p2), more)
	}
	back, more, _ := svc.List(ctx, sc, alpha, tender.Page{Limit: 1, EndingBefore: want[2]})
	if !more || !slices.Equal(ids(back), want[1:2]) {
		t.Errorf("back: %v %v", ids(back), more)
	}
	back, more, _ = svc.List(ctx, sc, alpha, tender.Page{Limit: 5, EndingBefore: want[3]})
	if more || !slices.Equal(ids(back), want[:3]) {
		t.Errorf("back to the start: %v %v", ids(back), more)
	}
}
