// Package sqlite is tender's embedded store: one SQLite file in WAL mode
// with synchronous=FULL, so that an acknowledged write survives power loss.
//
// All writes go through one writer goroutine that owns the only write
// connection. It takes every command queued while the previous commit was
// being fsynced and runs them in one transaction, each inside a savepoint
// (group commit): a failing command rolls back alone, and the batch costs
// one fsync. Reads use a pool of read-only connections, which WAL lets run
// beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the embedded SQLite migrations.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	return sqlstore.LoadMigrations(sub)
}

// maxBatch bounds how many commands share one commit.
const maxBatch = 256

var dialect = &sqlstore.Dialect{InterpretError: interpretError, BalanceShards: 1, EventSequence: true,
	GuardsQuery: `SELECT name FROM sqlite_master WHERE type = 'trigger'`}

// interpretError maps SQLite constraint violations to domain errors.
func interpretError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return tender.Errorf(tender.ECONFLICT, "already exists")
		}
	}
	return err
}

// Options tune Open.
type Options struct {
	// Clock fixes each transaction's time; the system clock by default.
	Clock tender.Clock
	// Exclusive takes an advisory lock on PATH.lock so that no second
	// tender server opens the same file (Claim's in-memory locks rely on it).
	Exclusive bool
	// Synchronous is the synchronous pragma: "full" (default) or "normal".
	Synchronous string
}

// DB is an open SQLite store.
type DB struct {
	path  string
	clock tender.Clock
	wdb   *sql.DB
	wconn *sql.Conn
	rdb   *sql.DB
	reqs  chan *writeReq
	quit  chan struct{}
	done  chan struct{}
	lock  *os.File

	closeOnce  sync.Once
	sendMu     sync.RWMutex // Write holds it to queue; Close takes it to stop queueing
	closed     bool
	rstmts     sync.Map       // query → *sql.Stmt on rdb
	rpreparing sync.Map       // query → true while it is being prepared
	bg         sync.WaitGroup // the checkpointer and background preparations, awaited by Close
	closing    atomic.Bool

	keys keySet // idempotency keys held, by hash

	onCommit atomic.Pointer[func()]

	claimMu sync.Mutex
	claims  map[string]*int // name → the holder's token
}

var _ store.Store = (*DB)(nil)

type writeReq struct {
	ctx context.Context
	fn  func(store.Tx) error
	err chan error
}

func dsn(path string, sync string, readOnly bool) string {
	// temp_store(memory) keeps savepoint sub-journals off disk; the page
	// cache holds a whole batch's dirty pages.
	s := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")" +
		"&_pragma=temp_store(memory)&_pragma=cache_size(-65536)"
	if !readOnly {
		// The writer never checkpoints; the checkpointer goroutine does, from
		// a connection of its own, so commits do not wait for it.
		s += "&_pragma=wal_autocheckpoint(0)"
	}
	if readOnly {
		s += "&_pragma=query_only(1)"
	}
	return s
}

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations.
func Open(ctx context.Context, path string, opts Options) (_ *DB, err error) {
	defer tender.Wrap(&err, "sqlite.Open(%q)", path)
	if opts.Clock == nil {
		opts.Clock = tender.SystemClock{}
	}
	if opts.Synchronous == "" {
		opts.Synchronous = "full"
	}
	db := &DB{path: path, clock: opts.Clock, reqs: make(chan *writeReq, 4*maxBatch), quit: make(chan struct{}),
		done: make(chan struct{}), claims: make(map[string]*int)}
	if opts.Exclusive {
		f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return nil, fmt.Errorf("database %s is in use by another tender server", path)
		}
		db.lock = f
	}
	if db.wdb, err = sql.Open("sqlite", dsn(path, opts.Synchronous, false)); err != nil {
		db.unlock()
		return nil, err
	}
	db.wdb.SetMaxOpenConns(1)
	db.wdb.SetConnMaxIdleTime(0)
	db.wdb.SetConnMaxLifetime(0)
	migrations, err := Migrations()
	if err != nil {
		db.wdb.Close()
		db.unlock()
		return nil, err
	}
	if _, err := sqlstore.Migrate(ctx, db.wdb, migrations, ""); err != nil {
		db.wdb.Close()
		db.unlock()
		return nil, err
	}
	if opts.Exclusive {
		// This process now owns the file: every lease in it belongs to a
		// server that died. Release them rather than wait them out.
		if _, err := db.wdb.ExecContext(ctx, `UPDATE jobs SET state = 'available', locked_until = 0 WHERE state = 'running'`); err != nil {
			db.wdb.Close()
			db.unlock()
			return nil, err
		}
		if _, err := db.wdb.ExecContext(ctx, `UPDATE deliveries SET locked_until = 0 WHERE locked_until > 0`); err != nil {
			db.wdb.Close()
			db.unlock()
			return nil, err
		}
	}
	if err := db.keys.load(ctx, db); err != nil {
		db.wdb.Close()
		db.unlock()
		return nil, err
	}
	if db.wconn, err = db.wdb.Conn(ctx); err != nil {
		db.wdb.Close()
		db.unlock()
		return nil, err
	}
	if db.rdb, err = sql.Open("sqlite", dsn(path, opts.Synchronous, true)); err != nil {
		db.wconn.Close()
		db.wdb.Close()
		db.unlock()
		return nil, err
	}
	n := 2 * runtime.NumCPU()
	db.rdb.SetMaxOpenConns(n)
	db.rdb.SetMaxIdleConns(n)
	go db.writer()
	db.bg.Add(1)
	go func() {
		defer db.bg.Done()
		db.checkpointer()
	}()
	return db, nil
}

