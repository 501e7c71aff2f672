package testserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// Quirks of HighLevel's provider endpoints (docs/highlevel.md, "Custom and
// white-label providers").
func init() {
	HighLevelQuirks = append(HighLevelQuirks, whiteLabelProvidersArray)
}

// whiteLabelProvidersArray: ListWhitelabelIntegrationProviderResponseDto
// types providers as allOf(IntegrationProviderSchema), a single object,
// while describing it as a "list" (SUMMARY §3.1; the official SDK types it
// any). tender answers an array of IntegrationProviderSchema.
func whiteLabelProvidersArray(doc *openapi3.T) error {
	if doc.Components == nil {
		return nil
	}
	list, item := doc.Components.Schemas["ListWhitelabelIntegrationProviderResponseDto"], doc.Components.Schemas["IntegrationProviderSchema"]
	if list == nil && item == nil {
		return nil // not the payments document
	}
	if list == nil || list.Value == nil || item == nil || list.Value.Properties["providers"] == nil {
		return errors.New("payments.json: ListWhitelabelIntegrationProviderResponseDto.providers or IntegrationProviderSchema is gone; revisit the quirk")
	}
	list.Value.Properties["providers"] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Type:        &openapi3.Types{openapi3.TypeArray},
		Description: "list of integration provider.",
		Items:       item,
	}}
	return nil
}

// FakeProvider is a HighLevel custom payment provider for tests: an
// httptest server on 127.0.0.1 whose queryUrl (its URL) answers the
// protocol's queries (verify, charge_payment, refund, list_payment_methods,
// create_subscription, cancel_subscription) after checking the apiKey, and
// remembers the charges it took. Hooks shape its answers.
type FakeProvider struct {
	*httptest.Server
	// Keys are the accepted API keys; any other gets 401.
	Keys map[string]bool

	mu      sync.Mutex
	queries []ProviderQuery
	charges map[string]*FakeCharge // by transactionId
	seq     int

	// ChargeOutcome decides a charge_payment's status: "succeeded" (the
	// default), "failed" or "pending". With hang, the charge is recorded,
	// then the answer waits until the caller gives up.
	ChargeOutcome func(q ProviderQuery) (status string, hang bool)
	// VerifyHang makes verify wait until the caller gives up.
	VerifyHang atomic.Bool
	// RefuseRefunds answers refunds with {failed: true}.
	RefuseRefunds atomic.Bool
	// RefuseSubscriptions answers create_subscription and
	// cancel_subscription with {failed: true}.
	RefuseSubscriptions atomic.Bool
	// MethodsOf, when set, gives list_payment_methods' answer for a
	// contact; by default every contact has one card, pm_fake_1.
	MethodsOf func(contactID string) []map[string]any
	// SubscriptionStatus, when set, gives create_subscription's status;
	// by default "active".
	SubscriptionStatus func(q ProviderQuery) string
}

// ProviderQuery is one query a FakeProvider received, as decoded JSON.
type ProviderQuery map[string]any

// Str returns a string field of q.
func (q ProviderQuery) Str(k string) string { s, _ := q[k].(string); return s }

// FakeCharge is a charge a FakeProvider took.
type FakeCharge struct {
	TransactionID string
	ChargeID      string
	Status        string
	Amount        string // major units, as received
	Refunded      []string
}

// NewFakeProvider starts a FakeProvider accepting keys, closed when t ends.
func NewFakeProvider(t testing.TB, keys ...string) *FakeProvider {
	f := &FakeProvider{Keys: map[string]bool{}, charges: map[string]*FakeCharge{}}
	for _, k := range keys {
		f.Keys[k] = true
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Server.Close)
	return f
}

// Queries returns the queries received so far.
func (f *FakeProvider) Queries() []ProviderQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ProviderQuery(nil), f.queries...)
}

// QueriesOf returns the queries of one type received so far.
func (f *FakeProvider) QueriesOf(typ string) []ProviderQuery {
	var out []ProviderQuery
	for _, q := range f.Queries() {
		if q.Str("type") == typ {
			out = append(out, q)
		}
	}
	return out
}

// Charge returns the charge of a transaction, or nil.
func (f *FakeProvider) Charge(transactionID string) *FakeCharge {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.charges[transactionID]; c != nil {
		cp := *c
		cp.Refunded = append([]string(nil), c.Refunded...)
		return &cp
	}
	return nil
}

// SetChargeStatus changes a charge's status (the provider settling it).
func (f *FakeProvider) SetChargeStatus(transactionID, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.charges[transactionID]; c != nil {
		c.Status = status
	}
}

