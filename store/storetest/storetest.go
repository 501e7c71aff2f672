// Package storetest is the conformance suite of store.Store. Run exercises
// every documented behaviour of a Store and its Tx against a real engine, so
// store/sqlite and store/postgres are held to one contract by one set of
// tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock tender.Clock) store.Store {
//			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{Clock: clock})
//			...
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// Each case runs in its own parallel subtest on a fresh, empty store whose
// transactions take their time from a pinned clock the case controls. A new
// store behaviour gets a case here first.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// OpenFunc returns a new, empty, migrated store whose transactions take
// their time from clock. It closes the store when t ends (t.Cleanup).
type OpenFunc = func(t *testing.T, clock tender.Clock) store.Store

// Run runs the conformance suite against the stores open makes.
func Run(t *testing.T, open OpenFunc) {
	setup := func(t *testing.T) *testBundle { return newBundle(t, open) }
	groups := []struct {
		name string
		run  func(*testing.T, func(*testing.T) *testBundle)
	}{
		{"Store", testStore},
		{"Tenancy", testTenancy},
		{"PaymentMethod", testPaymentMethods},
		{"PaymentIntent", testPaymentIntents},
		{"ListPaymentIntents", testListPaymentIntents},
		{"SearchPaymentIntents", testSearchPaymentIntents},
		{"Payment", testPayments},
		{"Refund", testRefunds},
		{"IdempotencyRecord", testIdempotencyRecords},
		{"Job", testJobs},
		{"Write", testWrite},
		{"Claim", testClaim},
		{"Concurrency", testConcurrency},
		{"Events", testEvents},
		{"Ledger", testLedger},
	}
	groups = append(groups, registered...)
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.run(t, setup)
		})
	}
}

// group is one named part of the suite.
type group = struct {
	name string
	run  func(*testing.T, func(*testing.T) *testBundle)
}

// registered are the groups other files of this package add with register,
// in their init functions, so that a new part of the store brings its
// conformance tests without editing Run.
var registered []group

func register(name string, run func(*testing.T, func(*testing.T) *testBundle)) {
	registered = append(registered, group{name, run})
}

// epoch is where every case's clock starts. Its microseconds are not zero,
// so that a store that drops sub-second precision fails.
var epoch = time.Date(2024, time.March, 9, 10, 11, 12, 345678000, time.UTC)

// testBundle is one case's store, clock and tenants.
type testBundle struct {
	ctx   context.Context
	store store.Store
	clock *tender.FixedClock
	org   *tender.Organization
	acctA *tender.Account
	acctB *tender.Account
	a     tender.Scope // account A, test mode: where most cases work
	aLive tender.Scope // account A, live mode
	b     tender.Scope // account B, test mode
}

func newBundle(t *testing.T, open OpenFunc) *testBundle {
	t.Helper()
	clock := tender.NewFixedClock(epoch)
	b := &testBundle{ctx: context.Background(), store: open(t, clock), clock: clock}
	now := clock.Now()
	b.org = &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, now), Name: "Org", CreatedAt: now}
	b.acctA = &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: b.org.ID, Name: "A", CreatedAt: now}
	b.acctB = &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: b.org.ID, Name: "B", CreatedAt: now}
	mustWrite(t, b, func(tx store.Tx) error {
		if err := tx.CreateOrganization(b.ctx, b.org); err != nil {
			return err
		}
		if err := tx.CreateAccount(b.ctx, b.acctA); err != nil {
			return err
		}
		return tx.CreateAccount(b.ctx, b.acctB)
	})
	b.a = tender.Scope{OrganizationID: b.org.ID, AccountID: b.acctA.ID, Mode: tender.ModeTest}
	b.aLive = tender.Scope{OrganizationID: b.org.ID, AccountID: b.acctA.ID, Mode: tender.ModeLive}
	b.b = tender.Scope{OrganizationID: b.org.ID, AccountID: b.acctB.ID, Mode: tender.ModeTest}
	return b
}

// Helpers. Functions given to Write and Read never call t.Fatal: on SQLite
// they run on the writer goroutine. They return errors instead.

