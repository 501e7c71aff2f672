// Package customprovider speaks HighLevel's custom payment provider
// protocol: tender, in HighLevel's place, POSTs JSON to a provider's
// queryUrl with a "type" (verify, charge_payment, refund,
// list_payment_methods, create_subscription, cancel_subscription) and the
// mode's apiKey, and reads the provider's answer. Processor routes a
// location's payments of a mode to its connected provider, and every other
// payment to a fallback processor (the sim).
//
// # Safety
//
// Every call has a timeout (Client.Timeout) and reads at most
// MaxResponseBytes of the answer. Calls go through the webhook dial guard
// (no loopback or private address unless allowed, no proxy) and follow no
// redirect. Nothing is retried by tender: every money call carries
// tender's own id (transactionId is the payment's id, refundId the
// refund's), so a provider can recognise a repeat. A charge whose outcome
// is unknown (a timeout or a 5xx after the request left) is never charged
// again: it is verified, and left pending for the settle job to verify
// again when the provider does not say. The API key never appears in an
// error, a log line or an event.
package customprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/provider"
	"github.com/tenderpay/tender/webhook"
)

// Query types of the protocol.
const (
	TypeVerify             = "verify"
	TypeChargePayment      = "charge_payment"
	TypeRefund             = "refund"
	TypeListPaymentMethods = "list_payment_methods"
	TypeCreateSubscription = "create_subscription"
	TypeCancelSubscription = "cancel_subscription"
)

// MaxResponseBytes bounds how much of a provider's answer is read; a
// longer answer is a failed call.
const MaxResponseBytes = 64 << 10

// DefaultTimeout bounds each call when Client.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Client calls providers' queryUrls.
type Client struct {
	HTTP    *http.Client
	Timeout time.Duration
	Log     *slog.Logger
}

// NewClient returns a Client whose connections pass the webhook dial guard
// (internal addresses refused unless allowPrivate), with no proxy and no
// redirects, each call bounded by timeout (DefaultTimeout when zero).
func NewClient(allowPrivate bool, timeout time.Duration, log *slog.Logger) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: webhook.DialGuard(allowPrivate)}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: timeout,
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{HTTP: &http.Client{Transport: tr, CheckRedirect: noRedirect}, Timeout: timeout, Log: log}
}

// callError is a failed call. Unsent reports that the request never left
// (no connection could be made), so the provider did nothing; otherwise
// the provider may have acted on it. Refused reports a definite refusal
// (a 3xx or 4xx answer).
type callError struct {
	Unsent  bool
	Refused bool
	Status  int
	Msg     string
}

func (e *callError) Error() string { return e.Msg }

// asCallError returns err's callError, if any.
func asCallError(err error) (*callError, bool) {
	var ce *callError
	ok := errors.As(err, &ce)
	return ce, ok
}

// call POSTs body (which must carry the type and apiKey) to ep's queryUrl
// and decodes a 2xx answer into out. Failures are *callError; their
// messages name the provider and the query type, never the key or the
// body.
func (c *Client) call(ctx context.Context, ep *provider.Endpoint, typ string, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.QueryURL, bytes.NewReader(b))
	if err != nil {
		return &callError{Unsent: true, Msg: fmt.Sprintf("custom provider %s: bad queryUrl", ep.ProviderID)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tender-customprovider/1")
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		unsent := dialFailed(err)
		what := "did not answer in time"
		switch {
		case unsent && errors.Is(err, webhook.ErrInternalAddress):
			what = "is at an internal address, which this server does not call (start tender with --webhooks-allow-private to allow it)"
		case unsent:
			what = "could not be reached"
		case !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			what = "failed mid-call"
		}
		c.Log.Warn("custom provider call failed", "provider", ep.ProviderID, "type", typ, "mode", ep.Mode,
			"unsent", unsent, "elapsed_ms", time.Since(start).Milliseconds(), "err", redact(err.Error(), ep))
		return &callError{Unsent: unsent, Msg: fmt.Sprintf("custom provider %s %s (%s)", ep.ProviderID, what, typ)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	switch {
	case err != nil:
		return &callError{Status: resp.StatusCode, Msg: fmt.Sprintf("custom provider %s: reading its %s answer failed", ep.ProviderID, typ)}
	case len(raw) > MaxResponseBytes:
		return &callError{Status: resp.StatusCode, Msg: fmt.Sprintf("custom provider %s: its %s answer exceeds %d bytes", ep.ProviderID, typ, MaxResponseBytes)}
	}
	c.Log.Debug("custom provider call", "provider", ep.ProviderID, "type", typ, "mode", ep.Mode, "status", resp.StatusCode,
		"elapsed_ms", time.Since(start).Milliseconds())
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 500:
		return &callError{Refused: true, Status: resp.StatusCode, Msg: fmt.Sprintf("custom provider %s refused %s with HTTP %d%s",
			ep.ProviderID, typ, resp.StatusCode, messageOf(raw, ep))}
	case resp.StatusCode >= 500:
		return &callError{Status: resp.StatusCode, Msg: fmt.Sprintf("custom provider %s failed %s with HTTP %d", ep.ProviderID, typ, resp.StatusCode)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &callError{Status: resp.StatusCode, Msg: fmt.Sprintf("custom provider %s: its %s answer is not the expected JSON", ep.ProviderID, typ)}
	}
	return nil
}

// dialFailed reports whether err happened while connecting, before
// anything was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// redact removes ep's API key from s (a transport error never holds it,
// but a log line must not depend on that).
func redact(s string, ep *provider.Endpoint) string {
	if k := ep.APIKey.Reveal(); k != "" {
		s = strings.ReplaceAll(s, k, "[redacted]")
	}
	return s
}

// messageOf returns ": <message>" from an answer's "message" or "error"
// string, clipped and without the API key, or "".
func messageOf(raw []byte, ep *provider.Endpoint) string {
	var m struct {
		Message any `json:"message"`
		Error   any `json:"error"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, v := range []any{m.Message, m.Error} {
		if s, ok := v.(string); ok && s != "" {
			return ": " + clip(redact(s, ep), 200)
		}
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ---- wire values ----

// flexBool reads a JSON boolean, or the strings "true" and "false"
// (HighLevel's own examples quote booleans).
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true":
		*b = true
	case "false", "null", "":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", data)
	}
	return nil
}

// flexString reads a JSON string or number as its text (ids and amounts
// come as either).
type flexString string

func (s *flexString) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if string(data) == "null" {
		*s = ""
		return nil
	}
	if _, err := strconv.ParseFloat(string(data), 64); err != nil {
		return fmt.Errorf("not a string or number: %s", data)
	}
	*s = flexString(data)
	return nil
}

// major renders amount (minor units of c) as a JSON number in major units,
// exactly: 15010 USD → 150.1.
func major(amount int64, c tender.Currency) json.Number {
	s := tender.Money{Amount: amount, Currency: c}.Major()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return json.Number(s)
}
