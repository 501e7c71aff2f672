package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
)

// decodeTarget has a field of every kind request structs use.
type decodeTarget struct {
	Amount   *int64          `json:"amount"`
	Count    int             `json:"count"`
	Small    uint8           `json:"small"`
	Name     string          `json:"name"`
	Flag     *bool           `json:"flag"`
	Ratio    float64         `json:"ratio"`
	Types    []string        `json:"types"`
	Metadata json.RawMessage `json:"metadata"`
	Labels   map[string]int  `json:"labels"`
	Nested   *struct {
		Line1 string   `json:"line1"`
		Codes []int64  `json:"codes"`
		Deep  *[]*bool `json:"deep"`
	} `json:"nested"`
	Any any `json:"any"`
}

func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		``,
		`   `,
		`{}`,
		`{"amount": 1000, "name": "a", "flag": true, "types": ["card"], "metadata": {"k": "v"}}`,
		`{"nested": {"line1": "x", "codes": [1, 2, 3], "deep": [true, null]}, "labels": {"a": 1}}`,
		`{"amount": 9223372036854775807}`,
		`{"amount": 9223372036854775808}`,
		`{"amount": -9223372036854775809}`,
		`{"amount": 1e30}`,
		`{"amount": 1.5}`,
		`{"amount": "1000"}`,
		`{"small": 256}`,
		`{"count": -1, "ratio": 1e400}`,
		`{"types": "card"}`,
		`{"nested": []}`,
		`{"nested": {"codes": {"a": 1}}}`,
		`{"labels": {"a": "b"}}`,
		`{"flag": "yes"}`,
		`{"name": "\ud800"}`,
		"{\"name\": \"\xff\xfe\"}",
		`{"name": "\u0000"}`,
		`{"amount": 1}{"amount": 2}`,
		`{"amount": 1} trailing`,
		`{"amount": 1`,
		`{"amount": }`,
		`{"amount" 1}`,
		`{'amount': 1}`,
		`[1, 2, 3]`,
		`"string"`,
		`null`,
		`12`,
		`true`,
		`{"a":` + strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000) + `}`,
		`{"any":` + strings.Repeat(`{"x":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`,
		`{"metadata": ` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}`,
		"\ufeff{}",
		"{\"name\":\"" + strings.Repeat("é", 1000) + "\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Add([]byte("{}}"))
	f.Add([]byte(`{"amount":1}]`))
	f.Add([]byte("{\"description\":\"\xff\xfe\"}"))
	f.Add([]byte(`{"description":"a\u0000b"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst decodeTarget
		err := api.DecodeJSON(body, &dst)
		switch code := tender.ErrorCode(err); code {
		case "":
			// Accepted: the body must be one JSON object (or empty).
			trimmed := bytes.TrimSpace(body)
			if len(trimmed) > 0 && (!json.Valid(trimmed) || trimmed[0] != '{') {
				t.Errorf("DecodeJSON accepted a body that is not one JSON object: %q", body)
			}
		case tender.EINVALID, tender.ETOOLARGE:
			if tender.ErrorMessage(err) == "" {
				t.Errorf("error without a message: %v", err)
			}
		default:
			t.Errorf("DecodeJSON(%q) returned %v (code %s), want nil, EINVALID or ETOOLARGE", body, err, code)
		}
	})
}