func mustWrite(t testing.TB, b *testBundle, fn func(tx store.Tx) error) {
	t.Helper()
	if err := b.store.Write(b.ctx, fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustRead(t testing.TB, b *testBundle, fn func(tx store.Tx) error) {
	t.Helper()
	if err := b.store.Read(b.ctx, fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// read runs fn in a Read and returns what it found.
func read[T any](b *testBundle, fn func(tx store.Tx) (T, error)) (T, error) {
	var v T
	err := b.store.Read(b.ctx, func(tx store.Tx) (err error) {
		v, err = fn(tx)
		return err
	})
	return v, err
}

// mustFind is read that fails the test on error.
func mustFind[T any](t testing.TB, b *testBundle, fn func(tx store.Tx) (T, error)) T {
	t.Helper()
	v, err := read(b, fn)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return v
}

// wantCode fails the test unless err carries the tender error code.
func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := tender.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

// wantDiff fails the test when want and got differ.
func wantDiff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// wantUTC fails the test unless every time field of v (a struct or a
// pointer to one, nested structs included) is in UTC.
func wantUTC(t testing.TB, what string, v any) {
	t.Helper()
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		switch rv.Kind() {
		case reflect.Pointer:
			if !rv.IsNil() {
				walk(path, rv.Elem())
			}
		case reflect.Struct:
			if tm, ok := rv.Interface().(time.Time); ok {
				if tm.Location() != time.UTC {
					t.Errorf("%s.%s = %v: location %v, want UTC", what, path, tm, tm.Location())
				}
				return
			}
			for i := 0; i < rv.NumField(); i++ {
				if rv.Type().Field(i).IsExported() {
					walk(strings.TrimPrefix(path+"."+rv.Type().Field(i).Name, "."), rv.Field(i))
				}
			}
		}
	}
	walk("", reflect.ValueOf(v))
}

// wantAllSet fails the test when a top-level field of the struct *v is its
// zero value, so that a round-trip fixture keeps covering every field as
// the type grows.
func wantAllSet(t testing.TB, what string, v any, except ...string) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := 0; i < rv.NumField(); i++ {
		name := rv.Type().Field(i).Name
		if !contains(except, name) && rv.Field(i).IsZero() {
			t.Errorf("fixture %s leaves field %s unset", what, name)
		}
	}
}

// wantAllChanged fails the test when a top-level field is equal in the
// structs *before and *after, apart from the identity fields in except.
func wantAllChanged(t testing.TB, what string, before, after any, except ...string) {
	t.Helper()
	bv, av := reflect.ValueOf(before).Elem(), reflect.ValueOf(after).Elem()
	for i := 0; i < bv.NumField(); i++ {
		name := bv.Type().Field(i).Name
		if !contains(except, name) && reflect.DeepEqual(bv.Field(i).Interface(), av.Field(i).Interface()) {
			t.Errorf("update fixture %s leaves field %s unchanged", what, name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// at is the clock's epoch plus d: a time with microseconds, in UTC.
func at(d time.Duration) time.Time { return epoch.Add(d) }

// Fixtures.

func (b *testBundle) paymentMethod(s tender.Scope) *tender.PaymentMethod {
	now := b.clock.Now()
	return &tender.PaymentMethod{
		ID: tender.NewID(tender.PrefixPaymentMethod, now), AccountID: s.AccountID, Mode: s.Mode, Type: tender.MethodCard,
		Card: &tender.CardDetails{Brand: "visa", FirstSix: "424242", LastFour: "4242", ExpMonth: 12, ExpYear: 2030, Fingerprint: "fp1"},
		Bank: &tender.BankDetails{MaskedAccount: "****6789", MaskedRouting: "****0021", AccountType: "checking", Fingerprint: "fpb"},
		BillingDetails: &tender.BillingDetails{Name: "Ada", Email: "ada@example.com", Phone: "+15550100",
			Address: &tender.Address{Line1: "1 Main St", Line2: "Apt 2", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"}},
		ProcessorToken: "tok_1", SourceType: "card_present", External: true,
		CreatedAt: now, UpdatedAt: now,
	}
}

// intent returns a payment intent of scope s with every field set.
func (b *testBundle) intent(s tender.Scope, edit func(pi *tender.PaymentIntent)) *tender.PaymentIntent {
	now := b.clock.Now()
	pi := &tender.PaymentIntent{
		ID: tender.NewID(tender.PrefixPaymentIntent, now), AccountID: s.AccountID, Mode: s.Mode,
		Status: tender.IntentCaptured, Amount: 1000, MerchantAmount: ptr(int64(970)), Currency: "USD",
		AmountAuthorized: 1000, AmountCaptured: 1000, AmountRefunded: 100, AmountVoided: 1, AmountDisputed: 2,
		Capture: true, PaymentMethodTypes: []string{"card", "bank"}, ReferenceID: "order-1", Description: "two hats",
		Metadata: json.RawMessage(`{"k":"v"}`), OrderDetails: json.RawMessage(`{"lines":[1,2]}`),
		PaymentSplits:   json.RawMessage(`[{"to":"x","amount":30}]`),
		LatestPaymentID: tender.NewID(tender.PrefixPayment, now), LatestPaymentState: tender.PaymentCaptured,
		CancellationReason: "duplicate", External: true, Disputed: true, DisputeID: "dp_1",
		SettlementStatus: tender.Settled, SettledAt: ptr(now.Add(3 * time.Hour)),
		CreatedAt: now, UpdatedAt: now.Add(time.Second),
		CancelledAt: ptr(now.Add(2 * time.Hour)), CapturedAt: ptr(now.Add(time.Hour)),
	}
	if edit != nil {
		edit(pi)
	}
	return pi
}

func (b *testBundle) payment(s tender.Scope, intentID string) *tender.Payment {
	now := b.clock.Now()
	return &tender.Payment{
		ID: tender.NewID(tender.PrefixPayment, now), AccountID: s.AccountID, Mode: s.Mode,
		PaymentIntentID: intentID, PaymentMethodID: tender.NewID(tender.PrefixPaymentMethod, now),
		MethodType: tender.MethodCard, CardBrand: "visa",
		Status: tender.PaymentCaptured, Amount: 1000, Currency: "USD",
		AmountAuthorized: 1000, AmountCaptured: 1000, AmountRefunded: 10, AmountVoided: 1, AmountDisputed: 2,
		AuthCode: "A1B2C3", ResponseText: "Approved", DeclineCode: "none", CVVResult: "M", AVSResult: "Y", ProcessorRef: "sim_1",
		BillingDetails: &tender.BillingDetails{Name: "Ada", Address: &tender.Address{Country: "US"}},
		External:       true, Gateway: json.RawMessage(`{"gw":"ok"}`), ReferenceID: "order-1", Description: "hat",
		GatewayCapture: json.RawMessage(`{"cap":1}`), GatewayVoid: json.RawMessage(`{"void":1}`), CardPresent: true,
		Metadata: json.RawMessage(`{"m":1}`), OrderDetails: json.RawMessage(`{"o":2}`),
		Disputed: true, DisputeID: "dp_1", SettlementStatus: tender.Settled, SettledAt: ptr(now.Add(time.Hour)),
		CreatedAt: now, UpdatedAt: now.Add(time.Second), Chargeback: &tender.ChargebackNotice{After: time.Minute, Reason: "fraud", ReasonCode: 83},
	}
}

func (b *testBundle) refund(s tender.Scope, intentID, paymentID string) *tender.Refund {
	now := b.clock.Now()
	return &tender.Refund{
		ID: tender.NewID(tender.PrefixRefund, now), AccountID: s.AccountID, Mode: s.Mode,
		PaymentIntentID: intentID, PaymentID: paymentID, Status: tender.RefundPending, Amount: 500, Currency: "USD",
		Reason: "requested_by_customer", External: true, Gateway: json.RawMessage(`{"gw":"ok"}`), ProcessorRef: "sim_r1",
		SettlementStatus: tender.Unsettled, SettledAt: ptr(now.Add(time.Hour)),
		CreatedAt: now, UpdatedAt: now.Add(time.Second),
	}
}

func (b *testBundle) job(kind string, runAt time.Time, uniqueKey string) *tender.Job {
	now := b.clock.Now()
	return &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: kind, AccountID: b.a.AccountID,
		Args: json.RawMessage(`{"n":1}`), RunAt: runAt, MaxAttempts: 5, UniqueKey: uniqueKey, CreatedAt: now}
}

func createIntents(t testing.TB, b *testBundle, pis ...*tender.PaymentIntent) {
	t.Helper()
	mustWrite(t, b, func(tx store.Tx) error {
		for _, pi := range pis {
			if err := tx.CreatePaymentIntent(b.ctx, pi); err != nil {
				return err
			}
		}
		return nil
	})
}

// ids returns the ids of items, nil when there are none.
func ids[T any](items []*T) []string {
	if len(items) == 0 {
		return nil
	}
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = reflect.ValueOf(v).Elem().FieldByName("ID").String()
	}
	return out
}

// Store.

func testStore(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("Engine", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		if e := b.store.Engine(); e != "sqlite" && e != "postgres" {
			t.Errorf("Engine() = %q, want sqlite or postgres", e)
		}
	})
	t.Run("NowIsTheClocksTime", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var wnow, rnow time.Time
		mustWrite(t, b, func(tx store.Tx) error { wnow = tx.Now(); return nil })
		mustRead(t, b, func(tx store.Tx) error { rnow = tx.Now(); return nil })
		if !wnow.Equal(epoch) || !rnow.Equal(epoch) {
			t.Errorf("Write Now() = %v, Read Now() = %v, want the clock's %v", wnow, rnow, epoch)
		}
	})
	t.Run("ReadReturnsFnError", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		errBoom := errors.New("boom")
		if err := b.store.Read(b.ctx, func(tx store.Tx) error { return errBoom }); !errors.Is(err, errBoom) {
			t.Errorf("Read = %v, want fn's error", err)
		}
	})
}

// Organizations, accounts and credentials.

func testTenancy(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("Organization", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		n := mustFind(t, b, func(tx store.Tx) (int, error) { return tx.CountOrganizations(b.ctx) })
		if n != 1 {
			t.Errorf("CountOrganizations = %d, want 1", n)
		}
		org2 := &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, epoch), Name: "Second", CreatedAt: epoch}
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateOrganization(b.ctx, org2) })
		n = mustFind(t, b, func(tx store.Tx) (int, error) { return tx.CountOrganizations(b.ctx) })
		if n != 2 {
			t.Errorf("CountOrganizations = %d, want 2", n)
		}
		dup := &tender.Organization{ID: org2.ID, Name: "Dup", CreatedAt: epoch}
		err := b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateOrganization(b.ctx, dup) })
		wantCode(t, "CreateOrganization(duplicate id)", err, tender.ECONFLICT)
	})
	t.Run("Account", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got := mustFind(t, b, func(tx store.Tx) (*tender.Account, error) { return tx.FindAccountByID(b.ctx, b.acctA.ID) })
		wantAllSet(t, "Account", b.acctA)
		wantDiff(t, "FindAccountByID", b.acctA, got)
		wantUTC(t, "Account", got)

		_, err := read(b, func(tx store.Tx) (*tender.Account, error) {
			return tx.FindAccountByID(b.ctx, tender.NewID(tender.PrefixAccount, epoch))
		})
		wantCode(t, "FindAccountByID(unknown)", err, tender.ENOTFOUND)

		dup := &tender.Account{ID: b.acctA.ID, OrganizationID: b.org.ID, Name: "Dup", CreatedAt: epoch}
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateAccount(b.ctx, dup) })
		wantCode(t, "CreateAccount(duplicate id)", err, tender.ECONFLICT)
		got = mustFind(t, b, func(tx store.Tx) (*tender.Account, error) { return tx.FindAccountByID(b.ctx, b.acctA.ID) })
		wantDiff(t, "account after a refused duplicate", b.acctA, got)
	})
	t.Run("Credential", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		live := &tender.Credential{ID: tender.NewID(tender.PrefixCredential, epoch), AccountID: b.acctA.ID, Mode: tender.ModeLive,
			Kind: tender.CredentialHighLevelLocation, Hash: "hash-live", Hint: "hl_loc_…abcd",
			Scopes: []string{"payments/orders.readonly", "products.write"}, AppID: "app-1", CreatedAt: epoch}
		test := &tender.Credential{ID: tender.NewID(tender.PrefixCredential, epoch), AccountID: b.acctA.ID, Mode: tender.ModeTest,
			Kind: tender.CredentialForwardPublic, Hash: "hash-test", Hint: "pk_test_...wxyz", CreatedAt: epoch}
		wantAllSet(t, "Credential", live)
		mustWrite(t, b, func(tx store.Tx) error {
			if err := tx.CreateCredential(b.ctx, live); err != nil {
				return err
			}
			return tx.CreateCredential(b.ctx, test)
		})
		for _, want := range []*tender.Credential{live, test} {
			got := mustFind(t, b, func(tx store.Tx) (*tender.Credential, error) { return tx.FindCredentialByHash(b.ctx, want.Hash) })
			wantDiff(t, "FindCredentialByHash("+want.Hash+")", want, got)
			wantUTC(t, "Credential", got)
		}
		_, err := read(b, func(tx store.Tx) (*tender.Credential, error) { return tx.FindCredentialByHash(b.ctx, "no-such-hash") })
		wantCode(t, "FindCredentialByHash(unknown)", err, tender.ENOTFOUND)

		dup := &tender.Credential{ID: tender.NewID(tender.PrefixCredential, epoch), AccountID: b.acctB.ID, Mode: tender.ModeTest,
			Kind: tender.CredentialForwardPrivate, Hash: live.Hash, Hint: "other", CreatedAt: epoch}
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateCredential(b.ctx, dup) })
		wantCode(t, "CreateCredential(duplicate hash)", err, tender.ECONFLICT)
		got := mustFind(t, b, func(tx store.Tx) (*tender.Credential, error) { return tx.FindCredentialByHash(b.ctx, live.Hash) })
		wantDiff(t, "credential after a refused duplicate hash", live, got)
	})
}

// Payment methods.

