package explain

import (
	"bytes"
	"encoding/json"
	"sort"
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
	p.finish()
	return p
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

// rawBody holds the keys of every JSON shape this package understands. All
// fields are raw so that a value of an unexpected type never fails the rest.
type rawBody struct {
	Status           json.RawMessage `json:"status"`
	StatusCode       json.RawMessage `json:"statusCode"`
	Message          json.RawMessage `json:"message"`
	CorrelationID    json.RawMessage `json:"correlationId"`
	RequestID        json.RawMessage `json:"requestId"`
	Category         json.RawMessage `json:"category"`
	SubCategory      json.RawMessage `json:"subCategory"`
	Context          json.RawMessage `json:"context"`
	Errors           json.RawMessage `json:"errors"`
	ValidationResult json.RawMessage `json:"validationResults"`
	Links            json.RawMessage `json:"links"`
	ErrorType        json.RawMessage `json:"errorType"`
	PolicyName       json.RawMessage `json:"policyName"`
	GroupName        json.RawMessage `json:"groupName"`
	Error            json.RawMessage `json:"error"`
	ErrorDescription json.RawMessage `json:"error_description"`
	IdentityProfile  json.RawMessage `json:"identityProfile"`
	Results          json.RawMessage `json:"results"`
	NumErrors        json.RawMessage `json:"numErrors"`
	Body             json.RawMessage `json:"body"`
	Data             json.RawMessage `json:"data"`
	Response         json.RawMessage `json:"response"`
	ResponseBody     json.RawMessage `json:"responseBody"`
	Headers          json.RawMessage `json:"headers"`
}

// hubSpotish reports whether the object carries any key HubSpot's own error
// shapes use.
func (r *rawBody) hubSpotish() bool {
	return len(r.Category) > 0 || len(r.CorrelationID) > 0 || len(r.ErrorType) > 0 ||
		len(r.PolicyName) > 0 || len(r.Errors) > 0 || len(r.ValidationResult) > 0 || len(r.ErrorDescription) > 0 ||
		isJSONString(r.Error) || len(r.Context) > 0 || len(r.Results) > 0
}

// envelopeInner returns the wrapped response of a client-library envelope
// ({"body": {...}}, axios' {"response": {"data": {...}}}, ...), or nil.
func (r *rawBody) envelopeInner() json.RawMessage {
	for _, c := range []json.RawMessage{r.Body, r.Data, r.ResponseBody, r.Response, r.Error} {
		if isJSONObject(c) || (isJSONString(c) && looksLikeJSONText(jsonString(c))) {
			return c
		}
	}
	return nil
}

// parseJSON reads s as JSON. It reports false when s is not JSON at all, so
// the caller can try the text readers.
func (p *Parsed) parseJSON(s string, h headerMap, depth int) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return false
	}
	return p.parseJSONValue(raw, h, depth)
}

func (p *Parsed) parseJSONValue(raw json.RawMessage, h headerMap, depth int) bool {
	switch firstByte(raw) {
	case '"':
		inner := jsonString(raw)
		p.setEnvelope("json-string")
		p.parseBody(inner, h, depth+1)
		return true
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return false
		}
		for _, it := range items {
			if isJSONObject(it) {
				return p.parseJSONValue(it, h, depth+1)
			}
		}
		return false
	case '{':
	default:
		return false
	}
	var r rawBody
	if json.Unmarshal(raw, &r) != nil {
		return false
	}
	if !r.hubSpotish() {
		if inner := r.envelopeInner(); inner != nil && depth < maxUnwrapDepth {
			p.setEnvelope("json-envelope")
			p.setStatusIfUnknown(jsonInt(r.StatusCode))
			p.setStatusIfUnknown(jsonInt(r.Status))
			if hs, ok := envelopeStatus(r.Response); ok {
				p.setStatusIfUnknown(hs)
			}
			mergeHeaders(h, r.Headers)
			if isJSONString(inner) {
				p.parseBody(jsonString(inner), h, depth+1)
				return true
			}
			if p.parseJSONValue(inner, h, depth+1) {
				return true
			}
		}
	}
	p.Shape = ShapeJSON
	p.fillFrom(&r, h)
	return true
}

