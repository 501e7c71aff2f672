package store

import (
	"context"

	"github.com/tenderpay/tender"
)

// ProviderTx stores HighLevel payment provider configurations: custom
// providers and white-label providers. Neither has a mode; every method is
// scoped to an account, except FindCustomProviderByID, which the payment
// path uses with an id it recorded itself.
type ProviderTx interface {
	// CreateCustomProvider inserts p, with its sealed keys. It returns
	// ECONFLICT when the account already has an undeleted custom provider
	// of p's app.
	CreateCustomProvider(ctx context.Context, p *tender.CustomProvider) error
	// UpdateCustomProvider overwrites the stored provider with p (its keys
	// and deleted flag included). It returns ENOTFOUND unless a provider
	// p.ID of account p.AccountID exists.
	UpdateCustomProvider(ctx context.Context, p *tender.CustomProvider) error
	// FindCustomProvider returns the undeleted custom provider of an
	// account and marketplace app, with its sealed keys, or ENOTFOUND.
	FindCustomProvider(ctx context.Context, accountID, appID string) (*tender.CustomProvider, error)
	// FindCustomProviderByID returns a custom provider by id, deleted or
	// not, with its sealed keys, or ENOTFOUND.
	FindCustomProviderByID(ctx context.Context, id string) (*tender.CustomProvider, error)
	// FindConnectedCustomProvider returns the account's undeleted custom
	// provider whose keys of mode m were connected last, or ENOTFOUND when
	// none has keys of that mode.
	FindConnectedCustomProvider(ctx context.Context, accountID string, m tender.Mode) (*tender.CustomProvider, error)
	// ListCustomProvidersByApp returns the undeleted custom providers of a
	// marketplace app in every account of an organization, by id.
	ListCustomProvidersByApp(ctx context.Context, organizationID, appID string) ([]*tender.CustomProvider, error)

	// CreateWhiteLabelProvider inserts p. It returns ECONFLICT when the
	// account already has a white-label provider of p's unique name.
	CreateWhiteLabelProvider(ctx context.Context, p *tender.WhiteLabelProvider) error
	// ListWhiteLabelProviders returns up to limit of an account's
	// white-label providers, newest first, after skipping offset.
	ListWhiteLabelProviders(ctx context.Context, accountID string, limit, offset int) ([]*tender.WhiteLabelProvider, error)
}
