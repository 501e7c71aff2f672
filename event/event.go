// Package event records tender's core events. Every state change of a
// payment object is recorded, with a snapshot of the object, in the same
// store transaction as the change (the outbox): an event exists exactly when
// its change was committed. Delivery to webhook endpoints happens later, from
// the event log (package webhook).
package event

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// ObjectType names the kind of obj as events carry it.
func ObjectType(obj any) (typ, id string, err error) {
	switch o := obj.(type) {
	case *tender.PaymentIntent:
		return "payment_intent", o.ID, nil
	case *tender.Payment:
		return "payment", o.ID, nil
	case *tender.Refund:
		return "refund", o.ID, nil
	case *tender.PaymentMethod:
		return "payment_method", o.ID, nil
	case *tender.WebhookEndpoint:
		return "webhook_endpoint", o.ID, nil
	case *tender.CustomProvider:
		return "custom_provider", o.ID, nil
	case *tender.WhiteLabelProvider:
		return "white_label_provider", o.ID, nil
	case *tender.Order:
		return "order", o.ID, nil
	case *tender.Fulfillment:
		return "fulfillment", o.ID, nil
	case *tender.Subscription:
		return "subscription", o.ID, nil
	case *tender.Dispute:
		return "dispute", o.ID, nil
	case *tender.Payout:
		return "payout", o.ID, nil
	case *tender.Product:
		return "product", o.ID, nil
	case *tender.Price:
		return "price", o.ID, nil
	}
	return "", "", fmt.Errorf("event: no object type for %T", obj)
}

// Record adds an event of type typ about obj, in tx, for scope s's account
// and mode.
func Record(ctx context.Context, tx store.Tx, s tender.Scope, typ string, obj any) error {
	objType, id, err := ObjectType(obj)
	if err != nil {
		return err
	}
	if pm, ok := obj.(*tender.PaymentMethod); ok {
		// The processor token can charge the card: it stays in the
		// payment_methods row and never enters the event log or a webhook.
		cp := *pm
		cp.ProcessorToken = ""
		obj = &cp
	}
	snap, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	now := tx.Now()
	return tx.CreateEvent(ctx, &tender.Event{ID: tender.NewID(tender.PrefixEvent, now), AccountID: s.AccountID, Mode: s.Mode,
		Type: typ, ObjectType: objType, ObjectID: id, Object: snap, CreatedAt: now})
}

// Change is one event to record: its type and its object.
type Change struct {
	Type   string
	Object any
}

// RecordAll records each change in order.
func RecordAll(ctx context.Context, tx store.Tx, s tender.Scope, changes ...Change) error {
	for _, c := range changes {
		if err := Record(ctx, tx, s, c.Type, c.Object); err != nil {
			return err
		}
	}
	return nil
}
