// Package highlevel is the HighLevel (LeadConnector) Payments API dialect:
// its paths under /payments and /products, Bearer tokens with OAuth scopes,
// the Version header, altId/altType addressing, offset pagination, its
// rate-limit headers and its error envelope, translated to the core
// services. Choices where HighLevel's spec is silent or self-contradictory
// are written down in docs/highlevel.md.
//
// Each endpoint group registers its routes from its own file (see
// Register); this file holds what they share.
package highlevel

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/catalog"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/order"
	"github.com/tenderpay/tender/provider"
	"github.com/tenderpay/tender/store"
)

// Versions are the accepted values of the Version header: the spec's
// 2021-07-28, the official SDK's default 2023-02-21, and v3.
var Versions = []string{"2021-07-28", "2023-02-21", "v3"}

// Handler serves the HighLevel dialect.
type Handler struct {
	Accounts *account.Service
	Store    store.Store
	Log      *slog.Logger
	// Limiter enforces HighLevel's rate limits; nil turns them off.
	Limiter *Limiter
	// PublicKeys serves the webhook signing keys' public halves, by file
	// name under /.well-known/tender/; nil serves none.
	PublicKeys func(name string) ([]byte, bool)
	// Notify and Webhook serve the webhook endpoint extension; nil answers
	// those routes 501.
	Notify    *notify.Service
	Webhook   *WebhookDialect
	Catalog   *catalog.Service
	Providers *provider.Service // custom and white-label providers
	Orders    *order.Service
}

// endpoint serves one route for an authenticated token.
type endpoint func(w http.ResponseWriter, r *http.Request, sc tender.Scope) error

// route adds pattern to mux, guarded by the OAuth scope need ("" for a
// route the spec lists without a scope: any valid token may call it).
func (h *Handler) route(mux *http.ServeMux, pattern, need string, fn endpoint) {
	mux.HandleFunc(pattern, h.wrap(need, fn))
}

// Register adds the HighLevel routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /openapi/highlevel.json", serveOpenAPI)
	mux.HandleFunc("GET /.well-known/tender/{name}", h.publicKey)
	for _, group := range routeGroups {
		group(h, mux)
	}
	// Unknown paths of HighLevel's trees answer in its envelope.
	mux.HandleFunc("/payments/orders/", notFound)
	mux.HandleFunc("/payments/transactions/", notFound)
	mux.HandleFunc("/payments/subscriptions/", notFound)
	mux.HandleFunc("/payments/coupon/", notFound)
	mux.HandleFunc("/payments/custom-provider/", notFound)
	mux.HandleFunc("/payments/integrations/", notFound)
	mux.HandleFunc("/payments/webhook-endpoints/", notFound)
	mux.HandleFunc("/products/", notFound)
}

// routeGroups register the endpoint groups; each group's file appends
// itself in an init function, so that groups are added without editing
// this file.
var routeGroups []func(h *Handler, mux *http.ServeMux)

// IsPath reports whether path belongs to the HighLevel dialect (for the
// server's metrics and error envelopes).
func IsPath(path string) bool {
	for _, p := range []string{"/payments/orders", "/payments/transactions", "/payments/subscriptions", "/payments/coupon",
		"/payments/custom-provider", "/payments/integrations", "/payments/webhook-endpoints", "/products"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return path == "/openapi/highlevel.json" || strings.HasPrefix(path, "/.well-known/tender/highlevel")
}

// wrap checks the Version header, the bearer token, its scope and the rate
// limit, recovers panics into HighLevel's envelope, and writes the
// endpoint's error.
func (h *Handler) wrap(need string, fn endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				h.Log.Error("panic", "request_id", api.RequestID(r.Context()), "panic", p, "stack", string(debug.Stack()))
				writeError(w, r, tender.Errorf(tender.EINTERNAL, "panic"))
			}
		}()
		sc, err := h.authenticate(w, r, need)
		if err != nil {
			writeError(w, r, err)
			return
		}
		api.NoteAccount(r.Context(), sc.AccountID)
		if err := fn(w, r, sc); err != nil {
			writeError(w, r, err)
		}
	}
}

