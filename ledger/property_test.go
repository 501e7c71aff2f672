package ledger_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/payout"
	"github.com/tenderpay/tender/processor"
	"github.com/tenderpay/tender/store"
)

// The property test drives random sequences of operations through the
// payment and ledger services, and after every step checks that
// ledger.Verify finds nothing and that every balance equals what a simple
// model, written independently of the ledger package, expects.
//
// Disputes and payouts are operations like the others (propDisputeOps,
// propPayoutOps): each acts through its service and moves the model's
// balances by its own arithmetic; a payout's amount must be the model's
// available balance.

// propModel is the expected state of one account: its balance per ledger
// account type and the pending amounts waiting for settlement.
type propModel struct {
	bal     map[string]int64
	waiting []propWaiting
}

type propWaiting struct {
	at     time.Time
	amount int64
}

// propAccount is one merchant account of the test with its plan.
type propAccount struct {
	sc      tender.Scope
	ic      bool // interchange-plus (else the default flat rate)
	delay   time.Duration
	model   propModel
	intents []*propIntent
	// Disputes and payouts: the plan's fees, the payout period, the
	// last payout's time, open disputes and pending payouts.
	disputeFee, payoutFee int64
	period                time.Duration
	lastPayout            time.Time
	disputes              []*propDispute
	payouts               []*propPayout
}

type propDispute struct {
	id     string
	amount int64
	intent *propIntent
}

type propPayout struct {
	id  string
	net int64
}

// propIntent is a captured intent that may still be refunded.
type propIntent struct {
	id         string
	external   bool
	refundable int64
	disputed   bool
}

type propWorld struct {
	*world
	payouts *payout.Service
	// made counts the payouts made and the disputes opened, for the log.
	made  map[string]int
	rng   *rand.Rand
	accts []*propAccount
	card  map[string]*tender.PaymentMethod // by "account brand"
	bank  map[string]*tender.PaymentMethod
	// pendingBank are bank payments waiting for their settlement job.
	pendingBank []propBank
	log         []string
}

type propBank struct {
	acct    *propAccount
	payment string
	intent  string
	amount  int64
}

// fee is the model's own fee arithmetic: a percentage in basis points
// rounded half up, plus a fixed amount, capped, never above the amount.
func propFee(amount, bps, fixed, capAt int64) int64 {
	f := (amount*bps+5000)/10000 + fixed
	if capAt > 0 && f > capAt {
		f = capAt
	}
	return min(f, amount)
}

func (a *propAccount) cardFee(brand string, amount int64) int64 {
	if !a.ic {
		return propFee(amount, 290, 30, 0)
	}
	ic := map[string][2]int64{"visa": {180, 10}, "mastercard": {190, 10}, "amex": {250, 10}}[brand]
	return min(amount, propFee(amount, ic[0], ic[1], 0)+propFee(amount, 20, 5, 0))
}

func (a *propAccount) bankFee(amount int64) int64 { return propFee(amount, 80, 0, 500) }

// captured records a capture of amount with fee in the model.
func (w *propWorld) captured(a *propAccount, clearing string, amount, fee int64) {
	a.model.bal[clearing] -= amount
	a.model.bal[ledger.MerchantPending] += amount - fee
	a.model.bal[ledger.PlatformFees] += fee
	a.model.waiting = append(a.model.waiting, propWaiting{w.clock.Now().Add(a.delay), amount - fee})
}

func (w *propWorld) refunded(a *propAccount, clearing string, amount int64) {
	a.model.bal[clearing] += amount
	a.model.bal[ledger.MerchantPending] -= amount
	a.model.waiting = append(a.model.waiting, propWaiting{w.clock.Now().Add(a.delay), -amount})
}

type propOp struct {
	name   string
	weight int
	run    func(w *propWorld, t *testing.T, a *propAccount)
}

var brands = map[string]string{"visa": "4242424242424242", "mastercard": "5555555555554444", "amex": "378282246310005"}

