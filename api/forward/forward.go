// Package forward is the Forward "Payments API v1.3.0" dialect: its paths,
// headers (x-api-key, x-account-id, x-idempotency-key), JSON shapes, list
// envelope and error envelope, translated to the core payment service.
//
// Choices where Forward's documents are silent are written down in
// docs/forward.md.
package forward

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/payout"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/store"
)

var intType = reflect.TypeOf(0)

// Handler serves the Forward dialect.
type Handler struct {
	Payments *payment.Service
	// Payouts serves /payouts and the payout test helpers.
	Payouts  *payout.Service
	Accounts *account.Service
	Idem     *api.Idempotency
	Log      *slog.Logger
	// Notify manages webhook endpoints (/webhook_endpoints); nil answers
	// those routes 501.
	Notify *notify.Service
	// Webhooks is the delivery engine, for manual redelivery
	// (/events/{id}/redeliver, /events/redeliver_failed); nil answers
	// those routes 501.
	Webhooks Redeliverer
}

// NewIdempotency returns Forward's idempotency settings: the
// x-idempotency-key header (Idempotency-Key is accepted too), keys of at
// least 10 characters, kept one hour.
func NewIdempotency(s store.Store, ttl time.Duration) *api.Idempotency {
	if ttl <= 0 {
		ttl = time.Hour
	}
	return &api.Idempotency{Store: s, Headers: []string{"x-idempotency-key", "Idempotency-Key"}, MinLength: 10, TTL: ttl,
		InFlightTTL: 15 * time.Second}
}

// route options
type access int

const (
	privateKey access = iota // the private key only
	anyKey                   // the private or the public key
)

type endpoint func(w http.ResponseWriter, r *http.Request, sc tender.Scope) error

// Register adds the Forward routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	r := func(pattern string, a access, needAccount bool, fn endpoint) {
		mux.HandleFunc(pattern, h.wrap(a, needAccount, fn))
	}
	r("POST /payment_intents", privateKey, true, h.createIntent)
	r("GET /payment_intents", privateKey, false, h.listIntents)
	r("POST /payment_intents/search", privateKey, false, h.searchIntents)
	r("GET /payment_intents/{id}", privateKey, true, h.getIntent)
	r("PATCH /payment_intents/{id}", privateKey, true, h.updateIntent)
	r("POST /payment_intents/{id}/cancel", privateKey, true, h.cancelIntent)
	r("POST /payment_intents/{id}/capture", privateKey, true, h.captureIntent)
	r("GET /payment_intents/{id}/payments", privateKey, false, h.listIntentPayments)
	r("POST /payment_intents/{id}/payments", privateKey, true, h.createPayment)
	r("POST /payment_intents/{id}/refunds", privateKey, true, h.createRefund)
	r("GET /payments/{id}", privateKey, true, h.getPayment)
	r("GET /refunds/{id}", privateKey, true, h.getRefund)
	r("POST /payment_methods", anyKey, false, h.createPaymentMethod)
	r("GET /payment_methods/{id}", privateKey, false, h.getPaymentMethod)
	r("PATCH /payment_methods/{id}", privateKey, false, h.updatePaymentMethod)
	r("POST /external_payments", privateKey, true, h.createExternalPayment)
	r("POST /external_payments/{id}/capture", privateKey, true, h.captureExternalPayment)
	r("POST /external_payments/{id}/cancel", privateKey, true, h.cancelExternalPayment)
	r("POST /external_refunds", privateKey, true, h.createExternalRefund)
	h.registerDisputesPayouts(r)
	r("POST /webhook_endpoints", privateKey, false, h.createEndpoint)
	r("GET /webhook_endpoints", privateKey, false, h.listEndpoints)
	r("GET /webhook_endpoints/{id}", privateKey, false, h.getEndpoint)
	r("PATCH /webhook_endpoints/{id}", privateKey, false, h.updateEndpoint)
	r("DELETE /webhook_endpoints/{id}", privateKey, false, h.deleteEndpoint)
	r("GET /webhook_endpoints/{id}/deliveries", privateKey, false, h.listDeliveries)
	r("GET /webhook_endpoints/{id}/deliveries/{delivery_id}/attempts", privateKey, false, h.listAttempts)
	r("GET /events", privateKey, false, h.listEvents)
	r("GET /events/{id}", privateKey, false, h.getEvent)
	r("POST /events/{id}/redeliver", privateKey, false, h.redeliverEvent)
	r("POST /events/redeliver_failed", privateKey, false, h.redeliverFailed)
	h.registerLedger(r)
	mux.HandleFunc("GET /openapi/forward.json", serveOpenAPI)
	mux.HandleFunc("/", notFound)
}