func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, need string) (tender.Scope, error) {
	switch v := r.Header.Get("Version"); {
	case v == "":
		return tender.Scope{}, errBadRequest("Version header was not found")
	case !slices.Contains(Versions, v):
		return tender.Scope{}, errBadRequest("Version header is invalid: use one of %s", strings.Join(Versions, ", "))
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "Invalid token: access token is invalid")
	}
	sc, err := h.Accounts.Authenticate(r.Context(), strings.TrimSpace(token))
	if tender.ErrorCode(err) == tender.EUNAUTHORIZED {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "Invalid token: access token is invalid")
	} else if err != nil {
		return tender.Scope{}, err
	}
	if sc.CredentialKind != tender.CredentialHighLevelLocation && sc.CredentialKind != tender.CredentialHighLevelCompany {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "Invalid token: access token is invalid")
	}
	if h.Limiter != nil {
		if err := h.Limiter.Allow(sc.CredentialID+"/"+sc.AccountID, w.Header()); err != nil {
			return tender.Scope{}, err
		}
	}
	if need != "" && !sc.HasScope(need) {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "The token is not authorized for this scope.")
	}
	return sc, nil
}

// Locate narrows the token's scope to the location (account) id named by a
// request's altId or locationId. A location token may name only its own
// location; a company token any location of its company. Another location
// is EFORBIDDEN, as HighLevel answers. field names the parameter for the
// error when id is empty.
func (h *Handler) Locate(ctx context.Context, sc tender.Scope, field, id string) (tender.Scope, error) {
	if id == "" {
		return tender.Scope{}, tender.FieldError(field, "should not be empty")
	}
	if id == sc.AccountID {
		return sc, nil
	}
	if sc.CredentialKind != tender.CredentialHighLevelCompany {
		return tender.Scope{}, tender.Errorf(tender.EFORBIDDEN, "The token does not have access to this location")
	}
	out, err := h.Accounts.ActAs(ctx, sc, id)
	if tender.ErrorCode(err) == tender.EFORBIDDEN {
		return tender.Scope{}, tender.Errorf(tender.EFORBIDDEN, "The token does not have access to this location")
	}
	return out, err
}

// LocateQuery is Locate for the altId query parameter (or locationId when
// altId is absent and allowLocationID). With needAltType, altType must be
// present and "location"; otherwise it is optional but, when present, must
// be "location".
func (h *Handler) LocateQuery(r *http.Request, sc tender.Scope, needAltType, allowLocationID bool) (tender.Scope, error) {
	q := r.URL.Query()
	var v tender.Validation
	checkAltType(&v, q.Get("altType"), q.Has("altType"), needAltType)
	id, field := q.Get("altId"), "altId"
	if id == "" && allowLocationID {
		id = q.Get("locationId")
	}
	if id == "" {
		v.Add(field, "should not be empty")
	}
	if err := v.Err(); err != nil {
		return tender.Scope{}, err
	}
	return h.Locate(r.Context(), sc, field, id)
}

// checkAltType validates an altType value: HighLevel's only value is
// "location".
func checkAltType(v *tender.Validation, altType string, present, required bool) {
	switch {
	case !present && required:
		v.Add("altType", "must be one of the following values: location")
	case present && altType != "location":
		v.Add("altType", "must be one of the following values: location")
	}
}

// CheckBodyLocation validates a body's altId (required) and altType
// (required, "location"), before Locate resolves the id.
func CheckBodyLocation(v *tender.Validation, altID, altType string) {
	checkAltType(v, altType, altType != "", true)
	if altID == "" {
		v.Add("altId", "should not be empty")
	}
}

// Read runs fn in a read transaction and writes its value as JSON with
// status 200.
func (h *Handler) Read(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, tx store.Tx) (any, error)) error {
	var v any
	err := h.Store.Read(r.Context(), func(tx store.Tx) (err error) {
		v, err = fn(r.Context(), tx)
		return err
	})
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, v)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	api.WriteJSON(w, status, b)
	return nil
}

// Decode reads the JSON body into dst; type errors name the field.
func Decode(r *http.Request, dst any) error {
	body, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return tender.FieldError("body", "should not be empty")
	}
	return api.DecodeJSON(body, dst)
}
