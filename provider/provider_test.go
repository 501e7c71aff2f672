package provider

import (
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

func TestCheckProviderURL(t *testing.T) {
	cases := []struct {
		url     string
		private bool
		problem string // "" for accepted
	}{
		{"https://pay.example.com/q", false, ""},
		{"https://pay.example.com/q", true, ""},
		{"http://pay.example.com/q", false, "must be an https URL"},
		{"http://pay.example.com/q", true, "plain http is allowed only to a loopback host"},
		{"http://127.0.0.1:8080/q", true, ""},
		{"http://[::1]:8080/q", true, ""},
		{"http://localhost:8080/q", true, ""},
		{"http://127.0.0.1:8080/q", false, "loopback, private or link-local"},
		{"https://10.1.2.3/q", false, "loopback, private or link-local"},
		{"https://10.1.2.3/q", true, ""},
		{"https://localhost/q", false, "loopback, private or link-local"},
		{"ftp://pay.example.com/q", false, "must use http or https"},
		{"/relative", false, "must be an absolute"},
		{"", false, "should not be empty"},
	}
	for _, c := range cases {
		err := CheckProviderURL("queryUrl", c.url, c.private)
		if c.problem == "" {
			if err != nil {
				t.Errorf("CheckProviderURL(%q, %v) = %v, want nil", c.url, c.private, err)
			}
			continue
		}
		if p := tender.ErrorFields(err)["queryUrl"]; !strings.Contains(p, c.problem) {
			t.Errorf("CheckProviderURL(%q, %v) = %v, want a queryUrl problem with %q", c.url, c.private, err, c.problem)
		}
	}
}

func TestShownAPIKey(t *testing.T) {
	s, err := New(nil, []byte(strings.Repeat("m", 32)))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := s.sealer.Seal([]byte("sk_test_0123456789"))
	cp := &tender.CustomProvider{ID: "cprov_1", Test: &tender.ProviderKeys{APIKeySealed: sealed, APIKeyHint: hint("sk_test_0123456789")},
		Live: &tender.ProviderKeys{APIKeySealed: "v1.whatever", APIKeyHint: hint("sk_live_0123456789")}}
	if got, err := s.ShownAPIKey(cp, tender.ModeTest); err != nil || got != "sk_test_0123456789" {
		t.Errorf("test key shown as %q, %v", got, err)
	}
	if got, _ := s.ShownAPIKey(cp, tender.ModeLive); got != "****6789" {
		t.Errorf("live key shown as %q", got)
	}
	if got := hint("short"); got != "" {
		t.Errorf("hint of a short key: %q", got)
	}
	cp.Live = nil
	if got, _ := s.ShownAPIKey(cp, tender.ModeLive); got != "" {
		t.Errorf("disconnected live key shown as %q", got)
	}
}