func testPaymentMethods(t *testing.T, setup func(*testing.T) *testBundle) {
	find := func(b *testBundle, s tender.Scope, id string) (*tender.PaymentMethod, error) {
		return read(b, func(tx store.Tx) (*tender.PaymentMethod, error) { return tx.FindPaymentMethodByID(b.ctx, s, id) })
	}
	t.Run("CreateFind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pm := b.paymentMethod(b.a)
		wantAllSet(t, "PaymentMethod", pm)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePaymentMethod(b.ctx, pm) })
		got, err := find(b, b.a, pm.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindPaymentMethodByID", pm, got)
		wantUTC(t, "PaymentMethod", got)

		_, err = find(b, b.a, tender.NewID(tender.PrefixPaymentMethod, epoch))
		wantCode(t, "FindPaymentMethodByID(unknown)", err, tender.ENOTFOUND)
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreatePaymentMethod(b.ctx, b.paymentMethodWithID(b.a, pm.ID)) })
		wantCode(t, "CreatePaymentMethod(duplicate id)", err, tender.ECONFLICT)
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pm := b.paymentMethod(b.a)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePaymentMethod(b.ctx, pm) })
		_, err := find(b, b.b, pm.ID)
		wantCode(t, "FindPaymentMethodByID(another account)", err, tender.ENOTFOUND)
		_, err = find(b, b.aLive, pm.ID)
		wantCode(t, "FindPaymentMethodByID(another mode)", err, tender.ENOTFOUND)

		for _, s := range []tender.Scope{b.b, b.aLive} {
			foreign := *pm
			foreign.AccountID, foreign.Mode, foreign.ProcessorToken = s.AccountID, s.Mode, "stolen"
			err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePaymentMethod(b.ctx, &foreign) })
			wantCode(t, "UpdatePaymentMethod(another scope)", err, tender.ENOTFOUND)
		}
		got, err := find(b, b.a, pm.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "payment method after foreign updates", pm, got)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pm := b.paymentMethod(b.a)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePaymentMethod(b.ctx, pm) })
		up := &tender.PaymentMethod{ID: pm.ID, AccountID: pm.AccountID, Mode: pm.Mode, Type: pm.Type,
			Card:           &tender.CardDetails{Brand: "mastercard", FirstSix: "555555", LastFour: "4444", ExpMonth: 1, ExpYear: 2031, Fingerprint: "fp2"},
			Bank:           &tender.BankDetails{MaskedAccount: "****1111", MaskedRouting: "****0022", AccountType: "savings", Fingerprint: "fpb2"},
			BillingDetails: &tender.BillingDetails{Name: "Grace", Email: "grace@example.com"},
			ProcessorToken: "tok_2", SourceType: "ecommerce", External: false,
			CreatedAt: pm.CreatedAt, UpdatedAt: at(time.Hour + 987654*time.Microsecond),
		}
		wantAllChanged(t, "PaymentMethod", pm, up, "ID", "AccountID", "Mode", "Type", "CreatedAt")
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePaymentMethod(b.ctx, up) })
		got, err := find(b, b.a, pm.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "payment method after update", up, got)
		wantUTC(t, "PaymentMethod", got)

		unknown := b.paymentMethod(b.a)
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePaymentMethod(b.ctx, unknown) })
		wantCode(t, "UpdatePaymentMethod(unknown)", err, tender.ENOTFOUND)
	})
}

func (b *testBundle) paymentMethodWithID(s tender.Scope, id string) *tender.PaymentMethod {
	pm := b.paymentMethod(s)
	pm.ID = id
	return pm
}

// Payment intents.

func findIntent(b *testBundle, s tender.Scope, id string) (*tender.PaymentIntent, error) {
	return read(b, func(tx store.Tx) (*tender.PaymentIntent, error) { return tx.FindPaymentIntentByID(b.ctx, s, id) })
}

func testPaymentIntents(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("StaleVersionConflicts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, nil)
		createIntents(t, b, pi)
		first, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		second, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		first.Description = "first"
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePaymentIntent(b.ctx, first) })
		if first.Version != 1 {
			t.Errorf("version after one update = %d, want 1", first.Version)
		}
		second.Description = "second"
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePaymentIntent(b.ctx, second) })
		wantCode(t, "UpdatePaymentIntent from a stale copy", err, tender.ECONFLICT)
		got, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Description != "first" || got.Version != 1 {
			t.Errorf("after a refused stale update: description %q version %d, want \"first\" 1", got.Description, got.Version)
		}
		// A payment likewise.
		p := b.payment(b.a, pi.ID)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePayment(b.ctx, p) })
		stale := *p
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePayment(b.ctx, p) })
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePayment(b.ctx, &stale) })
		wantCode(t, "UpdatePayment from a stale copy", err, tender.ECONFLICT)
	})
	t.Run("CreateFind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, nil)
		wantAllSet(t, "PaymentIntent", pi, "Version")
		createIntents(t, b, pi)
		got, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindPaymentIntentByID", pi, got)
		wantUTC(t, "PaymentIntent", got)

		_, err = findIntent(b, b.a, tender.NewID(tender.PrefixPaymentIntent, epoch))
		wantCode(t, "FindPaymentIntentByID(unknown)", err, tender.ENOTFOUND)
		dup := b.intent(b.a, func(x *tender.PaymentIntent) { x.ID = pi.ID; x.Amount = 5 })
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreatePaymentIntent(b.ctx, dup) })
		wantCode(t, "CreatePaymentIntent(duplicate id)", err, tender.ECONFLICT)
	})
	t.Run("MinimalFields", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := &tender.PaymentIntent{ID: tender.NewID(tender.PrefixPaymentIntent, epoch), AccountID: b.a.AccountID, Mode: b.a.Mode,
			Status: tender.IntentCreated, Amount: 1, Currency: "JPY", PaymentMethodTypes: []string{"card"},
			SettlementStatus: tender.Unsettled, CreatedAt: epoch, UpdatedAt: epoch}
		createIntents(t, b, pi)
		got, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindPaymentIntentByID", pi, got)
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, nil)
		createIntents(t, b, pi)
		_, err := findIntent(b, b.b, pi.ID)
		wantCode(t, "FindPaymentIntentByID(another account)", err, tender.ENOTFOUND)
		_, err = findIntent(b, b.aLive, pi.ID)
		wantCode(t, "FindPaymentIntentByID(another mode)", err, tender.ENOTFOUND)
		for _, s := range []tender.Scope{b.b, b.aLive} {
			foreign := *pi
			foreign.AccountID, foreign.Mode, foreign.Amount = s.AccountID, s.Mode, 1
			err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePaymentIntent(b.ctx, &foreign) })
			wantCode(t, "UpdatePaymentIntent(another scope)", err, tender.ENOTFOUND)
		}
		got, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "payment intent after foreign updates", pi, got)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, nil)
		createIntents(t, b, pi)
		later := at(48*time.Hour + 111111*time.Microsecond)
		up := &tender.PaymentIntent{ID: pi.ID, AccountID: pi.AccountID, Mode: pi.Mode, CreatedAt: pi.CreatedAt,
			Status: tender.IntentCancelled, Amount: 2500, MerchantAmount: ptr(int64(2400)), Currency: "EUR",
			AmountAuthorized: 2500, AmountCaptured: 2, AmountRefunded: 0, AmountVoided: 2500, AmountDisputed: 3,
			Capture: false, PaymentMethodTypes: []string{"card"}, ReferenceID: "order-2", Description: "three hats",
			Metadata: json.RawMessage(`{"k":"w"}`), OrderDetails: json.RawMessage(`{"lines":[3]}`),
			PaymentSplits:   json.RawMessage(`[]`),
			LatestPaymentID: tender.NewID(tender.PrefixPayment, later), LatestPaymentState: tender.PaymentVoided,
			CancellationReason: "abandoned", External: false, Disputed: false, DisputeID: "dp_2",
			SettlementStatus: tender.Unsettled, SettledAt: ptr(later.Add(time.Minute)),
			UpdatedAt: later, CancelledAt: ptr(later), CapturedAt: ptr(later.Add(-time.Minute)),
		}
		wantAllChanged(t, "PaymentIntent", pi, up, "ID", "AccountID", "Mode", "CreatedAt", "Version")
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePaymentIntent(b.ctx, up) })
		got, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "payment intent after update", up, got)
		wantUTC(t, "PaymentIntent", got)

		// The filtered columns follow the update too.
		found := mustFind(t, b, func(tx store.Tx) ([]*tender.PaymentIntent, error) {
			items, _, err := tx.SearchPaymentIntents(b.ctx, b.a, tender.PaymentIntentFilter{Status: tender.IntentCancelled,
				SettlementStatus: tender.Unsettled, PaymentStatus: tender.PaymentVoided, ReferenceID: "order-2",
				HasRefund: ptr(false), AmountMin: ptr(int64(2500)), AmountMax: ptr(int64(2500))})
			return items, err
		})
		wantDiff(t, "search by the updated columns", []string{pi.ID}, ids(found))
		found = mustFind(t, b, func(tx store.Tx) ([]*tender.PaymentIntent, error) {
			items, _, err := tx.SearchPaymentIntents(b.ctx, b.a, tender.PaymentIntentFilter{Status: tender.IntentCaptured})
			return items, err
		})
		wantDiff(t, "search by the old status", []string(nil), ids(found))

		// Clearing optional fields clears them.
		cleared := *up
		cleared.MerchantAmount, cleared.SettledAt, cleared.CancelledAt, cleared.CapturedAt = nil, nil, nil, nil
		cleared.Metadata, cleared.OrderDetails, cleared.PaymentSplits = nil, nil, nil
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePaymentIntent(b.ctx, &cleared) })
		got, err = findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "payment intent after clearing optional fields", &cleared, got)

		unknown := b.intent(b.a, nil)
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePaymentIntent(b.ctx, unknown) })
		wantCode(t, "UpdatePaymentIntent(unknown)", err, tender.ENOTFOUND)
	})
}

// ListPaymentIntents.