// envelopeStatus reads {"status": 403} from an axios-style response object.
func envelopeStatus(raw json.RawMessage) (int, bool) {
	if !isJSONObject(raw) {
		return 0, false
	}
	var r struct {
		Status     json.RawMessage `json:"status"`
		StatusCode json.RawMessage `json:"statusCode"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return 0, false
	}
	if s := jsonInt(r.Status); s != 0 {
		return s, true
	}
	s := jsonInt(r.StatusCode)
	return s, s != 0
}

// fillFrom copies a decoded HubSpot-style object into p.
func (p *Parsed) fillFrom(r *rawBody, h headerMap) {
	mergeHeaders(h, r.Headers)
	if st := jsonString(r.Status); st != "" {
		p.Status = st
	} else {
		p.setStatusIfUnknown(jsonInt(r.Status))
	}
	p.setStatusIfUnknown(jsonInt(r.StatusCode))
	p.Message = cleanMessage(jsonText(r.Message))
	p.CorrelationID = clip(jsonString(r.CorrelationID), 128)
	p.RequestID = clip(jsonString(r.RequestID), 128)
	p.Category = clip(jsonString(r.Category), 128)
	p.SubCategory = clip(jsonString(r.SubCategory), 128)
	p.ErrorType = clip(jsonString(r.ErrorType), 128)
	p.RateLimit.Policy = strings.ToUpper(clip(jsonString(r.PolicyName), 64))
	p.RateLimit.GroupName = clip(jsonString(r.GroupName), 256)
	if isJSONString(r.Error) {
		p.OAuthError = clip(jsonString(r.Error), 128)
	} else if isJSONObject(r.Error) && p.Message == "" {
		// {"error": {"message": ...}} used by some gateways.
		var e struct {
			Message json.RawMessage `json:"message"`
		}
		if json.Unmarshal(r.Error, &e) == nil {
			p.Message = cleanMessage(jsonText(e.Message))
		}
	}
	p.OAuthErrorDescription = cleanMessage(jsonString(r.ErrorDescription))
	p.Context = parseContext(r.Context)
	p.Links = parseLinks(r.Links)
	if len(r.Results) > 0 || len(r.NumErrors) > 0 || p.Status == "COMPLETE" || p.Status == "PENDING" || p.Status == "PROCESSING" || p.Status == "CANCELED" {
		p.Batch = len(r.Errors) > 0 || len(r.NumErrors) > 0
	}
	p.NumErrors = jsonInt(r.NumErrors)
	p.parseErrors(r.Errors, 0)
	// Legacy v1 contacts API: {"validationResults": [{"error": ..., "name": ...}]}.
	p.parseErrors(r.ValidationResult, 0)
	if vid := identityVid(r.IdentityProfile); vid != "" {
		p.ExistingID = vid
	}
}

// parseErrors flattens errors[] (and batch entries' own errors[]) into
// p.Details.
func (p *Parsed) parseErrors(raw json.RawMessage, depth int) {
	if firstByte(raw) != '[' || depth > 2 {
		return
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return
	}
	for _, it := range items {
		if len(p.Details) >= maxDetails {
			return
		}
		if !isJSONObject(it) {
			if s := jsonText(it); s != "" {
				p.Details = append(p.Details, Detail{Message: cleanMessage(s)})
			}
			continue
		}
		var e struct {
			Message     json.RawMessage `json:"message"`
			Code        json.RawMessage `json:"code"`
			In          json.RawMessage `json:"in"`
			SubCategory json.RawMessage `json:"subCategory"`
			Category    json.RawMessage `json:"category"`
			Context     json.RawMessage `json:"context"`
			Errors      json.RawMessage `json:"errors"`
			Error       json.RawMessage `json:"error"`
			Name        json.RawMessage `json:"name"`
		}
		if json.Unmarshal(it, &e) != nil {
			continue
		}
		d := Detail{
			Message:     cleanMessage(jsonText(e.Message)),
			Code:        clip(jsonString(e.Code), 128),
			In:          clip(jsonString(e.In), 256),
			SubCategory: clip(jsonString(e.SubCategory), 128),
			Category:    clip(jsonString(e.Category), 128),
			Context:     parseContext(e.Context),
		}
		if d.Code == "" {
			// Legacy v1 validation entries: {"error": "PROPERTY_DOESNT_EXIST", "name": "x"}.
			d.Code = clip(jsonString(e.Error), 128)
		}
		if name := jsonString(e.Name); name != "" {
			if d.Context == nil {
				d.Context = map[string][]string{}
			}
			d.Context["name"] = []string{clip(name, 256)}
		}
		p.Details = append(p.Details, d)
		p.parseErrors(e.Errors, depth+1)
	}
}

// identityVid reads the existing record id from a legacy v1 409 body.
func identityVid(raw json.RawMessage) string {
	if !isJSONObject(raw) {
		return ""
	}
	var ip struct {
		Vid json.RawMessage `json:"vid"`
	}
	if json.Unmarshal(raw, &ip) != nil {
		return ""
	}
	return clip(jsonText(ip.Vid), 32)
}

// parseContext reads a context map. HubSpot documents map<string,
// list<string>>, but real and documented bodies also send a single string,
// a JSON object inside a string, or Java's Map.toString form
// "{missingScopes=[a, b]}".
func parseContext(raw json.RawMessage) map[string][]string {
	switch firstByte(raw) {
	case '{':
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
			return nil
		}
		out := make(map[string][]string, len(m))
		for k, v := range m {
			if len(out) >= maxContextValues {
				break
			}
			out[clip(k, 128)] = contextValues(v)
		}
		return out
	case '"':
		s := strings.TrimSpace(jsonString(raw))
		if strings.HasPrefix(s, "{") {
			if json.Valid([]byte(s)) {
				return parseContext(json.RawMessage(s))
			}
			return parseJavaMap(s)
		}
		if s != "" {
			return map[string][]string{"": {clip(s, maxMessageLen)}}
		}
	}
	return nil
}

// contextValues reads one context value as a list of strings.
func contextValues(v json.RawMessage) []string {
	switch firstByte(v) {
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			return nil
		}
		out := make([]string, 0, min(len(items), maxContextValues))
		for _, it := range items {
			if len(out) >= maxContextValues {
				break
			}
			out = append(out, clip(jsonText(it), 1024))
		}
		return out
	case 0:
		return nil
	}
	return []string{clip(jsonText(v), 1024)}
}

// parseJavaMap reads "{k=[a, b], k2=v}" (Java's Map.toString).
func parseJavaMap(s string) map[string][]string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	out := map[string][]string{}
	for s != "" && len(out) < maxContextValues {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key := strings.TrimSpace(s[:eq])
		rest := strings.TrimSpace(s[eq+1:])
		var val string
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				end = len(rest) - 1
			}
			val = rest[1:max(end, 1)]
			s = rest[min(end+1, len(rest)):]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val = rest[:end]
			s = rest[end:]
		}
		s = strings.TrimLeft(s, ", ")
		var vals []string
		for _, v := range strings.Split(val, ",") {
			if v = strings.TrimSpace(v); v != "" && len(vals) < maxContextValues {
				vals = append(vals, clip(v, 1024))
			}
		}
		out[clip(key, 128)] = vals
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// parseLinks reads the links map.
func parseLinks(raw json.RawMessage) map[string]string {
	if !isJSONObject(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if len(out) >= 20 {
			break
		}
		if s := jsonString(v); s != "" {
			out[clip(k, 128)] = clip(s, 1024)
		}
	}
	return out
}

// setText records a body that is plain text.
func (p *Parsed) setText(s string) {
	p.Shape = ShapeText
	p.scanText = redact(clip(s, maxTextScan), nil)
	p.Message = cleanMessage(firstLines(s, 4))
	p.setStatusIfUnknown(statusInText(s))
	p.Transport = p.Transport || isTransportText(s)
}

// firstLines returns the first n non-empty lines of s joined by spaces.
func firstLines(s string, n int) string {
	s = clip(s, maxTextScan)
	var b strings.Builder
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(line)
		if n--; n == 0 {
			break
		}
	}
	return b.String()
}

// parseHTML records an HTML page: its title (or first heading) and the
// status it names.
func (p *Parsed) parseHTML(s string) {
	p.Shape = ShapeHTML
	head := clip(s, maxTextScan)
	title := ""
	if m := reTitle.FindStringSubmatch(head); m != nil {
		title = m[1]
	} else if m := reH1.FindStringSubmatch(head); m != nil {
		title = m[1]
	}
	title = strings.Join(strings.Fields(reTag.ReplaceAllString(title, " ")), " ")
	if title == "" {
		title = strings.Join(strings.Fields(reTag.ReplaceAllString(clip(head, 2048), " ")), " ")
	}
	p.Message = cleanMessage(title)
	p.setStatusIfUnknown(statusInText(title))
	p.Transport = p.Transport || isTransportText(title)
}

// parseSDKText reads the text forms HubSpot's own client libraries give their
// exceptions. It reports whether s was one of them.
func (p *Parsed) parseSDKText(s string, h headerMap, depth int) bool {
	// Node (@hubspot/api-client): "HTTP-Code: 403\nMessage: ...\nBody: {...}\nHeaders: {...}".
	if i := strings.Index(s, "HTTP-Code:"); i >= 0 {
		p.setEnvelope("node-sdk")
		rest := s[i+len("HTTP-Code:"):]
		p.setStatusIfUnknown(leadingInt(strings.TrimSpace(rest)))
		if j := strings.Index(rest, "\nHeaders:"); j >= 0 {
			mergeHeaders(h, firstJSONValue(rest[j+len("\nHeaders:"):]))
			rest = rest[:j]
		}
		msg := ""
		if j := strings.Index(rest, "Message:"); j >= 0 {
			msg = strings.TrimSpace(firstLine(rest[j+len("Message:"):]))
		}
		if j := strings.Index(rest, "Body:"); j >= 0 {
			p.parseBody(rest[j+len("Body:"):], h, depth+1)
		}
		if p.Message == "" {
			p.Message = cleanMessage(msg)
		}
		if p.Shape == ShapeEmpty {
			p.Shape = ShapeText
		}
		return true
	}
	// Python (hubspot-api-client): "(401)\nReason: Unauthorized\nHTTP response headers: ...\nHTTP response body: {...}".
	if i := strings.Index(s, "HTTP response body:"); i >= 0 {
		p.setEnvelope("python-sdk")
		if m := rePythonStatus.FindStringSubmatch(clip(s, 4096)); m != nil {
			p.setStatusIfUnknown(atoi(m[1]))
		}
		p.parseBody(s[i+len("HTTP response body:"):], h, depth+1)
		if p.Shape == ShapeEmpty {
			p.setText(s[:i])
		}
		return true
	}
	// Ruby (hubspot-api-ruby): "Error message: ...\nHTTP status code: 401\nResponse headers: {...}\nResponse body: {...}".
	if i := strings.Index(s, "Response body:"); i >= 0 && strings.Contains(s[:i], "HTTP status code:") {
		p.setEnvelope("ruby-sdk")
		if m := reRubyStatus.FindStringSubmatch(s[:i]); m != nil {
			p.setStatusIfUnknown(atoi(m[1]))
		}
		p.parseBody(s[i+len("Response body:"):], h, depth+1)
		if p.Shape == ShapeEmpty {
			p.setText(s[:i])
		}
		return true
	}
	// request-promise's StatusCodeError: `429 - "{\"status\":...}"` or `401 - {...}`.
	if m := reStatusPrefix.FindStringSubmatchIndex(s); m != nil {
		rest := strings.TrimSpace(s[m[1]:])
		if rest != "" && (rest[0] == '{' || rest[0] == '"') {
			p.setEnvelope("status-prefix")
			p.setStatusIfUnknown(atoi(s[m[2]:m[3]]))
			p.parseBody(rest, h, depth+1)
			return true
		}
	}
	return false
}

// parseEmbedded finds a JSON object inside free text (a log line, an
// exception message) and reads it. It reports whether one was found.
func (p *Parsed) parseEmbedded(s string, h headerMap, depth int) bool {
	scan := s
	offset := 0
	for try := 0; try < maxEmbeddedTries; try++ {
		i := strings.IndexByte(scan, '{')
		if i < 0 {
			return false
		}
		cand := scan[i:]
		raw := firstJSONValue(cand)
		if isJSONObject(raw) {
			var r rawBody
			if json.Unmarshal(raw, &r) == nil && (r.hubSpotish() || len(r.Message) > 0 || r.envelopeInner() != nil) {
				p.setEnvelope("embedded")
				p.setStatusIfUnknown(statusInText(s[:offset+i]))
				p.Transport = p.Transport || isTransportText(s[:offset+i])
				return p.parseJSONValue(raw, h, depth+1)
			}
		}
		offset += i + 1
		scan = scan[i+1:]
	}
	return false
}

// firstJSONValue decodes the first JSON value at the start of s (after
// spaces), ignoring whatever follows it. It returns nil when there is none.
func firstJSONValue(s string) json.RawMessage {
	dec := json.NewDecoder(strings.NewReader(s))
	var raw json.RawMessage
	if dec.Decode(&raw) != nil {
		return nil
	}
	return raw
}

// finish derives everything that needs the whole body: scopes, rate-limit
// policy, expiry, ids and fields from message text.
func (p *Parsed) finish() {
	if p.Category == "" {
		for _, d := range p.Details {
			if d.Category != "" {
				p.Category = d.Category
				break
			}
		}
	}
	if p.Message == "" && p.Batch {
		for _, d := range p.Details {
			if d.Message != "" {
				p.Message = d.Message
				break
			}
		}
	}
	if p.Shape == ShapeText {
		p.sniffText()
	}
	p.extractScopes()
	p.extractExpiry()
	text := clip(p.Message, maxTextScan)
	if p.RateLimit.Policy == "" {
		if m := reLimitPolicy.FindStringSubmatch(text); m != nil {
			p.RateLimit.Policy = strings.ToUpper(m[1])
		}
	}
	if m := reExistingID.FindStringSubmatch(text); m != nil && p.ExistingID == "" {
		p.ExistingID = m[1]
	}
	if m := reInferObjectType.FindStringSubmatch(text); m != nil {
		p.ObjectType = clip(strings.Trim(m[1], `"'.,`), 128)
	}
	switch {
	case reHapikeyWord.MatchString(text):
		p.Credential = CredentialHintHapikey
	case strings.Contains(strings.ToLower(text), "oauth"):
		p.Credential = CredentialHintOAuth
	}
	if strings.Contains(strings.ToLower(p.RateLimit.GroupName), "hapikey") && p.Credential == CredentialHintNone {
		p.Credential = CredentialHintHapikey
	}
	p.Transport = p.Transport || (p.Shape != ShapeJSON && isTransportText(text))
	p.extractFields()
}

