package forward

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/store"
)

// ---- wire shapes ----

type wireBalance struct {
	Currency  string `json:"currency"`
	Pending   int64  `json:"pending"`
	Available int64  `json:"available"`
}

type wireTransaction struct {
	ID               string  `json:"id"`
	Entity           string  `json:"entity"`
	CreatedAt        string  `json:"created_at"`
	UpdatedAt        string  `json:"updated_at"`
	LedgerAccountID  string  `json:"ledger_account_id"`
	PayoutID         *string `json:"payout_id"`
	BankTransferID   *string `json:"bank_transfer_id"`
	SourceType       string  `json:"source_type"`
	SourceID         string  `json:"source_id"`
	SourceAccountID  string  `json:"source_account_id"`
	RootSourceID     string  `json:"root_source_id"`
	Currency         string  `json:"currency"`
	Amount           int64   `json:"amount"`
	Fee              int64   `json:"fee"`
	Net              int64   `json:"net"`
	SettlementID     *string `json:"settlement_id"`
	SettlementStatus string  `json:"settlement_status"`
	SettledAt        *string `json:"settled_at"`
	AvailableOn      *string `json:"available_on"`
	Description      *string `json:"description"`
}

// ledgerAccountID names the merchant's ledger in one currency.
func ledgerAccountID(accountID string, c tender.Currency) string {
	return "la_" + strings.TrimPrefix(accountID, tender.PrefixAccount) + "_" + c.Lower()
}

func renderTransaction(l *tender.LedgerTransaction) *wireTransaction {
	return &wireTransaction{ID: l.ID, Entity: "transaction", CreatedAt: ts(l.CreatedAt), UpdatedAt: ts(l.UpdatedAt),
		LedgerAccountID: ledgerAccountID(l.AccountID, l.Currency), PayoutID: strPtr(l.PayoutID), SourceType: l.SourceType,
		SourceID: l.SourceID, SourceAccountID: l.AccountID, RootSourceID: l.RootSourceID, Currency: string(l.Currency),
		Amount: l.Amount, Fee: l.Fee, Net: l.Net, SettlementID: strPtr(l.SettlementID), SettlementStatus: l.SettlementStatus,
		SettledAt: tsPtr(l.SettledAt), AvailableOn: tsPtr(l.AvailableAt), Description: strPtr(l.Description)}
}

type wireFeeRate struct {
	Percentage string `json:"percentage"`
	RateBPS    int64  `json:"rate_bps"`
	Fixed      int64  `json:"fixed"`
	Cap        *int64 `json:"cap"`
}

func renderRate(r tender.FeeRate) wireFeeRate {
	w := wireFeeRate{Percentage: strconv.FormatInt(r.BPS/100, 10) + "." + leftPad(r.BPS%100), RateBPS: r.BPS, Fixed: r.Fixed}
	if r.Cap > 0 {
		c := r.Cap
		w.Cap = &c
	}
	return w
}

