package forward_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/server"
)

// disputeCard is the sim's card whose payments are disputed after capture.
const disputeCard = "4000000000000259"

// payWith creates an intent of amount, pays it with a new card of number
// and returns the intent's id.
func payWith(t *testing.T, s *testserver.Server, number string, amount int) string {
	t.Helper()
	pm := s.Forward(t, "POST", "/payment_methods", openAPICard(number)).JSON(t)
	pi := s.Forward(t, "POST", "/payment_intents", map[string]any{"amount": amount}).JSON(t)
	r := s.Forward(t, "POST", "/payment_intents/"+pi["id"].(string)+"/payments", map[string]any{"payment_method_id": pm["id"]})
	if r.Status != 201 {
		t.Fatalf("pay: %d %s", r.Status, r.Body)
	}
	return pi["id"].(string)
}

// list GETs a Forward list and returns its items.
func list(t *testing.T, s *testserver.Server, path string) []map[string]any {
	t.Helper()
	r := s.Forward(t, "GET", path, nil)
	if r.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var env struct{ Data []map[string]any }
	r.Decode(t, &env)
	return env.Data
}

func wantStatus(t *testing.T, r *testserver.Response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.Status, status, r.Body)
	}
	m := r.JSON(t)
	if code != "" && m["code"] != code {
		t.Errorf("%s %s: code %v, want %s", r.Request.Method, r.Request.URL.Path, m["code"], code)
	}
	return m
}

func n64(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func statuses(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["status"].(string))
	}
	return out
}

func history(m map[string]any) []string {
	var out []string
	for _, h := range m["status_history"].([]any) {
		out = append(out, h.(map[string]any)["status"].(string))
	}
	return out
}

// wantBalance checks GET /balances, once pending money has settled.
func wantBalance(t *testing.T, s *testserver.Server, what string, available int64) {
	t.Helper()
	var p, a int64
	for i := 0; i < 200; i++ {
		if p, a = balance(t, s); p == 0 && a == available {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("%s: balance pending %d available %d, want 0 and %d", what, p, a, available)
}

func verifyLedger(t *testing.T, s *testserver.Server) {
	t.Helper()
	rep, err := ledger.Verify(context.Background(), s.Store)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("ledger verify: %v", rep.Violations)
	}
}

func onEngines(t *testing.T, run func(t *testing.T, pg bool)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run(t, pg)
		})
	}
}

