package forward

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// Disputes, payouts and the test helpers that move them (docs/forward.md,
// "Disputes" and "Payouts").

// ---- wire shapes ----

type wireStatusChange struct {
	Status    string `json:"status"`
	ChangedAt string `json:"changed_at"`
}

func renderHistory(h []tender.StatusChange) []wireStatusChange {
	out := make([]wireStatusChange, len(h))
	for i, c := range h {
		out[i] = wireStatusChange{Status: c.Status, ChangedAt: ts(c.At)}
	}
	return out
}

// dateFormat is how Forward renders the dates of a dispute.
const dateFormat = "2006-01-02"

type wireDispute struct {
	ID                 string             `json:"id"`
	Entity             string             `json:"entity"`
	CreatedAt          string             `json:"created_at"`
	UpdatedAt          string             `json:"updated_at"`
	AccountID          string             `json:"account_id"`
	BusinessID         string             `json:"business_id"`
	Status             string             `json:"status"`
	PaymentID          string             `json:"payment_id"`
	PaymentIntentID    string             `json:"payment_intent_id"`
	Amount             int64              `json:"amount"`
	Currency           string             `json:"currency"`
	FeeAmount          int64              `json:"fee_amount"`
	Notes              json.RawMessage    `json:"notes"`
	Attachments        json.RawMessage    `json:"attachments"`
	DisputeDate        string             `json:"dispute_date"`
	ResponseDueDate    string             `json:"response_due_date"`
	ResponseDueAt      string             `json:"response_due_at"`
	ClosedDate         *string            `json:"closed_date"`
	ReasonDisputedCode int                `json:"reason_disputed_code"`
	ReasonDisputed     string             `json:"reason_disputed"`
	DisputeResponse    *string            `json:"dispute_response"`
	ReferenceMeta      json.RawMessage    `json:"reference_meta"`
	SettlementStatus   string             `json:"settlement_status"`
	SettledAt          *string            `json:"settled_at"`
	StatusHistory      []wireStatusChange `json:"status_history"`
}

func renderDispute(sc tender.Scope, d *tender.Dispute) *wireDispute {
	w := &wireDispute{ID: d.ID, Entity: "dispute", CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt), AccountID: d.AccountID,
		BusinessID: businessID(sc.OrganizationID), Status: d.Status, PaymentID: d.PaymentID, PaymentIntentID: d.PaymentIntentID,
		Amount: d.Amount, Currency: string(d.Currency), FeeAmount: d.Fee, Notes: json.RawMessage(`[]`), Attachments: json.RawMessage(`[]`),
		DisputeDate: d.CreatedAt.UTC().Format(dateFormat), ResponseDueDate: d.ResponseDueAt.UTC().Format(dateFormat),
		ResponseDueAt: ts(d.ResponseDueAt), ReasonDisputedCode: d.ReasonCode, ReasonDisputed: d.Reason,
		ReferenceMeta: json.RawMessage(`{}`), SettlementStatus: tender.Settled, SettledAt: tsPtr(&d.CreatedAt),
		StatusHistory: renderHistory(d.StatusHistory)}
	if d.ClosedAt != nil {
		s := d.ClosedAt.UTC().Format(dateFormat)
		w.ClosedDate = &s
	}
	return w
}

type wireSummaryLine struct {
	SourceType string `json:"source_type"`
	Count      int64  `json:"count"`
	Amount     int64  `json:"amount"`
	Fee        int64  `json:"fee"`
	Net        int64  `json:"net"`
}

// wireTransfer is one attempt to send a payout to the bank
// (latest_payment_data, payment_data).
type wireTransfer struct {
	Status        string  `json:"status"`
	Amount        int64   `json:"amount"`
	Currency      string  `json:"currency"`
	CreatedAt     string  `json:"created_at"`
	ArrivalDate   string  `json:"arrival_date"`
	FailureReason *string `json:"failure_reason"`
}

type wirePayout struct {
	ID                  string             `json:"id"`
	Entity              string             `json:"entity"`
	Status              string             `json:"status"`
	PayoutNumber        int64              `json:"payout_number"`
	TransactionCount    int64              `json:"transaction_count"`
	TransactionSummary  []wireSummaryLine  `json:"transaction_summary"`
	Amount              int64              `json:"amount"`
	NetAmount           int64              `json:"net_amount"`
	FeeAmount           int64              `json:"fee_amount"`
	BatchFee            int64              `json:"batch_fee"`
	RejectFee           int64              `json:"reject_fee"`
	Currency            string             `json:"currency"`
	LatestPaymentData   *wireTransfer      `json:"latest_payment_data"`
	PaymentData         []*wireTransfer    `json:"payment_data"`
	PaymentAttemptCount int                `json:"payment_attempt_count"`
	PaymentRejectCount  int                `json:"payment_reject_count"`
	OwnerType           string             `json:"owner_type"`
	OwnerID             string             `json:"owner_id"`
	AccountID           string             `json:"account_id"`
	BusinessID          string             `json:"business_id"`
	TransactionID       string             `json:"transaction_id"`
	FailureReason       *string            `json:"failure_reason"`
	SettlementStatus    string             `json:"settlement_status"`
	SettledAt           *string            `json:"settled_at"`
	ArrivalDate         string             `json:"arrival_date"`
	CreatedAt           string             `json:"created_at"`
	UpdatedAt           string             `json:"updated_at"`
	CompletedAt         *string            `json:"completed_at"`
	FailedAt            *string            `json:"failed_at"`
	ReturnedAt          *string            `json:"returned_at"`
	CancelledAt         *string            `json:"cancelled_at"`
	StatusHistory       []wireStatusChange `json:"status_history"`
}

