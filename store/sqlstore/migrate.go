package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one numbered, forward-only schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads NNN_name.sql files from fsys, ordered by number.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and an underscore", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q share number %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// Migrate applies the migrations not yet recorded in schema_migrations,
// each in its own transaction. lockSQL, if not empty, runs first in each
// transaction to serialize migrators (PostgreSQL's advisory lock).
func Migrate(ctx context.Context, db *sql.DB, migrations []Migration, lockSQL string) (applied int, err error) {
	if err := createMigrationsTable(ctx, db, lockSQL); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		done, err := applyOne(ctx, db, m, lockSQL)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

// createMigrationsTable creates schema_migrations under the migrators' lock,
// so that servers starting together do not race to create it.
func createMigrationsTable(ctx context.Context, db *sql.DB, lockSQL string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if lockSQL != "" {
		if _, err := tx.ExecContext(ctx, lockSQL); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	return tx.Commit()
}

func applyOne(ctx context.Context, db *sql.DB, m Migration, lockSQL string) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if lockSQL != "" {
		if _, err := tx.ExecContext(ctx, lockSQL); err != nil {
			return false, err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
