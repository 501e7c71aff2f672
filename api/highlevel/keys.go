package highlevel

import (
	"net/http"
	"strings"
)

// publicKey serves a webhook verification key, such as
// /.well-known/tender/highlevel-webhook-public-key.pem.
func (h *Handler) publicKey(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if h.PublicKeys == nil || !strings.HasPrefix(name, "highlevel") {
		notFound(w, r)
		return
	}
	b, ok := h.PublicKeys(name)
	if !ok {
		notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}