func testListPaymentIntents(t *testing.T, setup func(*testing.T) *testBundle) {
	// seed makes n intents of scope a, oldest first, with noise in the
	// other scopes interleaved.
	seed := func(t *testing.T, b *testBundle, n int) []string {
		var out []string
		var all []*tender.PaymentIntent
		for i := 0; i < n; i++ {
			b.clock.Advance(time.Millisecond)
			pi := b.intent(b.a, nil)
			out = append(out, pi.ID)
			all = append(all, pi, b.intent(b.b, nil), b.intent(b.aLive, nil))
		}
		createIntents(t, b, all...)
		return out
	}
	list := func(t *testing.T, b *testBundle, s tender.Scope, p tender.Page) ([]string, bool) {
		t.Helper()
		var items []*tender.PaymentIntent
		var more bool
		mustRead(t, b, func(tx store.Tx) (err error) {
			items, more, err = tx.ListPaymentIntents(b.ctx, s, p)
			return err
		})
		return ids(items), more
	}
	// pick returns the ids at positions idx of created, which is oldest first.
	pick := func(created []string, idx ...int) []string {
		out := make([]string, len(idx))
		for i, j := range idx {
			out[i] = created[j]
		}
		return out
	}
	type page struct {
		IDs  []string
		More bool
	}
	t.Run("NewestFirstPages", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := seed(t, b, 7) // c[6] is the newest

		var pages []page
		p := tender.Page{Limit: 3}
		for i := 0; i < 5; i++ {
			got, more := list(t, b, b.a, p)
			pages = append(pages, page{got, more})
			if !more {
				break
			}
			p.StartingAfter = got[len(got)-1]
		}
		want := []page{
			{pick(c, 6, 5, 4), true},
			{pick(c, 3, 2, 1), true},
			{pick(c, 0), false},
		}
		wantDiff(t, "starting_after pages", want, pages)

		// Walk back up with ending_before from the oldest.
		pages = nil
		p = tender.Page{Limit: 3, EndingBefore: c[0]}
		for i := 0; i < 5; i++ {
			got, more := list(t, b, b.a, p)
			pages = append(pages, page{got, more})
			if !more {
				break
			}
			p.EndingBefore = got[0]
		}
		want = []page{
			{pick(c, 3, 2, 1), true},
			{pick(c, 6, 5, 4), false},
		}
		wantDiff(t, "ending_before pages", want, pages)
	})
	t.Run("Edges", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		c := seed(t, b, 12)
		for _, tc := range []struct {
			name string
			p    tender.Page
			want page
		}{
			{"default limit is 10", tender.Page{}, page{pick(c, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2), true}},
			{"limit covers all", tender.Page{Limit: 12}, page{pick(c, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), false}},
			{"starting_after a middle id", tender.Page{Limit: 2, StartingAfter: c[5]}, page{pick(c, 4, 3), true}},
			{"starting_after the second oldest", tender.Page{Limit: 2, StartingAfter: c[1]}, page{pick(c, 0), false}},
			{"starting_after the oldest", tender.Page{Limit: 2, StartingAfter: c[0]}, page{nil, false}},
			{"ending_before a middle id", tender.Page{Limit: 2, EndingBefore: c[5]}, page{pick(c, 7, 6), true}},
			{"ending_before near the newest", tender.Page{Limit: 5, EndingBefore: c[9]}, page{pick(c, 11, 10), false}},
			{"ending_before the newest", tender.Page{Limit: 2, EndingBefore: c[11]}, page{nil, false}},
		} {
			got, more := list(t, b, b.a, tc.p)
			wantDiff(t, tc.name, tc.want, page{got, more})
		}
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		seed(t, b, 3)
		other := tender.Scope{AccountID: tender.NewID(tender.PrefixAccount, epoch), Mode: tender.ModeTest}
		got, more := list(t, b, other, tender.Page{})
		if len(got) != 0 || more {
			t.Errorf("ListPaymentIntents(empty scope) = %v, %v; want nothing", got, more)
		}
		for _, s := range []tender.Scope{b.a, b.b, b.aLive} {
			got, _ := list(t, b, s, tender.Page{Limit: 100})
			if len(got) != 3 {
				t.Errorf("ListPaymentIntents(%s, %s) has %d intents, want 3", s.AccountID, s.Mode, len(got))
			}
			for _, id := range got {
				pi, err := findIntent(b, s, id)
				if err != nil {
					t.Errorf("listed intent %s not found in its scope: %v", id, err)
				} else if pi.AccountID != s.AccountID || pi.Mode != s.Mode {
					t.Errorf("ListPaymentIntents(%s, %s) returned %s of %s, %s", s.AccountID, s.Mode, id, pi.AccountID, pi.Mode)
				}
			}
		}
	})
}

// SearchPaymentIntents.