func leftPad(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

type wirePlan struct {
	ID                          string          `json:"id"`
	Entity                      string          `json:"entity"`
	PlanType                    string          `json:"plan_type"`
	EffectiveDate               string          `json:"effective_date"`
	AcceptedCards               []string        `json:"accepted_cards"`
	AuthFee                     wireAmount      `json:"auth_fee"`
	Fees                        wirePlanFees    `json:"fees"`
	FeesPaidByPartner           json.RawMessage `json:"fees_paid_by_partner"`
	PartnerPaysChargebackAmount bool            `json:"partner_pays_chargeback_amount"`
	Comment                     *string         `json:"comment"`
	InterchangeCost             string          `json:"interchange_cost"`
	BankProcessingPlanSettings  wireFeeRate     `json:"bank_processing_plan_settings"`
	AccountID                   string          `json:"account_id"`
	SettlementDelaySeconds      int64           `json:"settlement_delay_seconds"`
	PayoutSchedule              string          `json:"payout_schedule"`
	PayoutMinimum               int64           `json:"payout_minimum"`
}

type wireAmount struct {
	Amount int64 `json:"amount"`
}

type wirePlanFees struct {
	Card        wireFeeRate            `json:"card"`
	Bank        wireFeeRate            `json:"bank"`
	Dispute     wireAmount             `json:"dispute"`
	Payout      wireAmount             `json:"payout"`
	Interchange map[string]wireFeeRate `json:"interchange,omitempty"`
}

func renderPlan(st *tender.AccountSettings) *wirePlan {
	p := st.Plan
	cards := p.AcceptedCards
	if cards == nil {
		cards = []string{}
	}
	w := &wirePlan{ID: p.ID, Entity: "processing_plan", PlanType: p.PlanType, EffectiveDate: p.EffectiveDate.UTC().Format("2006-01-02"),
		AcceptedCards: cards, Fees: wirePlanFees{Card: renderRate(p.Card), Bank: renderRate(p.Bank), Dispute: wireAmount{p.DisputeFee},
			Payout: wireAmount{p.PayoutFee}},
		FeesPaidByPartner: json.RawMessage(`{}`), Comment: strPtr(p.Comment), InterchangeCost: p.InterchangeCost,
		BankProcessingPlanSettings: renderRate(p.Bank), AccountID: st.AccountID, SettlementDelaySeconds: int64(st.SettlementDelay.Seconds()),
		PayoutSchedule: st.PayoutSchedule, PayoutMinimum: st.PayoutMinimum}
	if w.InterchangeCost == "" {
		w.InterchangeCost = "GROSS"
	}
	if p.PlanType == tender.PlanInterchangePlus {
		w.Fees.Interchange = map[string]wireFeeRate{}
		for brand, r := range ledger.Interchange {
			if brand == "" {
				brand = "other"
			}
			w.Fees.Interchange[brand] = renderRate(r)
		}
	}
	return w
}

type transactionSearchRequest struct {
	RootSourceID     string          `json:"root_source_id"`
	SourceType       json.RawMessage `json:"source_type"`
	SettlementStatus json.RawMessage `json:"settlement_status"`
	StartDate        string          `json:"start_date"`
	EndDate          string          `json:"end_date"`
	CreatedAtStart   string          `json:"created_at_start"`
	CreatedAtEnd     string          `json:"created_at_end"`
	Currency         string          `json:"currency"`
	PayoutID         string          `json:"payout_id"`
	SortColumn       string          `json:"sort_column"`
	SortDirection    string          `json:"sort_direction"`
	AmountMin        *int64          `json:"amount_min"`
	AmountMax        *int64          `json:"amount_max"`
	Limit            *int            `json:"limit"`
	Page             *int            `json:"page"`
}

// stringOrList decodes a field that may be a string or a list of strings.
func stringOrList(v *tender.Validation, field string, raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	v.Add(field, "must be a string or a list of strings")
	return nil
}

// filter validates a search or download request. paged reads limit and page.
func (req *transactionSearchRequest) filter(paged bool) (tender.LedgerTransactionFilter, int, error) {
	var v tender.Validation
	f := tender.LedgerTransactionFilter{RootSourceID: req.RootSourceID, AmountMin: req.AmountMin, AmountMax: req.AmountMax,
		SortColumn: req.SortColumn, PayoutID: req.PayoutID, Limit: 10}
	for _, st := range stringOrList(&v, "source_type", req.SourceType) {
		if !slices.Contains(ledger.SourceTypes, st) {
			v.Add("source_type", "must be one of "+strings.Join(ledger.SourceTypes, ", "))
		}
		f.SourceTypes = append(f.SourceTypes, st)
	}
	switch ss := stringOrList(&v, "settlement_status", req.SettlementStatus); {
	case len(ss) == 1 && settleStatuses[ss[0]]:
		f.SettlementStatus = ss[0]
	case len(ss) == 2 && settleStatuses[ss[0]] && settleStatuses[ss[1]] && ss[0] != ss[1]:
		// both: no filter
	case len(ss) > 0:
		v.Add("settlement_status", "must be settled or unsettled")
	}
	switch f.SortColumn {
	case "", "updated_at", "created_at", "amount":
	default:
		v.Add("sort_column", "must be one of updated_at, created_at, amount")
	}
	switch req.SortDirection {
	case "", "desc":
	case "asc":
		f.SortAsc = true
	default:
		v.Add("sort_direction", "must be asc or desc")
	}
	if req.Currency != "" {
		c, err := tender.ParseCurrency(req.Currency)
		if err != nil {
			v.Add("currency", "is not a known ISO 4217 currency code")
		}
		f.Currency = c
	}
	start, end := req.StartDate, req.EndDate
	startField, endField := "start_date", "end_date"
	if start == "" {
		start, startField = req.CreatedAtStart, "created_at_start"
	}
	if end == "" {
		end, endField = req.CreatedAtEnd, "created_at_end"
	}
	f.Start = parseTime(&v, startField, start)
	f.End = parseTime(&v, endField, end)
	if f.AmountMin != nil && f.AmountMax != nil && *f.AmountMin > *f.AmountMax {
		v.Add("amount_min", "must not exceed amount_max")
	}
	page := 1
	if paged {
		if req.Limit != nil {
			if *req.Limit < 1 || *req.Limit > 50 {
				v.Add("limit", "must be from 1 to 50")
			}
			f.Limit = *req.Limit
		}
		if req.Page != nil {
			if *req.Page < 1 || *req.Page > 100_000 {
				v.Add("page", "must be from 1 to 100000")
			}
			page = *req.Page
		}
		f.Offset = (page - 1) * f.Limit
	}
	return f, page, v.Err()
}

// ---- handlers ----

func (h *Handler) registerLedger(r func(pattern string, a access, needAccount bool, fn endpoint)) {
	r("GET /balances", privateKey, false, h.getBalances)
	r("GET /ledger/balances", privateKey, false, h.getBalances)
	r("GET /transactions", privateKey, false, h.listTransactions)
	r("GET /transactions/{id}", privateKey, false, h.getTransaction)
	r("POST /transactions/search", privateKey, false, h.searchTransactions)
	r("POST /transactions/download", privateKey, false, h.downloadTransactions)
	r("GET /processing_plans", privateKey, false, h.listPlans)
	r("GET /processing_plans/{id}", privateKey, false, h.getPlan)
	r("GET /accounts/{id}/processing_plan", privateKey, false, h.getAccountPlan)
}

func (h *Handler) getBalances(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	currency, err := ledgerQuery(r)
	if err != nil {
		return err
	}
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		bals, err := h.Payments.Ledger.Balances(ctx, tx, sc, currency)
		if err != nil {
			return nil, err
		}
		out := make([]wireBalance, 0, len(bals)+1)
		for _, b := range bals {
			out = append(out, wireBalance{Currency: string(b.Currency), Pending: b.Pending, Available: b.Available})
		}
		if len(out) == 0 {
			// An account that never moved money holds zero of its
			// currency (USD unless one was asked for).
			if currency == "" {
				currency = "USD"
			}
			out = append(out, wireBalance{Currency: string(currency)})
		}
		return pageEnvelope(out, len(out), false), nil
	})
}