// sniffText reads category and correlation id from a body rendered as text
// that is not JSON (a Python dict repr, a log line).
func (p *Parsed) sniffText() {
	text := p.scanText
	if p.Category == "" {
		if m := reTextCategory.FindStringSubmatch(text); m != nil {
			p.Category = m[1]
		}
	}
	if p.CorrelationID == "" {
		if m := reTextCorrelation.FindStringSubmatch(text); m != nil {
			p.CorrelationID = m[1]
		}
	}
}

// extractScopes fills RequiredScopes, Requirement and ScopeSource from the
// context maps and, failing those, from message text.
func (p *Parsed) extractScopes() {
	var groups []scopeGroup
	groups = appendContextGroups(groups, p.Context, p.Message)
	for _, d := range p.Details {
		msg := d.Message
		if msg == "" {
			msg = p.Message
		}
		groups = appendContextGroups(groups, d.Context, msg)
	}
	if len(groups) == 0 {
		groups = appendTextGroups(groups, firstNonEmpty(p.scanText, p.Message))
		for _, d := range p.Details {
			groups = appendTextGroups(groups, d.Message)
		}
	}
	if len(groups) == 0 {
		return
	}
	req := groups[0].req
	src := groups[0].src
	seen := map[string]bool{}
	for _, g := range groups {
		if g.req != req {
			req = scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
		}
		if g.src != src && src != ScopeSourceRequired {
			src = g.src
		}
		for _, s := range g.scopes {
			if !seen[s] && len(p.RequiredScopes) < maxScopes {
				seen[s] = true
				p.RequiredScopes = append(p.RequiredScopes, s)
			}
		}
	}
	if len(p.RequiredScopes) == 0 {
		return
	}
	p.Requirement = req
	p.ScopeSource = src
}

