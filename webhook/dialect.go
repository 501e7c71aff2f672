// Package webhook delivers tender's events to webhook endpoints: at least
// once, from the event log, signed in each endpoint's dialect.
//
// # Fan-out
//
// Every command records its events in its own transaction (package event).
// The Engine's dispatcher claims events not yet fanned out
// (Tx.ClaimUndispatchedEvents) and, in the same transaction, makes one
// pending Delivery per endpoint owed each event: enabled and not deleted,
// of the event's account and mode, of a registered Dialect, subscribed to
// the dialect's name of the event (Matches), and created no later than the
// event. An event is fanned out exactly once; a crash before the commit
// leaves it to be claimed again. Endpoint lists are read in the fan-out
// transaction itself, once per batch: a list cached across transactions
// would miss an endpoint created just before an event. The dispatcher runs
// at once when woken (Engine.Wake, which a store's commit hook may call
// after every commit: wakes caused by the engine's own commits are told
// apart and skipped), every few milliseconds while events keep coming, and
// every Options.PollInterval when idle.
//
// # Delivery
//
// A pool of Options.Concurrency workers claims due deliveries under a
// lease (Tx.ClaimDueDeliveries: FOR UPDATE SKIP LOCKED on PostgreSQL, the
// single writer on SQLite), so that several tender processes share the
// work and never attempt one delivery twice at once. A delivery whose
// endpoint was disabled or deleted meanwhile is cancelled in the claiming
// transaction, never sent. One endpoint holds at most
// Options.MaxPerEndpoint workers, so a slow receiver never blocks the
// others: as many more of its deliveries wait in memory for its next free
// slot (one that waited over a second reads its endpoint again first), and
// the rest are deferred in the database by about the endpoint's observed
// latency. An endpoint that answers faster than a claim commits may have
// more waiting, enough for its slots to get through two claims' time (at
// most 16×MaxPerEndpoint), so that a fast receiver is not left idle between
// commits; at most 8×Concurrency deliveries are in memory in all. Claims
// are sized by that room, one claim transaction at a time per process, and
// a busy engine claims in the same transaction that records the attempts
// just made.
//
// The engine's writes are batched, so that a delivery costs a fraction of
// a database round trip: a fan-out inserts all its deliveries at once
// (Tx.CreateDeliveries), a claim reads the events not in the engine's
// cache at once (Tx.FindEventsByIDs) and writes its cancellations and
// deferrals at once, and the outcomes waiting when the recorder is free are
// recorded together, in the order they came (Tx.CreateDeliveryAttempts,
// Tx.UpdateDeliveries, one write per endpoint whose health changed). On
// PostgreSQL each of those is one statement over arrays; on SQLite, where a
// statement costs no round trip, a statement per row. An attempt's worker
// slot is freed as soon as its request ends; its delivery stays leased
// until its outcome is recorded.
//
// Each attempt POSTs the dialect's Payload with the dialect's Sign headers
// (signed with the endpoint's secret, opened by Options.OpenSecret; the
// message id is the event id, the same on every attempt, so receivers can
// drop duplicates), Content-Type application/json and User-Agent
// "tender-webhooks/1". It is bounded by Options.Timeout; at most 64 KiB of
// the response is read and 1 KiB kept. Redirects are not followed. Then one
// transaction records a DeliveryAttempt (status, latency, excerpt or
// error) and the delivery's new state: a 2xx succeeds; anything else is
// retried after the next delay of Options.Schedule (about three days in
// all by default, plus jitter) and fails after the last. A 410 Gone
// disables the endpoint at once; so does failing every delivery for
// Options.DisableAfter (WebhookEndpoint.FailingSince, cleared by any
// success). Disabling records a webhook_endpoint.disabled event and cancels
// the endpoint's pending deliveries.
//
// Delivery is at least once: an attempt whose outcome was not recorded (a
// crash, or Stop cancelling it) is made again when its lease lapses;
// deliveries claimed but not started are given back at Stop. Receivers must
// be idempotent on the message id.
//
// # Addresses
//
// CheckURL vets endpoint URLs as they are created. At delivery time every
// address dialled, after name resolution, passes DialGuard, which refuses
// loopback, private, link-local and other internal addresses unless
// Options.AllowPrivate; no proxy is used, so nothing dials past the guard.
package webhook

import (
	"net/http"
	"time"

	"github.com/tenderpay/tender"
)

// Dialect is what the delivery engine needs from an API dialect to deliver
// events to that dialect's endpoints. Each dialect package provides one.
type Dialect interface {
	// Name is the dialect's name as endpoints store it ("forward").
	Name() string
	// EventName maps a core event type to the dialect's event name, or ""
	// when the dialect has no such event (then it is not delivered).
	EventName(coreType string) string
	// Payload renders the body the dialect's receivers expect for ev, under
	// the dialect's event name.
	Payload(ev *tender.Event, name string) ([]byte, error)
	// Sign returns the headers that sign body, made with the endpoint's
	// secret, for the delivery of ev with id msgID at time now.
	Sign(secret string, msgID string, now time.Time, body []byte) (http.Header, error)
}

// EventNamer is implemented by a Dialect whose name for an event depends
// on the event's object as well as its type (forhopp names a captured
// payment intent charge.completed or charge.captured, as it was captured at
// once or after an authorization). The engine then asks EventNameOf
// instead of EventName, for fan-out and for the payload alike.
type EventNamer interface {
	// EventNameOf returns the dialect's name of ev, or "" when the dialect
	// has no such event (then it is not delivered).
	EventNameOf(ev *tender.Event) string
}

// EventName returns d's name of ev: d's EventNameOf when d is an
// EventNamer, its EventName of ev's type otherwise.
func EventName(d Dialect, ev *tender.Event) string {
	if n, ok := d.(EventNamer); ok {
		return n.EventNameOf(ev)
	}
	return d.EventName(ev.Type)
}

// Matches reports whether an endpoint subscribed to events (the dialect's
// names, or "*") wants an event named name.
func Matches(events []string, name string) bool {
	if name == "" {
		return false
	}
	for _, e := range events {
		if e == "*" || e == name {
			return true
		}
	}
	return false
}
