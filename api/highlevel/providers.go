package highlevel

import (
	"net/http"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/provider"
)

// Custom providers (/payments/custom-provider/…) and white-label providers
// (/payments/integrations/provider/whitelabel). The rules live in package
// provider; this file translates HighLevel's wire shapes.

func init() { routeGroups = append(routeGroups, (*Handler).providerRoutes) }

// Scopes of the provider endpoints.
const (
	scopeIntegrationRead     = "payments/integration.readonly"
	scopeIntegrationWrite    = "payments/integration.write"
	scopeCustomProviderRead  = "payments/custom-provider.readonly"
	scopeCustomProviderWrite = "payments/custom-provider.write"
)

func (h *Handler) providerRoutes(mux *http.ServeMux) {
	h.route(mux, "POST /payments/integrations/provider/whitelabel", scopeIntegrationWrite, h.createWhiteLabel)
	h.route(mux, "GET /payments/integrations/provider/whitelabel", scopeIntegrationRead, h.listWhiteLabel)
	h.route(mux, "POST /payments/custom-provider/provider", scopeCustomProviderWrite, h.createCustomProvider)
	h.route(mux, "DELETE /payments/custom-provider/provider", scopeCustomProviderWrite, h.deleteCustomProvider)
	h.route(mux, "GET /payments/custom-provider/connect", scopeCustomProviderRead, h.getCustomProviderConfig)
	h.route(mux, "POST /payments/custom-provider/connect", scopeCustomProviderWrite, h.connectCustomProvider)
	h.route(mux, "POST /payments/custom-provider/disconnect", scopeCustomProviderWrite, h.disconnectCustomProvider)
	h.route(mux, "PUT /payments/custom-provider/capabilities", scopeCustomProviderWrite, h.customProviderCapabilities)
	h.route(mux, "GET /payments/custom-provider/payment-methods", scopeCustomProviderRead, h.listProviderPaymentMethods)
}

// ---- white-label providers ----