type scopeGroup struct {
	req    scopeguardv1.Requirement
	src    ScopeSource
	scopes []string
}

// appendContextGroups reads scope lists from a context map, taking their
// semantics from the message that goes with them.
func appendContextGroups(groups []scopeGroup, ctx map[string][]string, msg string) []scopeGroup {
	if len(ctx) == 0 {
		return groups
	}
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if !strings.Contains(lk, "scope") {
			continue
		}
		var scopes []string
		for _, v := range ctx[k] {
			scopes = appendScopeNames(scopes, v)
		}
		if len(scopes) == 0 {
			continue
		}
		g := scopeGroup{scopes: scopes, src: ScopeSourceRequired, req: requirementOf(msg)}
		if strings.Contains(lk, "missing") {
			g.src = ScopeSourceMissing
			g.req = scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
		}
		groups = append(groups, g)
	}
	return groups
}

// appendTextGroups reads scope lists written into message text.
func appendTextGroups(groups []scopeGroup, msg string) []scopeGroup {
	if msg == "" {
		return groups
	}
	text := clip(msg, maxTextScan)
	for _, m := range reScopeList.FindAllStringSubmatchIndex(text, 20) {
		lead := strings.ToLower(text[m[2]:m[3]])
		var scopes []string
		scopes = appendScopeNames(scopes, text[m[4]:m[5]])
		if len(scopes) == 0 {
			continue
		}
		req := requirementOf(lead)
		if req == scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED {
			// A Python or Java rendering of the JSON body keeps the
			// message shortly before the list.
			req = requirementOf(text[max(0, m[0]-200):m[0]])
		}
		g := scopeGroup{scopes: scopes, src: ScopeSourceText, req: req}
		if strings.Contains(lead, "missing") {
			g.src = ScopeSourceMissing
			g.req = scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
		}
		groups = append(groups, g)
	}
	for _, m := range reMissingRequiredScope.FindAllStringSubmatch(text, 20) {
		if scopes := appendScopeNames(nil, m[1]); len(scopes) > 0 {
			groups = append(groups, scopeGroup{scopes: scopes, src: ScopeSourceText})
		}
	}
	return groups
}

