// Package provider holds the business rules of HighLevel's payment
// provider configurations: custom providers (a marketplace app's service
// that takes a location's payments, called at its queryUrl) and white-label
// providers (branded Authorize.net or NMI providers).
//
// A custom provider is keyed by (location, marketplace app). It holds a set
// of keys per mode; the API key of each is a secret, sealed with the
// installation's master secret (webhook/signature.Sealer) before it reaches
// the store, opened only in memory to call the provider, never logged, put
// in an event or shown in full for the live mode (see ShownAPIKey).
//
// Endpoint and Connected give the payment path (processor/customprovider)
// what it needs to call a location's connected provider.
//
// # Errors
//
// Methods return EINVALID naming the field for bad parameters, ENOTFOUND
// with HighLevel's message "No such config exists for given locationId and
// marketplaceAppId" (ErrNoConfig) when a location has no custom provider
// of the app, ECONFLICT for a white-label unique name already taken, and
// EFORBIDDEN for a company the caller may not act for.
package provider

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/webhook"
	"github.com/tenderpay/tender/webhook/signature"
)

// NoConfigMessage is HighLevel's answer for a location without a custom
// provider of the caller's marketplace app.
const NoConfigMessage = "No such config exists for given locationId and marketplaceAppId"

// ErrNoConfig returns the ENOTFOUND error of a missing custom provider.
func ErrNoConfig() error { return tender.Errorf(tender.ENOTFOUND, NoConfigMessage) }

// Field length limits.
const (
	maxNameLen        = 200
	maxDescriptionLen = 2000
	maxKeyLen         = 1024
)

// Service manages provider configurations.
type Service struct {
	Store store.Store
	// AllowPrivate lets a custom provider's URLs use plain http to a
	// loopback host and point at private addresses (tender's
	// --webhooks-allow-private: local development and tests).
	AllowPrivate bool

	sealer *signature.Sealer
}

// New returns a Service sealing API keys under a key derived from
// masterKey (at least signature.MinMasterKeyLen bytes).
func New(s store.Store, masterKey []byte) (*Service, error) {
	sealer, err := signature.NewSealer(masterKey)
	if err != nil {
		return nil, err
	}
	return &Service{Store: s, sealer: sealer}, nil
}

// live is the scope provider events without a mode are recorded under.
func live(accountID string) tender.Scope {
	return tender.Scope{AccountID: accountID, Mode: tender.ModeLive}
}

// text checks a required free-text field.
func text(v *tender.Validation, field, s string, max int) {
	switch {
	case strings.TrimSpace(s) == "":
		v.Add(field, "should not be empty")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, fmt.Sprintf("must be shorter than or equal to %d characters", max))
	}
}