var propOps = []propOp{
	{"card payment", 6, func(w *propWorld, t *testing.T, a *propAccount) {
		brand := []string{"visa", "mastercard", "amex"}[w.rng.IntN(3)]
		amount := 1 + w.rng.Int64N(200_000)
		pi := w.mustIntent(t, a, amount, true)
		pay, err := w.svc.Pay(w.ctx, a.sc, pi, payment.PayParams{PaymentMethodID: w.card[a.sc.AccountID+" "+brand].ID})
		if err != nil || pay.Status != tender.PaymentCaptured {
			t.Fatalf("pay: %v %+v", err, pay)
		}
		w.captured(a, ledger.Processor, amount, a.cardFee(brand, amount))
		a.intents = append(a.intents, &propIntent{id: pi, refundable: amount})
		w.note("%s card payment %d (%s)", a.sc.AccountID[len(a.sc.AccountID)-4:], amount, brand)
	}},
	{"partial capture", 3, func(w *propWorld, t *testing.T, a *propAccount) {
		amount := 2 + w.rng.Int64N(100_000)
		pi := w.mustIntent(t, a, amount, false)
		if _, err := w.svc.Pay(w.ctx, a.sc, pi, payment.PayParams{PaymentMethodID: w.card[a.sc.AccountID+" visa"].ID}); err != nil {
			t.Fatal(err)
		}
		capt := 1 + w.rng.Int64N(amount)
		if _, err := w.svc.Capture(w.ctx, a.sc, pi, &capt); err != nil {
			t.Fatal(err)
		}
		w.captured(a, ledger.Processor, capt, a.cardFee("visa", capt))
		a.intents = append(a.intents, &propIntent{id: pi, refundable: capt})
		w.note("auth %d, capture %d", amount, capt)
	}},
	{"declined card", 1, func(w *propWorld, t *testing.T, a *propAccount) {
		pi := w.mustIntent(t, a, 500, true)
		pay, err := w.svc.Pay(w.ctx, a.sc, pi, payment.PayParams{PaymentMethodID: w.card[a.sc.AccountID+" declined"].ID})
		if err != nil || pay.Status != tender.PaymentFailed {
			t.Fatalf("declined pay: %v %+v", err, pay)
		}
		w.note("declined card")
	}},
	{"bank payment", 2, func(w *propWorld, t *testing.T, a *propAccount) {
		amount := 100 + w.rng.Int64N(5_000_000)
		pi := w.mustIntent(t, a, amount, true)
		pay, err := w.svc.Pay(w.ctx, a.sc, pi, payment.PayParams{PaymentMethodID: w.bank[a.sc.AccountID].ID})
		if err != nil || pay.Status != tender.PaymentPending {
			t.Fatalf("bank pay: %v %+v", err, pay)
		}
		w.pendingBank = append(w.pendingBank, propBank{a, pay.ID, pi, amount})
		w.note("bank payment %d pending", amount)
	}},
	{"bank settles", 2, func(w *propWorld, t *testing.T, a *propAccount) {
		if len(w.pendingBank) == 0 {
			return
		}
		i := w.rng.IntN(len(w.pendingBank))
		b := w.pendingBank[i]
		w.pendingBank = append(w.pendingBank[:i], w.pendingBank[i+1:]...)
		args, _ := json.Marshal(map[string]any{"account_id": b.acct.sc.AccountID, "mode": b.acct.sc.Mode, "payment_id": b.payment})
		if err := w.svc.SettleBankPayment(w.ctx, &tender.Job{Args: args}); err != nil {
			t.Fatal(err)
		}
		w.captured(b.acct, ledger.Processor, b.amount, b.acct.bankFee(b.amount))
		b.acct.intents = append(b.acct.intents, &propIntent{id: b.intent, refundable: b.amount})
		w.note("bank payment %d captured", b.amount)
	}},
	{"partial refund", 4, func(w *propWorld, t *testing.T, a *propAccount) {
		pi := w.refundable(a, false)
		if pi == nil {
			return
		}
		amount := 1 + w.rng.Int64N(pi.refundable)
		if _, err := w.svc.Refund(w.ctx, a.sc, pi.id, payment.RefundParams{Amount: &amount}); err != nil {
			t.Fatal(err)
		}
		pi.refundable -= amount
		w.refunded(a, ledger.Processor, amount)
		w.note("refund %d of %s", amount, pi.id)
	}},
	{"external payment", 2, func(w *propWorld, t *testing.T, a *propAccount) {
		amount := 1 + w.rng.Int64N(300_000)
		pi, err := w.svc.CreateExternalPayment(w.ctx, a.sc, payment.ExternalPaymentParams{Intent: payment.IntentParams{Amount: amount},
			MethodType: tender.MethodCard, Card: &tender.CardDetails{LastFour: "4242", Brand: "visa"}, Gateway: json.RawMessage(`{"auth_code":"ok"}`)})
		if err != nil {
			t.Fatal(err)
		}
		w.captured(a, ledger.External, amount, a.cardFee("visa", amount))
		a.intents = append(a.intents, &propIntent{id: pi.ID, external: true, refundable: amount})
		w.note("external payment %d", amount)
	}},
	{"external refund", 2, func(w *propWorld, t *testing.T, a *propAccount) {
		pi := w.refundable(a, true)
		if pi == nil {
			return
		}
		amount := 1 + w.rng.Int64N(pi.refundable)
		if _, err := w.svc.CreateExternalRefund(w.ctx, a.sc, pi.id, &amount, json.RawMessage(`{"retrieval_reference":"r"}`)); err != nil {
			t.Fatal(err)
		}
		pi.refundable -= amount
		w.refunded(a, ledger.External, amount)
		w.note("external refund %d", amount)
	}},
	{"adjustment", 1, func(w *propWorld, t *testing.T, a *propAccount) {
		amount := w.rng.Int64N(20_001) - 10_000
		if amount == 0 {
			amount = 1
		}
		if _, err := w.svc.Ledger.Adjust(w.ctx, a.sc, "USD", amount, "property"); err != nil {
			t.Fatal(err)
		}
		a.model.bal[ledger.MerchantAvailable] += amount
		a.model.bal[ledger.Adjustments] -= amount
		w.note("adjust %d", amount)
	}},
	{"time passes and settlement runs", 3, func(w *propWorld, t *testing.T, a *propAccount) {
		w.clock.Advance(time.Duration(w.rng.Int64N(int64(3 * time.Hour))))
		for {
			n, _, err := w.svc.Ledger.Settle(w.ctx, 7) // small batches: several runs
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		now := w.clock.Now()
		for _, acct := range w.accts {
			var keep []propWaiting
			for _, p := range acct.model.waiting {
				if !p.at.After(now) {
					acct.model.bal[ledger.MerchantPending] -= p.amount
					acct.model.bal[ledger.MerchantAvailable] += p.amount
				} else {
					keep = append(keep, p)
				}
			}
			acct.model.waiting = keep
		}
		w.note("settle at %s", now.Format(time.RFC3339))
	}},
}

func (w *propWorld) note(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf(format, args...))
}

