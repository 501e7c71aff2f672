package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/store"
)

// Redeliverer is what the HTTP API needs of the webhook delivery engine.
type Redeliverer interface {
	// Redeliver queues the event eventID of scope sc again for its
	// endpoints and returns how many deliveries it queued.
	Redeliver(ctx context.Context, sc tender.Scope, eventID string) (int, error)
	// RedeliverFailed queues again every failed delivery of scope sc
	// created at or after since, and returns how many.
	RedeliverFailed(ctx context.Context, sc tender.Scope, since time.Time) (int, error)
}

// dialect returns the Forward webhook dialect for rendering in a request:
// the caller's scope gives the organization, so it needs no store.
func (h *Handler) dialect() *WebhookDialect {
	d := &WebhookDialect{}
	if h.Payments != nil {
		d.ClientSecret = h.Payments.ClientSecret
	}
	return d
}

func (h *Handler) notifyService() (*notify.Service, error) {
	if h.Notify == nil {
		return nil, tender.Errorf(tender.ENOTIMPLEMENTED, "webhook endpoints are not enabled on this server")
	}
	return h.Notify, nil
}

// ---- wire shapes ----

type wireEndpoint struct {
	ID             string   `json:"id"`
	Entity         string   `json:"entity"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Description    *string  `json:"description"`
	Enabled        bool     `json:"enabled"`
	DisabledReason *string  `json:"disabled_reason"`
	FailingSince   *string  `json:"failing_since"`
	AccountID      string   `json:"account_id"`
	Livemode       bool     `json:"livemode"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	// Secret is set in the creation response only.
	Secret string `json:"secret,omitempty"`
}

func renderEndpoint(ep *tender.WebhookEndpoint) *wireEndpoint {
	events := ep.Events
	if events == nil {
		events = []string{}
	}
	return &wireEndpoint{ID: ep.ID, Entity: "webhook_endpoint", URL: ep.URL, Events: events, Description: strPtr(ep.Description),
		Enabled: ep.Enabled, DisabledReason: strPtr(ep.DisabledReason), FailingSince: tsPtr(ep.FailingSince),
		AccountID: ep.AccountID, Livemode: ep.Mode == tender.ModeLive, CreatedAt: ts(ep.CreatedAt), UpdatedAt: ts(ep.UpdatedAt)}
}

type wireDeleted struct {
	ID      string `json:"id"`
	Entity  string `json:"entity"`
	Deleted bool   `json:"deleted"`
}

type wireDelivery struct {
	ID             string  `json:"id"`
	Entity         string  `json:"entity"`
	EventID        string  `json:"event_id"`
	EndpointID     string  `json:"endpoint_id"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	LastStatusCode *int    `json:"last_status_code"`
	LastError      *string `json:"last_error"`
	SucceededAt    *string `json:"succeeded_at"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

func renderDelivery(d *tender.Delivery) *wireDelivery {
	w := &wireDelivery{ID: d.ID, Entity: "webhook_delivery", EventID: d.EventID, EndpointID: d.EndpointID, Status: d.State,
		Attempts: d.Attempts, LastError: strPtr(d.LastError), SucceededAt: tsPtr(d.SucceededAt),
		CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt)}
	if d.State == tender.DeliveryPending && !d.NextAt.IsZero() {
		w.NextAttemptAt = tsPtr(&d.NextAt)
	}
	if d.LastStatus != 0 {
		code := d.LastStatus
		w.LastStatusCode = &code
	}
	return w
}

type wireAttempt struct {
	ID              string  `json:"id"`
	Entity          string  `json:"entity"`
	DeliveryID      string  `json:"delivery_id"`
	EndpointID      string  `json:"endpoint_id"`
	EventID         string  `json:"event_id"`
	Attempt         int     `json:"attempt"`
	StatusCode      *int    `json:"status_code"`
	LatencyMillis   int64   `json:"latency_ms"`
	ResponseExcerpt *string `json:"response_excerpt"`
	Error           *string `json:"error"`
	CreatedAt       string  `json:"created_at"`
}

func renderAttempt(a *tender.DeliveryAttempt) *wireAttempt {
	w := &wireAttempt{ID: a.ID, Entity: "webhook_delivery_attempt", DeliveryID: a.DeliveryID, EndpointID: a.EndpointID,
		EventID: a.EventID, Attempt: a.Attempt, LatencyMillis: a.LatencyMillis, ResponseExcerpt: strPtr(a.ResponseExcerpt),
		Error: strPtr(a.Error), CreatedAt: ts(a.CreatedAt)}
	if a.StatusCode != 0 {
		code := a.StatusCode
		w.StatusCode = &code
	}
	return w
}

// wireEventDetail is GET /events/{id}: the event as delivered, and the
// state of each of its deliveries.
type wireEventDetail struct {
	*wireEvent
	Deliveries []*wireDelivery `json:"deliveries"`
}

