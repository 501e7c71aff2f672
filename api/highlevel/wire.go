package highlevel

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// TimeLayout is how HighLevel writes times: ISO 8601 in UTC with
// milliseconds ("2023-11-20T10:23:36.515Z").
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime renders t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Major renders an amount in minor units as HighLevel's number in major
// units (15010 USD → 150.1), exactly: the decimal string is the amount's.
func Major(amount int64, c tender.Currency) json.Number {
	s := tender.Money{Amount: amount, Currency: c}.Major()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return json.Number(s)
}

// ParseMajor reads a major-unit JSON number into minor units of c; more
// decimals than c has, or a value out of range, is EINVALID naming field.
func ParseMajor(field string, n json.Number, c tender.Currency) (int64, error) {
	v, err := tender.ParseMajor(string(n), c)
	if err != nil {
		return 0, tender.FieldError(field, "must be a number with at most "+strconv.Itoa(c.Digits())+" decimals")
	}
	return v, nil
}

// Query reads query parameters, collecting problems in V.
type Query struct {
	url.Values
	V tender.Validation
}

// NewQuery returns the request query's reader.
func NewQuery(q url.Values) *Query { return &Query{Values: q} }

// Int reads a whole number ≥ 0, def when absent.
func (q *Query) Int(name string, def int) int {
	s := q.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		q.V.Add(name, "must be a number conforming to the specified constraints")
		return def
	}
	return n
}

// Bool reads true or false; absent is false.
func (q *Query) Bool(name string) bool {
	switch q.Get(name) {
	case "", "false":
		return false
	case "true":
		return true
	}
	q.V.Add(name, "must be a boolean value")
	return false
}

// Date reads a YYYY-MM-DD date or an RFC 3339 time. With end, a bare date
// means the end of that day (exclusive bound at the next midnight).
func (q *Query) Date(name string, end bool) *time.Time {
	s := q.Get(name)
	if s == "" {
		return nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if end {
			t = t.Add(24*time.Hour - time.Microsecond)
		}
		return &t
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return &t
	}
	q.V.Add(name, "must be a date (YYYY-MM-DD) or an ISO 8601 time")
	return nil
}

// MaxLimit bounds every list's page size.
const MaxLimit = 100

// Page reads limit (def when absent, at most MaxLimit) and offset.
func (q *Query) Page(def int) (limit, offset int) {
	limit, offset = q.Int("limit", def), q.Int("offset", 0)
	if limit > MaxLimit {
		q.V.Add("limit", "must not be greater than "+strconv.Itoa(MaxLimit))
	}
	return limit, offset
}

// LiveMode reads paymentMode ("live" or "test"); absent is nil (both).
func (q *Query) LiveMode() *tender.Mode {
	switch s := q.Get("paymentMode"); s {
	case "":
		return nil
	case "live", "test":
		m := tender.Mode(s)
		return &m
	default:
		q.V.Add("paymentMode", "must be one of the following values: live, test")
		return nil
	}
}
