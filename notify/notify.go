// Package notify holds the business rules of webhook endpoints: the URLs
// that receive an account's events. Each dialect's endpoint API (Forward's
// /webhook_endpoints, later forhopp's and HighLevel's) calls this one
// service to create, change, delete and list endpoints; delivery itself is
// package webhook's.
//
// # Rules
//
//   - url is an absolute http or https URL of at most 2048 bytes, without
//     credentials or a fragment (webhook.CheckURL and more). A literal
//     loopback, private, link-local or otherwise internal address, or
//     localhost, is refused unless the service allows private targets
//     (Service.AllowPrivate, for local development and tests). Host names
//     are not resolved here: the delivery engine checks every address it
//     connects to, after resolution.
//   - events is a non-empty list of the dialect's event names, or "*" for
//     all of them; duplicates are dropped and "*" absorbs the rest.
//   - description is at most 500 bytes.
//   - A new endpoint is enabled unless asked otherwise.
//
// # Secrets
//
// Create makes the endpoint's signing secret, in the dialect's format, and
// stores it sealed with the installation's master key (AES-256-GCM, see
// package webhook/signature). The clear secret is returned once, by
// Create; afterwards only the engine opens the sealed copy, to sign.
//
// # Errors
//
// EINVALID names the field at fault; ENOTFOUND for an id outside the
// caller's scope, of another dialect, or deleted.
package notify

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/webhook"
	"github.com/tenderpay/tender/webhook/signature"
)

// Field limits.
const (
	MaxURLLength         = webhook.MaxURLLength
	MaxDescriptionLength = 500
	MaxEvents            = 100
)

// Dialect is what the endpoint service needs to know of the dialect an
// endpoint belongs to.
type Dialect interface {
	// Name is the dialect's name as endpoints store it ("forward").
	Name() string
	// EventNames lists every event name an endpoint of the dialect may
	// subscribe to.
	EventNames() []string
	// NewSecret makes a new signing secret in the dialect's format (a
	// Standard Webhooks "whsec_…" secret for Forward).
	NewSecret() (string, error)
}

// Service manages webhook endpoints.
type Service struct {
	Store store.Store
	// AllowPrivate lets endpoints point at loopback and private addresses
	// (tender serve --webhooks-allow-private).
	AllowPrivate bool

	sealer *signature.Sealer
}

// New returns a service over st that seals secrets with a key derived from
// masterKey (at least 32 bytes: the installation's secret).
func New(st store.Store, masterKey []byte) (*Service, error) {
	sealer, err := signature.NewSealer(masterKey)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return &Service{Store: st, sealer: sealer}, nil
}

// OpenSecret returns the clear secret of a sealed one (an endpoint's
// SecretSealed).
func (s *Service) OpenSecret(sealed string) (string, error) {
	b, err := s.sealer.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("notify: open endpoint secret: %w", err)
	}
	return string(b), nil
}

// EndpointParams creates an endpoint.
type EndpointParams struct {
	URL         string
	Events      []string
	Description string
	// Enabled defaults to true.
	Enabled *bool
}

// EndpointUpdate changes an endpoint; nil fields stay as they are.
type EndpointUpdate struct {
	URL         *string
	Events      []string
	Description *string
	Enabled     *bool
}

// Created is the result of Create: the endpoint and its clear secret,
// which nothing else ever returns.
type Created struct {
	Endpoint *tender.WebhookEndpoint
	Secret   string
}

// checkURL validates a URL field: the delivery engine's rules
// (webhook.CheckURL: an absolute http or https URL, not a literal internal
// address nor localhost unless AllowPrivate), and no credentials or
// fragment, which a signed delivery has no use for and which would keep a
// secret in clear in the endpoint's row.
func (s *Service) checkURL(v *tender.Validation, raw string) {
	if err := webhook.CheckURL(raw, s.AllowPrivate); err != nil {
		for _, p := range tender.ErrorFields(err) {
			v.Add("url", p)
			return
		}
		v.Add("url", tender.ErrorMessage(err))
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.Add("url", "must be an absolute http or https URL")
	case u.User != nil:
		v.Add("url", "must not hold credentials (user:password@); receivers authenticate deliveries by their signature")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		v.Add("url", "must not have a fragment")
	}
}

// normEvents validates a subscription list and returns it without
// duplicates, or ["*"] when it holds "*".
func normEvents(v *tender.Validation, d Dialect, events []string) []string {
	if len(events) == 0 {
		v.Add("events", `must list at least one event name, or "*" for all`)
		return nil
	}
	if len(events) > MaxEvents {
		v.Add("events", fmt.Sprintf("must list at most %d event names", MaxEvents))
		return nil
	}
	known := d.EventNames()
	out := make([]string, 0, len(events))
	for _, e := range events {
		switch {
		case e == "*":
			return []string{"*"}
		case !slices.Contains(known, e):
			v.Add("events", fmt.Sprintf(`holds %q, which is not a %s event name (see the documentation, or use "*")`, clip(e, 80), d.Name()))
			return nil
		case !slices.Contains(out, e):
			out = append(out, e)
		}
	}
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func checkDescription(v *tender.Validation, d string) {
	if len(d) > MaxDescriptionLength {
		v.Add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLength))
	}
}

