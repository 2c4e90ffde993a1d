package explain

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// Limits that keep the work bounded whatever the input looks like.
const (
	// maxUnwrapDepth is how many client-library envelopes or JSON-in-string
	// layers are peeled off before the rest is read as text.
	maxUnwrapDepth = 4
	// maxTextScan is how much of a free-text message is searched for scope
	// lists, ids and field names.
	maxTextScan = 64 << 10
	// maxMessageLen is the longest message kept (longer ones are cut).
	maxMessageLen = 8 << 10
	// maxDetails is how many errors[] entries are kept.
	maxDetails = 100
	// maxScopes is how many scope names are kept.
	maxScopes = 500
	// maxContextValues is how many values one context key keeps.
	maxContextValues = 100
	// maxEmbeddedTries is how many '{' positions are tried when looking for
	// JSON embedded in text.
	maxEmbeddedTries = 4
	// maxFields is how many field or property names are kept.
	maxFields = 50
)

// Shape is the form a HubSpot error body arrived in (after any client-library
// envelope was peeled off).
type Shape int

const (
	// ShapeEmpty means there was no body.
	ShapeEmpty Shape = iota
	// ShapeJSON means a JSON object (HubSpot's error object, an OAuth
	// token-endpoint error, a batch result or something else).
	ShapeJSON
	// ShapeText means plain text that held no readable JSON object.
	ShapeText
	// ShapeHTML means an HTML page, typically from a gateway or CDN.
	ShapeHTML
)

// String names the shape for logs and test failures.
func (s Shape) String() string {
	switch s {
	case ShapeEmpty:
		return "empty"
	case ShapeJSON:
		return "json"
	case ShapeText:
		return "text"
	case ShapeHTML:
		return "html"
	}
	return "shape(" + strconv.Itoa(int(s)) + ")"
}

// ScopeSource says where the required scopes were read from.
type ScopeSource int

const (
	// ScopeSourceNone means the body named no scopes.
	ScopeSourceNone ScopeSource = iota
	// ScopeSourceRequired means a context key such as requiredGranularScopes
	// or requiredScopes listed the scopes the call needs.
	ScopeSourceRequired
	// ScopeSourceMissing means a missingScopes context listed the scopes the
	// token lacks (batch errors).
	ScopeSourceMissing
	// ScopeSourceText means the scopes were read from message text, e.g.
	// "(requires any of [automation-access])".
	ScopeSourceText
)

// CredentialHint is what the body's wording reveals about the credential
// the call was made with.
type CredentialHint int

const (
	// CredentialHintNone means the body does not say.
	CredentialHintNone CredentialHint = iota
	// CredentialHintHapikey means HubSpot read a hapikey (legacy account API
	// key or developer API key) from the request.
	CredentialHintHapikey
	// CredentialHintOAuth means HubSpot read the credential as an OAuth
	// access token.
	CredentialHintOAuth
)

// Detail is one entry of HubSpot's errors[] list (nested batch entries are
// flattened into the same list).
type Detail struct {
	// Message is the entry's message (redacted, cut to a sane length).
	Message string
	// Code is HubSpot's machine code, e.g. "PROPERTY_DOESNT_EXIST".
	Code string
	// In names the request part or field the entry is about.
	In string
	// SubCategory refines the entry's category.
	SubCategory string
	// Category is the entry's own category (batch results carry one per
	// failed input).
	Category string
	// Context is the entry's context map; keys keep HubSpot's spelling.
	Context map[string][]string
}

// RateLimit is what a response says about rate limiting: the policy from the
// body and the X-HubSpot-RateLimit-* and Retry-After headers.
type RateLimit struct {
	// Policy is HubSpot's policyName upper-cased ("SECONDLY",
	// "TEN_SECONDLY_ROLLING", "DAILY"), or the policy named in the message.
	Policy string
	// GroupName is the legacy body's groupName, e.g.
	// "publicapi:hapikey-secondly:2431623".
	GroupName string
	// Max is X-HubSpot-RateLimit-Max; 0 when absent.
	Max int64
	// Remaining is X-HubSpot-RateLimit-Remaining; -1 when absent.
	Remaining int64
	// IntervalMS is X-HubSpot-RateLimit-Interval-Milliseconds; 0 when absent.
	IntervalMS int64
	// Daily is X-HubSpot-RateLimit-Daily; 0 when absent.
	Daily int64
	// DailyRemaining is X-HubSpot-RateLimit-Daily-Remaining; -1 when absent.
	DailyRemaining int64
	// RetryAfter is the Retry-After header as sent (delay seconds or an HTTP
	// date); empty when absent.
	RetryAfter string
	// HeadersSeen is true when any X-HubSpot-RateLimit-* header was present.
	HeadersSeen bool
}