// setSettings changes the account's money settings as an operator would.
func setSettings(t *testing.T, s *testserver.Server, st tender.AccountSettings) {
	t.Helper()
	st.AccountID = s.AccountID
	if _, err := s.Payments.Ledger.PutSettings(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
}

// TestDisputes drives two disputes of the sim's dispute card through HTTP:
// opened by the job after capture, one won and one contested then lost,
// with the balances, the intents' dispute fields, refunds, events and the
// ledger checked after each step.
func TestDisputes(t *testing.T) {
	t.Parallel()
	onEngines(t, func(t *testing.T, pg bool) {
		s := testserver.Start(t, testserver.Options{Postgres: pg, Config: func(c *server.Config) {
			c.SettlementDelay, c.SettleInterval = 0, 20*time.Millisecond
			c.SimDisputeDelay = 150 * time.Millisecond
			c.PayoutSchedule = tender.PayoutManual
		}})
		pi1 := payWith(t, s, disputeCard, 10000) // fee 290 + 30
		var d1 map[string]any
		eventually(t, "the dispute", func() bool {
			items := list(t, s, "/disputes")
			if len(items) == 1 {
				d1 = items[0]
			}
			return d1 != nil
		})
		id1 := d1["id"].(string)
		if !tender.HasPrefix(id1, tender.PrefixDispute) || d1["status"] != "new" || n64(d1["amount"]) != 10000 || n64(d1["fee_amount"]) != 1500 ||
			d1["payment_intent_id"] != pi1 || d1["reason_disputed"] != "Fraud - Card Absent Environment" || n64(d1["reason_disputed_code"]) != 83 ||
			d1["closed_date"] != nil || !slices.Equal(history(d1), []string{"new"}) {
			t.Errorf("new dispute: %v", d1)
		}
		opened, _ := time.Parse("2006-01-02T15:04:05.000Z", d1["created_at"].(string))
		if d1["response_due_date"] != opened.Add(7*24*time.Hour).Format("2006-01-02") || d1["dispute_date"] != opened.Format("2006-01-02") {
			t.Errorf("dispute dates: %v %v (opened %v)", d1["dispute_date"], d1["response_due_date"], opened)
		}
		intent := s.Forward(t, "GET", "/payment_intents/"+pi1, nil).JSON(t)
		latest := intent["latest_payment"].(map[string]any)
		if intent["disputed"] != true || intent["dispute_id"] != id1 || n64(intent["amount_disputed"]) != 10000 ||
			latest["disputed"] != true || latest["dispute_id"] != id1 || n64(latest["amount_disputed"]) != 10000 || d1["payment_id"] != latest["id"] {
			t.Errorf("disputed intent: %v", intent)
		}
		wantBalance(t, s, "with the dispute open", 9680-11500)
		wantStatus(t, s.Forward(t, "POST", "/payment_intents/"+pi1+"/refunds", map[string]any{"amount": 100}), 409, "invalid_state")
		verifyLedger(t, s)

		won := wantStatus(t, s.Forward(t, "POST", "/test_helpers/disputes/"+id1+"/win", nil), 200, "")
		if won["status"] != "won" || won["closed_date"] == nil || !slices.Equal(history(won), []string{"new", "won"}) {
			t.Errorf("won dispute: %v", won)
		}
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/disputes/"+id1+"/lose", nil), 409, "invalid_state")
		wantBalance(t, s, "after the dispute was won", 9680)
		wantStatus(t, s.Forward(t, "POST", "/payment_intents/"+pi1+"/refunds", map[string]any{"amount": 1000}), 201, "")
		wantBalance(t, s, "after a refund of the won payment", 8680)

		pi2 := payWith(t, s, disputeCard, 5000) // fee 145 + 30
		var d2 map[string]any
		eventually(t, "the second dispute", func() bool {
			items := list(t, s, "/disputes?status=new")
			if len(items) == 1 {
				d2 = items[0]
			}
			return d2 != nil
		})
		id2 := d2["id"].(string)
		if d2["payment_intent_id"] != pi2 {
			t.Fatalf("second dispute: %v", d2)
		}
		wantBalance(t, s, "with the second dispute open", 8680+4825-6500)
		contested := wantStatus(t, s.Forward(t, "POST", "/test_helpers/disputes/"+id2+"/contest", nil), 200, "")
		if contested["status"] != "contested" || contested["closed_date"] != nil {
			t.Errorf("contested dispute: %v", contested)
		}
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/disputes/"+id2+"/accept", nil), 409, "invalid_state")
		lost := wantStatus(t, s.Forward(t, "POST", "/test_helpers/disputes/"+id2+"/lose", nil), 200, "")
		if lost["status"] != "lost" || !slices.Equal(history(lost), []string{"new", "contested", "lost"}) {
			t.Errorf("lost dispute: %v", lost)
		}
		wantBalance(t, s, "after the second dispute was lost", 8680+4825-6500)
		wantStatus(t, s.Forward(t, "POST", "/payment_intents/"+pi2+"/refunds", nil), 409, "invalid_state")

		// Lists: newest first, by cursor and status.
		all := list(t, s, "/disputes")
		if len(all) != 2 || all[0]["id"] != id2 || all[1]["id"] != id1 {
			t.Errorf("GET /disputes: %v", statuses(all))
		}
		if page := list(t, s, "/disputes?limit=1&starting_after="+id2); len(page) != 1 || page[0]["id"] != id1 {
			t.Errorf("second page: %v", page)
		}
		if page := list(t, s, "/disputes?limit=1&ending_before="+id1); len(page) != 1 || page[0]["id"] != id2 {
			t.Errorf("page before: %v", page)
		}
		for status, want := range map[string]int{"won": 1, "lost": 1, "new": 0, "contested": 0} {
			if got := list(t, s, "/disputes?status="+status); len(got) != want {
				t.Errorf("status=%s: %d disputes", status, len(got))
			}
		}
		got := wantStatus(t, s.Forward(t, "GET", "/disputes/"+id2, nil), 200, "")
		if got["status"] != "lost" || got["business_id"] == "" || got["account_id"] != s.AccountID {
			t.Errorf("GET /disputes/{id}: %v", got)
		}

		// The ledger shows each step as a dispute transaction.
		var nets []string
		for _, tr := range list(t, s, "/transactions?limit=50") {
			if tr["source_type"] == "dispute" {
				nets = append(nets, fmt.Sprintf("%s %d", tr["source_id"], n64(tr["net"])))
			}
		}
		wantNets := []string{id2 + " 0", id2 + " -6500", id1 + " 11500", id1 + " -11500"}
		if !slices.Equal(nets, wantNets) {
			t.Errorf("dispute transactions: %v, want %v", nets, wantNets)
		}

		// Events, under Forward's names.
		types := map[string]int{}
		for _, ev := range list(t, s, "/events?type=v2.dispute.created,v2.dispute.contested,v2.dispute.updated&limit=50") {
			types[ev["type"].(string)]++
			if data := ev["data"].(map[string]any); data["entity"] != "dispute" {
				t.Errorf("event %v carries %v", ev["type"], data)
			}
		}
		if types["v2.dispute.created"] != 2 || types["v2.dispute.contested"] != 1 || types["v2.dispute.updated"] != 2 {
			t.Errorf("dispute events: %v", types)
		}

		// Bad input, unknown ids, foreign accounts and live keys.
		wantStatus(t, s.Forward(t, "GET", "/disputes?status=open", nil), 400, "validation_error")
		wantStatus(t, s.Forward(t, "GET", "/disputes?limit=51", nil), 400, "validation_error")
		wantStatus(t, s.Forward(t, "GET", "/disputes/dp_nope", nil), 404, "resource_not_found")
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/disputes/dp_nope/win", nil), 404, "resource_not_found")
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/disputes/"+id1+"/win", `{"x":`), 400, "validation_error")
		other, _, err := s.Accounts.CreateAccount(context.Background(), s.Boot.OrganizationID, "Other")
		if err != nil {
			t.Fatal(err)
		}
		foreign := map[string]string{"x-api-key": s.Key, "x-account-id": other.ID}
		wantStatus(t, s.Do(t, "GET", "/disputes/"+id1, nil, foreign), 404, "resource_not_found")
		wantStatus(t, s.Do(t, "POST", "/test_helpers/disputes/"+id1+"/lose", nil, foreign), 404, "resource_not_found")
		if items := func() []any {
			var env struct{ Data []any }
			s.Do(t, "GET", "/disputes", nil, foreign).Decode(t, &env)
			return env.Data
		}(); len(items) != 0 {
			t.Errorf("another account lists %d disputes", len(items))
		}
		live := map[string]string{"x-api-key": s.Boot.Forward.Live.PrivateKey, "x-account-id": s.AccountID}
		wantStatus(t, s.Do(t, "POST", "/test_helpers/disputes/"+id1+"/win", nil, live), 403, "forbidden")
		wantStatus(t, s.Do(t, "GET", "/disputes/"+id1, nil, live), 404, "resource_not_found")
		verifyLedger(t, s)
	})
}

// TestPayouts drives payouts through HTTP: made by the job on the
// account's schedule, failed, returned and cancelled by the test helpers
// (each time the money comes back and the next payout pays it again),
// with a payout fee, the transactions each pays out, lists and errors.
func TestPayouts(t *testing.T) {
	t.Parallel()
	onEngines(t, func(t *testing.T, pg bool) {
		s := testserver.Start(t, testserver.Options{Postgres: pg, Config: func(c *server.Config) {
			c.SettlementDelay, c.SettleInterval = 0, 20*time.Millisecond
			c.PayoutSchedule, c.PayoutScanInterval, c.PayoutTransitDelay = tender.PayoutManual, 30*time.Millisecond, time.Hour
		}})
		plan := ledger.DefaultPlan(s.AccountID)
		plan.PayoutFee = 25
		setSettings(t, s, tender.AccountSettings{Plan: plan, PayoutMinimum: 500})
		if p := s.Forward(t, "GET", "/accounts/"+s.AccountID+"/processing_plan", nil).JSON(t); p["payout_schedule"] != "manual" ||
			n64(p["payout_minimum"]) != 500 || n64(p["fees"].(map[string]any)["payout"].(map[string]any)["amount"]) != 25 {
			t.Errorf("plan: %v", p)
		}
		pi := pay(t, s, 3000) // fee 87 + 30
		pay(t, s, 1000)       // fee 29 + 30
		wantStatus(t, s.Forward(t, "POST", "/payment_intents/"+pi+"/refunds", map[string]any{"amount": 500}), 201, "")
		available := int64(3000 - 117 + 1000 - 59 - 500)
		wantBalance(t, s, "before payouts", available)
		time.Sleep(100 * time.Millisecond)
		if got := list(t, s, "/payouts"); len(got) != 0 {
			t.Fatalf("a manual schedule made payouts: %v", got)
		}

		// Every second from now on: the job pays out.
		setSettings(t, s, tender.AccountSettings{Plan: plan, PayoutMinimum: 500, PayoutSchedule: "1s"})
		var p1 map[string]any
		eventually(t, "the first payout", func() bool {
			if items := list(t, s, "/payouts"); len(items) == 1 {
				p1 = items[0]
			}
			return p1 != nil
		})
		id1 := p1["id"].(string)
		if !tender.HasPrefix(id1, tender.PrefixPayout) || p1["status"] != "pending" || n64(p1["payout_number"]) != 1 || n64(p1["amount"]) != available ||
			n64(p1["fee_amount"]) != 25 || n64(p1["net_amount"]) != available-25 || n64(p1["transaction_count"]) != 3 ||
			p1["owner_type"] != "account" || p1["owner_id"] != s.AccountID || p1["settlement_status"] != "unsettled" || p1["completed_at"] != nil {
			t.Errorf("first payout: %v", p1)
		}
		var summary []string
		for _, l := range p1["transaction_summary"].([]any) {
			l := l.(map[string]any)
			summary = append(summary, fmt.Sprintf("%s %d %d %d %d", l["source_type"], n64(l["count"]), n64(l["amount"]), n64(l["fee"]), n64(l["net"])))
		}
		if want := []string{"payment 2 4000 176 3824", "refund 1 -500 0 -500"}; !slices.Equal(summary, want) {
			t.Errorf("transaction_summary %v, want %v", summary, want)
		}
		wantBalance(t, s, "after the first payout", 0)
		paid := list(t, s, "/transactions?limit=50&payout_id="+id1)
		var kinds []string
		for _, tr := range paid {
			kinds = append(kinds, tr["source_type"].(string))
			if tr["payout_id"] != id1 {
				t.Errorf("transaction %v of the payout has payout_id %v", tr["id"], tr["payout_id"])
			}
		}
		if want := []string{"payout", "refund", "payment", "payment"}; !slices.Equal(kinds, want) {
			t.Errorf("GET /transactions?payout_id=: %v, want %v", kinds, want)
		}
		if paid[0]["id"] != p1["transaction_id"] || n64(paid[0]["amount"]) != -(available-25) || n64(paid[0]["fee"]) != 25 ||
			n64(paid[0]["net"]) != -available {
			t.Errorf("the payout's own transaction: %v", paid[0])
		}
		verifyLedger(t, s)

		// Fail it: the money comes back and the next period pays it again,
		// less the kept fee.
		failed := wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/"+id1+"/fail", map[string]any{"failure_reason": "account_frozen"}), 200, "")
		if failed["status"] != "failed" || failed["failure_reason"] != "account_frozen" || failed["failed_at"] == nil ||
			n64(failed["payment_reject_count"]) != 1 || !slices.Equal(history(failed), []string{"pending", "failed"}) {
			t.Errorf("failed payout: %v", failed)
		}
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/"+id1+"/return", nil), 409, "invalid_state")
		next := func(n int, amount int64) map[string]any {
			t.Helper()
			var p map[string]any
			eventually(t, fmt.Sprintf("payout #%d", n), func() bool {
				if items := list(t, s, "/payouts?status=pending"); len(items) == 1 {
					p = items[0]
				}
				return p != nil
			})
			if n64(p["payout_number"]) != int64(n) || n64(p["amount"]) != amount || n64(p["net_amount"]) != amount-25 ||
				n64(p["transaction_count"]) != 1 {
				t.Errorf("payout #%d: %v", n, p)
			}
			return p
		}
		p2 := next(2, available-25)
		returned := wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/"+p2["id"].(string)+"/return", nil), 200, "")
		if returned["status"] != "returned" || returned["returned_at"] == nil || returned["failure_reason"] != "no_account" {
			t.Errorf("returned payout: %v", returned)
		}
		p3 := next(3, available-50)
		// Stop the schedule before the money comes back once more.
		setSettings(t, s, tender.AccountSettings{Plan: plan, PayoutMinimum: 500, PayoutSchedule: tender.PayoutManual})
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/"+p3["id"].(string)+"/cancel", map[string]any{"failure_reason": "x"}), 400, "validation_error")
		cancelled := wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/"+p3["id"].(string)+"/cancel", nil), 200, "")
		if cancelled["status"] != "cancelled" || cancelled["cancelled_at"] == nil {
			t.Errorf("cancelled payout: %v", cancelled)
		}
		wantBalance(t, s, "after the cancelled payout", available-75)
		time.Sleep(1200 * time.Millisecond)
		if p := list(t, s, "/payouts?status=pending"); len(p) != 0 {
			t.Fatalf("a manual schedule made payout %v", p)
		}
		wantBalance(t, s, "with payouts stopped", available-75)

		// Lists: newest first, by cursor and status.
		all := list(t, s, "/payouts")
		if got := statuses(all); !slices.Equal(got, []string{"cancelled", "returned", "failed"}) {
			t.Errorf("GET /payouts: %v", got)
		}
		if page := list(t, s, "/payouts?limit=2&starting_after="+all[0]["id"].(string)); len(page) != 2 || page[1]["id"] != id1 {
			t.Errorf("second page: %v", statuses(page))
		}
		if got := list(t, s, "/payouts?status=returned"); len(got) != 1 || got[0]["id"] != p2["id"] {
			t.Errorf("status=returned: %v", got)
		}
		got := wantStatus(t, s.Forward(t, "GET", "/payouts/"+id1+"?ledger_type=merchant&currency=USD", nil), 200, "")
		if got["status"] != "failed" {
			t.Errorf("GET /payouts/{id}: %v", got)
		}
		wantStatus(t, s.Forward(t, "GET", "/payouts/"+id1+"?currency=CAD", nil), 404, "resource_not_found")

		// A business's payouts: every account of the organization.
		other, keys, err := s.Accounts.CreateAccount(context.Background(), s.Boot.OrganizationID, "Other")
		if err != nil {
			t.Fatal(err)
		}
		bus := got["business_id"].(string)
		hdr := map[string]string{"x-api-key": s.Key, "x-business-id": bus}
		var env struct {
			Data []map[string]any
			Meta struct {
				HasMore bool `json:"has_more"`
			}
		}
		wantStatus(t, s.Do(t, "GET", "/businesses/payouts?limit=2", nil, hdr), 200, "")
		s.Do(t, "GET", "/businesses/payouts?limit=2", nil, hdr).Decode(t, &env)
		if len(env.Data) != 2 || !env.Meta.HasMore || env.Data[0]["id"] != all[0]["id"] {
			t.Errorf("GET /businesses/payouts: %v", env)
		}
		if bs := func() []map[string]any {
			var e struct{ Data []map[string]any }
			s.Do(t, "GET", "/businesses/payouts?status=failed", nil, map[string]string{"x-api-key": keys[tender.ModeTest].PrivateKey,
				"x-business-id": bus}).Decode(t, &e)
			return e.Data
		}(); len(bs) != 1 || bs[0]["id"] != id1 {
			t.Errorf("the other account's key lists the business's failed payouts as %v", bs)
		}
		wantStatus(t, s.Do(t, "GET", "/businesses/payouts", nil, map[string]string{"x-api-key": s.Key}), 400, "validation_error")
		wantStatus(t, s.Do(t, "GET", "/businesses/payouts", nil, map[string]string{"x-api-key": s.Key, "x-business-id": "bus_someoneelse"}), 403, "forbidden")
		wantStatus(t, s.Do(t, "GET", "/businesses/payouts?status=paid", nil, hdr), 400, "validation_error")
		live := map[string]string{"x-api-key": s.Boot.Forward.Live.PrivateKey, "x-business-id": bus}
		s.Do(t, "GET", "/businesses/payouts", nil, live).Decode(t, &env)
		if len(env.Data) != 0 {
			t.Errorf("live key sees %d test payouts", len(env.Data))
		}

		// Bad input, unknown ids, foreign accounts and live keys.
		wantStatus(t, s.Forward(t, "GET", "/payouts?status=paid", nil), 400, "validation_error")
		wantStatus(t, s.Forward(t, "GET", "/payouts?limit=0", nil), 400, "validation_error")
		wantStatus(t, s.Forward(t, "GET", "/payouts/"+id1+"?ledger_type=partner", nil), 400, "validation_error")
		wantStatus(t, s.Forward(t, "GET", "/payouts/po_nope", nil), 404, "resource_not_found")
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/po_nope/fail", nil), 404, "resource_not_found")
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/"+id1+"/fail", map[string]any{"failure_reason": strings.Repeat("x", 501)}),
			400, "validation_error")
		foreign := map[string]string{"x-api-key": s.Key, "x-account-id": other.ID}
		wantStatus(t, s.Do(t, "GET", "/payouts/"+id1, nil, foreign), 404, "resource_not_found")
		wantStatus(t, s.Do(t, "POST", "/test_helpers/payouts/"+p3["id"].(string)+"/fail", nil, foreign), 404, "resource_not_found")
		liveAcct := map[string]string{"x-api-key": s.Boot.Forward.Live.PrivateKey, "x-account-id": s.AccountID}
		wantStatus(t, s.Do(t, "POST", "/test_helpers/payouts/"+id1+"/fail", nil, liveAcct), 403, "forbidden")
		wantStatus(t, s.Do(t, "GET", "/payouts/"+id1, nil, liveAcct), 404, "resource_not_found")

		types := map[string]int{}
		for _, ev := range list(t, s, "/events?type=v2.payout.created,v2.payout.failed,v2.payout.returned,v2.payout.cancelled&limit=50") {
			types[ev["type"].(string)]++
		}
		if types["v2.payout.created"] != 3 || types["v2.payout.failed"] != 1 || types["v2.payout.returned"] != 1 || types["v2.payout.cancelled"] != 1 {
			t.Errorf("payout events: %v", types)
		}
		verifyLedger(t, s)
	})
}

