package forward

import (
	"encoding/json"
	"net/http"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
)

// wireError is Forward's error envelope.
type wireError struct {
	Type           string            `json:"type"`
	Code           string            `json:"code"`
	Message        string            `json:"message"`
	ArgumentErrors map[string]string `json:"argument_errors,omitempty"`
}

// errorTable maps a core error code to Forward's HTTP status, type and code.
var errorTable = map[string]struct {
	status    int
	typ, code string
}{
	tender.EINVALID:             {http.StatusBadRequest, "invalid_request_error", "validation_error"},
	tender.ENOTFOUND:            {http.StatusNotFound, "invalid_request_error", "resource_not_found"},
	tender.ECONFLICT:            {http.StatusConflict, "invalid_request_error", "invalid_state"},
	tender.EUNAUTHORIZED:        {http.StatusUnauthorized, "authentication_error", "unauthorized"},
	tender.EFORBIDDEN:           {http.StatusForbidden, "authorization_error", "forbidden"},
	tender.EIDEMPOTENCYMISMATCH: {http.StatusUnprocessableEntity, "idempotency_error", "idempotency_key_reused"},
	tender.EIDEMPOTENCYINFLIGHT: {http.StatusConflict, "idempotency_error", "idempotency_key_in_use"},
	tender.ERATELIMIT:           {http.StatusTooManyRequests, "rate_limit_error", "rate_limited"},
	tender.ETOOLARGE:            {http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large"},
	tender.EPROCESSOR:           {http.StatusBadGateway, "api_error", "processor_error"},
	tender.ENOTIMPLEMENTED:      {http.StatusNotImplemented, "api_error", "not_implemented"},
	tender.EINTERNAL:            {http.StatusInternalServerError, "api_error", "internal_error"},
}

// writeError answers err in Forward's envelope.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	api.NoteError(r.Context(), err)
	e, ok := errorTable[tender.ErrorCode(err)]
	if !ok {
		e = errorTable[tender.EINTERNAL]
	}
	body, _ := json.Marshal(wireError{Type: e.typ, Code: e.code, Message: tender.ErrorMessage(err), ArgumentErrors: tender.ErrorFields(err)})
	api.WriteJSON(w, e.status, body)
}

// notFound answers an unknown route as Forward's gateway does.
func notFound(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusNotFound, []byte(`{"message":"Missing Authentication Token"}`))
}
