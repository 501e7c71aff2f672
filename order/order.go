// Package order holds the business rules of orders: their creation from
// catalog prices and a coupon, the amounts, their payment status as their
// payments capture and refund, manual payments, fulfillments and notes;
// and of the views that follow payments (transactions) and the
// subscriptions that orders of recurring prices start.
//
// # Payments
//
// An order is paid by payment intents whose reference id is the order's
// id. Creating an order creates one such intent for its whole amount
// (Order.PaymentIntentID), which any dialect may pay; RecordPayment records
// a manual payment as an external intent of its own. The Service is a
// payment.Hook: inside the transaction of every payment change it writes
// the payment's transaction view and, when the payment is an order's,
// moves the order's amounts, payment status and status, leaves notes and
// activates the order's subscriptions once it is paid.
//
// # Errors
//
// Methods return EINVALID naming the field for bad values, ENOTFOUND
// ("Order not found", "Transaction not found", "Subscription not found")
// for an id that is unknown or of another account, and ECONFLICT when the
// order's state forbids the operation.
package order

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/catalog"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/payment"
	"github.com/tenderpay/tender/store"
)

// Service is the order engine.
type Service struct {
	Store    store.Store
	Payments *payment.Service
	Catalog  *catalog.Service
	// Providers reaches the locations' custom providers for saved methods
	// and subscriptions they run; nil leaves those features off.
	Providers CustomProviders
}

// New returns a Service and registers it as a hook of payments.
func New(st store.Store, payments *payment.Service, cat *catalog.Service) *Service {
	s := &Service{Store: st, Payments: payments, Catalog: cat}
	payments.AddHook(s)
	return s
}

// Note actions.
const (
	NoteCreated         = "created"
	NotePaymentRecorded = "payment_recorded"
	NotePaymentReceived = "payment_received"
	NoteRefunded        = "refunded"
	NoteFulfilled       = "fulfilled"
	NotePaid            = "paid"
)

func errOrderNotFound() error { return tender.Errorf(tender.ENOTFOUND, "Order not found") }

// scopeOf is the scope of the order's account and mode, acting for sc's
// credential.
func scopeOf(sc tender.Scope, accountID string, mode tender.Mode) tender.Scope {
	out := sc
	out.AccountID, out.Mode = accountID, mode
	return out
}

// findOrder loads order id of accountID, ENOTFOUND "Order not found".
func findOrder(ctx context.Context, tx store.Tx, accountID, id string) (*tender.Order, error) {
	o, err := tx.FindOrderByID(ctx, accountID, id)
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil, errOrderNotFound()
	}
	return o, err
}

// Get returns order id of sc's account (in either mode).
func (s *Service) Get(ctx context.Context, sc tender.Scope, id string) (*tender.Order, error) {
	var o *tender.Order
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		o, err = findOrder(ctx, tx, sc.AccountID, id)
		return err
	})
	return o, err
}

// List returns a newest-first page of the account's orders matching f and
// their exact number.
func (s *Service) List(ctx context.Context, sc tender.Scope, f tender.OrderFilter) ([]*tender.Order, int, error) {
	if f.PaymentStatus != "" && !slices.Contains(tender.PaymentStatuses, f.PaymentStatus) {
		return nil, 0, tender.FieldError("paymentStatus", "must be one of the following values: "+strings.Join(tender.PaymentStatuses, ", "))
	}
	var out []*tender.Order
	var n int
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		out, n, err = tx.ListOrders(ctx, sc.AccountID, f)
		return err
	})
	return out, n, err
}

// ListNotes returns the notes of order id, oldest first.
func (s *Service) ListNotes(ctx context.Context, sc tender.Scope, id string) ([]*tender.OrderNote, error) {
	var out []*tender.OrderNote
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		if _, err := findOrder(ctx, tx, sc.AccountID, id); err != nil {
			return err
		}
		var err error
		out, err = tx.ListOrderNotes(ctx, sc.AccountID, id)
		return err
	})
	return out, err
}

// addNote records a note on o in tx.
func addNote(ctx context.Context, tx store.Tx, o *tender.Order, action, createdBy, format string, args ...any) error {
	now := tx.Now()
	return tx.CreateOrderNote(ctx, &tender.OrderNote{ID: tender.NewID(tender.PrefixOrderNote, now), AccountID: o.AccountID, Mode: o.Mode,
		OrderID: o.ID, Action: action, Body: fmt.Sprintf(format, args...), CreatedBy: createdBy, CreatedAt: now, UpdatedAt: now})
}

// money renders an amount for a note: "12.34 USD".
func money(amount int64, c tender.Currency) string {
	return tender.Money{Amount: amount, Currency: c}.Major() + " " + string(c)
}

// ContactID returns the contact id tender gives a buyer named only by
// email: 20 characters derived from the account and the lower-case email,
// so that one buyer's orders share it.
func ContactID(accountID, email string) string {
	sum := sha256.Sum256([]byte(accountID + "\x00" + strings.ToLower(strings.TrimSpace(email))))
	s := new(big.Int).SetBytes(sum[:]).Text(62)
	for len(s) < 20 {
		s = "0" + s
	}
	return s[:20]
}

// NextPeriod returns t moved forward by one period of r.
func NextPeriod(r tender.Recurring, t time.Time) time.Time {
	n := max(r.IntervalCount, 1)
	switch r.Interval {
	case tender.IntervalDay:
		return t.AddDate(0, 0, n)
	case tender.IntervalWeek:
		return t.AddDate(0, 0, 7*n)
	case tender.IntervalYear:
		return t.AddDate(n, 0, 0)
	default:
		return t.AddDate(0, n, 0)
	}
}

// validObject reports whether raw is absent or a JSON object.
func validObject(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil
}

// recordEvents records the order's event in tx.
func recordOrder(ctx context.Context, tx store.Tx, o *tender.Order, typ string) error {
	return event.Record(ctx, tx, tender.Scope{AccountID: o.AccountID, Mode: o.Mode}, typ, o)
}
