package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/ledger"
	"github.com/tenderpay/tender/server"
	"github.com/tenderpay/tender/store"
)

const ledgerUsage = `usage:
  tender ledger verify   --db URL
  tender ledger settings --db URL --account ID [--delay D] [--plan-type FLAT_RATE|INTERCHANGE_PLUS]
                         [--card-bps N] [--card-fixed N] [--bank-bps N] [--bank-fixed N] [--bank-cap N] [--dispute-fee N]
                         [--payout-fee N] [--payout-schedule daily|weekly|manual|DURATION] [--payout-minimum N]
  tender ledger adjust   --db URL --account ID --mode test|live --amount N [--currency USD] [--description D]

verify checks every ledger invariant over the whole database (each transaction
balances per currency; every maintained balance equals the sum of its entries;
no holding account is negative; entries are append-only) and exits 1, naming
the transaction or account, on any violation.
settings prints an account's processing plan, settlement delay and payout
schedule, after changing what the flags name (a plan flag starts from the
current plan; the account's other settings are kept).
adjust credits (positive) or debits (negative) an account's available balance.
`

// runLedger is "tender ledger".
func runLedger(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, ledgerUsage)
		return errors.New("ledger: name a subcommand: verify, settings or adjust")
	}
	sub := args[0]
	fs := flag.NewFlagSet("ledger "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, ledgerUsage) }
	c, err := configFlags(fs, getenv)
	if err != nil {
		return err
	}
	accountID := fs.String("account", "", "the account's id (acct_…)")
	var run func() error
	switch sub {
	case "verify":
		run = func() error { return verifyLedger(ctx, c, stdout) }
	case "settings":
		delay := fs.Duration("delay", 0, "the account's settlement delay: how long captured money stays pending (0 keeps the current delay)")
		planType := fs.String("plan-type", "", "FLAT_RATE or INTERCHANGE_PLUS")
		ints := map[string]*int64{}
		for _, name := range []string{"card-bps", "card-fixed", "bank-bps", "bank-fixed", "bank-cap", "dispute-fee", "payout-fee"} {
			ints[name] = fs.Int64(name, -1, "plan "+name+" (minor units, or basis points for *-bps)")
		}
		run = func() error {
			// --payout-schedule and --payout-minimum (the installation's
			// flags) name the account's own values here.
			po := payoutSettings{minimum: -1}
			fs.Visit(func(f *flag.Flag) {
				switch f.Name {
				case "payout-schedule":
					po.schedule, c.PayoutSchedule = c.PayoutSchedule, ledger.DefaultPayoutSchedule
				case "payout-minimum":
					po.minimum, c.PayoutMinimum = c.PayoutMinimum, ledger.DefaultPayoutMinimum
				}
			})
			return ledgerSettings(ctx, c, *accountID, *delay, *planType, ints, po, stdout)
		}
	case "adjust":
		mode := fs.String("mode", "", "test or live")
		amount := fs.Int64("amount", 0, "minor units; positive credits, negative debits")
		currency := fs.String("currency", "USD", "ISO 4217 currency")
		desc := fs.String("description", "", "why")
		run = func() error {
			if !tender.Mode(*mode).Valid() {
				return errors.New("ledger adjust: --mode test|live is required")
			}
			return ledgerAdjust(ctx, c, tender.Scope{AccountID: *accountID, Mode: tender.Mode(*mode)}, tender.Currency(*currency), *amount, *desc, stdout)
		}
	default:
		fs.Usage()
		return fmt.Errorf("ledger: unknown subcommand %q", sub)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if sub != "verify" && *accountID == "" {
		return fmt.Errorf("ledger %s: --account is required", sub)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return run()
}

// errViolations makes tender exit 1 after verify printed its report.
var errViolations = errors.New("the ledger has violations")

func verifyLedger(ctx context.Context, c *server.Config, stdout io.Writer) error {
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	r, err := ledger.Verify(ctx, st)
	if err != nil {
		return err
	}
	for _, v := range r.Violations {
		fmt.Fprintln(stdout, "VIOLATION", v)
	}
	fmt.Fprintf(stdout, "tender ledger verify: %d transactions, %d entries, %d ledger accounts checked in %s on %s: ",
		r.Transactions, r.Entries, r.Accounts, time.Since(start).Round(time.Millisecond), st.Engine())
	if !r.OK() {
		fmt.Fprintf(stdout, "%d violations\n", len(r.Violations))
		return errViolations
	}
	fmt.Fprintln(stdout, "all invariants hold")
	return nil
}

// payoutSettings are the payout flags of "ledger settings" ("" and -1:
// unchanged).
type payoutSettings struct {
	schedule string
	minimum  int64
}

func ledgerSettings(ctx context.Context, c *server.Config, accountID string, delay time.Duration, planType string, ints map[string]*int64,
	po payoutSettings, stdout io.Writer) error {
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := ledger.New(st)
	svc.SettlementDelay = c.SettlementDelay
	svc.PayoutSchedule, svc.PayoutMinimum = c.PayoutSchedule, c.PayoutMinimum
	cur, err := svc.Settings(ctx, accountID)
	if err != nil {
		return err
	}
	// The account's own settings, which the flags change.
	own := &tender.AccountSettings{AccountID: accountID}
	if err := st.Read(ctx, func(tx store.Tx) error {
		o, err := tx.FindAccountSettings(ctx, accountID)
		if err == nil {
			own = o
		} else if tender.ErrorCode(err) != tender.ENOTFOUND {
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	planChanged := planType != ""
	for _, p := range ints {
		planChanged = planChanged || *p >= 0
	}
	if planChanged {
		plan := *cur.Plan
		if planType != "" {
			plan.PlanType = planType
		}
		for name, dst := range map[string]*int64{"card-bps": &plan.Card.BPS, "card-fixed": &plan.Card.Fixed, "bank-bps": &plan.Bank.BPS,
			"bank-fixed": &plan.Bank.Fixed, "bank-cap": &plan.Bank.Cap, "dispute-fee": &plan.DisputeFee, "payout-fee": &plan.PayoutFee} {
			if v := *ints[name]; v >= 0 {
				*dst = v
			}
		}
		own.Plan = &plan
	}
	if delay != 0 {
		own.SettlementDelay = delay
	}
	if po.schedule != "" {
		own.PayoutSchedule = po.schedule
	}
	if po.minimum >= 0 {
		own.PayoutMinimum = po.minimum
	}
	if planChanged || delay != 0 || po.schedule != "" || po.minimum >= 0 {
		if cur, err = svc.PutSettings(ctx, own); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		AccountID       string                 `json:"account_id"`
		SettlementDelay string                 `json:"settlement_delay"`
		PayoutSchedule  string                 `json:"payout_schedule"`
		PayoutMinimum   int64                  `json:"payout_minimum"`
		Plan            *tender.ProcessingPlan `json:"plan"`
	}{accountID, cur.SettlementDelay.String(), cur.PayoutSchedule, cur.PayoutMinimum, cur.Plan})
}

func ledgerAdjust(ctx context.Context, c *server.Config, sc tender.Scope, currency tender.Currency, amount int64, desc string, stdout io.Writer) error {
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := ledger.New(st).Adjust(ctx, sc, currency, amount, desc)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(t)
}