// walRestartFrames is the WAL length (in pages) past which the
// checkpointer restarts the log.
const walRestartFrames = 16384

// checkpointer copies committed WAL frames into the database file in the
// background, so that the writer never pays for it. PASSIVE checkpoints
// block nobody; but while readers keep snapshots of the log, the writer
// cannot start it over, so past walRestartFrames a RESTART checkpoint waits
// for those readers (holding off writers for that moment) and the log starts
// again from its beginning.
func (db *DB) checkpointer() {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-db.quit:
			return
		case <-t.C:
		}
		var busy, logFrames, done int
		if err := db.rdb.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
			continue
		}
		if n++; n%300 == 0 { // about every minute
			db.keys.prune(db.clock.Now().UnixMicro())
		}
		if logFrames > walRestartFrames {
			_ = db.rdb.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &logFrames, &done)
		}
	}
}

func (db *DB) unlock() {
	if db.lock != nil {
		db.lock.Close()
		db.lock = nil
	}
}

// OnCommit makes the writer call f after every commit.
func (db *DB) OnCommit(f func()) { db.onCommit.Store(&f) }

// Engine returns "sqlite".
func (db *DB) Engine() string { return "sqlite" }

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close stops the writer after the queued writes and closes the database.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		db.closing.Store(true)
		db.sendMu.Lock()
		db.closed = true
		db.sendMu.Unlock()
		close(db.quit)
		<-db.done
		db.bg.Wait()
		db.rstmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
		err = errors.Join(db.rdb.Close(), db.wconn.Close(), db.wdb.Close())
		db.unlock()
	})
	return err
}

var errClosed = errors.New("sqlite store is closed")

