package storetest

import (
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

func init() {
	register("CustomProvider", testCustomProviders)
	register("WhiteLabelProvider", testWhiteLabelProviders)
}

// customProvider is a custom provider fixture of account accountID and app.
func (b *testBundle) customProvider(accountID, appID string) *tender.CustomProvider {
	now := b.clock.Now()
	return &tender.CustomProvider{ID: tender.NewID(tender.PrefixCustomProvider, now), AccountID: accountID, AppID: appID,
		Name: "Company Pay", Description: "Cards", PaymentsURL: "https://pay.example.com/p", QueryURL: "https://pay.example.com/q",
		ImageURL: "https://pay.example.com/i.png", SupportsSubscriptionSchedule: true, CreatedAt: now, UpdatedAt: now}
}

func keysAt(sealed string, at time.Time) *tender.ProviderKeys {
	return &tender.ProviderKeys{APIKeySealed: sealed, APIKeyHint: "abcd", PublishableKey: "pk_" + sealed, ConnectedAt: at}
}

func findProvider(b *testBundle, accountID, appID string) (*tender.CustomProvider, error) {
	return read(b, func(tx store.Tx) (*tender.CustomProvider, error) {
		return tx.FindCustomProvider(b.ctx, accountID, appID)
	})
}

func connectedProvider(b *testBundle, accountID string, m tender.Mode) (*tender.CustomProvider, error) {
	return read(b, func(tx store.Tx) (*tender.CustomProvider, error) {
		return tx.FindConnectedCustomProvider(b.ctx, accountID, m)
	})
}

func testCustomProviders(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.customProvider(b.acctA.ID, "app-1")
		p.Live, p.Test = keysAt("v1.live-sealed", at(time.Second)), keysAt("v1.test-sealed", at(2*time.Second))
		wantAllSet(t, "CustomProvider", p, "Deleted")
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateCustomProvider(b.ctx, p) })
		got, err := findProvider(b, b.acctA.ID, "app-1")
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindCustomProvider", p, got)
		wantUTC(t, "CustomProvider", got)
		byID := mustFind(t, b, func(tx store.Tx) (*tender.CustomProvider, error) { return tx.FindCustomProviderByID(b.ctx, p.ID) })
		wantDiff(t, "FindCustomProviderByID", p, byID)

		_, err = findProvider(b, b.acctA.ID, "app-2")
		wantCode(t, "FindCustomProvider(other app)", err, tender.ENOTFOUND)
		_, err = findProvider(b, b.acctB.ID, "app-1")
		wantCode(t, "FindCustomProvider(other account)", err, tender.ENOTFOUND)
		_, err = read(b, func(tx store.Tx) (*tender.CustomProvider, error) {
			return tx.FindCustomProviderByID(b.ctx, tender.NewID(tender.PrefixCustomProvider, epoch))
		})
		wantCode(t, "FindCustomProviderByID(unknown)", err, tender.ENOTFOUND)

		// Update: every field, keys disconnected and reconnected.
		b.clock.Advance(time.Minute)
		upd := *p
		upd.Name, upd.Description, upd.PaymentsURL, upd.QueryURL, upd.ImageURL = "N", "D", "https://x/p", "https://x/q", "https://x/i"
		upd.SupportsSubscriptionSchedule, upd.Live, upd.Test, upd.UpdatedAt = false, nil, keysAt("v1.test-2", at(time.Minute)), at(time.Minute)
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, &upd) })
		got, _ = findProvider(b, b.acctA.ID, "app-1")
		wantDiff(t, "after UpdateCustomProvider", &upd, got)

		foreign := upd
		foreign.AccountID = b.acctB.ID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, &foreign) })
		wantCode(t, "UpdateCustomProvider(other account)", err, tender.ENOTFOUND)
		got, _ = findProvider(b, b.acctA.ID, "app-1")
		wantDiff(t, "after a refused foreign update", &upd, got)
	})
	t.Run("OnePerAppAndAccount", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		p := b.customProvider(b.acctA.ID, "app-1")
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateCustomProvider(b.ctx, p) })
		dup := b.customProvider(b.acctA.ID, "app-1")
		err := b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateCustomProvider(b.ctx, dup) })
		wantCode(t, "CreateCustomProvider(same account and app)", err, tender.ECONFLICT)
		mustWrite(t, b, func(tx store.Tx) error {
			if err := tx.CreateCustomProvider(b.ctx, b.customProvider(b.acctA.ID, "app-2")); err != nil {
				return err
			}
			return tx.CreateCustomProvider(b.ctx, b.customProvider(b.acctB.ID, "app-1"))
		})

		// Deleted, it no longer counts: the app may be associated again,
		// and the deleted row is still found by id.
		p.Deleted = true
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, p) })
		_, err = findProvider(b, b.acctA.ID, "app-1")
		wantCode(t, "FindCustomProvider(deleted)", err, tender.ENOTFOUND)
		byID := mustFind(t, b, func(tx store.Tx) (*tender.CustomProvider, error) { return tx.FindCustomProviderByID(b.ctx, p.ID) })
		if !byID.Deleted {
			t.Errorf("FindCustomProviderByID(deleted) = %+v", byID)
		}
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateCustomProvider(b.ctx, dup) })
		got, _ := findProvider(b, b.acctA.ID, "app-1")
		wantDiff(t, "the new association", dup, got)
		// Undeleting the old one would make two: refused.
		p.Deleted = false
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, p) })
		wantCode(t, "UpdateCustomProvider(undelete onto a taken app)", err, tender.ECONFLICT)
	})
	t.Run("Connected", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := connectedProvider(b, b.acctA.ID, tender.ModeTest)
		wantCode(t, "FindConnectedCustomProvider(none)", err, tender.ENOTFOUND)

		p1 := b.customProvider(b.acctA.ID, "app-1")
		p1.Test = keysAt("t1", at(time.Second))
		p2 := b.customProvider(b.acctA.ID, "app-2")
		p2.Test, p2.Live = keysAt("t2", at(2*time.Second)), keysAt("l2", at(time.Second))
		p3 := b.customProvider(b.acctA.ID, "app-3") // not connected
		other := b.customProvider(b.acctB.ID, "app-1")
		other.Live = keysAt("lb", at(time.Hour))
		mustWrite(t, b, func(tx store.Tx) error {
			for _, p := range []*tender.CustomProvider{p1, p2, p3, other} {
				if err := tx.CreateCustomProvider(b.ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		got, err := connectedProvider(b, b.acctA.ID, tender.ModeTest)
		if err != nil || got.ID != p2.ID || got.Test.APIKeySealed != "t2" {
			t.Errorf("connected test provider: %+v %v, want %s (connected last)", got, err, p2.ID)
		}
		got, err = connectedProvider(b, b.acctA.ID, tender.ModeLive)
		if err != nil || got.ID != p2.ID || got.Live.APIKeySealed != "l2" {
			t.Errorf("connected live provider: %+v %v, want %s", got, err, p2.ID)
		}

		// p1 reconnects later: it takes over the test mode.
		p1.Test = keysAt("t1b", at(3*time.Second))
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, p1) })
		if got, err := connectedProvider(b, b.acctA.ID, tender.ModeTest); err != nil || got.ID != p1.ID {
			t.Errorf("after reconnecting p1: %+v %v", got, err)
		}
		// Disconnected and deleted providers take nothing.
		p2.Live, p2.Deleted = nil, true
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, p2) })
		_, err = connectedProvider(b, b.acctA.ID, tender.ModeLive)
		wantCode(t, "FindConnectedCustomProvider(live, after disconnect)", err, tender.ENOTFOUND)
		p1.Test = nil
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, p1) })
		_, err = connectedProvider(b, b.acctA.ID, tender.ModeTest)
		wantCode(t, "FindConnectedCustomProvider(test, p2 deleted, p1 disconnected)", err, tender.ENOTFOUND)
		if got, err := connectedProvider(b, b.acctB.ID, tender.ModeLive); err != nil || got.ID != other.ID {
			t.Errorf("account B's live provider: %+v %v", got, err)
		}
	})
	t.Run("ListByApp", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		now := b.clock.Now()
		org2 := &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, now), Name: "Org 2", CreatedAt: now}
		acctC := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org2.ID, Name: "C", CreatedAt: now}
		pa, pb := b.customProvider(b.acctA.ID, "app-1"), b.customProvider(b.acctB.ID, "app-1")
		pa2, pc := b.customProvider(b.acctA.ID, "app-2"), b.customProvider(acctC.ID, "app-1")
		mustWrite(t, b, func(tx store.Tx) error {
			if err := tx.CreateOrganization(b.ctx, org2); err != nil {
				return err
			}
			if err := tx.CreateAccount(b.ctx, acctC); err != nil {
				return err
			}
			for _, p := range []*tender.CustomProvider{pa, pb, pa2, pc} {
				if err := tx.CreateCustomProvider(b.ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		list := mustFind(t, b, func(tx store.Tx) ([]*tender.CustomProvider, error) {
			return tx.ListCustomProvidersByApp(b.ctx, b.org.ID, "app-1")
		})
		wantDiff(t, "ListCustomProvidersByApp(org, app-1)", []string{pa.ID, pb.ID}, ids(list))
		pb.Deleted = true
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateCustomProvider(b.ctx, pb) })
		list = mustFind(t, b, func(tx store.Tx) ([]*tender.CustomProvider, error) {
			return tx.ListCustomProvidersByApp(b.ctx, b.org.ID, "app-1")
		})
		wantDiff(t, "ListCustomProvidersByApp after a delete", []string{pa.ID}, ids(list))
		list = mustFind(t, b, func(tx store.Tx) ([]*tender.CustomProvider, error) {
			return tx.ListCustomProvidersByApp(b.ctx, org2.ID, "app-2")
		})
		if len(list) != 0 {
			t.Errorf("ListCustomProvidersByApp(org 2, app-2) = %v, want none", ids(list))
		}
	})
}

