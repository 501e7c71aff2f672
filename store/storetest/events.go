package storetest

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// Fixtures of the event log and webhook delivery.

func (b *testBundle) event(s tender.Scope, typ string) *tender.Event {
	now := b.clock.Now()
	return &tender.Event{ID: tender.NewID(tender.PrefixEvent, now), AccountID: s.AccountID, Mode: s.Mode, Type: typ,
		ObjectType: "payment_intent", ObjectID: tender.NewID(tender.PrefixPaymentIntent, now),
		Object: json.RawMessage(`{"id":"pi_x","amount":1000}`), CreatedAt: now}
}

func (b *testBundle) endpoint(s tender.Scope, edit func(ep *tender.WebhookEndpoint)) *tender.WebhookEndpoint {
	now := b.clock.Now()
	ep := &tender.WebhookEndpoint{ID: tender.NewID(tender.PrefixEndpoint, now), AccountID: s.AccountID, Mode: s.Mode,
		Dialect: "forward", URL: "https://hooks.example.com/tender", Events: []string{"v2.payment.captured", "v2.refund.created"},
		Description: "orders service", Enabled: true, SecretSealed: "v1.sealed", CreatedAt: now, UpdatedAt: now}
	if edit != nil {
		edit(ep)
	}
	return ep
}

func (b *testBundle) delivery(ev *tender.Event, ep *tender.WebhookEndpoint, nextAt time.Time) *tender.Delivery {
	now := b.clock.Now()
	return &tender.Delivery{ID: tender.NewID(tender.PrefixDelivery, now), EventID: ev.ID, EndpointID: ep.ID,
		AccountID: ep.AccountID, Mode: ep.Mode, State: tender.DeliveryPending, NextAt: nextAt, CreatedAt: now, UpdatedAt: now}
}

func (b *testBundle) attempt(d *tender.Delivery, n int) *tender.DeliveryAttempt {
	now := b.clock.Now()
	return &tender.DeliveryAttempt{ID: tender.NewID(tender.PrefixAttempt, now), DeliveryID: d.ID, EndpointID: d.EndpointID,
		EventID: d.EventID, Attempt: n, StatusCode: 503, LatencyMillis: 12, ResponseExcerpt: "busy", Error: "HTTP 503", CreatedAt: now}
}