// TestPayouts_Complete lets the job complete a payout after its transit
// delay, and proves a payout below the account's minimum waits.
func TestPayouts_Complete(t *testing.T) {
	t.Parallel()
	onEngines(t, func(t *testing.T, pg bool) {
		s := testserver.Start(t, testserver.Options{Postgres: pg, Config: func(c *server.Config) {
			c.SettlementDelay, c.SettleInterval = 0, 20*time.Millisecond
			c.PayoutSchedule, c.PayoutScanInterval, c.PayoutTransitDelay = "1s", 30*time.Millisecond, 200*time.Millisecond
		}})
		setSettings(t, s, tender.AccountSettings{PayoutMinimum: 1500})
		pay(t, s, 1000) // 941 available: below the minimum
		wantBalance(t, s, "after a small payment", 941)
		time.Sleep(1500 * time.Millisecond)
		if got := list(t, s, "/payouts"); len(got) != 0 {
			t.Fatalf("a payout below the minimum: %v", got)
		}
		pay(t, s, 1000)
		var p map[string]any
		eventually(t, "the payout to complete", func() bool {
			items := list(t, s, "/payouts")
			if len(items) == 1 && items[0]["status"] == "completed" {
				p = items[0]
			}
			return p != nil
		})
		if n64(p["amount"]) != 1882 || n64(p["net_amount"]) != 1882 || n64(p["fee_amount"]) != 0 || p["completed_at"] == nil ||
			p["settlement_status"] != "settled" || p["settled_at"] != p["completed_at"] || !slices.Equal(history(p), []string{"pending", "completed"}) {
			t.Errorf("completed payout: %v", p)
		}
		wantStatus(t, s.Forward(t, "POST", "/test_helpers/payouts/"+p["id"].(string)+"/return", nil), 409, "invalid_state")
		wantBalance(t, s, "after the payout", 0)
		types := map[string]int{}
		for _, ev := range list(t, s, "/events?type=v2.payout.created,v2.payout.completed") {
			types[ev["type"].(string)]++
		}
		if types["v2.payout.created"] != 1 || types["v2.payout.completed"] != 1 {
			t.Errorf("payout events: %v", types)
		}
		verifyLedger(t, s)
	})
}