// CheckProviderURL checks a URL tender will call or show (a custom
// provider's queryUrl, paymentsUrl): absolute, https, and not an internal
// address (webhook.CheckURL's rules). With allowPrivate, internal
// addresses are allowed, and plain http too but only to a loopback host
// (localhost, 127.0.0.0/8, ::1). Problems name field.
func CheckProviderURL(field, raw string, allowPrivate bool) error {
	if strings.TrimSpace(raw) == "" {
		return tender.FieldError(field, "should not be empty")
	}
	if err := webhook.CheckURL(raw, allowPrivate); err != nil {
		if p, ok := tender.ErrorFields(err)["url"]; ok {
			return tender.FieldError(field, p)
		}
		return err
	}
	u, _ := url.Parse(raw) // CheckURL parsed it
	if u.Scheme == "https" {
		return nil
	}
	if allowPrivate && loopback(u.Hostname()) {
		return nil
	}
	if allowPrivate {
		return tender.FieldError(field, "must be an https URL (plain http is allowed only to a loopback host)")
	}
	return tender.FieldError(field, "must be an https URL")
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// checkImageURL checks a URL tender only shows (never fetches): absolute
// http or https.
func checkImageURL(v *tender.Validation, field, raw string, httpsOnly bool) {
	if strings.TrimSpace(raw) == "" {
		v.Add(field, "should not be empty")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case len(raw) > webhook.MaxURLLength:
		v.Add(field, fmt.Sprintf("must be at most %d characters", webhook.MaxURLLength))
	case httpsOnly && (err != nil || u.Scheme != "https" || u.Host == "" || !strings.HasPrefix(raw, "https://")):
		v.Add(field, "must be a URL starting with https://")
	case err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		v.Add(field, "must be an absolute http or https URL")
	}
}

func addErr(v *tender.Validation, err error) {
	for f, p := range tender.ErrorFields(err) {
		v.Add(f, p)
	}
}

// ---- custom providers ----

// CustomProviderParams create (or replace) a location's custom provider.
// SupportsSubscriptionSchedule is required (nil is EINVALID).
type CustomProviderParams struct {
	Name                         string
	Description                  string
	PaymentsURL                  string
	QueryURL                     string
	ImageURL                     string
	SupportsSubscriptionSchedule *bool
}

func (s *Service) checkParams(p CustomProviderParams) error {
	var v tender.Validation
	text(&v, "name", p.Name, maxNameLen)
	text(&v, "description", p.Description, maxDescriptionLen)
	if err := CheckProviderURL("paymentsUrl", p.PaymentsURL, s.AllowPrivate); err != nil {
		addErr(&v, err)
	}
	if err := CheckProviderURL("queryUrl", p.QueryURL, s.AllowPrivate); err != nil {
		addErr(&v, err)
	}
	checkImageURL(&v, "imageUrl", p.ImageURL, false)
	if p.SupportsSubscriptionSchedule == nil {
		v.Add("supportsSubscriptionSchedule", "must be a boolean value")
	}
	return v.Err()
}

// CreateCustomProvider associates the marketplace app appID with the
// scope's location. A second call for the same location and app replaces
// the name, description, URLs and capability and keeps the connected keys
// (an app may call it again on every installation).
func (s *Service) CreateCustomProvider(ctx context.Context, sc tender.Scope, appID string, p CustomProviderParams) (*tender.CustomProvider, error) {
	if err := s.checkParams(p); err != nil {
		return nil, err
	}
	var out *tender.CustomProvider
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		cp, err := tx.FindCustomProvider(ctx, sc.AccountID, appID)
		typ := tender.EventCustomProviderUpdated
		switch {
		case tender.ErrorCode(err) == tender.ENOTFOUND:
			typ = tender.EventCustomProviderCreated
			cp = &tender.CustomProvider{ID: tender.NewID(tender.PrefixCustomProvider, now), AccountID: sc.AccountID, AppID: appID,
				CreatedAt: now}
		case err != nil:
			return err
		}
		cp.Name, cp.Description, cp.PaymentsURL, cp.QueryURL, cp.ImageURL = p.Name, p.Description, p.PaymentsURL, p.QueryURL, p.ImageURL
		cp.SupportsSubscriptionSchedule, cp.UpdatedAt = *p.SupportsSubscriptionSchedule, now
		if typ == tender.EventCustomProviderCreated {
			err = tx.CreateCustomProvider(ctx, cp)
		} else {
			err = tx.UpdateCustomProvider(ctx, cp)
		}
		if err != nil {
			return err
		}
		out = cp
		return event.Record(ctx, tx, live(sc.AccountID), typ, cp)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindCustomProvider returns the location's custom provider of appID, or
// ErrNoConfig.
func (s *Service) FindCustomProvider(ctx context.Context, sc tender.Scope, appID string) (*tender.CustomProvider, error) {
	var cp *tender.CustomProvider
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		cp, err = findConfig(ctx, tx, sc.AccountID, appID)
		return err
	})
	return cp, err
}

func findConfig(ctx context.Context, tx store.Tx, accountID, appID string) (*tender.CustomProvider, error) {
	cp, err := tx.FindCustomProvider(ctx, accountID, appID)
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil, ErrNoConfig()
	}
	return cp, err
}

// DeleteCustomProvider deletes the location's association with appID: its
// keys are wiped and it takes no more payments. Payments it took keep
// naming it; refunding them needs the provider again (they fail).
func (s *Service) DeleteCustomProvider(ctx context.Context, sc tender.Scope, appID string) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		cp, err := findConfig(ctx, tx, sc.AccountID, appID)
		if err != nil {
			return err
		}
		cp.Deleted, cp.Live, cp.Test, cp.UpdatedAt = true, nil, nil, tx.Now()
		if err := tx.UpdateCustomProvider(ctx, cp); err != nil {
			return err
		}
		return event.Record(ctx, tx, live(sc.AccountID), tender.EventCustomProviderDeleted, cp)
	})
}

// Keys are a mode's keys as a caller gives them, in clear.
type Keys struct {
	APIKey         string
	PublishableKey string
}

