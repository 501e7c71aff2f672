package forward_test

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/server"
)

// exerciseLedgerRoutes drives every ledger route of the OpenAPI flow, after
// the flow has captured and refunded payments.
func exerciseLedgerRoutes(f *openAPIFlow) {
	f.t.Helper()
	s := f.s
	for _, p := range []string{"/balances", "/ledger/balances", "/balances?currency=usd&ledger_type=merchant"} {
		b := f.fwd("GET", p, nil, 200)
		data := b["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["currency"] != "USD" {
			f.t.Errorf("GET %s: %v", p, b)
		}
	}
	f.errorCode(s.Forward(f.t, "GET", "/balances?ledger_type=partner", nil), 400, "validation_error")
	f.errorCode(s.Forward(f.t, "GET", "/balances?currency=XYZ", nil), 400, "validation_error")

	list := f.fwd("GET", "/transactions?limit=2", nil, 200)
	data := list["data"].([]any)
	if len(data) != 2 {
		f.t.Fatalf("GET /transactions: %v", list)
	}
	id := data[0].(map[string]any)["id"].(string)
	f.fwd("GET", "/transactions?currency=USD&starting_after="+id, nil, 200)
	f.fwd("GET", "/transactions/"+id, nil, 200)
	f.errorCode(s.Forward(f.t, "GET", "/transactions/txn_nope", nil), 404, "resource_not_found")
	f.errorCode(s.Forward(f.t, "GET", "/transactions?limit=51", nil), 400, "validation_error")
	f.fwd("POST", "/transactions/search", map[string]any{"source_type": "refund", "settlement_status": "unsettled",
		"sort_column": "amount", "sort_direction": "asc", "amount_min": -100000, "limit": 5, "page": 1}, 200)
	f.fwd("POST", "/transactions/search", map[string]any{"source_type": []string{"payment", "refund"}}, 200)
	f.errorCode(s.Forward(f.t, "POST", "/transactions/search", map[string]any{"source_type": "gift"}), 400, "validation_error")
	f.errorCode(s.Forward(f.t, "POST", "/transactions/search", map[string]any{"limit": 51}), 400, "validation_error")
	dl := f.check(s.Forward(f.t, "POST", "/transactions/download", map[string]any{"source_type": "payment"}), 200)
	if dl != nil {
		f.t.Errorf("download answered JSON: %v", dl)
	}
	f.errorCode(s.Forward(f.t, "POST", "/transactions/download", map[string]any{"start_date": "yesterday"}), 400, "validation_error")

	plans := f.fwd("GET", "/processing_plans", nil, 200)
	planID := plans["data"].([]any)[0].(map[string]any)["id"].(string)
	f.fwd("GET", "/processing_plans/"+planID, nil, 200)
	f.errorCode(s.Forward(f.t, "GET", "/processing_plans/partppl_nope", nil), 404, "resource_not_found")
	f.fwd("GET", "/accounts/"+s.AccountID+"/processing_plan", nil, 200)
	f.ops["GET /accounts/{id}/processing_plan"] = true
	f.errorCode(s.Forward(f.t, "GET", "/accounts/acct_01hrhb3xts73sexcdy2z4zdwmq/processing_plan", nil), 404, "resource_not_found")
	f.ops["GET /accounts/{id}/processing_plan"] = true
}

// ledgerServer starts a server whose money settles after delay.
func ledgerServer(t *testing.T, postgres bool, delay time.Duration) *testserver.Server {
	t.Helper()
	return testserver.Start(t, testserver.Options{Postgres: postgres, Config: func(c *server.Config) {
		c.SettlementDelay = delay
		c.SettleInterval = 20 * time.Millisecond
	}})
}

// pay creates an intent of amount, pays it with a card and returns its id.
func pay(t *testing.T, s *testserver.Server, amount int) string {
	t.Helper()
	pm := s.Forward(t, "POST", "/payment_methods", openAPICard("4242424242424242")).JSON(t)
	pi := s.Forward(t, "POST", "/payment_intents", map[string]any{"amount": amount}).JSON(t)
	r := s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/payments", map[string]any{"payment_method_id": pm["id"]})
	if r.Status != 201 {
		t.Fatalf("pay: %d %s", r.Status, r.Body)
	}
	return pi["id"].(string)
}

