package webhook

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// Redeliver sends event eventID of scope s again to every endpoint of s
// that is active now and subscribed to it, whenever it was created: an
// endpoint with no delivery of the event gets a new one, due now; one whose
// delivery succeeded, failed or was cancelled has it reset to pending, due
// now, its attempts kept; one whose delivery is still pending has it
// brought forward to now (left alone when it is already due, as it may be
// in flight). It returns how many deliveries will be attempted, and
// ENOTFOUND when s has no such event.
func (e *Engine) Redeliver(ctx context.Context, s tender.Scope, eventID string) (n int, err error) {
	defer tender.Wrap(&err, "webhook.Redeliver(%q)", eventID)
	err = e.write(ctx, func(tx store.Tx) error {
		n = 0
		ev, err := tx.FindEventByID(ctx, s, eventID)
		if err != nil {
			return err
		}
		eps, err := tx.ListActiveWebhookEndpoints(ctx, s.AccountID, s.Mode)
		if err != nil {
			return err
		}
		ds, err := tx.ListDeliveriesByEvent(ctx, s, eventID)
		if err != nil {
			return err
		}
		byEndpoint := make(map[string]*tender.Delivery, len(ds))
		for _, d := range ds {
			byEndpoint[d.EndpointID] = d
		}
		now := tx.Now()
		for _, ep := range eps {
			if !e.wants(ep, ev) {
				continue
			}
			n++
			d := byEndpoint[ep.ID]
			switch {
			case d == nil:
				err = tx.CreateDelivery(ctx, newDelivery(ev, ep, now))
			case d.State == tender.DeliveryPending && !d.NextAt.After(now):
				continue
			default:
				d.State, d.NextAt, d.UpdatedAt, d.SucceededAt = tender.DeliveryPending, now, now, nil
				err = tx.UpdateDelivery(ctx, d)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		poke(e.claimWake)
	}
	return n, nil
}

// redeliverBatch is how many failed deliveries one transaction of
// RedeliverFailed resets.
const redeliverBatch = 500

// RedeliverFailed resets every failed delivery of scope s created at or
// after since to pending, due now, its attempts kept, and returns how
// many. A failed delivery whose endpoint is disabled or deleted is
// cancelled instead (and not counted): re-enable the endpoint first to
// have it sent. It works in transactions of a few hundred deliveries; on
// an error, those reset by earlier transactions stay reset.
func (e *Engine) RedeliverFailed(ctx context.Context, s tender.Scope, since time.Time) (total int, err error) {
	defer tender.Wrap(&err, "webhook.RedeliverFailed")
	defer func() {
		if total > 0 {
			poke(e.claimWake)
		}
	}()
	for {
		var n, seen int
		err := e.write(ctx, func(tx store.Tx) error {
			n, seen = 0, 0
			ds, err := tx.ListFailedDeliveries(ctx, s, since, redeliverBatch)
			if err != nil {
				return err
			}
			seen = len(ds)
			eps, err := tx.ListActiveWebhookEndpoints(ctx, s.AccountID, s.Mode)
			if err != nil {
				return err
			}
			active := make(map[string]bool, len(eps))
			for _, ep := range eps {
				active[ep.ID] = true
			}
			now := tx.Now()
			for _, d := range ds {
				if !active[d.EndpointID] {
					if err := cancelDelivery(ctx, tx, d, "redelivery requested, but the endpoint is disabled or deleted", now); err != nil {
						return err
					}
					continue
				}
				d.State, d.NextAt, d.UpdatedAt = tender.DeliveryPending, now, now
				if err := tx.UpdateDelivery(ctx, d); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if seen < redeliverBatch {
			return total, nil
		}
	}
}