// wrap authenticates, recovers panics into Forward's envelope, and writes
// the endpoint's error.
func (h *Handler) wrap(a access, needAccount bool, fn endpoint) http.HandlerFunc {
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
		sc, err := h.authenticate(r, a, needAccount)
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

func (h *Handler) authenticate(r *http.Request, a access, needAccount bool) (tender.Scope, error) {
	key := r.Header.Get("x-api-key")
	if key == "" {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "the x-api-key header is required")
	}
	sc, err := h.Accounts.Authenticate(r.Context(), key)
	if err != nil {
		return tender.Scope{}, err
	}
	if sc.CredentialKind != tender.CredentialForwardPrivate && sc.CredentialKind != tender.CredentialForwardPublic {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "the API key is not a Forward key")
	}
	if a == privateKey && sc.CredentialKind != tender.CredentialForwardPrivate {
		return tender.Scope{}, tender.Errorf(tender.EFORBIDDEN, "a public key may only create payment methods; use the private key")
	}
	acct := r.Header.Get("x-account-id")
	if acct == "" && needAccount {
		return tender.Scope{}, tender.FieldError("x-account-id", "header is required")
	}
	return h.Accounts.ActAs(r.Context(), sc, acct)
}

// command runs a mutating endpoint through the idempotency layer and writes
// its response.
func (h *Handler) command(w http.ResponseWriter, r *http.Request, sc tender.Scope, body []byte, status int,
	render func(ctx context.Context, tx store.Tx, result any) (any, error), run func(ctx context.Context) error) error {
	resp, err := h.Idem.Do(r.Context(), r, sc, body, func(ctx context.Context, tx store.Tx, result any) (int, []byte, error) {
		v, err := render(ctx, tx, result)
		if err != nil {
			return 0, nil, err
		}
		b, err := json.Marshal(v)
		return status, b, err
	}, run)
	if err != nil {
		return err
	}
	if resp.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	api.WriteJSON(w, resp.Status, resp.Body)
	return nil
}

// read runs fn in a read transaction and writes its value as JSON.
func (h *Handler) read(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, tx store.Tx) (any, error)) error {
	var v any
	err := h.Payments.Store.Read(r.Context(), func(tx store.Tx) (err error) {
		v, err = fn(r.Context(), tx)
		return err
	})
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, b)
	return nil
}

func decode(r *http.Request, dst any) ([]byte, error) {
	body, err := api.ReadBody(r)
	if err != nil {
		return nil, err
	}
	return body, api.DecodeJSON(body, dst)
}

// ---- rendering with related objects ----

func (h *Handler) intentView(ctx context.Context, tx store.Tx, sc tender.Scope, pi *tender.PaymentIntent) (*wireIntent, error) {
	var latest *wirePayment
	if pi.LatestPaymentID != "" {
		pay, err := tx.FindPaymentByID(ctx, sc, pi.LatestPaymentID)
		if err != nil {
			return nil, err
		}
		if latest, err = h.paymentView(ctx, tx, sc, pay); err != nil {
			return nil, err
		}
	}
	return renderIntent(sc, pi, latest, h.Payments.ClientSecret(pi.ID)), nil
}

func (h *Handler) paymentView(ctx context.Context, tx store.Tx, sc tender.Scope, pay *tender.Payment) (*wirePayment, error) {
	pm, err := tx.FindPaymentMethodByID(ctx, sc, pay.PaymentMethodID)
	if err != nil {
		return nil, err
	}
	return renderPayment(pay, pm), nil
}

func (h *Handler) renderIntentResult(sc tender.Scope) func(ctx context.Context, tx store.Tx, result any) (any, error) {
	return func(ctx context.Context, tx store.Tx, result any) (any, error) {
		return h.intentView(ctx, tx, sc, result.(*tender.PaymentIntent))
	}
}

// ---- list parameters ----

func parsePage(r *http.Request) (tender.Page, error) {
	q := r.URL.Query()
	p := tender.Page{StartingAfter: q.Get("starting_after"), EndingBefore: q.Get("ending_before"), Limit: 10}
	var v tender.Validation
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			v.Add("limit", "must be an integer from 1 to 50")
		}
		p.Limit = n
	}
	if p.StartingAfter != "" && p.EndingBefore != "" {
		v.Add("ending_before", "cannot be combined with starting_after")
	}
	return p, v.Err()
}

