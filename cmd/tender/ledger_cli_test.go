package main

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestLedgerCLI(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "l.db")
	db := "sqlite:" + path
	code, out, errOut := runCmd(t, "init", "--db", db, "--json")
	if code != 0 {
		t.Fatalf("init: %d %s", code, errOut)
	}
	var boot struct {
		AccountID string `json:"account_id"`
	}
	if err := json.Unmarshal([]byte(out), &boot); err != nil {
		t.Fatal(err)
	}

	code, out, errOut = runCmd(t, "ledger", "verify", "--db", db)
	if code != 0 || !strings.Contains(out, "0 transactions") || !strings.Contains(out, "all invariants hold") {
		t.Fatalf("verify of an empty ledger: %d %q %q", code, out, errOut)
	}

	code, out, errOut = runCmd(t, "ledger", "settings", "--db", db, "--account", boot.AccountID)
	if code != 0 || !strings.Contains(out, `"plan_type": "FLAT_RATE"`) || !strings.Contains(out, `"settlement_delay": "48h0m0s"`) {
		t.Fatalf("settings: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "ledger", "settings", "--db", db, "--account", boot.AccountID, "--plan-type", "INTERCHANGE_PLUS",
		"--card-bps", "25", "--delay", "1h")
	if code != 0 || !strings.Contains(out, `"plan_type": "INTERCHANGE_PLUS"`) || !strings.Contains(out, `"bps": 25`) ||
		!strings.Contains(out, `"settlement_delay": "1h0m0s"`) {
		t.Fatalf("settings change: %d %s %s", code, out, errOut)
	}
	// Payout settings, kept when the plan changes again.
	code, out, errOut = runCmd(t, "ledger", "settings", "--db", db, "--account", boot.AccountID, "--payout-schedule", "weekly",
		"--payout-minimum", "2000", "--payout-fee", "25")
	if code != 0 || !strings.Contains(out, `"payout_schedule": "weekly"`) || !strings.Contains(out, `"payout_minimum": 2000`) ||
		!strings.Contains(out, `"payout_fee": 25`) || !strings.Contains(out, `"settlement_delay": "1h0m0s"`) {
		t.Fatalf("payout settings: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "ledger", "settings", "--db", db, "--account", boot.AccountID, "--card-bps", "30")
	if code != 0 || !strings.Contains(out, `"payout_schedule": "weekly"`) || !strings.Contains(out, `"settlement_delay": "1h0m0s"`) ||
		!strings.Contains(out, `"bps": 30`) {
		t.Fatalf("a plan change kept the other settings: %d %s %s", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "ledger", "settings", "--db", db, "--account", boot.AccountID, "--payout-schedule", "hourly")
	if code != 1 || !strings.Contains(errOut, "payout-schedule") {
		t.Errorf("a bad payout schedule: %d %s", code, errOut)
	}
	code, _, errOut = runCmd(t, "ledger", "settings", "--db", db, "--account", boot.AccountID, "--plan-type", "CHEAP")
	if code != 1 || !strings.Contains(errOut, "plan_type") {
		t.Errorf("a bad plan type: %d %s", code, errOut)
	}

	for _, amt := range []string{"2500", "-400"} {
		code, out, errOut = runCmd(t, "ledger", "adjust", "--db", db, "--account", boot.AccountID, "--mode", "test", "--amount", amt,
			"--description", "goodwill")
		if code != 0 || !strings.Contains(out, `"kind":"adjustment"`) {
			t.Fatalf("adjust %s: %d %s %s", amt, code, out, errOut)
		}
	}
	code, _, errOut = runCmd(t, "ledger", "adjust", "--db", db, "--account", "acct_nobody", "--mode", "test", "--amount", "1")
	if code != 1 {
		t.Errorf("adjusting an unknown account: %d %s", code, errOut)
	}
	code, out, _ = runCmd(t, "ledger", "verify", "--db", db)
	if code != 0 || !strings.Contains(out, "2 transactions, 4 entries") {
		t.Fatalf("verify after adjustments: %d %q", code, out)
	}

	// Corrupt a maintained balance: verify names the account and exits 1.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE ledger_balances SET balance = balance - 1 WHERE type = 'merchant_available'`); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "ledger", "verify", "--db", db)
	if code != 1 || !strings.Contains(out, "VIOLATION balance: account "+boot.AccountID+"/test/USD/merchant_available") ||
		!strings.Contains(errOut, "violations") {
		t.Fatalf("verify of a corrupt balance: %d %q %q", code, out, errOut)
	}
	// A one-legged transaction is named.
	if _, err := raw.Exec(`INSERT INTO ledger_transactions (id, account_id, mode, kind, source_type, source_id, root_source_id, currency,
		amount, fee, net, pending, settlement_status, description, created_at, updated_at)
		VALUES ('txn_broken', ?, 'test', 'adjustment', 'adjustment', 'x', 'x', 'USD', 5, 0, 5, 0, 'settled', '', 1, 1)`, boot.AccountID); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(t, "ledger", "verify", "--db", db)
	if code != 1 || !strings.Contains(out, "VIOLATION entries: transaction txn_broken: has no entries") {
		t.Fatalf("verify of a transaction without entries: %d %q", code, out)
	}

	code, _, errOut = runCmd(t, "ledger", "nonsense")
	if code != 1 || !strings.Contains(errOut, "unknown subcommand") {
		t.Errorf("unknown subcommand: %d %s", code, errOut)
	}
}
