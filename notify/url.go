package notify

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// checkURL is the service's own check of an endpoint URL, used when
// Service.CheckURL is not set: an absolute http(s) URL without credentials
// or fragment, whose host is not, and does not resolve to, an internal
// address (unless allowPrivate). A host that does not resolve now is
// accepted: the delivery engine checks the address again at every attempt.
func checkURL(ctx context.Context, raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLength {
		return tender.FieldError("url", "must be at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return tender.FieldError("url", "must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return tender.FieldError("url", "must use http or https")
	}
	if u.User != nil {
		return tender.FieldError("url", "must not hold credentials (user:password@); authenticate deliveries with their signature")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return tender.FieldError("url", "must not have a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return tender.FieldError("url", "must name a host")
	}
	if allowPrivate {
		return nil
	}
	lower := strings.ToLower(strings.TrimSuffix(host, "."))
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") {
		return tender.FieldError("url", "must not point at a loopback or private address")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if internal(ip) {
			return tender.FieldError("url", "must not point at a loopback or private address")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range addrs {
		if internal(ip) {
			return tender.FieldError("url", "must not point at a loopback or private address (the host resolves to one)")
		}
	}
	return nil
}

// internal reports whether ip is an address no webhook should reach from
// a server: loopback, private, link-local, unspecified, multicast, shared
// (100.64.0.0/10) or an IPv4 address wrapped in IPv6.
func internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	if ip.Is4() {
		b := ip.As4()
		return b[0] == 0 || b[0] == 100 && b[1]&0xc0 == 64 || b[0] == 255
	}
	return false
}
