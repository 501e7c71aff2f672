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
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/event"
	"github.com/tenderpay/tender/store"
)

// work is one claimed delivery, ready to attempt.
type work struct {
	d  *tender.Delivery
	ep *tender.WebhookEndpoint
	ev *tender.Event
	dl Dialect
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
}

// claimLoop claims due deliveries whenever attempt slots are free and
// starts an attempt of each, until ctx ends.
func (e *Engine) claimLoop(ctx, attemptCtx context.Context, attempts *sync.WaitGroup, results chan<- *result) {
	for ctx.Err() == nil {
		wait := e.opts.PollInterval
		if free := e.freeSlots(); free > 0 {
			works, claimed, deferred, err := e.claim(ctx, free)
			for _, w := range works {
				attempts.Add(1)
				go func() {
					defer attempts.Done()
					results <- e.attempt(attemptCtx, w)
				}()
			}
			switch {
			case err != nil:
				if ctx.Err() != nil {
					return
				}
				e.log.Error("claim webhook deliveries", "err", err)
				wait = 10 * e.opts.PollInterval
			case claimed == free && deferred < claimed:
				continue // more may be due
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-e.claimWake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (e *Engine) freeSlots() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts.Concurrency - e.running
}

// plan is what a claim transaction decided for each endpoint: how many
// attempts it starts, and until when it deferred the endpoint's overflow.
type plan struct {
	running  int
	oldest   time.Time // start of the oldest running attempt
	latency  time.Duration
	queueEnd time.Time
	started  int
	deferred bool
}

// claim leases up to n due deliveries and, in the same transaction,
// cancels those whose endpoint is disabled or deleted and defers those
// whose endpoint already has MaxPerEndpoint attempts running. It returns
// the deliveries to attempt, how many it claimed and how many it deferred.
func (e *Engine) claim(ctx context.Context, n int) (works []*work, claimed, deferred int, err error) {
	e.mu.Lock()
	snap := make(map[string]plan, len(e.perEP))
	for id, st := range e.perEP {
		p := plan{running: len(st.started), latency: st.latency, queueEnd: st.queueEnd}
		for _, t := range st.started {
			if p.oldest.IsZero() || t.Before(p.oldest) {
				p.oldest = t
			}
		}
		snap[id] = p
	}
	e.mu.Unlock()

	var plans map[string]*plan
	err = e.store.Write(ctx, func(tx store.Tx) error {
		works, claimed, deferred = nil, 0, 0
		plans = make(map[string]*plan)
		ds, err := tx.ClaimDueDeliveries(ctx, n, e.opts.Lease)
		if err != nil {
			return err
		}
		claimed = len(ds)
		now := tx.Now()
		endpoints := make(map[string]*tender.WebhookEndpoint)
		for _, d := range ds {
			sc := tender.Scope{AccountID: d.AccountID, Mode: d.Mode}
			ep, seen := endpoints[d.EndpointID]
			if !seen {
				ep, err = tx.FindWebhookEndpointByID(ctx, sc, d.EndpointID)
				if tender.ErrorCode(err) == tender.ENOTFOUND {
					ep, err = nil, nil
				} else if err != nil {
					return err
				}
				endpoints[d.EndpointID] = ep
			}
			var dl Dialect
			if ep != nil {
				dl = e.dialect(ep.Dialect)
			}
			switch {
			case ep == nil:
				err = cancelDelivery(ctx, tx, d, "the endpoint was deleted", now)
			case !ep.Enabled:
				err = cancelDelivery(ctx, tx, d, "the endpoint is disabled", now)
			case dl == nil:
				// Another tender process serves this dialect; leave it to them.
				d.NextAt = now.Add(time.Minute)
				err = tx.UpdateDelivery(ctx, d)
				deferred++
			default:
				p := plans[ep.ID]
				if p == nil {
					s := snap[ep.ID]
					p = &s
					plans[ep.ID] = p
				}
				if p.running+p.started >= e.opts.MaxPerEndpoint {
					d.NextAt = e.deferUntil(p, now)
					err = tx.UpdateDelivery(ctx, d)
					deferred++
					break
				}
				ev := e.events.get(d.EventID)
				if ev == nil {
					ev, err = tx.FindEventByID(ctx, sc, d.EventID)
					if tender.ErrorCode(err) == tender.ENOTFOUND {
						err = cancelDelivery(ctx, tx, d, "the event no longer exists", now)
						break
					} else if err != nil {
						return err
					}
				}
				p.started++
				works = append(works, &work{d: d, ep: ep, ev: ev, dl: dl})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, p := range plans {
		if st := e.perEP[id]; st == nil && (p.started > 0 || p.deferred) {
			e.perEP[id] = &epState{started: make(map[string]time.Time)}
		}
		if st := e.perEP[id]; st != nil && p.queueEnd.After(st.queueEnd) {
			st.queueEnd = p.queueEnd
		}
	}
	now := time.Now()
	for _, w := range works {
		e.perEP[w.ep.ID].started[w.d.ID] = now
	}
	e.running += len(works)
	return works, claimed, deferred, nil
}

// deferUntil returns when a delivery to a busy endpoint should be tried
// again. The endpoint's latency is estimated from its recent attempts and
// from how long its oldest running attempt has been waiting; each slot
// frees about once per latency, so deferrals queue latency/MaxPerEndpoint
// apart, starting a latency from now, but never beyond a horizon of four
// latencies (at least a second), after which they are looked at again.
func (e *Engine) deferUntil(p *plan, now time.Time) time.Time {
	lat := p.latency
	if !p.oldest.IsZero() && time.Since(p.oldest) > lat {
		lat = time.Since(p.oldest)
	}
	lat = max(lat, 10*time.Millisecond)
	horizon := now.Add(max(4*lat, time.Second))
	t := now.Add(lat)
	if p.queueEnd.After(t) {
		t = p.queueEnd
	}
	if t.After(horizon) {
		t = horizon
	}
	p.queueEnd = t.Add(lat / time.Duration(e.opts.MaxPerEndpoint))
	p.deferred = true
	return t
}

func cancelDelivery(ctx context.Context, tx store.Tx, d *tender.Delivery, why string, now time.Time) error {
	d.State, d.LastError, d.UpdatedAt = tender.DeliveryCancelled, why, now
	return tx.UpdateDelivery(ctx, d)
}

// attempt makes one HTTP attempt of w. It never fails: what went wrong is
// in the result.
func (e *Engine) attempt(ctx context.Context, w *work) *result {
	r := &result{w: w, start: time.Now()}
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
	body, err := w.dl.Payload(w.ev, w.dl.EventName(w.ev.Type))
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
	const maxBatch = 128
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
		e.recordBatch(batch)
		e.release(batch)
		poke(e.claimWake)
	}
}

func (e *Engine) recordBatch(batch []*result) {
	var todo []*result
	for _, r := range batch {
		if !r.aborted {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return
	}
	ctx := context.Background()
	err := e.store.Write(ctx, func(tx store.Tx) error {
		for _, r := range todo {
			if err := e.apply(ctx, tx, r); err != nil {
				return fmt.Errorf("delivery %s: %w", r.w.d.ID, err)
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	if len(todo) > 1 {
		// Record the others even if one cannot be.
		for _, r := range todo {
			e.recordBatch([]*result{r})
		}
		return
	}
	// The lease lapses and the delivery is attempted again.
	e.log.Error("record webhook attempt", "delivery", todo[0].w.d.ID, "err", err)
}

// release frees the slots of finished attempts.
func (e *Engine) release(batch []*result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	for _, r := range batch {
		e.running--
		st := e.perEP[r.w.ep.ID]
		if st == nil {
			continue
		}
		delete(st.started, r.w.d.ID)
		if !r.aborted && !r.local {
			if st.latency == 0 {
				st.latency = r.latency
			} else {
				st.latency = (7*st.latency + r.latency) / 8
			}
		}
		if len(st.started) == 0 && !st.queueEnd.After(now) {
			delete(e.perEP, r.w.ep.ID)
		}
	}
}

// apply records one attempt and its consequences in tx: the attempt row,
// the delivery's new state and schedule, and the endpoint's health.
func (e *Engine) apply(ctx context.Context, tx store.Tx, r *result) error {
	now := tx.Now()
	d := *r.w.d
	d.Attempts++
	d.LastStatus, d.LastError, d.UpdatedAt = r.status, r.errText, now
	if err := tx.CreateDeliveryAttempt(ctx, &tender.DeliveryAttempt{ID: tender.NewID(tender.PrefixAttempt, now),
		DeliveryID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, Attempt: d.Attempts, StatusCode: r.status,
		LatencyMillis: r.latency.Milliseconds(), ResponseExcerpt: r.excerpt, Error: r.errText, CreatedAt: now}); err != nil {
		return err
	}
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
		if err := tx.UpdateDelivery(ctx, &d); err != nil {
			return err
		}
		if ep != nil && ep.FailingSince != nil {
			ep.FailingSince, ep.UpdatedAt = nil, now
			return tx.UpdateWebhookEndpoint(ctx, ep)
		}
		return nil
	case ep == nil:
		return cancelDelivery(ctx, tx, &d, "the endpoint was deleted", now)
	case r.status == http.StatusGone:
		d.State = tender.DeliveryFailed
		if err := tx.UpdateDelivery(ctx, &d); err != nil {
			return err
		}
		if ep.Enabled {
			return e.disable(ctx, tx, ep, "the endpoint answered 410 Gone", now)
		}
		return nil
	case !ep.Enabled:
		return cancelDelivery(ctx, tx, &d, "the endpoint is disabled", now)
	}
	if delay, ok := e.backoff(d.Attempts); ok {
		d.NextAt = now.Add(delay)
	} else {
		d.State = tender.DeliveryFailed
	}
	if err := tx.UpdateDelivery(ctx, &d); err != nil {
		return err
	}
	if r.local {
		return nil
	}
	switch {
	case ep.FailingSince == nil:
		ep.FailingSince, ep.UpdatedAt = &now, now
		return tx.UpdateWebhookEndpoint(ctx, ep)
	case now.Sub(*ep.FailingSince) >= e.opts.DisableAfter:
		return e.disable(ctx, tx, ep, fmt.Sprintf("every delivery failed for %s, since %s",
			e.opts.DisableAfter, ep.FailingSince.Format(time.RFC3339)), now)
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
	for scanned := 0; scanned < cancelScan; {
		ds, more, err := tx.ListDeliveriesByEndpoint(ctx, sc, ep.ID, p)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.State == tender.DeliveryPending {
				if err := cancelDelivery(ctx, tx, d, "the endpoint was disabled: "+reason, now); err != nil {
					return err
				}
			}
		}
		scanned += len(ds)
		if !more || len(ds) == 0 {
			break
		}
		p.StartingAfter = ds[len(ds)-1].ID
	}
	return nil
}
