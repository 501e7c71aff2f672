package forward

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/tenderpay/tender"
)

// Forward renders times as ISO-8601 UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// object returns raw, or {} when it is empty.
func object(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(`{}`)
	}
	return raw
}

func list(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(`[]`)
	}
	return raw
}

// businessID and partnerID render an organization under Forward's prefixes.
func businessID(orgID string) string {
	return tender.ReplacePrefix(orgID, tender.PrefixOrganization, "bus_")
}
func partnerID(orgID string) string {
	return tender.ReplacePrefix(orgID, tender.PrefixOrganization, "par_")
}

// FlexInt decodes a JSON integer or a string of digits (card expiry fields
// arrive both ways).
type FlexInt int

// UnmarshalJSON accepts 12 or "12".
func (f *FlexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: intType}
		}
		*f = FlexInt(n)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = FlexInt(n)
	return nil
}

// ---- responses ----

type wireIntent struct {
	ID                 string          `json:"id"`
	ClientSecret       string          `json:"client_secret"`
	Entity             string          `json:"entity"`
	Status             string          `json:"status"`
	Amount             int64           `json:"amount"`
	MerchantAmount     *int64          `json:"merchant_amount"`
	AmountAuthorized   int64           `json:"amount_authorized"`
	AmountCaptured     int64           `json:"amount_captured"`
	AmountRefunded     int64           `json:"amount_refunded"`
	AmountVoided       int64           `json:"amount_voided"`
	AmountDisputed     int64           `json:"amount_disputed"`
	AmountReversed     int64           `json:"amount_reversed"`
	PaymentSplits      json.RawMessage `json:"payment_splits"`
	OrderDetails       json.RawMessage `json:"order_details"`
	Capture            bool            `json:"capture"`
	Currency           string          `json:"currency"`
	LatestPayment      *wirePayment    `json:"latest_payment"`
	Disputed           bool            `json:"disputed"`
	DisputeID          *string         `json:"dispute_id"`
	Reversed           bool            `json:"reversed"`
	ReversalID         *string         `json:"reversal_id"`
	External           bool            `json:"external"`
	PartnerID          string          `json:"partner_id"`
	BusinessID         string          `json:"business_id"`
	AccountID          string          `json:"account_id"`
	PaymentMethodTypes []string        `json:"payment_method_types"`
	ReferenceID        *string         `json:"reference_id"`
	UserFields         json.RawMessage `json:"user_fields"`
	CancellationReason *string         `json:"cancellation_reason"`
	Description        *string         `json:"description"`
	CreatedAt          string          `json:"created_at"`
	UpdatedAt          string          `json:"updated_at"`
	CancelledAt        *string         `json:"cancelled_at"`
	CapturedAt         *string         `json:"captured_at"`
	SettlementStatus   string          `json:"settlement_status"`
	SettledAt          *string         `json:"settled_at"`
}

func renderIntent(sc tender.Scope, pi *tender.PaymentIntent, latest *wirePayment, clientSecret string) *wireIntent {
	return &wireIntent{
		ID: pi.ID, ClientSecret: clientSecret, Entity: "payment_intent", Status: pi.Status, Amount: pi.Amount,
		MerchantAmount: pi.MerchantAmount, AmountAuthorized: pi.AmountAuthorized, AmountCaptured: pi.AmountCaptured,
		AmountRefunded: pi.AmountRefunded, AmountVoided: pi.AmountVoided, AmountDisputed: pi.AmountDisputed,
		PaymentSplits: list(pi.PaymentSplits), OrderDetails: object(pi.OrderDetails), Capture: pi.Capture,
		Currency: string(pi.Currency), LatestPayment: latest, Disputed: pi.Disputed, DisputeID: strPtr(pi.DisputeID),
		External: pi.External, PartnerID: partnerID(sc.OrganizationID), BusinessID: businessID(sc.OrganizationID),
		AccountID: pi.AccountID, PaymentMethodTypes: pi.PaymentMethodTypes, ReferenceID: strPtr(pi.ReferenceID),
		UserFields: object(pi.Metadata), CancellationReason: strPtr(pi.CancellationReason), Description: strPtr(pi.Description),
		CreatedAt: ts(pi.CreatedAt), UpdatedAt: ts(pi.UpdatedAt), CancelledAt: tsPtr(pi.CancelledAt),
		CapturedAt: tsPtr(pi.CapturedAt), SettlementStatus: pi.SettlementStatus, SettledAt: tsPtr(pi.SettledAt),
	}
}