// exerciseDisputePayoutRoutes drives the dispute, payout and test helper
// routes of the OpenAPI flow. Disputes are opened and payouts made through
// the services, so the flow need not wait for their jobs.
func exerciseDisputePayoutRoutes(f *openAPIFlow) {
	f.t.Helper()
	s, t, ctx := f.s, f.t, context.Background()
	sc := tender.Scope{OrganizationID: s.Boot.OrganizationID, AccountID: s.AccountID, Mode: tender.ModeTest}
	dispute := func() string {
		t.Helper()
		pi := f.fwd("GET", "/payment_intents/"+payWith(t, s, "4242424242424242", 2500), nil, 200)
		d, err := s.Payments.OpenDispute(ctx, sc, pi["latest_payment"].(map[string]any)["id"].(string), "Duplicate Processing", 82)
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	d1, d2, d3 := dispute(), dispute(), dispute()
	f.fwd("GET", "/disputes?status=new&limit=2", nil, 200)
	f.fwd("GET", "/disputes/"+d1, nil, 200)
	f.fwd("POST", "/test_helpers/disputes/"+d1+"/contest", nil, 200)
	f.fwd("POST", "/test_helpers/disputes/"+d1+"/win", nil, 200)
	f.fwd("POST", "/test_helpers/disputes/"+d2+"/lose", nil, 200)
	f.fwd("POST", "/test_helpers/disputes/"+d3+"/accept", nil, 200)
	f.errorCode(s.Forward(t, "POST", "/test_helpers/disputes/"+d3+"/win", nil), 409, "invalid_state")
	f.errorCode(s.Forward(t, "GET", "/disputes?status=closed", nil), 400, "validation_error")
	f.errorCode(s.Forward(t, "GET", "/disputes/dp_nope", nil), 404, "resource_not_found")

	if _, err := s.Payments.Ledger.Adjust(ctx, sc, "USD", 100000, "credit for payouts"); err != nil {
		t.Fatal(err)
	}
	payout := func() string {
		t.Helper()
		setSettings(t, s, tender.AccountSettings{PayoutSchedule: "1s"})
		for {
			made, err := s.Payouts.Create(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			if len(made) == 1 {
				return made[0].ID
			}
			time.Sleep(50 * time.Millisecond) // this second's payout was made
		}
	}
	p1 := payout()
	f.fwd("GET", "/payouts?status=pending", nil, 200)
	f.fwd("GET", "/payouts/"+p1, nil, 200)
	f.fwd("POST", "/test_helpers/payouts/"+p1+"/fail", map[string]any{"failure_reason": "invalid_account_number"}, 200)
	p2 := payout()
	f.fwd("POST", "/test_helpers/payouts/"+p2+"/return", nil, 200)
	p3 := payout()
	f.fwd("POST", "/test_helpers/payouts/"+p3+"/cancel", nil, 200)
	f.check(s.Do(t, "GET", "/businesses/payouts", nil, map[string]string{"x-api-key": s.Key,
		"x-business-id": f.fwd("GET", "/payouts/"+p3, nil, 200)["business_id"].(string)}), 200)
	f.errorCode(s.Do(t, "GET", "/businesses/payouts", nil, map[string]string{"x-api-key": s.Key}), 400, "validation_error")
	f.errorCode(s.Forward(t, "POST", "/test_helpers/payouts/"+p3+"/fail", nil), 409, "invalid_state")
	f.errorCode(s.Do(t, "POST", "/test_helpers/payouts/"+p3+"/fail", nil, map[string]string{"x-api-key": s.Boot.Forward.Live.PrivateKey}),
		403, "forbidden")
	setSettings(t, s, tender.AccountSettings{PayoutSchedule: tender.PayoutManual})
	for _, ev := range []string{"v2.dispute.created", "v2.dispute.updated", "v2.payout.created", "v2.payout.failed"} {
		if items := f.fwd("GET", "/events?type="+ev, nil, 200)["data"].([]any); len(items) == 0 {
			t.Errorf("no %s event", ev)
		}
	}
}
