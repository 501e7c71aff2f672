package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/store"
)

// work is one claimed delivery, ready to attempt.
type work struct {
	d         *tender.Delivery
	ep        *tender.WebhookEndpoint
	ev        *tender.Event
	dl        Dialect
	claimedAt time.Time
}

// result is what one attempt of a work found.
type result struct {
	w       *work
	start   time.Time
	latency time.Duration
	status  int
	excerpt string
	errText string
	outcome string
	local   bool // failed before sending: not the endpoint's fault
	aborted bool // cancelled by Stop before a response: not recorded
	// skipped says why the delivery was cancelled instead of attempted:
	// its endpoint was disabled or deleted while it waited for a slot.
	skipped string
}

// cancelled marks d cancelled, for why, and returns it.
func cancelled(d *tender.Delivery, why string, now time.Time) *tender.Delivery {
	d.State, d.LastError, d.UpdatedAt = tender.DeliveryCancelled, why, now
	return d
}

func cancelDelivery(ctx context.Context, tx store.Tx, d *tender.Delivery, why string, now time.Time) error {
	return tx.UpdateDelivery(ctx, cancelled(d, why, now))
}

// attempt makes one HTTP attempt of w. It never fails: what went wrong is
// in the result.
func (e *Engine) attempt(ctx context.Context, w *work) *result {
	r := &result{w: w, start: time.Now()}
	if r.start.Sub(w.claimedAt) > recheckAfter {
		if r.skipped = e.recheck(ctx, w); r.skipped != "" {
			return r
		}
	}
	if f := e.opts.Metrics.FirstAttempt; f != nil && w.d.Attempts == 0 {
		f(r.start.Sub(w.ev.CreatedAt))
	}
	defer func() {
		if f := e.opts.Metrics.Attempt; f != nil && !r.aborted {
			f(w.ep.Dialect, r.outcome, r.latency)
		}
	}()
	localErr := func(format string, args ...any) *result {
		r.local, r.outcome = true, OutcomeLocalError
		r.errText = "tender: " + fmt.Sprintf(format, args...)
		r.latency = time.Since(r.start)
		return r
	}
	body, err := w.dl.Payload(w.ev, EventName(w.dl, w.ev))
	if err != nil {
		return localErr("render the payload: %v", err)
	}
	if e.opts.OpenSecret == nil {
		return localErr("no secret opener is configured")
	}
	secret, err := e.opts.OpenSecret(w.ep.SecretSealed)
	if err != nil {
		return localErr("open the endpoint's secret: %v", err)
	}
	hdr, err := w.dl.Sign(secret, w.ev.ID, time.Now(), body)
	if err != nil {
		return localErr("sign: %v", err)
	}
	// The URL's shape only: its addresses are checked as they are dialled
	// (DialGuard), which also covers names that resolve to internal ones.
	if err := CheckURL(w.ep.URL, true); err != nil {
		r.outcome, r.errText = OutcomeNetworkError, "refused: "+tender.ErrorMessage(err)
		r.latency = time.Since(r.start)
		return r
	}

	rctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.ep.URL, bytes.NewReader(body))
	if err != nil {
		return localErr("build the request: %v", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	resp, err := e.client.Do(req)
	if err != nil {
		r.latency = time.Since(r.start)
		if ctx.Err() != nil {
			r.aborted = true
			return r
		}
		r.outcome, r.errText = OutcomeNetworkError, describe(err, rctx, e.opts.Timeout)
		return r
	}
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseRead))
	resp.Body.Close()
	r.latency = time.Since(r.start)
	r.status, r.excerpt = resp.StatusCode, excerpt(buf)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		r.outcome = OutcomeSucceeded
	} else {
		r.outcome = OutcomeHTTPError
	}
	return r
}

// recheckAfter is how long a claimed delivery may wait for a slot before
// its endpoint is read again, just before the attempt.
const recheckAfter = time.Second

// recheck reads w's endpoint again, after w waited for a slot: it returns
// why w must not be sent (the endpoint was disabled or deleted meanwhile),
// or "" after taking the endpoint's current URL and secret.
func (e *Engine) recheck(ctx context.Context, w *work) string {
	var ep *tender.WebhookEndpoint
	err := e.store.Read(ctx, func(tx store.Tx) (err error) {
		ep, err = tx.FindWebhookEndpointByID(ctx, tender.Scope{AccountID: w.d.AccountID, Mode: w.d.Mode}, w.d.EndpointID)
		return err
	})
	switch {
	case tender.ErrorCode(err) == tender.ENOTFOUND:
		return "the endpoint was deleted"
	case err != nil:
		return "" // send with what the claim read
	case !ep.Enabled:
		return "the endpoint is disabled"
	}
	w.ep = ep
	return ""
}

