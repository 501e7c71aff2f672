package tender_test

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// idBody is the 26-character Crockford base32 body of an id (lower case,
// without i, l, o and u).
var idBody = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{26}$`)

// idMillis decodes the millisecond timestamp in an id's first 48 bits.
func idMillis(t *testing.T, id, prefix string) int64 {
	t.Helper()
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var hi, lo uint64 // the 130 bits of 26 characters; the top two are zero
	for _, r := range id[len(prefix):] {
		v := uint64(strings.IndexRune(alphabet, r))
		hi = hi<<5 | lo>>59
		lo = lo<<5 | v
	}
	return int64(hi >> 16)
}

func TestNewIDFormat(t *testing.T) {
	now := time.Now()
	for _, p := range []string{tender.PrefixPaymentIntent, tender.PrefixPayment, tender.PrefixRefund, tender.PrefixPaymentMethod,
		tender.PrefixOrganization, tender.PrefixAccount, tender.PrefixCredential, tender.PrefixJob, tender.PrefixEvent,
		tender.PrefixRequest, tender.PrefixIdempotencyRec} {
		id := tender.NewID(p, now)
		if !strings.HasPrefix(id, p) || !idBody.MatchString(id[len(p):]) {
			t.Errorf("NewID(%q) = %q: want the prefix and 26 Crockford base32 characters", p, id)
		}
		if !tender.HasPrefix(id, p) {
			t.Errorf("HasPrefix(%q, %q) = false", id, p)
		}
	}
}

func TestNewIDTimestamp(t *testing.T) {
	// An hour ahead, so that no id made earlier in this process is later.
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	id := tender.NewID(tender.PrefixPaymentIntent, at)
	if got := idMillis(t, id, tender.PrefixPaymentIntent); got != at.UnixMilli() {
		t.Errorf("id %s encodes millisecond %d, want %d", id, got, at.UnixMilli())
	}
	later := tender.NewID(tender.PrefixPaymentIntent, at.Add(1500*time.Millisecond))
	if got := idMillis(t, later, tender.PrefixPaymentIntent); got != at.Add(1500*time.Millisecond).UnixMilli() {
		t.Errorf("id %s encodes millisecond %d, want %d", later, got, at.Add(1500*time.Millisecond).UnixMilli())
	}
}

func TestNewIDOrdering(t *testing.T) {
	base := time.Now()
	var ids []string
	// Many ids in one millisecond, then later milliseconds, then a clock
	// that steps back: every id is greater than the one before.
	for i := 0; i < 5000; i++ {
		ids = append(ids, tender.NewID(tender.PrefixPayment, base))
	}
	for i := 1; i <= 50; i++ {
		ids = append(ids, tender.NewID(tender.PrefixPayment, base.Add(time.Duration(i)*time.Millisecond)))
	}
	for i := 0; i < 100; i++ {
		ids = append(ids, tender.NewID(tender.PrefixPayment, base.Add(-time.Hour)))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("id %d (%s) is not greater than id %d (%s)", i, ids[i], i-1, ids[i-1])
		}
	}
}

func TestNewIDConcurrentUnique(t *testing.T) {
	const workers, each = 8, 2000
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				out[w] = append(out[w], tender.NewID(tender.PrefixRefund, time.Now()))
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, workers*each)
	for _, ids := range out {
		// Each goroutine sees its own ids in increasing order.
		if !slices.IsSorted(ids) {
			t.Errorf("ids made by one goroutine are not increasing")
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
	}
}

func TestHasPrefix(t *testing.T) {
	good := tender.NewID(tender.PrefixPaymentIntent, time.Now())
	body := good[len(tender.PrefixPaymentIntent):]
	for _, tc := range []struct {
		id, prefix string
		want       bool
	}{
		{good, tender.PrefixPaymentIntent, true},
		{good, tender.PrefixPayment, false},
		{good, "", false},
		{"pi_", tender.PrefixPaymentIntent, false},
		{"", tender.PrefixPaymentIntent, false},
		{good + "0", tender.PrefixPaymentIntent, false},
		{good[:len(good)-1], tender.PrefixPaymentIntent, false},
		{"pi_" + strings.ToUpper(body), tender.PrefixPaymentIntent, strings.ToUpper(body) == body},
		{"pi_" + body[:25] + "i", tender.PrefixPaymentIntent, false},
		{"pi_" + body[:25] + "l", tender.PrefixPaymentIntent, false},
		{"pi_" + body[:25] + "o", tender.PrefixPaymentIntent, false},
		{"pi_" + body[:25] + "u", tender.PrefixPaymentIntent, false},
		{"pi_" + body[:25] + "_", tender.PrefixPaymentIntent, false},
		{"pi_" + body[:24] + "é", tender.PrefixPaymentIntent, false},
		{"ch_" + body, "ch_", true},
		{"pi_00000000000000000000000000", tender.PrefixPaymentIntent, true},
		{"pi_zzzzzzzzzzzzzzzzzzzzzzzzzz", tender.PrefixPaymentIntent, true},
	} {
		if got := tender.HasPrefix(tc.id, tc.prefix); got != tc.want {
			t.Errorf("HasPrefix(%q, %q) = %v, want %v", tc.id, tc.prefix, got, tc.want)
		}
	}
}

func TestReplacePrefix(t *testing.T) {
	id := tender.NewID(tender.PrefixPaymentIntent, time.Now())
	ch := tender.ReplacePrefix(id, tender.PrefixPaymentIntent, "ch_")
	if ch != "ch_"+id[len(tender.PrefixPaymentIntent):] {
		t.Errorf("ReplacePrefix(%q, pi_, ch_) = %q", id, ch)
	}
	if !tender.HasPrefix(ch, "ch_") {
		t.Errorf("mapped id %q lacks a well-formed body", ch)
	}
	if back := tender.ReplacePrefix(ch, "ch_", tender.PrefixPaymentIntent); back != id {
		t.Errorf("mapping back gives %q, want %q", back, id)
	}
	if got := tender.ReplacePrefix(id, "ch_", "pi_"); got != "" {
		t.Errorf("ReplacePrefix with the wrong from prefix = %q, want \"\"", got)
	}
	if got := tender.ReplacePrefix("org_abc", tender.PrefixOrganization, "bus_"); got != "bus_abc" {
		t.Errorf("ReplacePrefix(org_abc, org_, bus_) = %q", got)
	}
	// The mapping keeps the order of ids.
	a := tender.NewID(tender.PrefixPaymentIntent, time.Now())
	b := tender.NewID(tender.PrefixPaymentIntent, time.Now())
	if !(tender.ReplacePrefix(a, "pi_", "ch_") < tender.ReplacePrefix(b, "pi_", "ch_")) {
		t.Errorf("mapped ids lost their order")
	}
}

func TestRandomString(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := tender.RandomString(32)
		if len(s) != 32 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("RandomString(32) = %q", s)
		}
		if seen[s] {
			t.Fatalf("RandomString repeated %q", s)
		}
		seen[s] = true
	}
}

func TestIDBound(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	lo, hi := tender.IDBound(tender.PrefixLedgerTransaction, base, false), tender.IDBound(tender.PrefixLedgerTransaction, base, true)
	for i := 0; i < 1000; i++ {
		id := tender.NewID(tender.PrefixLedgerTransaction, base)
		if !tender.HasPrefix(id, tender.PrefixLedgerTransaction) {
			t.Fatalf("NewID %q", id)
		}
		if id < lo {
			t.Errorf("id %s made at or after %v sorts before the lower bound %s", id, base, lo)
		}
	}
	if hi <= lo || tender.IDBound(tender.PrefixLedgerTransaction, base.Add(-time.Millisecond), true) >= lo {
		t.Error("the previous millisecond's upper bound is not below this one's lower bound")
	}
	if !tender.HasPrefix(lo, tender.PrefixLedgerTransaction) || !tender.HasPrefix(hi, tender.PrefixLedgerTransaction) {
		t.Errorf("bounds are not well-formed ids: %s %s", lo, hi)
	}
}

func TestIDTime(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(-time.Hour).UTC()
	id := tender.NewID(tender.PrefixLedgerTransaction, at)
	got, ok := tender.IDTime(id, tender.PrefixLedgerTransaction)
	if !ok || got.Before(at.Truncate(time.Millisecond)) {
		t.Errorf("IDTime(%s) = %v, %v; want at least %v", id, got, ok, at.Truncate(time.Millisecond))
	}
	lo := tender.IDBound(tender.PrefixLedgerTransaction, at, false)
	if got, _ := tender.IDTime(lo, tender.PrefixLedgerTransaction); !got.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("IDTime of IDBound = %v, want %v", got, at.Truncate(time.Millisecond))
	}
	if _, ok := tender.IDTime("txn_short", tender.PrefixLedgerTransaction); ok {
		t.Error("a malformed id has a time")
	}
}
