package postgres_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/storetest"
)

// requirePostgres skips the test, with the reason logged, when no test
// database is configured.
func requirePostgres(t *testing.T) {
	t.Helper()
	if os.Getenv("TENDER_TEST_POSTGRES_URL") == "" {
		t.Skip("TENDER_TEST_POSTGRES_URL is not set; skipping the PostgreSQL store tests")
	}
}

// mustOpen opens url and closes it when the test ends, before the schema
// is dropped.
func mustOpen(t *testing.T, url string, opts postgres.Options) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock tender.Clock) store.Store {
		return mustOpen(t, testserver.PostgresURL(t), postgres.Options{Clock: clock})
	})
}

// TestDB_TwoProcesses runs two stores on one schema, as two tender
// processes sharing a database would.
func TestDB_TwoProcesses(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	ctx := context.Background()
	url := testserver.PostgresURL(t)
	clock := tender.NewFixedClock(time.Date(2024, 3, 9, 10, 11, 12, 0, time.UTC))
	p1 := mustOpen(t, url, postgres.Options{Clock: clock})
	p2 := mustOpen(t, url, postgres.Options{Clock: clock})
	procs := []*postgres.DB{p1, p2}

	t.Run("Claims", func(t *testing.T) {
		release, err := p1.Claim(ctx, "intent:1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Claim(ctx, "intent:1", time.Minute); tender.ErrorCode(err) != tender.ECONFLICT {
			t.Errorf("second process's Claim of a held name = %v, want ECONFLICT", err)
		}
		release()
		release2, err := p2.Claim(ctx, "intent:1", time.Minute)
		if err != nil {
			t.Fatalf("second process's Claim after release: %v", err)
		}
		if _, err := p1.Claim(ctx, "intent:1", time.Minute); tender.ErrorCode(err) != tender.ECONFLICT {
			t.Errorf("first process's Claim of the name the second holds = %v, want ECONFLICT", err)
		}
		release2()

		// A dead process's claim lapses after its ttl: its store stops
		// renewing the lease when it closes (or the process dies).
		p3, err := postgres.Open(ctx, url, postgres.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p3.Claim(ctx, "intent:2", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		p3.Close()
		if _, err := p2.Claim(ctx, "intent:2", time.Minute); tender.ErrorCode(err) != tender.ECONFLICT {
			t.Errorf("Claim right after the holder died = %v, want ECONFLICT until the ttl lapses", err)
		}
		time.Sleep(150 * time.Millisecond)
		release3, err := p2.Claim(ctx, "intent:2", time.Minute)
		if err != nil {
			t.Fatalf("Claim of a lapsed claim: %v", err)
		}
		release3()
	})

	t.Run("Jobs", func(t *testing.T) {
		const jobs, workersPerProc = 300, 4
		err := p1.Write(ctx, func(tx store.Tx) error {
			for i := 0; i < jobs; i++ {
				now := tx.Now()
				j := &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: "k", AccountID: "acct_1",
					Args: json.RawMessage(`{}`), RunAt: now, MaxAttempts: 5, CreatedAt: now}
				if err := tx.EnqueueJob(ctx, j); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]int{}
		byProc := make([]int, len(procs))
		for p, db := range procs {
			for w := 0; w < workersPerProc; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						var got []*tender.Job
						err := db.Write(ctx, func(tx store.Tx) (err error) {
							got, err = tx.ClaimJobs(ctx, 5, time.Hour)
							return err
						})
						if err != nil {
							t.Errorf("ClaimJobs: %v", err)
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, j := range got {
							seen[j.ID]++
						}
						byProc[p] += len(got)
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		for id, n := range seen {
			if n > 1 {
				t.Errorf("job %s claimed %d times", id, n)
			}
		}
		if len(seen) != jobs {
			t.Errorf("%d distinct jobs claimed, want %d", len(seen), jobs)
		}
		t.Logf("jobs claimed per process: %v", byProc)
	})
}

// TestOpen_Concurrent: servers starting together on an empty database all
// open it; migrations run once.
func TestOpen_Concurrent(t *testing.T) {
	url := testserver.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 2})
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
}
