package tender

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// ID prefixes of core objects. A dialect may render an object under a prefix
// of its own by a bijective mapping (see ReplacePrefix).
const (
	PrefixOrganization   = "org_"
	PrefixAccount        = "acct_"
	PrefixCredential     = "cred_"
	PrefixPaymentIntent  = "pi_"
	PrefixPayment        = "pmt_"
	PrefixRefund         = "re_"
	PrefixPaymentMethod  = "pm_"
	PrefixJob            = "job_"
	PrefixEvent          = "evt_"
	PrefixRequest        = "req_"
	PrefixIdempotencyRec = "idem_"
	PrefixEndpoint       = "we_"
	PrefixDelivery       = "wd_"
	PrefixAttempt        = "wda_"
	PrefixProduct        = "prod_"
	PrefixPrice          = "price_"
	PrefixCoupon         = "cpn_"
	PrefixRedemption     = "cpnr_"
	// Ledger.
	PrefixLedgerTransaction = "txn_"
	PrefixAdjustment        = "adj_"
	PrefixProcessingPlan    = "partppl_"
	// Disputes and payouts.
	PrefixDispute = "dp_"
	PrefixPayout  = "po_"
	// PrefixCustomProvider and PrefixWhiteLabelProvider are HighLevel
	// payment provider configurations.
	PrefixCustomProvider     = "cprov_"
	PrefixWhiteLabelProvider = "wlp_"
)

// crockford is the lower-case Crockford base32 alphabet. Its characters are
// in ascending byte order, so fixed-width encodings sort like the numbers.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var idGen struct {
	mu   sync.Mutex
	last [16]byte
}

// NewID returns prefix followed by 26 characters encoding a 48-bit
// millisecond timestamp and 80 random bits. IDs made by one process are
// strictly increasing, so lists may sort and paginate by id.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	idGen.mu.Lock()
	if string(b[:6]) <= string(idGen.last[:6]) {
		// Same or earlier millisecond: increment the previous value so the
		// order holds even when the clock stalls or steps back.
		b = idGen.last
		for i := 15; i >= 0; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		if _, err := rand.Read(b[6:]); err != nil {
			panic(err)
		}
		b[6] &= 0x7f // leave room to increment within the millisecond
	}
	idGen.last = b
	idGen.mu.Unlock()
	return prefix + encode128(b)
}

func encode128(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// IDBound returns the smallest id with prefix that NewID can make at or
// after t's millisecond (last false), or the largest it can make at or
// before it (last true). Since NewID never makes an id older than its time
// argument, "created at or after t" implies id ≥ IDBound(prefix, t, false),
// which lets a time filter use an index on ids.
func IDBound(prefix string, t time.Time, last bool) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	if last {
		for i := 6; i < 16; i++ {
			b[i] = 0xff
		}
	}
	return prefix + encode128(b)
}

// IDTime returns the millisecond an id made by NewID carries (its time
// argument, or later when NewID had to keep ids increasing), and false for
// an id without a well-formed body after prefix.
func IDTime(id, prefix string) (time.Time, bool) {
	if !HasPrefix(id, prefix) {
		return time.Time{}, false
	}
	var ms uint64
	for _, c := range []byte(id[len(prefix) : len(prefix)+10]) {
		ms = ms<<5 | uint64(strings.IndexByte(crockford, c))
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}

// HasPrefix reports whether id starts with prefix and has a well-formed body.
func HasPrefix(id, prefix string) bool {
	if !strings.HasPrefix(id, prefix) || len(id) != len(prefix)+26 {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		if strings.IndexByte(crockford, id[i]) < 0 {
			return false
		}
	}
	return true
}

// ReplacePrefix maps id from one prefix to another, returning "" when id does
// not carry the from prefix.
func ReplacePrefix(id, from, to string) string {
	if !strings.HasPrefix(id, from) {
		return ""
	}
	return to + id[len(from):]
}

// RandomString returns n characters from [A-Za-z0-9] drawn from crypto/rand.
func RandomString(n int) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	for i := range buf {
		buf[i] = alnum[int(buf[i])%len(alnum)] // 256 % 62 bias is irrelevant for tokens this long
	}
	return string(buf)
}