func balance(t *testing.T, s *testserver.Server) (pending, available int64) {
	t.Helper()
	r := s.Forward(t, "GET", "/balances", nil)
	if r.Status != 200 {
		t.Fatalf("GET /balances: %d %s", r.Status, r.Body)
	}
	var env struct {
		Data []struct {
			Currency           string
			Pending, Available int64
		}
	}
	r.Decode(t, &env)
	if len(env.Data) != 1 || env.Data[0].Currency != "USD" {
		t.Fatalf("balances: %s", r.Body)
	}
	return env.Data[0].Pending, env.Data[0].Available
}

func TestLedgerRoutes(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := ledgerServer(t, pg, time.Hour)
			if p, a := balance(t, s); p != 0 || a != 0 {
				t.Fatalf("a new account's balance: %d %d", p, a)
			}
			pi1 := pay(t, s, 1000) // fee 59
			pi2 := pay(t, s, 2000) // fee 88
			r := s.Forward(t, "POST", "/payment_intents/"+pi1+"/refunds", map[string]any{"amount": 400})
			if r.Status != 201 {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			if p, a := balance(t, s); p != 1000-59+2000-88-400 || a != 0 {
				t.Errorf("balance after two payments and a refund: pending %d available %d", p, a)
			}

			var list struct {
				Data []struct {
					ID               string `json:"id"`
					SourceType       string `json:"source_type"`
					SourceID         string `json:"source_id"`
					RootSourceID     string `json:"root_source_id"`
					SettlementStatus string `json:"settlement_status"`
					Amount           int64  `json:"amount"`
					Fee              int64  `json:"fee"`
					Net              int64  `json:"net"`
				}
				Meta struct{ HasMore bool }
			}
			s.Forward(t, "GET", "/transactions", nil).Decode(t, &list)
			got := []string{}
			for _, d := range list.Data {
				got = append(got, fmt.Sprintf("%s %d %d %d %s", d.SourceType, d.Amount, d.Fee, d.Net, d.SettlementStatus))
			}
			want := []string{"refund -400 0 -400 unsettled", "payment 2000 88 1912 unsettled", "payment 1000 59 941 unsettled"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("transactions = %v, want %v", got, want)
			}
			if list.Data[0].RootSourceID != pi1 || list.Data[1].RootSourceID != pi2 || !strings.HasPrefix(list.Data[0].SourceID, "re_") {
				t.Errorf("sources: %+v", list.Data)
			}

			// Search by root source and by type.
			var found struct{ Data []struct{ ID string } }
			s.Forward(t, "POST", "/transactions/search", map[string]any{"root_source_id": pi1}).Decode(t, &found)
			if len(found.Data) != 2 {
				t.Errorf("search by root source: %+v", found)
			}
			s.Forward(t, "POST", "/transactions/search", map[string]any{"source_type": "payment", "amount_min": 1500}).Decode(t, &found)
			if len(found.Data) != 1 || found.Data[0].ID != list.Data[1].ID {
				t.Errorf("search payments of at least 1500: %+v", found)
			}
			bad := s.Forward(t, "POST", "/transactions/search", map[string]any{"sort_column": "status", "page": 0})
			if bad.Status != 400 || !strings.Contains(string(bad.Body), `"sort_column"`) || !strings.Contains(string(bad.Body), `"page"`) {
				t.Errorf("a bad search: %d %s", bad.Status, bad.Body)
			}

			// The download holds every match, as CSV.
			dl := s.Forward(t, "POST", "/transactions/download", map[string]any{"sort_column": "created_at", "sort_direction": "asc"})
			if dl.Status != 200 || !strings.HasPrefix(dl.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("download: %d %v %s", dl.Status, dl.Header, dl.Body)
			}
			rows, err := csv.NewReader(strings.NewReader(string(dl.Body))).ReadAll()
			if err != nil || len(rows) != 4 || rows[0][0] != "id" || rows[1][0] != list.Data[2].ID || rows[3][7] != "-400" {
				t.Errorf("download rows: %v, %v", rows, err)
			}

			// Another account of the organization sees none of it.
			other := s.Do(t, "GET", "/transactions/"+list.Data[0].ID, nil, map[string]string{"x-api-key": s.Key, "x-account-id": "acct_nope"})
			if other.Status != 403 {
				t.Errorf("a foreign x-account-id: %d", other.Status)
			}
		})
	}
}

