// Package openapi holds scopeguard's OpenAPI 3 document, generated from the
// protos' google.api.http annotations and comments (make generate, with
// gnostic's protoc-gen-openapi; server/openapi/buf.gen.yaml) and embedded so
// the HTTP port can serve it at GET /openapi.yaml.
package openapi

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.yaml
var document []byte

// Handler serves the document as application/yaml (RFC 9512).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(document)
	})
}
