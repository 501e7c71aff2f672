package catalog

import (
	"encoding/json"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// events returns the event types of scope sc, oldest first, with their
// object ids.
func (f *fixture) events(t *testing.T, sc tender.Scope) []string {
	t.Helper()
	var out []string
	err := f.svc.Store.Read(f.ctx, func(tx store.Tx) error {
		evs, _, err := tx.ListEvents(f.ctx, sc, tender.Page{Limit: 100}, nil)
		for i := len(evs) - 1; i >= 0; i-- {
			out = append(out, evs[i].Type+" "+evs[i].ObjectID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestService_CatalogEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pr, err := f.svc.CreateProduct(f.ctx, f.a, ProductParams{Name: "Tee", ProductType: tender.ProductPhysical})
	if err != nil {
		t.Fatal(err)
	}
	// A refused change records nothing.
	if _, err := f.svc.UpdateProduct(f.ctx, f.a, pr.ID, ProductParams{Name: "", ProductType: tender.ProductPhysical}); err == nil {
		t.Fatal("an empty name was accepted")
	}
	if _, err := f.svc.CreatePrice(f.ctx, f.a, pr.ID, PriceParams{Name: "x", Type: "weekly", Currency: "USD"}); err == nil {
		t.Fatal("a bad price type was accepted")
	}
	if _, err := f.svc.UpdateProduct(f.ctx, f.a, pr.ID, ProductParams{Name: "Tee 2", ProductType: tender.ProductPhysical}); err != nil {
		t.Fatal(err)
	}
	p1, err := f.svc.CreatePrice(f.ctx, f.a, pr.ID, PriceParams{Name: "One", Type: tender.PriceOneTime, Currency: "USD", Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdatePrice(f.ctx, f.a, pr.ID, p1.ID, PriceParams{Name: "One", Type: tender.PriceOneTime, Currency: "USD", Amount: 150}); err != nil {
		t.Fatal(err)
	}
	p2, err := f.svc.CreatePrice(f.ctx, f.a, pr.ID, PriceParams{Name: "Two", Type: tender.PriceOneTime, Currency: "USD", Amount: 200})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeletePrice(f.ctx, f.a, pr.ID, p1.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteProduct(f.ctx, f.a, pr.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{
		tender.EventProductCreated + " " + pr.ID,
		tender.EventProductUpdated + " " + pr.ID,
		tender.EventPriceCreated + " " + p1.ID,
		tender.EventPriceUpdated + " " + p1.ID,
		tender.EventPriceCreated + " " + p2.ID,
		tender.EventPriceDeleted + " " + p1.ID,
		tender.EventPriceDeleted + " " + p2.ID,
		tender.EventProductDeleted + " " + pr.ID,
	}
	for _, m := range []tender.Mode{tender.ModeLive, tender.ModeTest} {
		sc := tender.Scope{AccountID: f.a.AccountID, Mode: m}
		got := f.events(t, sc)
		if len(got) != len(want) {
			t.Fatalf("%s events:\n%v\nwant\n%v", m, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s event %d: %s, want %s", m, i, got[i], want[i])
			}
		}
	}
	if got := f.events(t, f.b); len(got) != 0 {
		t.Errorf("another account's events: %v", got)
	}

	// The snapshot is the object as the change left it.
	err = f.svc.Store.Read(f.ctx, func(tx store.Tx) error {
		evs, _, err := tx.ListEvents(f.ctx, f.a, tender.Page{Limit: 1}, []string{tender.EventProductDeleted})
		if err != nil || len(evs) != 1 {
			t.Fatalf("product.deleted: %v %v", evs, err)
		}
		var p tender.Product
		if err := json.Unmarshal(evs[0].Object, &p); err != nil {
			return err
		}
		if p.ID != pr.ID || p.Name != "Tee 2" || p.DeletedAt == nil || evs[0].ObjectType != "product" {
			t.Errorf("product.deleted snapshot: %+v", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