// Write queues fn for the writer and waits until its batch is committed.
func (db *DB) Write(ctx context.Context, fn func(store.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, err: make(chan error, 1)}
	db.sendMu.RLock()
	if db.closed {
		db.sendMu.RUnlock()
		return errClosed
	}
	select {
	case db.reqs <- r:
		db.sendMu.RUnlock()
	case <-ctx.Done():
		db.sendMu.RUnlock()
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the command may
	// already be part of a committing batch.
	return <-r.err
}

// writer owns the write connection and commits batches of commands.
func (db *DB) writer() {
	defer close(db.done)
	cache := &stmtCache{conn: db.wconn, stmts: make(map[string]*sql.Stmt)}
	defer cache.close()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		var first *writeReq
		select {
		case first = <-db.reqs:
		case <-db.quit:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-db.reqs:
					db.commit(cache, []*writeReq{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-db.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		db.commit(cache, batch)
	}
}

// commit runs one batch in one transaction and reports each command's
// outcome. The fast path runs the commands back to back; if any fails, the
// whole transaction is rolled back and the batch runs again with a
// savepoint around each command, so that only the failing ones roll back.
// (A function given to Write may run more than once.)
func (db *DB) commit(cache *stmtCache, batch []*writeReq) {
	errs := make([]error, len(batch))
	added := make([][]keyEntry, len(batch))
	if !db.runBatch(cache, batch, errs, added, false) {
		return
	}
	failed := false
	for _, err := range errs {
		failed = failed || err != nil
	}
	if failed {
		if _, err := db.wconn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			db.abort(batch, fmt.Errorf("sqlite: rollback: %w", err))
			return
		}
		clear(errs)
		clear(added)
		if !db.runBatch(cache, batch, errs, added, true) {
			return
		}
	}
	if _, err := db.wconn.ExecContext(context.Background(), "COMMIT"); err != nil {
		db.abort(batch, fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	for i := range batch {
		if errs[i] == nil {
			db.keys.add(added[i])
		}
	}
	if f := db.onCommit.Load(); f != nil {
		(*f)()
	}
	for i, r := range batch {
		r.err <- errs[i]
	}
}

// runBatch begins a transaction and runs every command of batch in it,
// recording their errors. It returns false when it had to abort the batch.
func (db *DB) runBatch(cache *stmtCache, batch []*writeReq, errs []error, added [][]keyEntry, savepoints bool) bool {
	bg := context.Background()
	if _, err := db.wconn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		for _, r := range batch {
			r.err <- fmt.Errorf("sqlite: begin: %w", err)
		}
		return false
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if !savepoints {
			errs[i] = runFn(r.ctx, r.fn, writeTx{sqlstore.NewTx(cache, dialect, db.clock.Now()), &added[i]})
			continue
		}
		if _, err := cache.ExecContext(bg, "SAVEPOINT cmd"); err != nil {
			db.abort(batch, fmt.Errorf("sqlite: savepoint: %w", err))
			return false
		}
		if errs[i] = runFn(r.ctx, r.fn, writeTx{sqlstore.NewTx(cache, dialect, db.clock.Now()), &added[i]}); errs[i] != nil {
			added[i] = nil
			if _, err := cache.ExecContext(bg, "ROLLBACK TO cmd"); err != nil {
				db.abort(batch, fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return false
			}
		}
		if _, err := cache.ExecContext(bg, "RELEASE cmd"); err != nil {
			db.abort(batch, fmt.Errorf("sqlite: release savepoint: %w", err))
			return false
		}
	}
	return true
}

// abort rolls the whole batch back and fails every command in it.
func (db *DB) abort(batch []*writeReq, err error) {
	_, _ = db.wconn.ExecContext(context.Background(), "ROLLBACK")
	for _, r := range batch {
		r.err <- err
	}
}

// runFn calls fn, turning a panic into an error so one command cannot take
// down the writer.
func runFn(ctx context.Context, fn func(store.Tx) error, tx store.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in write transaction: %v", p)
		}
	}()
	return fn(tx)
}

// Read runs fn in a read transaction on a reader connection.
func (db *DB) Read(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(sqlstore.NewTx(&txStmts{tx: tx, db: db}, dialect, db.clock.Now()))
}

// Claim takes an in-memory lock: the Exclusive file lock makes this process
// the file's only server, so no other holder can exist, and a claim ends
// with the process. ttl is not needed here.
func (db *DB) Claim(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	db.claimMu.Lock()
	defer db.claimMu.Unlock()
	if _, ok := db.claims[name]; ok {
		return nil, tender.Errorf(tender.ECONFLICT, "%s is in use", name)
	}
	token := new(int)
	db.claims[name] = token
	return func() {
		db.claimMu.Lock()
		if db.claims[name] == token {
			delete(db.claims, name)
		}
		db.claimMu.Unlock()
	}, nil
}

// stmtCache runs statements on the write connection through prepared
// statements kept for the connection's life. Only the writer goroutine uses it.
type stmtCache struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := c.stmts[q]; ok {
		return s, nil
	}
	s, err := c.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.stmts[q] = s
	return s, nil
}

func (c *stmtCache) close() {
	for _, s := range c.stmts {
		s.Close()
	}
}

func (c *stmtCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	s, err := c.stmt(ctx, q)
	if err != nil {
		// Let database/sql report the preparation error through Scan.
		return c.conn.QueryRowContext(ctx, q, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// txStmts runs a read transaction's statements through statements prepared
// once on the reader pool.
type txStmts struct {
	tx *sql.Tx
	db *DB
}

// stmt returns q prepared for this transaction, or nil when q is not in the
// cache yet. Preparing on the pool needs a connection of its own, and a
// transaction that waited for one while holding its own could deadlock with
// others doing the same; so a miss runs q unprepared on the transaction's
// connection, and the cache is filled in the background.
func (t *txStmts) stmt(ctx context.Context, q string) *sql.Stmt {
	if s, ok := t.db.rstmts.Load(q); ok {
		return t.tx.StmtContext(ctx, s.(*sql.Stmt))
	}
	if t.db.closing.Load() {
		return nil
	}
	if _, loading := t.db.rpreparing.LoadOrStore(q, true); !loading {
		t.db.bg.Add(1)
		go func() {
			defer t.db.bg.Done()
			s, err := t.db.rdb.PrepareContext(context.Background(), q)
			if err != nil {
				t.db.rpreparing.Delete(q)
				return
			}
			if _, loaded := t.db.rstmts.LoadOrStore(q, s); loaded {
				s.Close()
			}
		}()
	}
	return nil
}

func (t *txStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *txStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t *txStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}
