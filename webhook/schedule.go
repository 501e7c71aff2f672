package webhook

import (
	"context"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// scheduler is the in-memory side of delivery: the attempts running, the
// claimed deliveries waiting for a slot of their endpoint, and what is known
// of each endpoint's latency. Its fields are guarded by mu.
//
// Deliveries are claimed from the database in due order, which knows
// nothing of endpoints. A claimed delivery runs at once if its endpoint has
// fewer than MaxPerEndpoint attempts running (and a worker is free); else
// it waits in the endpoint's queue; else it is deferred in the database,
// behind the endpoint's earlier deferrals. An endpoint's queue holds
// MaxPerEndpoint deliveries, or more for an endpoint that answers faster
// than a claim commits: enough to keep its slots busy for two claims'
// time (heldCap), up to maxHeldFactor times MaxPerEndpoint. (A claim costs
// a commit, a few milliseconds on PostgreSQL; a local receiver answers in
// well under one, so a queue of MaxPerEndpoint would leave its slots idle
// most of the time.) Claims are sized by what the known endpoints can take,
// plus a few for endpoints not seen yet, within maxInMemory; that small
// reserve is skipped for a poll interval after it brought only deliveries
// that had to be deferred, so that a saturated endpoint does not make the
// engine rewrite its backlog over and over.
type scheduler struct {
	// claimMu lets one claim transaction of this process run at a time:
	// concurrent claims would fight over the same rows (on PostgreSQL, a
	// row another claim just leased is a serialization failure).
	claimMu sync.Mutex

	mu      sync.Mutex
	running int
	held    int
	// unrecorded counts attempts done whose outcomes the recorder has not
	// taken yet: their slots are free, but they count against
	// maxInMemory, so that a slow recorder slows claims.
	unrecorded    int
	perEP         map[string]*epState
	inProcess     map[string]bool // deliveries running, held or unrecorded, by id
	lastFruitless time.Time
	stopping      bool
	// claimLatency is a moving average of how long claim transactions
	// take, commit included.
	claimLatency time.Duration

	ctx      context.Context // the attempts' context
	attempts *sync.WaitGroup
	results  chan<- *result
}

// epState is one endpoint's share of the scheduler.
type epState struct {
	running  map[string]time.Time // attempts in flight: delivery id → start
	held     []*work              // claimed, waiting for a slot
	latency  time.Duration        // moving average of recent attempts
	queueEnd time.Time            // when the last deferred delivery comes due
}

func (s *scheduler) reset(ctx context.Context, attempts *sync.WaitGroup, results chan<- *result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx, s.attempts, s.results = ctx, attempts, results
	s.running, s.held, s.unrecorded, s.stopping = 0, 0, 0, false
	s.perEP, s.inProcess = make(map[string]*epState), make(map[string]bool)
}

func (s *scheduler) endpoint(id string) *epState {
	st := s.perEP[id]
	if st == nil {
		st = &epState{running: make(map[string]time.Time)}
		s.perEP[id] = st
	}
	return st
}

// claimLoop claims due deliveries while there is room for them, until ctx
// ends.
func (e *Engine) claimLoop(ctx context.Context) {
	for ctx.Err() == nil {
		e.releaseStale(ctx)
		wait := e.opts.PollInterval
		n, claimed, deferred, err := e.claim(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			e.log.Error("claim webhook deliveries", "err", err)
			wait = 10 * e.opts.PollInterval
		case n > 0 && claimed == n && deferred == 0:
			continue // more may be due
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

// maxHeldFactor bounds an endpoint's queue at this many times
// MaxPerEndpoint.
const maxHeldFactor = 16

// maxInMemory is how many deliveries may be running or waiting in memory
// at once: eight times Concurrency.
func (e *Engine) maxInMemory() int { return 8 * e.opts.Concurrency }

// heldCap returns how many deliveries may wait in memory for an endpoint
// whose attempts take about lat (0 when not known yet): MaxPerEndpoint, or
// for an endpoint faster than a claim, as many as its slots get through in
// two claims' time, up to maxHeldFactor × MaxPerEndpoint. s.mu is held.
func (e *Engine) heldCap(lat time.Duration) int {
	per := e.opts.MaxPerEndpoint
	cl := e.sched.claimLatency
	if lat <= 0 || cl <= lat {
		return per
	}
	return per * min(maxHeldFactor, int((2*cl+lat-1)/lat))
}

// endpointCap returns how many of st's deliveries may be in memory: its
// running slots and its queue. s.mu is held.
func (e *Engine) endpointCap(st *epState) int {
	lat := st.latency
	for _, t := range st.running {
		if d := time.Since(t); d > lat {
			lat = d
		}
	}
	return e.opts.MaxPerEndpoint + e.heldCap(lat)
}

// noteClaim folds the duration of a claim transaction into the average.
func (e *Engine) noteClaim(d time.Duration) {
	s := &e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimLatency == 0 {
		s.claimLatency = d
	} else {
		s.claimLatency = (7*s.claimLatency + d) / 8
	}
}

// claimSize returns how many deliveries to claim now: room in the queues
// of the endpoints being served, plus a reserve for others, within
// maxInMemory.
func (e *Engine) claimSize() int {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	return e.claimSizeLocked()
}

func (e *Engine) claimSizeLocked() int {
	s := &e.sched
	if s.stopping {
		return 0
	}
	need := 0
	for _, st := range s.perEP {
		need += max(0, e.endpointCap(st)-len(st.running)-len(st.held))
	}
	if s.running < e.opts.Concurrency && time.Since(s.lastFruitless) >= e.opts.PollInterval {
		need += max(1, e.opts.Concurrency/8)
	}
	return max(0, min(need, e.maxInMemory()-s.running-s.held-s.unrecorded))
}

// plan is what a claim transaction decided for one endpoint.
type plan struct {
	inMemory int       // running and held before the claim
	cap      int       // how many may be in memory (endpointCap)
	oldest   time.Time // start of the oldest running attempt
	latency  time.Duration
	queueEnd time.Time
	taken    int // claimed into memory by this claim
	deferred bool
}

// claim leases as many due deliveries as there is room for (claimSize) in
// a transaction of its own; see claimTx. It returns how many it asked for,
// claimed and deferred.
func (e *Engine) claim(ctx context.Context) (n, claimed, deferred int, err error) {
	e.sched.claimMu.Lock()
	defer e.sched.claimMu.Unlock()
	if n = e.claimSize(); n <= 0 {
		return 0, 0, 0, nil
	}
	var c claimRun
	snap := e.snapshot()
	start := time.Now()
	err = e.write(ctx, func(tx store.Tx) (err error) {
		c, err = e.claimTx(ctx, tx, n, snap)
		return err
	})
	if err != nil {
		return n, 0, 0, err
	}
	e.noteClaim(time.Since(start))
	e.afterClaim(c)
	return n, c.claimed, c.deferred, nil
}

// claimSnapshot is the scheduler's state as a claim transaction sees it.
type claimSnapshot struct {
	plans map[string]plan
	fresh int // the cap of an endpoint with nothing in memory
}

// inProcess reports whether delivery id is held or running here now. (A
// claim asks this of the live state, not of its snapshot: a delivery
// released since the snapshot may be claimed again.)
func (e *Engine) inProcess(id string) bool {
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	return e.sched.inProcess[id]
}

func (e *Engine) snapshot() claimSnapshot {
	s := &e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := claimSnapshot{plans: make(map[string]plan, len(s.perEP)), fresh: e.opts.MaxPerEndpoint + e.heldCap(0)}
	for id, st := range s.perEP {
		p := plan{inMemory: len(st.running) + len(st.held), cap: e.endpointCap(st), latency: st.latency, queueEnd: st.queueEnd}
		for _, t := range st.running {
			if p.oldest.IsZero() || t.Before(p.oldest) {
				p.oldest = t
			}
		}
		snap.plans[id] = p
	}
	return snap
}

// claimRun is what a claim transaction did.
type claimRun struct {
	works    []*work
	plans    map[string]*plan
	claimed  int
	deferred int
}

// claimTx leases up to n due deliveries in tx and, in the same
// transaction, cancels those whose endpoint is disabled or deleted and
// defers those whose endpoint has no room in memory. It changes nothing
// outside tx (it may run more than once); afterClaim applies its result
// once tx has committed. Its statements do not grow with n: one claim, one
// read per endpoint, one read of the events not in the cache, and one
// write of the deliveries cancelled or deferred.
func (e *Engine) claimTx(ctx context.Context, tx store.Tx, n int, snap claimSnapshot) (c claimRun, err error) {
	c.plans = make(map[string]*plan)
	if n <= 0 {
		return c, nil
	}
	ds, err := tx.ClaimDueDeliveries(ctx, n, e.opts.Lease)
	if err != nil {
		return c, err
	}
	c.claimed = len(ds)
	now := tx.Now()
	endpoints := make(map[string]*tender.WebhookEndpoint)
	var changed []*tender.Delivery // cancelled or deferred
	var unread []string            // events of works not in the cache
	for _, d := range ds {
		if e.inProcess(d.ID) {
			// Its lease lapsed while this process held it: leave it to the
			// holder, whose outcome releases the new lease.
			continue
		}
		sc := tender.Scope{AccountID: d.AccountID, Mode: d.Mode}
		ep, seen := endpoints[d.EndpointID]
		if !seen {
			ep, err = tx.FindWebhookEndpointByID(ctx, sc, d.EndpointID)
			if tender.ErrorCode(err) == tender.ENOTFOUND {
				ep, err = nil, nil
			} else if err != nil {
				return c, err
			}
			endpoints[d.EndpointID] = ep
		}
		var dl Dialect
		if ep != nil {
			dl = e.dialect(ep.Dialect)
		}
		switch {
		case ep == nil:
			changed = append(changed, cancelled(d, "the endpoint was deleted", now))
		case !ep.Enabled:
			changed = append(changed, cancelled(d, "the endpoint is disabled", now))
		case dl == nil:
			// Another tender process serves this dialect; leave it to them.
			d.NextAt = now.Add(time.Minute)
			changed = append(changed, d)
			c.deferred++
		default:
			p := c.plans[ep.ID]
			if p == nil {
				sp, ok := snap.plans[ep.ID]
				if !ok {
					sp.cap = snap.fresh
				}
				p = &sp
				c.plans[ep.ID] = p
			}
			if p.inMemory+p.taken >= p.cap {
				d.NextAt = e.deferUntil(p, now)
				changed = append(changed, d)
				c.deferred++
				break
			}
			w := &work{d: d, ep: ep, dl: dl, ev: e.events.get(d.EventID)}
			if w.ev == nil {
				unread = append(unread, d.EventID)
			}
			p.taken++
			c.works = append(c.works, w)
		}
	}
	if len(unread) > 0 {
		evs, err := tx.FindEventsByIDs(ctx, unread)
		if err != nil {
			return c, err
		}
		byID := make(map[string]*tender.Event, len(evs))
		for _, ev := range evs {
			byID[ev.ID] = ev
		}
		works := c.works[:0]
		for _, w := range c.works {
			if w.ev == nil {
				ev := byID[w.d.EventID]
				if ev == nil || ev.AccountID != w.d.AccountID || ev.Mode != w.d.Mode {
					changed = append(changed, cancelled(w.d, "the event no longer exists", now))
					c.plans[w.ep.ID].taken--
					continue
				}
				w.ev = ev
			}
			works = append(works, w)
		}
		clear(c.works[len(works):])
		c.works = works
	}
	if err := tx.UpdateDeliveries(ctx, changed); err != nil {
		return c, err
	}
	return c, nil
}

// afterClaim queues the deliveries of a committed claim and starts what it
// can.
func (e *Engine) afterClaim(c claimRun) {
	s := &e.sched
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.claimed > 0 && c.deferred == c.claimed {
		s.lastFruitless = now
	}
	for id, p := range c.plans {
		if p.taken == 0 && !p.deferred {
			continue
		}
		if st := s.endpoint(id); p.queueEnd.After(st.queueEnd) {
			st.queueEnd = p.queueEnd
		}
	}
	for _, w := range c.works {
		if s.inProcess[w.d.ID] {
			continue // taken by a claim that committed meanwhile
		}
		w.claimedAt = now
		st := s.endpoint(w.ep.ID)
		st.held = append(st.held, w)
		s.held++
		s.inProcess[w.d.ID] = true
	}
	e.scheduleLocked()
}

// deferUntil returns when a delivery to an endpoint with no room should be
// tried again. The endpoint's latency is estimated from its recent attempts
// and from how long its oldest running attempt has been waiting; its slots
// free about once per latency, so deferrals queue latency/MaxPerEndpoint
// apart, starting a latency from now, but never beyond a horizon of four
// latencies (at least a second), where they are looked at again.
func (e *Engine) deferUntil(p *plan, now time.Time) time.Time {
	lat := p.latency
	if !p.oldest.IsZero() && time.Since(p.oldest) > lat {
		lat = time.Since(p.oldest)
	}
	lat = max(lat, time.Millisecond)
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

// scheduleLocked starts waiting deliveries while workers are free, each
// time from the endpoint with the fewest attempts running. s.mu is held.
func (e *Engine) scheduleLocked() {
	s := &e.sched
	for !s.stopping && s.running < e.opts.Concurrency && s.held > 0 {
		var best *epState
		for _, st := range s.perEP {
			if len(st.held) > 0 && len(st.running) < e.opts.MaxPerEndpoint && (best == nil || len(st.running) < len(best.running)) {
				best = st
			}
		}
		if best == nil {
			return
		}
		w := best.held[0]
		best.held[0] = nil
		best.held = best.held[1:]
		s.held--
		best.running[w.d.ID] = time.Now()
		s.running++
		s.attempts.Add(1)
		go func() {
			defer s.attempts.Done()
			r := e.attempt(s.ctx, w)
			e.finish(r)
			s.results <- r
		}()
	}
}

// release forgets the deliveries of attempts the recorder has taken: their
// leases hold them until their outcomes are recorded.
func (e *Engine) release(batch []*result) {
	s := &e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range batch {
		s.unrecorded--
		delete(s.inProcess, r.w.d.ID)
	}
}

// finish frees the slot of an attempt as soon as it is done, before its
// outcome is recorded, and starts what waits: the recorder commits a batch
// in a few milliseconds, in which a fast endpoint's slots can serve many
// more.
func (e *Engine) finish(r *result) {
	s := &e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	s.unrecorded++
	if st := s.perEP[r.w.ep.ID]; st != nil {
		delete(st.running, r.w.d.ID)
		if !r.aborted && !r.local && r.skipped == "" {
			if st.latency == 0 {
				st.latency = r.latency
			} else {
				st.latency = (7*st.latency + r.latency) / 8
			}
		}
		if len(st.running) == 0 && len(st.held) == 0 && !st.queueEnd.After(time.Now()) {
			delete(s.perEP, r.w.ep.ID)
		}
	}
	e.scheduleLocked()
}

// takeHeld removes and returns the waiting deliveries that match keep.
func (e *Engine) takeHeld(keep func(w *work) bool) []*work {
	s := &e.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*work
	for id, st := range s.perEP {
		rest := st.held[:0]
		for _, w := range st.held {
			if keep(w) {
				out = append(out, w)
				s.held--
				delete(s.inProcess, w.d.ID)
			} else {
				rest = append(rest, w)
			}
		}
		clear(st.held[len(rest):])
		st.held = rest
		if len(st.running) == 0 && len(st.held) == 0 {
			delete(s.perEP, id)
		}
	}
	return out
}

// giveBack releases the leases of deliveries claimed but not attempted,
// due now, so that any worker may take them at once.
func (e *Engine) giveBack(ctx context.Context, ws []*work) {
	if len(ws) == 0 {
		return
	}
	err := e.write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		ds := make([]*tender.Delivery, len(ws))
		for i, w := range ws {
			d := *w.d
			d.NextAt = now
			ds[i] = &d
		}
		return tx.UpdateDeliveries(ctx, ds)
	})
	if err != nil {
		e.log.Warn("give back webhook deliveries; their leases will lapse", "n", len(ws), "err", err)
	}
}

// releaseStale gives back deliveries that have waited in memory for half
// their lease, before another worker could take them.
func (e *Engine) releaseStale(ctx context.Context) {
	limit := time.Now().Add(-e.opts.Lease / 2)
	e.giveBack(ctx, e.takeHeld(func(w *work) bool { return w.claimedAt.Before(limit) }))
}

// releaseHeld stops starting attempts and gives back every waiting
// delivery (at shutdown).
func (e *Engine) releaseHeld() {
	e.sched.mu.Lock()
	e.sched.stopping = true
	e.sched.mu.Unlock()
	e.giveBack(context.Background(), e.takeHeld(func(*work) bool { return true }))
}

// cancelHeld cancels the deliveries waiting in memory for endpoints that
// were just disabled, so that none of them is sent.
func (e *Engine) cancelHeld(ctx context.Context, endpoints map[string]bool) {
	ws := e.takeHeld(func(w *work) bool { return endpoints[w.ep.ID] })
	if len(ws) == 0 {
		return
	}
	err := e.write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		for _, w := range ws {
			d, err := tx.FindDeliveryByID(ctx, tender.Scope{AccountID: w.d.AccountID, Mode: w.d.Mode}, w.d.ID)
			if err != nil {
				return err
			}
			if d.State == tender.DeliveryPending {
				if err := cancelDelivery(ctx, tx, d, "the endpoint was disabled", now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		e.log.Warn("cancel deliveries of a disabled endpoint; they are cancelled when claimed again", "err", err)
	}
}
