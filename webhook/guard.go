package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenderpay/tender"
)

// MaxURLLength is the longest endpoint URL CheckURL accepts.
const MaxURLLength = 2048

// ErrInternalAddress is what the dial guard returns (wrapped) for a
// connection to an internal address.
var ErrInternalAddress = errors.New("internal address")

// CheckURL checks an endpoint URL as it is created or changed: an absolute
// http or https URL naming a host and, unless allowPrivate, not a literal
// loopback, private, link-local, unspecified, multicast or reserved IP
// address, nor localhost. Host names are not resolved here: they may
// change, so the delivery engine checks every address it connects to
// (DialGuard). It returns an EINVALID error naming the "url" field.
func CheckURL(raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLength {
		return tender.FieldError("url", fmt.Sprintf("must be at most %d characters", MaxURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return tender.FieldError("url", "must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return tender.FieldError("url", "must use http or https")
	}
	host := u.Hostname()
	if host == "" {
		return tender.FieldError("url", "must name a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return tender.FieldError("url", "has an invalid port")
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !allowPrivate && Internal(ip) {
			return tender.FieldError("url", "must not point at a loopback, private or link-local address")
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if numericHost(name) {
		// 127.1, 0x7f000001, 2130706433: resolvers read these as IPv4
		// addresses in forms no URL should use.
		return tender.FieldError("url", "must name a host or an IP address in standard form")
	}
	if !allowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return tender.FieldError("url", "must not point at a loopback, private or link-local address")
	}
	return nil
}

// numericHost reports whether a host name's last label is a number
// (decimal or 0x hex), which no DNS top-level domain is.
func numericHost(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" {
		return false
	}
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		_, err := strconv.ParseUint(h, 16, 64)
		return h == "" || err == nil
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// reserved are ranges that are neither public nor covered by netip's
// predicates: "this network", shared address space (carrier-grade NAT and
// some cloud metadata services), IETF protocol assignments, benchmarking,
// the reserved class E with the broadcast address, IPv6 discard-only and
// the deprecated site-local range.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("fec0::/10"),
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Internal reports whether a is an address webhooks must not reach unless
// private addresses are allowed: loopback, private, link-local,
// unspecified, multicast or reserved, including IPv4 addresses embedded in
// IPv4-mapped, NAT64 and 6to4 IPv6 addresses.
func Internal(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return true
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return true
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return Internal(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(a):
			return Internal(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	return false
}

// DialGuard returns a net.Dialer Control function that refuses to connect
// to an internal address (see Internal) unless allowPrivate. It runs after
// name resolution, on the address actually dialled, so a public name that
// resolves to an internal address is refused too. The error wraps
// ErrInternalAddress.
func DialGuard(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("refusing to connect to %q: %w", address, ErrInternalAddress)
		}
		if Internal(ap.Addr()) {
			return fmt.Errorf("refusing to connect to %s, an %w (start tender with --webhooks-allow-private to allow it)", ap.Addr(), ErrInternalAddress)
		}
		return nil
	}
}

// newClient returns the HTTP client of deliveries: the dial guard on every
// connection, no proxy (a proxy would dial for us, past the guard), no
// redirects (a 3xx is a failed attempt), and connections kept for reuse.
func newClient(o Options) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if o.Transport != nil {
		return &http.Client{Transport: o.Transport, CheckRedirect: noRedirect}
	}
	d := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second, Control: DialGuard(o.AllowPrivate)}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * o.Concurrency,
		MaxIdleConnsPerHost:   o.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}
}