type wirePayment struct {
	ID                     string             `json:"id"`
	Entity                 string             `json:"entity"`
	Status                 string             `json:"status"`
	BillingDetails         *wireBilling       `json:"billing_details"`
	Amount                 int64              `json:"amount"`
	AmountAuthorized       int64              `json:"amount_authorized"`
	AmountCaptured         int64              `json:"amount_captured"`
	AmountRefunded         int64              `json:"amount_refunded"`
	AmountVoided           int64              `json:"amount_voided"`
	AmountDisputed         int64              `json:"amount_disputed"`
	AmountReversed         int64              `json:"amount_reversed"`
	CVV                    *string            `json:"cvv"`
	AVS                    *string            `json:"avs"`
	AddressLine1Check      string             `json:"address_line1_check"`
	AddressPostalCodeCheck string             `json:"address_postal_code_check"`
	CVVCheck               string             `json:"cvv_check"`
	EntryMode              string             `json:"entry_mode"`
	Reversed               bool               `json:"reversed"`
	ReversalID             *string            `json:"reversal_id"`
	Disputed               bool               `json:"disputed"`
	DisputeID              *string            `json:"dispute_id"`
	OrderDetails           json.RawMessage    `json:"order_details"`
	PaymentIntentID        string             `json:"payment_intent_id"`
	PaymentMethodID        string             `json:"payment_method_id"`
	PaymentMethod          *wirePaymentMethod `json:"payment_method"`
	AuthCode               *string            `json:"auth_code"`
	AuthResponseText       *string            `json:"auth_response_text"`
	DeclineCode            *string            `json:"decline_code"`
	External               bool               `json:"external"`
	CardPresent            bool               `json:"card_present"`
	CreatedAt              string             `json:"created_at"`
	UpdatedAt              string             `json:"updated_at"`
	AccountID              string             `json:"account_id"`
	ReferenceID            *string            `json:"reference_id"`
	UserFields             json.RawMessage    `json:"user_fields"`
	Description            *string            `json:"description"`
	SettlementStatus       string             `json:"settlement_status"`
	SettledAt              *string            `json:"settled_at"`
}

// check renders an AVS or CVV result as pass, fail or unavailable.
func check(result, pass string) string {
	switch {
	case result == "":
		return "unavailable"
	case result == pass:
		return "pass"
	}
	return "fail"
}

func renderPayment(p *tender.Payment, pm *tender.PaymentMethod) *wirePayment {
	w := &wirePayment{
		ID: p.ID, Entity: "payment", Status: p.Status, BillingDetails: renderBilling(p.BillingDetails), Amount: p.Amount,
		AmountAuthorized: p.AmountAuthorized, AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded,
		AmountVoided: p.AmountVoided, AmountDisputed: p.AmountDisputed, CVV: strPtr(p.CVVResult), AVS: strPtr(p.AVSResult),
		AddressLine1Check: check(p.AVSResult, "Y"), AddressPostalCodeCheck: check(p.AVSResult, "Y"), CVVCheck: check(p.CVVResult, "M"),
		EntryMode: "keyed", Disputed: p.Disputed, DisputeID: strPtr(p.DisputeID), OrderDetails: object(p.OrderDetails),
		PaymentIntentID: p.PaymentIntentID, PaymentMethodID: p.PaymentMethodID, AuthCode: strPtr(p.AuthCode),
		AuthResponseText: strPtr(p.ResponseText), DeclineCode: strPtr(p.DeclineCode), External: p.External, CardPresent: p.CardPresent,
		CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt), AccountID: p.AccountID, ReferenceID: strPtr(p.ReferenceID),
		UserFields: object(p.Metadata), Description: strPtr(p.Description), SettlementStatus: p.SettlementStatus,
		SettledAt: tsPtr(p.SettledAt),
	}
	if pm != nil {
		w.PaymentMethod = renderPaymentMethod(pm)
	}
	return w
}

type wireAddress struct {
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	City       *string `json:"city"`
	State      *string `json:"state"`
	PostalCode *string `json:"postal_code"`
	Country    *string `json:"country"`
}

type wireBilling struct {
	Address *wireAddress `json:"address"`
	Email   *string      `json:"email"`
	Name    *string      `json:"name"`
	Phone   *string      `json:"phone"`
}

func renderBilling(b *tender.BillingDetails) *wireBilling {
	if b == nil {
		return nil
	}
	w := &wireBilling{Email: strPtr(b.Email), Name: strPtr(b.Name), Phone: strPtr(b.Phone)}
	if a := b.Address; a != nil {
		w.Address = &wireAddress{Line1: strPtr(a.Line1), Line2: strPtr(a.Line2), City: strPtr(a.City), State: strPtr(a.State),
			PostalCode: strPtr(a.PostalCode), Country: strPtr(a.Country)}
	}
	return w
}

