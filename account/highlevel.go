package account

import (
	"context"
	"slices"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// HighLevelScopes are the OAuth scopes tender's HighLevel dialect knows:
// every payments and products scope of HighLevel's Payments and Products
// APIs, and tender's own for webhook endpoints. The first organization's
// location token holds all of them.
var HighLevelScopes = []string{
	"payments/orders.readonly",
	"payments/orders.write",
	"payments/orders.collectPayment",
	"payments/transactions.readonly",
	"payments/subscriptions.readonly",
	// tender's own, for its subscription cancel extension (HighLevel's
	// spec has no write operation on subscriptions).
	"payments/subscriptions.write",
	"payments/integration.readonly",
	"payments/integration.write",
	"payments/coupons.readonly",
	"payments/coupons.write",
	"payments/custom-provider.readonly",
	"payments/custom-provider.write",
	"products.readonly",
	"products.write",
	"products/prices.readonly",
	"products/prices.write",
	// tender's own, for its webhook endpoint extension.
	"tender/webhooks.readonly",
	"tender/webhooks.write",
}

// HighLevelCredentials are the HighLevel ids and token of an account, the
// token in clear, shown once. The company is the organization and the
// location the account.
type HighLevelCredentials struct {
	CompanyID  string `json:"company_id"`
	LocationID string `json:"location_id"`
	Token      string `json:"token"`
}

// Token prefixes: a location (sub-account) token and a company token.
const (
	highLevelLocationPrefix = "hl_loc_"
	highLevelCompanyPrefix  = "hl_co_"
)

// CheckHighLevelScopes returns EINVALID naming the first unknown scope.
func CheckHighLevelScopes(scopes []string) error {
	if len(scopes) == 0 {
		return tender.FieldError("scopes", "at least one scope is required")
	}
	for _, sc := range scopes {
		if !slices.Contains(HighLevelScopes, sc) {
			return tender.FieldError("scopes", "unknown scope "+sc+"; known: "+strings.Join(HighLevelScopes, ", "))
		}
	}
	return nil
}

// DefaultHighLevelAppID is the marketplace app of HighLevel tokens made
// without one (tender init's token among them). HighLevel keys custom
// provider configurations by location and marketplace app; such tokens all
// share this app.
const DefaultHighLevelAppID = "tender-default-app"

// maxAppIDLen bounds a marketplace app id.
const maxAppIDLen = 64

// CheckHighLevelAppID returns EINVALID naming "app" unless id is a usable
// marketplace app id: 1 to 64 ASCII letters, digits, '-' or '_'.
func CheckHighLevelAppID(id string) error {
	if id == "" || len(id) > maxAppIDLen {
		return tender.FieldError("app", "must be 1 to 64 characters")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return tender.FieldError("app", "may hold only letters, digits, '-' and '_'")
		}
	}
	return nil
}

// CreateHighLevelToken mints a HighLevel bearer token for an account: a
// location token, or with company a company token that may act for every
// account of the account's organization. The token is returned in clear
// once and stored hashed. It belongs to the default marketplace app.
func (s *Service) CreateHighLevelToken(ctx context.Context, accountID string, company bool, scopes []string) (string, error) {
	return s.CreateHighLevelAppToken(ctx, accountID, company, "", scopes)
}

// CreateHighLevelAppToken is CreateHighLevelToken for a token of the
// marketplace app appID ("" for DefaultHighLevelAppID).
func (s *Service) CreateHighLevelAppToken(ctx context.Context, accountID string, company bool, appID string, scopes []string) (string, error) {
	if err := CheckHighLevelScopes(scopes); err != nil {
		return "", err
	}
	if appID != "" {
		if err := CheckHighLevelAppID(appID); err != nil {
			return "", err
		}
	}
	var token string
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.FindAccountByID(ctx, accountID); err != nil {
			return err
		}
		var err error
		token, err = createHighLevelToken(ctx, tx, accountID, company, appID, scopes)
		return err
	})
	return token, err
}

func createHighLevelToken(ctx context.Context, tx store.Tx, accountID string, company bool, appID string, scopes []string) (string, error) {
	prefix, kind := highLevelLocationPrefix, tender.CredentialHighLevelLocation
	if company {
		prefix, kind = highLevelCompanyPrefix, tender.CredentialHighLevelCompany
	}
	token := prefix + tender.RandomString(40)
	now := tx.Now()
	// A HighLevel token sees both modes of its location; the credential's
	// mode column records live, and the dialect chooses the mode per object.
	err := tx.CreateCredential(ctx, &tender.Credential{ID: tender.NewID(tender.PrefixCredential, now), AccountID: accountID,
		Mode: tender.ModeLive, Kind: kind, Hash: HashKey(token), Hint: token[:len(prefix)] + "…" + token[len(token)-4:],
		Scopes: slices.Clone(scopes), AppID: appID, CreatedAt: now})
	return token, err
}