// requirementOf reads "One or more of the following scopes are required." and
// "All of the following scopes are required." (and the shorter text forms).
func requirementOf(msg string) scopeguardv1.Requirement {
	m := strings.ToLower(clip(msg, 4096))
	switch {
	case strings.Contains(m, "one or more"), strings.Contains(m, "any of"), strings.Contains(m, "one of"):
		return scopeguardv1.Requirement_REQUIREMENT_ANY_OF
	case strings.Contains(m, "all of"):
		return scopeguardv1.Requirement_REQUIREMENT_ALL_OF
	}
	return scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
}

// appendScopeNames splits a value such as "a, b" or "[a b]" into scope names
// and keeps those that look like HubSpot scopes.
func appendScopeNames(dst []string, v string) []string {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ' ' || r == '[' || r == ']' || r == '"' || r == '\'' || r == '\t' || r == '\n' || r == ';'
	}) {
		if isScopeName(f) && len(dst) < maxScopes {
			dst = append(dst, f)
		}
	}
	return dst
}

// isScopeName accepts names like "crm.objects.contacts.read",
// "e-commerce", "automation-access" and "ACCEPTANCE_TEST.x".
func isScopeName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "-")
}

// extractExpiry reads the expiry facts of an EXPIRED_AUTHENTICATION body.
func (p *Parsed) extractExpiry() {
	for k, v := range p.Context {
		if len(v) == 0 {
			continue
		}
		lk := strings.ToLower(strings.ReplaceAll(k, " ", ""))
		if lk != "expiretime" && lk != "expiresat" && lk != "expiredat" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v[0])); err == nil {
			p.ExpiredAt = t.UTC()
		} else if ms, err := strconv.ParseInt(strings.TrimSpace(v[0]), 10, 64); err == nil {
			p.ExpiredAt = time.UnixMilli(ms).UTC()
		}
	}
	if m := reExpiredAgo.FindStringSubmatch(clip(p.Message, 4096)); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > 1<<40 {
			return
		}
		unit := time.Second
		switch strings.ToLower(m[2]) {
		case "minute":
			unit = time.Minute
		case "hour":
			unit = time.Hour
		case "day":
			unit = 24 * time.Hour
		}
		if n > int64(1<<62)/int64(unit) {
			return
		}
		p.ExpiredAgo = time.Duration(n) * unit
		p.HasExpiredAgo = true
	}
}

