package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/tenderpay/tender"
)

// Custom providers keep their sealed API keys in columns of their own: the
// JSON document never holds them (ProviderKeys.APIKeySealed is json:"-").

// providerColumns are the values of a custom provider's indexed and secret
// columns.
func providerColumns(p *tender.CustomProvider) (deleted, liveAt, testAt int64, liveKey, testKey string) {
	if p.Deleted {
		deleted = 1
	}
	if p.Live != nil {
		liveAt, liveKey = micros(p.Live.ConnectedAt), p.Live.APIKeySealed
	}
	if p.Test != nil {
		testAt, testKey = micros(p.Test.ConnectedAt), p.Test.APIKeySealed
	}
	return
}

// CreateCustomProvider inserts p.
func (t *Tx) CreateCustomProvider(ctx context.Context, p *tender.CustomProvider) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	deleted, liveAt, testAt, liveKey, testKey := providerColumns(p)
	_, err = t.exec(ctx, `INSERT INTO custom_providers (id, account_id, app_id, deleted, live_connected_at, test_connected_at,
		live_api_key_sealed, test_api_key_sealed, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.ID, p.AccountID, p.AppID, deleted, liveAt, testAt, liveKey, testKey, micros(p.CreatedAt), micros(p.UpdatedAt), data)
	if tender.ErrorCode(err) == tender.ECONFLICT {
		return tender.Errorf(tender.ECONFLICT, "the location already has a custom provider of marketplace app %s", p.AppID)
	}
	return err
}

// UpdateCustomProvider overwrites the stored provider with p.
func (t *Tx) UpdateCustomProvider(ctx context.Context, p *tender.CustomProvider) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	deleted, liveAt, testAt, liveKey, testKey := providerColumns(p)
	err = t.execOne(ctx, "custom provider", p.ID, `UPDATE custom_providers SET deleted = $1, live_connected_at = $2,
		test_connected_at = $3, live_api_key_sealed = $4, test_api_key_sealed = $5, updated_at = $6, data = $7
		WHERE id = $8 AND account_id = $9`,
		deleted, liveAt, testAt, liveKey, testKey, micros(p.UpdatedAt), data, p.ID, p.AccountID)
	if tender.ErrorCode(err) == tender.ECONFLICT {
		return tender.Errorf(tender.ECONFLICT, "the location already has a custom provider of marketplace app %s", p.AppID)
	}
	return err
}

const providerSelect = `SELECT data, live_api_key_sealed, test_api_key_sealed FROM custom_providers `

// scanProvider decodes one custom provider row of providerSelect.
func scanProvider(row interface{ Scan(...any) error }) (*tender.CustomProvider, error) {
	var data, liveKey, testKey string
	if err := row.Scan(&data, &liveKey, &testKey); err != nil {
		return nil, err
	}
	p := new(tender.CustomProvider)
	if err := json.Unmarshal([]byte(data), p); err != nil {
		return nil, err
	}
	if p.Live != nil {
		p.Live.APIKeySealed = liveKey
	}
	if p.Test != nil {
		p.Test.APIKeySealed = testKey
	}
	return p, nil
}

func (t *Tx) findProvider(ctx context.Context, query string, args ...any) (*tender.CustomProvider, error) {
	p, err := scanProvider(t.q.QueryRowContext(ctx, providerSelect+query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tender.Errorf(tender.ENOTFOUND, "custom provider not found")
	} else if err != nil {
		return nil, t.d.InterpretError(err)
	}
	return p, nil
}

// FindCustomProvider returns the undeleted custom provider of an account and app.
func (t *Tx) FindCustomProvider(ctx context.Context, accountID, appID string) (*tender.CustomProvider, error) {
	return t.findProvider(ctx, `WHERE account_id = $1 AND app_id = $2 AND deleted = 0`, accountID, appID)
}

// FindCustomProviderByID returns a custom provider by id, deleted or not.
func (t *Tx) FindCustomProviderByID(ctx context.Context, id string) (*tender.CustomProvider, error) {
	return t.findProvider(ctx, `WHERE id = $1`, id)
}

// FindConnectedCustomProvider returns the account's undeleted provider whose
// keys of mode m were connected last.
func (t *Tx) FindConnectedCustomProvider(ctx context.Context, accountID string, m tender.Mode) (*tender.CustomProvider, error) {
	col := "test_connected_at"
	if m == tender.ModeLive {
		col = "live_connected_at"
	}
	return t.findProvider(ctx, `WHERE account_id = $1 AND deleted = 0 AND `+col+` > 0 ORDER BY `+col+` DESC, id DESC LIMIT 1`, accountID)
}

// ListCustomProvidersByApp returns the undeleted providers of an app in an
// organization's accounts.
func (t *Tx) ListCustomProvidersByApp(ctx context.Context, organizationID, appID string) ([]*tender.CustomProvider, error) {
	rows, err := t.q.QueryContext(ctx, providerSelect+`WHERE app_id = $1 AND deleted = 0
		AND account_id IN (SELECT id FROM accounts WHERE organization_id = $2) ORDER BY id`, appID, organizationID)
	if err != nil {
		return nil, t.d.InterpretError(err)
	}
	defer rows.Close()
	var out []*tender.CustomProvider
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CreateWhiteLabelProvider inserts p.
func (t *Tx) CreateWhiteLabelProvider(ctx context.Context, p *tender.WhiteLabelProvider) error {
	data, err := marshal(p)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO white_label_providers (id, account_id, unique_name, created_at, data) VALUES ($1, $2, $3, $4, $5)`,
		p.ID, p.AccountID, p.UniqueName, micros(p.CreatedAt), data)
	if tender.ErrorCode(err) == tender.ECONFLICT {
		return &tender.Error{Code: tender.ECONFLICT, Message: "uniqueName is already taken in this location",
			Fields: map[string]string{"uniqueName": "is already taken in this location"}}
	}
	return err
}

// ListWhiteLabelProviders returns a page of an account's white-label
// providers, newest first.
func (t *Tx) ListWhiteLabelProviders(ctx context.Context, accountID string, limit, offset int) ([]*tender.WhiteLabelProvider, error) {
	return listDocs[tender.WhiteLabelProvider](ctx, t, `SELECT data FROM white_label_providers WHERE account_id = $1
		ORDER BY id DESC LIMIT $2 OFFSET $3`, accountID, limit, offset)
}