type wireCard struct {
	FirstSixDigits string `json:"first_six_digits"`
	LastFourDigits string `json:"last_four_digits"`
	Brand          string `json:"brand"`
	ExpMonth       string `json:"exp_month"`
	ExpYear        string `json:"exp_year"`
	Fingerprint    string `json:"fingerprint"`
}

type wireBank struct {
	MaskedAccount string  `json:"masked_account"`
	MaskedRouting string  `json:"masked_routing"`
	AccountType   *string `json:"account_type"`
	Fingerprint   string  `json:"fingerprint"`
}

type wirePaymentMethod struct {
	ID                string       `json:"id"`
	Entity            string       `json:"entity"`
	CreatedAt         string       `json:"created_at"`
	UpdatedAt         string       `json:"updated_at"`
	PaymentMethodType string       `json:"payment_method_type"`
	SourceType        *string      `json:"source_type"`
	BillingDetails    *wireBilling `json:"billing_details"`
	SingleUseToken    bool         `json:"single_use_token"`
	Card              *wireCard    `json:"card,omitempty"`
	Bank              *wireBank    `json:"bank,omitempty"`
}

func renderPaymentMethod(pm *tender.PaymentMethod) *wirePaymentMethod {
	w := &wirePaymentMethod{ID: pm.ID, Entity: "payment_method", CreatedAt: ts(pm.CreatedAt), UpdatedAt: ts(pm.UpdatedAt),
		PaymentMethodType: pm.Type, SourceType: strPtr(pm.SourceType), BillingDetails: renderBilling(pm.BillingDetails)}
	if c := pm.Card; c != nil {
		w.Card = &wireCard{FirstSixDigits: c.FirstSix, LastFourDigits: c.LastFour, Brand: c.Brand,
			ExpMonth: strconv.Itoa(c.ExpMonth), ExpYear: strconv.Itoa(c.ExpYear), Fingerprint: c.Fingerprint}
	}
	if b := pm.Bank; b != nil {
		w.Bank = &wireBank{MaskedAccount: b.MaskedAccount, MaskedRouting: b.MaskedRouting, AccountType: strPtr(b.AccountType), Fingerprint: b.Fingerprint}
	}
	return w
}

type wireRefund struct {
	ID               string  `json:"id"`
	Entity           string  `json:"entity"`
	Status           string  `json:"status"`
	External         bool    `json:"external"`
	Amount           int64   `json:"amount"`
	Currency         string  `json:"currency"`
	Reason           *string `json:"reason"`
	AccountID        string  `json:"account_id"`
	PaymentID        string  `json:"payment_id"`
	PaymentIntentID  string  `json:"payment_intent_id"`
	CreatedAt        string  `json:"created_at"`
	UpdatedAt        string  `json:"updated_at"`
	SettlementStatus string  `json:"settlement_status"`
	SettledAt        *string `json:"settled_at"`
}

func renderRefund(r *tender.Refund) *wireRefund {
	return &wireRefund{ID: r.ID, Entity: "refund", Status: r.Status, External: r.External, Amount: r.Amount,
		Currency: string(r.Currency), Reason: strPtr(r.Reason), AccountID: r.AccountID, PaymentID: r.PaymentID,
		PaymentIntentID: r.PaymentIntentID, CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt),
		SettlementStatus: r.SettlementStatus, SettledAt: tsPtr(r.SettledAt)}
}

// listEnvelope is Forward's list shape.
type listEnvelope struct {
	Data any      `json:"data"`
	Meta listMeta `json:"meta"`
}

type listMeta struct {
	Page    *int `json:"page,omitempty"`
	Size    int  `json:"size"`
	Limit   int  `json:"limit"`
	HasMore bool `json:"has_more"`
}

// ---- requests ----

