// Package api is the HTTP plumbing the dialects share: request ids,
// structured request logs, metrics, body limits, panic recovery, JSON
// decoding with field-named errors, and idempotent command execution. A
// dialect package (api/forward, …) translates its wire format to core
// service calls and back, and owns its error envelope; it holds no
// business rule.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenderpay/tender"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	routeInfoKey
)

// RequestID returns the request's id ("req_…").
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// routeInfo is filled in by handlers for the access log.
type routeInfo struct {
	accountID string
	errCode   string
	errMsg    string
}

// NoteAccount records the authenticated account for the access log.
func NoteAccount(ctx context.Context, accountID string) {
	if ri, ok := ctx.Value(routeInfoKey).(*routeInfo); ok {
		ri.accountID = accountID
	}
}

// NoteError records a failed request's error for the access log; internal
// errors are logged in full here, never shown to the caller.
func NoteError(ctx context.Context, err error) {
	if ri, ok := ctx.Value(routeInfoKey).(*routeInfo); ok {
		ri.errCode = tender.ErrorCode(err)
		if ri.errCode == tender.EINTERNAL {
			ri.errMsg = err.Error()
		} else {
			ri.errMsg = tender.ErrorMessage(err)
		}
	}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Middleware wraps the whole router: request id, body limit, access log,
// metrics and a last-resort panic handler. Dialects recover panics in their
// own handlers first, so that the answer is in their envelope; this one
// answers a bare 500 only if that failed.
type Middleware struct {
	Log          *slog.Logger
	Metrics      *Metrics
	MaxBodyBytes int64
	// Dialect names the dialect serving a path, for metrics.
	Dialect func(path string) string
}

// Wrap returns h with the middleware applied.
func (m *Middleware) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := r.Header.Get("X-Request-Id")
		if reqID == "" || len(reqID) > 128 {
			reqID = tender.NewID(tender.PrefixRequest, start)
		}
		ri := &routeInfo{}
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, reqID), routeInfoKey, ri)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", reqID)
		if m.MaxBodyBytes > 0 && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, m.MaxBodyBytes)
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				m.Log.Error("panic", "request_id", reqID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !sw.wrote {
					http.Error(sw, `{"message":"Internal error."}`, http.StatusInternalServerError)
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			dialect := ""
			if m.Dialect != nil {
				dialect = m.Dialect(r.URL.Path)
			}
			if m.Metrics != nil {
				m.Metrics.observeRequest(dialect, route, sw.status, d)
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			if m.Log.Enabled(ctx, level) {
				attrs := []slog.Attr{slog.String("request_id", reqID), slog.String("method", r.Method),
					slog.String("route", route), slog.Int("status", sw.status), slog.Duration("duration", d)}
				if ri.accountID != "" {
					attrs = append(attrs, slog.String("account_id", ri.accountID))
				}
				if ri.errCode != "" {
					attrs = append(attrs, slog.String("error_code", ri.errCode), slog.String("error", ri.errMsg))
				}
				m.Log.LogAttrs(ctx, level, "request", attrs...)
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

// ReadBody reads the request body, returning ETOOLARGE past the limit.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tender.Errorf(tender.ETOOLARGE, "request body exceeds %d bytes", mbe.Limit)
	} else if err != nil {
		return nil, tender.Errorf(tender.EINVALID, "request body could not be read")
	}
	return b, nil
}

// DecodeJSON decodes body (an empty body is {}) into dst, a pointer to a
// struct. Errors are EINVALID and name the field at fault.
func DecodeJSON(body []byte, dst any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return tender.Errorf(tender.EINVALID, "request body must be a JSON object")
	}
	if !utf8.Valid(body) {
		return tender.Errorf(tender.EINVALID, "request body is not valid UTF-8")
	}
	if bytes.Contains(body, []byte(`\u0000`)) {
		return tender.Errorf(tender.EINVALID, "request body holds a NUL character (\\u0000), which tender does not store")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return tender.Errorf(tender.EINVALID, "request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			return tender.Errorf(tender.EINVALID, "request body must be a JSON object")
		}
		return tender.FieldError(field, "must be "+jsonTypeName(ute.Type)+", not "+ute.Value)
	case errors.As(err, &se):
		return tender.Errorf(tender.EINVALID, "request body is not valid JSON: %s at byte %d", se.Error(), se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tender.Errorf(tender.EINVALID, "request body is not valid JSON: it ends early")
	}
	var te *tender.Error
	if errors.As(err, &te) {
		return te
	}
	return tender.Errorf(tender.EINVALID, "request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of type " + t.String()
}

// WriteJSON writes body with status as application/json.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
