// Package testserver starts a real tender server for end-to-end tests: the
// same server.Server that `tender serve` runs, on 127.0.0.1:0, over a SQLite
// file in t.TempDir() or, with Options.Postgres, over a fresh PostgreSQL
// schema (when TENDER_TEST_POSTGRES_URL is set).
package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/api/apitest"
	"github.com/tenderpay/tender/api/forward"
	"github.com/tenderpay/tender/server"
)

var forwardSpec struct {
	once sync.Once
	v    *apitest.Validator
	err  error
}

// forwardValidator returns the validator of tender's Forward OpenAPI
// document, loaded once.
func forwardValidator() (*apitest.Validator, error) {
	forwardSpec.once.Do(func() { forwardSpec.v, forwardSpec.err = apitest.New(forward.OpenAPI) })
	return forwardSpec.v, forwardSpec.err
}

// Options tune Start.
type Options struct {
	// Postgres runs the server on a new schema of TENDER_TEST_POSTGRES_URL;
	// the test is skipped, with the reason logged, when it is unset.
	Postgres bool
	// Config, if set, edits the configuration before the server starts.
	Config func(c *server.Config)
	// LogOut receives the server's logs (discarded by default).
	LogOut io.Writer
	// NoValidate turns off checking every Forward response against
	// /openapi/forward.json (for tests that send what no client would).
	NoValidate bool
}

// Server is a running test server with a first organization.
type Server struct {
	*server.Server
	URL       string
	Boot      *account.Bootstrap // empty when the database had an organization already
	Key       string             // test-mode private Forward key
	PubKey    string             // test-mode public Forward key
	AccountID string
	Client    *http.Client

	validate bool
}

// PostgresURL returns a URL for a new, empty schema of the test database
// named by TENDER_TEST_POSTGRES_URL, dropped when the test ends. It skips
// the test when the variable is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TENDER_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("TENDER_TEST_POSTGRES_URL is not set; skipping the PostgreSQL run")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Start starts a server and bootstraps its first organization. It is
// closed when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	c := server.DefaultConfig()
	c.Addr = "127.0.0.1:0"
	dir := t.TempDir()
	if opts.Postgres {
		c.DB = PostgresURL(t)
		c.SecretFile = filepath.Join(dir, "tender.secret")
	} else {
		c.DB = "sqlite:" + filepath.Join(dir, "tender.db")
	}
	c.JobInterval = 20 * time.Millisecond
	c.ShutdownTimeout = 5 * time.Second
	c.LogLevel = "warn"
	c.WebhooksAllowPrivate = true // test receivers listen on 127.0.0.1
	// Tests send many HighLevel requests with one token; the limit itself
	// is tested with a small burst (api/highlevel, reliability).
	c.HighLevelRateLimit.Burst = 100_000
	if opts.Config != nil {
		opts.Config(&c)
	}
	out := opts.LogOut
	if out == nil {
		out = io.Discard
	}
	ctx := context.Background()
	s, err := server.New(ctx, c, out)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	boot, err := s.Bootstrap(ctx)
	if err != nil {
		s.Close()
		t.Fatalf("bootstrap: %v", err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ts := &Server{Server: s, URL: s.URL(), Boot: boot, Client: &http.Client{Timeout: 30 * time.Second}, validate: !opts.NoValidate}
	if boot == nil {
		// A database that already has an organization (a restart):
		// the caller kept the first start's credentials.
		ts.Boot = &account.Bootstrap{}
		return ts
	}
	ts.Key, ts.PubKey, ts.AccountID = boot.Forward.Test.PrivateKey, boot.Forward.Test.PublicKey, boot.AccountID
	return ts
}

// Response is a finished HTTP exchange.
type Response struct {
	Request *http.Request
	Status  int
	Header  http.Header
	Body    []byte
}

// JSON decodes the body into a map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode response: %v\n%s", err, r.Body)
	}
}

// Do sends a request with the given headers. body may be nil, a string, a
// []byte, or any value to encode as JSON.
func (s *Server) Do(t testing.TB, method, path string, body any, headers map[string]string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &Response{Request: req, Status: resp.StatusCode, Header: resp.Header, Body: b}
	if s.validate && server.Dialect(req.URL.Path) == "highlevel" && resp.StatusCode != http.StatusNotFound &&
		!strings.HasPrefix(req.URL.Path, "/.well-known/") && req.URL.Path != "/openapi/highlevel.json" {
		s.checkHighLevel(t, out)
		return out
	}
	if s.validate && server.Dialect(req.URL.Path) == "forward" && resp.StatusCode != http.StatusNotFound ||
		s.validate && strings.HasPrefix(string(b), "{\"type\"") {
		v, err := forwardValidator()
		if err != nil {
			t.Fatalf("load the Forward OpenAPI document: %v", err)
		}
		if req.URL.Path != "/openapi/forward.json" {
			v.Check(t, req, resp.StatusCode, resp.Header, b)
		}
	}
	return out
}

// Forward sends a request with the test private key and the account header.
func (s *Server) Forward(t testing.TB, method, path string, body any) *Response {
	t.Helper()
	return s.Do(t, method, path, body, map[string]string{"x-api-key": s.Key, "x-account-id": s.AccountID})
}

// ForwardIdem is Forward with an x-idempotency-key.
func (s *Server) ForwardIdem(t testing.TB, method, path, key string, body any) *Response {
	t.Helper()
	return s.Do(t, method, path, body, map[string]string{"x-api-key": s.Key, "x-account-id": s.AccountID, "x-idempotency-key": key})
}