// excerpt returns the first MaxExcerpt bytes of body as valid UTF-8.
func excerpt(body []byte) string {
	if len(body) > MaxExcerpt {
		body = body[:MaxExcerpt]
	}
	return strings.ToValidUTF8(string(body), "")
}

// describe turns a client error into a short message for the delivery log,
// without the URL (whose query may hold a token).
func describe(err error, rctx context.Context, timeout time.Duration) string {
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return strings.ToValidUTF8(msg, "")
}

// record writes the outcomes of attempts, many per transaction, and frees
// their slots. It returns when results is closed and drained.
func (e *Engine) record(results <-chan *result) {
	maxBatch := e.maxInMemory()
	for r := range results {
		batch := []*result{r}
	more:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		// The slots were freed as the requests finished; the leases hold
		// the deliveries until their outcomes are recorded.
		e.release(batch)
		e.recordBatch(batch, true)
		poke(e.claimWake)
	}
}

// recordBatch records the outcomes of batch in one transaction. With
// refill, the same transaction claims deliveries for the slots freed, so
// that a busy engine commits once per round.
func (e *Engine) recordBatch(batch []*result, refill bool) {
	var todo []*result
	for _, r := range batch {
		if !r.aborted {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return
	}
	n := 0
	var snap claimSnapshot
	if refill && e.sched.claimMu.TryLock() {
		// Claim in this transaction, unless a claim runs already.
		defer e.sched.claimMu.Unlock()
		if n = e.claimSize(); n > 0 {
			snap = e.snapshot()
		}
	}
	var c claimRun
	var disabled map[string]bool
	ctx := context.Background()
	start := time.Now()
	err := e.write(ctx, func(tx store.Tx) error {
		rec := newRecording()
		for _, r := range todo {
			if err := e.apply(ctx, tx, r, rec); err != nil {
				return fmt.Errorf("delivery %s: %w", r.w.d.ID, err)
			}
		}
		if err := e.flush(ctx, tx, rec); err != nil {
			return err
		}
		disabled = rec.disabled
		if n <= 0 {
			return nil
		}
		var err error
		c, err = e.claimTx(ctx, tx, n, snap)
		return err
	})
	if err == nil {
		if n > 0 {
			e.noteClaim(time.Since(start))
			e.afterClaim(c)
		}
		if len(disabled) > 0 {
			e.cancelHeld(ctx, disabled)
		}
		return
	}
	if len(todo) > 1 || n > 0 {
		// Record the others even if one cannot be.
		for _, r := range todo {
			e.recordBatch([]*result{r}, false)
		}
		return
	}
	// The lease lapses and the delivery is attempted again.
	e.log.Error("record webhook attempt", "delivery", todo[0].w.d.ID, "err", err)
}

// recording is what the outcomes of a batch of attempts write, gathered so
// that a batch costs a few statements whatever its size: its attempt rows,
// its deliveries' new states, the endpoints whose health changed (once
// each), and the endpoints to disable.
type recording struct {
	attempts   []*tender.DeliveryAttempt
	deliveries []*tender.Delivery
	endpoints  []*tender.WebhookEndpoint
	changed    map[string]bool
	disables   []disabling
	disabled   map[string]bool
}

type disabling struct {
	ep     *tender.WebhookEndpoint
	reason string
}

func newRecording() *recording {
	return &recording{changed: make(map[string]bool), disabled: make(map[string]bool)}
}

// touch notes that ep changed and must be written.
func (rec *recording) touch(ep *tender.WebhookEndpoint) {
	if !rec.changed[ep.ID] {
		rec.changed[ep.ID] = true
		rec.endpoints = append(rec.endpoints, ep)
	}
}

// disable turns ep off for reason at once, so that the batch's later
// outcomes see it off, and notes the rest of disabling it for flush.
func (rec *recording) disable(ep *tender.WebhookEndpoint, reason string, now time.Time) {
	ep.Enabled, ep.DisabledReason, ep.UpdatedAt = false, reason, now
	rec.disabled[ep.ID] = true
	rec.disables = append(rec.disables, disabling{ep, reason})
}

// apply works out what one attempt records and its consequences (the
// attempt row, the delivery's new state and schedule, the endpoint's
// health) into rec, in the order of the batch: an endpoint is read once per
// transaction and its changes are seen by the outcomes after.
func (e *Engine) apply(ctx context.Context, tx store.Tx, r *result, rec *recording) error {
	now := tx.Now()
	d := *r.w.d
	if r.skipped != "" {
		rec.deliveries = append(rec.deliveries, cancelled(&d, r.skipped, now))
		return nil
	}
	d.Attempts++
	d.LastStatus, d.LastError, d.UpdatedAt = r.status, r.errText, now
	rec.attempts = append(rec.attempts, &tender.DeliveryAttempt{ID: tender.NewID(tender.PrefixAttempt, now),
		DeliveryID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, Attempt: d.Attempts, StatusCode: r.status,
		LatencyMillis: r.latency.Milliseconds(), ResponseExcerpt: r.excerpt, Error: r.errText, CreatedAt: now})
	sc := tender.Scope{AccountID: d.AccountID, Mode: d.Mode}
	ep, err := tx.FindWebhookEndpointByID(ctx, sc, d.EndpointID)
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		ep = nil
	} else if err != nil {
		return err
	}
	switch {
	case r.outcome == OutcomeSucceeded:
		d.State, d.SucceededAt = tender.DeliverySucceeded, &now
		rec.deliveries = append(rec.deliveries, &d)
		if ep != nil && ep.FailingSince != nil {
			ep.FailingSince, ep.UpdatedAt = nil, now
			rec.touch(ep)
		}
		return nil
	case ep == nil:
		rec.deliveries = append(rec.deliveries, cancelled(&d, "the endpoint was deleted", now))
		return nil
	case r.status == http.StatusGone:
		d.State = tender.DeliveryFailed
		rec.deliveries = append(rec.deliveries, &d)
		if ep.Enabled {
			rec.disable(ep, "the endpoint answered 410 Gone", now)
		}
		return nil
	case !ep.Enabled:
		rec.deliveries = append(rec.deliveries, cancelled(&d, "the endpoint is disabled", now))
		return nil
	}
	if delay, ok := e.backoff(d.Attempts); ok {
		d.NextAt = now.Add(delay)
	} else {
		d.State = tender.DeliveryFailed
	}
	rec.deliveries = append(rec.deliveries, &d)
	if r.local {
		return nil
	}
	switch {
	case ep.FailingSince == nil:
		ep.FailingSince, ep.UpdatedAt = &now, now
		rec.touch(ep)
	case now.Sub(*ep.FailingSince) >= e.opts.DisableAfter:
		rec.disable(ep, fmt.Sprintf("every delivery failed for %s, since %s",
			e.opts.DisableAfter, ep.FailingSince.Format(time.RFC3339)), now)
	}
	return nil
}

