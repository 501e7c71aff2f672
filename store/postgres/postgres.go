// Package postgres is tender's store for scale: several tender processes may
// share one PostgreSQL database. Write transactions run at REPEATABLE READ
// and are retried on serialization failures and deadlocks; jobs are claimed
// with FOR UPDATE SKIP LOCKED; in-flight claims are rows with a lease.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the embedded PostgreSQL migrations.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	return sqlstore.LoadMigrations(sub)
}

// migrateLock serializes concurrent migrators (several servers starting at once).
const migrateLock = `SELECT pg_advisory_xact_lock(7268263361)`

var dialect = &sqlstore.Dialect{SkipLocked: " FOR UPDATE SKIP LOCKED", InterpretError: interpretError,
	BalanceShards: BalanceShards, ForUpdate: " FOR UPDATE", PostingCTE: true, Arrays: true,
	GuardsQuery: `SELECT t.tgname FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'
		AND t.tgrelid IN ('ledger_entries'::regclass, 'ledger_transactions'::regclass)`,
	ExtraGuards: []string{"ledger_entries_no_truncate", "ledger_transactions_no_truncate"}}

// BalanceShards is how many rows hold each ledger account's balance on
// PostgreSQL. Concurrent postings to one account then mostly update
// different rows; two that meet on a row are serialized by its lock, and
// the later one, at REPEATABLE READ, fails and is retried by Write.
const BalanceShards = 64

// interpretError maps PostgreSQL constraint violations to domain errors by
// SQLSTATE.
func interpretError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return tender.Errorf(tender.ECONFLICT, "already exists")
		case "22021", "22P05": // bytes that are not valid UTF-8 text
			return tender.Errorf(tender.EINVALID, "the request holds characters that cannot be stored (invalid UTF-8 or NUL)")
		}
	}
	return err
}

// retryable reports a serialization failure or deadlock, after which the
// whole transaction may be run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Options tune Open.
type Options struct {
	Clock    tender.Clock
	MaxConns int
}

// DB is an open PostgreSQL store.
type DB struct {
	onCommit atomic.Pointer[func()]
	db       *sql.DB
	clock    tender.Clock
	owner    string
	closed   chan struct{} // stops lease renewals
	once     sync.Once
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url and applies pending migrations.
func Open(ctx context.Context, url string, opts Options) (_ *DB, err error) {
	defer tender.Wrap(&err, "postgres.Open")
	if opts.Clock == nil {
		opts.Clock = tender.SystemClock{}
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	sqldb.SetMaxOpenConns(opts.MaxConns)
	sqldb.SetMaxIdleConns(opts.MaxConns)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	migrations, err := Migrations()
	if err != nil {
		sqldb.Close()
		return nil, err
	}
	if _, err := sqlstore.Migrate(ctx, sqldb, migrations, migrateLock); err != nil {
		sqldb.Close()
		return nil, err
	}
	return &DB{db: sqldb, clock: opts.Clock, owner: tender.RandomString(16), closed: make(chan struct{})}, nil
}

// Engine returns "postgres".
func (db *DB) Engine() string { return "postgres" }

// Close stops renewing claims and closes the connection pool.
func (db *DB) Close() error {
	db.once.Do(func() { close(db.closed) })
	return db.db.Close()
}

// SQL returns the underlying pool, for tests and tools.
func (db *DB) SQL() *sql.DB { return db.db }

const maxTries = 20

// Write runs fn at REPEATABLE READ, retrying it on serialization failures.
func (db *DB) Write(ctx context.Context, fn func(store.Tx) error) error {
	var err error
	for try := 0; try < maxTries; try++ {
		if err = db.tryWrite(ctx, fn); !retryable(err) {
			return err
		}
		backoff := time.Duration(1<<min(try, 7)) * time.Millisecond
		select {
		case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)))):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("postgres: gave up after %d serialization failures: %w", maxTries, err)
}

func (db *DB) tryWrite(ctx context.Context, fn func(store.Tx) error) (err error) {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			err = fmt.Errorf("panic in write transaction: %v", p)
		}
	}()
	if err := fn(sqlstore.NewTx(tx, dialect, db.clock.Now())); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if f := db.onCommit.Load(); f != nil {
		(*f)()
	}
	return nil
}

// OnCommit makes every successful Write call f after its commit.
func (db *DB) OnCommit(f func()) { db.onCommit.Store(&f) }

// Read runs fn in a read-only REPEATABLE READ transaction.
func (db *DB) Read(ctx context.Context, fn func(store.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(sqlstore.NewTx(tx, dialect, db.clock.Now()))
}

// Claim takes a leased row in the claims table, shared by every process.
func (db *DB) Claim(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	now := time.Now()
	token := db.owner + tender.RandomString(8)
	var owner string
	err := db.db.QueryRowContext(ctx, `INSERT INTO claims (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at WHERE claims.expires_at <= $4
		RETURNING owner`, name, token, now.Add(ttl).UnixMicro(), now.UnixMicro()).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tender.Errorf(tender.ECONFLICT, "%s is in use", name)
	} else if err != nil {
		return nil, err
	}
	// Renew the lease while the claim is held, so that ttl can be short: a
	// holder that dies loses the claim within ttl, a live one never does.
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-db.closed:
				return
			case <-t.C:
				_, _ = db.db.ExecContext(context.Background(), `UPDATE claims SET expires_at = $1 WHERE name = $2 AND owner = $3`,
					time.Now().Add(ttl).UnixMicro(), name, token)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			_, _ = db.db.ExecContext(context.Background(), `DELETE FROM claims WHERE name = $1 AND owner = $2`, name, token)
		})
	}, nil
}