func pageEnvelope[T any](items []T, limit int, more bool) listEnvelope {
	if items == nil {
		items = []T{}
	}
	return listEnvelope{Data: items, Meta: listMeta{Size: len(items), Limit: limit, HasMore: more}}
}

// ---- payment intents ----

func (req *intentCreateRequest) params(v *tender.Validation, prefix string) payment.IntentParams {
	if req.Amount == nil {
		v.Add(prefix+"amount", "is required")
	}
	p := payment.IntentParams{MerchantAmount: req.MerchantAmount, Capture: req.Capture, PaymentMethodTypes: req.PaymentMethodTypes,
		ReferenceID: req.ReferenceID, Description: req.Description, Metadata: req.UserFields, OrderDetails: req.OrderDetails,
		PaymentSplits: req.PaymentSplits, Currency: "USD"}
	if req.Amount != nil {
		p.Amount = *req.Amount
	}
	if req.Currency != "" {
		switch c := tender.Currency(req.Currency); c {
		case "USD", "CAD", "usd", "cad":
			p.Currency, _ = tender.ParseCurrency(string(c))
		default:
			v.Add(prefix+"currency", "must be USD or CAD")
		}
	}
	return p
}

func (h *Handler) createIntent(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req intentCreateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	var v tender.Validation
	p := req.params(&v, "")
	if err := v.Err(); err != nil {
		return err
	}
	return h.command(w, r, sc, body, http.StatusCreated, h.renderIntentResult(sc), func(ctx context.Context) error {
		_, err := h.Payments.CreatePaymentIntent(ctx, sc, p)
		return err
	})
}

func (h *Handler) getIntent(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		pi, err := tx.FindPaymentIntentByID(ctx, sc, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return h.intentView(ctx, tx, sc, pi)
	})
}

func (h *Handler) listIntents(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.ListPaymentIntents(ctx, sc, page)
		if err != nil {
			return nil, err
		}
		out := make([]*wireIntent, len(items))
		for i, pi := range items {
			if out[i], err = h.intentView(ctx, tx, sc, pi); err != nil {
				return nil, err
			}
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

var (
	intentStatuses  = map[string]bool{"created": true, "pending": true, "uncaptured": true, "captured": true, "cancelled": true, "failed": true}
	paymentStatuses = map[string]bool{"pending": true, "uncaptured": true, "captured": true, "cancelled": true, "voided": true, "failed": true}
	settleStatuses  = map[string]bool{"settled": true, "unsettled": true}
	sortColumns     = map[string]bool{"created_at": true, "updated_at": true, "amount": true, "status": true, "captured_at": true, "cancelled_at": true, "settled_at": true}
)

func parseTime(v *tender.Validation, field, s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse("2006-01-02", s); err != nil {
			v.Add(field, "must be an ISO-8601 date-time such as 2024-01-31T00:00:00Z")
			return nil
		}
	}
	t = t.UTC()
	return &t
}

func (h *Handler) searchIntents(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req searchRequest
	if _, err := decode(r, &req); err != nil {
		return err
	}
	var v tender.Validation
	f := tender.PaymentIntentFilter{ReferenceID: req.ReferenceID, Status: req.Status, SettlementStatus: req.SettlementStatus,
		PaymentStatus: req.PaymentStatus, HasRefund: req.HasRefund, AmountMin: req.AmountMin, AmountMax: req.AmountMax,
		SortColumn: req.SortColumn, Limit: 10}
	if f.Status != "" && !intentStatuses[f.Status] {
		v.Add("status", "must be one of created, pending, uncaptured, captured, cancelled, failed")
	}
	if f.SettlementStatus != "" && !settleStatuses[f.SettlementStatus] {
		v.Add("settlement_status", "must be settled or unsettled")
	}
	if f.PaymentStatus != "" && !paymentStatuses[f.PaymentStatus] {
		v.Add("payment_status", "must be one of pending, uncaptured, captured, cancelled, voided, failed")
	}
	if f.SortColumn != "" && !sortColumns[f.SortColumn] {
		v.Add("sort_column", "must be one of created_at, updated_at, amount, status, captured_at, cancelled_at, settled_at")
	}
	switch req.SortDirection {
	case "", "desc":
	case "asc":
		f.SortAsc = true
	default:
		v.Add("sort_direction", "must be asc or desc")
	}
	f.Start = parseTime(&v, "start_date", req.StartDate)
	f.End = parseTime(&v, "end_date", req.EndDate)
	if req.Limit != nil {
		if *req.Limit < 1 || *req.Limit > 50 {
			v.Add("limit", "must be from 1 to 50")
		}
		f.Limit = *req.Limit
	}
	page := 1
	if req.Page != nil {
		if *req.Page < 1 || *req.Page > 100_000 {
			v.Add("page", "must be from 1 to 100000")
		}
		page = *req.Page
	}
	if err := v.Err(); err != nil {
		return err
	}
	f.Offset = (page - 1) * f.Limit
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.SearchPaymentIntents(ctx, sc, f)
		if err != nil {
			return nil, err
		}
		out := make([]*wireIntent, len(items))
		for i, pi := range items {
			if out[i], err = h.intentView(ctx, tx, sc, pi); err != nil {
				return nil, err
			}
		}
		env := pageEnvelope(out, f.Limit, more)
		env.Meta.Page = &page
		return env, nil
	})
}

