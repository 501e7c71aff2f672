package tender

import (
	"encoding/json"
	"time"
)

// ID prefixes of orders and the objects around them.
const (
	PrefixOrder        = "ord_"
	PrefixFulfillment  = "ful_"
	PrefixOrderNote    = "note_"
	PrefixSubscription = "sub_"
)

// Order statuses. An order is pending until it is paid in full, then
// completed; refunded once all it collected was given back.
const (
	OrderPending   = "pending"
	OrderCompleted = "completed"
	OrderRefunded  = "refunded"
)

// Order payment statuses, computed from what the order's payments captured
// and refunded (see Order.Settle).
const (
	PaymentStatusUnpaid        = "unpaid"
	PaymentStatusPartiallyPaid = "partially_paid"
	PaymentStatusPaid          = "paid"
	PaymentStatusRefunded      = "refunded"
)

// PaymentStatuses are the order payment statuses, in HighLevel's order.
var PaymentStatuses = []string{PaymentStatusPaid, PaymentStatusUnpaid, PaymentStatusRefunded, PaymentStatusPartiallyPaid}

// Fulfillment statuses of an order.
const (
	Unfulfilled        = "unfulfilled"
	PartiallyFulfilled = "partially_fulfilled"
	Fulfilled          = "fulfilled"
)

// OrderSourceTypes are where an order may come from (HighLevel's OrderSource
// type enum).
var OrderSourceTypes = []string{"funnel", "website", "invoice", "calendar", "text2Pay", "document_contracts", "membership",
	"mobile_app", "communities", "point_of_sale", "manual", "form", "survey", "payment_link", "external"}

// OrderSourceSubTypes are the finer kinds of source (HighLevel's OrderSource
// subType enum).
var OrderSourceSubTypes = []string{"one_step_order_form", "two_step_order_form", "upsell", "tap_to_pay", "card_payment", "store",
	"contact_view", "email_campaign", "payments_dashboard", "shopify", "subscription_view", "store_upsell", "woocommerce",
	"service", "meeting", "imported_csv", "qr_code", "saas_one_time", "saas_subscription"}

// OrderSource tells where an order (and so its payments and subscriptions)
// came from.
type OrderSource struct {
	Type    string          `json:"type"`
	SubType string          `json:"sub_type,omitempty"`
	ID      string          `json:"id"`
	Name    string          `json:"name,omitempty"`
	Meta    json.RawMessage `json:"meta,omitempty"`
}

// Contact is a snapshot of the buyer (a HighLevel contact) as an order,
// transaction or subscription saw it.
type Contact struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// OrderItem is one line of an order: a price (of a product) times a
// quantity, with snapshots of the product and price as they were ordered.
// Amounts are minor units of the order's currency.
type OrderItem struct {
	PriceID    string     `json:"price_id"`
	ProductID  string     `json:"product_id"`
	Name       string     `json:"name"`
	Qty        int64      `json:"qty"`
	UnitAmount int64      `json:"unit_amount"`
	Amount     int64      `json:"amount"`     // UnitAmount × Qty
	Discount   int64      `json:"discount"`   // this line's share of the coupon's discount
	PriceType  string     `json:"price_type"` // one_time or recurring
	Recurring  *Recurring `json:"recurring,omitempty"`
	// SetupFee is the price's setup fee times Qty, charged with the order;
	// TrialDays is the price's trial: the line's Amount is then not
	// charged now, its subscription starts trialing. Recurring lines only.
	SetupFee  int64 `json:"setup_fee,omitempty"`
	TrialDays int   `json:"trial_days,omitempty"`
	// Fulfilled counts the units already fulfilled.
	Fulfilled int64 `json:"fulfilled"`
	// SubscriptionID is the subscription a recurring line started.
	SubscriptionID string `json:"subscription_id,omitempty"`
	// Product and Price are the catalog's objects as ordered (JSON of
	// the catalog's core types), kept so that the order shows what was
	// bought even after the catalog changes.
	Product json.RawMessage `json:"product,omitempty"`
	Price   json.RawMessage `json:"price,omitempty"`
}

// OrderCoupon is the coupon an order used, with the catalog's coupon as it
// was (Snapshot).
type OrderCoupon struct {
	ID       string          `json:"id"`
	Code     string          `json:"code"`
	Snapshot json.RawMessage `json:"snapshot,omitempty"`
}