func testSearchPaymentIntents(t *testing.T, setup func(*testing.T) *testBundle) {
	search := func(t *testing.T, b *testBundle, f tender.PaymentIntentFilter) ([]string, bool) {
		t.Helper()
		var items []*tender.PaymentIntent
		var more bool
		mustRead(t, b, func(tx store.Tx) (err error) {
			items, more, err = tx.SearchPaymentIntents(b.ctx, b.a, f)
			return err
		})
		return ids(items), more
	}
	// seed makes six intents a minute apart, with noise of the same shape
	// in the other scopes.
	seed := func(t *testing.T, b *testBundle) []*tender.PaymentIntent {
		specs := []struct {
			status, settlement, payment string
			amount, refunded            int64
			ref                         string
		}{
			{tender.IntentCreated, tender.Unsettled, "", 100, 0, "ref-1"},
			{tender.IntentCaptured, tender.Settled, tender.PaymentCaptured, 200, 50, "ref-2"},
			{tender.IntentCaptured, tender.Unsettled, tender.PaymentCaptured, 300, 0, "ref-2"},
			{tender.IntentFailed, tender.Unsettled, tender.PaymentFailed, 400, 0, "ref-3"},
			{tender.IntentCancelled, tender.Unsettled, tender.PaymentVoided, 500, 0, "ref-4"},
			{tender.IntentCaptured, tender.Settled, tender.PaymentCaptured, 600, 600, "ref-5"},
		}
		var mine, all []*tender.PaymentIntent
		for i, sp := range specs {
			b.clock.Advance(time.Minute)
			for _, s := range []tender.Scope{b.a, b.b, b.aLive} {
				pi := b.intent(s, func(pi *tender.PaymentIntent) {
					pi.Status, pi.SettlementStatus, pi.LatestPaymentState = sp.status, sp.settlement, sp.payment
					pi.Amount, pi.AmountRefunded, pi.ReferenceID = sp.amount, sp.refunded, sp.ref
					pi.UpdatedAt = pi.CreatedAt.Add(time.Duration(len(specs)-i) * time.Hour)
				})
				all = append(all, pi)
				if s.AccountID == b.a.AccountID && s.Mode == b.a.Mode {
					mine = append(mine, pi)
				}
			}
		}
		createIntents(t, b, all...)
		return mine
	}
	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pis := seed(t, b)
		// newest first: the default order is created_at descending.
		pick := func(idx ...int) []string {
			sort.Sort(sort.Reverse(sort.IntSlice(idx)))
			var out []string
			for _, i := range idx {
				out = append(out, pis[i].ID)
			}
			return out
		}
		created := func(i int) *time.Time { return ptr(pis[i].CreatedAt) }
		for _, tc := range []struct {
			name string
			f    tender.PaymentIntentFilter
			want []string
		}{
			{"none", tender.PaymentIntentFilter{}, pick(0, 1, 2, 3, 4, 5)},
			{"status", tender.PaymentIntentFilter{Status: tender.IntentCaptured}, pick(1, 2, 5)},
			{"status none", tender.PaymentIntentFilter{Status: tender.IntentPending}, pick()},
			{"settlement_status", tender.PaymentIntentFilter{SettlementStatus: tender.Settled}, pick(1, 5)},
			{"payment_status", tender.PaymentIntentFilter{PaymentStatus: tender.PaymentFailed}, pick(3)},
			{"has_refund true", tender.PaymentIntentFilter{HasRefund: ptr(true)}, pick(1, 5)},
			{"has_refund false", tender.PaymentIntentFilter{HasRefund: ptr(false)}, pick(0, 2, 3, 4)},
			{"start", tender.PaymentIntentFilter{Start: ptr(pis[3].CreatedAt.Add(-30 * time.Second))}, pick(3, 4, 5)},
			{"end", tender.PaymentIntentFilter{End: ptr(pis[1].CreatedAt.Add(30 * time.Second))}, pick(0, 1)},
			{"start and end", tender.PaymentIntentFilter{Start: ptr(pis[1].CreatedAt.Add(-time.Microsecond)),
				End: ptr(pis[3].CreatedAt.Add(time.Microsecond))}, pick(1, 2, 3)},
			{"start and end at created times", tender.PaymentIntentFilter{Start: created(2), End: created(2)}, pick(2)},
			{"amount_min", tender.PaymentIntentFilter{AmountMin: ptr(int64(450))}, pick(4, 5)},
			{"amount_max", tender.PaymentIntentFilter{AmountMax: ptr(int64(250))}, pick(0, 1)},
			{"amount_min and max", tender.PaymentIntentFilter{AmountMin: ptr(int64(250)), AmountMax: ptr(int64(450))}, pick(2, 3)},
			{"amount bounds are inclusive", tender.PaymentIntentFilter{AmountMin: ptr(int64(300)), AmountMax: ptr(int64(400))}, pick(2, 3)},
			{"reference_id", tender.PaymentIntentFilter{ReferenceID: "ref-2"}, pick(1, 2)},
			{"reference_id none", tender.PaymentIntentFilter{ReferenceID: "ref-9"}, pick()},
			{"combined", tender.PaymentIntentFilter{Status: tender.IntentCaptured, HasRefund: ptr(true),
				SettlementStatus: tender.Settled, AmountMax: ptr(int64(500))}, pick(1)},
		} {
			got, more := search(t, b, tc.f)
			wantDiff(t, "filter "+tc.name, tc.want, got)
			if more {
				t.Errorf("filter %s: has_more = true, want false", tc.name)
			}
		}
		_, _, err := readSearch(b, tender.PaymentIntentFilter{SortColumn: "data; DROP TABLE payment_intents"})
		wantCode(t, "SearchPaymentIntents(bad sort column)", err, tender.EINVALID)
		_, _, err = readSearch(b, tender.PaymentIntentFilter{SortColumn: "reference_id"})
		wantCode(t, "SearchPaymentIntents(unsortable column)", err, tender.EINVALID)
	})
	t.Run("Sort", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// Every sortable column set and in an order of its own; ties on
		// status and amount, broken by id in the same direction.
		hours := func(h int) *time.Time { return ptr(at(time.Duration(h)*time.Hour + 7*time.Microsecond)) }
		specs := []struct {
			status                      string
			amount                      int64
			updated                     time.Duration
			captured, cancelled, settle int
		}{
			{tender.IntentCaptured, 300, 5 * time.Minute, 30, 12, 51},
			{tender.IntentCancelled, 100, 1 * time.Minute, 10, 14, 52},
			{tender.IntentCaptured, 300, 9 * time.Minute, 20, 11, 50},
			{tender.IntentFailed, 200, 3 * time.Minute, 50, 15, 54},
			{tender.IntentCreated, 500, 7 * time.Minute, 40, 13, 53},
		}
		var pis []*tender.PaymentIntent
		for _, sp := range specs {
			b.clock.Advance(time.Second)
			pis = append(pis, b.intent(b.a, func(pi *tender.PaymentIntent) {
				pi.Status, pi.Amount = sp.status, sp.amount
				pi.UpdatedAt = at(sp.updated)
				pi.CapturedAt, pi.CancelledAt, pi.SettledAt = hours(sp.captured), hours(sp.cancelled), hours(sp.settle)
			}))
		}
		createIntents(t, b, pis...)
		keys := map[string]func(pi *tender.PaymentIntent) string{
			"created_at":   func(pi *tender.PaymentIntent) string { return fmt.Sprintf("%020d", pi.CreatedAt.UnixMicro()) },
			"updated_at":   func(pi *tender.PaymentIntent) string { return fmt.Sprintf("%020d", pi.UpdatedAt.UnixMicro()) },
			"amount":       func(pi *tender.PaymentIntent) string { return fmt.Sprintf("%020d", pi.Amount) },
			"status":       func(pi *tender.PaymentIntent) string { return pi.Status },
			"captured_at":  func(pi *tender.PaymentIntent) string { return fmt.Sprintf("%020d", pi.CapturedAt.UnixMicro()) },
			"cancelled_at": func(pi *tender.PaymentIntent) string { return fmt.Sprintf("%020d", pi.CancelledAt.UnixMicro()) },
			"settled_at":   func(pi *tender.PaymentIntent) string { return fmt.Sprintf("%020d", pi.SettledAt.UnixMicro()) },
		}
		expect := func(col string, asc bool) []string {
			s := append([]*tender.PaymentIntent(nil), pis...)
			sort.Slice(s, func(i, j int) bool {
				ki, kj := keys[col](s[i]), keys[col](s[j])
				if ki == kj {
					ki, kj = s[i].ID, s[j].ID
				}
				if asc {
					return ki < kj
				}
				return ki > kj
			})
			return ids(s)
		}
		for col := range keys {
			for _, asc := range []bool{true, false} {
				got, more := search(t, b, tender.PaymentIntentFilter{SortColumn: col, SortAsc: asc})
				wantDiff(t, fmt.Sprintf("sort by %s asc=%v", col, asc), expect(col, asc), got)
				if more {
					t.Errorf("sort by %s asc=%v: has_more = true, want false", col, asc)
				}
			}
		}
		got, _ := search(t, b, tender.PaymentIntentFilter{})
		wantDiff(t, "default sort (created_at descending)", expect("created_at", false), got)
	})
	t.Run("EmptyTimesSortLast", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var want []string
		for i := 0; i < 4; i++ {
			b.clock.Advance(time.Minute)
			pi := b.intent(b.a, func(pi *tender.PaymentIntent) {
				if i%2 == 0 {
					pi.CapturedAt = nil
				} else {
					at := pi.CreatedAt
					pi.CapturedAt = &at
				}
			})
			createIntents(t, b, pi)
			want = append(want, pi.ID)
		}
		// Captured ones (1, 3) first in either direction; empty ones last, by id.
		asc, _ := search(t, b, tender.PaymentIntentFilter{SortColumn: "captured_at", SortAsc: true})
		wantDiff(t, "captured_at ascending", []string{want[1], want[3], want[0], want[2]}, asc)
		desc, _ := search(t, b, tender.PaymentIntentFilter{SortColumn: "captured_at"})
		wantDiff(t, "captured_at descending", []string{want[3], want[1], want[2], want[0]}, desc)
	})
	t.Run("OffsetPages", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pis := seed(t, b)
		type page struct {
			IDs  []string
			More bool
		}
		var pages []page
		for offset := 0; offset <= 6; offset += 2 {
			got, more := search(t, b, tender.PaymentIntentFilter{SortColumn: "amount", SortAsc: true, Limit: 2, Offset: offset})
			pages = append(pages, page{got, more})
		}
		want := []page{
			{[]string{pis[0].ID, pis[1].ID}, true},
			{[]string{pis[2].ID, pis[3].ID}, true},
			{[]string{pis[4].ID, pis[5].ID}, false},
			{nil, false},
		}
		wantDiff(t, "amount ascending pages of 2", want, pages)

		got, more := search(t, b, tender.PaymentIntentFilter{Status: tender.IntentCaptured, SortColumn: "amount", Limit: 2, Offset: 1})
		wantDiff(t, "filtered page", page{[]string{pis[2].ID, pis[1].ID}, false}, page{got, more})
		got, more = search(t, b, tender.PaymentIntentFilter{Limit: 5})
		wantDiff(t, "newest five", page{[]string{pis[5].ID, pis[4].ID, pis[3].ID, pis[2].ID, pis[1].ID}, true}, page{got, more})
	})
}

func readSearch(b *testBundle, f tender.PaymentIntentFilter) ([]*tender.PaymentIntent, bool, error) {
	var items []*tender.PaymentIntent
	var more bool
	err := b.store.Read(b.ctx, func(tx store.Tx) (err error) {
		items, more, err = tx.SearchPaymentIntents(b.ctx, b.a, f)
		return err
	})
	return items, more, err
}

// Payments.

