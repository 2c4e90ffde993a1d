package catalog

import (
	"fmt"
	"strings"
)

// UnknownEndpointError means no catalogued operation matches the method and
// path. Catalog.Suggest names the closest known ones.
type UnknownEndpointError struct {
	// Method is the method as requested (upper-cased; HEAD reads as GET).
	Method string
	// Path is the requested path without query, fragment or host, with
	// token-like segments replaced by {redacted}.
	Path string
}

// Error names the endpoint.
func (e *UnknownEndpointError) Error() string {
	return fmt.Sprintf("no known HubSpot endpoint matches %s %s", e.Method, e.Path)
}

// HostError means a full URL names a host that is not a HubSpot API host.
type HostError struct {
	// Host is the host as given (without user information).
	Host string
}

// Error names the refused host and the accepted ones.
func (e *HostError) Error() string {
	return fmt.Sprintf("host %q is not a HubSpot API host (api.hubapi.com, api.hubspot.com or api-<hublet>.hubapi.com)", e.Host)
}

// PathError means the path cannot be matched at all.
type PathError struct {
	// Path is the offending input, shortened and with token-like segments
	// redacted; empty when the input itself is the problem.
	Path string
	// Reason says what is wrong.
	Reason string
}

// Error says what is wrong with the path.
func (e *PathError) Error() string {
	if e.Path == "" {
		return "unusable path: " + e.Reason
	}
	return fmt.Sprintf("unusable path %q: %s", e.Path, e.Reason)
}

// MethodError means the HTTP method is not one HubSpot's API uses.
type MethodError struct {
	// Method is the method as given, shortened.
	Method string
}

// Error names the unsupported method.
func (e *MethodError) Error() string {
	return fmt.Sprintf("unsupported HTTP method %q (want GET, POST, PUT, PATCH, DELETE or HEAD)", e.Method)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// redactPath replaces segments that look like credentials (OAuth access
// or refresh tokens in /oauth/v1/access-tokens/{token}, private-app tokens,
// long opaque strings) so that error messages never carry them, and
// shortens the result.
func redactPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if looksLikeToken(s) {
			segs[i] = "{redacted}"
		}
	}
	return truncate(strings.Join(segs, "/"), 512)
}

func looksLikeToken(s string) bool {
	if strings.HasPrefix(s, "pat-") || len(s) >= 32 {
		return true
	}
	return false
}
