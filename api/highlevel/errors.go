package highlevel

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
)

// wireError is HighLevel's error envelope (the NestJS shape of its
// BadRequestDTO, UnauthorizedDTO and UnprocessableDTO): a 422 carries
// message as an array of strings, every other status a string.
type wireError struct {
	StatusCode int    `json:"statusCode"`
	Message    any    `json:"message"`
	Error      string `json:"error,omitempty"`
	TraceID    string `json:"traceId,omitempty"`
}

// errorTable maps a core error code to HighLevel's status and error name.
// Unknown ids are 400 as the spec documents ("Order not found"), not 404.
var errorTable = map[string]struct {
	status int
	name   string
}{
	tender.EINVALID:             {http.StatusUnprocessableEntity, "Unprocessable Entity"},
	tender.ENOTFOUND:            {http.StatusBadRequest, "Bad Request"},
	tender.ECONFLICT:            {http.StatusUnprocessableEntity, "Unprocessable Entity"},
	tender.EUNAUTHORIZED:        {http.StatusUnauthorized, "Unauthorized"},
	tender.EFORBIDDEN:           {http.StatusForbidden, "Forbidden"},
	tender.EIDEMPOTENCYMISMATCH: {http.StatusUnprocessableEntity, "Unprocessable Entity"},
	tender.EIDEMPOTENCYINFLIGHT: {http.StatusConflict, "Conflict"},
	tender.ERATELIMIT:           {http.StatusTooManyRequests, "Too Many Requests"},
	tender.ETOOLARGE:            {http.StatusRequestEntityTooLarge, "Payload Too Large"},
	tender.EPROCESSOR:           {http.StatusBadGateway, "Bad Gateway"},
	tender.ENOTIMPLEMENTED:      {http.StatusNotImplemented, "Not Implemented"},
	tender.EINTERNAL:            {http.StatusInternalServerError, "Internal Server Error"},
}

// errBadRequest is a 400 with a message of the caller's choosing, for the
// spec's "Order not found" style of answer and malformed headers.
func errBadRequest(format string, args ...any) error {
	return tender.Errorf(tender.ENOTFOUND, format, args...)
}

// messages turns a validation error into class-validator style lines,
// "<field> <problem>", sorted by field.
func messages(err error) []string {
	fields := tender.ErrorFields(err)
	if len(fields) == 0 {
		return []string{tender.ErrorMessage(err)}
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+" "+fields[k])
	}
	return out
}

// writeError answers err in HighLevel's envelope.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	api.NoteError(r.Context(), err)
	code := tender.ErrorCode(err)
	e, ok := errorTable[code]
	if !ok {
		code, e = tender.EINTERNAL, errorTable[tender.EINTERNAL]
	}
	body := wireError{StatusCode: e.status, Message: tender.ErrorMessage(err), Error: e.name, TraceID: api.RequestID(r.Context())}
	switch code {
	case tender.EINVALID, tender.ECONFLICT, tender.EIDEMPOTENCYMISMATCH:
		body.Message = messages(err)
	case tender.EINTERNAL:
		body.Message = "Internal server error"
	}
	b, _ := json.Marshal(body)
	api.WriteJSON(w, e.status, b)
}

// notFound answers an unknown HighLevel route.
func notFound(w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(wireError{StatusCode: http.StatusNotFound, Message: "Cannot " + r.Method + " " + r.URL.Path,
		Error: "Not Found", TraceID: api.RequestID(r.Context())})
	api.WriteJSON(w, http.StatusNotFound, b)
}