func testPayments(t *testing.T, setup func(*testing.T) *testBundle) {
	find := func(b *testBundle, s tender.Scope, id string) (*tender.Payment, error) {
		return read(b, func(tx store.Tx) (*tender.Payment, error) { return tx.FindPaymentByID(b.ctx, s, id) })
	}
	create := func(t *testing.T, b *testBundle, ps ...*tender.Payment) {
		t.Helper()
		mustWrite(t, b, func(tx store.Tx) error {
			for _, p := range ps {
				if err := tx.CreatePayment(b.ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	t.Run("CreateFind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.payment(b.a, tender.NewID(tender.PrefixPaymentIntent, epoch))
		wantAllSet(t, "Payment", p, "Version")
		create(t, b, p)
		got, err := find(b, b.a, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindPaymentByID", p, got)
		wantUTC(t, "Payment", got)
		_, err = find(b, b.a, tender.NewID(tender.PrefixPayment, epoch))
		wantCode(t, "FindPaymentByID(unknown)", err, tender.ENOTFOUND)
		dup := b.payment(b.a, p.PaymentIntentID)
		dup.ID = p.ID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreatePayment(b.ctx, dup) })
		wantCode(t, "CreatePayment(duplicate id)", err, tender.ECONFLICT)
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.payment(b.a, tender.NewID(tender.PrefixPaymentIntent, epoch))
		create(t, b, p)
		_, err := find(b, b.b, p.ID)
		wantCode(t, "FindPaymentByID(another account)", err, tender.ENOTFOUND)
		_, err = find(b, b.aLive, p.ID)
		wantCode(t, "FindPaymentByID(another mode)", err, tender.ENOTFOUND)
		for _, s := range []tender.Scope{b.b, b.aLive} {
			foreign := *p
			foreign.AccountID, foreign.Mode, foreign.Status = s.AccountID, s.Mode, tender.PaymentVoided
			err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePayment(b.ctx, &foreign) })
			wantCode(t, "UpdatePayment(another scope)", err, tender.ENOTFOUND)
		}
		got, err := find(b, b.a, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "payment after foreign updates", p, got)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.payment(b.a, tender.NewID(tender.PrefixPaymentIntent, epoch))
		create(t, b, p)
		later := at(24*time.Hour + 424242*time.Microsecond)
		up := &tender.Payment{ID: p.ID, AccountID: p.AccountID, Mode: p.Mode, PaymentIntentID: p.PaymentIntentID,
			PaymentMethodID: p.PaymentMethodID, CreatedAt: p.CreatedAt, MethodType: tender.MethodBank, CardBrand: "amex",
			Status: tender.PaymentVoided, Amount: 900, Currency: "EUR",
			AmountAuthorized: 900, AmountCaptured: 0, AmountRefunded: 0, AmountVoided: 900, AmountDisputed: 0,
			AuthCode: "Z9", ResponseText: "Voided", DeclineCode: "do_not_honor", CVVResult: "N", AVSResult: "N", ProcessorRef: "sim_2",
			BillingDetails: &tender.BillingDetails{Name: "Grace"},
			External:       false, Gateway: json.RawMessage(`{"gw":"void"}`), ReferenceID: "order-2", Description: "cap",
			GatewayCapture: json.RawMessage(`{"cap":2}`), GatewayVoid: json.RawMessage(`{"void":2}`), CardPresent: false,
			Metadata: json.RawMessage(`{"m":2}`), OrderDetails: json.RawMessage(`{"o":3}`),
			Disputed: false, DisputeID: "dp_2", SettlementStatus: tender.Unsettled, SettledAt: ptr(later.Add(time.Hour)),
			Chargeback: &tender.ChargebackNotice{After: time.Second, Reason: "other", ReasonCode: 13}, UpdatedAt: later,
		}
		wantAllChanged(t, "Payment", p, up, "ID", "AccountID", "Mode", "PaymentIntentID", "PaymentMethodID", "CreatedAt", "Version")
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdatePayment(b.ctx, up) })
		got, err := find(b, b.a, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "payment after update", up, got)
		wantUTC(t, "Payment", got)
		unknown := b.payment(b.a, p.PaymentIntentID)
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdatePayment(b.ctx, unknown) })
		wantCode(t, "UpdatePayment(unknown)", err, tender.ENOTFOUND)
	})
	t.Run("ListByIntent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		intent := tender.NewID(tender.PrefixPaymentIntent, epoch)
		other := tender.NewID(tender.PrefixPaymentIntent, epoch)
		var mine []*tender.Payment
		var all []*tender.Payment
		for i := 0; i < 5; i++ {
			b.clock.Advance(time.Millisecond)
			p := b.payment(b.a, intent)
			mine = append(mine, p)
			// Noise: another intent of the scope, and the same intent id
			// in other scopes.
			all = append(all, p, b.payment(b.a, other), b.payment(b.b, intent), b.payment(b.aLive, intent))
		}
		create(t, b, all...)
		list := func(s tender.Scope, id string, p tender.Page) ([]*tender.Payment, bool) {
			t.Helper()
			var items []*tender.Payment
			var more bool
			mustRead(t, b, func(tx store.Tx) (err error) {
				items, more, err = tx.ListPaymentsByIntent(b.ctx, s, id, p)
				return err
			})
			return items, more
		}
		got, more := list(b.a, intent, tender.Page{})
		want := []*tender.Payment{mine[4], mine[3], mine[2], mine[1], mine[0]}
		wantDiff(t, "ListPaymentsByIntent", want, got)
		if more {
			t.Error("ListPaymentsByIntent: has_more = true, want false")
		}
		got, more = list(b.a, intent, tender.Page{Limit: 2})
		wantDiff(t, "first page", ids(want[:2]), ids(got))
		if !more {
			t.Error("first page: has_more = false, want true")
		}
		got, more = list(b.a, intent, tender.Page{Limit: 2, StartingAfter: mine[1].ID})
		wantDiff(t, "last page", []string{mine[0].ID}, ids(got))
		if more {
			t.Error("last page: has_more = true, want false")
		}
		got, more = list(b.a, intent, tender.Page{Limit: 2, EndingBefore: mine[1].ID})
		wantDiff(t, "ending_before page", []string{mine[3].ID, mine[2].ID}, ids(got))
		if !more {
			t.Error("ending_before page: has_more = false, want true")
		}
		got, _ = list(b.b, intent, tender.Page{Limit: 100})
		if len(got) != 5 {
			t.Errorf("account B lists %d payments of the intent id, want its own 5", len(got))
		}
		for _, p := range got {
			if p.AccountID != b.b.AccountID || p.Mode != b.b.Mode {
				t.Errorf("account B listed payment %s of %s/%s", p.ID, p.AccountID, p.Mode)
			}
		}
		got, more = list(b.a, tender.NewID(tender.PrefixPaymentIntent, epoch), tender.Page{})
		if len(got) != 0 || more {
			t.Errorf("ListPaymentsByIntent(unknown intent) = %d payments, %v; want none", len(got), more)
		}
	})
}

// Refunds.

func testRefunds(t *testing.T, setup func(*testing.T) *testBundle) {
	find := func(b *testBundle, s tender.Scope, id string) (*tender.Refund, error) {
		return read(b, func(tx store.Tx) (*tender.Refund, error) { return tx.FindRefundByID(b.ctx, s, id) })
	}
	newRefund := func(b *testBundle, s tender.Scope) *tender.Refund {
		return b.refund(s, tender.NewID(tender.PrefixPaymentIntent, epoch), tender.NewID(tender.PrefixPayment, epoch))
	}
	t.Run("CreateFind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := newRefund(b, b.a)
		wantAllSet(t, "Refund", r)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateRefund(b.ctx, r) })
		got, err := find(b, b.a, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindRefundByID", r, got)
		wantUTC(t, "Refund", got)
		_, err = find(b, b.a, tender.NewID(tender.PrefixRefund, epoch))
		wantCode(t, "FindRefundByID(unknown)", err, tender.ENOTFOUND)
		dup := newRefund(b, b.a)
		dup.ID = r.ID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateRefund(b.ctx, dup) })
		wantCode(t, "CreateRefund(duplicate id)", err, tender.ECONFLICT)
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := newRefund(b, b.a)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateRefund(b.ctx, r) })
		_, err := find(b, b.b, r.ID)
		wantCode(t, "FindRefundByID(another account)", err, tender.ENOTFOUND)
		_, err = find(b, b.aLive, r.ID)
		wantCode(t, "FindRefundByID(another mode)", err, tender.ENOTFOUND)
		for _, s := range []tender.Scope{b.b, b.aLive} {
			foreign := *r
			foreign.AccountID, foreign.Mode, foreign.Status = s.AccountID, s.Mode, tender.RefundFailed
			err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateRefund(b.ctx, &foreign) })
			wantCode(t, "UpdateRefund(another scope)", err, tender.ENOTFOUND)
		}
		got, err := find(b, b.a, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "refund after foreign updates", r, got)
	})
	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := newRefund(b, b.a)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateRefund(b.ctx, r) })
		later := at(72*time.Hour + 1*time.Microsecond)
		up := &tender.Refund{ID: r.ID, AccountID: r.AccountID, Mode: r.Mode, PaymentIntentID: r.PaymentIntentID,
			PaymentID: r.PaymentID, CreatedAt: r.CreatedAt,
			Status: tender.RefundSucceeded, Amount: 400, Currency: "EUR", Reason: "duplicate", External: false,
			Gateway: json.RawMessage(`{"gw":"done"}`), ProcessorRef: "sim_r2", SettlementStatus: tender.Settled,
			SettledAt: ptr(later.Add(time.Hour)), UpdatedAt: later,
		}
		wantAllChanged(t, "Refund", r, up, "ID", "AccountID", "Mode", "PaymentIntentID", "PaymentID", "CreatedAt")
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateRefund(b.ctx, up) })
		got, err := find(b, b.a, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "refund after update", up, got)
		wantUTC(t, "Refund", got)
		unknown := newRefund(b, b.a)
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateRefund(b.ctx, unknown) })
		wantCode(t, "UpdateRefund(unknown)", err, tender.ENOTFOUND)
	})
}

// Idempotency records.