// Connect sets the location's provider keys of both modes (HighLevel's
// connect call requires both), replacing keys connected before. field
// prefixes are "live" and "test".
func (s *Service) Connect(ctx context.Context, sc tender.Scope, appID string, liveKeys, testKeys *Keys) (*tender.CustomProvider, error) {
	var v tender.Validation
	for _, k := range []struct {
		field string
		keys  *Keys
	}{{"live", liveKeys}, {"test", testKeys}} {
		if k.keys == nil {
			v.Add(k.field, "should not be empty")
			continue
		}
		text(&v, k.field+".apiKey", k.keys.APIKey, maxKeyLen)
		text(&v, k.field+".publishableKey", k.keys.PublishableKey, maxKeyLen)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sealed := map[tender.Mode]string{}
	for m, k := range map[tender.Mode]*Keys{tender.ModeLive: liveKeys, tender.ModeTest: testKeys} {
		var err error
		if sealed[m], err = s.sealer.Seal([]byte(k.APIKey)); err != nil {
			return nil, err
		}
	}
	var out *tender.CustomProvider
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		cp, err := findConfig(ctx, tx, sc.AccountID, appID)
		if err != nil {
			return err
		}
		now := tx.Now()
		cp.Live = &tender.ProviderKeys{APIKeySealed: sealed[tender.ModeLive], APIKeyHint: hint(liveKeys.APIKey),
			PublishableKey: liveKeys.PublishableKey, ConnectedAt: now}
		cp.Test = &tender.ProviderKeys{APIKeySealed: sealed[tender.ModeTest], APIKeyHint: hint(testKeys.APIKey),
			PublishableKey: testKeys.PublishableKey, ConnectedAt: now}
		cp.UpdatedAt = now
		if err := tx.UpdateCustomProvider(ctx, cp); err != nil {
			return err
		}
		out = cp
		for _, m := range []tender.Mode{tender.ModeLive, tender.ModeTest} {
			if err := event.Record(ctx, tx, tender.Scope{AccountID: sc.AccountID, Mode: m}, tender.EventCustomProviderConnected, cp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hint is what may be shown of an API key: its last four characters (none
// of a key shorter than twelve).
func hint(key string) string {
	if len(key) < 12 {
		return ""
	}
	return key[len(key)-4:]
}

// Disconnect removes the location's provider keys of mode m. Disconnecting
// a mode that is not connected changes nothing and succeeds.
func (s *Service) Disconnect(ctx context.Context, sc tender.Scope, appID string, m tender.Mode) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		cp, err := findConfig(ctx, tx, sc.AccountID, appID)
		if err != nil {
			return err
		}
		if cp.Keys(m) == nil {
			return nil
		}
		cp.SetKeys(m, nil)
		cp.UpdatedAt = tx.Now()
		if err := tx.UpdateCustomProvider(ctx, cp); err != nil {
			return err
		}
		return event.Record(ctx, tx, tender.Scope{AccountID: sc.AccountID, Mode: m}, tender.EventCustomProviderDisconnected, cp)
	})
}

// SetCapabilities sets whether the location's provider of appID supports
// subscription schedules.
func (s *Service) SetCapabilities(ctx context.Context, sc tender.Scope, appID string, supports bool) error {
	return s.Store.Write(ctx, func(tx store.Tx) error {
		cp, err := findConfig(ctx, tx, sc.AccountID, appID)
		if err != nil {
			return err
		}
		return setCapability(ctx, tx, cp, supports)
	})
}

// SetCompanyCapabilities sets the capability on appID's providers in every
// location of the organization (HighLevel company) companyID, which must
// be sc's, and sc a company token's (a location token may not act for its
// company). It returns ErrNoConfig when no location has one.
func (s *Service) SetCompanyCapabilities(ctx context.Context, sc tender.Scope, companyID, appID string, supports bool) error {
	if companyID != sc.OrganizationID || sc.CredentialKind != tender.CredentialHighLevelCompany {
		return tender.Errorf(tender.EFORBIDDEN, "The token does not have access to this company")
	}
	return s.Store.Write(ctx, func(tx store.Tx) error {
		list, err := tx.ListCustomProvidersByApp(ctx, companyID, appID)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return ErrNoConfig()
		}
		for _, cp := range list {
			if err := setCapability(ctx, tx, cp, supports); err != nil {
				return err
			}
		}
		return nil
	})
}

func setCapability(ctx context.Context, tx store.Tx, cp *tender.CustomProvider, supports bool) error {
	if cp.SupportsSubscriptionSchedule == supports {
		return nil
	}
	cp.SupportsSubscriptionSchedule, cp.UpdatedAt = supports, tx.Now()
	if err := tx.UpdateCustomProvider(ctx, cp); err != nil {
		return err
	}
	return event.Record(ctx, tx, live(cp.AccountID), tender.EventCustomProviderUpdated, cp)
}

// ShownAPIKey is what tender shows of a provider's API key of mode m: the
// test key in full (as HighLevel's own example does; it moves no real
// money), the live key only as "****" and its last four characters ("****"
// alone for a key shorter than twelve). It returns "" for a mode that is not
// connected.
func (s *Service) ShownAPIKey(cp *tender.CustomProvider, m tender.Mode) (string, error) {
	k := cp.Keys(m)
	if k == nil {
		return "", nil
	}
	if m == tender.ModeLive {
		return "****" + k.APIKeyHint, nil
	}
	b, err := s.sealer.Open(k.APIKeySealed)
	if err != nil {
		return "", fmt.Errorf("provider: open the test API key of %s: %w", cp.ID, err)
	}
	return string(b), nil
}

// ---- the payment path ----

// Secret is a value that must not be logged: it formats and marshals as
// "[redacted]". Reveal returns it.
type Secret string

// String redacts s.
func (Secret) String() string { return "[redacted]" }

// GoString redacts s.
func (Secret) GoString() string { return "[redacted]" }

// MarshalJSON redacts s.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Reveal returns the secret itself, to send where it belongs.
func (s Secret) Reveal() string { return string(s) }

// Endpoint is what calling a custom provider needs: where, for which
// location and mode, and the mode's API key (in memory only).
type Endpoint struct {
	ProviderID string
	AccountID  string
	AppID      string
	Mode       tender.Mode
	QueryURL   string
	APIKey     Secret
}

// Connected returns the endpoint of the account's custom provider connected
// for mode m (the one connected last, when several apps are), or ENOTFOUND
// when the account takes that mode's payments itself.
func (s *Service) Connected(ctx context.Context, accountID string, m tender.Mode) (*Endpoint, error) {
	var cp *tender.CustomProvider
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		cp, err = tx.FindConnectedCustomProvider(ctx, accountID, m)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.endpoint(cp, m)
}

// EndpointByID returns the endpoint of custom provider id in mode m, for
// calls about a payment it took. It returns EPROCESSOR when the provider
// was deleted or that mode disconnected since.
func (s *Service) EndpointByID(ctx context.Context, id string, m tender.Mode) (*Endpoint, error) {
	var cp *tender.CustomProvider
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		cp, err = tx.FindCustomProviderByID(ctx, id)
		return err
	})
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil, tender.Errorf(tender.EPROCESSOR, "the custom provider %s that took this payment no longer exists", id)
	} else if err != nil {
		return nil, err
	}
	if cp.Deleted || cp.Keys(m) == nil {
		return nil, tender.Errorf(tender.EPROCESSOR, "the custom provider %s that took this payment is deleted or its %s keys are disconnected; "+
			"connect it again to act on the payment", id, m)
	}
	return s.endpoint(cp, m)
}

