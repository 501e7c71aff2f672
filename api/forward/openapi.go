package forward

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3 document of the Forward dialect as tender serves it.
//
//go:embed openapi/forward.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
