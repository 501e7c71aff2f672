package order

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/store"
)

// FulfillParams fulfills quantities of an order's lines.
type FulfillParams struct {
	Trackings      []tender.FulfillmentTracking
	Items          []tender.FulfillmentItem
	NotifyCustomer bool
	CreatedBy      string
}

func (p *FulfillParams) validate() error {
	var v tender.Validation
	if len(p.Items) == 0 {
		v.Add("items", "should not be empty")
	}
	for i, it := range p.Items {
		if strings.TrimSpace(it.PriceID) == "" {
			v.Add(fmt.Sprintf("items.%d.priceId", i), "should not be empty")
		}
		if it.Qty <= 0 {
			v.Add(fmt.Sprintf("items.%d.qty", i), "must be a positive number")
		}
	}
	for i, t := range p.Trackings {
		for field, val := range map[string]string{"trackingNumber": t.TrackingNumber, "shippingCarrier": t.ShippingCarrier, "trackingUrl": t.TrackingURL} {
			if len(val) > 2000 {
				v.Add(fmt.Sprintf("trackings.%d.%s", i, field), "must be shorter than or equal to 2000 characters")
			}
		}
	}
	return v.Err()
}

// Fulfill records that quantities of order id's lines (named by their
// price ids) were fulfilled. Only lines the order has, and at most the
// quantity not yet fulfilled of each, may be; the order's fulfillment
// status moves from unfulfilled to partially_fulfilled to fulfilled.
func (s *Service) Fulfill(ctx context.Context, sc tender.Scope, id string, p FulfillParams) (*tender.Fulfillment, *tender.Order, error) {
	if err := p.validate(); err != nil {
		return nil, nil, err
	}
	if p.Trackings == nil {
		p.Trackings = []tender.FulfillmentTracking{}
	}
	var f *tender.Fulfillment
	var out *tender.Order
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		found, err := findOrder(ctx, tx, sc.AccountID, id)
		if err != nil {
			return err
		}
		cp := *found
		o := &cp
		o.Items = append([]tender.OrderItem(nil), found.Items...)
		// Sum repeated prices, then check each against what is left.
		want := map[string]int64{}
		var order []string
		for _, it := range p.Items {
			if _, ok := want[it.PriceID]; !ok {
				order = append(order, it.PriceID)
			}
			if want[it.PriceID], err = tender.AddAmounts(want[it.PriceID], it.Qty); err != nil {
				return tender.FieldError("items", "quantities are too large")
			}
		}
		var v tender.Validation
		for i, it := range p.Items {
			line := lineOf(o, it.PriceID)
			switch {
			case line < 0:
				v.Add(fmt.Sprintf("items.%d.priceId", i), "is not an item of this order")
			case want[it.PriceID] > o.Items[line].Qty-o.Items[line].Fulfilled:
				v.Add(fmt.Sprintf("items.%d.qty", i), fmt.Sprintf("must not be greater than %d, the quantity of this item not yet fulfilled",
					o.Items[line].Qty-o.Items[line].Fulfilled))
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		var items []tender.FulfillmentItem
		var parts []string
		for _, pid := range order {
			line := lineOf(o, pid)
			o.Items[line].Fulfilled += want[pid]
			items = append(items, tender.FulfillmentItem{PriceID: pid, Qty: want[pid]})
			parts = append(parts, fmt.Sprintf("%d × %s", want[pid], o.Items[line].Name))
		}
		now := tx.Now()
		f = &tender.Fulfillment{ID: tender.NewID(tender.PrefixFulfillment, now), AccountID: o.AccountID, Mode: o.Mode, OrderID: o.ID,
			Trackings: p.Trackings, Items: items, NotifyCustomer: p.NotifyCustomer, CreatedAt: now, UpdatedAt: now}
		o.SettleFulfillment()
		o.UpdatedAt = now
		if err := tx.CreateFulfillment(ctx, f); err != nil {
			return err
		}
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		if err := addNote(ctx, tx, o, NoteFulfilled, p.CreatedBy, "Fulfilled %s (%s)", strings.Join(parts, ", "), o.FulfillmentStatus); err != nil {
			return err
		}
		sco := tender.Scope{AccountID: o.AccountID, Mode: o.Mode}
		if err := event.RecordAll(ctx, tx, sco, event.Change{Type: tender.EventFulfillmentCreated, Object: f},
			event.Change{Type: tender.EventOrderUpdated, Object: o}); err != nil {
			return err
		}
		out = o
		return store.RunCommitHook(ctx, tx, f)
	})
	if err != nil {
		return nil, nil, err
	}
	return f, out, nil
}

// lineOf returns the index of o's line of price priceID, or -1.
func lineOf(o *tender.Order, priceID string) int {
	for i, it := range o.Items {
		if it.PriceID == priceID {
			return i
		}
	}
	return -1
}

// ListFulfillments returns order id's fulfillments, oldest first, with
// the order.
func (s *Service) ListFulfillments(ctx context.Context, sc tender.Scope, id string) ([]*tender.Fulfillment, *tender.Order, error) {
	var out []*tender.Fulfillment
	var o *tender.Order
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		if o, err = findOrder(ctx, tx, sc.AccountID, id); err != nil {
			return err
		}
		out, err = tx.ListFulfillments(ctx, sc.AccountID, id)
		return err
	})
	return out, o, err
}