// wireWhiteLabel is HighLevel's IntegrationProviderSchema. route is the
// provider's unique name (HighLevel does not echo uniqueName).
type wireWhiteLabel struct {
	ID          string `json:"_id"`
	AltID       string `json:"altId"`
	AltType     string `json:"altType"`
	Title       string `json:"title"`
	Route       string `json:"route"`
	Provider    string `json:"provider"`
	Description string `json:"description"`
	ImageURL    string `json:"imageUrl"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
}

func toWireWhiteLabel(p *tender.WhiteLabelProvider) wireWhiteLabel {
	return wireWhiteLabel{ID: p.ID, AltID: p.AccountID, AltType: "location", Title: p.Title, Route: p.UniqueName,
		Provider: p.Provider, Description: p.Description, ImageURL: p.ImageURL, CreatedAt: FormatTime(p.CreatedAt),
		UpdatedAt: FormatTime(p.UpdatedAt)}
}

func (h *Handler) createWhiteLabel(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var body struct {
		AltID       string `json:"altId"`
		AltType     string `json:"altType"`
		UniqueName  string `json:"uniqueName"`
		Title       string `json:"title"`
		Provider    string `json:"provider"`
		Description string `json:"description"`
		ImageURL    string `json:"imageUrl"`
	}
	if err := Decode(r, &body); err != nil {
		return err
	}
	var v tender.Validation
	CheckBodyLocation(&v, body.AltID, body.AltType)
	if err := v.Err(); err != nil {
		return err
	}
	loc, err := h.Locate(r.Context(), sc, "altId", body.AltID)
	if err != nil {
		return err
	}
	p, err := h.Providers.CreateWhiteLabelProvider(r.Context(), loc, provider.WhiteLabelParams{UniqueName: body.UniqueName,
		Title: body.Title, Description: body.Description, Provider: body.Provider, ImageURL: body.ImageURL})
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, toWireWhiteLabel(p))
}

func (h *Handler) listWhiteLabel(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	q := NewQuery(r.URL.Query())
	limit, offset := q.Page(0)
	if err := q.V.Err(); err != nil {
		return err
	}
	loc, err := h.LocateQuery(r, sc, true, false)
	if err != nil {
		return err
	}
	if limit == 0 { // HighLevel's default, 0, means no limit: tender's page cap
		limit = MaxLimit
	}
	list, err := h.Providers.ListWhiteLabelProviders(r.Context(), loc, limit, offset)
	if err != nil {
		return err
	}
	out := make([]wireWhiteLabel, len(list))
	for i, p := range list {
		out[i] = toWireWhiteLabel(p)
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"providers": out})
}

// ---- custom providers ----

// wireModeKeys is one mode's entry of a custom provider's paymentProvider:
// liveMode, and the keys when that mode is connected (the live API key
// only masked, see provider.Service.ShownAPIKey).
type wireModeKeys struct {
	LiveMode       bool   `json:"liveMode"`
	APIKey         string `json:"apiKey,omitempty"`
	PublishableKey string `json:"publishableKey,omitempty"`
}

// wireCustomProvider is HighLevel's custom provider config
// (Create/Get/ConnectCustomProvidersResponseSchema).
type wireCustomProvider struct {
	ID               string                  `json:"_id"`
	Name             string                  `json:"name"`
	Description      string                  `json:"description"`
	PaymentsURL      string                  `json:"paymentsUrl"`
	QueryURL         string                  `json:"queryUrl"`
	ImageURL         string                  `json:"imageUrl"`
	LocationID       string                  `json:"locationId"`
	MarketplaceAppID string                  `json:"marketplaceAppId"`
	PaymentProvider  map[string]wireModeKeys `json:"paymentProvider"`
	Deleted          bool                    `json:"deleted"`
	CreatedAt        string                  `json:"createdAt"`
	UpdatedAt        string                  `json:"updatedAt"`
	TraceID          string                  `json:"traceId,omitempty"`
}

func (h *Handler) toWireCustomProvider(r *http.Request, p *tender.CustomProvider) (*wireCustomProvider, error) {
	out := &wireCustomProvider{ID: p.ID, Name: p.Name, Description: p.Description, PaymentsURL: p.PaymentsURL, QueryURL: p.QueryURL,
		ImageURL: p.ImageURL, LocationID: p.AccountID, MarketplaceAppID: p.AppID, Deleted: p.Deleted,
		CreatedAt: FormatTime(p.CreatedAt), UpdatedAt: FormatTime(p.UpdatedAt), TraceID: api.RequestID(r.Context()),
		PaymentProvider: map[string]wireModeKeys{}}
	for _, m := range []tender.Mode{tender.ModeLive, tender.ModeTest} {
		k := wireModeKeys{LiveMode: m == tender.ModeLive}
		if keys := p.Keys(m); keys != nil {
			shown, err := h.Providers.ShownAPIKey(p, m)
			if err != nil {
				return nil, err
			}
			k.APIKey, k.PublishableKey = shown, keys.PublishableKey
		}
		out.PaymentProvider[string(m)] = k
	}
	return out, nil
}

func (h *Handler) writeCustomProvider(w http.ResponseWriter, r *http.Request, p *tender.CustomProvider) error {
	out, err := h.toWireCustomProvider(r, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, out)
}

// locateProvider resolves the locationId query parameter of the custom
// provider endpoints.
func (h *Handler) locateProvider(r *http.Request, sc tender.Scope) (tender.Scope, error) {
	return h.Locate(r.Context(), sc, "locationId", r.URL.Query().Get("locationId"))
}

func (h *Handler) createCustomProvider(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateProvider(r, sc)
	if err != nil {
		return err
	}
	var body struct {
		Name                         string `json:"name"`
		Description                  string `json:"description"`
		PaymentsURL                  string `json:"paymentsUrl"`
		QueryURL                     string `json:"queryUrl"`
		ImageURL                     string `json:"imageUrl"`
		SupportsSubscriptionSchedule *bool  `json:"supportsSubscriptionSchedule"`
	}
	if err := Decode(r, &body); err != nil {
		return err
	}
	p, err := h.Providers.CreateCustomProvider(r.Context(), loc, sc.AppID, provider.CustomProviderParams{Name: body.Name,
		Description: body.Description, PaymentsURL: body.PaymentsURL, QueryURL: body.QueryURL, ImageURL: body.ImageURL,
		SupportsSubscriptionSchedule: body.SupportsSubscriptionSchedule})
	if err != nil {
		return err
	}
	return h.writeCustomProvider(w, r, p)
}

func (h *Handler) deleteCustomProvider(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateProvider(r, sc)
	if err != nil {
		return err
	}
	if err := h.Providers.DeleteCustomProvider(r.Context(), loc, sc.AppID); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (h *Handler) getCustomProviderConfig(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateProvider(r, sc)
	if err != nil {
		return err
	}
	p, err := h.Providers.FindCustomProvider(r.Context(), loc, sc.AppID)
	if err != nil {
		return err
	}
	return h.writeCustomProvider(w, r, p)
}

// wireKeys is HighLevel's CustomProviderKeys.
type wireKeys struct {
	APIKey         string `json:"apiKey"`
	PublishableKey string `json:"publishableKey"`
}

func (k *wireKeys) core() *provider.Keys {
	if k == nil {
		return nil
	}
	return &provider.Keys{APIKey: k.APIKey, PublishableKey: k.PublishableKey}
}

func (h *Handler) connectCustomProvider(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateProvider(r, sc)
	if err != nil {
		return err
	}
	var body struct {
		Live *wireKeys `json:"live"`
		Test *wireKeys `json:"test"`
	}
	if err := Decode(r, &body); err != nil {
		return err
	}
	p, err := h.Providers.Connect(r.Context(), loc, sc.AppID, body.Live.core(), body.Test.core())
	if err != nil {
		return err
	}
	return h.writeCustomProvider(w, r, p)
}

func (h *Handler) disconnectCustomProvider(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	loc, err := h.locateProvider(r, sc)
	if err != nil {
		return err
	}
	var body struct {
		LiveMode *bool `json:"liveMode"`
	}
	if err := Decode(r, &body); err != nil {
		return err
	}
	if body.LiveMode == nil {
		return tender.FieldError("liveMode", "must be a boolean value")
	}
	mode := tender.ModeTest
	if *body.LiveMode {
		mode = tender.ModeLive
	}
	if err := h.Providers.Disconnect(r.Context(), loc, sc.AppID, mode); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (h *Handler) customProviderCapabilities(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var body struct {
		SupportsSubscriptionSchedules *bool  `json:"supportsSubscriptionSchedules"`
		CompanyID                     string `json:"companyId"`
		LocationID                    string `json:"locationId"`
	}
	if err := Decode(r, &body); err != nil {
		return err
	}
	var v tender.Validation
	if body.SupportsSubscriptionSchedules == nil {
		v.Add("supportsSubscriptionSchedules", "must be a boolean value")
	}
	if body.CompanyID == "" && body.LocationID == "" {
		v.Add("locationId", "should not be empty when companyId is not given")
	}
	if err := v.Err(); err != nil {
		return err
	}
	supports := *body.SupportsSubscriptionSchedules
	if body.LocationID == "" {
		if err := h.Providers.SetCompanyCapabilities(r.Context(), sc, body.CompanyID, sc.AppID, supports); err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	}
	loc, err := h.Locate(r.Context(), sc, "locationId", body.LocationID)
	if err != nil {
		return err
	}
	if body.CompanyID != "" && body.CompanyID != loc.OrganizationID {
		return tender.Errorf(tender.EFORBIDDEN, "The location does not belong to this company")
	}
	if err := h.Providers.SetCapabilities(r.Context(), loc, sc.AppID, supports); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// ---- a contact's saved methods (tender's extension) ----

type wireProviderPaymentMethod struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	SubTitle   string `json:"subTitle"`
	Expiry     string `json:"expiry"`
	CustomerID string `json:"customerId"`
	ImageURL   string `json:"imageUrl"`
}

// listProviderPaymentMethods asks the location's custom provider connected
// in the mode of liveMode (default false) for the payment methods it keeps
// for contactId (list_payment_methods).
func (h *Handler) listProviderPaymentMethods(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.ordersReady(); err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	if q.Get("locationId") == "" {
		q.V.Add("locationId", "should not be empty")
	}
	if q.Get("contactId") == "" {
		q.V.Add("contactId", "should not be empty")
	}
	mode := tender.ModeTest
	if q.Bool("liveMode") {
		mode = tender.ModeLive
	}
	if err := q.V.Err(); err != nil {
		return err
	}
	loc, err := h.locateProvider(r, sc)
	if err != nil {
		return err
	}
	methods, err := h.Orders.ListProviderMethods(r.Context(), loc, mode, q.Get("contactId"))
	if err != nil {
		return err
	}
	out := struct {
		PaymentMethods []wireProviderPaymentMethod `json:"paymentMethods"`
		TraceID        string                      `json:"traceId"`
	}{PaymentMethods: make([]wireProviderPaymentMethod, 0, len(methods)), TraceID: api.RequestID(r.Context())}
	for _, m := range methods {
		out.PaymentMethods = append(out.PaymentMethods, wireProviderPaymentMethod{ID: m.ID, Type: m.Type, Title: m.Title, SubTitle: m.SubTitle,
			Expiry: m.Expiry, CustomerID: m.CustomerID, ImageURL: m.ImageURL})
	}
	return WriteJSON(w, http.StatusOK, out)
}
