package tender

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CustomProvider is a HighLevel custom payment provider: a marketplace
// app's association with one location (account), where the app's service
// takes the location's payments. HighLevel keys it by (location,
// marketplace app); it has no mode, but it holds one set of keys per mode,
// each connected or not.
//
// The keys' API keys are secrets: they are kept only sealed with the
// installation's master secret, in columns beside the row's JSON document,
// and never appear in JSON (the fields are json:"-"), so no event, log or
// response can carry them.
type CustomProvider struct {
	ID          string `json:"id"`
	AccountID   string `json:"account_id"`
	AppID       string `json:"app_id"` // the marketplace app (HighLevel's marketplaceAppId)
	Name        string `json:"name"`
	Description string `json:"description"`
	// PaymentsURL is the page HighLevel loads in an iframe to take a
	// payment; QueryURL is where tender calls the provider (verify,
	// charge_payment, refund, …).
	PaymentsURL string `json:"payments_url"`
	QueryURL    string `json:"query_url"`
	ImageURL    string `json:"image_url"`
	// SupportsSubscriptionSchedule is the provider's capability to take
	// subscriptions on a schedule.
	SupportsSubscriptionSchedule bool `json:"supports_subscription_schedule"`
	// Live and Test are the keys of each mode; nil when not connected.
	Live *ProviderKeys `json:"live,omitempty"`
	Test *ProviderKeys `json:"test,omitempty"`
	// Deleted is set when the association is deleted: the row stays, so
	// that payments made through it still name it, but its keys are
	// wiped and it takes no more payments.
	Deleted   bool      `json:"deleted"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Keys returns the provider's keys of mode m, or nil when that mode is not
// connected.
func (p *CustomProvider) Keys(m Mode) *ProviderKeys {
	if m == ModeLive {
		return p.Live
	}
	return p.Test
}

// SetKeys sets (or, with nil, disconnects) the keys of mode m.
func (p *CustomProvider) SetKeys(m Mode, k *ProviderKeys) {
	if m == ModeLive {
		p.Live = k
	} else {
		p.Test = k
	}
}

// ProviderKeys are a custom provider's keys of one mode: the API key tender
// sends the provider with every call (a secret, kept sealed), and the
// publishable key the provider's payment page uses.
type ProviderKeys struct {
	// APIKeySealed is the API key sealed with the installation's master
	// secret (see webhook/signature.Sealer). It is never marshalled.
	APIKeySealed string `json:"-"`
	// APIKeyHint is the API key's last four characters, for display.
	APIKeyHint     string    `json:"api_key_hint"`
	PublishableKey string    `json:"publishable_key"`
	ConnectedAt    time.Time `json:"connected_at"`
}

// White-label provider kinds: the gateways HighLevel's white-label
// providers are built on.
var WhiteLabelKinds = []string{"authorize-net", "nmi"}

// uniqueNamePattern is what a white-label provider's unique name may be:
// lower-case letters and hyphens, starting and ending with a letter.
var uniqueNamePattern = regexp.MustCompile(`^[a-z](?:[a-z-]*[a-z])?$`)

// MaxUniqueNameLen bounds a white-label provider's unique name.
const MaxUniqueNameLen = 64

// ValidUniqueName reports whether s may name a white-label provider.
func ValidUniqueName(s string) bool {
	return len(s) <= MaxUniqueNameLen && uniqueNamePattern.MatchString(s)
}

// WhiteLabelProvider is a HighLevel white-label payment provider of a
// location: a branded provider built on Authorize.net or NMI. Its unique
// name is unique per location. It has no mode.
type WhiteLabelProvider struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"account_id"`
	UniqueName  string    `json:"unique_name"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Provider    string    `json:"provider"` // one of WhiteLabelKinds
	ImageURL    string    `json:"image_url"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Events of provider configurations. A custom provider's events are
// recorded under the live mode, except connected and disconnected, which
// are recorded under the mode of the keys; a white-label provider's under
// the live mode. Their snapshots never hold an API key.
const (
	EventCustomProviderCreated      = "custom_provider.created"
	EventCustomProviderUpdated      = "custom_provider.updated"
	EventCustomProviderDeleted      = "custom_provider.deleted"
	EventCustomProviderConnected    = "custom_provider.connected"
	EventCustomProviderDisconnected = "custom_provider.disconnected"
	EventWhiteLabelProviderCreated  = "white_label_provider.created"
)

// ProviderChargeRef is what tender records as the processor reference of a
// payment a custom provider took: "<provider id>:<mode>:<transaction id>:
// <currency>:<amount in minor units>:<charge id>". The charge id, last, is
// the provider's and may hold any character; it is empty while the
// charge's outcome is unknown.
type ProviderChargeRef struct {
	ProviderID    string
	Mode          Mode
	TransactionID string
	Currency      Currency
	Amount        int64
	ChargeID      string
}

// String encodes r.
func (r ProviderChargeRef) String() string {
	return strings.Join([]string{r.ProviderID, string(r.Mode), r.TransactionID, string(r.Currency),
		strconv.FormatInt(r.Amount, 10), r.ChargeID}, ":")
}

// ParseProviderChargeRef decodes a payment's processor reference made for
// a custom provider; ok is false for any other (a sim reference, say).
func ParseProviderChargeRef(s string) (r ProviderChargeRef, ok bool) {
	if !strings.HasPrefix(s, PrefixCustomProvider) {
		return ProviderChargeRef{}, false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		return ProviderChargeRef{}, false
	}
	amt, err := strconv.ParseInt(parts[4], 10, 64)
	if err != nil || !Mode(parts[1]).Valid() {
		return ProviderChargeRef{}, false
	}
	return ProviderChargeRef{ProviderID: parts[0], Mode: Mode(parts[1]), TransactionID: parts[2], Currency: Currency(parts[3]),
		Amount: amt, ChargeID: parts[5]}, true
}

// ProviderMethodToken is the processor token of a payment method that a
// custom provider keeps (one of a contact's saved methods, as its
// list_payment_methods answers them): "cpm:<provider id>:<the provider's
// method id>". A payment with such a method goes to that provider, whose
// charge_payment gets the provider's own method id; no card number is ever
// known to tender.
type ProviderMethodToken struct {
	ProviderID string
	MethodID   string
}

const providerMethodPrefix = "cpm:"

// String encodes t.
func (t ProviderMethodToken) String() string {
	return providerMethodPrefix + t.ProviderID + ":" + t.MethodID
}

// ParseProviderMethodToken decodes a processor token made for a provider's
// saved method; ok is false for any other token.
func ParseProviderMethodToken(s string) (t ProviderMethodToken, ok bool) {
	rest, found := strings.CutPrefix(s, providerMethodPrefix)
	if !found {
		return ProviderMethodToken{}, false
	}
	id, method, found := strings.Cut(rest, ":")
	if !found || id == "" || method == "" {
		return ProviderMethodToken{}, false
	}
	return ProviderMethodToken{ProviderID: id, MethodID: method}, true
}