type wireRedelivery struct {
	Entity  string  `json:"entity"`
	EventID *string `json:"event_id"`
	Since   *string `json:"since"`
	Count   int     `json:"count"`
}

// ---- requests ----

type endpointCreateRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	Enabled     *bool    `json:"enabled"`
}

type endpointUpdateRequest struct {
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description"`
	Enabled     *bool    `json:"enabled"`
}

type redeliverFailedRequest struct {
	Since string `json:"since"`
}

// ---- webhook endpoints ----

func renderEndpointResult(ctx context.Context, tx store.Tx, result any) (any, error) {
	return renderEndpoint(result.(*tender.WebhookEndpoint)), nil
}

// createEndpoint answers 201 with the endpoint and its secret. The
// response stored for idempotent replay holds the secret sealed (as the
// endpoint row does), never in clear: it is opened again when the response
// is written, the first time as on every replay.
func (h *Handler) createEndpoint(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	svc, err := h.notifyService()
	if err != nil {
		return err
	}
	var req endpointCreateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	p := notify.EndpointParams{URL: req.URL, Events: req.Events, Description: req.Description, Enabled: req.Enabled}
	d := h.dialect()
	resp, err := h.Idem.Do(r.Context(), r, sc, body, func(ctx context.Context, tx store.Tx, result any) (int, []byte, error) {
		c := result.(*notify.Created)
		we := renderEndpoint(c.Endpoint)
		we.Secret = c.Endpoint.SecretSealed
		b, err := json.Marshal(we)
		return http.StatusCreated, b, err
	}, func(ctx context.Context) error {
		_, err := svc.Create(ctx, sc, d, p)
		return err
	})
	if err != nil {
		return err
	}
	out, err := unsealSecret(svc, resp.Body)
	if err != nil {
		return err
	}
	if resp.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	api.WriteJSON(w, resp.Status, out)
	return nil
}

// unsealSecret replaces the sealed secret in a stored creation response
// with the clear one.
func unsealSecret(svc *notify.Service, body []byte) ([]byte, error) {
	var v struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	clear, err := svc.OpenSecret(v.Secret)
	if err != nil {
		return nil, err
	}
	sealed, _ := json.Marshal(v.Secret)
	plain, _ := json.Marshal(clear)
	return bytes.Replace(body, append([]byte(`"secret":`), sealed...), append([]byte(`"secret":`), plain...), 1), nil
}

func (h *Handler) getEndpoint(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if _, err := h.notifyService(); err != nil {
		return err
	}
	d := h.dialect()
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		ep, err := notify.Find(ctx, tx, sc, d, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return renderEndpoint(ep), nil
	})
}