func (h *Handler) updateIntent(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req intentUpdateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	u := payment.IntentUpdate{Amount: req.Amount, MerchantAmount: req.MerchantAmount, Capture: req.Capture,
		PaymentMethodTypes: req.PaymentMethodTypes, ReferenceID: req.ReferenceID, Description: req.Description,
		Metadata: req.UserFields, OrderDetails: req.OrderDetails, PaymentSplits: req.PaymentSplits}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusOK, h.renderIntentResult(sc), func(ctx context.Context) error {
		_, err := h.Payments.UpdatePaymentIntent(ctx, sc, id, u)
		return err
	})
}

func (h *Handler) cancelIntent(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req cancelRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusOK, h.renderIntentResult(sc), func(ctx context.Context) error {
		_, err := h.Payments.Cancel(ctx, sc, id, req.CancellationReason)
		return err
	})
}

func (h *Handler) captureIntent(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req captureRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusOK, h.renderIntentResult(sc), func(ctx context.Context) error {
		_, err := h.Payments.Capture(ctx, sc, id, req.Amount)
		return err
	})
}

// ---- payments and refunds ----

func (h *Handler) createPayment(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req paymentCreateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	p := payment.PayParams{PaymentMethodID: req.PaymentMethodID, BillingDetails: req.BillingDetails.core(),
		ReferenceID: req.ReferenceID, Description: req.Description, Metadata: req.UserFields, OrderDetails: req.OrderDetails}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusCreated, func(ctx context.Context, tx store.Tx, result any) (any, error) {
		return h.paymentView(ctx, tx, sc, result.(*tender.Payment))
	}, func(ctx context.Context) error {
		_, err := h.Payments.Pay(ctx, sc, id, p)
		return err
	})
}

func (h *Handler) listIntentPayments(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		if _, err := tx.FindPaymentIntentByID(ctx, sc, id); err != nil {
			return nil, err
		}
		items, more, err := tx.ListPaymentsByIntent(ctx, sc, id, page)
		if err != nil {
			return nil, err
		}
		out := make([]*wirePayment, len(items))
		for i, p := range items {
			if out[i], err = h.paymentView(ctx, tx, sc, p); err != nil {
				return nil, err
			}
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

func (h *Handler) getPayment(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		p, err := tx.FindPaymentByID(ctx, sc, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return h.paymentView(ctx, tx, sc, p)
	})
}

func renderRefundResult(ctx context.Context, tx store.Tx, result any) (any, error) {
	return renderRefund(result.(*tender.Refund)), nil
}

func (h *Handler) createRefund(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req refundCreateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusCreated, renderRefundResult, func(ctx context.Context) error {
		_, err := h.Payments.Refund(ctx, sc, id, payment.RefundParams{Amount: req.Amount, Reason: req.Reason})
		return err
	})
}

func (h *Handler) getRefund(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		ref, err := tx.FindRefundByID(ctx, sc, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return renderRefund(ref), nil
	})
}

// ---- payment methods ----

func renderPaymentMethodResult(ctx context.Context, tx store.Tx, result any) (any, error) {
	return renderPaymentMethod(result.(*tender.PaymentMethod)), nil
}