// extractFields collects the properties and request fields HubSpot named as
// invalid.
func (p *Parsed) extractFields() {
	seen := map[string]bool{}
	add := func(f string) {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] || len(p.Fields) >= maxFields || len(f) > 256 {
			return
		}
		seen[f] = true
		p.Fields = append(p.Fields, f)
	}
	for _, d := range p.Details {
		for _, key := range []string{"propertyName", "propertyNames", "invalidPropertyName", "name", "field", "fields", "missingFields"} {
			for _, v := range d.Context[key] {
				add(v)
			}
		}
		if d.In != "" && d.In != "body" && d.In != "query" && d.In != "path" && d.In != "header" {
			add(d.In)
		}
		for _, f := range fieldsInText(d.Message) {
			add(f)
		}
	}
	for _, key := range []string{"propertyName", "invalidPropertyName", "missingFields"} {
		for _, v := range p.Context[key] {
			add(v)
		}
	}
	for _, f := range fieldsInText(p.Message) {
		add(f)
	}
}

// fieldsInText reads property names from validation messages:
// `Property "foo" does not exist` and `Property values were not valid:
// [{"name":"firstname",...}]`.
func fieldsInText(msg string) []string {
	if msg == "" {
		return nil
	}
	text := clip(msg, maxTextScan)
	var out []string
	for _, m := range rePropertyDoesNotExist.FindAllStringSubmatch(text, maxFields) {
		out = append(out, m[1])
	}
	if i := strings.Index(text, "not valid:"); i >= 0 {
		rest := strings.TrimSpace(text[i+len("not valid:"):])
		var items []struct {
			Name string `json:"name"`
		}
		if raw := firstJSONValue(rest); raw != nil && json.Unmarshal(raw, &items) == nil {
			for _, it := range items {
				if it.Name != "" && len(out) < maxFields {
					out = append(out, it.Name)
				}
			}
		}
	}
	return out
}

