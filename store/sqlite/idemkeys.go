package sqlite

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/store/sqlstore"
)

// maxKeys bounds the key set's memory (about 40 bytes a key). Past it the
// set is dropped and every lookup goes to the database.
const maxKeys = 5_000_000

var keySeed = maphash.MakeSeed()

func keyHash(accountID string, mode tender.Mode, key string) uint64 {
	var h maphash.Hash
	h.SetSeed(keySeed)
	h.WriteString(accountID)
	h.WriteByte(0)
	h.WriteString(string(mode))
	h.WriteByte(0)
	h.WriteString(key)
	return h.Sum64()
}

// keySet knows every idempotency key the database holds (by hash), so that
// a request with a new key, the common case, needs no query. It can answer
// "maybe" for a key that is not there (a hash collision, an expired or swept
// record), never "no" for one that is: it is filled from the table when the
// store opens, and each commit adds the keys it stored before anyone is told
// of the commit. Only this process writes the file (Options.Exclusive).
type keySet struct {
	mu       sync.RWMutex
	m        map[uint64]int64 // hash → expiry, unix microseconds
	overflow bool
}

type keyEntry struct {
	hash    uint64
	expires int64
}

func (s *keySet) mayHave(h uint64, now int64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.overflow {
		return true
	}
	exp, ok := s.m[h]
	return ok && exp > now
}

func (s *keySet) add(entries []keyEntry) {
	if len(entries) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.overflow {
		return
	}
	for _, e := range entries {
		if e.expires > s.m[e.hash] {
			s.m[e.hash] = e.expires
		}
	}
	if len(s.m) > maxKeys {
		s.overflow, s.m = true, nil
	}
}

// prune forgets keys that expired before now.
func (s *keySet) prune(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, exp := range s.m {
		if exp <= now {
			delete(s.m, h)
		}
	}
}

// load fills the set from the idempotency records table.
func (s *keySet) load(ctx context.Context, db *DB) error {
	s.m = make(map[uint64]int64)
	rows, err := db.wdb.QueryContext(ctx, `SELECT account_id, mode, key, expires_at FROM idempotency_records WHERE expires_at > $1`,
		db.clock.Now().UnixMicro())
	if err != nil {
		return err
	}
	defer rows.Close()
	var entries []keyEntry
	for rows.Next() {
		var acct, mode, key string
		var exp int64
		if err := rows.Scan(&acct, &mode, &key, &exp); err != nil {
			return err
		}
		entries = append(entries, keyEntry{keyHash(acct, tender.Mode(mode), key), exp})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.add(entries)
	return nil
}

// MayHaveIdempotencyRecord reports false only when no unexpired record of
// key exists, without a query.
func (db *DB) MayHaveIdempotencyRecord(accountID string, mode tender.Mode, key string) bool {
	return db.keys.mayHave(keyHash(accountID, mode, key), db.clock.Now().UnixMicro())
}

var _ store.IdempotencyKeyFilter = (*DB)(nil)

// writeTx is the writer's Tx: it notes the idempotency keys a command
// stores, for the key set once the batch commits.
type writeTx struct {
	*sqlstore.Tx
	added *[]keyEntry
}

func (t writeTx) PutIdempotencyRecord(ctx context.Context, rec *tender.IdempotencyRecord) error {
	if err := t.Tx.PutIdempotencyRecord(ctx, rec); err != nil {
		return err
	}
	*t.added = append(*t.added, keyEntry{keyHash(rec.AccountID, rec.Mode, rec.Key), rec.ExpiresAt.UnixMicro()})
	return nil
}