func (h *Handler) listTransactions(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	page, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := tender.LedgerTransactionFilter{PayoutID: q.Get("payout_id")}
	if s := q.Get("currency"); s != "" {
		if f.Currency, err = tender.ParseCurrency(s); err != nil {
			return tender.FieldError("currency", "is not a known ISO 4217 currency code")
		}
	}
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.ListLedgerTransactions(ctx, sc, page, f)
		if err != nil {
			return nil, err
		}
		out := make([]*wireTransaction, len(items))
		for i, l := range items {
			out[i] = renderTransaction(l)
		}
		return pageEnvelope(out, page.Limit, more), nil
	})
}

func (h *Handler) getTransaction(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	id := r.PathValue("id")
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		l, err := tx.FindLedgerTransactionByID(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		if l.SourceType == "" {
			// Internal transactions (settlements) show only through the
			// settlement fields of the transactions they settled.
			return nil, tender.Errorf(tender.ENOTFOUND, "transaction %s not found", id)
		}
		return renderTransaction(l), nil
	})
}

func (h *Handler) searchTransactions(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req transactionSearchRequest
	if _, err := decode(r, &req); err != nil {
		return err
	}
	f, page, err := req.filter(true)
	if err != nil {
		return err
	}
	return h.read(w, r, func(ctx context.Context, tx store.Tx) (any, error) {
		items, more, err := tx.SearchLedgerTransactions(ctx, sc, f)
		if err != nil {
			return nil, err
		}
		out := make([]*wireTransaction, len(items))
		for i, l := range items {
			out[i] = renderTransaction(l)
		}
		env := pageEnvelope(out, f.Limit, more)
		env.Meta.Page = &page
		return env, nil
	})
}

