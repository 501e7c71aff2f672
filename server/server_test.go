package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/server"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHealthzAndMetrics(t *testing.T) {
	var logs syncBuffer
	s := testserver.Start(t, testserver.Options{LogOut: &logs, Config: func(c *server.Config) { c.LogLevel = "info" }})
	r := s.Do(t, "GET", "/healthz", nil, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", r.Status, r.Body)
	}
	pm := s.Forward(t, "POST", "/payment_methods", map[string]any{"payment_method_type": "card",
		"card": map[string]any{"number": "4242424242424242", "exp_month": 1, "exp_year": 2031}})
	if pm.Status != http.StatusCreated {
		t.Fatalf("payment method: %d %s", pm.Status, pm.Body)
	}
	reqID := pm.Header.Get("X-Request-Id")
	if !strings.HasPrefix(reqID, "req_") {
		t.Errorf("X-Request-Id %q", reqID)
	}
	s.Forward(t, "GET", "/payment_intents/pi_missing", nil)

	m := s.Do(t, "GET", "/metrics", nil, nil)
	body := string(m.Body)
	for _, want := range []string{
		`tender_http_requests_total{code="201",dialect="forward",route="POST /payment_methods"} 1`,
		`tender_http_requests_total{code="404",dialect="forward",route="GET /payment_intents/{id}"} 1`,
		`tender_http_request_duration_seconds_bucket{dialect="forward",route="POST /payment_methods"`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// The access log names the request, and never a key or card number.
	out := logs.String()
	if !strings.Contains(out, reqID) || !strings.Contains(out, `"route":"POST /payment_methods"`) {
		t.Errorf("access log lacks the request: %s", out)
	}
	for _, secret := range []string{"4242424242424242", s.Key, s.PubKey, s.Boot.Forward.Live.PrivateKey} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains a secret or card number %q", secret)
		}
	}
	if !strings.Contains(out, `"error_code":"not_found"`) {
		t.Errorf("access log lacks the 404's error code: %s", out)
	}
}

func TestSecondServerOnSameFileRefused(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s.Config
	c.Addr = "127.0.0.1:0"
	if _, err := server.New(t.Context(), c, &syncBuffer{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server on %s: err %v, want 'in use'", c.DB, err)
	}
}

func TestDialectOfPath(t *testing.T) {
	for path, want := range map[string]string{
		"/payment_intents":     "forward",
		"/payments/pmt_1":      "forward",
		"/payment_methods/pm1": "forward",
		"/healthz":             "ops",
		"/metrics":             "ops",
	} {
		if got := server.Dialect(path); got != want {
			t.Errorf("Dialect(%q) = %q, want %q", path, got, want)
		}
	}
}
