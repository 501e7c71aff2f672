package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildDir holds the tender binary built once for the whole package.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// goTool returns the go command that runs this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// tenderBinary builds ./cmd/tender once, from the module root found with
// `go env GOMOD`, and returns the binary's path.
func tenderBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		out, err := exec.Command(goTool(), "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			buildErr = fmt.Errorf("go env GOMOD found no module")
			return
		}
		if buildDir, err = os.MkdirTemp("", "tender-reliability-"); err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(buildDir, "tender")
		cmd := exec.Command(goTool(), "build", "-o", buildBin, "./cmd/tender")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/tender: %v\n%s", err, out)
			return
		}
		t.Logf("built %s in %v", buildBin, time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// reply is one HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// send makes one request and reads the whole answer. A nil error means an
// answer was received.
func send(c *http.Client, method, url string, body []byte, headers map[string]string) (*reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// fwd returns Forward's headers for a key, an account and an optional
// idempotency key.
func fwd(apiKey, accountID, idemKey string) map[string]string {
	h := map[string]string{}
	if apiKey != "" {
		h["x-api-key"] = apiKey
	}
	if accountID != "" {
		h["x-account-id"] = accountID
	}
	if idemKey != "" {
		h["x-idempotency-key"] = idemKey
	}
	return h
}

// fwdError is Forward's error envelope.
type fwdError struct {
	Type           string            `json:"type"`
	Code           string            `json:"code"`
	Message        string            `json:"message"`
	ArgumentErrors map[string]string `json:"argument_errors"`
}

// envelope decodes body as Forward's error envelope, reporting an error
// when it is not one (type, code and message are all required).
func envelope(body []byte) (fwdError, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return fwdError{}, fmt.Errorf("error body is not a JSON object: %v: %.300s", err, body)
	}
	for _, f := range []string{"type", "code", "message"} {
		var s string
		if err := json.Unmarshal(raw[f], &s); err != nil || s == "" {
			return fwdError{}, fmt.Errorf("error body lacks a non-empty string %q: %.300s", f, body)
		}
	}
	var e fwdError
	if err := json.Unmarshal(body, &e); err != nil {
		return fwdError{}, fmt.Errorf("error body: %v: %.300s", err, body)
	}
	return e, nil
}

// expectError checks that r is an error answer with status and, when typ
// is not empty, the envelope type typ.
func expectError(t *testing.T, what string, r *reply, status int, typ string) fwdError {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d: %.300s", what, r.Status, status, r.Body)
		return fwdError{}
	}
	e, err := envelope(r.Body)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return e
	}
	if typ != "" && e.Type != typ {
		t.Errorf("%s: error type %q, want %q: %s", what, e.Type, typ, r.Body)
	}
	return e
}

// object decodes a JSON object answer.
func object(t *testing.T, what string, r *reply) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%s: answer is not a JSON object: %v: %.300s", what, err, r.Body)
	}
	return m
}

// mustJSON encodes v.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// cardBody is a POST /payment_methods body for a card number.
func cardBody(number string) []byte {
	return mustJSON(map[string]any{
		"payment_method_type": "card",
		"card":                map[string]any{"number": number, "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvv": "123"},
		"billing_details":     map[string]any{"name": "Reliability Test", "email": "buyer@example.com"},
	})
}