func (s *Service) endpoint(cp *tender.CustomProvider, m tender.Mode) (*Endpoint, error) {
	b, err := s.sealer.Open(cp.Keys(m).APIKeySealed)
	if err != nil {
		return nil, fmt.Errorf("provider: open the %s API key of %s: %w", m, cp.ID, err)
	}
	return &Endpoint{ProviderID: cp.ID, AccountID: cp.AccountID, AppID: cp.AppID, Mode: m, QueryURL: cp.QueryURL, APIKey: Secret(b)}, nil
}

// ---- white-label providers ----

// WhiteLabelParams create a white-label provider.
type WhiteLabelParams struct {
	UniqueName  string
	Title       string
	Description string
	Provider    string
	ImageURL    string
}

// CreateWhiteLabelProvider adds a white-label provider to the scope's
// location. Its unique name must be free in the location (ECONFLICT).
func (s *Service) CreateWhiteLabelProvider(ctx context.Context, sc tender.Scope, p WhiteLabelParams) (*tender.WhiteLabelProvider, error) {
	var v tender.Validation
	switch {
	case p.UniqueName == "":
		v.Add("uniqueName", "should not be empty")
	case !tender.ValidUniqueName(p.UniqueName):
		v.Add("uniqueName", fmt.Sprintf("must hold only lowercase letters and hyphens, start and end with a letter, and be at most %d characters",
			tender.MaxUniqueNameLen))
	}
	text(&v, "title", p.Title, maxNameLen)
	text(&v, "description", p.Description, maxDescriptionLen)
	switch p.Provider {
	case tender.WhiteLabelKinds[0], tender.WhiteLabelKinds[1]:
	default:
		v.Add("provider", "must be one of the following values: "+strings.Join(tender.WhiteLabelKinds, ", "))
	}
	checkImageURL(&v, "imageUrl", p.ImageURL, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *tender.WhiteLabelProvider
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		wl := &tender.WhiteLabelProvider{ID: tender.NewID(tender.PrefixWhiteLabelProvider, now), AccountID: sc.AccountID,
			UniqueName: p.UniqueName, Title: p.Title, Description: p.Description, Provider: p.Provider, ImageURL: p.ImageURL,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateWhiteLabelProvider(ctx, wl); err != nil {
			return err
		}
		out = wl
		return event.Record(ctx, tx, live(sc.AccountID), tender.EventWhiteLabelProviderCreated, wl)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListWhiteLabelProviders returns up to limit of the location's white-label
// providers, newest first, after skipping offset.
func (s *Service) ListWhiteLabelProviders(ctx context.Context, sc tender.Scope, limit, offset int) ([]*tender.WhiteLabelProvider, error) {
	var out []*tender.WhiteLabelProvider
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		out, err = tx.ListWhiteLabelProviders(ctx, sc.AccountID, limit, offset)
		return err
	})
	return out, err
}