// Parsed is everything Parse could read from a HubSpot error response. Text
// fields are redacted (nothing that looks like a token survives) and cut to
// a bounded length.
type Parsed struct {
	// HTTPStatus is the status given to Parse, or, when that was 0, the one
	// a client-library wrapper or the text named; 0 when unknown.
	HTTPStatus int
	// Shape is the form of the (unwrapped) body.
	Shape Shape
	// Envelope names the client-library wrapper that was peeled off:
	// "node-sdk", "python-sdk", "ruby-sdk", "status-prefix", "json-envelope",
	// "json-string", "embedded"; empty when the body was HubSpot's own.
	Envelope string
	// Status is the body's "status" string: "error", "COMPLETE" (batch), or
	// an OAuth token-endpoint status such as "BAD_REFRESH_TOKEN".
	Status string
	// Category is HubSpot's category, or the first batch entry's category
	// when the top level has none.
	Category string
	// SubCategory is HubSpot's subCategory.
	SubCategory string
	// ErrorType is the legacy errorType, e.g. "RATE_LIMIT".
	ErrorType string
	// Message is HubSpot's top-level message, the page title of an HTML
	// body, or the text itself.
	Message string
	// CorrelationID is the body's correlationId, else the
	// X-HubSpot-Correlation-Id header.
	CorrelationID string
	// RequestID is the legacy body's requestId.
	RequestID string
	// Requirement is how RequiredScopes combine, when the body says.
	Requirement scopeguardv1.Requirement
	// RequiredScopes are the scopes the body names, in its order, without
	// duplicates.
	RequiredScopes []string
	// ScopeSource says where RequiredScopes came from.
	ScopeSource ScopeSource
	// Details are the errors[] entries.
	Details []Detail
	// Context is the top-level context map.
	Context map[string][]string
	// Links is the links map (name to URL).
	Links map[string]string
	// RateLimit holds the rate-limit policy and headers.
	RateLimit RateLimit
	// OAuthError is the RFC 6749 "error" of a token-endpoint response, e.g.
	// "invalid_grant".
	OAuthError string
	// OAuthErrorDescription is the RFC 6749 "error_description".
	OAuthErrorDescription string
	// ExpiredAt is context["expire time"] of an EXPIRED_AUTHENTICATION body;
	// zero when absent or unreadable.
	ExpiredAt time.Time
	// ExpiredAgo is the age from "expired N unit(s) ago"; valid when
	// HasExpiredAgo.
	ExpiredAgo time.Duration
	// HasExpiredAgo is true when the message said how long ago the token
	// expired.
	HasExpiredAgo bool
	// ExistingID is the id of the record a 409 says already exists.
	ExistingID string
	// ObjectType is the object type HubSpot could not resolve ("Unable to
	// infer object type from: X").
	ObjectType string
	// Fields are the properties or request fields HubSpot named as invalid.
	Fields []string
	// Batch is true for a batch (multi-status) result body.
	Batch bool
	// NumErrors is a batch body's numErrors.
	NumErrors int
	// AuthFailure is the X-HubSpot-Auth-Failure header.
	AuthFailure string
	// Credential is what the wording says about the credential sent.
	Credential CredentialHint
	// Transport is true when the text describes a timeout or a broken
	// connection rather than an answer from HubSpot.
	Transport bool
	// RequestMethod and RequestPath are the failed call as a client
	// library's error text names it: Guzzle's "`GET https://api.hubapi.com/…`
	// resulted in a `403 Forbidden` response", Python requests' "403 Client
	// Error: Forbidden for url: https://…", a logged request's "url" and
	// "method". RequestPath has no host, query or fragment; both are empty
	// when the text names no HubSpot API URL, and RequestMethod is empty
	// when it names only the URL.
	RequestMethod string
	RequestPath   string
	// ReportedAt is HubSpot's clock when it answered, from the "now: <ms>"
	// of a "This oauth-token is expired! expiresAt: <ms>, now: <ms>"
	// message; zero when absent.
	ReportedAt time.Time

	// scanText is the whole text of a non-JSON body (bounded), searched
	// for scopes, categories and ids beyond the first lines kept in Message.
	scanText string
}

