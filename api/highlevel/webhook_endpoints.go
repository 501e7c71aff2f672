package highlevel

import (
	"net/http"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/notify"
)

// The webhook endpoint routes are tender's extension: HighLevel keeps a
// marketplace app's webhook URL in the app's settings, which tender has
// not. An endpoint belongs to a location and one mode (liveMode) and
// receives the HighLevel events named in events, or every one with "*".

func init() { routeGroups = append(routeGroups, (*Handler).webhookEndpointRoutes) }

func (h *Handler) webhookEndpointRoutes(mux *http.ServeMux) {
	h.route(mux, "POST /payments/webhook-endpoints", ScopeWebhooksWrite, h.createWebhookEndpoint)
	h.route(mux, "GET /payments/webhook-endpoints", ScopeWebhooksReadonly, h.listWebhookEndpoints)
	h.route(mux, "PUT /payments/webhook-endpoints/{id}", ScopeWebhooksWrite, h.updateWebhookEndpoint)
	h.route(mux, "DELETE /payments/webhook-endpoints/{id}", ScopeWebhooksWrite, h.deleteWebhookEndpoint)
}

// tender's own scopes for its webhook endpoint extension.
const (
	ScopeWebhooksReadonly = "tender/webhooks.readonly"
	ScopeWebhooksWrite    = "tender/webhooks.write"
)

type wireWebhookEndpoint struct {
	ID             string   `json:"_id"`
	AltID          string   `json:"altId"`
	AltType        string   `json:"altType"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	LiveMode       bool     `json:"liveMode"`
	Description    string   `json:"description,omitempty"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabledReason,omitempty"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
}

func renderWebhookEndpoint(ep *tender.WebhookEndpoint) wireWebhookEndpoint {
	return wireWebhookEndpoint{ID: ep.ID, AltID: ep.AccountID, AltType: "location", URL: ep.URL, Events: ep.Events,
		LiveMode: ep.Mode == tender.ModeLive, Description: ep.Description, Enabled: ep.Enabled, DisabledReason: ep.DisabledReason,
		CreatedAt: FormatTime(ep.CreatedAt), UpdatedAt: FormatTime(ep.UpdatedAt)}
}

func modeOf(live bool) tender.Mode {
	if live {
		return tender.ModeLive
	}
	return tender.ModeTest
}

func (h *Handler) webhooksReady() error {
	if h.Notify == nil || h.Webhook == nil {
		return tender.Errorf(tender.ENOTIMPLEMENTED, "webhook endpoints are not configured")
	}
	return nil
}

type webhookEndpointRequest struct {
	AltID       string   `json:"altId"`
	AltType     string   `json:"altType"`
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	LiveMode    *bool    `json:"liveMode"`
	Description *string  `json:"description"`
	Enabled     *bool    `json:"enabled"`
}

// locate resolves the request's location and mode.
func (h *Handler) locateEndpoint(r *http.Request, sc tender.Scope, req *webhookEndpointRequest) (tender.Scope, error) {
	var v tender.Validation
	CheckBodyLocation(&v, req.AltID, req.AltType)
	if err := v.Err(); err != nil {
		return tender.Scope{}, err
	}
	loc, err := h.Locate(r.Context(), sc, "altId", req.AltID)
	if err != nil {
		return tender.Scope{}, err
	}
	loc.Mode = modeOf(req.LiveMode != nil && *req.LiveMode)
	return loc, nil
}

func (h *Handler) createWebhookEndpoint(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.webhooksReady(); err != nil {
		return err
	}
	var req webhookEndpointRequest
	if err := Decode(r, &req); err != nil {
		return err
	}
	loc, err := h.locateEndpoint(r, sc, &req)
	if err != nil {
		return err
	}
	p := notify.EndpointParams{Events: req.Events, Enabled: req.Enabled}
	if req.URL != nil {
		p.URL = *req.URL
	}
	if req.Description != nil {
		p.Description = *req.Description
	}
	c, err := h.Notify.Create(r.Context(), loc, h.Webhook, p)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, renderWebhookEndpoint(c.Endpoint))
}

func (h *Handler) listWebhookEndpoints(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.webhooksReady(); err != nil {
		return err
	}
	loc, err := h.LocateQuery(r, sc, true, false)
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	live := q.Bool("liveMode")
	if err := q.V.Err(); err != nil {
		return err
	}
	loc.Mode = modeOf(live)
	data := []wireWebhookEndpoint{}
	page := tender.Page{Limit: 100}
	for {
		eps, more, err := h.Notify.List(r.Context(), loc, h.Webhook, page)
		if err != nil {
			return err
		}
		for _, ep := range eps {
			data = append(data, renderWebhookEndpoint(ep))
		}
		if !more || len(eps) == 0 {
			break
		}
		page.StartingAfter = eps[len(eps)-1].ID
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"data": data, "totalCount": len(data)})
}

func (h *Handler) updateWebhookEndpoint(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.webhooksReady(); err != nil {
		return err
	}
	var req webhookEndpointRequest
	if err := Decode(r, &req); err != nil {
		return err
	}
	loc, err := h.locateEndpoint(r, sc, &req)
	if err != nil {
		return err
	}
	ep, err := h.Notify.Update(r.Context(), loc, h.Webhook, r.PathValue("id"),
		notify.EndpointUpdate{URL: req.URL, Events: req.Events, Description: req.Description, Enabled: req.Enabled})
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return errBadRequest("Webhook endpoint not found")
	} else if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, renderWebhookEndpoint(ep))
}

func (h *Handler) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if err := h.webhooksReady(); err != nil {
		return err
	}
	loc, err := h.LocateQuery(r, sc, true, false)
	if err != nil {
		return err
	}
	q := NewQuery(r.URL.Query())
	live := q.Bool("liveMode")
	if err := q.V.Err(); err != nil {
		return err
	}
	loc.Mode = modeOf(live)
	if _, err := h.Notify.Delete(r.Context(), loc, h.Webhook, r.PathValue("id")); tender.ErrorCode(err) == tender.ENOTFOUND {
		return errBadRequest("Webhook endpoint not found")
	} else if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}