// flush writes rec in tx: the attempts in one statement, the deliveries in
// one, each changed endpoint once, then the disablings, whose cancelling of
// pending deliveries must see the deliveries' new states.
func (e *Engine) flush(ctx context.Context, tx store.Tx, rec *recording) error {
	if err := tx.CreateDeliveryAttempts(ctx, rec.attempts); err != nil {
		return err
	}
	if err := tx.UpdateDeliveries(ctx, rec.deliveries); err != nil {
		return err
	}
	for _, ep := range rec.endpoints {
		if rec.disabled[ep.ID] {
			continue // written by disable below
		}
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return err
		}
	}
	now := tx.Now()
	for _, dis := range rec.disables {
		if err := e.disable(ctx, tx, dis.ep, dis.reason, now); err != nil {
			return err
		}
	}
	return nil
}

// cancelScan bounds how many of an endpoint's newest deliveries disable
// looks through for pending ones; older ones are cancelled when claimed.
const cancelScan = 1000

// disable turns ep off for reason, records a webhook_endpoint.disabled
// event, and cancels the endpoint's pending deliveries.
func (e *Engine) disable(ctx context.Context, tx store.Tx, ep *tender.WebhookEndpoint, reason string, now time.Time) error {
	ep.Enabled, ep.DisabledReason, ep.UpdatedAt = false, reason, now
	if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
		return err
	}
	sc := tender.Scope{AccountID: ep.AccountID, Mode: ep.Mode}
	snap := *ep
	snap.SecretSealed = ""
	if err := event.Record(ctx, tx, sc, tender.EventEndpointDisabled, &snap); err != nil {
		return err
	}
	e.log.Warn("webhook endpoint disabled", "endpoint", ep.ID, "account", ep.AccountID, "reason", reason)
	p := tender.Page{Limit: 200}
	var pending []*tender.Delivery
	for scanned := 0; scanned < cancelScan; {
		ds, more, err := tx.ListDeliveriesByEndpoint(ctx, sc, ep.ID, p)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.State == tender.DeliveryPending {
				pending = append(pending, cancelled(d, "the endpoint was disabled: "+reason, now))
			}
		}
		scanned += len(ds)
		if !more || len(ds) == 0 {
			break
		}
		p.StartingAfter = ds[len(ds)-1].ID
	}
	return tx.UpdateDeliveries(ctx, pending)
}