func testIdempotencyRecords(t *testing.T, setup func(*testing.T) *testBundle) {
	rec := func(s tender.Scope, key string, created time.Time, ttl time.Duration) *tender.IdempotencyRecord {
		return &tender.IdempotencyRecord{AccountID: s.AccountID, Mode: s.Mode, Key: key, Fingerprint: "fp-" + key,
			Status: 201, ContentType: "application/json", Body: []byte(`{"id":"` + key + `"}`),
			CreatedAt: created, ExpiresAt: created.Add(ttl)}
	}
	put := func(b *testBundle, r *tender.IdempotencyRecord) error {
		return b.store.Write(b.ctx, func(tx store.Tx) error { return tx.PutIdempotencyRecord(b.ctx, r) })
	}
	find := func(b *testBundle, s tender.Scope, key string) (*tender.IdempotencyRecord, error) {
		return read(b, func(tx store.Tx) (*tender.IdempotencyRecord, error) {
			return tx.FindIdempotencyRecord(b.ctx, s.AccountID, s.Mode, key)
		})
	}
	t.Run("PutFind", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := rec(b.a, "key-1", b.clock.Now(), 24*time.Hour)
		wantAllSet(t, "IdempotencyRecord", r)
		if err := put(b, r); err != nil {
			t.Fatal(err)
		}
		got, err := find(b, b.a, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindIdempotencyRecord", r, got)
		wantUTC(t, "IdempotencyRecord", got)
		_, err = find(b, b.a, "key-2")
		wantCode(t, "FindIdempotencyRecord(unknown key)", err, tender.ENOTFOUND)
		_, err = find(b, b.b, "key-1")
		wantCode(t, "FindIdempotencyRecord(another account)", err, tender.ENOTFOUND)
		_, err = find(b, b.aLive, "key-1")
		wantCode(t, "FindIdempotencyRecord(another mode)", err, tender.ENOTFOUND)
	})
	t.Run("KeysAreScoped", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, s := range []tender.Scope{b.a, b.b, b.aLive} {
			r := rec(s, "shared", b.clock.Now(), time.Hour)
			r.Body = []byte(s.AccountID + string(s.Mode))
			if err := put(b, r); err != nil {
				t.Fatalf("PutIdempotencyRecord(%s, %s): %v", s.AccountID, s.Mode, err)
			}
			got, err := find(b, s, "shared")
			if err != nil {
				t.Fatal(err)
			}
			wantDiff(t, "record of its own scope", r, got)
		}
	})
	t.Run("ConflictOnLiveKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := rec(b.a, "key-1", b.clock.Now(), time.Hour)
		if err := put(b, r); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(59 * time.Minute)
		other := rec(b.a, "key-1", b.clock.Now(), time.Hour)
		other.Fingerprint, other.Body = "fp-other", []byte("other")
		wantCode(t, "PutIdempotencyRecord(live key)", put(b, other), tender.ECONFLICT)
		got, err := find(b, b.a, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "record after a refused put", r, got)
	})
	t.Run("Expiry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		r := rec(b.a, "key-1", b.clock.Now(), time.Hour)
		if err := put(b, r); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Hour + time.Second)
		_, err := find(b, b.a, "key-1")
		wantCode(t, "FindIdempotencyRecord(expired)", err, tender.ENOTFOUND)

		again := rec(b.a, "key-1", b.clock.Now(), time.Hour)
		again.Fingerprint, again.Status, again.Body = "fp-again", 200, []byte("again")
		if err := put(b, again); err != nil {
			t.Fatalf("PutIdempotencyRecord over an expired key: %v", err)
		}
		got, err := find(b, b.a, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "record put over an expired one", again, got)
	})
	t.Run("DeleteExpired", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		now := b.clock.Now()
		for i, ttl := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, time.Hour} {
			s := []tender.Scope{b.a, b.b, b.aLive, b.a}[i]
			if err := put(b, rec(s, fmt.Sprintf("key-%d", i), now, ttl)); err != nil {
				t.Fatal(err)
			}
		}
		del := func(before time.Time, limit int) int {
			t.Helper()
			var n int
			mustWrite(t, b, func(tx store.Tx) (err error) {
				n, err = tx.DeleteExpiredIdempotencyRecords(b.ctx, before, limit)
				return err
			})
			return n
		}
		for _, tc := range []struct {
			before time.Time
			limit  int
			want   int
		}{
			{now.Add(30 * time.Second), 10, 0},
			{now.Add(90 * time.Second), 10, 1},
			{now.Add(10 * time.Minute), 1, 1},
			{now.Add(10 * time.Minute), 10, 1},
			{now.Add(10 * time.Minute), 10, 0},
		} {
			if got := del(tc.before, tc.limit); got != tc.want {
				t.Errorf("DeleteExpiredIdempotencyRecords(now+%v, %d) = %d, want %d", tc.before.Sub(now), tc.limit, got, tc.want)
			}
		}
		if _, err := find(b, b.a, "key-3"); err != nil {
			t.Errorf("unexpired record: %v", err)
		}
		// Deleted keys are free for new records even before the clock passes
		// their old expiry.
		if err := put(b, rec(b.a, "key-0", now, time.Hour)); err != nil {
			t.Errorf("PutIdempotencyRecord over a deleted key: %v", err)
		}
	})
}

// Jobs.

func claim(t testing.TB, b *testBundle, limit int, lease time.Duration) []*tender.Job {
	t.Helper()
	var jobs []*tender.Job
	mustWrite(t, b, func(tx store.Tx) (err error) {
		jobs, err = tx.ClaimJobs(b.ctx, limit, lease)
		return err
	})
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	return jobs
}

func enqueue(t testing.TB, b *testBundle, jobs ...*tender.Job) {
	t.Helper()
	mustWrite(t, b, func(tx store.Tx) error {
		for _, j := range jobs {
			if err := tx.EnqueueJob(b.ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
}

func countJobs(t testing.TB, b *testBundle) map[string]int {
	t.Helper()
	out := map[string]int{}
	mustRead(t, b, func(tx store.Tx) error {
		for _, s := range []string{"available", "running", "discarded"} {
			n, err := tx.CountJobs(b.ctx, s)
			if err != nil {
				return err
			}
			out[s] = n
		}
		return nil
	})
	return out
}

// claimed is how ClaimJobs reports j after attempts claims.
func claimed(j *tender.Job, attempts int, lastErr string) *tender.Job {
	c := *j
	c.Attempts, c.LastError = attempts, lastErr
	return &c
}

func testJobs(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("ClaimOnlyDue", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		now := b.clock.Now()
		past := b.job("past", now.Add(-time.Minute), "")
		due := b.job("due", now, "u-due")
		future := b.job("future", now.Add(time.Minute), "")
		wantAllSet(t, "Job", due, "Attempts", "LastError")
		enqueue(t, b, past, due, future)
		wantDiff(t, "counts after enqueue", map[string]int{"available": 3, "running": 0, "discarded": 0}, countJobs(t, b))

		got := claim(t, b, 10, 5*time.Minute)
		wantDiff(t, "first claim", []*tender.Job{claimed(past, 1, ""), claimed(due, 1, "")}, got)
		for _, j := range got {
			wantUTC(t, "Job", j)
		}
		wantDiff(t, "counts after claim", map[string]int{"available": 1, "running": 2, "discarded": 0}, countJobs(t, b))
		if got := claim(t, b, 10, 5*time.Minute); len(got) != 0 {
			t.Errorf("second claim got %v, want nothing", ids(got))
		}
		b.clock.Advance(time.Minute)
		wantDiff(t, "claim once the future job is due", []*tender.Job{claimed(future, 1, "")}, claim(t, b, 10, 5*time.Minute))
	})
	t.Run("Limit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for i := 0; i < 5; i++ {
			enqueue(t, b, b.job("k", b.clock.Now(), ""))
		}
		seen := map[string]bool{}
		for _, n := range []int{2, 2, 1} {
			got := claim(t, b, 2, time.Hour)
			if len(got) != n {
				t.Fatalf("ClaimJobs(2) got %d jobs, want %d", len(got), n)
			}
			for _, j := range got {
				if seen[j.ID] {
					t.Errorf("job %s claimed twice", j.ID)
				}
				seen[j.ID] = true
			}
		}
	})
	t.Run("LeaseLapse", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		j := b.job("k", b.clock.Now(), "u1")
		enqueue(t, b, j)
		wantDiff(t, "claim", []*tender.Job{claimed(j, 1, "")}, claim(t, b, 10, 5*time.Minute))
		b.clock.Advance(5*time.Minute - time.Second)
		if got := claim(t, b, 10, 5*time.Minute); len(got) != 0 {
			t.Errorf("claim within the lease got %v, want nothing", ids(got))
		}
		b.clock.Advance(2 * time.Second)
		wantDiff(t, "claim after the lease lapsed", []*tender.Job{claimed(j, 2, "")}, claim(t, b, 10, 5*time.Minute))
		if got := claim(t, b, 10, 5*time.Minute); len(got) != 0 {
			t.Errorf("claim within the new lease got %v, want nothing", ids(got))
		}
	})
	t.Run("UniqueKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := b.job("k", b.clock.Now(), "u1")
		enqueue(t, b, first, b.job("k", b.clock.Now(), "u1"))
		wantDiff(t, "counts after a duplicate unique key", map[string]int{"available": 1, "running": 0, "discarded": 0}, countJobs(t, b))
		enqueue(t, b, b.job("k", b.clock.Now(), "u2"), b.job("k", b.clock.Now(), ""), b.job("k", b.clock.Now(), ""))
		wantDiff(t, "counts after other keys", map[string]int{"available": 4, "running": 0, "discarded": 0}, countJobs(t, b))

		// Still queued while running: the key stays taken.
		got := claim(t, b, 10, time.Hour)
		if len(got) != 4 {
			t.Fatalf("claimed %d jobs, want 4", len(got))
		}
		enqueue(t, b, b.job("k", b.clock.Now(), "u1"))
		wantDiff(t, "counts after a duplicate of a running job", map[string]int{"available": 0, "running": 4, "discarded": 0}, countJobs(t, b))

		// Completing frees it.
		mustWrite(t, b, func(tx store.Tx) error { return tx.CompleteJob(b.ctx, first.ID) })
		again := b.job("k", b.clock.Now(), "u1")
		enqueue(t, b, again)
		wantDiff(t, "counts after re-enqueueing a completed key", map[string]int{"available": 1, "running": 3, "discarded": 0}, countJobs(t, b))
		wantDiff(t, "claim of the re-enqueued job", []*tender.Job{claimed(again, 1, "")}, claim(t, b, 10, time.Hour))
	})
	t.Run("Retry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		j := b.job("k", b.clock.Now(), "u1")
		enqueue(t, b, j)
		claim(t, b, 10, time.Hour)
		runAt := b.clock.Now().Add(10*time.Minute + 5*time.Microsecond)
		mustWrite(t, b, func(tx store.Tx) error { return tx.RetryJob(b.ctx, j.ID, runAt, "boom") })
		wantDiff(t, "counts after retry", map[string]int{"available": 1, "running": 0, "discarded": 0}, countJobs(t, b))
		// The unique key stays taken while the job waits to be retried.
		enqueue(t, b, b.job("k", b.clock.Now(), "u1"))
		wantDiff(t, "counts after a duplicate of a retried job", map[string]int{"available": 1, "running": 0, "discarded": 0}, countJobs(t, b))
		if got := claim(t, b, 10, time.Hour); len(got) != 0 {
			t.Errorf("claim before run_at got %v, want nothing", ids(got))
		}
		b.clock.Advance(10*time.Minute + 5*time.Microsecond)
		want := claimed(j, 2, "boom")
		want.RunAt = runAt
		wantDiff(t, "claim after run_at", []*tender.Job{want}, claim(t, b, 10, time.Hour))

		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			return tx.RetryJob(b.ctx, tender.NewID(tender.PrefixJob, epoch), runAt, "x")
		})
		wantCode(t, "RetryJob(unknown)", err, tender.ENOTFOUND)
	})
	t.Run("Discard", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		j := b.job("k", b.clock.Now(), "u1")
		enqueue(t, b, j)
		claim(t, b, 10, time.Hour)
		mustWrite(t, b, func(tx store.Tx) error { return tx.DiscardJob(b.ctx, j.ID, "fatal") })
		wantDiff(t, "counts after discard", map[string]int{"available": 0, "running": 0, "discarded": 1}, countJobs(t, b))
		b.clock.Advance(24 * time.Hour)
		if got := claim(t, b, 10, time.Hour); len(got) != 0 {
			t.Errorf("claim after discard got %v, want nothing", ids(got))
		}
		// A discarded job frees its unique key.
		again := b.job("k", b.clock.Now(), "u1")
		enqueue(t, b, again)
		wantDiff(t, "counts after re-enqueueing a discarded key", map[string]int{"available": 1, "running": 0, "discarded": 1}, countJobs(t, b))
		wantDiff(t, "claim of the re-enqueued job", []*tender.Job{claimed(again, 1, "")}, claim(t, b, 10, time.Hour))

		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			return tx.DiscardJob(b.ctx, tender.NewID(tender.PrefixJob, epoch), "x")
		})
		wantCode(t, "DiscardJob(unknown)", err, tender.ENOTFOUND)
	})
	t.Run("Complete", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		j1, j2 := b.job("k", b.clock.Now(), ""), b.job("k", b.clock.Now(), "")
		enqueue(t, b, j1, j2)
		claim(t, b, 10, time.Minute)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CompleteJob(b.ctx, j1.ID) })
		wantDiff(t, "counts after complete", map[string]int{"available": 0, "running": 1, "discarded": 0}, countJobs(t, b))
		b.clock.Advance(time.Hour)
		wantDiff(t, "claim after every lease lapsed", []*tender.Job{claimed(j2, 2, "")}, claim(t, b, 10, time.Minute))
	})
}