func (h *Handler) listEndpoints(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if _, err := h.notifyService(); err != nil {
		return err
	}
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	d := h.dialect()
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := notify.List(ctx, tx, sc, d, page)
		if err != nil {
			return nil, err
		}
		out := make([]*wireEndpoint, len(items))
		for i, ep := range items {
			out[i] = renderEndpoint(ep)
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

func (h *Handler) updateEndpoint(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	svc, err := h.notifyService()
	if err != nil {
		return err
	}
	var req endpointUpdateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	u := notify.EndpointUpdate{URL: req.URL, Events: req.Events, Description: req.Description, Enabled: req.Enabled}
	id, d := r.PathValue("id"), h.dialect()
	return h.command(w, r, sc, body, http.StatusOK, renderEndpointResult, func(ctx context.Context) error {
		_, err := svc.Update(ctx, sc, d, id, u)
		return err
	})
}

func (h *Handler) deleteEndpoint(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	svc, err := h.notifyService()
	if err != nil {
		return err
	}
	body, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	id, d := r.PathValue("id"), h.dialect()
	return h.command(w, r, sc, body, http.StatusOK, func(ctx context.Context, tx store.Tx, result any) (any, error) {
		return &wireDeleted{ID: result.(*tender.WebhookEndpoint).ID, Entity: "webhook_endpoint", Deleted: true}, nil
	}, func(ctx context.Context) error {
		_, err := svc.Delete(ctx, sc, d, id)
		return err
	})
}

// ---- delivery log ----

func (h *Handler) listDeliveries(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if _, err := h.notifyService(); err != nil {
		return err
	}
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	id, d := r.PathValue("id"), h.dialect()
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		if _, err := notify.Find(ctx, tx, sc, d, id); err != nil {
			return nil, err
		}
		items, more, err := tx.ListDeliveriesByEndpoint(ctx, sc, id, page)
		if err != nil {
			return nil, err
		}
		out := make([]*wireDelivery, len(items))
		for i, dl := range items {
			out[i] = renderDelivery(dl)
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

func (h *Handler) listAttempts(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if _, err := h.notifyService(); err != nil {
		return err
	}
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	id, deliveryID, d := r.PathValue("id"), r.PathValue("delivery_id"), h.dialect()
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		if _, err := notify.Find(ctx, tx, sc, d, id); err != nil {
			return nil, err
		}
		dl, err := tx.FindDeliveryByID(ctx, sc, deliveryID)
		if err == nil && dl.EndpointID != id {
			err = tender.Errorf(tender.ENOTFOUND, "delivery %s of webhook endpoint %s not found", deliveryID, id)
		}
		if err != nil {
			return nil, err
		}
		items, more, err := tx.ListDeliveryAttempts(ctx, id, deliveryID, page)
		if err != nil {
			return nil, err
		}
		out := make([]*wireAttempt, len(items))
		for i, a := range items {
			out[i] = renderAttempt(a)
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

// ---- events ----

// eventTypes parses the type filter of GET /events (Forward names,
// repeated or comma-separated) into core types; no filter means every
// type Forward delivers.
func eventTypes(r *http.Request) ([]string, error) {
	var types []string
	for _, q := range r.URL.Query()["type"] {
		for _, name := range strings.Split(q, ",") {
			name = strings.TrimSpace(name)
			cores := coreTypes[name]
			if len(cores) == 0 {
				return nil, tender.FieldError("type", "must be a Forward event name such as v2.payment_intent.captured, not "+
					clipString(name, 80))
			}
			types = append(types, cores...)
		}
	}
	if len(types) == 0 {
		return deliveredTypes, nil
	}
	return types, nil
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// findEvent returns the event id if it is one Forward delivers, with its
// Forward name.
func findEvent(ctx context.Context, tx store.Tx, sc tender.Scope, id string) (*tender.Event, string, error) {
	ev, err := tx.FindEventByID(ctx, sc, id)
	if err != nil {
		return nil, "", err
	}
	name := eventNames[ev.Type]
	if name == "" {
		return nil, "", tender.Errorf(tender.ENOTFOUND, "event %s not found", id)
	}
	return ev, name, nil
}

func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	types, err := eventTypes(r)
	if err != nil {
		return err
	}
	d := h.dialect()
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.ListEvents(ctx, sc, page, types)
		if err != nil {
			return nil, err
		}
		out := make([]*wireEvent, len(items))
		for i, ev := range items {
			if out[i], err = d.render(ev, eventNames[ev.Type], sc.OrganizationID); err != nil {
				return nil, err
			}
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

func (h *Handler) getEvent(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	d := h.dialect()
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		ev, name, err := findEvent(ctx, tx, sc, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		we, err := d.render(ev, name, sc.OrganizationID)
		if err != nil {
			return nil, err
		}
		ds, err := tx.ListDeliveriesByEvent(ctx, sc, ev.ID)
		if err != nil {
			return nil, err
		}
		out := &wireEventDetail{wireEvent: we, Deliveries: make([]*wireDelivery, len(ds))}
		for i, dl := range ds {
			out.Deliveries[i] = renderDelivery(dl)
		}
		return out, nil
	})
}

// redeliver runs a redelivery through the idempotency layer. The engine
// queues the deliveries in its own transaction; the response is stored
// just after, so a crash in between can at worst queue a redelivery twice,
// which at-least-once receivers tolerate.
func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, sc tender.Scope, body []byte,
	run func(ctx context.Context) (*wireRedelivery, error)) error {
	return h.command(w, r, sc, body, http.StatusAccepted, func(ctx context.Context, tx store.Tx, result any) (any, error) {
		return result, nil
	}, func(ctx context.Context) error {
		res, err := run(context.WithoutCancel(r.Context()))
		if err != nil {
			return err
		}
		return h.Payments.Store.Write(ctx, func(tx store.Tx) error {
			return store.RunCommitHook(ctx, tx, res)
		})
	})
}

func (h *Handler) redeliverEvent(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if h.Webhooks == nil {
		return tender.Errorf(tender.ENOTIMPLEMENTED, "webhook delivery is not running on this server")
	}
	body, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.redeliver(w, r, sc, body, func(ctx context.Context) (*wireRedelivery, error) {
		err := h.Payments.Store.Read(ctx, func(tx store.Tx) error {
			_, _, err := findEvent(ctx, tx, sc, id)
			return err
		})
		if err != nil {
			return nil, err
		}
		n, err := h.Webhooks.Redeliver(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		return &wireRedelivery{Entity: "webhook_redelivery", EventID: &id, Count: n}, nil
	})
}

func (h *Handler) redeliverFailed(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	if h.Webhooks == nil {
		return tender.Errorf(tender.ENOTIMPLEMENTED, "webhook delivery is not running on this server")
	}
	var req redeliverFailedRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	var v tender.Validation
	if req.Since == "" {
		v.Add("since", "is required")
	}
	since := parseTime(&v, "since", req.Since)
	if err := v.Err(); err != nil {
		return err
	}
	return h.redeliver(w, r, sc, body, func(ctx context.Context) (*wireRedelivery, error) {
		n, err := h.Webhooks.RedeliverFailed(ctx, sc, *since)
		if err != nil {
			return nil, err
		}
		s := ts(*since)
		return &wireRedelivery{Entity: "webhook_redelivery", Since: &s, Count: n}, nil
	})
}