// Create validates p, makes the endpoint and its secret, and stores the
// endpoint with the secret sealed. It runs the context's commit hook with
// the *Created result.
func (s *Service) Create(ctx context.Context, sc tender.Scope, d Dialect, p EndpointParams) (*Created, error) {
	var v tender.Validation
	if p.URL == "" {
		v.Add("url", "is required")
	} else {
		s.checkURL(&v, p.URL)
	}
	events := normEvents(&v, d, p.Events)
	checkDescription(&v, p.Description)
	if err := v.Err(); err != nil {
		return nil, err
	}
	secret, err := d.NewSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal([]byte(secret))
	if err != nil {
		return nil, err
	}
	enabled := true
	if p.Enabled != nil {
		enabled = *p.Enabled
	}
	var out *Created
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		ep := &tender.WebhookEndpoint{ID: tender.NewID(tender.PrefixEndpoint, now), AccountID: sc.AccountID, Mode: sc.Mode,
			Dialect: d.Name(), URL: p.URL, Events: events, Description: p.Description, Enabled: enabled,
			SecretSealed: sealed, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		out = &Created{Endpoint: ep, Secret: secret}
		return store.RunCommitHook(ctx, tx, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// find returns the undeleted endpoint id of dialect d in scope sc.
func find(ctx context.Context, tx store.Tx, sc tender.Scope, d Dialect, id string) (*tender.WebhookEndpoint, error) {
	ep, err := tx.FindWebhookEndpointByID(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if ep.Dialect != d.Name() {
		return nil, tender.Errorf(tender.ENOTFOUND, "webhook endpoint %s not found", id)
	}
	return ep, nil
}

// Find returns the endpoint id of dialect d, read in tx.
func Find(ctx context.Context, tx store.Tx, sc tender.Scope, d Dialect, id string) (*tender.WebhookEndpoint, error) {
	return find(ctx, tx, sc, d, id)
}

// Get returns the endpoint id of dialect d.
func (s *Service) Get(ctx context.Context, sc tender.Scope, d Dialect, id string) (*tender.WebhookEndpoint, error) {
	var ep *tender.WebhookEndpoint
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		ep, err = find(ctx, tx, sc, d, id)
		return err
	})
	return ep, err
}

// Update applies u to the endpoint id. Enabling an endpoint clears what the
// engine recorded when it disabled it (reason, failing since). It runs the
// context's commit hook with the updated endpoint.
func (s *Service) Update(ctx context.Context, sc tender.Scope, d Dialect, id string, u EndpointUpdate) (*tender.WebhookEndpoint, error) {
	var v tender.Validation
	var events []string
	if u.URL != nil {
		if *u.URL == "" {
			v.Add("url", "must not be empty")
		} else {
			s.checkURL(&v, *u.URL)
		}
	}
	if u.Events != nil {
		events = normEvents(&v, d, u.Events)
	}
	if u.Description != nil {
		checkDescription(&v, *u.Description)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var ep *tender.WebhookEndpoint
	err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if ep, err = find(ctx, tx, sc, d, id); err != nil {
			return err
		}
		if u.URL != nil {
			ep.URL = *u.URL
		}
		if events != nil {
			ep.Events = events
		}
		if u.Description != nil {
			ep.Description = *u.Description
		}
		if u.Enabled != nil {
			if *u.Enabled && !ep.Enabled {
				ep.DisabledReason, ep.FailingSince = "", nil
			}
			ep.Enabled = *u.Enabled
		}
		ep.UpdatedAt = tx.Now()
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, ep)
	})
	if err != nil {
		return nil, err
	}
	return ep, nil
}

// Delete marks the endpoint id deleted (and disabled): it receives nothing
// more and no longer appears, but its row and delivery log stay. It runs the
// context's commit hook with the deleted endpoint.
func (s *Service) Delete(ctx context.Context, sc tender.Scope, d Dialect, id string) (*tender.WebhookEndpoint, error) {
	var ep *tender.WebhookEndpoint
	err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if ep, err = find(ctx, tx, sc, d, id); err != nil {
			return err
		}
		ep.Deleted, ep.Enabled = true, false
		ep.UpdatedAt = tx.Now()
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
		return store.RunCommitHook(ctx, tx, ep)
	})
	if err != nil {
		return nil, err
	}
	return ep, nil
}

// List returns a newest-first page of dialect d's undeleted endpoints and
// whether more lie beyond it, read in tx. Endpoints of other dialects are
// skipped without shortening the page.
func List(ctx context.Context, tx store.Tx, sc tender.Scope, d Dialect, p tender.Page) ([]*tender.WebhookEndpoint, bool, error) {
	if p.Limit <= 0 {
		p.Limit = 10
	}
	limit := p.Limit
	backward := p.EndingBefore != "" && p.StartingAfter == ""
	var out []*tender.WebhookEndpoint
	for {
		items, more, err := tx.ListWebhookEndpoints(ctx, sc, p)
		if err != nil {
			return nil, false, err
		}
		for _, ep := range items {
			if ep.Dialect == d.Name() {
				out = append(out, ep)
			}
		}
		if len(out) < limit && more && len(items) > 0 {
			// Read on in the direction of travel: items are newest first.
			if backward {
				p.EndingBefore = items[0].ID
			} else {
				p.StartingAfter = items[len(items)-1].ID
			}
			continue
		}
		slices.SortFunc(out, func(a, b *tender.WebhookEndpoint) int { return strings.Compare(b.ID, a.ID) })
		if len(out) > limit {
			// Keep the endpoints nearest the cursor.
			if backward {
				out = out[len(out)-limit:]
			} else {
				out = out[:limit]
			}
			more = true
		}
		return out, more, nil
	}
}

// List returns a page of dialect d's endpoints (see the package-level List).
func (s *Service) List(ctx context.Context, sc tender.Scope, d Dialect, p tender.Page) ([]*tender.WebhookEndpoint, bool, error) {
	var items []*tender.WebhookEndpoint
	var more bool
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		items, more, err = List(ctx, tx, sc, d, p)
		return err
	})
	return items, more, err
}
