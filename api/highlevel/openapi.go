package highlevel

import (
	_ "embed"
	"net/http"

	"github.com/tenderpay/tender/api"
)

// OpenAPI is tender's OpenAPI 3 document of its HighLevel dialect: the
// endpoints of HighLevel's payments.json and the products subset orders
// need, with the spec's documented quirks resolved as tender answers
// (docs/highlevel.md), plus tender's extension POST /payments/orders.
//
//go:embed openapi/highlevel.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) { api.WriteJSON(w, http.StatusOK, OpenAPI) }