// Order is a buyer's order of catalog prices. Its payments are payment
// intents whose reference id is the order's id; PaymentIntentID is the
// intent created with the order for its whole amount.
type Order struct {
	ID                string          `json:"id"`
	AccountID         string          `json:"account_id"`
	Mode              Mode            `json:"mode"`
	Status            string          `json:"status"`
	PaymentStatus     string          `json:"payment_status"`
	FulfillmentStatus string          `json:"fulfillment_status"`
	Currency          Currency        `json:"currency"`
	Subtotal          int64           `json:"subtotal"`
	Discount          int64           `json:"discount"`
	Amount            int64           `json:"amount"` // Subtotal − Discount
	AmountPaid        int64           `json:"amount_paid"`
	AmountRefunded    int64           `json:"amount_refunded"`
	Contact           Contact         `json:"contact"`
	Items             []OrderItem     `json:"items"`
	Coupon            *OrderCoupon    `json:"coupon,omitempty"`
	Source            OrderSource     `json:"source"`
	PaymentIntentID   string          `json:"payment_intent_id,omitempty"`
	SubscriptionIDs   []string        `json:"subscription_ids,omitempty"`
	Meta              json.RawMessage `json:"meta,omitempty"`
	CreatedBy         string          `json:"created_by,omitempty"`
	PaidAt            *time.Time      `json:"paid_at,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	// Version counts the order's updates; the store refuses an update made
	// from a stale copy.
	Version int64 `json:"version"`
}

// Due is what is left to pay on the order.
func (o *Order) Due() int64 { return max(o.Amount-o.AmountPaid, 0) }

// Settle recomputes the payment status and status from AmountPaid and
// AmountRefunded: unpaid → partially_paid → paid (completed); refunded when
// everything collected was refunded. It reports whether either changed.
func (o *Order) Settle() bool {
	ps := PaymentStatusUnpaid
	switch {
	case o.AmountPaid > 0 && o.AmountRefunded >= o.AmountPaid:
		ps = PaymentStatusRefunded
	case o.AmountPaid >= o.Amount:
		ps = PaymentStatusPaid
	case o.AmountPaid > 0:
		ps = PaymentStatusPartiallyPaid
	}
	st := OrderPending
	switch ps {
	case PaymentStatusPaid:
		st = OrderCompleted
	case PaymentStatusRefunded:
		st = OrderRefunded
	}
	changed := ps != o.PaymentStatus || st != o.Status
	o.PaymentStatus, o.Status = ps, st
	return changed
}

// SettleFulfillment recomputes FulfillmentStatus from the items' fulfilled
// quantities.
func (o *Order) SettleFulfillment() {
	var want, done int64
	for _, it := range o.Items {
		want += it.Qty
		done += min(it.Fulfilled, it.Qty)
	}
	switch {
	case done == 0:
		o.FulfillmentStatus = Unfulfilled
	case done >= want:
		o.FulfillmentStatus = Fulfilled
	default:
		o.FulfillmentStatus = PartiallyFulfilled
	}
}

// OrderFilter selects orders of an account. Zero fields do not filter.
type OrderFilter struct {
	Mode          *Mode
	Status        string
	PaymentStatus string
	Start, End    *time.Time // created at, inclusive
	Search        string     // a substring of the contact's name or email, an item's name or the order id
	ContactID     string
	ProductIDs    []string // orders with a line of any of these products
	SourceID      string
	Limit, Offset int
}

// FulfillmentTracking is one parcel's tracking.
type FulfillmentTracking struct {
	TrackingNumber  string `json:"tracking_number,omitempty"`
	ShippingCarrier string `json:"shipping_carrier,omitempty"`
	TrackingURL     string `json:"tracking_url,omitempty"`
}

// FulfillmentItem is a quantity of one order line (named by its price).
type FulfillmentItem struct {
	PriceID string `json:"price_id"`
	Qty     int64  `json:"qty"`
}

// Fulfillment records that items of an order were shipped or handed over.
type Fulfillment struct {
	ID             string                `json:"id"`
	AccountID      string                `json:"account_id"`
	Mode           Mode                  `json:"mode"`
	OrderID        string                `json:"order_id"`
	Trackings      []FulfillmentTracking `json:"trackings"`
	Items          []FulfillmentItem     `json:"items"`
	NotifyCustomer bool                  `json:"notify_customer"`
	CreatedAt      time.Time             `json:"created_at"`
	UpdatedAt      time.Time             `json:"updated_at"`
}

// OrderNote is a line of an order's history, left by an action on it
// (created, payment recorded, paid, fulfilled, refunded, …).
type OrderNote struct {
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Mode      Mode      `json:"mode"`
	OrderID   string    `json:"order_id"`
	Action    string    `json:"action"` // created, payment_recorded, payment_captured, refunded, fulfilled
	Body      string    `json:"body"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Provider types of a transaction: who moved its money.
const (
	ProviderTender   = "tender"   // tender's processor (the sim in test mode)
	ProviderManual   = "manual"   // recorded by hand (cash, cheque, …)
	ProviderExternal = "external" // processed on another gateway and recorded
	ProviderCustom   = "custom"   // a HighLevel custom payment provider
)

// CardBrief is the displayable part of the card a transaction used.
type CardBrief struct {
	Brand string `json:"brand,omitempty"`
	Last4 string `json:"last4,omitempty"`
}

// Transaction is the view of one payment (attempt) that the HighLevel
// dialect lists: every payment of an account is one, whichever dialect made
// it, linked to the order (EntityType "order") or subscription it pays.
// It is kept up to date in the transaction of every change of the payment.
type Transaction struct {
	ID              string      `json:"id"` // the payment's id
	AccountID       string      `json:"account_id"`
	Mode            Mode        `json:"mode"`
	PaymentIntentID string      `json:"payment_intent_id"`
	PaymentMethodID string      `json:"payment_method_id,omitempty"`
	Status          string      `json:"status"` // the payment's status
	Amount          int64       `json:"amount"`
	AmountCaptured  int64       `json:"amount_captured"`
	AmountRefunded  int64       `json:"amount_refunded"`
	Currency        Currency    `json:"currency"`
	EntityType      string      `json:"entity_type,omitempty"` // order, subscription
	EntityID        string      `json:"entity_id,omitempty"`
	Contact         Contact     `json:"contact"`
	Source          OrderSource `json:"source"`
	SubscriptionID  string      `json:"subscription_id,omitempty"`
	ProviderType    string      `json:"provider_type"`
	Method          string      `json:"method,omitempty"` // card, bank, or a manual mode (cash, cheque, …)
	Card            *CardBrief  `json:"card,omitempty"`
	ChargeID        string      `json:"charge_id,omitempty"`
	Description     string      `json:"description,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	CapturedAt      *time.Time  `json:"captured_at,omitempty"`
}

// TransactionFilter selects transactions of an account. Zero fields do not
// filter.
type TransactionFilter struct {
	Mode           *Mode
	Start, End     *time.Time // created at, inclusive
	SourceType     string
	SourceSubType  string
	Search         string // a substring of the contact's name or email, the source's name or the entity id
	SubscriptionID string
	EntityID       string
	ContactID      string
	Limit, Offset  int
}

// Subscription statuses.
const (
	SubscriptionIncomplete = "incomplete" // created, first payment not yet collected
	SubscriptionActive     = "active"
	SubscriptionTrialing   = "trialing"
	SubscriptionPastDue    = "past_due"
	SubscriptionUnpaid     = "unpaid"
	SubscriptionCanceled   = "canceled"
)

// SubscriptionItem is one recurring price a subscription bills.
type SubscriptionItem struct {
	PriceID    string          `json:"price_id"`
	ProductID  string          `json:"product_id"`
	Name       string          `json:"name"`
	Qty        int64           `json:"qty"`
	UnitAmount int64           `json:"unit_amount"`
	Product    json.RawMessage `json:"product,omitempty"`
	Price      json.RawMessage `json:"price,omitempty"`
}

// Subscription bills a contact for recurring prices every period. Orders
// with recurring prices start them; billing renews them.
type Subscription struct {
	ID                 string             `json:"id"`
	AccountID          string             `json:"account_id"`
	Mode               Mode               `json:"mode"`
	Status             string             `json:"status"`
	Contact            Contact            `json:"contact"`
	Items              []SubscriptionItem `json:"items"`
	Currency           Currency           `json:"currency"`
	Amount             int64              `json:"amount"`   // billed each period, after Discount
	Discount           int64              `json:"discount"` // the coupon's discount on each period
	Recurrence         Recurring          `json:"recurrence"`
	CurrentPeriodStart *time.Time         `json:"current_period_start,omitempty"`
	CurrentPeriodEnd   *time.Time         `json:"current_period_end,omitempty"`
	// TrialDays is the trial the subscription starts with; TrialEnd is
	// when it ends (set when the trial starts). TotalCycles bounds the
	// periods billed (0: until cancelled).
	TrialDays    int          `json:"trial_days,omitempty"`
	TrialEnd     *time.Time   `json:"trial_end,omitempty"`
	TotalCycles  int          `json:"total_cycles,omitempty"`
	EntityType   string       `json:"entity_type,omitempty"` // order
	EntityID     string       `json:"entity_id,omitempty"`
	Source       OrderSource  `json:"source"`
	Coupon       *OrderCoupon `json:"coupon,omitempty"`
	ProviderType string       `json:"provider_type"`
	ProviderID   string       `json:"provider_id,omitempty"` // the provider's own subscription id, if any
	// CustomProviderID is the custom provider that runs the subscription
	// (it took the first payment and supports subscription schedules);
	// ProviderMessage is its last word when it refused to start it.
	CustomProviderID string     `json:"custom_provider_id,omitempty"`
	ProviderMessage  string     `json:"provider_message,omitempty"`
	PaymentMethodID  string     `json:"payment_method_id,omitempty"`
	CanceledAt       *time.Time `json:"canceled_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	Version          int64      `json:"version"`
}

// SubscriptionFilter selects subscriptions of an account. Zero fields do
// not filter.
type SubscriptionFilter struct {
	Mode          *Mode
	ID            string
	EntityID      string
	ContactID     string
	SourceType    string
	Search        string // a substring of the contact's name or email or an item's name
	Start, End    *time.Time
	Limit, Offset int
}

// Order, fulfillment and subscription events.
const (
	EventOrderCreated        = "order.created"
	EventOrderUpdated        = "order.updated" // its status, payment status or fulfillment status changed
	EventFulfillmentCreated  = "fulfillment.created"
	EventSubscriptionCreated = "subscription.created"
	EventSubscriptionUpdated = "subscription.updated"
)
