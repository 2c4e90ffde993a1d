package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// parsedView is the part of Parsed a parser test compares.
type parsedView struct {
	HTTPStatus     int
	Shape          Shape
	Envelope       string
	Status         string
	Category       string
	ErrorType      string
	Message        string
	CorrelationID  string
	Requirement    scopeguardv1.Requirement
	RequiredScopes []string
	ScopeSource    ScopeSource
	Policy         string
	OAuthError     string
	ExpiredAt      time.Time
	ExpiredAgo     time.Duration
	ExistingID     string
	ObjectType     string
	Fields         []string
	Batch          bool
	Credential     CredentialHint
	Transport      bool
	DetailCodes    []string
	RequestMethod  string
	RequestPath    string
	ReportedAt     time.Time
}

func view(p *Parsed) parsedView {
	v := parsedView{
		HTTPStatus: p.HTTPStatus, Shape: p.Shape, Envelope: p.Envelope, Status: p.Status,
		Category: p.Category, ErrorType: p.ErrorType, Message: p.Message, CorrelationID: p.CorrelationID,
		Requirement: p.Requirement, RequiredScopes: p.RequiredScopes, ScopeSource: p.ScopeSource,
		Policy: p.RateLimit.Policy, OAuthError: p.OAuthError, ExpiredAt: p.ExpiredAt, ExpiredAgo: p.ExpiredAgo,
		ExistingID: p.ExistingID, ObjectType: p.ObjectType, Fields: p.Fields, Batch: p.Batch,
		Credential: p.Credential, Transport: p.Transport,
		RequestMethod: p.RequestMethod, RequestPath: p.RequestPath, ReportedAt: p.ReportedAt,
	}
	for _, d := range p.Details {
		v.DetailCodes = append(v.DetailCodes, d.Code)
	}
	return v
}

