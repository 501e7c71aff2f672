// Package job runs tender's durable jobs: rows that commands enqueue in the
// same transaction as their effect, claimed and run here at least once.
//
// Each poll claims due jobs under a lease (a single writer on SQLite, FOR
// UPDATE SKIP LOCKED on PostgreSQL, so that several processes never run the
// same job at once), runs their handlers concurrently, then deletes each
// finished job or schedules its retry with backoff. A job whose worker died
// is claimed again when its lease lapses. Handlers must therefore be
// idempotent.
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// Handler runs one job. A nil error completes it; Again completes it and
// runs it again later (a recurring job); any other error retries it.
type Handler func(ctx context.Context, j *tender.Job) error

// Again is what a recurring job's handler returns: the run succeeded, and
// the job runs again at At, its attempts counted from zero.
type Again struct{ At time.Time }

// Error implements error, so that a handler can return Again.
func (a Again) Error() string { return "run again at " + a.At.Format(time.RFC3339) }

// Metrics receives job outcomes; nil fields are skipped.
type Metrics struct {
	Done func(kind, outcome string, d time.Duration)
}

// Worker polls the jobs table and runs handlers.
type Worker struct {
	Store    store.Store
	Log      *slog.Logger
	Interval time.Duration // poll interval
	Lease    time.Duration // how long a claim lasts before another worker may take the job
	Batch    int
	Metrics  Metrics

	periodic []periodic

	handlers map[string]Handler
	wake     chan struct{}
}

type periodic struct {
	every time.Duration
	last  time.Time
	fn    func(ctx context.Context) error
	name  string
}

// New returns a Worker with default timings.
func New(s store.Store, log *slog.Logger) *Worker {
	return &Worker{Store: s, Log: log, Interval: 250 * time.Millisecond, Lease: 5 * time.Minute, Batch: 32,
		handlers: make(map[string]Handler), wake: make(chan struct{}, 1)}
}

// Handle registers h for kind.
func (w *Worker) Handle(kind string, h Handler) { w.handlers[kind] = h }

// Every runs fn about every d (maintenance such as expiring records).
func (w *Worker) Every(name string, d time.Duration, fn func(ctx context.Context) error) {
	w.periodic = append(w.periodic, periodic{every: d, fn: fn, name: name})
}

// Wake makes the worker poll now rather than at its next tick.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Backoff is the delay before retry number attempt (1-based): attempt⁴
// seconds plus up to 10% jitter, capped at 6 hours.
func Backoff(attempt int) time.Duration {
	d := time.Duration(attempt*attempt*attempt*attempt) * time.Second
	if d > 6*time.Hour || d <= 0 {
		d = 6 * time.Hour
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// Run polls until ctx ends, then waits for running handlers up to grace
// before cancelling them.
func (w *Worker) Run(ctx context.Context, grace time.Duration) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(grace):
				cancel()
				<-done
			}
			return
		case <-t.C:
		case <-w.wake:
		}
		w.runPeriodic(hctx)
		for w.poll(ctx, hctx, &wg) == w.Batch {
			// A full batch: more may be due.
		}
	}
}

func (w *Worker) runPeriodic(ctx context.Context) {
	now := time.Now()
	for i := range w.periodic {
		p := &w.periodic[i]
		if now.Sub(p.last) < p.every {
			continue
		}
		p.last = now
		if err := p.fn(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("periodic task failed", "task", p.name, "err", err)
		}
	}
}

// poll claims and starts one batch, returning how many it claimed.
func (w *Worker) poll(ctx, hctx context.Context, wg *sync.WaitGroup) int {
	if ctx.Err() != nil {
		return 0
	}
	var jobs []*tender.Job
	err := w.Store.Write(ctx, func(tx store.Tx) (err error) {
		jobs, err = tx.ClaimJobs(ctx, w.Batch, w.Lease)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Error("claim jobs", "err", err)
		}
		return 0
	}
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(hctx, j)
		}()
	}
	return len(jobs)
}

// RunOnce claims and runs every due job once, synchronously; for tests and tools.
func (w *Worker) RunOnce(ctx context.Context) error {
	var jobs []*tender.Job
	err := w.Store.Write(ctx, func(tx store.Tx) (err error) {
		jobs, err = tx.ClaimJobs(ctx, 1000, w.Lease)
		return err
	})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		w.run(ctx, j)
	}
	return nil
}

func (w *Worker) run(ctx context.Context, j *tender.Job) {
	start := time.Now()
	h, ok := w.handlers[j.Kind]
	var err error
	if !ok {
		err = fmt.Errorf("no handler for job kind %q", j.Kind)
	} else {
		err = safeRun(ctx, h, j)
	}
	outcome := "done"
	var again Again
	if errors.As(err, &again) {
		outcome, err = "again", nil
	}
	werr := w.Store.Write(context.WithoutCancel(ctx), func(tx store.Tx) error {
		switch {
		case outcome == "again":
			return tx.RescheduleJob(ctx, j.ID, again.At)
		case err == nil:
			return tx.CompleteJob(ctx, j.ID)
		case j.Attempts >= j.MaxAttempts:
			outcome = "discarded"
			return tx.DiscardJob(ctx, j.ID, err.Error())
		default:
			outcome = "retry"
			return tx.RetryJob(ctx, j.ID, tx.Now().Add(Backoff(j.Attempts)), err.Error())
		}
	})
	if err != nil {
		w.Log.Warn("job failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "outcome", outcome, "err", err)
	}
	if werr != nil {
		w.Log.Error("record job outcome", "job", j.ID, "err", werr)
	}
	if w.Metrics.Done != nil {
		w.Metrics.Done(j.Kind, outcome, time.Since(start))
	}
}

func safeRun(ctx context.Context, h Handler, j *tender.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job handler panicked: %v", p)
		}
	}()
	return h(ctx, j)
}