// applyHeaders reads the headers that matter: correlation id, auth failure,
// rate limits and Retry-After.
func (p *Parsed) applyHeaders(h headerMap) {
	if p.CorrelationID == "" {
		p.CorrelationID = clip(h.get("x-hubspot-correlation-id"), 128)
	}
	p.AuthFailure = clip(h.get("x-hubspot-auth-failure"), 256)
	rl := &p.RateLimit
	if v, ok := h.int("x-hubspot-ratelimit-max"); ok {
		rl.Max, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-remaining"); ok {
		rl.Remaining, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-interval-milliseconds"); ok {
		rl.IntervalMS, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-daily"); ok {
		rl.Daily, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-daily-remaining"); ok {
		rl.DailyRemaining, rl.HeadersSeen = v, true
	}
	rl.RetryAfter = clip(strings.TrimSpace(h.get("retry-after")), 64)
}

// headerMap holds headers under lower-case names.
type headerMap map[string]string

// normalizeHeaders copies headers under lower-case names (the first value
// wins when two names differ only in case).
func normalizeHeaders(in map[string]string) headerMap {
	h := make(headerMap, len(in)+4)
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(strings.TrimSpace(k))
		if _, dup := h[lk]; !dup {
			h[lk] = in[k]
		}
	}
	return h
}

func (h headerMap) get(name string) string { return h[name] }

func (h headerMap) int(name string) (int64, bool) {
	v, ok := h[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// mergeHeaders adds headers found inside a wrapper (a logged response) to
// h, never overriding headers the caller gave.
func mergeHeaders(h headerMap, raw json.RawMessage) {
	if !isJSONObject(raw) {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	for k, v := range m {
		if len(h) >= 256 {
			return
		}
		lk := strings.ToLower(strings.TrimSpace(k))
		if _, ok := h[lk]; ok {
			continue
		}
		if s := jsonText(v); s != "" {
			h[lk] = clip(s, 1024)
		}
	}
}

// JSON helpers. Values are raw; these read them leniently.

func firstByte(raw json.RawMessage) byte {
	b := bytes.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func isJSONObject(raw json.RawMessage) bool { return firstByte(raw) == '{' }
func isJSONString(raw json.RawMessage) bool { return firstByte(raw) == '"' }

// jsonString decodes a JSON string; anything else gives "".
func jsonString(raw json.RawMessage) string {
	if !isJSONString(raw) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonText renders a scalar as text (strings decoded, numbers and booleans
// as written); objects and arrays give their JSON text.
func jsonText(raw json.RawMessage) string {
	switch firstByte(raw) {
	case 0:
		return ""
	case '"':
		return jsonString(raw)
	case 'n':
		return ""
	}
	return string(bytes.TrimSpace(raw))
}

// jsonInt reads a JSON number (or a numeric string) as an int; 0 otherwise.
func jsonInt(raw json.RawMessage) int {
	t := jsonText(raw)
	if t == "" || len(t) > 12 {
		return 0
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		return 0
	}
	return n
}

// looksLikeJSONText reports whether s is JSON object or string text.
func looksLikeJSONText(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && (s[0] == '{' || s[0] == '"')
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
	return 0
}

// isTransportText reports whether text describes a timeout or a broken
// connection.
func isTransportText(s string) bool {
	return reTransport.MatchString(clip(s, 4096))
}