func (w *propWorld) mustIntent(t *testing.T, a *propAccount, amount int64, capture bool) string {
	t.Helper()
	pi, err := w.svc.CreatePaymentIntent(w.ctx, a.sc, payment.IntentParams{Amount: amount, Capture: &capture})
	if err != nil {
		t.Fatal(err)
	}
	return pi.ID
}

// refundable picks an intent with money left to refund.
func (w *propWorld) refundable(a *propAccount, external bool) *propIntent {
	var c []*propIntent
	for _, pi := range a.intents {
		if pi.external == external && pi.refundable > 0 {
			c = append(c, pi)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[w.rng.IntN(len(c))]
}

// check compares the store with the model and runs Verify.
func (w *propWorld) check(t *testing.T, step int) {
	t.Helper()
	r, err := ledger.Verify(w.ctx, w.st)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("step %d: ledger violations %v\nlast operations: %v", step, r.Violations, w.tail())
	}
	for _, a := range w.accts {
		got := map[string]int64{}
		if err := w.st.Read(w.ctx, func(tx store.Tx) error {
			rows, err := tx.FindLedgerBalances(w.ctx, a.sc, "")
			for _, b := range rows {
				if b.Amount != 0 {
					got[b.Type] = b.Amount
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for k, v := range a.model.bal {
			if v != 0 {
				want[k] = v
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("step %d: account %s balances differ from the model (-model +store):\n%s\nlast operations: %v", step, a.sc.AccountID, d, w.tail())
		}
	}
}

func (w *propWorld) tail() []string {
	return w.log[max(0, len(w.log)-8):]
}

func TestLedgerProperties(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TENDER_PROPERTY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	steps := map[string]int{"sqlite": 400, "postgres": 150}
	if testing.Short() {
		steps = map[string]int{"sqlite": 100, "postgres": 40}
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			t.Logf("seed %d (TENDER_PROPERTY_SEED=%d replays it)", seed, seed)
			w := &propWorld{world: newWorld(t, e), rng: rand.New(rand.NewPCG(seed, 7)), card: map[string]*tender.PaymentMethod{},
				bank: map[string]*tender.PaymentMethod{}}
			// A second account of the same organization, on an
			// interchange-plus plan with a shorter delay.
			now := w.clock.Now()
			other := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: w.sc.OrganizationID, Name: "b", CreatedAt: now}
			if err := w.st.Write(w.ctx, func(tx store.Tx) error { return tx.CreateAccount(w.ctx, other) }); err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Ledger.PutSettings(w.ctx, &tender.AccountSettings{AccountID: other.ID, SettlementDelay: 2 * time.Hour,
				Plan: &tender.ProcessingPlan{PlanType: tender.PlanInterchangePlus, Card: tender.FeeRate{BPS: 20, Fixed: 5},
					Bank: tender.FeeRate{BPS: 80, Cap: 500}, DisputeFee: 700, PayoutFee: 30}, PayoutSchedule: "1s"}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Ledger.PutSettings(w.ctx, &tender.AccountSettings{AccountID: w.sc.AccountID, PayoutSchedule: "6h"}); err != nil {
				t.Fatal(err)
			}
			w.payouts, w.made = payout.New(w.st, w.svc.Ledger), map[string]int{}
			w.accts = []*propAccount{
				{sc: w.sc, delay: ledger.DefaultSettlementDelay, model: propModel{bal: map[string]int64{}},
					disputeFee: 1500, period: 6 * time.Hour},
				{sc: tender.Scope{OrganizationID: w.sc.OrganizationID, AccountID: other.ID, Mode: tender.ModeTest}, ic: true,
					delay: 2 * time.Hour, model: propModel{bal: map[string]int64{}}, disputeFee: 700, payoutFee: 30, period: time.Second},
			}
			for _, a := range w.accts {
				for brand, number := range brands {
					w.card[a.sc.AccountID+" "+brand] = w.method(t, a.sc, number)
				}
				w.card[a.sc.AccountID+" declined"] = w.method(t, a.sc, "4000000000000002")
				pm, err := w.svc.CreatePaymentMethod(w.ctx, a.sc, payment.PaymentMethodParams{Type: tender.MethodBank,
					Bank: &processor.BankInput{AccountNumber: "000123456789", RoutingNumber: "110000000", AccountType: "checking"}})
				if err != nil {
					t.Fatal(err)
				}
				w.bank[a.sc.AccountID] = pm
			}
			ops := append(append(slices.Clone(propOps), propDisputeOps...), propPayoutOps...)
			total := 0
			for _, op := range ops {
				total += op.weight
			}
			counts := map[string]int{}
			for step := 1; step <= steps[e.name]; step++ {
				n := w.rng.IntN(total)
				var op propOp
				for _, op = range ops {
					if n < op.weight {
						break
					}
					n -= op.weight
				}
				a := w.accts[w.rng.IntN(len(w.accts))]
				op.run(w, t, a)
				counts[op.name]++
				w.clock.Advance(time.Duration(w.rng.Int64N(int64(10 * time.Minute))))
				w.check(t, step)
			}
			names := make([]string, 0, len(counts))
			for k := range counts {
				names = append(names, fmt.Sprintf("%s ×%d", k, counts[k]))
			}
			sort.Strings(names)
			t.Logf("%d steps: %v; %d disputes opened, %d payouts made", steps[e.name], names, w.made["disputes"], w.made["payouts"])
		})
	}
}

func (w *propWorld) method(t *testing.T, sc tender.Scope, number string) *tender.PaymentMethod {
	t.Helper()
	pm, err := w.svc.CreatePaymentMethod(w.ctx, sc, payment.PaymentMethodParams{Type: tender.MethodCard,
		Card: &processor.CardInput{Number: number, ExpMonth: 12, ExpYear: 2040}})
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// propDisputeOps open disputes of captured intents and decide them.
var propDisputeOps = []propOp{
	{"dispute opens", 2, func(w *propWorld, t *testing.T, a *propAccount) {
		var c []*propIntent
		for _, pi := range a.intents {
			if !pi.external && !pi.disputed && pi.refundable > 0 {
				c = append(c, pi)
			}
		}
		if len(c) == 0 {
			return
		}
		pi := c[w.rng.IntN(len(c))]
		var paymentID string
		if err := w.st.Read(w.ctx, func(tx store.Tx) error {
			intent, err := tx.FindPaymentIntentByID(w.ctx, a.sc, pi.id)
			if err == nil {
				paymentID = intent.LatestPaymentID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		d, err := w.svc.OpenDispute(w.ctx, a.sc, paymentID, "property", 83)
		if err != nil {
			t.Fatal(err)
		}
		if d.Amount != pi.refundable || d.Fee != a.disputeFee {
			t.Fatalf("dispute of %s: amount %d fee %d, want %d and %d", pi.id, d.Amount, d.Fee, pi.refundable, a.disputeFee)
		}
		held := pi.refundable + a.disputeFee
		a.model.bal[ledger.MerchantAvailable] -= held
		a.model.bal[ledger.DisputeReserve] += held
		a.disputes = append(a.disputes, &propDispute{id: d.ID, amount: pi.refundable, intent: pi})
		pi.refundable, pi.disputed = 0, true
		w.made["disputes"]++
		w.note("dispute %d of %s", d.Amount, pi.id)
	}},
	{"dispute decided", 2, func(w *propWorld, t *testing.T, a *propAccount) {
		if len(a.disputes) == 0 {
			return
		}
		i := w.rng.IntN(len(a.disputes))
		d := a.disputes[i]
		a.disputes = append(a.disputes[:i], a.disputes[i+1:]...)
		to := []string{tender.DisputeWon, tender.DisputeLost, tender.DisputeAccepted}[w.rng.IntN(3)]
		if to != tender.DisputeAccepted && w.rng.IntN(2) == 0 {
			if _, err := w.svc.MoveDispute(w.ctx, a.sc, d.id, tender.DisputeContested); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.svc.MoveDispute(w.ctx, a.sc, d.id, to); err != nil {
			t.Fatal(err)
		}
		held := d.amount + a.disputeFee
		a.model.bal[ledger.DisputeReserve] -= held
		if to == tender.DisputeWon {
			a.model.bal[ledger.MerchantAvailable] += held
			d.intent.refundable = d.amount
		} else {
			a.model.bal[ledger.Processor] += d.amount
			a.model.bal[ledger.PlatformFees] += a.disputeFee
		}
		w.note("dispute %s %s", d.id, to)
	}},
}

// propPayoutOps run the payout job's work for an account and complete or
// stop pending payouts.
var propPayoutOps = []propOp{
	{"payout", 3, func(w *propWorld, t *testing.T, a *propAccount) {
		made, err := w.payouts.Create(w.ctx, a.sc)
		if err != nil {
			t.Fatal(err)
		}
		now := w.clock.Now()
		avail := a.model.bal[ledger.MerchantAvailable]
		due := a.lastPayout.Before(now.Truncate(a.period)) && avail >= ledger.DefaultPayoutMinimum && avail > a.payoutFee
		switch {
		case !due && len(made) == 0:
			w.note("no payout (available %d)", avail)
			return
		case !due || len(made) != 1:
			t.Fatalf("payout with available %d, last payout %v, now %v: made %d payouts", avail, a.lastPayout, now, len(made))
		}
		p := made[0]
		if p.Amount != avail || p.FeeAmount != a.payoutFee || p.NetAmount != avail-a.payoutFee || p.Status != tender.PayoutPending {
			t.Fatalf("payout %+v, want amount %d fee %d", p, avail, a.payoutFee)
		}
		a.model.bal[ledger.MerchantAvailable] -= avail
		a.model.bal[ledger.PayoutsInTransit] += p.NetAmount
		a.model.bal[ledger.PlatformFees] += p.FeeAmount
		a.lastPayout = now
		a.payouts = append(a.payouts, &propPayout{id: p.ID, net: p.NetAmount})
		w.made["payouts"]++
		w.note("payout %d (fee %d)", p.Amount, p.FeeAmount)
	}},
	{"payout arrives, fails, is returned or cancelled", 2, func(w *propWorld, t *testing.T, a *propAccount) {
		if len(a.payouts) == 0 {
			return
		}
		i := w.rng.IntN(len(a.payouts))
		p := a.payouts[i]
		a.payouts = append(a.payouts[:i], a.payouts[i+1:]...)
		to := []string{tender.PayoutCompleted, tender.PayoutCompleted, tender.PayoutFailed, tender.PayoutReturned, tender.PayoutCancelled}[w.rng.IntN(5)]
		if _, err := w.payouts.Move(w.ctx, a.sc, p.id, to, ""); err != nil {
			t.Fatal(err)
		}
		a.model.bal[ledger.PayoutsInTransit] -= p.net
		if to == tender.PayoutCompleted {
			a.model.bal[ledger.PaidOut] += p.net
		} else {
			a.model.bal[ledger.MerchantAvailable] += p.net
		}
		w.note("payout %s %s", p.id, to)
	}},
}
