// Package account manages tenancy: organizations, their accounts, and the
// API keys that authenticate callers. Keys are random, shown once, and
// stored only as SHA-256 hashes (they carry 190 bits of entropy, so a fast
// hash is safe and lets a key be found by its hash).
package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// Service manages organizations, accounts and credentials.
type Service struct {
	Store store.Store

	// CacheTTL is how long a resolved key stays cached in memory.
	CacheTTL time.Duration
	mu       sync.Mutex
	cache    map[string]cached
}

type cached struct {
	scope   tender.Scope
	expires time.Time
}

// New returns a Service.
func New(s store.Store) *Service {
	return &Service{Store: s, CacheTTL: 30 * time.Second, cache: make(map[string]cached)}
}

// HashKey returns the stored form of an API key.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// Keys are the Forward keys of one account and mode, in clear, shown once.
type Keys struct {
	PrivateKey string `json:"private_key"`
	PublicKey  string `json:"public_key"`
}

// Bootstrap is what creating an organization yields: its ids and, in clear,
// the keys made for its first account.
type Bootstrap struct {
	OrganizationID string `json:"organization_id"`
	AccountID      string `json:"account_id"`
	Forward        struct {
		Test Keys `json:"test"`
		Live Keys `json:"live"`
	} `json:"forward"`
	// HighLevel is the account's location token holding every scope of
	// HighLevelScopes.
	HighLevel HighLevelCredentials `json:"highlevel"`
}

// CreateOrganization creates an organization with one account and a
// private and public Forward key for each mode.
func (s *Service) CreateOrganization(ctx context.Context, name string) (*Bootstrap, error) {
	var b Bootstrap
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		org := &tender.Organization{ID: tender.NewID(tender.PrefixOrganization, now), Name: name, CreatedAt: now}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		acct := &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: org.ID, Name: name, CreatedAt: now}
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		b.OrganizationID, b.AccountID = org.ID, acct.ID
		var err error
		if b.Forward.Test, err = createForwardKeys(ctx, tx, acct.ID, tender.ModeTest); err != nil {
			return err
		}
		if b.Forward.Live, err = createForwardKeys(ctx, tx, acct.ID, tender.ModeLive); err != nil {
			return err
		}
		b.HighLevel = HighLevelCredentials{CompanyID: org.ID, LocationID: acct.ID}
		b.HighLevel.Token, err = createHighLevelToken(ctx, tx, acct.ID, false, "", HighLevelScopes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// CreateAccount adds an account to an organization and returns it with its
// Forward keys.
func (s *Service) CreateAccount(ctx context.Context, orgID, name string) (*tender.Account, map[tender.Mode]Keys, error) {
	var acct *tender.Account
	keys := map[tender.Mode]Keys{}
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		now := tx.Now()
		acct = &tender.Account{ID: tender.NewID(tender.PrefixAccount, now), OrganizationID: orgID, Name: name, CreatedAt: now}
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		for _, m := range []tender.Mode{tender.ModeTest, tender.ModeLive} {
			k, err := createForwardKeys(ctx, tx, acct.ID, m)
			if err != nil {
				return err
			}
			keys[m] = k
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return acct, keys, nil
}

func createForwardKeys(ctx context.Context, tx store.Tx, accountID string, mode tender.Mode) (Keys, error) {
	k := Keys{
		PrivateKey: "fwd_sk_" + string(mode) + "_" + tender.RandomString(32),
		PublicKey:  "fwd_pk_" + string(mode) + "_" + tender.RandomString(32),
	}
	for kind, key := range map[string]string{tender.CredentialForwardPrivate: k.PrivateKey, tender.CredentialForwardPublic: k.PublicKey} {
		if err := createCredential(ctx, tx, accountID, mode, kind, key); err != nil {
			return Keys{}, err
		}
	}
	return k, nil
}

func createCredential(ctx context.Context, tx store.Tx, accountID string, mode tender.Mode, kind, key string) error {
	now := tx.Now()
	return tx.CreateCredential(ctx, &tender.Credential{ID: tender.NewID(tender.PrefixCredential, now), AccountID: accountID,
		Mode: mode, Kind: kind, Hash: HashKey(key), Hint: key[:len(key)-32] + "…" + key[len(key)-4:], CreatedAt: now})
}

// Authenticate resolves an API key to its scope. It returns EUNAUTHORIZED
// for an unknown key.
func (s *Service) Authenticate(ctx context.Context, key string) (tender.Scope, error) {
	if key == "" {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "an API key is required")
	}
	hash := HashKey(key)
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[hash]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.scope, nil
	}
	var sc tender.Scope
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		cred, err := tx.FindCredentialByHash(ctx, hash)
		if err != nil {
			return err
		}
		acct, err := tx.FindAccountByID(ctx, cred.AccountID)
		if err != nil {
			return err
		}
		sc = tender.Scope{OrganizationID: acct.OrganizationID, AccountID: acct.ID, Mode: cred.Mode, CredentialID: cred.ID,
			CredentialKind: cred.Kind, Scopes: cred.Scopes, AppID: cred.AppID}
		if sc.AppID == "" && (cred.Kind == tender.CredentialHighLevelLocation || cred.Kind == tender.CredentialHighLevelCompany) {
			sc.AppID = DefaultHighLevelAppID
		}
		return nil
	})
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return tender.Scope{}, tender.Errorf(tender.EUNAUTHORIZED, "the API key is not valid")
	} else if err != nil {
		return tender.Scope{}, err
	}
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache)
	}
	s.cache[hash] = cached{scope: sc, expires: now.Add(s.CacheTTL)}
	s.mu.Unlock()
	return sc, nil
}

// ActAs narrows sc to accountID, which must be sc's own account or another
// account of its organization. It returns EFORBIDDEN for a foreign account.
func (s *Service) ActAs(ctx context.Context, sc tender.Scope, accountID string) (tender.Scope, error) {
	if accountID == "" || accountID == sc.AccountID {
		return sc, nil
	}
	var acct *tender.Account
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		acct, err = tx.FindAccountByID(ctx, accountID)
		return err
	})
	if tender.ErrorCode(err) == tender.ENOTFOUND || (err == nil && acct.OrganizationID != sc.OrganizationID) {
		return tender.Scope{}, tender.Errorf(tender.EFORBIDDEN, "this API key may not act for account %s", accountID)
	} else if err != nil {
		return tender.Scope{}, err
	}
	sc.AccountID = acct.ID
	return sc, nil
}

// HasOrganizations reports whether the database holds any organization.
func (s *Service) HasOrganizations(ctx context.Context) (bool, error) {
	var n int
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		n, err = tx.CountOrganizations(ctx)
		return err
	})
	return n > 0, err
}