func renderPayout(p *tender.Payout) *wirePayout {
	lines := make([]wireSummaryLine, len(p.Summary))
	for i, l := range p.Summary {
		lines[i] = wireSummaryLine{SourceType: l.SourceType, Count: l.Count, Amount: l.Amount, Fee: l.Fee, Net: l.Net}
	}
	transfer := &wireTransfer{Status: p.Status, Amount: p.NetAmount, Currency: string(p.Currency), CreatedAt: ts(p.CreatedAt),
		ArrivalDate: p.ArrivalAt.UTC().Format(dateFormat), FailureReason: strPtr(p.FailureReason)}
	w := &wirePayout{ID: p.ID, Entity: "payout", Status: p.Status, PayoutNumber: p.Number, TransactionCount: p.TransactionCount,
		TransactionSummary: lines, Amount: p.Amount, NetAmount: p.NetAmount, FeeAmount: p.FeeAmount, Currency: string(p.Currency),
		LatestPaymentData: transfer, PaymentData: []*wireTransfer{transfer}, PaymentAttemptCount: 1, OwnerType: "account",
		OwnerID: p.AccountID, AccountID: p.AccountID, BusinessID: businessID(p.OrganizationID), TransactionID: p.LedgerTransactionID,
		FailureReason: strPtr(p.FailureReason), SettlementStatus: tender.Unsettled, ArrivalDate: p.ArrivalAt.UTC().Format(dateFormat),
		CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt), CompletedAt: tsPtr(p.CompletedAt), FailedAt: tsPtr(p.FailedAt),
		ReturnedAt: tsPtr(p.ReturnedAt), CancelledAt: tsPtr(p.CancelledAt), StatusHistory: renderHistory(p.StatusHistory)}
	if p.Status == tender.PayoutCompleted {
		w.SettlementStatus, w.SettledAt = tender.Settled, w.CompletedAt
	}
	if p.Status == tender.PayoutFailed || p.Status == tender.PayoutReturned {
		w.PaymentRejectCount = 1
	}
	return w
}

// ---- routes ----

func (h *Handler) registerDisputesPayouts(r func(pattern string, a access, needAccount bool, fn endpoint)) {
	r("GET /disputes", privateKey, false, h.listDisputes)
	r("GET /disputes/{id}", privateKey, false, h.getDispute)
	r("GET /payouts", privateKey, false, h.listPayouts)
	r("GET /payouts/{id}", privateKey, false, h.getPayout)
	r("GET /businesses/payouts", privateKey, false, h.listBusinessPayouts)
	for _, to := range []string{"contest", "accept", "win", "lose"} {
		r("POST /test_helpers/disputes/{id}/"+to, privateKey, false, h.moveDispute(to))
	}
	for _, to := range []string{"fail", "return", "cancel"} {
		r("POST /test_helpers/payouts/{id}/"+to, privateKey, false, h.movePayout(to))
	}
}

// listQuery reads a list's page and its status filter, one of allowed.
func listQuery(r *http.Request, allowed []string) (tender.Page, string, error) {
	page, err := parsePage(r)
	if err != nil {
		return page, "", err
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(allowed, status) {
		return page, "", tender.FieldError("status", "must be one of "+strings.Join(allowed, ", "))
	}
	return page, status, nil
}

func (h *Handler) listDisputes(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	page, status, err := listQuery(r, tender.DisputeStatuses)
	if err != nil {
		return err
	}
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.ListDisputes(ctx, sc, page, tender.DisputeFilter{Status: status})
		if err != nil {
			return nil, err
		}
		out := make([]*wireDispute, len(items))
		for i, d := range items {
			out[i] = renderDispute(sc, d)
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

func (h *Handler) getDispute(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		d, err := tx.FindDisputeByID(ctx, sc, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return renderDispute(sc, d), nil
	})
}

func (h *Handler) listPayouts(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	page, status, err := listQuery(r, tender.PayoutStatuses)
	if err != nil {
		return err
	}
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.ListPayouts(ctx, sc, page, tender.PayoutFilter{Status: status})
		if err != nil {
			return nil, err
		}
		return payoutPage(items, page.Limit, more), nil
	})
}