func TestLedgerSettlement(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := ledgerServer(t, pg, 300*time.Millisecond)
			pi := pay(t, s, 5000) // fee 175
			r := s.Forward(t, "POST", "/payment_intents/"+pi+"/refunds", map[string]any{"amount": 1000})
			refundID := r.JSON(t)["id"].(string)
			deadline := time.Now().Add(10 * time.Second)
			for {
				p, a := balance(t, s)
				if p == 0 && a == 5000-175-1000 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("not settled after 10 s: pending %d available %d", p, a)
				}
				time.Sleep(50 * time.Millisecond)
			}
			intent := s.Forward(t, "GET", "/payment_intents/"+pi, nil).JSON(t)
			if intent["settlement_status"] != "settled" || intent["settled_at"] == nil {
				t.Errorf("intent after settlement: %v %v", intent["settlement_status"], intent["settled_at"])
			}
			lp := intent["latest_payment"].(map[string]any)
			if lp["settlement_status"] != "settled" || lp["settled_at"] == nil {
				t.Errorf("payment after settlement: %v", lp)
			}
			ref := s.Forward(t, "GET", "/refunds/"+refundID, nil).JSON(t)
			if ref["settlement_status"] != "settled" || ref["settled_at"] == nil {
				t.Errorf("refund after settlement: %v", ref)
			}
			var list struct {
				Data []struct {
					SettlementStatus string  `json:"settlement_status"`
					SettlementID     *string `json:"settlement_id"`
					SettledAt        *string `json:"settled_at"`
				}
			}
			s.Forward(t, "GET", "/transactions", nil).Decode(t, &list)
			if len(list.Data) != 2 {
				t.Fatalf("transactions: %+v (settlements are not listed)", list)
			}
			for _, d := range list.Data {
				if d.SettlementStatus != "settled" || d.SettlementID == nil || d.SettledAt == nil {
					t.Errorf("transaction after settlement: %+v", d)
				}
			}
			settlement := s.Forward(t, "GET", "/transactions/"+*list.Data[0].SettlementID, nil)
			if settlement.Status != 404 {
				t.Errorf("a settlement transaction is internal: %d %s", settlement.Status, settlement.Body)
			}
			// The search by settlement status finds them.
			var found struct{ Data []any }
			s.Forward(t, "POST", "/transactions/search", map[string]any{"settlement_status": "settled"}).Decode(t, &found)
			if len(found.Data) != 2 {
				t.Errorf("settled search: %d", len(found.Data))
			}
		})
	}
}

func TestProcessingPlanRoute(t *testing.T) {
	t.Parallel()
	s := ledgerServer(t, false, time.Hour)
	r := s.Forward(t, "GET", "/accounts/"+s.AccountID+"/processing_plan", nil)
	m := r.JSON(t)
	if m["plan_type"] != "FLAT_RATE" || m["account_id"] != s.AccountID || !strings.HasPrefix(m["id"].(string), "partppl_") {
		t.Fatalf("plan: %s", r.Body)
	}
	fees := m["fees"].(map[string]any)
	card := fees["card"].(map[string]any)
	if card["percentage"] != "2.90" || card["fixed"].(float64) != 30 || fees["dispute"].(map[string]any)["amount"].(float64) != 1500 {
		t.Errorf("fees: %v", fees)
	}
	if m["settlement_delay_seconds"].(float64) != 3600 {
		t.Errorf("settlement delay: %v", m["settlement_delay_seconds"])
	}
	byID := s.Forward(t, "GET", "/processing_plans/"+m["id"].(string), nil)
	if string(byID.Body) != string(r.Body) {
		t.Errorf("by plan id: %s", byID.Body)
	}
	// A plan set for the account shows at once, interchange included.
	if _, err := s.Payments.Ledger.PutSettings(t.Context(), &tender.AccountSettings{AccountID: s.AccountID,
		Plan: &tender.ProcessingPlan{PlanType: tender.PlanInterchangePlus, Card: tender.FeeRate{BPS: 20, Fixed: 5}}}); err != nil {
		t.Fatal(err)
	}
	m = s.Forward(t, "GET", "/processing_plans/"+m["id"].(string), nil).JSON(t)
	if m["plan_type"] != "INTERCHANGE_PLUS" || m["fees"].(map[string]any)["interchange"].(map[string]any)["visa"] == nil {
		t.Errorf("interchange-plus plan: %v", m)
	}
}