func (f *FakeProvider) reply(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func (f *FakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	var q ProviderQuery
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&q) != nil {
		f.reply(w, http.StatusBadRequest, map[string]any{"message": "expected a JSON POST"})
		return
	}
	f.mu.Lock()
	f.queries = append(f.queries, q)
	ok := f.Keys[q.Str("apiKey")]
	f.mu.Unlock()
	if !ok {
		f.reply(w, http.StatusUnauthorized, map[string]any{"message": "invalid apiKey"})
		return
	}
	switch q.Str("type") {
	case "charge_payment":
		status, hang := "succeeded", false
		if f.ChargeOutcome != nil {
			status, hang = f.ChargeOutcome(q)
		}
		f.mu.Lock()
		f.seq++
		c := &FakeCharge{TransactionID: q.Str("transactionId"), ChargeID: fmt.Sprintf("ch_fake_%d", f.seq), Status: status,
			Amount: fmt.Sprint(q["amount"])}
		if prev := f.charges[c.TransactionID]; prev != nil {
			c = prev // the same transaction is never charged twice
		} else {
			f.charges[c.TransactionID] = c
		}
		snap := f.snapshot(c)
		f.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		f.reply(w, http.StatusOK, map[string]any{"success": snap["status"] == "succeeded", "failed": snap["status"] == "failed",
			"message": "charge " + status, "chargeId": c.ChargeID, "chargeSnapshot": snap})
	case "verify":
		if f.VerifyHang.Load() {
			<-r.Context().Done()
			return
		}
		f.mu.Lock()
		c := f.charges[q.Str("transactionId")]
		var snap map[string]any
		if c != nil {
			snap = f.snapshot(c)
		}
		f.mu.Unlock()
		if c == nil {
			f.reply(w, http.StatusOK, map[string]any{"failed": true, "message": "no such transaction"})
			return
		}
		f.reply(w, http.StatusOK, map[string]any{"success": c.Status == "succeeded", "failed": c.Status == "failed", "chargeSnapshot": snap})
	case "refund":
		f.mu.Lock()
		c := f.charges[q.Str("transactionId")]
		if c != nil && !f.RefuseRefunds.Load() {
			c.Refunded = append(c.Refunded, fmt.Sprint(q["amount"]))
		}
		f.mu.Unlock()
		if c == nil || f.RefuseRefunds.Load() {
			f.reply(w, http.StatusOK, map[string]any{"failed": true, "message": "refund refused"})
			return
		}
		f.reply(w, http.StatusOK, map[string]any{"success": true, "message": "refunded", "id": "rf_" + q.Str("refundId")})
	case "list_payment_methods":
		if f.MethodsOf != nil {
			f.reply(w, http.StatusOK, map[string]any{"paymentMethods": f.MethodsOf(q.Str("contactId"))})
			return
		}
		f.reply(w, http.StatusOK, []map[string]any{{"id": "pm_fake_1", "type": "card", "title": "Visa", "subTitle": "**** 4242",
			"expiry": "12/30", "customerId": "cus_" + q.Str("contactId"), "imageUrl": "https://example.com/visa.png"}})
	case "create_subscription", "cancel_subscription":
		if f.RefuseSubscriptions.Load() {
			f.reply(w, http.StatusOK, map[string]any{"failed": true, "message": "subscription refused"})
			return
		}
		if q.Str("type") == "cancel_subscription" {
			f.reply(w, http.StatusOK, map[string]any{"success": true, "subscriptionSnapshot": map[string]any{"status": "canceled"}})
			return
		}
		status := "active"
		if f.SubscriptionStatus != nil {
			status = f.SubscriptionStatus(q)
		}
		f.reply(w, http.StatusOK, map[string]any{"success": true, "subscription": map[string]any{"subscriptionId": "sub_fake_" + q.Str("subscriptionId"),
			"subscriptionSnapshot": map[string]any{"id": "sub_fake_" + q.Str("subscriptionId"), "status": status}}})
	default:
		f.reply(w, http.StatusBadRequest, map[string]any{"message": "unknown type"})
	}
}

// snapshot is a charge's chargeSnapshot; f.mu is held.
func (f *FakeProvider) snapshot(c *FakeCharge) map[string]any {
	return map[string]any{"id": c.ChargeID, "status": c.Status, "amount": json.Number(c.Amount), "chargeId": c.ChargeID,
		"chargedAt": 1700000000}
}
