package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

// Idempotency runs mutating commands so that a retry with the same key gets
// the first response byte for byte. The response is rendered and stored in
// the transaction that makes the command's effect (through the store's
// commit hook), so an effect never exists without its record, nor a record
// without its effect.
type Idempotency struct {
	Store store.Store
	// Headers are the request headers that may carry the key, in order.
	Headers []string
	// MinLength is the shortest key accepted.
	MinLength int
	// TTL is how long a record is kept.
	TTL time.Duration
	// InFlightTTL bounds how long a crashed request's key stays locked on
	// PostgreSQL (the lease is renewed while the request runs; on SQLite the
	// lock dies with the process).
	InFlightTTL time.Duration
}

// Render turns a command's result into the response status and body. It
// runs inside the command's transaction and may read through tx.
type Render func(ctx context.Context, tx store.Tx, result any) (int, []byte, error)

// Response is a command's answer.
type Response struct {
	Status   int
	Body     []byte
	Replayed bool
}

// Key returns the request's idempotency key, or "" if none.
func (id *Idempotency) Key(r *http.Request) string {
	for _, h := range id.Headers {
		if k := r.Header.Get(h); k != "" {
			return k
		}
	}
	return ""
}

// Fingerprint hashes what makes two requests "the same": method, path,
// query and the body, canonicalized when it is JSON (keys sorted).
func Fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery + "\n"))
	var v any
	if json.Unmarshal(body, &v) == nil {
		canon, _ := json.Marshal(v)
		h.Write(canon)
	} else {
		h.Write(bytes.TrimSpace(body))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Do runs the command run, whose service call must invoke the commit hook
// of the context it is given. Without a key it simply runs. With a key:
// a stored response for the same request is replayed; for another request
// it is EIDEMPOTENCYMISMATCH; while the key's first request still runs it is
// EIDEMPOTENCYINFLIGHT.
func (id *Idempotency) Do(ctx context.Context, r *http.Request, sc tender.Scope, body []byte, render Render, run func(ctx context.Context) error) (*Response, error) {
	key := id.Key(r)
	var fp string
	if key != "" {
		if len(key) < id.MinLength || len(key) > 255 {
			return nil, tender.FieldError(id.Headers[0], "must be between "+strconv.Itoa(id.MinLength)+" and 255 characters")
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x21 || key[i] > 0x7e {
				return nil, tender.FieldError(id.Headers[0], "must be printable ASCII without spaces")
			}
		}
		fp = Fingerprint(r, body)
	}
	var resp *Response
	hook := func(ctx context.Context, tx store.Tx, result any) error {
		status, b, err := render(ctx, tx, result)
		if err != nil {
			return err
		}
		resp = &Response{Status: status, Body: b}
		if key == "" {
			return nil
		}
		now := tx.Now()
		return tx.PutIdempotencyRecord(ctx, &tender.IdempotencyRecord{AccountID: sc.AccountID, Mode: sc.Mode, Key: key,
			Fingerprint: fp, Status: status, ContentType: "application/json", Body: b,
			CreatedAt: now, ExpiresAt: now.Add(id.TTL)})
	}
	if key == "" {
		if err := run(store.WithCommitHook(ctx, hook)); err != nil {
			return nil, err
		}
		return id.checked(resp)
	}
	// Claim first, then look for a stored response: a request that holds
	// the claim sees every record written before it, so one lookup is enough.
	release, err := id.Store.Claim(ctx, "idem:"+sc.AccountID+":"+string(sc.Mode)+":"+key, id.InFlightTTL)
	if tender.ErrorCode(err) == tender.ECONFLICT {
		return nil, tender.Errorf(tender.EIDEMPOTENCYINFLIGHT, "a request with this idempotency key is still being processed; retry later")
	} else if err != nil {
		return nil, err
	}
	defer release()
	if f, ok := id.Store.(store.IdempotencyKeyFilter); !ok || f.MayHaveIdempotencyRecord(sc.AccountID, sc.Mode, key) {
		if resp, err := id.replay(ctx, sc, key, fp); resp != nil || err != nil {
			return resp, err
		}
	}
	err = run(store.WithCommitHook(ctx, hook))
	if tender.ErrorCode(err) == tender.ECONFLICT && resp != nil {
		// Another process stored the key first (PostgreSQL): answer as it did.
		if r2, err2 := id.replay(ctx, sc, key, fp); r2 != nil || err2 != nil {
			return r2, err2
		}
	}
	if err != nil {
		return nil, err
	}
	return id.checked(resp)
}

func (id *Idempotency) checked(resp *Response) (*Response, error) {
	if resp == nil {
		return nil, tender.Errorf(tender.EINTERNAL, "command finished without rendering a response")
	}
	return resp, nil
}

func (id *Idempotency) replay(ctx context.Context, sc tender.Scope, key, fp string) (*Response, error) {
	var rec *tender.IdempotencyRecord
	err := id.Store.Read(ctx, func(tx store.Tx) (err error) {
		rec, err = tx.FindIdempotencyRecord(ctx, sc.AccountID, sc.Mode, key)
		return err
	})
	if tender.ErrorCode(err) == tender.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if rec.Fingerprint != fp {
		return nil, tender.Errorf(tender.EIDEMPOTENCYMISMATCH, "this idempotency key was used with a different request; use a new key for a new request")
	}
	return &Response{Status: rec.Status, Body: rec.Body, Replayed: true}, nil
}
