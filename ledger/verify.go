package ledger

import (
	"context"
	"fmt"
	"sort"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// Violation is one broken invariant found by Verify.
type Violation struct {
	// Check names the invariant: "balanced", "entries", "net", "orphans",
	// "balance", "negative" or "append-only".
	Check string
	// TransactionID names the transaction at fault, when one is.
	TransactionID string
	// Account names the ledger account at fault, when one is:
	// "acct_…/mode/currency/type".
	Account string
	Detail  string
}

// String renders v for a report line.
func (v Violation) String() string {
	s := v.Check + ":"
	if v.TransactionID != "" {
		s += " transaction " + v.TransactionID
	}
	if v.Account != "" {
		s += " account " + v.Account
	}
	return s + ": " + v.Detail
}

// Report is what Verify found.
type Report struct {
	Transactions int64
	Entries      int64
	Accounts     int
	Violations   []Violation
}

// OK reports whether every invariant holds.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// maxViolations bounds how many violations of one check a report lists.
const maxViolations = 100

type acctKey struct {
	account string
	mode    tender.Mode
	cur     tender.Currency
	typ     string
}

func (k acctKey) String() string { return fmt.Sprintf("%s/%s/%s/%s", k.account, k.mode, k.cur, k.typ) }

// Verify checks every invariant of the ledger over the whole database, in
// one consistent snapshot:
//
//   - every transaction has entries, on accounts of the chart, that sum to
//     zero in each currency, and its Net is its change of the merchant's
//     balances;
//   - every entry belongs to a transaction;
//   - every maintained balance equals the sum of its account's entries;
//   - no balance is negative unless its account type allows it;
//   - the database refuses updates and deletes of entries and of
//     transactions' amounts (the append-only guards are in place).
//
// It returns an error only when it could not read the database.
func Verify(ctx context.Context, st store.Store) (*Report, error) {
	r := &Report{}
	counts := map[string]int{}
	add := func(v Violation) {
		if counts[v.Check]++; counts[v.Check] <= maxViolations {
			r.Violations = append(r.Violations, v)
		}
	}
	err := st.Read(ctx, func(tx store.Tx) error {
		sums := map[acctKey]int64{}
		err := tx.ScanLedgerTransactions(ctx, func(t *tender.LedgerTransaction) error {
			r.Transactions++
			r.Entries += int64(len(t.Entries))
			if len(t.Entries) == 0 {
				add(Violation{Check: "entries", TransactionID: t.ID, Detail: "has no entries"})
				return nil
			}
			bal := map[tender.Currency]int64{}
			var net int64
			for _, e := range t.Entries {
				if _, ok := Type(e.Type); !ok {
					add(Violation{Check: "entries", TransactionID: t.ID, Detail: fmt.Sprintf("posts to %q, which is not in the chart of accounts", e.Type)})
				}
				k := acctKey{e.AccountID, t.Mode, e.Currency, e.Type}
				sums[k] += e.Amount
				bal[e.Currency] += e.Amount
				if e.Type == MerchantPending || e.Type == MerchantAvailable {
					net += e.Amount
				}
			}
			for _, c := range sortedCurrencies(bal) {
				if bal[c] != 0 {
					add(Violation{Check: "balanced", TransactionID: t.ID, Detail: fmt.Sprintf("entries in %s sum to %d, not 0", c, bal[c])})
				}
			}
			if net != t.Net {
				add(Violation{Check: "net", TransactionID: t.ID, Detail: fmt.Sprintf("net is %d but its entries move the merchant's balances by %d", t.Net, net)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		raw, err := tx.SumLedgerEntries(ctx)
		if err != nil {
			return err
		}
		for _, b := range raw {
			k := acctKey{b.AccountID, b.Mode, b.Currency, b.Type}
			if b.Amount != sums[k] {
				add(Violation{Check: "orphans", Account: k.String(),
					Detail: fmt.Sprintf("entries sum to %d, but those of its transactions to %d: entries without a transaction", b.Amount, sums[k])})
			}
		}
		maintained, err := tx.ListAllLedgerBalances(ctx)
		if err != nil {
			return err
		}
		seen := map[acctKey]bool{}
		for _, b := range maintained {
			k := acctKey{b.AccountID, b.Mode, b.Currency, b.Type}
			seen[k] = true
			if b.Amount != sums[k] {
				add(Violation{Check: "balance", Account: k.String(), Detail: fmt.Sprintf("maintained balance %d differs from the sum of its entries %d", b.Amount, sums[k])})
			}
		}
		keys := make([]acctKey, 0, len(sums))
		for k := range sums {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		r.Accounts = len(keys)
		for _, k := range keys {
			if !seen[k] && sums[k] != 0 {
				add(Violation{Check: "balance", Account: k.String(), Detail: fmt.Sprintf("has entries summing to %d but no maintained balance", sums[k])})
			}
			if sums[k] < 0 && !MayBeNegative(k.typ) {
				add(Violation{Check: "negative", Account: k.String(), Detail: fmt.Sprintf("balance %d is negative, which a %s account may never be", sums[k], k.typ)})
			}
		}
		missing, err := tx.CheckLedgerGuards(ctx)
		if err != nil {
			return err
		}
		for _, m := range missing {
			add(Violation{Check: "append-only", Detail: m + " is missing or disabled: entries could be changed"})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for check, n := range counts {
		if n > maxViolations {
			r.Violations = append(r.Violations, Violation{Check: check, Detail: fmt.Sprintf("%d more violations not listed", n-maxViolations)})
		}
	}
	return r, nil
}

func sortedCurrencies(m map[tender.Currency]int64) []tender.Currency {
	out := make([]tender.Currency, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
