package highlevel

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/webhook/signature"
)

// DialectName is the HighLevel dialect's name, as its webhook endpoints
// store it.
const DialectName = "highlevel"

// Public key files served under /.well-known/tender/.
const (
	rsaPublicKeyFile     = "highlevel-webhook-public-key.pem"
	ed25519PublicKeyFile = "highlevel-webhook-ed25519-public-key.pem"
	rsaKeyName           = "highlevel.webhook.rsa" // installation value: the sealed RSA private key
	ed25519Info          = "tender highlevel webhook ed25519 v1"
	rsaKeyBits           = 2048
)

// WebhookKeys are the installation's HighLevel webhook signing keys: an RSA
// key for the legacy x-wh-signature and an Ed25519 key for x-ghl-signature.
// Every tender process of an installation signs with the same keys: the
// Ed25519 key is derived from the master secret, and the RSA key is made
// once, sealed with the master secret and kept in the database.
type WebhookKeys struct {
	RSA        *rsa.PrivateKey
	Ed25519    ed25519.PrivateKey
	RSAPEM     []byte // public half, PKIX PEM
	Ed25519PEM []byte // public half, PKIX PEM
}

// KeySource loads the installation's webhook keys on first use and keeps
// them; a failed load is tried again on the next call.
type KeySource struct {
	Store  store.Store
	Master []byte

	mu   sync.Mutex
	keys *WebhookKeys
}

// Keys returns the installation's keys, making the RSA key if none exists.
func (s *KeySource) Keys(ctx context.Context) (*WebhookKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		return s.keys, nil
	}
	seed, err := hkdf.Key(sha256.New, s.Master, nil, ed25519Info, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	k := &WebhookKeys{Ed25519: ed25519.NewKeyFromSeed(seed)}
	if k.Ed25519PEM, err = signature.MarshalEd25519PublicKeyPEM(k.Ed25519.Public().(ed25519.PublicKey)); err != nil {
		return nil, err
	}
	var sealed string
	err = s.Store.Read(ctx, func(tx store.Tx) (err error) {
		sealed, err = tx.FindInstallationValue(ctx, rsaKeyName)
		return err
	})
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		// Make one; if another process stored one meanwhile, use that.
		key, gerr := signature.GenerateRSAKey(rsaKeyBits)
		if gerr != nil {
			return nil, gerr
		}
		p, gerr := signature.MarshalPrivateKeyPEM(key)
		if gerr != nil {
			return nil, gerr
		}
		mine, gerr := signature.Seal(s.Master, p)
		if gerr != nil {
			return nil, gerr
		}
		err = s.Store.Write(ctx, func(tx store.Tx) (err error) {
			sealed, err = tx.PutInstallationValue(ctx, rsaKeyName, mine)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("highlevel webhook key: %w", err)
	}
	p, err := signature.Open(s.Master, sealed)
	if err != nil {
		return nil, fmt.Errorf("highlevel webhook key: %w", err)
	}
	if k.RSA, err = signature.ParsePrivateKeyPEM(p); err != nil {
		return nil, err
	}
	if k.RSAPEM, err = signature.MarshalPublicKeyPEM(&k.RSA.PublicKey); err != nil {
		return nil, err
	}
	s.keys = k
	return k, nil
}

// PublicKey returns a served public key file by name, for Handler.PublicKeys.
func (s *KeySource) PublicKey(name string) ([]byte, bool) {
	k, err := s.Keys(context.Background())
	if err != nil {
		return nil, false
	}
	switch name {
	case rsaPublicKeyFile:
		return k.RSAPEM, true
	case ed25519PublicKeyFile:
		return k.Ed25519PEM, true
	}
	return nil, false
}

// webhookEvents maps core event types to HighLevel's webhook names, and
// webhookRenderers render an event's object (by object type) as HighLevel
// receivers get it. Endpoint groups add theirs with registerWebhook in
// init functions; a core event without a name is not delivered.
var (
	webhookEvents    = map[string]string{}
	webhookRenderers = map[string]func(ev *tender.Event) (map[string]any, error){}
)

// registerWebhook maps core event types to HighLevel names, rendered by
// render for events about objectType.
func registerWebhook(objectType string, render func(ev *tender.Event) (map[string]any, error), names map[string]string) {
	webhookRenderers[objectType] = render
	for core, name := range names {
		webhookEvents[core] = name
	}
}

// WebhookDialect delivers events to HighLevel endpoints (a marketplace
// app's webhook URL): HighLevel's event names, a body that is the object as
// HighLevel renders it with "type" and "locationId" added, signed with the
// installation's keys in both of HighLevel's headers. It implements
// webhook.Dialect and notify.Dialect.
type WebhookDialect struct {
	Keys *KeySource
}

// Name returns "highlevel".
func (d *WebhookDialect) Name() string { return DialectName }

// EventName maps a core event type to HighLevel's name, or "".
func (d *WebhookDialect) EventName(coreType string) string { return webhookEvents[coreType] }

// EventNames lists HighLevel's event names that tender delivers, sorted.
func (d *WebhookDialect) EventNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range webhookEvents {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// NewSecret returns a marker: HighLevel endpoints have no secret of their
// own; every delivery is signed with the installation's keys, whose public
// halves are served under /.well-known/tender/.
func (d *WebhookDialect) NewSecret() (string, error) { return "installation-key", nil }

// Sign returns x-wh-signature (RSA-SHA256) and x-ghl-signature (Ed25519)
// of body.
func (d *WebhookDialect) Sign(_ string, _ string, _ time.Time, body []byte) (http.Header, error) {
	k, err := d.Keys.Keys(context.Background())
	if err != nil {
		return nil, err
	}
	rs, err := signature.SignHighLevel(k.RSA, body)
	if err != nil {
		return nil, err
	}
	es, err := signature.SignHighLevelEd25519(k.Ed25519, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(signature.HighLevelHeader, rs)
	h.Set(signature.HighLevelEd25519Header, es)
	return h, nil
}

// Payload renders ev under name: the object's HighLevel rendering with
// type, locationId, webhookId (the event id, the same on every attempt) and
// timestamp.
func (d *WebhookDialect) Payload(ev *tender.Event, name string) ([]byte, error) {
	render := webhookRenderers[ev.ObjectType]
	if render == nil {
		return nil, fmt.Errorf("highlevel: no webhook rendering of %s objects", ev.ObjectType)
	}
	m, err := render(ev)
	if err != nil {
		return nil, err
	}
	m["type"] = name
	m["locationId"] = ev.AccountID
	m["webhookId"] = ev.ID
	m["timestamp"] = FormatTime(ev.CreatedAt)
	return json.Marshal(m)
}