type wireBillingIn struct {
	Address *struct {
		Line1      string `json:"line1"`
		Line2      string `json:"line2"`
		City       string `json:"city"`
		State      string `json:"state"`
		PostalCode string `json:"postal_code"`
		Country    string `json:"country"`
	} `json:"address"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

func (b *wireBillingIn) core() *tender.BillingDetails {
	if b == nil {
		return nil
	}
	out := &tender.BillingDetails{Email: b.Email, Name: b.Name, Phone: b.Phone}
	if a := b.Address; a != nil {
		out.Address = &tender.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
	}
	return out
}

type intentCreateRequest struct {
	Amount             *int64          `json:"amount"`
	MerchantAmount     *int64          `json:"merchant_amount"`
	PaymentSplits      json.RawMessage `json:"payment_splits"`
	OrderDetails       json.RawMessage `json:"order_details"`
	Capture            *bool           `json:"capture"`
	Currency           string          `json:"currency"`
	ReferenceID        string          `json:"reference_id"`
	UserFields         json.RawMessage `json:"user_fields"`
	Description        string          `json:"description"`
	PaymentMethodTypes []string        `json:"payment_method_types"`
}

type intentUpdateRequest struct {
	Amount             *int64          `json:"amount"`
	MerchantAmount     *int64          `json:"merchant_amount"`
	PaymentSplits      json.RawMessage `json:"payment_splits"`
	OrderDetails       json.RawMessage `json:"order_details"`
	Capture            *bool           `json:"capture"`
	PaymentMethodTypes []string        `json:"payment_method_types"`
	ReferenceID        *string         `json:"reference_id"`
	UserFields         json.RawMessage `json:"user_fields"`
	Description        *string         `json:"description"`
}

type cancelRequest struct {
	CancellationReason string `json:"cancellation_reason"`
}

type captureRequest struct {
	Amount        *int64          `json:"amount"`
	PaymentSplits json.RawMessage `json:"payment_splits"`
}

type paymentCreateRequest struct {
	PaymentMethodID string          `json:"payment_method_id"`
	BillingDetails  *wireBillingIn  `json:"billing_details"`
	ReferenceID     string          `json:"reference_id"`
	UserFields      json.RawMessage `json:"user_fields"`
	Description     string          `json:"description"`
	OrderDetails    json.RawMessage `json:"order_details"`
	CVV2            string          `json:"cvv2"`
}

type refundCreateRequest struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

type paymentMethodCreateRequest struct {
	PaymentMethodType string `json:"payment_method_type"`
	Card              *struct {
		Number   string  `json:"number"`
		ExpMonth FlexInt `json:"exp_month"`
		ExpYear  FlexInt `json:"exp_year"`
		CVV      string  `json:"cvv"`
	} `json:"card"`
	Bank *struct {
		AccountNumber string `json:"account_number"`
		RoutingNumber string `json:"routing_number"`
		AccountType   string `json:"account_type"`
	} `json:"bank"`
	BillingDetails *wireBillingIn `json:"billing_details"`
}

type paymentMethodUpdateRequest struct {
	BillingDetails *wireBillingIn `json:"billing_details"`
	Card           *struct {
		ExpMonth *FlexInt `json:"exp_month"`
		ExpYear  *FlexInt `json:"exp_year"`
	} `json:"card"`
}

type searchRequest struct {
	ReferenceID      string `json:"reference_id"`
	Status           string `json:"status"`
	SettlementStatus string `json:"settlement_status"`
	PaymentStatus    string `json:"payment_status"`
	HasRefund        *bool  `json:"has_refund"`
	StartDate        string `json:"start_date"`
	EndDate          string `json:"end_date"`
	AmountMin        *int64 `json:"amount_min"`
	AmountMax        *int64 `json:"amount_max"`
	SortColumn       string `json:"sort_column"`
	SortDirection    string `json:"sort_direction"`
	Limit            *int   `json:"limit"`
	Page             *int   `json:"page"`
}

type externalPaymentRequest struct {
	PaymentIntent *intentCreateRequest `json:"payment_intent"`
	PaymentMethod *struct {
		PaymentMethodType string         `json:"payment_method_type"`
		SourceType        string         `json:"source_type"`
		BillingDetails    *wireBillingIn `json:"billing_details"`
		Card              *struct {
			LastFourDigits string  `json:"last_four_digits"`
			FirstSixDigits string  `json:"first_six_digits"`
			Brand          string  `json:"brand"`
			ExpMonth       FlexInt `json:"exp_month"`
			ExpYear        FlexInt `json:"exp_year"`
			Token          string  `json:"token"`
		} `json:"card"`
		Bank *struct {
			MaskedAccount string `json:"masked_account"`
			MaskedRouting string `json:"masked_routing"`
			Token         string `json:"token"`
		} `json:"bank"`
	} `json:"payment_method"`
	GatewayResponse json.RawMessage `json:"gateway_response"`
	CardPresent     bool            `json:"card_present"`
}

type externalCaptureRequest struct {
	Amount                 *int64          `json:"amount"`
	GatewayCaptureResponse json.RawMessage `json:"gateway_capture_response"`
}

type externalCancelRequest struct {
	GatewayVoidResponse json.RawMessage `json:"gateway_void_response"`
	CancellationReason  string          `json:"cancellation_reason"`
}

type externalRefundRequest struct {
	PaymentIntentID string `json:"payment_intent_id"`
	RefundRequest   *struct {
		Amount *int64 `json:"amount"`
	} `json:"refund_request"`
	GatewayResponse json.RawMessage `json:"gateway_response"`
}
