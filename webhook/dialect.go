// Package webhook delivers tender's events to webhook endpoints: at least
// once, from the event log, signed in each endpoint's dialect.
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
