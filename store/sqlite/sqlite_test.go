package sqlite

// These tests are in package sqlite, not sqlite_test, so that they can wait
// for the writer's queue to fill and read the store's own connections'
// pragmas.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlstore"
	"github.com/tenderpay/tender/store/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock tender.Clock) store.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "tender.db"), Options{Clock: clock, Exclusive: true})
	})
}

// mustOpen opens path and closes it when the test ends.
func mustOpen(t *testing.T, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts)
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

// outside opens a plain database/sql handle on path, apart from the store.
func outside(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countIntents(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_intents`).Scan(&n)
	return n, err
}

func newIntent(s tender.Scope, now time.Time, ref string) *tender.PaymentIntent {
	return &tender.PaymentIntent{ID: tender.NewID(tender.PrefixPaymentIntent, now), AccountID: s.AccountID, Mode: s.Mode,
		Status: tender.IntentCreated, Amount: 100, Currency: "USD", PaymentMethodTypes: []string{"card"}, ReferenceID: ref,
		SettlementStatus: tender.Unsettled, CreatedAt: now, UpdatedAt: now}
}

var testScope = tender.Scope{AccountID: "acct_test", Mode: tender.ModeTest}

func TestDB_GroupCommit(t *testing.T) {
	t.Parallel()
	t.Run("OneTransactionPerBatch", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "tender.db")
		db := mustOpen(t, path, Options{})
		peek := outside(t, path)

		// Hold the writer in a first command so that the next ones queue
		// up and are taken as one batch.
		started, release := make(chan struct{}), make(chan struct{})
		blocked := make(chan error, 1)
		go func() {
			blocked <- db.Write(ctx, func(tx store.Tx) error {
				close(started)
				<-release
				return nil
			})
		}()
		<-started

		const n = 40
		const failing, panicking = 7, 23
		errBoom := errors.New("boom")
		var wg sync.WaitGroup
		errs := make([]error, n)
		seen := make([]int, n) // committed intents visible from outside while command i ran
		pis := make([]*tender.PaymentIntent, n)
		for i := 0; i < n; i++ {
			pis[i] = newIntent(testScope, time.Now(), fmt.Sprint(i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.Write(ctx, func(tx store.Tx) error {
					var err error
					if seen[i], err = countIntents(ctx, peek); err != nil {
						return err
					}
					if err := tx.CreatePaymentIntent(ctx, pis[i]); err != nil {
						return err
					}
					switch i {
					case failing:
						return errBoom
					case panicking:
						panic("kaboom")
					}
					return nil
				})
			}()
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(db.reqs) < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d writes queued", len(db.reqs), n)
			}
			time.Sleep(time.Millisecond)
		}
		close(release)
		wg.Wait()
		if err := <-blocked; err != nil {
			t.Fatalf("blocking write: %v", err)
		}

		for i := 0; i < n; i++ {
			if seen[i] != 0 {
				t.Errorf("command %d saw %d committed intents from outside, want 0: the batch was not one transaction", i, seen[i])
			}
			var found bool
			err := db.Read(ctx, func(tx store.Tx) error {
				_, err := tx.FindPaymentIntentByID(ctx, testScope, pis[i].ID)
				found = err == nil
				if tender.ErrorCode(err) == tender.ENOTFOUND {
					return nil
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			switch i {
			case failing:
				if !errors.Is(errs[i], errBoom) {
					t.Errorf("failing command: Write = %v, want its error", errs[i])
				}
				if found {
					t.Error("failing command's intent was committed")
				}
			case panicking:
				if errs[i] == nil || !strings.Contains(errs[i].Error(), "kaboom") {
					t.Errorf("panicking command: Write = %v, want an error naming the panic", errs[i])
				}
				if found {
					t.Error("panicking command's intent was committed")
				}
			default:
				if errs[i] != nil {
					t.Errorf("command %d: Write = %v", i, errs[i])
				}
				if !found {
					t.Errorf("command %d's intent is missing: a failing neighbour rolled it back", i)
				}
			}
		}
		if got, err := countIntents(ctx, peek); err != nil || got != n-2 {
			t.Errorf("intents committed = %d (%v), want %d", got, err, n-2)
		}
	})
	t.Run("ManyConcurrentWrites", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "tender.db")
		db := mustOpen(t, path, Options{})
		const n = 1000
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.Write(ctx, func(tx store.Tx) error {
					return tx.CreatePaymentIntent(ctx, newIntent(testScope, time.Now(), fmt.Sprint(i)))
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Write: %v", err)
			}
		}
		if got, err := countIntents(ctx, outside(t, path)); err != nil || got != n {
			t.Errorf("intents committed = %d (%v), want %d", got, err, n)
		}
	})
}

func TestOpen_Exclusive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tender.db")
	first, err := Open(ctx, path, Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Open(ctx, path, Options{Exclusive: true})
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second exclusive Open of the same file succeeded")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open: %v, want an error saying the database is in use", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third := mustOpen(t, path, Options{Exclusive: true})
	if err := third.Write(ctx, func(tx store.Tx) error { return nil }); err != nil {
		t.Errorf("Write after reopening: %v", err)
	}
}

func TestOpen_ReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tender.db")
	db, err := Open(ctx, path, Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	pi := newIntent(testScope, tender.SystemClock{}.Now(), "kept")
	if err := db.Write(ctx, func(tx store.Tx) error { return tx.CreatePaymentIntent(ctx, pi) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path, Options{Exclusive: true})
	var got *tender.PaymentIntent
	err = db.Read(ctx, func(tx store.Tx) (err error) {
		got, err = tx.FindPaymentIntentByID(ctx, testScope, pi.ID)
		return err
	})
	if err != nil {
		t.Fatalf("intent after reopening: %v", err)
	}
	if got.ReferenceID != "kept" || !got.CreatedAt.Equal(pi.CreatedAt) {
		t.Errorf("intent after reopening = %+v, want %+v", got, pi)
	}
	migrations, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var applied int
	if err := outside(t, path).QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != len(migrations) {
		t.Errorf("schema_migrations has %d rows after reopening, want %d", applied, len(migrations))
	}
}

func TestDB_CloseWaitsForQueuedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tender.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	go db.Write(ctx, func(tx store.Tx) error {
		close(started)
		<-release
		return nil
	})
	<-started
	const n = 20
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			errs <- db.Write(ctx, func(tx store.Tx) error {
				return tx.CreatePaymentIntent(ctx, newIntent(testScope, time.Now(), fmt.Sprint(i)))
			})
		}()
	}
	for len(db.reqs) < n {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("queued Write: %v", err)
		}
	}
	if got, err := countIntents(ctx, outside(t, path)); err != nil || got != n {
		t.Errorf("intents after Close = %d (%v), want %d", got, err, n)
	}
}

func TestOpen_Pragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pragma := func(t *testing.T, q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}, name string) string {
		t.Helper()
		var v string
		if err := q.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for _, tc := range []struct {
		sync string
		want string // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"", "2"},
		{"full", "2"},
		{"normal", "1"},
	} {
		t.Run("synchronous="+tc.sync, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "tender.db")
			db := mustOpen(t, path, Options{Synchronous: tc.sync})
			if err := db.Write(ctx, func(tx store.Tx) error {
				return tx.CreatePaymentIntent(ctx, newIntent(testScope, time.Now(), "x"))
			}); err != nil {
				t.Fatal(err)
			}

			// The journal mode is a property of the file: any connection sees it.
			if got := pragma(t, outside(t, path), "journal_mode"); got != "wal" {
				t.Errorf("journal_mode = %q, want wal", got)
			}
			if _, err := os.Stat(path + "-wal"); err != nil {
				t.Errorf("no WAL file beside the database: %v", err)
			}
			// synchronous is per connection: read it on the store's own
			// write connection and reader pool. The writer is idle here.
			if got := pragma(t, db.wconn, "synchronous"); got != tc.want {
				t.Errorf("write connection synchronous = %s, want %s", got, tc.want)
			}
			if got := pragma(t, db.rdb, "synchronous"); got != tc.want {
				t.Errorf("read connection synchronous = %s, want %s", got, tc.want)
			}
			if got := pragma(t, db.wconn, "foreign_keys"); got != "1" {
				t.Errorf("write connection foreign_keys = %s, want 1", got)
			}
			if got := pragma(t, db.rdb, "query_only"); got != "1" {
				t.Errorf("read connection query_only = %s, want 1", got)
			}
		})
	}
}

// TestDB_WriteAfterClose: a Write racing with or following Close returns an
// error instead of waiting forever on a writer that has stopped.
func TestDB_WriteAfterClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "tender.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- db.Write(ctx, func(tx store.Tx) error { return nil })
		}()
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Writes racing with Close did not return")
	}
	if err := db.Write(ctx, func(tx store.Tx) error { return nil }); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// TestDB_IdempotencyKeyFilter: the key set never says "no" for a stored
// key: after a commit, after a reopen; and a rolled-back key is not kept.
func TestDB_IdempotencyKeyFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tender.db")
	db := mustOpen(t, path, Options{Exclusive: true})
	put := func(db *DB, key string, fail bool) error {
		return db.Write(ctx, func(tx store.Tx) error {
			now := tx.Now()
			if err := tx.PutIdempotencyRecord(ctx, &tender.IdempotencyRecord{AccountID: "acct_1", Mode: tender.ModeTest, Key: key,
				Fingerprint: "f", Status: 201, ContentType: "application/json", Body: []byte("{}"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			if fail {
				return errors.New("the command fails after storing")
			}
			return nil
		})
	}
	if db.MayHaveIdempotencyRecord("acct_1", tender.ModeTest, "key-0000001") {
		t.Fatal("an empty database may have a key")
	}
	if err := put(db, "key-0000001", false); err != nil {
		t.Fatal(err)
	}
	if err := put(db, "key-0000002", true); err == nil {
		t.Fatal("a failing command succeeded")
	}
	if !db.MayHaveIdempotencyRecord("acct_1", tender.ModeTest, "key-0000001") {
		t.Error("a committed key is unknown")
	}
	if db.MayHaveIdempotencyRecord("acct_1", tender.ModeTest, "key-0000002") {
		t.Error("a rolled-back key is known")
	}
	if db.MayHaveIdempotencyRecord("acct_1", tender.ModeLive, "key-0000001") || db.MayHaveIdempotencyRecord("acct_2", tender.ModeTest, "key-0000001") {
		t.Error("a key is known in another scope")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path, Options{Exclusive: true})
	if !db.MayHaveIdempotencyRecord("acct_1", tender.ModeTest, "key-0000001") {
		t.Error("a stored key is unknown after reopening")
	}
}

// TestOpen_ExclusiveReleasesDeadLeases: a job leased by a server that died
// can be claimed at once by the next server on the file.
func TestOpen_ExclusiveReleasesDeadLeases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tender.db")
	db := mustOpen(t, path, Options{Exclusive: true})
	err := db.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		return tx.EnqueueJob(ctx, &tender.Job{ID: tender.NewID(tender.PrefixJob, now), Kind: "k", RunAt: now, CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(db *DB) int {
		var jobs []*tender.Job
		if err := db.Write(ctx, func(tx store.Tx) (err error) { jobs, err = tx.ClaimJobs(ctx, 10, time.Hour); return err }); err != nil {
			t.Fatal(err)
		}
		return len(jobs)
	}
	if n := claim(db); n != 1 {
		t.Fatalf("claimed %d jobs, want 1", n)
	}
	if err := db.Close(); err != nil { // the server "dies" holding the lease
		t.Fatal(err)
	}
	db = mustOpen(t, path, Options{Exclusive: true})
	if n := claim(db); n != 1 {
		t.Fatalf("after reopening, claimed %d jobs, want the dead server's job back", n)
	}
}

// TestMigration013_EventCursor upgrades a database whose events carry the
// old dispatched flag: the events already dispatched stay behind the new
// cursor, the others are claimed once, in order, and new events follow.
func TestMigration013_EventCursor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tender.db")
	all, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var before []sqlstore.Migration
	for _, m := range all {
		if m.Version < 13 {
			before = append(before, m)
		}
	}
	old := outside(t, path)
	if _, err := sqlstore.Migrate(ctx, old, before, ""); err != nil {
		t.Fatalf("migrate to 012: %v", err)
	}
	// Interleaved on purpose: ids in order e1..e5, of which e2 and e4 were
	// dispatched before the upgrade.
	for i, dispatched := range []int{0, 1, 0, 1, 0} {
		id := fmt.Sprintf("evt_%d", i+1)
		data := fmt.Sprintf(`{"id":%q,"account_id":"acct_1","mode":"test","type":"payment_intent.created","object_id":"pi_%d","object":{},"created_at":"2026-01-01T00:00:00Z"}`, id, i+1)
		if _, err := old.ExecContext(ctx, `INSERT INTO events (id, account_id, mode, type, object_id, created_at, dispatched, data)
			VALUES ($1, 'acct_1', 'test', 'payment_intent.created', $2, 0, $3, $4)`, id, fmt.Sprintf("pi_%d", i+1), dispatched, data); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := mustOpen(t, path, Options{Exclusive: true})
	claim := func() []string {
		t.Helper()
		var ids []string
		if err := db.Write(ctx, func(tx store.Tx) error {
			evs, err := tx.ClaimUndispatchedEvents(ctx, 10)
			for _, e := range evs {
				ids = append(ids, e.ID)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := strings.Join(claim(), ","); got != "evt_1,evt_3,evt_5" {
		t.Fatalf("first claim after the upgrade = %q, want evt_1,evt_3,evt_5", got)
	}
	if got := claim(); len(got) != 0 {
		t.Fatalf("second claim = %v, want nothing", got)
	}
	if err := db.Write(ctx, func(tx store.Tx) error {
		return tx.CreateEvent(ctx, &tender.Event{ID: "evt_6", AccountID: "acct_1", Mode: tender.ModeTest, Type: "payment_intent.created",
			ObjectID: "pi_6", Object: []byte(`{}`), CreatedAt: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(claim(), ","); got != "evt_6" {
		t.Fatalf("claim after a new event = %q, want evt_6", got)
	}
	// Every event is still found by id.
	if err := db.Read(ctx, func(tx store.Tx) error {
		for i := 1; i <= 6; i++ {
			if _, err := tx.FindEventByID(ctx, tender.Scope{AccountID: "acct_1", Mode: tender.ModeTest}, fmt.Sprintf("evt_%d", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