// createAll creates events, endpoints, deliveries and attempts in one write,
// in the order given.
func createAll(t testing.TB, b *testBundle, objs ...any) {
	t.Helper()
	mustWrite(t, b, func(tx store.Tx) error {
		for _, o := range objs {
			var err error
			switch o := o.(type) {
			case *tender.Event:
				err = tx.CreateEvent(b.ctx, o)
			case *tender.WebhookEndpoint:
				err = tx.CreateWebhookEndpoint(b.ctx, o)
			case *tender.Delivery:
				err = tx.CreateDelivery(b.ctx, o)
			case *tender.DeliveryAttempt:
				err = tx.CreateDeliveryAttempt(b.ctx, o)
			default:
				err = fmt.Errorf("createAll: unexpected %T", o)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func claimEvents(t testing.TB, b *testBundle, limit int) []*tender.Event {
	t.Helper()
	var evs []*tender.Event
	mustWrite(t, b, func(tx store.Tx) (err error) {
		evs, err = tx.ClaimUndispatchedEvents(b.ctx, limit)
		return err
	})
	return evs
}

func claimDeliveries(t testing.TB, b *testBundle, limit int, lease time.Duration) []*tender.Delivery {
	t.Helper()
	var ds []*tender.Delivery
	mustWrite(t, b, func(tx store.Tx) (err error) {
		ds, err = tx.ClaimDueDeliveries(b.ctx, limit, lease)
		return err
	})
	return ds
}

func updateDelivery(t testing.TB, b *testBundle, d *tender.Delivery) {
	t.Helper()
	mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateDelivery(b.ctx, d) })
}

// testEvents covers the event log, webhook endpoints, deliveries and
// delivery attempts.
func testEvents(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("EventRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ev := b.event(b.a, tender.EventPaymentCaptured)
		wantAllSet(t, "Event", ev)
		createAll(t, b, ev)
		got := mustFind(t, b, func(tx store.Tx) (*tender.Event, error) { return tx.FindEventByID(b.ctx, b.a, ev.ID) })
		wantDiff(t, "FindEventByID", ev, got)
		wantUTC(t, "Event", got)
		for _, s := range []tender.Scope{b.aLive, b.b} {
			_, err := read(b, func(tx store.Tx) (*tender.Event, error) { return tx.FindEventByID(b.ctx, s, ev.ID) })
			wantCode(t, "FindEventByID in another scope", err, tender.ENOTFOUND)
		}
		_, err := read(b, func(tx store.Tx) (*tender.Event, error) { return tx.FindEventByID(b.ctx, b.a, "evt_missing") })
		wantCode(t, "FindEventByID of an unknown id", err, tender.ENOTFOUND)
		b.clock.Advance(time.Second)
		dup := b.event(b.a, tender.EventPaymentCreated)
		dup.ID = ev.ID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.CreateEvent(b.ctx, dup) })
		wantCode(t, "CreateEvent with a taken id", err, tender.ECONFLICT)
	})
	t.Run("ListEvents", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var mine []*tender.Event
		for i := 0; i < 5; i++ {
			typ := tender.EventPaymentCreated
			if i%2 == 1 {
				typ = tender.EventRefundCreated
			}
			ev := b.event(b.a, typ)
			mine = append(mine, ev)
			createAll(t, b, ev, b.event(b.aLive, typ), b.event(b.b, typ))
			b.clock.Advance(time.Millisecond)
		}
		list := func(p tender.Page, types []string) ([]string, bool) {
			t.Helper()
			var got []*tender.Event
			var more bool
			mustRead(t, b, func(tx store.Tx) (err error) {
				got, more, err = tx.ListEvents(b.ctx, b.a, p, types)
				return err
			})
			return ids(got), more
		}
		pick := func(is ...int) []string {
			var out []string
			for _, i := range is {
				out = append(out, mine[i].ID)
			}
			return out
		}
		type page struct {
			IDs  []string
			More bool
		}
		for _, tc := range []struct {
			name  string
			p     tender.Page
			types []string
			want  page
		}{
			{"all, newest first", tender.Page{Limit: 10}, nil, page{pick(4, 3, 2, 1, 0), false}},
			{"limit", tender.Page{Limit: 2}, nil, page{pick(4, 3), true}},
			{"starting_after", tender.Page{Limit: 2, StartingAfter: mine[3].ID}, nil, page{pick(2, 1), true}},
			{"ending_before", tender.Page{Limit: 2, EndingBefore: mine[1].ID}, nil, page{pick(3, 2), true}},
			{"one type", tender.Page{Limit: 10}, []string{tender.EventRefundCreated}, page{pick(3, 1), false}},
			{"two types", tender.Page{Limit: 10}, []string{tender.EventRefundCreated, tender.EventPaymentCreated}, page{pick(4, 3, 2, 1, 0), false}},
			{"a type with no events", tender.Page{Limit: 10}, []string{tender.EventPaymentFailed}, page{nil, false}},
		} {
			got, more := list(tc.p, tc.types)
			wantDiff(t, tc.name, tc.want, page{got, more})
		}
	})
	t.Run("ClaimUndispatchedEvents", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var all []*tender.Event
		for _, s := range []tender.Scope{b.a, b.aLive, b.b, b.a, b.b} {
			ev := b.event(s, tender.EventPaymentCreated)
			all = append(all, ev)
			createAll(t, b, ev)
		}
		wantDiff(t, "first claim, oldest first", all[:3], claimEvents(t, b, 3))
		wantDiff(t, "second claim", all[3:], claimEvents(t, b, 3))
		if got := claimEvents(t, b, 3); len(got) != 0 {
			t.Errorf("third claim got %v, want nothing", ids(got))
		}
		// A claim rolled back with its transaction leaves the events undispatched.
		late := b.event(b.a, tender.EventPaymentFailed)
		createAll(t, b, late)
		errRollback := fmt.Errorf("roll back")
		err := b.store.Write(b.ctx, func(tx store.Tx) error {
			if _, err := tx.ClaimUndispatchedEvents(b.ctx, 10); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatalf("Write: %v, want the function's error", err)
		}
		wantDiff(t, "claim after a rolled-back claim", []*tender.Event{late}, claimEvents(t, b, 10))
		// Claimed events are still found and listed.
		got := mustFind(t, b, func(tx store.Tx) (*tender.Event, error) { return tx.FindEventByID(b.ctx, b.a, all[0].ID) })
		wantDiff(t, "a dispatched event", all[0], got)
	})
	t.Run("EndpointRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.endpoint(b.a, func(ep *tender.WebhookEndpoint) {
			ep.DisabledReason = "was gone"
			ep.FailingSince = ptr(b.clock.Now().Add(-time.Hour))
		})
		wantAllSet(t, "WebhookEndpoint", ep, "Deleted")
		createAll(t, b, ep)
		find := func(s tender.Scope, id string) (*tender.WebhookEndpoint, error) {
			return read(b, func(tx store.Tx) (*tender.WebhookEndpoint, error) { return tx.FindWebhookEndpointByID(b.ctx, s, id) })
		}
		got, err := find(b.a, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindWebhookEndpointByID", ep, got)
		wantUTC(t, "WebhookEndpoint", got)
		for _, s := range []tender.Scope{b.aLive, b.b} {
			_, err := find(s, ep.ID)
			wantCode(t, "FindWebhookEndpointByID in another scope", err, tender.ENOTFOUND)
		}

		b.clock.Advance(time.Minute)
		upd := &tender.WebhookEndpoint{ID: ep.ID, AccountID: ep.AccountID, Mode: ep.Mode, Dialect: "forhopp",
			URL: "https://other.example.com/h", Events: []string{"*"}, Description: "billing", Enabled: false, Deleted: true,
			SecretSealed: "v1.other", DisabledReason: "410 Gone", FailingSince: nil,
			CreatedAt: ep.CreatedAt.Add(time.Second), UpdatedAt: b.clock.Now()}
		wantAllChanged(t, "WebhookEndpoint", ep, upd, "ID", "AccountID", "Mode")
		upd.Deleted = false
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateWebhookEndpoint(b.ctx, upd) })
		got, err = find(b.a, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "after update", upd, got)

		foreign := *upd
		foreign.AccountID = b.b.AccountID
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateWebhookEndpoint(b.ctx, &foreign) })
		wantCode(t, "UpdateWebhookEndpoint in another scope", err, tender.ENOTFOUND)
		got, _ = find(b.a, ep.ID)
		wantDiff(t, "after a refused update", upd, got)

		upd.Deleted = true
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateWebhookEndpoint(b.ctx, upd) })
		_, err = find(b.a, ep.ID)
		wantCode(t, "FindWebhookEndpointByID of a deleted endpoint", err, tender.ENOTFOUND)
	})
	t.Run("ListEndpoints", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		on1 := b.endpoint(b.a, nil)
		off := b.endpoint(b.a, func(ep *tender.WebhookEndpoint) { ep.Enabled = false })
		gone := b.endpoint(b.a, nil)
		on2 := b.endpoint(b.a, func(ep *tender.WebhookEndpoint) { ep.Dialect = "forhopp" })
		createAll(t, b, on1, off, gone, on2, b.endpoint(b.aLive, nil), b.endpoint(b.b, nil))
		gone.Deleted = true
		mustWrite(t, b, func(tx store.Tx) error { return tx.UpdateWebhookEndpoint(b.ctx, gone) })

		var page []*tender.WebhookEndpoint
		var more bool
		mustRead(t, b, func(tx store.Tx) (err error) {
			page, more, err = tx.ListWebhookEndpoints(b.ctx, b.a, tender.Page{Limit: 10})
			return err
		})
		wantDiff(t, "ListWebhookEndpoints, newest first without the deleted one", []string{on2.ID, off.ID, on1.ID}, ids(page))
		if more {
			t.Error("ListWebhookEndpoints: more = true, want false")
		}
		mustRead(t, b, func(tx store.Tx) (err error) {
			page, more, err = tx.ListWebhookEndpoints(b.ctx, b.a, tender.Page{Limit: 1, StartingAfter: on2.ID})
			return err
		})
		wantDiff(t, "ListWebhookEndpoints page 2", []string{off.ID}, ids(page))
		if !more {
			t.Error("ListWebhookEndpoints page 2: more = false, want true")
		}
		active := mustFind(t, b, func(tx store.Tx) ([]*tender.WebhookEndpoint, error) {
			return tx.ListActiveWebhookEndpoints(b.ctx, b.a.AccountID, b.a.Mode)
		})
		wantDiff(t, "ListActiveWebhookEndpoints", []*tender.WebhookEndpoint{on1, on2}, active)
		none := mustFind(t, b, func(tx store.Tx) ([]*tender.WebhookEndpoint, error) {
			return tx.ListActiveWebhookEndpoints(b.ctx, "acct_none", tender.ModeTest)
		})
		if len(none) != 0 {
			t.Errorf("ListActiveWebhookEndpoints of an account with none: %v", ids(none))
		}
	})
	t.Run("DeliveryRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ev := b.event(b.a, tender.EventPaymentCaptured)
		ep := b.endpoint(b.a, nil)
		d := b.delivery(ev, ep, b.clock.Now())
		createAll(t, b, ev, ep, d)
		find := func(s tender.Scope, id string) (*tender.Delivery, error) {
			return read(b, func(tx store.Tx) (*tender.Delivery, error) { return tx.FindDeliveryByID(b.ctx, s, id) })
		}
		got, err := find(b.a, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantDiff(t, "FindDeliveryByID", d, got)
		for _, s := range []tender.Scope{b.aLive, b.b} {
			_, err := find(s, d.ID)
			wantCode(t, "FindDeliveryByID in another scope", err, tender.ENOTFOUND)
		}

		// A second delivery of the same event to the same endpoint is a no-op.
		b.clock.Advance(time.Second)
		again := b.delivery(ev, ep, b.clock.Now())
		createAll(t, b, again)
		_, err = find(b.a, again.ID)
		wantCode(t, "FindDeliveryByID of a duplicate", err, tender.ENOTFOUND)
		byEvent := mustFind(t, b, func(tx store.Tx) ([]*tender.Delivery, error) { return tx.ListDeliveriesByEvent(b.ctx, b.a, ev.ID) })
		wantDiff(t, "ListDeliveriesByEvent after a duplicate", []*tender.Delivery{d}, byEvent)

		b.clock.Advance(time.Minute)
		upd := &tender.Delivery{ID: d.ID, EventID: d.EventID, EndpointID: d.EndpointID, AccountID: d.AccountID, Mode: d.Mode,
			State: tender.DeliverySucceeded, Attempts: 3, NextAt: b.clock.Now().Add(time.Hour), LastStatus: 200,
			LastError: "earlier: timeout", SucceededAt: ptr(b.clock.Now()), CreatedAt: d.CreatedAt, UpdatedAt: b.clock.Now()}
		wantAllSet(t, "Delivery", upd)
		updateDelivery(t, b, upd)
		got, _ = find(b.a, d.ID)
		wantDiff(t, "after update", upd, got)
		wantUTC(t, "Delivery", got)

		foreign := *upd
		foreign.Mode = tender.ModeLive
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateDelivery(b.ctx, &foreign) })
		wantCode(t, "UpdateDelivery in another scope", err, tender.ENOTFOUND)
		got, _ = find(b.a, d.ID)
		wantDiff(t, "after a refused update", upd, got)
	})
	t.Run("DeliveryBatches", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep, epLive := b.endpoint(b.a, nil), b.endpoint(b.aLive, nil)
		var evs []*tender.Event
		objs := []any{ep, epLive}
		for i := 0; i < 5; i++ {
			ev := b.event(b.a, tender.EventPaymentCreated)
			evs, objs = append(evs, ev), append(objs, ev)
		}
		evLive := b.event(b.aLive, tender.EventPaymentCreated)
		createAll(t, b, append(objs, evLive)...)

		// FindEventsByIDs: any scope, unknown ids left out.
		got := mustFind(t, b, func(tx store.Tx) ([]*tender.Event, error) {
			return tx.FindEventsByIDs(b.ctx, []string{evLive.ID, evs[2].ID, "evt_none", evs[0].ID})
		})
		sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
		wantDiff(t, "FindEventsByIDs", []*tender.Event{evs[0], evs[2], evLive}, got)

		// CreateDeliveries: several at once, a duplicate of an event and
		// endpoint (in the batch or already stored) skipped.
		now := b.clock.Now()
		first := b.delivery(evs[0], ep, now)
		createAll(t, b, first)
		var ds []*tender.Delivery
		for _, ev := range evs[1:] {
			ds = append(ds, b.delivery(ev, ep, now))
		}
		live := b.delivery(evLive, epLive, now)
		dupStored, dupBatch := b.delivery(evs[0], ep, now), b.delivery(evs[1], ep, now)
		batch := append(append([]*tender.Delivery{}, ds...), live, dupStored, dupBatch)
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateDeliveries(b.ctx, batch) })
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateDeliveries(b.ctx, nil) })
		all := append([]*tender.Delivery{first}, ds...)
		byEP := mustFind(t, b, func(tx store.Tx) ([]*tender.Delivery, error) {
			ds, _, err := tx.ListDeliveriesByEndpoint(b.ctx, b.a, ep.ID, tender.Page{Limit: 100})
			return ds, err
		})
		sort.Slice(byEP, func(i, j int) bool { return byEP[i].EventID < byEP[j].EventID })
		wantDiff(t, "CreateDeliveries", all, byEP)

		// UpdateDeliveries: each row its own values, the later of two with
		// one id winning, and the lease released.
		claimed := claimDeliveries(t, b, 10, time.Hour)
		if len(claimed) != 6 {
			t.Fatalf("claimed %d deliveries, want 6", len(claimed))
		}
		b.clock.Advance(time.Second)
		now = b.clock.Now()
		upd := make([]*tender.Delivery, len(all))
		for i, d := range all {
			u := *d
			u.Attempts, u.LastStatus, u.UpdatedAt = i+1, 500+i, now
			if i%2 == 0 {
				u.State, u.SucceededAt, u.LastStatus = tender.DeliverySucceeded, ptr(now), 200
			} else {
				u.NextAt = now
			}
			upd[i] = &u
		}
		stale := *upd[1]
		stale.State = tender.DeliveryFailed
		liveUpd := *live
		liveUpd.State, liveUpd.UpdatedAt = tender.DeliveryCancelled, now
		mustWrite(t, b, func(tx store.Tx) error {
			return tx.UpdateDeliveries(b.ctx, append([]*tender.Delivery{&stale, &liveUpd}, upd...))
		})
		for i, u := range upd {
			got, err := read(b, func(tx store.Tx) (*tender.Delivery, error) { return tx.FindDeliveryByID(b.ctx, b.a, u.ID) })
			if err != nil {
				t.Fatal(err)
			}
			wantDiff(t, fmt.Sprintf("UpdateDeliveries, delivery %d", i), u, got)
		}
		got2, _ := read(b, func(tx store.Tx) (*tender.Delivery, error) { return tx.FindDeliveryByID(b.ctx, b.aLive, live.ID) })
		wantDiff(t, "UpdateDeliveries, the live delivery", &liveUpd, got2)
		reclaimed := claimDeliveries(t, b, 10, time.Hour)
		sort.Slice(reclaimed, func(i, j int) bool { return reclaimed[i].EventID < reclaimed[j].EventID })
		wantDiff(t, "claim after UpdateDeliveries: the pending ones, leases released", []*tender.Delivery{upd[1], upd[3]}, reclaimed)

		// A delivery out of its scope, or missing, fails the whole batch.
		foreign := *upd[3]
		foreign.Mode, foreign.State = tender.ModeLive, tender.DeliveryFailed
		other := *upd[1]
		other.State = tender.DeliveryFailed
		err := b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateDeliveries(b.ctx, []*tender.Delivery{&other, &foreign}) })
		wantCode(t, "UpdateDeliveries with one in another scope", err, tender.ENOTFOUND)
		missing := *upd[1]
		missing.ID = "dl_none"
		err = b.store.Write(b.ctx, func(tx store.Tx) error { return tx.UpdateDeliveries(b.ctx, []*tender.Delivery{&other, &missing}) })
		wantCode(t, "UpdateDeliveries with a missing one", err, tender.ENOTFOUND)
		got3, _ := read(b, func(tx store.Tx) (*tender.Delivery, error) { return tx.FindDeliveryByID(b.ctx, b.a, upd[1].ID) })
		if got3.State != tender.DeliveryPending {
			t.Errorf("after refused batches, delivery state = %s, want pending", got3.State)
		}

		// CreateDeliveryAttempts.
		a1, a2 := b.attempt(upd[0], 1), b.attempt(upd[0], 2)
		a3 := b.attempt(upd[1], 1)
		a2.StatusCode, a2.Error, a2.ResponseExcerpt = 200, "", "ok"
		mustWrite(t, b, func(tx store.Tx) error {
			return tx.CreateDeliveryAttempts(b.ctx, []*tender.DeliveryAttempt{a1, a2, a3})
		})
		mustWrite(t, b, func(tx store.Tx) error { return tx.CreateDeliveryAttempts(b.ctx, nil) })
		attempts := mustFind(t, b, func(tx store.Tx) ([]*tender.DeliveryAttempt, error) {
			as, _, err := tx.ListDeliveryAttempts(b.ctx, ep.ID, upd[0].ID, tender.Page{Limit: 10})
			return as, err
		})
		wantDiff(t, "CreateDeliveryAttempts, newest first", []*tender.DeliveryAttempt{a2, a1}, attempts)
	})
	t.Run("ClaimDueDeliveries", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		now := b.clock.Now()
		ep := b.endpoint(b.a, nil)
		epB := b.endpoint(b.b, nil)
		var evs []*tender.Event
		for i := 0; i < 6; i++ {
			evs = append(evs, b.event(b.a, tender.EventPaymentCreated))
		}
		later := b.delivery(evs[0], ep, now.Add(-time.Second))
		earlier := b.delivery(evs[1], ep, now.Add(-time.Minute))
		due := b.delivery(evs[2], ep, now)
		future := b.delivery(evs[3], ep, now.Add(time.Minute))
		done := b.delivery(evs[4], ep, now.Add(-time.Hour))
		done.State = tender.DeliverySucceeded
		other := b.delivery(evs[5], epB, now.Add(-30*time.Second))
		objs := []any{ep, epB}
		for _, ev := range evs {
			objs = append(objs, ev)
		}
		createAll(t, b, append(objs, later, earlier, due, future, done, other)...)

		wantDiff(t, "claim, by next_at, every account", []*tender.Delivery{earlier, other, later, due}, claimDeliveries(t, b, 10, time.Minute))
		if got := claimDeliveries(t, b, 10, time.Minute); len(got) != 0 {
			t.Errorf("claim within the leases got %v, want nothing", ids(got))
		}
		// UpdateDelivery releases the lease.
		later.Attempts, later.LastStatus, later.UpdatedAt = 1, 503, b.clock.Now()
		updateDelivery(t, b, later)
		wantDiff(t, "claim after UpdateDelivery", []*tender.Delivery{later}, claimDeliveries(t, b, 10, time.Minute))

		// Failed and cancelled deliveries are never claimed.
		earlier.State, due.State = tender.DeliveryFailed, tender.DeliveryCancelled
		updateDelivery(t, b, earlier)
		updateDelivery(t, b, due)

		b.clock.Advance(time.Minute - time.Microsecond)
		if got := claimDeliveries(t, b, 10, time.Minute); len(got) != 0 {
			t.Errorf("claim a microsecond before the leases lapse got %v, want nothing", ids(got))
		}
		b.clock.Advance(time.Microsecond)
		wantDiff(t, "claim once the leases lapsed and the future one is due", []*tender.Delivery{other, later, future},
			claimDeliveries(t, b, 10, time.Minute))

		// Limit.
		b.clock.Advance(time.Minute)
		if got := claimDeliveries(t, b, 2, time.Minute); len(got) != 2 {
			t.Errorf("claim with limit 2 got %d deliveries", len(got))
		}
		if got := claimDeliveries(t, b, 2, time.Minute); len(got) != 1 {
			t.Errorf("second claim with limit 2 got %d deliveries, want the last one", len(got))
		}
	})
	t.Run("ListDeliveries", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep1, ep2 := b.endpoint(b.a, nil), b.endpoint(b.a, nil)
		epLive := b.endpoint(b.aLive, nil)
		createAll(t, b, ep1, ep2, epLive)
		start := b.clock.Now()
		var ds1 []*tender.Delivery
		var evs []*tender.Event
		for i := 0; i < 4; i++ {
			ev := b.event(b.a, tender.EventPaymentCreated)
			d1, d2 := b.delivery(ev, ep1, b.clock.Now()), b.delivery(ev, ep2, b.clock.Now())
			evLive := b.event(b.aLive, tender.EventPaymentCreated)
			createAll(t, b, ev, d1, d2, evLive, b.delivery(evLive, epLive, b.clock.Now()))
			evs, ds1 = append(evs, ev), append(ds1, d1)
			b.clock.Advance(time.Second)
		}
		var page []*tender.Delivery
		var more bool
		mustRead(t, b, func(tx store.Tx) (err error) {
			page, more, err = tx.ListDeliveriesByEndpoint(b.ctx, b.a, ep1.ID, tender.Page{Limit: 3})
			return err
		})
		wantDiff(t, "ListDeliveriesByEndpoint, newest first", []*tender.Delivery{ds1[3], ds1[2], ds1[1]}, page)
		if !more {
			t.Error("ListDeliveriesByEndpoint: more = false, want true")
		}
		mustRead(t, b, func(tx store.Tx) (err error) {
			page, more, err = tx.ListDeliveriesByEndpoint(b.ctx, b.a, ep1.ID, tender.Page{Limit: 3, StartingAfter: ds1[1].ID})
			return err
		})
		wantDiff(t, "ListDeliveriesByEndpoint page 2", []*tender.Delivery{ds1[0]}, page)
		mustRead(t, b, func(tx store.Tx) (err error) {
			page, _, err = tx.ListDeliveriesByEndpoint(b.ctx, b.aLive, ep1.ID, tender.Page{Limit: 10})
			return err
		})
		if len(page) != 0 {
			t.Errorf("ListDeliveriesByEndpoint in another mode: %v", ids(page))
		}
		byEvent := mustFind(t, b, func(tx store.Tx) ([]*tender.Delivery, error) { return tx.ListDeliveriesByEvent(b.ctx, b.a, evs[2].ID) })
		if len(byEvent) != 2 || byEvent[0].EndpointID == byEvent[1].EndpointID {
			t.Errorf("ListDeliveriesByEvent: %v, want one delivery to each endpoint", ids(byEvent))
		}
		if got := mustFind(t, b, func(tx store.Tx) ([]*tender.Delivery, error) {
			return tx.ListDeliveriesByEvent(b.ctx, b.b, evs[2].ID)
		}); len(got) != 0 {
			t.Errorf("ListDeliveriesByEvent in another account: %v", ids(got))
		}

		// Failed deliveries since a time, oldest first.
		for _, d := range ds1 {
			d.State = tender.DeliveryFailed
			updateDelivery(t, b, d)
		}
		failed := func(s tender.Scope, since time.Time, limit int) []string {
			t.Helper()
			return ids(mustFind(t, b, func(tx store.Tx) ([]*tender.Delivery, error) {
				return tx.ListFailedDeliveries(b.ctx, s, since, limit)
			}))
		}
		wantDiff(t, "ListFailedDeliveries, all", ids(ds1), failed(b.a, start, 10))
		wantDiff(t, "ListFailedDeliveries, limit", ids(ds1[:2]), failed(b.a, start, 2))
		wantDiff(t, "ListFailedDeliveries, since is inclusive", ids(ds1[2:]), failed(b.a, ds1[2].CreatedAt, 10))
		wantDiff(t, "ListFailedDeliveries, other mode", []string(nil), failed(b.aLive, start, 10))
	})
	t.Run("DeliveryAttempts", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ep := b.endpoint(b.a, nil)
		ev1, ev2 := b.event(b.a, tender.EventPaymentCreated), b.event(b.a, tender.EventPaymentCreated)
		d1, d2 := b.delivery(ev1, ep, b.clock.Now()), b.delivery(ev2, ep, b.clock.Now())
		createAll(t, b, ep, ev1, ev2, d1, d2)
		var all []*tender.DeliveryAttempt
		for i := 1; i <= 3; i++ {
			a1, a2 := b.attempt(d1, i), b.attempt(d2, i)
			if i == 3 {
				a1.StatusCode, a1.Error, a1.ResponseExcerpt = 0, "dial tcp: connection refused", ""
			}
			createAll(t, b, a1, a2)
			all = append(all, a1, a2)
			b.clock.Advance(time.Second)
		}
		wantAllSet(t, "DeliveryAttempt", all[1])
		list := func(deliveryID string, p tender.Page) ([]*tender.DeliveryAttempt, bool) {
			t.Helper()
			var got []*tender.DeliveryAttempt
			var more bool
			mustRead(t, b, func(tx store.Tx) (err error) {
				got, more, err = tx.ListDeliveryAttempts(b.ctx, ep.ID, deliveryID, p)
				return err
			})
			return got, more
		}
		got, more := list(d1.ID, tender.Page{Limit: 10})
		wantDiff(t, "attempts of one delivery, newest first", []*tender.DeliveryAttempt{all[4], all[2], all[0]}, got)
		if more {
			t.Error("more = true, want false")
		}
		for _, a := range got {
			wantUTC(t, "DeliveryAttempt", a)
		}
		got, more = list("", tender.Page{Limit: 4})
		wantDiff(t, "attempts of the endpoint, newest first", []*tender.DeliveryAttempt{all[5], all[4], all[3], all[2]}, got)
		if !more {
			t.Error("more = false, want true")
		}
		got, _ = list("", tender.Page{Limit: 4, StartingAfter: all[2].ID})
		wantDiff(t, "attempts of the endpoint, page 2", []*tender.DeliveryAttempt{all[1], all[0]}, got)
	})
	t.Run("ConcurrentClaims", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const n, workers = 200, 8
		ep := b.endpoint(b.a, nil)
		objs := []any{ep}
		for i := 0; i < n; i++ {
			ev := b.event(b.a, tender.EventPaymentCreated)
			objs = append(objs, ev, b.delivery(ev, ep, b.clock.Now()))
		}
		createAll(t, b, objs...)

		// Each worker claims events and deliveries in small batches until
		// none is left; every row must be handed out exactly once.
		var mu sync.Mutex
		seenEvents, seenDeliveries := map[string]int{}, map[string]int{}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for evDone, dDone := false, false; !evDone || !dDone; {
					var evs []*tender.Event
					var ds []*tender.Delivery
					err := b.store.Write(b.ctx, func(tx store.Tx) (err error) {
						evs, ds = nil, nil
						if !evDone {
							if evs, err = tx.ClaimUndispatchedEvents(b.ctx, 7); err != nil {
								return err
							}
						}
						if !dDone {
							ds, err = tx.ClaimDueDeliveries(b.ctx, 5, time.Hour)
						}
						return err
					})
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					evDone, dDone = evDone || len(evs) == 0, dDone || len(ds) == 0
					mu.Lock()
					for _, ev := range evs {
						seenEvents[ev.ID]++
					}
					for _, d := range ds {
						seenDeliveries[d.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for what, seen := range map[string]map[string]int{"events": seenEvents, "deliveries": seenDeliveries} {
			if len(seen) != n {
				t.Errorf("%s claimed: %d distinct, want %d", what, len(seen), n)
			}
			var twice []string
			for id, c := range seen {
				if c > 1 {
					twice = append(twice, id)
				}
			}
			sort.Strings(twice)
			if len(twice) > 0 {
				t.Errorf("%s claimed more than once: %v", what, twice)
			}
		}
	})
}
