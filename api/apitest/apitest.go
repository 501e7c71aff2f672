// Package apitest checks real HTTP exchanges against an OpenAPI 3 document
// with kin-openapi, for the dialects' end-to-end tests.
//
// A Validator finds the documented operation of a request by method and
// path only: tender serves every dialect on one host, so the document's
// servers are ignored. It then checks that the response status is
// documented for that operation and that the body matches the documented
// schema. Requests themselves are not validated, and their bodies are never
// read, so a request whose body was already sent can be checked.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// maxBodyInMessage bounds how much of a response body a failure shows.
const maxBodyInMessage = 8 << 10

// Validator checks responses against one OpenAPI document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// Load parses spec, validates the document itself and builds a router for
// it. The test fails at once if the document cannot be loaded or is not a
// valid OpenAPI 3 document.
func Load(t testing.TB, spec []byte) *Validator {
	t.Helper()
	v, err := New(spec)
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	return v
}

// New is Load without a test: it returns the problem as an error.
func New(spec []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	return newValidator(doc)
}

func newValidator(doc *openapi3.T, opts ...openapi3.ValidationOption) (*Validator, error) {
	ctx := context.Background()
	if err := doc.Validate(ctx, opts...); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	// Match on path only, whatever host and base path the document
	// names: tender serves all dialects on one listener.
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	router, err := legacy.NewRouter(doc, opts...)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	return &Validator{doc: doc, router: router}, nil
}

// Doc returns the loaded document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Operations returns "METHOD /path" for every documented operation, sorted,
// with the path as the document writes it (e.g. "GET /payments/{id}").
func (v *Validator) Operations() []string {
	var out []string
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// Check validates one exchange: req is the request as sent (its body is
// ignored), status, header and body the response received. It reports
// every mismatch with t.Errorf, naming the request and showing the body.
func (v *Validator) Check(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := v.Validate(req, status, header, body); err != nil {
		title := ""
		if v.doc.Info != nil {
			title = " " + strconv.Quote(v.doc.Info.Title)
		}
		t.Errorf("%s %s → %d does not match the OpenAPI document%s:\n%v\nresponse body:\n%s",
			req.Method, req.URL.Path, status, title, err, clip(body))
	}
}

// Documents reports whether the document has req's operation and declares
// status among its responses.
func (v *Validator) Documents(req *http.Request, status int) bool {
	r := req.Clone(context.Background())
	r.Body, r.GetBody, r.ContentLength = http.NoBody, nil, 0
	route, _, err := v.router.FindRoute(r)
	if err != nil || route.Operation == nil || route.Operation.Responses == nil {
		return false
	}
	return route.Operation.Responses.Status(status) != nil
}

// Validate is Check without a test: it returns the mismatch as an error,
// or nil when the response is documented and matches its schema.
func (v *Validator) Validate(req *http.Request, status int, header http.Header, body []byte) error {
	// A copy without a body, so that nothing reads the request's body
	// (which the caller has usually sent already).
	r := req.Clone(context.Background())
	r.Body, r.GetBody, r.ContentLength = http.NoBody, nil, 0

	route, pathParams, err := v.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("no documented operation for %s %s: %w", req.Method, req.URL.Path, err)
	}
	opts := &openapi3filter.Options{
		ExcludeRequestBody:        true,
		ExcludeRequestQueryParams: true,
		IncludeResponseStatus:     true,
		MultiError:                true,
		AuthenticationFunc:        openapi3filter.NoopAuthenticationFunc,
	}
	opts.WithCustomSchemaErrorFunc(schemaErrorMessage)
	if header == nil {
		header = http.Header{}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: pathParams, Route: route, Options: opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return errors.New(describe(err))
	}
	return nil
}

// schemaErrorMessage renders a schema error as "/json/pointer: reason",
// without the schema and value dumps of kin-openapi's default message.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	where := "/" + strings.Join(err.JSONPointer(), "/")
	reason := err.Reason
	if reason == "" {
		reason = "does not match schema field " + err.SchemaField
	}
	if err.Origin != nil {
		reason = err.Origin.Error()
	}
	return where + ": " + reason
}

// describe lists every problem of a validation error on its own line.
func describe(err error) string {
	var lines []string
	var walk func(error)
	walk = func(err error) {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			for _, e := range me {
				walk(e)
			}
			return
		}
		lines = append(lines, "  - "+err.Error())
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		lines = append(lines, "  "+re.Reason+":")
		walk(re.Err)
	} else {
		walk(err)
	}
	return strings.Join(lines, "\n")
}

// clip shortens a body for a failure message.
func clip(b []byte) string {
	if len(b) > maxBodyInMessage {
		return string(b[:maxBodyInMessage]) + fmt.Sprintf("… (%d more bytes)", len(b)-maxBodyInMessage)
	}
	return string(b)
}

// NewFile loads the OpenAPI document at path, following its relative
// references to other files (HighLevel's specs refer to a shared
// common-schemas.json). patch, if not nil, edits the loaded document before
// it is validated: the place to resolve a vendor document's documented
// quirks, each with its reason, so that the rest of it is checked strictly.
// The document's own examples are not checked (vendors' examples often
// quote numbers as strings); responses are still checked against schemas.
func NewFile(path string, patch func(doc *openapi3.T) error) (*Validator, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document %s: %w", path, err)
	}
	if patch != nil {
		if err := patch(doc); err != nil {
			return nil, fmt.Errorf("patch OpenAPI document %s: %w", path, err)
		}
	}
	return newValidator(doc, openapi3.DisableExamplesValidation(), openapi3.DisableSchemaDefaultsValidation())
}
