package hubspottest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxRequestBody bounds request bodies the fake reads.
const maxRequestBody = 1 << 20

// ServeHTTP routes a request to the OAuth endpoints or the generic API.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, version, handle := f.route(r)
	req := Request{Method: r.Method, Path: r.URL.Path, Version: version, Query: r.URL.Query(), Header: r.Header.Clone()}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Form, _ = url.ParseQuery(string(body))
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &req.JSON)
	}
	fault := f.record(ep, req)
	if fault != nil {
		if !fault.wait(r) {
			return
		}
		if f.answerFault(w, fault) {
			return
		}
		if fault.SlowBody > 0 {
			w = &slowWriter{ResponseWriter: w, r: r, delay: fault.SlowBody}
		}
	}
	handle(w, r, req)
}

type handlerFunc func(http.ResponseWriter, *http.Request, Request)

// route picks the endpoint for a request.
func (f *Fake) route(r *http.Request) (Endpoint, string, handlerFunc) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && (p == "/oauth/v1/token" || p == "/oauth/2026-03/token"):
		return EndpointToken, versionOf(p), f.token
	case r.Method == http.MethodPost && p == "/oauth/2026-03/token/introspect":
		return EndpointIntrospect, "2026-03", f.introspect
	case r.Method == http.MethodPost && p == "/oauth/2026-03/token/revoke":
		return EndpointRevoke, "2026-03", f.revoke
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/oauth/v1/access-tokens/"):
		return EndpointAccessTokenInfo, "v1", f.accessTokenInfoV1
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/oauth/v1/refresh-tokens/"):
		return EndpointRefreshTokenInfo, "v1", f.refreshTokenInfoV1
	case r.Method == http.MethodDelete && strings.HasPrefix(p, "/oauth/v1/refresh-tokens/"):
		return EndpointRevoke, "v1", f.revoke
	case r.Method == http.MethodPost && p == "/oauth/v2/private-apps/get/access-token-info":
		return EndpointPrivateAppTokenInfo, "", f.privateAppTokenInfo
	}
	return EndpointAPI, "", f.api
}

func versionOf(path string) string {
	if strings.HasPrefix(path, "/oauth/v1/") {
		return "v1"
	}
	return "2026-03"
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "encode failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// oauthError writes an OAuth error: the legacy {status, message} shape on v1,
// the standardised shape (RFC 6749 error fields plus the legacy ones) on
// 2026-03, as HubSpot's changelog describes.
func oauthError(w http.ResponseWriter, version, status, code, message string) {
	body := map[string]any{"status": status, "message": message, "correlationId": uuid()}
	if version != "v1" {
		body["error"] = code
		body["error_description"] = message
	}
	writeJSON(w, http.StatusBadRequest, body)
}

// authenticationError writes the 401 INVALID_AUTHENTICATION body.
func authenticationError(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"status": "error", "message": "Authentication credentials not found.",
		"correlationId": uuid(), "category": "INVALID_AUTHENTICATION",
	})
}

// expiredError writes the 401 EXPIRED_AUTHENTICATION body, with the expiry in
// context["expire time"].
func expiredError(w http.ResponseWriter, now, expiredAt time.Time) {
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"status":        "error",
		"message":       "The OAuth token used to make this call expired " + agoText(now.Sub(expiredAt)) + " ago.",
		"correlationId": uuid(),
		"category":      "EXPIRED_AUTHENTICATION",
		"context":       map[string][]string{"expire time": {expiredAt.UTC().Format("2006-01-02T15:04:05.000Z")}},
	})
}

// agoText renders a duration the way HubSpot's expiry message does:
// "N second(s)", "N minute(s)", "N hour(s)" or "N day(s)".
func agoText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return itoa(int64(d/time.Second)) + " second(s)"
	case d < time.Hour:
		return itoa(int64(d/time.Minute)) + " minute(s)"
	case d < 24*time.Hour:
		return itoa(int64(d/time.Hour)) + " hour(s)"
	default:
		return itoa(int64(d/(24*time.Hour))) + " day(s)"
	}
}

func rateLimitBody(policy string) map[string]any {
	return map[string]any{
		"status":        "error",
		"message":       "You have reached your " + strings.ToLower(policy) + " limit.",
		"correlationId": uuid(),
		"category":      "RATE_LIMITS",
		"policyName":    policy,
	}
}

func validationError(w http.ResponseWriter, message string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"status": "error", "message": message, "correlationId": uuid(), "category": "VALIDATION_ERROR",
	})
}
