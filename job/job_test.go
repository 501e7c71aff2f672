package job_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/job"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
)

func openStores(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"SQLite": func(t *testing.T) store.Store {
			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "j.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"Postgres": func(t *testing.T) store.Store {
			s, err := postgres.Open(t.Context(), testserver.PostgresURL(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func enqueue(t *testing.T, s store.Store, kind string, max int) string {
	t.Helper()
	var id string
	err := s.Write(t.Context(), func(tx store.Tx) error {
		id = tender.NewID(tender.PrefixJob, tx.Now())
		return tx.EnqueueJob(t.Context(), &tender.Job{ID: id, Kind: kind, RunAt: tx.Now(), MaxAttempts: max, CreatedAt: tx.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func count(t *testing.T, s store.Store, state string) int {
	t.Helper()
	var n int
	if err := s.Read(t.Context(), func(tx store.Tx) (err error) { n, err = tx.CountJobs(t.Context(), state); return err }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWorker(t *testing.T) {
	for name, open := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			w := job.New(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
			var okRuns, failRuns, panicRuns atomic.Int32
			w.Handle("ok", func(ctx context.Context, j *tender.Job) error { okRuns.Add(1); return nil })
			w.Handle("fail", func(ctx context.Context, j *tender.Job) error { failRuns.Add(1); return errors.New("boom") })
			w.Handle("panic", func(ctx context.Context, j *tender.Job) error { panicRuns.Add(1); panic("bad handler") })
			var outcomes = map[string]int{}
			done := make(chan struct{}, 16)
			w.Metrics.Done = func(kind, outcome string, d time.Duration) { outcomes[kind+":"+outcome]++; done <- struct{}{} }

			enqueue(t, s, "ok", 3)
			enqueue(t, s, "fail", 2)
			enqueue(t, s, "panic", 1)
			enqueue(t, s, "unknown-kind", 1)
			if err := w.RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			// ok is gone; fail waits for its retry (backoff 1s+); panic and unknown are discarded.
			if okRuns.Load() != 1 || failRuns.Load() != 1 || panicRuns.Load() != 1 {
				t.Fatalf("runs: ok %d fail %d panic %d", okRuns.Load(), failRuns.Load(), panicRuns.Load())
			}
			if a, d := count(t, s, "available"), count(t, s, "discarded"); a != 1 || d != 2 {
				t.Fatalf("after one pass: %d available, %d discarded; want 1 and 2", a, d)
			}
			// Not due yet: nothing runs.
			if err := w.RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			if failRuns.Load() != 1 {
				t.Fatalf("a retry ran before its backoff")
			}
			if outcomes["ok:done"] != 1 || outcomes["fail:retry"] != 1 || outcomes["panic:discarded"] != 1 {
				t.Errorf("outcomes: %v", outcomes)
			}
		})
	}
}

func TestWorker_RunPicksUpAndStops(t *testing.T) {
	for name, open := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			w := job.New(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
			w.Interval = 10 * time.Millisecond
			var runs atomic.Int32
			w.Handle("ok", func(ctx context.Context, j *tender.Job) error { runs.Add(1); return nil })
			ctx, cancel := context.WithCancel(t.Context())
			stopped := make(chan struct{})
			go func() { w.Run(ctx, time.Second); close(stopped) }()
			for i := 0; i < 40; i++ {
				enqueue(t, s, "ok", 1)
			}
			deadline := time.Now().Add(10 * time.Second)
			for runs.Load() < 40 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			<-stopped
			if runs.Load() != 40 || count(t, s, "available")+count(t, s, "running") != 0 {
				t.Fatalf("ran %d of 40; %d left", runs.Load(), count(t, s, "available")+count(t, s, "running"))
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	prev := time.Duration(0)
	for a := 1; a <= 30; a++ {
		d := job.Backoff(a)
		if d < prev && d < 6*time.Hour {
			t.Errorf("Backoff(%d) = %v is below Backoff(%d) = %v", a, d, a-1, prev)
		}
		if d > 6*time.Hour+36*time.Minute {
			t.Errorf("Backoff(%d) = %v exceeds the cap", a, d)
		}
		prev = d
	}
}