// Parse reads a HubSpot error response. status is the HTTP status (0 when
// unknown); headers are the response headers, names in any case. Parse never
// fails: what it cannot read stays empty.
func Parse(status int, body string, headers map[string]string) *Parsed {
	p := &Parsed{HTTPStatus: validStatus(status)}
	p.RateLimit.Remaining, p.RateLimit.DailyRemaining = -1, -1
	h := normalizeHeaders(headers)
	p.parseBody(body, h, 0)
	p.applyHeaders(h)
	p.readRequest(body)
	p.finish()
	return p
}

// Endpoint returns the failed call the error text names, or nil. When the
// text names only the URL, the method is POST for search, batch and OAuth
// token paths (HubSpot serves those only by POST) and GET otherwise.
func (p *Parsed) Endpoint() *scopeguardv1.Endpoint {
	if p.RequestPath == "" {
		return nil
	}
	method := p.RequestMethod
	if method == "" {
		method = "GET"
		if postOnlyPath(p.RequestPath) {
			method = "POST"
		}
	}
	return &scopeguardv1.Endpoint{Method: method, Path: p.RequestPath}
}

// postOnlyPath reports whether HubSpot serves path only by POST: CRM search
// and batch endpoints and the OAuth token endpoints.
func postOnlyPath(path string) bool {
	return strings.HasSuffix(path, "/search") || strings.Contains(path, "/batch/") || isTokenPath(path)
}

// isTokenPath reports whether path is an OAuth token endpoint
// (/oauth/v1/token, /oauth/v3/token, /oauth/2026-03/token), where
// refresh tokens and authorization codes are exchanged.
func isTokenPath(path string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), "/oauth/")
	if !ok {
		return false
	}
	version, tail, ok := strings.Cut(rest, "/")
	return ok && tail == "token" && version != "" && !strings.Contains(version, "/")
}

// validStatus keeps HTTP statuses in 100..599 and turns anything else into 0.
func validStatus(s int) int {
	if s < 100 || s > 599 {
		return 0
	}
	return s
}

func (p *Parsed) setStatusIfUnknown(s int) {
	if p.HTTPStatus == 0 {
		p.HTTPStatus = validStatus(s)
	}
}

func (p *Parsed) setEnvelope(name string) {
	if p.Envelope == "" {
		p.Envelope = name
	}
}

// parseBody reads one layer of body text.
func (p *Parsed) parseBody(body string, h headerMap, depth int) {
	s := strings.TrimSpace(strings.TrimPrefix(body, "\uFEFF"))
	if s == "" {
		return
	}
	if depth > maxUnwrapDepth {
		p.setText(s)
		return
	}
	switch s[0] {
	case '{', '[', '"':
		if p.parseJSON(s, h, depth) {
			return
		}
	case '<':
		p.parseHTML(s)
		return
	}
	if p.parseSDKText(s, h, depth) {
		return
	}
	if p.parseEmbedded(s, h, depth) {
		return
	}
	p.setText(s)
}

// Text helpers.

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cleanMessage redacts credentials and cuts the message to maxMessageLen.
func cleanMessage(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxMessageLen {
		s = clip(s, maxMessageLen) + "…"
	}
	return redact(s, nil)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func leadingInt(s string) int {
	end := 0
	for end < len(s) && end < 4 && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	return atoi(s[:end])
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

// statusInText finds an HTTP status named in text such as "502 Bad
// Gateway", "Request failed with status code 409" or "522: Connection timed
// out".
func statusInText(s string) int {
	text := clip(s, 4096)
	if m := reStatusPhrase.FindStringSubmatch(text); m != nil {
		return atoi(m[1])
	}
	if m := reStatusWithReason.FindStringSubmatch(text); m != nil {
		return atoi(m[1])
	}
	if m := reStatusNotSuccess.FindStringSubmatch(text); m != nil {
		return atoi(m[1])
	}
	return 0
}

// statusFromReason reads a status from its reason phrase alone, as in a
// client's bare "Error: Forbidden": 403, 401 or 429; 0 otherwise.
func statusFromReason(s string) int {
	m := reStatusWord.FindStringSubmatch(clip(s, 4096))
	if m == nil {
		return 0
	}
	switch strings.ToLower(m[1]) {
	case "forbidden":
		return 403
	case "unauthorized":
		return 401
	}
	return 429
}

// isTransportText reports whether text describes a timeout or a broken
// connection.
func isTransportText(s string) bool {
	return reTransport.MatchString(clip(s, 4096))
}