func (b *testBundle) whiteLabel(accountID, name string) *tender.WhiteLabelProvider {
	now := b.clock.Now()
	return &tender.WhiteLabelProvider{ID: tender.NewID(tender.PrefixWhiteLabelProvider, now), AccountID: accountID, UniqueName: name,
		Title: "T " + name, Description: "D", Provider: "nmi", ImageURL: "https://x/i.png", CreatedAt: now, UpdatedAt: now}
}

func listWhiteLabels(t testing.TB, b *testBundle, accountID string, limit, offset int) []string {
	t.Helper()
	return ids(mustFind(t, b, func(tx store.Tx) ([]*tender.WhiteLabelProvider, error) {
		return tx.ListWhiteLabelProviders(b.ctx, accountID, limit, offset)
	}))
}

func testWhiteLabelProviders(t *testing.T, setup func(*testing.T) *testBundle) {
	b := setup(t)
	var made []*tender.WhiteLabelProvider
	for _, name := range []string{"alpha", "beta", "gamma"} {
		p := b.whiteLabel(b.acctA.ID, name)
		made = append(made, p)
		b.clock.Advance(time.Millisecond)
	}
	wantAllSet(t, "WhiteLabelProvider", made[0])
	mustWrite(t, b, func(tx store.Tx) error {
		for _, p := range made {
			if err := tx.CreateWhiteLabelProvider(b.ctx, p); err != nil {
				return err
			}
		}
		return tx.CreateWhiteLabelProvider(b.ctx, b.whiteLabel(b.acctB.ID, "alpha")) // another account may reuse a name
	})
	all := mustFind(t, b, func(tx store.Tx) ([]*tender.WhiteLabelProvider, error) {
		return tx.ListWhiteLabelProviders(b.ctx, b.acctA.ID, 10, 0)
	})
	wantDiff(t, "ListWhiteLabelProviders", []*tender.WhiteLabelProvider{made[2], made[1], made[0]}, all)
	for _, p := range all {
		wantUTC(t, "WhiteLabelProvider", p)
	}
	wantDiff(t, "page limit 1 offset 1", []string{made[1].ID}, listWhiteLabels(t, b, b.acctA.ID, 1, 1))
	wantDiff(t, "page beyond the end", []string(nil), listWhiteLabels(t, b, b.acctA.ID, 5, 3))
	if got := listWhiteLabels(t, b, b.acctB.ID, 10, 0); len(got) != 1 {
		t.Errorf("account B's providers: %v", got)
	}

	dup := b.whiteLabel(b.acctA.ID, "beta")
	err := b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateWhiteLabelProvider(b.ctx, dup) })
	wantCode(t, "CreateWhiteLabelProvider(taken name)", err, tender.ECONFLICT)
	if f := tender.ErrorFields(err); f["uniqueName"] == "" {
		t.Errorf("the conflict names no field: %v", err)
	}
	if got := listWhiteLabels(t, b, b.acctA.ID, 10, 0); len(got) != 3 {
		t.Errorf("after a refused duplicate: %v", got)
	}
}