func payoutPage(items []*tender.Payout, limit int, more bool) listEnvelope {
	out := make([]*wirePayout, len(items))
	for i, p := range items {
		out[i] = renderPayout(p)
	}
	return pageEnvelope(out, limit, more)
}

// ledgerQuery reads the query parameters of Forward's ledger reads:
// ledger_type (only merchant) and currency.
func ledgerQuery(r *http.Request) (tender.Currency, error) {
	q := r.URL.Query()
	var v tender.Validation
	switch q.Get("ledger_type") {
	case "", "merchant":
	default:
		v.Add("ledger_type", "must be merchant")
	}
	var currency tender.Currency
	if s := q.Get("currency"); s != "" {
		c, err := tender.ParseCurrency(s)
		if err != nil {
			v.Add("currency", "is not a known ISO 4217 currency code")
		}
		currency = c
	}
	return currency, v.Err()
}

func (h *Handler) getPayout(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	currency, err := ledgerQuery(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		p, err := tx.FindPayoutByID(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		if currency != "" && p.Currency != currency {
			return nil, tender.Errorf(tender.ENOTFOUND, "payout %s not found in %s", id, currency)
		}
		return renderPayout(p), nil
	})
}

// listBusinessPayouts lists the payouts of every account of the business
// named by x-business-id: the key's organization, as bus_… (see
// docs/forward.md). Another business is 403, as another organization's
// x-account-id is.
func (h *Handler) listBusinessPayouts(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	bus := r.Header.Get("x-business-id")
	if bus == "" {
		return tender.FieldError("x-business-id", "header is required")
	}
	if bus != businessID(sc.OrganizationID) && bus != sc.OrganizationID {
		return tender.Errorf(tender.EFORBIDDEN, "business %s is not the business of this API key", clipString(bus, 80))
	}
	page, status, err := listQuery(r, tender.PayoutStatuses)
	if err != nil {
		return err
	}
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.ListOrganizationPayouts(ctx, sc.OrganizationID, sc.Mode, page, tender.PayoutFilter{Status: status})
		if err != nil {
			return nil, err
		}
		return payoutPage(items, page.Limit, more), nil
	})
}

// ---- test helpers ----

// testOnly refuses test helpers to live keys.
func testOnly(sc tender.Scope) error {
	if sc.Mode != tender.ModeTest {
		return tender.Errorf(tender.EFORBIDDEN, "test helpers are only available with test-mode keys")
	}
	return nil
}

var disputeMoves = map[string]string{"contest": tender.DisputeContested, "accept": tender.DisputeAccepted,
	"win": tender.DisputeWon, "lose": tender.DisputeLost}

func (h *Handler) moveDispute(action string) endpoint {
	to := disputeMoves[action]
	return func(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
		if err := testOnly(sc); err != nil {
			return err
		}
		var req struct{}
		body, err := decode(r, &req)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		return h.command(w, r, sc, body, http.StatusOK, func(ctx context.Context, tx store.Tx, result any) (any, error) {
			return renderDispute(sc, result.(*tender.Dispute)), nil
		}, func(ctx context.Context) error {
			_, err := h.Payments.MoveDispute(ctx, sc, id, to)
			return err
		})
	}
}

var payoutMoves = map[string]string{"fail": tender.PayoutFailed, "return": tender.PayoutReturned, "cancel": tender.PayoutCancelled}

func (h *Handler) movePayout(action string) endpoint {
	to := payoutMoves[action]
	return func(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
		if err := testOnly(sc); err != nil {
			return err
		}
		var req struct {
			FailureReason string `json:"failure_reason"`
		}
		body, err := decode(r, &req)
		if err != nil {
			return err
		}
		if req.FailureReason != "" && to == tender.PayoutCancelled {
			return tender.FieldError("failure_reason", "applies to fail and return only")
		}
		if req.FailureReason == "" && to != tender.PayoutCancelled {
			req.FailureReason = map[string]string{tender.PayoutFailed: "account_closed", tender.PayoutReturned: "no_account"}[to]
		}
		if h.Payouts == nil {
			return tender.Errorf(tender.ENOTIMPLEMENTED, "payouts are not configured")
		}
		id := r.PathValue("id")
		return h.command(w, r, sc, body, http.StatusOK, func(ctx context.Context, tx store.Tx, result any) (any, error) {
			return renderPayout(result.(*tender.Payout)), nil
		}, func(ctx context.Context) error {
			_, err := h.Payouts.Move(ctx, sc, id, to, req.FailureReason)
			return err
		})
	}
}
