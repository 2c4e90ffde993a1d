package hubspot

import (
	"fmt"
	"strings"
	"time"
)

// Endpoint labels one kind of HubSpot call in errors, logs and metrics. It is
// a fixed word, never a URL, so it can carry no token.
type Endpoint string

// The endpoints the client calls.
const (
	// EndpointToken is the OAuth token endpoint (refresh grant).
	EndpointToken Endpoint = "token"
	// EndpointIntrospect is the 2026-03 OAuth token introspection endpoint.
	EndpointIntrospect Endpoint = "introspect"
	// EndpointAccessTokenInfo is the v1 access-token metadata endpoint.
	EndpointAccessTokenInfo Endpoint = "access-token-info"
	// EndpointPrivateAppTokenInfo is the private-app token metadata endpoint.
	EndpointPrivateAppTokenInfo Endpoint = "private-app-token-info"
)

// Rejection is what HubSpot's error body said, in whichever of its shapes it
// came: the legacy OAuth shape {status, message}, the standardised OAuth shape
// {error, error_description} or the general shape {category, message,
// correlationId}. Strings are HubSpot's, with any secret of the call removed.
type Rejection struct {
	// HTTPStatus is the response's HTTP status.
	HTTPStatus int
	// Status is the legacy OAuth status, e.g. "BAD_REFRESH_TOKEN".
	Status string
	// Code is the RFC 6749 error code, e.g. "invalid_grant".
	Code string
	// Category is the general error body's category, e.g. "VALIDATION_ERROR".
	Category string
	// Message is error_description, or message when that is absent.
	Message string
	// CorrelationID is HubSpot's correlationId; quote it to HubSpot support.
	CorrelationID string
}

// Reason is the most specific code HubSpot gave: the legacy status, else the
// RFC 6749 code, else the category.
func (r Rejection) Reason() string {
	for _, s := range []string{r.Status, r.Code, r.Category} {
		if s != "" && s != "error" {
			return s
		}
	}
	return ""
}

func (r Rejection) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", r.HTTPStatus)
	if reason := r.Reason(); reason != "" {
		fmt.Fprintf(&b, " %s", reason)
	}
	if r.Message != "" {
		fmt.Fprintf(&b, ": %s", r.Message)
	}
	if r.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlation id %s)", r.CorrelationID)
	}
	return b.String()
}

// RefreshTokenError means HubSpot refused the refresh token
// (BAD_REFRESH_TOKEN or invalid_grant): it is revoked, expired or was never
// valid. It is terminal: retrying cannot help, the app must be installed
// again.
type RefreshTokenError struct {
	Rejection
}

// Error names the refusal and HubSpot's reason, never the token.
func (e *RefreshTokenError) Error() string {
	return "hubspot token: refresh token rejected: " + e.describe()
}

// ClientCredentialsError means HubSpot refused the app's client id or secret
// (BAD_CLIENT_ID, invalid_client, UNAUTHORIZED).
type ClientCredentialsError struct {
	// Endpoint is the call that was refused.
	Endpoint Endpoint
	Rejection
}

// Error names the endpoint and HubSpot's reason, never the secret.
func (e *ClientCredentialsError) Error() string {
	return fmt.Sprintf("hubspot %s: client credentials rejected: %s", e.Endpoint, e.describe())
}

// RequestRejectedError is any other 4xx answer HubSpot gave (after checking
// the body for the cases above): the request was understood and refused, and
// sending it again unchanged will not help.
type RequestRejectedError struct {
	// Endpoint is the call that was refused.
	Endpoint Endpoint
	Rejection
}

// Error names the endpoint and HubSpot's answer.
func (e *RequestRejectedError) Error() string {
	return fmt.Sprintf("hubspot %s: request rejected: %s", e.Endpoint, e.describe())
}

// RateLimitError means HubSpot kept answering 429 (or a RATE_LIMITS body)
// until the retry policy or the caller's deadline ran out.
type RateLimitError struct {
	// Endpoint is the call that was rate limited.
	Endpoint Endpoint
	// RetryAfter is how long HubSpot asked to wait (Retry-After header); 0
	// when it did not say.
	RetryAfter time.Duration
	// Policy is HubSpot's policyName ("DAILY", "SECONDLY",
	// "TEN_SECONDLY_ROLLING"), when given.
	Policy string
	// Attempts is how many requests were sent.
	Attempts int
	Rejection
}

// Error names the endpoint, attempts, policy and wait.
func (e *RateLimitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hubspot %s: rate limited after %d attempt(s)", e.Endpoint, e.Attempts)
	if e.Policy != "" {
		fmt.Fprintf(&b, ", policy %s", e.Policy)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

// UnavailableError means HubSpot could not be reached, timed out or answered
// 5xx, and retries did not help. Retrying later is safe.
type UnavailableError struct {
	// Endpoint is the call that failed.
	Endpoint Endpoint
	// Status is the last HTTP status, 0 for network errors and timeouts.
	Status int
	// Attempts is how many requests were sent.
	Attempts int
	// cause is the last transport error with every secret removed from its
	// message; nil for HTTP statuses.
	cause error
}

// Error names the endpoint, attempts and the last status or transport error.
func (e *UnavailableError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("hubspot %s: unavailable after %d attempt(s): HTTP %d", e.Endpoint, e.Attempts, e.Status)
	}
	return fmt.Sprintf("hubspot %s: unavailable after %d attempt(s): %v", e.Endpoint, e.Attempts, e.cause)
}

// Unwrap exposes the transport error (never a *url.Error, whose message would
// carry the URL), so errors.Is(err, context.DeadlineExceeded) works.
func (e *UnavailableError) Unwrap() error { return e.cause }

// MalformedResponseError means HubSpot answered with a body the client could
// not read: not JSON, missing required fields, or larger than the limit.
type MalformedResponseError struct {
	// Endpoint is the call that was answered.
	Endpoint Endpoint
	// Status is the response's HTTP status.
	Status int
	// Reason says what was wrong, without quoting the body.
	Reason string
}

// Error names the endpoint, status and what was wrong, never the body.
func (e *MalformedResponseError) Error() string {
	return fmt.Sprintf("hubspot %s: malformed response (HTTP %d): %s", e.Endpoint, e.Status, e.Reason)
}

// AppCredentialsRequiredError means the call needs an OAuth app's client id
// and secret and none were given (refresh always; introspection with OAuth
// version 2026-03).
type AppCredentialsRequiredError struct {
	// Endpoint is the call that needs them.
	Endpoint Endpoint
	// OAuthVersion is the OAuth API version in use.
	OAuthVersion OAuthVersion
}

// Error names the endpoint and OAuth version.
func (e *AppCredentialsRequiredError) Error() string {
	return fmt.Sprintf("hubspot %s: client id and secret required (oauth version %s)", e.Endpoint, e.OAuthVersion)
}

// sanitizedError carries a transport error's message with secrets removed.
// It unwraps to the original only when the original's message was clean, so
// no chain reachable through errors.Unwrap prints a secret.
type sanitizedError struct {
	msg   string
	cause error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.cause }

func sanitize(err error, secrets ...Secret) error {
	if err == nil {
		return nil
	}
	msg := scrub(err.Error(), secrets...)
	if msg != err.Error() {
		return &sanitizedError{msg: msg}
	}
	return &sanitizedError{msg: msg, cause: err}
}