func (h *Handler) createPaymentMethod(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req paymentMethodCreateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	p := payment.PaymentMethodParams{Type: req.PaymentMethodType, BillingDetails: req.BillingDetails.core()}
	var v tender.Validation
	switch req.PaymentMethodType {
	case "card":
		if req.Card == nil {
			v.Add("card", "is required when payment_method_type is card")
		} else {
			if req.Card.Number == "" {
				v.Add("card.number", "is required")
			}
			p.Card = &processor.CardInput{Number: req.Card.Number, ExpMonth: int(req.Card.ExpMonth), ExpYear: int(req.Card.ExpYear), CVV: req.Card.CVV}
		}
	case "bank":
		if req.Bank == nil {
			v.Add("bank", "is required when payment_method_type is bank")
		} else {
			p.Bank = &processor.BankInput{AccountNumber: req.Bank.AccountNumber, RoutingNumber: req.Bank.RoutingNumber, AccountType: req.Bank.AccountType}
		}
	case "":
		v.Add("payment_method_type", "is required")
	default:
		v.Add("payment_method_type", "must be card or bank")
	}
	if err := v.Err(); err != nil {
		return err
	}
	return h.command(w, r, sc, body, http.StatusCreated, renderPaymentMethodResult, func(ctx context.Context) error {
		_, err := h.Payments.CreatePaymentMethod(ctx, sc, p)
		return err
	})
}

func (h *Handler) getPaymentMethod(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		pm, err := tx.FindPaymentMethodByID(ctx, sc, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return renderPaymentMethod(pm), nil
	})
}

func (h *Handler) updatePaymentMethod(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req paymentMethodUpdateRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	u := payment.PaymentMethodUpdate{BillingDetails: req.BillingDetails.core()}
	if req.Card != nil {
		if req.Card.ExpMonth != nil {
			m := int(*req.Card.ExpMonth)
			u.ExpMonth = &m
		}
		if req.Card.ExpYear != nil {
			y := int(*req.Card.ExpYear)
			u.ExpYear = &y
		}
	}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusOK, renderPaymentMethodResult, func(ctx context.Context) error {
		_, err := h.Payments.UpdatePaymentMethod(ctx, sc, id, u)
		return err
	})
}

// ---- external payments ----

func (h *Handler) createExternalPayment(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req externalPaymentRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	var v tender.Validation
	var p payment.ExternalPaymentParams
	if req.PaymentIntent == nil {
		v.Add("payment_intent", "is required")
	} else {
		p.Intent = req.PaymentIntent.params(&v, "payment_intent.")
	}
	if m := req.PaymentMethod; m == nil {
		v.Add("payment_method", "is required")
	} else {
		p.MethodType, p.SourceType, p.BillingDetails = m.PaymentMethodType, m.SourceType, m.BillingDetails.core()
		if c := m.Card; c != nil {
			p.Card = &tender.CardDetails{Brand: c.Brand, FirstSix: c.FirstSixDigits, LastFour: c.LastFourDigits,
				ExpMonth: int(c.ExpMonth), ExpYear: int(c.ExpYear)}
		}
		if b := m.Bank; b != nil {
			p.Bank = &tender.BankDetails{MaskedAccount: b.MaskedAccount, MaskedRouting: b.MaskedRouting}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	p.Gateway, p.CardPresent = req.GatewayResponse, req.CardPresent
	return h.command(w, r, sc, body, http.StatusCreated, h.renderIntentResult(sc), func(ctx context.Context) error {
		_, err := h.Payments.CreateExternalPayment(ctx, sc, p)
		return err
	})
}

func (h *Handler) createExternalRefund(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req externalRefundRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	var amount *int64
	if req.RefundRequest != nil {
		amount = req.RefundRequest.Amount
	}
	return h.command(w, r, sc, body, http.StatusCreated, renderRefundResult, func(ctx context.Context) error {
		_, err := h.Payments.CreateExternalRefund(ctx, sc, req.PaymentIntentID, amount, req.GatewayResponse)
		return err
	})
}

func (h *Handler) captureExternalPayment(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req externalCaptureRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusOK, h.renderIntentResult(sc), func(ctx context.Context) error {
		_, err := h.Payments.CaptureExternal(ctx, sc, id, req.Amount, req.GatewayCaptureResponse)
		return err
	})
}

func (h *Handler) cancelExternalPayment(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req externalCancelRequest
	body, err := decode(r, &req)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.command(w, r, sc, body, http.StatusOK, h.renderIntentResult(sc), func(ctx context.Context) error {
		_, err := h.Payments.CancelExternal(ctx, sc, id, req.CancellationReason, req.GatewayVoidResponse)
		return err
	})
}
