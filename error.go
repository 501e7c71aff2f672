package tender

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. The set is closed: a dialect maps each code to its own wire
// code and HTTP status. New codes are appended, never reordered.
const (
	EINTERNAL            = "internal"             // a bug or an unexpected failure; details are logged, not shown
	EINVALID             = "invalid"              // the request is malformed or a field is wrong
	ENOTFOUND            = "not_found"            // the object does not exist for this account and mode
	ECONFLICT            = "conflict"             // the object's current state forbids the operation
	EUNAUTHORIZED        = "unauthorized"         // missing or wrong credentials
	EFORBIDDEN           = "forbidden"            // valid credentials, but not for this account or operation
	EIDEMPOTENCYMISMATCH = "idempotency_mismatch" // an idempotency key reused with another request
	EIDEMPOTENCYINFLIGHT = "idempotency_inflight" // an idempotency key whose first request still runs
	ERATELIMIT           = "rate_limited"         // too many requests
	ETOOLARGE            = "too_large"            // the request body exceeds the limit
	EPROCESSOR           = "processor_error"      // the processor could not be reached or failed
	ENOTIMPLEMENTED      = "not_implemented"      // a route or option tender does not offer
)

// Error is tender's one application error type. Message is safe to show to
// the API caller; Fields names the request fields at fault and the problem
// with each.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("tender error: code=%s message=%s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + ": " + e.Fields[k])
	}
	return fmt.Sprintf("tender error: code=%s message=%s fields=[%s]", e.Code, e.Message, b.String())
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error naming one field and its problem.
// The message reads "<field> <problem>".
func FieldError(field, problem string) *Error {
	return &Error{Code: EINVALID, Message: field + " " + problem, Fields: map[string]string{field: problem}}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the *Error in err's chain,
// "Internal error." for any other non-nil error, and "" for nil.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the field problems of the *Error in err's chain, or nil.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Validation collects field problems and yields one EINVALID error.
type Validation struct {
	fields map[string]string
	first  string
}

// Add records a problem with field. The first problem recorded for a field wins.
func (v *Validation) Add(field, problem string) {
	if v.fields == nil {
		v.fields = make(map[string]string)
	}
	if _, ok := v.fields[field]; ok {
		return
	}
	if v.first == "" {
		v.first = field + " " + problem
	}
	v.fields[field] = problem
}

// Err returns nil when no problem was recorded, else an EINVALID *Error whose
// message is the first problem.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := v.first
	if n := len(v.fields); n > 1 {
		msg = fmt.Sprintf("%s (and %d more)", msg, n-1)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: v.fields}
}

// Wrap adds context to *errp when it is a non-*Error failure, keeping the
// chain for errors.Is. Use it deferred where an error leaves a function.
func Wrap(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	var e *Error
	if errors.As(*errp, &e) {
		return
	}
	*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
}