// transactionCSVHeader is the first line of a download.
var transactionCSVHeader = []string{"id", "created_at", "updated_at", "source_type", "source_id", "root_source_id", "currency",
	"amount", "fee", "net", "settlement_status", "settled_at", "available_on", "settlement_id", "payout_id", "description"}

// downloadTransactions streams every match of the filters as CSV, row by
// row as the store reads them, so memory stays constant however many rows
// there are. An error after the first row aborts the connection (the
// client sees a truncated body, never a partial file that looks whole).
func (h *Handler) downloadTransactions(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	var req transactionSearchRequest
	if _, err := decode(r, &req); err != nil {
		return err
	}
	f, _, err := req.filter(false)
	if err != nil {
		return err
	}
	started := false
	bw := bufio.NewWriterSize(w, 32<<10)
	cw := csv.NewWriter(bw)
	flusher, _ := w.(http.Flusher)
	rows := 0
	row := make([]string, len(transactionCSVHeader))
	opt := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	start := func() {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="transactions.csv"`)
		w.WriteHeader(http.StatusOK)
		_ = cw.Write(transactionCSVHeader)
	}
	err = h.Payments.Store.Read(r.Context(), func(tx store.Tx) error {
		return tx.EachLedgerTransaction(r.Context(), sc, f, func(l *tender.LedgerTransaction) error {
			if !started {
				start()
			}
			t := renderTransaction(l)
			row = append(row[:0], t.ID, t.CreatedAt, t.UpdatedAt, t.SourceType, t.SourceID, t.RootSourceID, t.Currency,
				strconv.FormatInt(t.Amount, 10), strconv.FormatInt(t.Fee, 10), strconv.FormatInt(t.Net, 10), t.SettlementStatus,
				opt(t.SettledAt), opt(t.AvailableOn), opt(t.SettlementID), opt(t.PayoutID), opt(t.Description))
			if err := cw.Write(row); err != nil {
				return err
			}
			if rows++; rows%1024 == 0 {
				cw.Flush()
				if err := bw.Flush(); err != nil {
					return err
				}
				if flusher != nil {
					flusher.Flush()
				}
			}
			return nil
		})
	})
	if err != nil && !started {
		return err
	}
	if err != nil {
		h.Log.Error("transaction download failed midway", "request_id", api.RequestID(r.Context()), "rows", rows, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !started {
		start()
	}
	cw.Flush()
	if err := bw.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
	return nil
}

// planAccount checks that accountID may be read by sc and returns its
// effective settings.
func (h *Handler) planAccount(ctx context.Context, sc tender.Scope, accountID string) (*tender.AccountSettings, error) {
	if !tender.HasPrefix(accountID, tender.PrefixAccount) {
		return nil, tender.Errorf(tender.ENOTFOUND, "processing plan not found")
	}
	if _, err := h.Accounts.ActAs(ctx, sc, accountID); err != nil {
		if tender.ErrorCode(err) == tender.EFORBIDDEN {
			return nil, tender.Errorf(tender.ENOTFOUND, "processing plan not found")
		}
		return nil, err
	}
	return h.Payments.Ledger.Settings(ctx, accountID)
}

func (h *Handler) writePlan(w http.ResponseWriter, r *http.Request, sc tender.Scope, accountID string) error {
	st, err := h.planAccount(r.Context(), sc, accountID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(renderPlan(st))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (h *Handler) getPlan(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	id := r.PathValue("id")
	acct := tender.ReplacePrefix(id, tender.PrefixProcessingPlan, tender.PrefixAccount)
	return h.writePlan(w, r, sc, acct)
}

func (h *Handler) getAccountPlan(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	return h.writePlan(w, r, sc, r.PathValue("id"))
}

// listPlans lists the plan of the account acted for (Forward lists a
// partner's plans; tender has one plan per account).
func (h *Handler) listPlans(w http.ResponseWriter, r *http.Request, sc tender.Scope) error {
	st, err := h.planAccount(r.Context(), sc, sc.AccountID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(pageEnvelope([]*wirePlan{renderPlan(st)}, 10, false))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, b)
	return nil
}
