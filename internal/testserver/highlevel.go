package testserver

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tenderpay/tender/api/apitest"
	"github.com/tenderpay/tender/api/highlevel"
)

// HighLevelSpecDirEnv names the directory holding HighLevel's official
// OpenAPI documents (apps/payments.json, apps/products.json and
// common/common-schemas.json). CI sets it; when it is unset the default
// below is tried, and when neither exists HighLevel responses are checked
// against tender's own document only, and the test log says so.
const HighLevelSpecDirEnv = "TENDER_HIGHLEVEL_SPEC_DIR"

const defaultHighLevelSpecDir = "/work/shared/refs/highlevel"

var highLevelSpecs struct {
	once   sync.Once
	own    *apitest.Validator
	vendor []*apitest.Validator // payments.json, products.json
	note   string               // why the vendor documents are not used
	err    error
}

// HighLevelQuirks edit HighLevel's official documents where they
// contradict what HighLevel really sends and what tender answers on
// purpose (docs/highlevel.md lists each). Endpoint groups add theirs in
// init functions of this package's files, each with its reason. They run
// after the document-level repairs of repairVendorDoc.
var HighLevelQuirks []func(doc *openapi3.T) error

// highLevelValidators returns the validators HighLevel responses are
// checked against: tender's own document, then HighLevel's, loaded once.
func highLevelValidators() ([]*apitest.Validator, string, error) {
	s := &highLevelSpecs
	s.once.Do(func() {
		if s.own, s.err = apitest.New(highlevel.OpenAPI); s.err != nil {
			return
		}
		dir, explicit := os.Getenv(HighLevelSpecDirEnv), true
		if dir == "" {
			dir, explicit = defaultHighLevelSpecDir, false
		}
		if _, err := os.Stat(filepath.Join(dir, "apps", "payments.json")); err != nil {
			if explicit {
				s.err = errors.New(HighLevelSpecDirEnv + "=" + dir + " holds no apps/payments.json")
				return
			}
			s.note = "HighLevel's official OpenAPI documents are not at " + dir + " (set " + HighLevelSpecDirEnv +
				"); responses are checked against tender's own /openapi/highlevel.json only"
			return
		}
		for _, name := range []string{"payments.json", "products.json"} {
			v, err := apitest.NewFile(filepath.Join(dir, "apps", name), patchVendorDoc)
			if err != nil {
				s.err = err
				return
			}
			s.vendor = append(s.vendor, v)
		}
	})
	return append([]*apitest.Validator{s.own}, s.vendor...), s.note, s.err
}

func patchVendorDoc(doc *openapi3.T) error {
	repairVendorDoc(doc)
	for _, q := range HighLevelQuirks {
		if err := q(doc); err != nil {
			return err
		}
	}
	return nil
}

// repairVendorDoc fixes what makes HighLevel's documents invalid OpenAPI
// (and so unloadable), without changing any response's meaning: HTTP
// security schemes that carry "in", and array schemas without items
// (which then accept any items).
func repairVendorDoc(doc *openapi3.T) {
	if doc.Components != nil {
		for _, ss := range doc.Components.SecuritySchemes {
			if ss.Value != nil && ss.Value.Type == "http" {
				ss.Value.In, ss.Value.Name = "", ""
			}
		}
	}
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.SchemaRef)
	walk = func(s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil || seen[s.Value] {
			return
		}
		v := s.Value
		seen[v] = true
		if v.Type.Is("array") && v.Items == nil {
			v.Items = &openapi3.SchemaRef{Value: &openapi3.Schema{}}
		}
		walk(v.Items)
		for _, p := range v.Properties {
			walk(p)
		}
		for _, list := range [][]*openapi3.SchemaRef{v.AllOf, v.AnyOf, v.OneOf} {
			for _, x := range list {
				walk(x)
			}
		}
		if v.AdditionalProperties.Schema != nil {
			walk(v.AdditionalProperties.Schema)
		}
	}
	if doc.Components != nil {
		for _, s := range doc.Components.Schemas {
			walk(s)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
}

// checkHighLevel validates one HighLevel exchange against every document
// that documents its operation and status: tender's own always, and
// HighLevel's when the operation is HighLevel's (tender's extensions, the
// 403 and 429 answers and the public-key files are only in tender's).
func (s *Server) checkHighLevel(t testing.TB, resp *Response) {
	t.Helper()
	vs, note, err := highLevelValidators()
	if err != nil {
		t.Fatalf("load the HighLevel OpenAPI documents: %v", err)
	}
	if note != "" {
		t.Log(note)
	}
	req := resp.Request
	vs[0].Check(t, req, resp.Status, resp.Header, resp.Body)
	for _, v := range vs[1:] {
		if v.Documents(req, resp.Status) {
			v.Check(t, req, resp.Status, resp.Header, resp.Body)
		}
	}
}

// HighLevelVersion is the Version header HighLevel's spec names.
const HighLevelVersion = "2021-07-28"

// HighLevelAs sends a HighLevel request with token and the Version header,
// and checks the response against the HighLevel documents.
func (s *Server) HighLevelAs(t testing.TB, token, method, path string, body any) *Response {
	t.Helper()
	h := map[string]string{"Version": HighLevelVersion}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return s.Do(t, method, path, body, h)
}

// HighLevel sends a HighLevel request with the first location's token,
// which holds every scope.
func (s *Server) HighLevel(t testing.TB, method, path string, body any) *Response {
	t.Helper()
	return s.HighLevelAs(t, s.Boot.HighLevel.Token, method, path, body)
}
