package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tenderpay/tender/store/postgres"
	"github.com/tenderpay/tender/store/sqlite"
	"github.com/tenderpay/tender/store/sqlstore"
)

// TestMigrations_SameInBothDialects holds the two dialects to one schema
// history: every migration exists in both, under the same number and name.
func TestMigrations_SameInBothDialects(t *testing.T) {
	t.Parallel()
	lite, err := sqlite.Migrations()
	if err != nil {
		t.Fatalf("sqlite.Migrations: %v", err)
	}
	pg, err := postgres.Migrations()
	if err != nil {
		t.Fatalf("postgres.Migrations: %v", err)
	}
	if len(lite) == 0 {
		t.Fatal("no SQLite migrations")
	}
	type entry struct {
		Version int
		Name    string
	}
	list := func(ms []sqlstore.Migration) []entry {
		out := make([]entry, len(ms))
		for i, m := range ms {
			out[i] = entry{m.Version, m.Name}
			if m.SQL == "" {
				t.Errorf("migration %s is empty", m.Name)
			}
		}
		return out
	}
	if d := cmp.Diff(list(lite), list(pg)); d != "" {
		t.Errorf("migrations mismatch (-sqlite +postgres):\n%s", d)
	}
}
