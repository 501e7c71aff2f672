package order

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/mail"
	"slices"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/catalog"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/store"
)

// Limits of an order.
const (
	MaxItems = 100
	MaxQty   = 1_000_000
)

// ItemParams orders Qty of price PriceID.
type ItemParams struct {
	PriceID string
	Qty     int64
}

// CreateParams creates an order.
type CreateParams struct {
	// Mode is the order's (and its payments') mode.
	Mode tender.Mode
	// Contact names the buyer: by ID, or by Name and Email (the ID is then
	// derived from the email, see ContactID).
	Contact    tender.Contact
	Items      []ItemParams
	CouponCode string
	// Source is where the order came from; nil is DefaultSource.
	Source *tender.OrderSource
	// Currency, when set, must be every price's currency.
	Currency  tender.Currency
	Meta      json.RawMessage
	CreatedBy string
}

// DefaultSource is the source of an order created without one.
var DefaultSource = tender.OrderSource{Type: "external", ID: "tender", Name: "tender API"}

func (p *CreateParams) validate() error {
	var v tender.Validation
	if !p.Mode.Valid() {
		v.Add("liveMode", "must be a boolean value")
	}
	c := &p.Contact
	c.ID, c.Name, c.Email, c.Phone = strings.TrimSpace(c.ID), strings.TrimSpace(c.Name), strings.TrimSpace(c.Email), strings.TrimSpace(c.Phone)
	if c.ID == "" {
		if c.Name == "" {
			v.Add("contact.name", "should not be empty when contactId is not given")
		}
		if c.Email == "" {
			v.Add("contact.email", "should not be empty when contactId is not given")
		}
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			v.Add("contact.email", "must be an email")
		}
	}
	for field, s := range map[string]string{"contactId": c.ID, "contact.name": c.Name, "contact.email": c.Email, "contact.phone": c.Phone} {
		if len(s) > 255 {
			v.Add(field, "must be shorter than or equal to 255 characters")
		}
	}
	switch {
	case len(p.Items) == 0:
		v.Add("items", "should not be empty")
	case len(p.Items) > MaxItems:
		v.Add("items", fmt.Sprintf("must contain no more than %d elements", MaxItems))
	}
	for i, it := range p.Items {
		if strings.TrimSpace(it.PriceID) == "" {
			v.Add(fmt.Sprintf("items.%d.priceId", i), "should not be empty")
		}
		if it.Qty < 1 || it.Qty > MaxQty {
			v.Add(fmt.Sprintf("items.%d.qty", i), fmt.Sprintf("must be a whole number between 1 and %d", MaxQty))
		}
	}
	if s := p.Source; s != nil {
		if !slices.Contains(tender.OrderSourceTypes, s.Type) {
			v.Add("source.type", "must be one of the following values: "+strings.Join(tender.OrderSourceTypes, ", "))
		}
		if s.SubType != "" && !slices.Contains(tender.OrderSourceSubTypes, s.SubType) {
			v.Add("source.subType", "must be one of the following values: "+strings.Join(tender.OrderSourceSubTypes, ", "))
		}
		if strings.TrimSpace(s.ID) == "" {
			v.Add("source.id", "should not be empty")
		}
		if len(s.ID) > 255 || len(s.Name) > 255 {
			v.Add("source", "id and name must be shorter than or equal to 255 characters")
		}
		if !validObject(s.Meta) {
			v.Add("source.meta", "must be an object")
		}
		if string(s.Meta) == "null" {
			s.Meta = nil
		}
	}
	if p.Currency != "" {
		if _, err := tender.ParseCurrency(string(p.Currency)); err != nil {
			v.Add("currency", "must be a valid ISO 4217 currency code")
		}
	}
	if len(p.CouponCode) > 255 {
		v.Add("couponCode", "must be shorter than or equal to 255 characters")
	}
	if !validObject(p.Meta) {
		v.Add("meta", "must be an object")
	}
	if string(p.Meta) == "null" {
		p.Meta = nil
	}
	return v.Err()
}

