package webhook

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// dispatchLoop fans new events out to endpoints until ctx ends: at once
// while whole batches come back, every few milliseconds while events
// trickle in, and every PollInterval or on Wake when idle. A wake counts
// only if more wakes than the engine's own commits happened since the last
// fan-out began: a store that wakes the engine after every commit would
// otherwise have it chase its own commits. (Where an own commit and
// another command's share one wake, as SQLite's group commit may do, the
// other's events wait for the next wake or poll.)
func (e *Engine) dispatchLoop(ctx context.Context) {
	const busyWait = 3 * time.Millisecond
	for ctx.Err() == nil {
		wakes, own := e.wakes.Load(), e.ownWrites.Load()
		n, err := e.DispatchOnce(ctx)
		wait := e.opts.PollInterval
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			e.log.Error("webhook fan-out failed", "err", err)
			wait = 10 * e.opts.PollInterval
		case n == e.opts.Batch:
			continue
		case n > 0:
			wait = min(busyWait, wait)
		}
		t := time.NewTimer(wait)
	waiting:
		for {
			select {
			case <-ctx.Done():
				break waiting
			case <-t.C:
				break waiting
			case <-e.dispatchWake:
				if e.wakes.Load()-wakes > e.ownWrites.Load()-own {
					break waiting
				}
			}
		}
		t.Stop()
	}
}

type scopeKey struct {
	account string
	mode    tender.Mode
}

// DispatchOnce claims one batch of events not yet fanned out and, in the
// same transaction, makes a pending delivery of each to every endpoint that
// is owed it: active, of the event's account and mode, of a registered
// dialect, subscribed to the dialect's name of the event, and created no
// later than the event. It returns how many events it claimed. Run calls it
// in a loop; tests and tools may call it directly.
//
// Endpoint lists are read once per batch, in the batch's own transaction,
// and not kept longer: a list kept across transactions would miss an
// endpoint created just before an event, which is owed that event.
func (e *Engine) DispatchOnce(ctx context.Context) (int, error) {
	var evs []*tender.Event
	var made int
	err := e.write(ctx, func(tx store.Tx) error {
		evs, made = nil, 0
		var err error
		if evs, err = tx.ClaimUndispatchedEvents(ctx, e.opts.Batch); err != nil || len(evs) == 0 {
			return err
		}
		now := tx.Now()
		endpoints := make(map[scopeKey][]*tender.WebhookEndpoint)
		var ds []*tender.Delivery
		for _, ev := range evs {
			k := scopeKey{ev.AccountID, ev.Mode}
			eps, ok := endpoints[k]
			if !ok {
				if eps, err = tx.ListActiveWebhookEndpoints(ctx, ev.AccountID, ev.Mode); err != nil {
					return err
				}
				endpoints[k] = eps
			}
			for _, ep := range eps {
				if ep.CreatedAt.After(ev.CreatedAt) || !e.wants(ep, ev) {
					continue
				}
				ds = append(ds, newDelivery(ev, ep, now))
			}
		}
		made = len(ds)
		return tx.CreateDeliveries(ctx, ds)
	})
	if err != nil {
		return 0, err
	}
	for _, ev := range evs {
		e.events.add(ev)
	}
	if made > 0 {
		poke(e.claimWake)
	}
	if f := e.opts.Metrics.Dispatched; f != nil && len(evs) > 0 {
		f(len(evs), made)
	}
	return len(evs), nil
}

// wants reports whether ep, which must be active, subscribes to ev in its
// dialect, and that dialect is registered.
func (e *Engine) wants(ep *tender.WebhookEndpoint, ev *tender.Event) bool {
	d := e.dialect(ep.Dialect)
	return d != nil && Matches(ep.Events, EventName(d, ev))
}

func newDelivery(ev *tender.Event, ep *tender.WebhookEndpoint, now time.Time) *tender.Delivery {
	return &tender.Delivery{ID: tender.NewID(tender.PrefixDelivery, now), EventID: ev.ID, EndpointID: ep.ID,
		AccountID: ev.AccountID, Mode: ev.Mode, State: tender.DeliveryPending, NextAt: now, CreatedAt: now, UpdatedAt: now}
}
