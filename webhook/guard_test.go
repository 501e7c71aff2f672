package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/webhook"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	const internal = "must not point at a loopback, private or link-local address"
	for _, tc := range []struct {
		url string
		// problem is the refusal with private addresses refused, "" for none;
		// privateOK tells whether allowing them accepts the URL.
		problem   string
		privateOK bool
	}{
		{"https://hooks.example.com/tender", "", true},
		{"http://hooks.example.com:8080/a?b=c", "", true},
		{"https://93.184.215.14/h", "", true},
		{"https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/h", "", true},
		{"https://hooks.example.com./h", "", true},

		{"ftp://hooks.example.com/h", "must use http or https", false},
		{"hooks.example.com/h", "must be an absolute http or https URL", false},
		{"/relative", "must be an absolute http or https URL", false},
		{"mailto:a@example.com", "must be an absolute http or https URL", false},
		{"https:///path", "must name a host", false},
		{"http://:80/", "must name a host", false},
		{"https://hooks.example.com:99999/", "has an invalid port", false},
		{"https://hooks.example.com/" + strings.Repeat("a", 2100), "must be at most 2048 characters", false},
		{"http://127.1/", "must name a host or an IP address in standard form", false},
		{"http://0x7f000001/", "must name a host or an IP address in standard form", false},
		{"http://2130706433/", "must name a host or an IP address in standard form", false},

		{"http://localhost/", internal, true},
		{"http://LOCALHOST.:8080/", internal, true},
		{"http://api.localhost/", internal, true},
		{"http://127.0.0.1:9000/", internal, true},
		{"http://127.255.1.2/", internal, true},
		{"http://10.1.2.3/", internal, true},
		{"http://172.16.0.1/", internal, true},
		{"http://172.31.255.255/", internal, true},
		{"http://192.168.1.1/", internal, true},
		{"http://169.254.169.254/latest/meta-data/", internal, true},
		{"http://100.100.100.200/", internal, true},
		{"http://0.0.0.0/", internal, true},
		{"http://[::1]/", internal, true},
		{"http://[::]/", internal, true},
		{"http://[fe80::1%25eth0]/", internal, true},
		{"http://[fd00::1]/", internal, true},
		{"http://[::ffff:10.0.0.1]/", internal, true},
		{"http://[64:ff9b::7f00:1]/", internal, true},
		{"http://[2002:c0a8:0101::1]/", internal, true},
		{"http://224.0.0.1/", internal, true},
		{"http://255.255.255.255/", internal, true},
	} {
		err := webhook.CheckURL(tc.url, false)
		name := tc.url
		if len(name) > 60 {
			name = name[:60] + "…"
		}
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("CheckURL(%s) = %v, want ok", name, err)
		case tc.problem != "":
			if tender.ErrorCode(err) != tender.EINVALID || tender.ErrorFields(err)["url"] != tc.problem {
				t.Errorf("CheckURL(%s) = %v, want EINVALID with url %q", name, err, tc.problem)
			}
		}
		if err := webhook.CheckURL(tc.url, true); (err == nil) != tc.privateOK {
			t.Errorf("CheckURL(%s, allowPrivate) = %v, want ok %v", name, err, tc.privateOK)
		}
	}
}

func TestInternal(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"8.8.8.8": false, "1.1.1.1": false, "93.184.215.14": false, "2606:4700::1111": false, "172.32.0.1": false,
		"100.128.0.1": false, "192.0.2.1": false, // TEST-NET-1 is documentation, not internal
		"127.0.0.1": true, "10.0.0.1": true, "172.16.5.4": true, "192.168.0.1": true, "169.254.1.1": true,
		"100.64.0.1": true, "0.1.2.3": true, "198.18.0.1": true, "240.0.0.1": true, "192.0.0.8": true,
		"::1": true, "::": true, "fe80::1": true, "fc00::1": true, "fec0::1": true, "ff02::1": true,
		"::ffff:127.0.0.1": true, "::ffff:8.8.8.8": false, "64:ff9b::a00:1": true, "64:ff9b::808:808": false,
		"2002:7f00:1::": true, "2002:808:808::": false, "100::1": true,
	} {
		if got := webhook.Internal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Internal(%s) = %v, want %v", addr, got, want)
		}
	}
}

// DialGuard refuses the addresses a name resolves to, not just literal ones:
// "localhost" resolves (from /etc/hosts) to loopback addresses.
func TestDialGuard(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	port := itoa(rc.srv.Listener.Addr().(*net.TCPAddr).Port)
	client := func(allowPrivate bool) *http.Client {
		d := &net.Dialer{Timeout: 2 * time.Second, Control: webhook.DialGuard(allowPrivate)}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 5 * time.Second}
	}
	for _, u := range []string{"http://localhost:" + port + "/", "http://127.0.0.1:" + port + "/"} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
		_, err := client(false).Do(req)
		if !errors.Is(err, webhook.ErrInternalAddress) {
			t.Errorf("GET %s with the guard: %v, want ErrInternalAddress", u, err)
		}
		resp, err := client(true).Do(req)
		if err != nil {
			t.Errorf("GET %s with private addresses allowed: %v", u, err)
			continue
		}
		resp.Body.Close()
	}
	guard := webhook.DialGuard(false)
	for addr, ok := range map[string]bool{"93.184.215.14:443": true, "[2606:4700::1111]:443": true,
		"10.0.0.1:80": false, "[::1]:80": false, "[fe80::1%eth0]:80": false, "garbage": false} {
		if err := guard("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("guard(%s) = %v, want allowed %v", addr, err, ok)
		}
	}
}