// Write, Read and rollback.

func testWrite(t *testing.T, setup func(*testing.T) *testBundle) {
	// effects writes to every kind of table a command touches.
	effects := func(b *testBundle, tx store.Tx, pi *tender.PaymentIntent) error {
		if err := tx.CreatePaymentIntent(b.ctx, pi); err != nil {
			return err
		}
		if err := tx.EnqueueJob(b.ctx, b.job("k", tx.Now(), "")); err != nil {
			return err
		}
		return tx.PutIdempotencyRecord(b.ctx, &tender.IdempotencyRecord{AccountID: b.a.AccountID, Mode: b.a.Mode, Key: pi.ID,
			Fingerprint: "fp", Status: 200, ContentType: "application/json", Body: []byte("{}"), CreatedAt: tx.Now(), ExpiresAt: tx.Now().Add(time.Hour)})
	}
	wantNothing := func(t *testing.T, b *testBundle, pi *tender.PaymentIntent) {
		t.Helper()
		_, err := findIntent(b, b.a, pi.ID)
		wantCode(t, "intent of a rolled back write", err, tender.ENOTFOUND)
		_, err = read(b, func(tx store.Tx) (*tender.IdempotencyRecord, error) {
			return tx.FindIdempotencyRecord(b.ctx, b.a.AccountID, b.a.Mode, pi.ID)
		})
		wantCode(t, "idempotency record of a rolled back write", err, tender.ENOTFOUND)
		wantDiff(t, "jobs after a rolled back write", map[string]int{"available": 0, "running": 0, "discarded": 0}, countJobs(t, b))
	}
	t.Run("Commit", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, nil)
		mustWrite(t, b, func(tx store.Tx) error { return effects(b, tx, pi) })
		if _, err := findIntent(b, b.a, pi.ID); err != nil {
			t.Errorf("intent of a committed write: %v", err)
		}
		wantDiff(t, "jobs after a committed write", map[string]int{"available": 1, "running": 0, "discarded": 0}, countJobs(t, b))
	})
	t.Run("ErrorRollsBack", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, nil)
		errBoom := errors.New("boom")
		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			if err := effects(b, tx, pi); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Errorf("Write = %v, want fn's error", err)
		}
		wantNothing(t, b, pi)
	})
	t.Run("ErrorCodeKept", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			return tender.Errorf(tender.EPROCESSOR, "nope")
		})
		wantCode(t, "Write(fn returns a tender error)", err, tender.EPROCESSOR)
	})
	t.Run("PanicRollsBack", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, nil)
		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			if err := effects(b, tx, pi); err != nil {
				return err
			}
			panic("kaboom")
		})
		if err == nil {
			t.Fatal("Write of a panicking fn returned nil")
		}
		wantNothing(t, b, pi)
		// The store still works.
		pi2 := b.intent(b.a, nil)
		mustWrite(t, b, func(tx store.Tx) error { return effects(b, tx, pi2) })
		if _, err := findIntent(b, b.a, pi2.ID); err != nil {
			t.Errorf("intent written after a panic: %v", err)
		}
	})
	t.Run("ReadSeesCommittedWrites", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for i := 0; i < 3; i++ {
			pi := b.intent(b.a, nil)
			mustWrite(t, b, func(tx store.Tx) error { return tx.CreatePaymentIntent(b.ctx, pi) })
			if _, err := findIntent(b, b.a, pi.ID); err != nil {
				t.Errorf("Read after Write: %v", err)
			}
		}
	})
}

// Claim.

func testClaim(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("ExclusiveUntilReleased", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		release, err := b.store.Claim(b.ctx, "intent:1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.store.Claim(b.ctx, "intent:1", time.Minute)
		wantCode(t, "second Claim of a held name", err, tender.ECONFLICT)
		other, err := b.store.Claim(b.ctx, "intent:2", time.Minute)
		if err != nil {
			t.Fatalf("Claim of another name: %v", err)
		}
		defer other()
		release()
		again, err := b.store.Claim(b.ctx, "intent:1", time.Minute)
		if err != nil {
			t.Fatalf("Claim after release: %v", err)
		}
		again()
	})
	t.Run("HeldPastTTL", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// A live holder keeps its claim past the ttl (the ttl only bounds
		// how long a dead process blocks others), until it releases.
		const ttl = 50 * time.Millisecond
		release, err := b.store.Claim(b.ctx, "idem:k", ttl)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * ttl)
		_, err = b.store.Claim(b.ctx, "idem:k", time.Minute)
		wantCode(t, "Claim of a name held past its ttl", err, tender.ECONFLICT)
		release()
		release() // releasing twice is harmless
		again, err := b.store.Claim(b.ctx, "idem:k", time.Minute)
		if err != nil {
			t.Fatalf("Claim after release: %v", err)
		}
		again()
	})
	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const n = 20
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.store.Claim(b.ctx, "hot", time.Minute)
				mu.Lock()
				defer mu.Unlock()
				switch tender.ErrorCode(err) {
				case "":
					won++
				case tender.ECONFLICT:
					lost++
				default:
					t.Errorf("Claim: %v", err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || lost != n-1 {
			t.Errorf("%d concurrent claims: %d won, %d lost; want 1 and %d", n, won, lost, n-1)
		}
	})
}

// Concurrency.

func testConcurrency(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("ReadModifyWrite", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		pi := b.intent(b.a, func(pi *tender.PaymentIntent) { pi.Amount = 1000 })
		createIntents(t, b, pi)
		const n = 50
		var wg sync.WaitGroup
		var mu sync.Mutex
		runs := 0 // fn calls, retries included
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- b.store.Write(b.ctx, func(tx store.Tx) error {
					mu.Lock()
					runs++
					mu.Unlock()
					cur, err := tx.FindPaymentIntentByID(b.ctx, b.a, pi.ID)
					if err != nil {
						return err
					}
					cur.Amount++
					return tx.UpdatePaymentIntent(b.ctx, cur)
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Write: %v", err)
			}
		}
		got, err := findIntent(b, b.a, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Amount != 1000+n {
			t.Errorf("after %d concurrent increments amount = %d, want %d", n, got.Amount, 1000+n)
		}
		t.Logf("%d concurrent increments ran fn %d times (%s)", n, runs, b.store.Engine())
	})
	t.Run("ClaimJobs", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const jobs, workers = 200, 8
		var all []*tender.Job
		for i := 0; i < jobs; i++ {
			all = append(all, b.job("k", b.clock.Now(), ""))
		}
		enqueue(t, b, all...)
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]int{}
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					var got []*tender.Job
					err := b.store.Write(b.ctx, func(tx store.Tx) (err error) {
						got, err = tx.ClaimJobs(b.ctx, 7, time.Hour)
						return err
					})
					if err != nil {
						t.Errorf("ClaimJobs: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, j := range got {
						seen[j.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for id, n := range seen {
			if n > 1 {
				t.Errorf("job %s claimed %d times", id, n)
			}
		}
		if len(seen) != jobs {
			t.Errorf("%d distinct jobs claimed, want %d", len(seen), jobs)
		}
		wantDiff(t, "counts after concurrent claims", map[string]int{"available": 0, "running": jobs, "discarded": 0}, countJobs(t, b))
	})
}