const notGrantedMsg = "This app hasn't been granted all required scopes to make this call."

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		headers map[string]string
		want    parsedView
	}{
		{
			name:   "errors entry with All of keeps ALL_OF semantics",
			status: 403,
			body:   `{"status":"error","message":"` + notGrantedMsg + `","correlationId":"c-1","category":"MISSING_SCOPES","errors":[{"message":"All of the following scopes are required.","context":{"requiredGranularScopes":["account-info.security.read"]}}]}`,
			want: parsedView{HTTPStatus: 403, Shape: ShapeJSON, Status: "error", Category: "MISSING_SCOPES", Message: notGrantedMsg,
				CorrelationID: "c-1", Requirement: scopeguardv1.Requirement_REQUIREMENT_ALL_OF,
				RequiredScopes: []string{"account-info.security.read"}, ScopeSource: ScopeSourceRequired, DetailCodes: []string{""}},
		},
		{
			name: "top-level context with One or more",
			body: `{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["a.read","a.write"]}}`,
			want: parsedView{Shape: ShapeJSON, Message: "One or more of the following scopes are required.",
				Requirement: scopeguardv1.Requirement_REQUIREMENT_ANY_OF, RequiredScopes: []string{"a.read", "a.write"}, ScopeSource: ScopeSourceRequired},
		},
		{
			name: "several errors entries union their scopes and keep shared semantics",
			body: `{"category":"MISSING_SCOPES","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["x.read"]}},{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["y.read","x.read"]}}]}`,
			want: parsedView{Shape: ShapeJSON, Category: "MISSING_SCOPES", Requirement: scopeguardv1.Requirement_REQUIREMENT_ANY_OF,
				RequiredScopes: []string{"x.read", "y.read"}, ScopeSource: ScopeSourceRequired, DetailCodes: []string{"", ""}},
		},
		{
			name: "entries with different semantics give no stated requirement",
			body: `{"errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["x.read"]}},{"message":"All of the following scopes are required.","context":{"requiredGranularScopes":["y.read"]}}]}`,
			want: parsedView{Shape: ShapeJSON, RequiredScopes: []string{"x.read", "y.read"}, ScopeSource: ScopeSourceRequired, DetailCodes: []string{"", ""}},
		},
		{
			name: "legacy requiredScopes",
			body: `{"errors":[{"message":"One or more of the following scopes are required.","context":{"requiredScopes":["contacts"]}}],"category":"MISSING_SCOPES"}`,
			want: parsedView{Shape: ShapeJSON, Category: "MISSING_SCOPES", Requirement: scopeguardv1.Requirement_REQUIREMENT_ANY_OF,
				RequiredScopes: []string{"contacts"}, ScopeSource: ScopeSourceRequired, DetailCodes: []string{""}},
		},
		{
			name:   "batch entry with missingScopes takes the entry's category",
			status: 207,
			body:   `{"status":"COMPLETE","results":[],"numErrors":1,"errors":[{"status":"error","category":"MISSING_SCOPES","message":"m","context":{"missingScopes":["crm.objects.contacts.write"]}}]}`,
			want: parsedView{HTTPStatus: 207, Shape: ShapeJSON, Status: "COMPLETE", Category: "MISSING_SCOPES", Message: "m",
				RequiredScopes: []string{"crm.objects.contacts.write"}, ScopeSource: ScopeSourceMissing, Batch: true, DetailCodes: []string{""}},
		},
		{
			name: "context as Java Map.toString string",
			body: `{"errors":[{"message":"Missing scopes","context":"{missingScopes=[crm.objects.deals.write, crm.objects.deals.read], other=x}"}]}`,
			want: parsedView{Shape: ShapeJSON, RequiredScopes: []string{"crm.objects.deals.write", "crm.objects.deals.read"},
				ScopeSource: ScopeSourceMissing, DetailCodes: []string{""}},
		},
		{
			name: "context as a JSON object inside a string",
			body: `{"errors":[{"message":"Missing scopes","context":"{\"missingScopes\": [\"scope1\", \"scope2\"]}"}]}`,
			want: parsedView{Shape: ShapeJSON, RequiredScopes: []string{"scope1", "scope2"}, ScopeSource: ScopeSourceMissing, DetailCodes: []string{""}},
		},
		{
			name: "requires one of in message text",
			body: `{"status":"error","message":"You do not have permissions to view_schema object type ObjectTypeId{legacyObjectType=LEAD} in portal 1 (requires one of [leads-read])","correlationId":"c"}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", Message: "You do not have permissions to view_schema object type ObjectTypeId{legacyObjectType=LEAD} in portal 1 (requires one of [leads-read])",
				CorrelationID: "c", Requirement: scopeguardv1.Requirement_REQUIREMENT_ANY_OF, RequiredScopes: []string{"leads-read"}, ScopeSource: ScopeSourceText, Credential: CredentialHintNone},
		},
		{
			name: "required list inline without semantics",
			body: `{"message":"` + notGrantedMsg + ` required: [files, files.ui_hidden.read]","category":"MISSING_SCOPES"}`,
			want: parsedView{Shape: ShapeJSON, Category: "MISSING_SCOPES", Message: notGrantedMsg + " required: [files, files.ui_hidden.read]",
				RequiredScopes: []string{"files", "files.ui_hidden.read"}, ScopeSource: ScopeSourceText},
		},
		{
			name:   "missing required scope text",
			status: 403,
			body:   "EXTERNAL auth request is missing required 'workflows-access-public-api' scope.",
			want: parsedView{HTTPStatus: 403, Shape: ShapeText, Message: "EXTERNAL auth request is missing required 'workflows-access-public-api' scope.",
				RequiredScopes: []string{"workflows-access-public-api"}, ScopeSource: ScopeSourceText},
		},
		{
			name:   "bracketed lists in validation messages are not scopes",
			status: 400,
			body:   `{"message":"Some fields are required: [email, firstname]","category":"VALIDATION_ERROR","context":{"scope":["bad"]}}`,
			want:   parsedView{HTTPStatus: 400, Shape: ShapeJSON, Category: "VALIDATION_ERROR", Message: "Some fields are required: [email, firstname]"},
		},
		{
			name: "hapikey in parentheses is redacted and marks the credential",
			body: `{"status":"error","message":"This hapikey (abcd-1234-efgh) does not have proper permissions! (requires any of [automation-access])"}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", Message: "This hapikey ([redacted]) does not have proper permissions! (requires any of [automation-access])",
				Requirement: scopeguardv1.Requirement_REQUIREMENT_ANY_OF, RequiredScopes: []string{"automation-access"}, ScopeSource: ScopeSourceText, Credential: CredentialHintHapikey},
		},
		{
			name: "legacy rate limit",
			body: `{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","correlationId":"c","policyName":"SECONDLY","groupName":"publicapi:hapikey-secondly:1"}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", ErrorType: "RATE_LIMIT", Message: "You have reached your secondly limit.",
				CorrelationID: "c", Policy: "SECONDLY", Credential: CredentialHintHapikey},
		},
		{
			name: "rate limit policy read from the message",
			body: `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","category":"RATE_LIMITS"}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", Category: "RATE_LIMITS", Message: "You have reached your ten_secondly_rolling limit.", Policy: "TEN_SECONDLY_ROLLING"},
		},
		{
			name: "OAuth legacy status",
			body: `{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token"}`,
			want: parsedView{Shape: ShapeJSON, Status: "BAD_REFRESH_TOKEN", Message: "missing or invalid refresh token"},
		},
		{
			name: "OAuth standardized error",
			body: `{"error":"invalid_grant","error_description":"refresh token is invalid, expired or revoked","status":"BAD_REFRESH_TOKEN","message":"refresh token is invalid, expired or revoked"}`,
			want: parsedView{Shape: ShapeJSON, Status: "BAD_REFRESH_TOKEN", Message: "refresh token is invalid, expired or revoked", OAuthError: "invalid_grant"},
		},
		{
			name: "expired authentication with expire time",
			body: `{"status":"error","message":"The OAuth token used to make this call expired 3 minute(s) ago.","category":"EXPIRED_AUTHENTICATION","context":{"expire time":["2026-03-10T23:04:41.164Z"]}}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", Category: "EXPIRED_AUTHENTICATION", Message: "The OAuth token used to make this call expired 3 minute(s) ago.",
				ExpiredAt: time.Date(2026, 3, 10, 23, 4, 41, 164000000, time.UTC), ExpiredAgo: 3 * time.Minute, Credential: CredentialHintOAuth},
		},
		{
			name: "client-library envelope with body",
			body: `{"body":{"category":"INVALID_AUTHENTICATION","correlationId":"c","message":"Authentication credentials not found.","status":"error"}}`,
			want: parsedView{Shape: ShapeJSON, Envelope: "json-envelope", Status: "error", Category: "INVALID_AUTHENTICATION", Message: "Authentication credentials not found.", CorrelationID: "c"},
		},
		{
			name: "axios response envelope gives status and correlation header",
			body: `{"status":404,"statusText":"Not Found","headers":{"X-HubSpot-Correlation-Id":"from-envelope"},"data":{"status":"error","message":"resource not found"}}`,
			want: parsedView{HTTPStatus: 404, Shape: ShapeJSON, Envelope: "json-envelope", Status: "error", Message: "resource not found", CorrelationID: "from-envelope"},
		},
		{
			name: "JSON string containing JSON",
			body: `"{\"status\":\"error\",\"message\":\"Contact already exists. Existing ID: 6001\",\"category\":\"CONFLICT\"}"`,
			want: parsedView{Shape: ShapeJSON, Envelope: "json-string", Status: "error", Category: "CONFLICT", Message: "Contact already exists. Existing ID: 6001", ExistingID: "6001"},
		},
		{
			name: "Node SDK exception text",
			body: "HTTP-Code: 409\nMessage: An error occurred.\nBody: {\"status\":\"error\",\"message\":\"Contact already exists. Existing ID: 51\",\"category\":\"CONFLICT\"}\nHeaders: {\"x-hubspot-correlation-id\":\"h-1\"}",
			want: parsedView{HTTPStatus: 409, Shape: ShapeJSON, Envelope: "node-sdk", Status: "error", Category: "CONFLICT",
				Message: "Contact already exists. Existing ID: 51", CorrelationID: "h-1", ExistingID: "51"},
		},
		{
			name: "Python SDK exception text",
			body: "(401)\nReason: Unauthorized\nHTTP response headers: HTTPHeaderDict({'X': 'y'})\nHTTP response body: {\"status\":\"error\",\"message\":\"m\",\"category\":\"INVALID_AUTHENTICATION\"}",
			want: parsedView{HTTPStatus: 401, Shape: ShapeJSON, Envelope: "python-sdk", Status: "error", Category: "INVALID_AUTHENTICATION", Message: "m"},
		},
		{
			name: "Ruby SDK exception text",
			body: "Error message: the server returns an error\nHTTP status code: 401\nResponse headers: {\"a\"=>\"b\"}\nResponse body: {\"message\":\"m\",\"category\":\"INVALID_AUTHENTICATION\"}",
			want: parsedView{HTTPStatus: 401, Shape: ShapeJSON, Envelope: "ruby-sdk", Category: "INVALID_AUTHENTICATION", Message: "m"},
		},
		{
			name: "status prefix and JSON string",
			body: `429 - "{\"message\":\"You have reached your secondly limit.\",\"errorType\":\"RATE_LIMIT\"}"`,
			want: parsedView{HTTPStatus: 429, Shape: ShapeJSON, Envelope: "status-prefix", ErrorType: "RATE_LIMIT", Message: "You have reached your secondly limit.", Policy: "SECONDLY"},
		},
		{
			name: "JSON embedded in a log line",
			body: "Error - Request failed with status code 409 — {\"status\":\"error\",\"message\":\"Contact already exists. Existing ID: 1948209\",\"category\":\"CONFLICT\"} trailing",
			want: parsedView{HTTPStatus: 409, Shape: ShapeJSON, Envelope: "embedded", Status: "error", Category: "CONFLICT",
				Message: "Contact already exists. Existing ID: 1948209", ExistingID: "1948209"},
		},
		{
			name: "Python dict repr falls back to text sniffing",
			body: "CRM upsert error (status 403): {'status': 'error', 'correlationId': '5fd6d324-f253', 'errors': [{'message': 'One or more of the following scopes are required.', 'context': {'requiredGranularScopes': ['crm.objects.services.write']}}], 'category': 'MISSING_SCOPES'}",
			want: parsedView{HTTPStatus: 403, Shape: ShapeText, Category: "MISSING_SCOPES", CorrelationID: "5fd6d324-f253",
				Message:        "CRM upsert error (status 403): {'status': 'error', 'correlationId': '5fd6d324-f253', 'errors': [{'message': 'One or more of the following scopes are required.', 'context': {'requiredGranularScopes': ['crm.objects.services.write']}}], 'category': 'MISSING_SCOPES'}",
				Requirement:    scopeguardv1.Requirement_REQUIREMENT_ANY_OF,
				RequiredScopes: []string{"crm.objects.services.write"}, ScopeSource: ScopeSourceText},
		},
		{
			name: "HTML gateway page",
			body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>",
			want: parsedView{HTTPStatus: 502, Shape: ShapeHTML, Message: "502 Bad Gateway"},
		},
		{
			name: "timeout text",
			body: "cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received",
			want: parsedView{Shape: ShapeText, Message: "cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received", Transport: true},
		},
		{
			name: "validation results legacy v1",
			body: `{"validationResults":[{"isValid":false,"message":"Property \"foo\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"foo"}],"status":"error","message":"Property values were not valid"}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", Message: "Property values were not valid", Fields: []string{"foo"}, DetailCodes: []string{"PROPERTY_DOESNT_EXIST"}},
		},
		{
			name: "property list inside the message",
			body: `{"message":"Property values were not valid: [{\"isValid\":false,\"error\":\"INVALID_ALPHA\",\"name\":\"firstname\"}]","category":"VALIDATION_ERROR"}`,
			want: parsedView{Shape: ShapeJSON, Category: "VALIDATION_ERROR", Message: `Property values were not valid: [{"isValid":false,"error":"INVALID_ALPHA","name":"firstname"}]`, Fields: []string{"firstname"}},
		},
		{
			name: "object type HubSpot cannot infer",
			body: `{"status":"error","message":"Unable to infer object type from: appointments"}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", Message: "Unable to infer object type from: appointments", ObjectType: "appointments"},
		},
		{
			name:    "correlation id from headers in any case",
			status:  500,
			body:    "",
			headers: map[string]string{"X-HUBSPOT-CORRELATION-ID": "hdr"},
			want:    parsedView{HTTPStatus: 500, CorrelationID: "hdr"},
		},
		{
			name:   "malformed JSON is kept as text",
			status: 400,
			body:   `{"status":"error","message":`,
			want:   parsedView{HTTPStatus: 400, Shape: ShapeText, Message: `{"status":"error","message":`},
		},
		{
			name:   "out-of-range status is unknown",
			status: 999,
			body:   "oops",
			want:   parsedView{Shape: ShapeText, Message: "oops"},
		},
		{
			name: "Guzzle's text names the method, URL and status; the truncated body is text",
			body: "[403] Client error: `GET https://api.hubapi.com/crm/v3/objects/contacts?limit=10&hapikey=secret` resulted in a `403 Forbidden` response:\n{\"status\":\"error\",\"message\":\"This app hasn't been gran (truncated...)",
			want: parsedView{HTTPStatus: 403, Shape: ShapeText, RequestMethod: "GET", RequestPath: "/crm/v3/objects/contacts", Credential: CredentialHintHapikey,
				Message: "[403] Client error: `GET https://api.hubapi.com/crm/v3/objects/contacts?limit=10&hapikey=[redacted]` resulted in a `403 Forbidden` response: {\"status\":\"error\",\"message\":\"This app hasn't been gran (truncated...)"},
		},
		{
			name: "Python requests names the status and URL, not the method",
			body: "requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://api-eu1.hubapi.com/crm/v3/objects/deals/search",
			want: parsedView{HTTPStatus: 403, Shape: ShapeText, RequestPath: "/crm/v3/objects/deals/search",
				Message: "requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://api-eu1.hubapi.com/crm/v3/objects/deals/search"},
		},
		{
			name: "Spring's text names the method, URL and a quoted body",
			body: `403 Forbidden on POST request for "https://api.hubapi.com/crm/v3/objects/deals": "{"status":"error","message":"m","category":"MISSING_SCOPES"}"`,
			want: parsedView{HTTPStatus: 403, Shape: ShapeJSON, Envelope: "embedded", Status: "error", Category: "MISSING_SCOPES", Message: "m",
				RequestMethod: "POST", RequestPath: "/crm/v3/objects/deals"},
		},
		{
			name: "Feign's text names the method in brackets",
			body: `feign.FeignException$Unauthorized: [401 Unauthorized] during [GET] to [https://api.hubapi.com/crm/v3/owners/7] [Client#owner(Long)]: []`,
			want: parsedView{HTTPStatus: 401, Shape: ShapeText, RequestMethod: "GET", RequestPath: "/crm/v3/owners/7",
				Message: `feign.FeignException$Unauthorized: [401 Unauthorized] during [GET] to [https://api.hubapi.com/crm/v3/owners/7] [Client#owner(Long)]: []`},
		},
		{
			name: "a logged request object names the method apart from the URL",
			body: "{ url: 'https://api.hubapi.com/crm/v3/objects/companies', method: 'patch' } Request failed with status code 409",
			want: parsedView{HTTPStatus: 409, Shape: ShapeText, RequestMethod: "PATCH", RequestPath: "/crm/v3/objects/companies",
				Message: "{ url: 'https://api.hubapi.com/crm/v3/objects/companies', method: 'patch' } Request failed with status code 409"},
		},
		{
			name: "a dumped request line and host",
			body: "_header: 'DELETE /crm/v3/objects/contacts/5 HTTP/1.1\\r\\nHost: api.hubapi.com' statusCode: 404",
			want: parsedView{HTTPStatus: 404, Shape: ShapeText, RequestMethod: "DELETE", RequestPath: "/crm/v3/objects/contacts/5",
				Message: "_header: 'DELETE /crm/v3/objects/contacts/5 HTTP/1.1\\r\\nHost: api.hubapi.com' statusCode: 404"},
		},
		{
			name: "URLs on other hosts name no endpoint",
			body: "Read more: https://developers.hubspot.com/scopes and https://api.hubapi.com.evil.example/crm/v3/objects/contacts",
			want: parsedView{Shape: ShapeText, Message: "Read more: https://developers.hubspot.com/scopes and https://api.hubapi.com.evil.example/crm/v3/objects/contacts"},
		},
		{
			name: ".NET's HttpClient text names the status",
			body: "System.Net.Http.HttpRequestException: Response status code does not indicate success: 401 (Unauthorized).",
			want: parsedView{HTTPStatus: 401, Shape: ShapeText, Message: "System.Net.Http.HttpRequestException: Response status code does not indicate success: 401 (Unauthorized)."},
		},
		{
			name: "a bare reason phrase names the status",
			body: "Error: Forbidden",
			want: parsedView{HTTPStatus: 403, Shape: ShapeText, Message: "Error: Forbidden"},
		},
		{
			name: "a token endpoint status written into text",
			body: "Error: 400 BAD_REFRESH_TOKEN",
			want: parsedView{HTTPStatus: 400, Shape: ShapeText, Status: "BAD_REFRESH_TOKEN", Message: "Error: 400 BAD_REFRESH_TOKEN"},
		},
		{
			name: "an RFC 6749 error code written into text",
			body: "OAuthError: invalid_grant (refresh failed)",
			want: parsedView{Shape: ShapeText, OAuthError: "invalid_grant", Credential: CredentialHintOAuth, Message: "OAuthError: invalid_grant (refresh failed)"},
		},
		{
			name: "expiresAt and now in an oauth-token expiry message",
			body: `{"status":"error","message":"This oauth-token is expired! expiresAt: 1643194402611, now: 1643972072320","category":"EXPIRED_AUTHENTICATION"}`,
			want: parsedView{Shape: ShapeJSON, Status: "error", Category: "EXPIRED_AUTHENTICATION", Credential: CredentialHintOAuth,
				Message:   "This oauth-token is expired! expiresAt: 1643194402611, now: 1643972072320",
				ExpiredAt: time.UnixMilli(1643194402611).UTC(), ReportedAt: time.UnixMilli(1643972072320).UTC()},
		},
		{
			name: "expiry times a Timestamp cannot carry are dropped",
			body: `{"message":"This oauth-token is expired! expiresAt: 9999999999999999, now: 1","context":{"expire time":["0000-01-01T00:00:00Z"]}}`,
			want: parsedView{Shape: ShapeJSON, Credential: CredentialHintOAuth, Message: "This oauth-token is expired! expiresAt: 9999999999999999, now: 1",
				ReportedAt: time.UnixMilli(1).UTC()},
		},
		{
			name: "values of unexpected types do not stop the rest",
			body: `{"status":500,"message":{"nested":true},"correlationId":42,"category":"CONFLICT","errors":"nope","context":[1,2]}`,
			want: parsedView{HTTPStatus: 500, Shape: ShapeJSON, Category: "CONFLICT", Message: `{"nested":true}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := view(Parse(tt.status, tt.body, tt.headers))
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRateLimitHeaders(t *testing.T) {
	t.Parallel()
	p := Parse(429, "", map[string]string{
		"x-hubspot-ratelimit-max":                   "100",
		"X-HubSpot-RateLimit-Remaining":             "0",
		"X-HUBSPOT-RATELIMIT-INTERVAL-MILLISECONDS": "10000",
		"X-HubSpot-RateLimit-Daily":                 "not a number",
		"Retry-After":                               " 7 ",
	})
	want := RateLimit{Max: 100, Remaining: 0, IntervalMS: 10000, DailyRemaining: -1, RetryAfter: "7", HeadersSeen: true}
	if diff := cmp.Diff(want, p.RateLimit); diff != "" {
		t.Errorf("RateLimit mismatch (-want +got):\n%s", diff)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"private-app token", "token pat-na1-11111111-2222-3333-4444-555555555555 refused", nil, "token [redacted] refused"},
		{"bearer header", "Authorization: Bearer CJSP5qf1KhICAQEYs", nil, "Authorization: Bearer [redacted]"},
		{"query secrets", "PUT /x?hapikey=abc-123&limit=5&refresh_token=zzz", nil, "PUT /x?hapikey=[redacted]&limit=5&refresh_token=[redacted]"},
		{"credential in parentheses", "This oauth-token (CN3x details) does not have proper permissions!", nil, "This oauth-token ([redacted]) does not have proper permissions!"},
		{"long opaque run", "token COjq1234567890abcdefghijklmnopqrstuvwxyzABCDEFG expired", nil, "token [redacted] expired"},
		{"caller secret", "used secret-value-42 here", []string{"secret-value-42"}, "used [redacted] here"},
		{"short secrets are ignored", "abc", []string{"abc"}, "abc"},
		{"uuids, scopes and urls survive", "id 2dea5219-07f2-40ce-82ec-9c2e302317a4 needs crm.objects.deals.highly_sensitive.read.v2 see https://developers.hubspot.com/docs/methods/auth/oauth-overview", nil,
			"id 2dea5219-07f2-40ce-82ec-9c2e302317a4 needs crm.objects.deals.highly_sensitive.read.v2 see https://developers.hubspot.com/docs/methods/auth/oauth-overview"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, redact(tt.in, tt.secrets)); diff != "" {
				t.Errorf("redact() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseHugeInputsStayBounded(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	bodies := map[string]string{
		"braces":          strings.Repeat("{", mib),
		"nested arrays":   strings.Repeat("[", mib),
		"scope lists":     strings.Repeat("requires any of [a.b, c.d] ", mib/27),
		"long message":    `{"message":"` + strings.Repeat("x", mib-20) + `"}`,
		"many errors":     `{"errors":[` + strings.Repeat(`{"message":"m","context":{"requiredScopes":["a"]}},`, mib/60) + `{}]}`,
		"html":            "<html><title>" + strings.Repeat("t", mib) + "</title>",
		"json strings":    strings.Repeat(`"\"`, mib/3),
		"node sdk":        "HTTP-Code: 403\nBody: " + strings.Repeat("{", mib),
		"embedded braces": "error " + strings.Repeat("{x ", mib/3),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := Parse(0, body, nil)
			if len(p.Message) > maxMessageLen+len("…") {
				t.Errorf("message kept %d bytes", len(p.Message))
			}
			if len(p.Details) > maxDetails || len(p.RequiredScopes) > maxScopes {
				t.Errorf("kept %d details and %d scopes", len(p.Details), len(p.RequiredScopes))
			}
			if r := Explain(Input{Parsed: p}); r.GetSummary() == "" {
				t.Error("no summary")
			}
		})
	}
}
