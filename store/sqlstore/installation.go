package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tenderpay/tender"
)

// PutInstallationValue stores value under name unless one is there and
// returns the stored value.
func (t *Tx) PutInstallationValue(ctx context.Context, name, value string) (string, error) {
	if _, err := t.exec(ctx, `INSERT INTO installation_values (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
		name, value, micros(t.Now())); err != nil {
		return "", err
	}
	return t.FindInstallationValue(ctx, name)
}

// FindInstallationValue returns the value stored under name.
func (t *Tx) FindInstallationValue(ctx context.Context, name string) (string, error) {
	var v string
	err := t.q.QueryRowContext(ctx, `SELECT value FROM installation_values WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", tender.Errorf(tender.ENOTFOUND, "no installation value %q", name)
	}
	return v, err
}