// Create creates an order in sc's account, in p.Mode, from catalog prices:
// the subtotal is the sum of price × quantity, the coupon (if any) gives
// the discount computed by the catalog, and its use is redeemed in the same
// transaction. The order gets a payment intent for its amount (reference id
// the order's id) that any dialect may pay, and a subscription per
// recurring line, incomplete until the order is paid. An order of amount 0
// is paid at once.
func (s *Service) Create(ctx context.Context, sc tender.Scope, p CreateParams) (*tender.Order, error) {
	if s.Catalog == nil {
		return nil, tender.Errorf(tender.ENOTIMPLEMENTED, "the catalog is not configured")
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	osc := scopeOf(sc, sc.AccountID, p.Mode)
	var out *tender.Order
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		o, err := s.build(ctx, tx, osc, p)
		if err != nil {
			return err
		}
		if o.Amount > 0 {
			meta, _ := json.Marshal(map[string]string{"order_id": o.ID})
			pi, err := s.Payments.CreatePaymentIntentTx(ctx, tx, osc, payment.IntentParams{Amount: o.Amount, Currency: o.Currency,
				ReferenceID: o.ID, Description: "Order " + o.ID, Metadata: meta})
			if err != nil {
				return err
			}
			o.PaymentIntentID = pi.ID
		}
		now := tx.Now()
		if o.Settle(); o.PaymentStatus == tender.PaymentStatusPaid {
			o.PaidAt = &now
		}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		var lines []string
		for _, it := range o.Items {
			lines = append(lines, fmt.Sprintf("%d × %s", it.Qty, it.Name))
		}
		if err := addNote(ctx, tx, o, NoteCreated, p.CreatedBy, "Order created: %s, total %s", strings.Join(lines, ", "), money(o.Amount, o.Currency)); err != nil {
			return err
		}
		if err := recordOrder(ctx, tx, o, tender.EventOrderCreated); err != nil {
			return err
		}
		for _, id := range o.SubscriptionIDs {
			sub, err := tx.FindSubscriptionByID(ctx, o.AccountID, id)
			if err != nil {
				return err
			}
			if o.PaymentStatus == tender.PaymentStatusPaid {
				startSubscription(sub, now)
				if err := tx.UpdateSubscription(ctx, sub); err != nil {
					return err
				}
			}
			if err := event.Record(ctx, tx, osc, tender.EventSubscriptionCreated, sub); err != nil {
				return err
			}
		}
		out = o
		return store.RunCommitHook(ctx, tx, o)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// build makes the order of p in tx: its lines from the catalog, the
// coupon's discount (redeemed) and its subscriptions (created).
func (s *Service) build(ctx context.Context, tx store.Tx, sc tender.Scope, p CreateParams) (*tender.Order, error) {
	now := tx.Now()
	o := &tender.Order{ID: tender.NewID(tender.PrefixOrder, now), AccountID: sc.AccountID, Mode: sc.Mode, Contact: p.Contact,
		FulfillmentStatus: tender.Unfulfilled, Meta: p.Meta, CreatedBy: p.CreatedBy, CreatedAt: now, UpdatedAt: now}
	if o.Contact.ID == "" {
		o.Contact.ID = ContactID(sc.AccountID, o.Contact.Email)
	}
	o.Source = DefaultSource
	if p.Source != nil {
		o.Source = *p.Source
	}
	// Lines, one per price (repeated prices add up).
	var v tender.Validation
	lineOf := map[string]int{}
	var totalCycles []int // per line, of its price
	var setupFees []int64 // per line: its price's setup fee
	for i, ip := range p.Items {
		field := fmt.Sprintf("items.%d", i)
		if j, ok := lineOf[ip.PriceID]; ok {
			if o.Items[j].Qty+ip.Qty > MaxQty {
				v.Add(field+".qty", fmt.Sprintf("adds up to more than %d of this price", MaxQty))
			}
			o.Items[j].Qty += ip.Qty
			continue
		}
		price, product, err := s.Catalog.FindPrice(ctx, tx, sc.AccountID, ip.PriceID)
		switch {
		case tender.ErrorCode(err) == tender.ENOTFOUND:
			v.Add(field+".priceId", "does not name a price of this location")
			continue
		case err != nil:
			return nil, err
		case price.DeletedAt != nil || product.DeletedAt != nil:
			v.Add(field+".priceId", "names a deleted price or product")
			continue
		}
		cur := price.Currency
		switch {
		case p.Currency != "" && cur != p.Currency:
			v.Add(field+".priceId", fmt.Sprintf("is in %s, not the order's currency %s", cur, p.Currency))
			continue
		case o.Currency == "":
			o.Currency = cur
		case cur != o.Currency:
			v.Add(field+".priceId", fmt.Sprintf("is in %s, not %s: all prices of an order must share one currency", cur, o.Currency))
			continue
		}
		prodJSON, err := json.Marshal(product)
		if err != nil {
			return nil, err
		}
		priceJSON, err := json.Marshal(price)
		if err != nil {
			return nil, err
		}
		it := tender.OrderItem{PriceID: price.ID, ProductID: product.ID, Name: product.Name, Qty: ip.Qty, UnitAmount: price.Amount,
			PriceType: price.Type, Product: prodJSON, Price: priceJSON}
		totalCycles = append(totalCycles, price.TotalCycles)
		setupFees = append(setupFees, price.SetupFee)
		if price.Name != "" && price.Name != product.Name {
			it.Name = product.Name + " - " + price.Name
		}
		if price.Type == tender.PriceRecurring && price.Recurring != nil {
			r := *price.Recurring
			it.Recurring = &r
			it.TrialDays = price.TrialPeriodDays
		}
		lineOf[ip.PriceID] = len(o.Items)
		o.Items = append(o.Items, it)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var err error
	for i := range o.Items {
		it := &o.Items[i]
		if it.Amount, err = tender.MulAmount(it.UnitAmount, it.Qty); err != nil {
			return nil, tender.FieldError(fmt.Sprintf("items.%d.qty", i), "makes an amount too large")
		}
		if it.Recurring != nil && setupFees[i] > 0 {
			if it.SetupFee, err = tender.MulAmount(setupFees[i], it.Qty); err != nil {
				return nil, tender.FieldError(fmt.Sprintf("items.%d.qty", i), "makes a setup fee too large")
			}
		}
		// What the line costs now: its amount, unless its subscription
		// starts with a trial, plus its setup fee.
		now := dueNow(it)
		if now, err = tender.AddAmounts(now, it.SetupFee); err != nil {
			return nil, tender.FieldError("items", "add up to an amount too large")
		}
		if o.Subtotal, err = tender.AddAmounts(o.Subtotal, now); err != nil || o.Subtotal > tender.MaxAmount {
			return nil, tender.FieldError("items", "add up to an amount too large")
		}
	}
	// The coupon.
	var coupon *tender.Coupon
	if code := strings.TrimSpace(p.CouponCode); code != "" {
		coupon, err = s.Catalog.FindCouponByCode(ctx, tx, sc.AccountID, code)
		if tender.ErrorCode(err) == tender.ENOTFOUND {
			return nil, tender.FieldError("couponCode", "does not name a coupon of this location")
		} else if err != nil {
			return nil, err
		}
		// The coupon discounts what the lines cost now, setup fees
		// aside (a trialing line's periods get it on the subscription).
		lines := make([]catalog.Line, len(o.Items))
		for i := range o.Items {
			it := &o.Items[i]
			lines[i] = catalog.Line{ProductID: it.ProductID, PriceID: it.PriceID, Amount: dueNow(it), Currency: o.Currency}
		}
		if o.Discount, err = catalog.ApplyCoupon(coupon, lines); err != nil {
			return nil, err
		}
		spread(o, coupon, lines)
		if err := s.Catalog.RedeemCoupon(ctx, tx, coupon, o.Contact.ID, o.ID); err != nil {
			return nil, err
		}
		snap, err := json.Marshal(coupon)
		if err != nil {
			return nil, err
		}
		o.Coupon = &tender.OrderCoupon{ID: coupon.ID, Code: coupon.Code, Snapshot: snap}
	}
	o.Amount = o.Subtotal - o.Discount
	// A subscription per recurring line.
	for i := range o.Items {
		it := &o.Items[i]
		if it.PriceType != tender.PriceRecurring || it.Recurring == nil {
			continue
		}
		sub := &tender.Subscription{ID: tender.NewID(tender.PrefixSubscription, now), AccountID: o.AccountID, Mode: o.Mode,
			Status: tender.SubscriptionIncomplete, Contact: o.Contact, Currency: o.Currency, Amount: it.Amount, Recurrence: *it.Recurring,
			Items:      []tender.SubscriptionItem{{PriceID: it.PriceID, ProductID: it.ProductID, Name: it.Name, Qty: it.Qty, UnitAmount: it.UnitAmount, Product: it.Product, Price: it.Price}},
			EntityType: "order", EntityID: o.ID, Source: o.Source, ProviderType: tender.ProviderTender, TrialDays: it.TrialDays,
			TotalCycles: totalCycles[i], CreatedAt: now, UpdatedAt: now}
		if coupon != nil && coupon.ApplyToFuturePayments {
			// Each period gets the coupon's discount on the line alone.
			line := catalog.Line{ProductID: it.ProductID, PriceID: it.PriceID, Amount: it.Amount, Currency: o.Currency}
			if catalog.Eligible(coupon, line) {
				if sub.Discount, err = catalog.ApplyCoupon(coupon, []catalog.Line{line}); err != nil {
					return nil, err
				}
				sub.Amount, sub.Coupon = it.Amount-sub.Discount, o.Coupon
			}
		}
		if err := tx.CreateSubscription(ctx, sub); err != nil {
			return nil, err
		}
		it.SubscriptionID = sub.ID
		o.SubscriptionIDs = append(o.SubscriptionIDs, sub.ID)
	}
	return o, nil
}

// spread shares the order's discount among the coupon's eligible lines in
// proportion to their amounts, rounding down, with the remainder on the
// first eligible lines, so that the lines' discounts add up to the order's.
func spread(o *tender.Order, c *tender.Coupon, lines []catalog.Line) {
	var eligible int64
	for _, l := range lines {
		if catalog.Eligible(c, l) {
			eligible += l.Amount
		}
	}
	if eligible == 0 || o.Discount == 0 {
		return
	}
	left := o.Discount
	for i, l := range lines {
		if !catalog.Eligible(c, l) {
			continue
		}
		share := new(big.Int).Mul(big.NewInt(o.Discount), big.NewInt(l.Amount))
		share.Quo(share, big.NewInt(eligible))
		o.Items[i].Discount = share.Int64()
		left -= o.Items[i].Discount
	}
	for i, l := range lines {
		if left == 0 {
			break
		}
		if catalog.Eligible(c, l) && o.Items[i].Discount < l.Amount {
			add := min(left, l.Amount-o.Items[i].Discount)
			o.Items[i].Discount += add
			left -= add
		}
	}
}

// dueNow is what a line's own amount adds to the order now: nothing for a
// recurring line whose subscription starts with a trial.
func dueNow(it *tender.OrderItem) int64 {
	if it.Recurring != nil && it.TrialDays > 0 {
		return 0
	}
	return it.Amount
}
