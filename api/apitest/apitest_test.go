package apitest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tenderpay/tender/api/apitest"
)

// spec is a small document: a closed object with nullable fields, a
// literal path beside a templated one with the same method (the literal one
// must win), and servers that Check must ignore.
const spec = `{
  "openapi": "3.0.3",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "https://api.example.com/v9"}],
  "paths": {
    "/things/{id}": {
      "get": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
          "404": {"description": "no", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      },
      "post": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
      }
    },
    "/things/search": {
      "post": {
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["q"]}}}},
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}
      }
    }
  },
  "components": {
    "schemas": {
      "Thing": {
        "type": "object",
        "required": ["id", "status", "note", "owner"],
        "properties": {
          "id": {"type": "string"},
          "status": {"type": "string", "enum": ["new", "old"]},
          "note": {"type": "string", "nullable": true},
          "owner": {"allOf": [{"$ref": "#/components/schemas/Owner"}], "nullable": true}
        },
        "additionalProperties": false
      },
      "Owner": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}},
        "additionalProperties": false
      },
      "Error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
    }
  }
}`

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func jsonHeader() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return h
}

func TestCheck(t *testing.T) {
	v := apitest.Load(t, []byte(spec))
	get := httptest.NewRequest("GET", "http://127.0.0.1:1234/things/th_1", nil)

	cases := []struct {
		name    string
		req     *http.Request
		status  int
		body    string
		wantErr string // "" when the exchange is valid
	}{
		{"valid", get, 200, `{"id":"th_1","status":"new","note":null,"owner":null}`, ""},
		{"valid with owner", get, 200, `{"id":"th_1","status":"new","note":"n","owner":{"name":"ann"}}`, ""},
		{"bad nested object", get, 200, `{"id":"th_1","status":"new","note":"n","owner":{"name":"ann","age":3}}`, "/owner"},
		{"valid error", get, 404, `{"message":"not found"}`, ""},
		{"unexpected field", get, 200, `{"id":"th_1","status":"new","note":null,"owner":null,"extra":1}`, "extra"},
		{"missing required", get, 200, `{"id":"th_1","status":"new"}`, "note"},
		{"bad enum", get, 200, `{"id":"th_1","status":"gone","note":"x","owner":null}`, "/status"},
		{"null not allowed", get, 200, `{"id":null,"status":"new","note":"x","owner":null}`, "/id"},
		{"undocumented status", get, 500, `{"message":"boom"}`, "status is not supported"},
		{"unknown path", httptest.NewRequest("GET", "/nothing", nil), 200, `{}`, "no documented operation"},
		{"literal path wins", httptest.NewRequest("POST", "/things/search", strings.NewReader(`{"q":"a"}`)), 200,
			`[{"id":"th_1","status":"old","note":null,"owner":null}]`, ""},
		{"wrong method", httptest.NewRequest("DELETE", "/things/th_1", nil), 200, `{}`, "no documented operation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := v.Validate(c.req, c.status, jsonHeader(), []byte(c.body))
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error mentioning %q, got none", c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("want an error mentioning %q, got %v", c.wantErr, err)
			}
		})
	}
}

func TestCheckReportsWithBody(t *testing.T) {
	v := apitest.Load(t, []byte(spec))
	// The request's body has been read already, as after a real round trip.
	req := httptest.NewRequest("POST", "/things/search", strings.NewReader(`{"q":"a"}`))
	_, _ = io.ReadAll(req.Body)
	rec := &recorder{TB: t}
	v.Check(rec, req, 200, jsonHeader(), []byte(`[{"id":"th_1","status":"new","note":null,"owner":null}]`))
	if len(rec.errors) != 0 {
		t.Fatalf("valid exchange reported: %v", rec.errors)
	}
	v.Check(rec, req, 200, jsonHeader(), []byte(`[{"id":7,"status":"new","note":null,"owner":null}]`))
	if len(rec.errors) != 1 {
		t.Fatalf("want one failure, got %v", rec.errors)
	}
	msg := rec.errors[0]
	for _, want := range []string{"POST /things/search", "/0/id", `"id":7`} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
}

func TestOperations(t *testing.T) {
	v := apitest.Load(t, []byte(spec))
	got := v.Operations()
	want := []string{"GET /things/{id}", "POST /things/search", "POST /things/{id}"}
	if !slices.Equal(got, want) {
		t.Fatalf("Operations() = %q, want %q", got, want)
	}
}

func TestNewRejectsInvalidDocument(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":      `{`,
		"no info":       `{"openapi":"3.0.3","paths":{}}`,
		"dangling $ref": `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Nope"}}}}}}}}}`,
	} {
		if _, err := apitest.New([]byte(doc)); err == nil {
			t.Errorf("%s: New accepted an invalid document", name)
		}
	}
}
