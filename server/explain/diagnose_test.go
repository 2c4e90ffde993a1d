package explain

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// answerView is the part of an answer a diagnosis table test compares.
type answerView struct {
	RootCause     scopeguardv1.RootCause
	Confidence    scopeguardv1.Confidence
	Endpoint      string
	MissingScopes []string
}

func answer(r *scopeguardv1.ExplainErrorResponse) answerView {
	v := answerView{RootCause: r.GetRootCause(), Confidence: r.GetConfidence(), MissingScopes: r.GetMissingScopes()}
	if ep := r.GetEndpoint(); ep != nil {
		v.Endpoint = ep.GetMethod() + " " + ep.GetPath()
	}
	return v
}

const (
	stated   = scopeguardv1.Confidence_CONFIDENCE_STATED
	inferred = scopeguardv1.Confidence_CONFIDENCE_INFERRED
	guess    = scopeguardv1.Confidence_CONFIDENCE_GUESS
)

// TestClientLibraryTexts: the texts client libraries wrap HubSpot's answer
// in, pasted without a status or an endpoint, are read for their root cause
// and the call they name. The corpus holds the shapes seen in public
// threads; these are the other libraries' documented formats.
func TestClientLibraryTexts(t *testing.T) {
	t.Parallel()
	const notGranted = `"message":"This app hasn't been granted all required scopes to make this call."`
	tests := []struct {
		name string
		body string
		want answerView
	}{
		{
			name: "PHP SDK / Guzzle 401 with a truncated body",
			body: "HubSpot\\Client\\Crm\\Contacts\\ApiException: [401] Client error: `GET https://api.hubapi.com/crm/v3/objects/contacts?limit=10` resulted in a `401 Unauthorized` response:\n{\"status\":\"error\",\"message\":\"Authentication credentials not found. This API supports OAuth 2.0 authentication and you (truncated...)",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_INVALID, Confidence: stated, Endpoint: "GET /crm/v3/objects/contacts"},
		},
		{
			name: "Guzzle 429 with a truncated body",
			body: "Client error: `POST https://api.hubapi.com/crm/v3/objects/contacts` resulted in a `429 Too Many Requests` response:\n{\"status\":\"error\",\"message\":\"You have reached your ten_secondly_rolling limit.\",\"errorType\":\"RATE_LIMIT\" (truncated...)",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_RATE_LIMITED, Confidence: stated, Endpoint: "POST /crm/v3/objects/contacts"},
		},
		{
			name: "Spring RestTemplate 403 with the body quoted",
			body: `org.springframework.web.client.HttpClientErrorException$Forbidden: 403 Forbidden on GET request for "https://api.hubapi.com/crm/v3/owners/": "{"status":"error",` + notGranted + `,"errors":[{"message":"One or more of the following scopes are required.","context":{"requiredScopes":["contacts"]}}],"category":"MISSING_SCOPES"}"`,
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: stated, Endpoint: "GET /crm/v3/owners/", MissingScopes: []string{"contacts"}},
		},
		{
			name: "Feign 401 with the body in brackets",
			body: `feign.FeignException$Unauthorized: [401 Unauthorized] during [GET] to [https://api.hubapi.com/crm/v3/objects/contacts] [HubSpotClient#contacts()]: [{"status":"error","message":"The OAuth token used to make this call expired 10 minute(s) ago.","category":"EXPIRED_AUTHENTICATION"}]`,
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_EXPIRED, Confidence: stated, Endpoint: "GET /crm/v3/objects/contacts"},
		},
		{
			name: "Ruby SDK 403",
			body: "Hubspot::Crm::Contacts::ApiError: Error message: the server returns an error\nHTTP status code: 403\nResponse headers: {\"date\"=>\"Mon\"}\nResponse body: {\"status\":\"error\"," + notGranted + ",\"category\":\"MISSING_SCOPES\"}",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: stated},
		},
		{
			name: "Python SDK 401, expired",
			body: "(401)\nReason: Unauthorized\nHTTP response headers: HTTPHeaderDict({'Date': 'Mon'})\nHTTP response body: {\"status\":\"error\",\"message\":\"The OAuth token used to make this call expired 3 hour(s) ago.\",\"category\":\"EXPIRED_AUTHENTICATION\"}",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_EXPIRED, Confidence: stated},
		},
		{
			name: "Node SDK 429",
			body: "HTTP-Code: 429\nMessage: An error occurred.\nBody: {\"status\":\"error\",\"message\":\"You have reached your secondly limit.\",\"errorType\":\"RATE_LIMIT\",\"policyName\":\"SECONDLY\"}",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_RATE_LIMITED, Confidence: stated},
		},
		{
			name: ".NET HttpClient 401 without a body",
			body: "System.Net.Http.HttpRequestException: Response status code does not indicate success: 401 (Unauthorized).",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_INVALID, Confidence: inferred},
		},
		{
			name: "axios 403 without a body",
			body: "AxiosError: Request failed with status code 403",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: guess},
		},
		{
			name: "Spring 400 from the token endpoint with the legacy body",
			body: `400 Bad Request on POST request for "https://api.hubapi.com/oauth/v1/token": "{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token"}"`,
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_REFRESH_TOKEN_INVALID, Confidence: stated, Endpoint: "POST /oauth/v1/token"},
		},
		{
			name: "a connector's access-denied text with the URL",
			body: "HubspotAccessDenied: The authenticated user does not have permissions to access the URL https://api.hubapi.com/crm/v3/objects/tickets. Verify your permissions to access this endpoint.",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: stated, Endpoint: "GET /crm/v3/objects/tickets"},
		},
		{
			name: "a connector's invalid-credentials text",
			body: "The user cannot be authorized with provided credentials. Please verify that your credentials are valid and try again.",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_INVALID, Confidence: stated},
		},
		{
			name: "DNS failure before HubSpot answered",
			body: "Error: getaddrinfo ENOTFOUND api.hubapi.com",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_UPSTREAM_UNAVAILABLE, Confidence: inferred},
		},
		{
			name: "a CDN's 403 page is not a missing scope",
			body: "<html><head><title>403 Forbidden</title></head><body><center>cloudflare</center></body></html>",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN, Confidence: guess},
		},
		{
			name: "a category written bare, as Java's toString does",
			body: "HubSpotError(status=error, message=This app hasn't been granted all required scopes to make this call., category=MISSING_SCOPES, errors=[{message=One or more of the following scopes are required., context={requiredGranularScopes=[crm.objects.deals.read]}}])",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: stated, MissingScopes: []string{"crm.objects.deals.read"}},
		},
		{
			name: "an access token's expiry in a connector's words",
			body: "HubSpot sync failed: access token has expired",
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_EXPIRED, Confidence: stated},
		},
		{
			name: "invalid hapikey",
			body: `{"status":"error","message":"Invalid hapikey"}`,
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_WRONG_CREDENTIAL_TYPE, Confidence: inferred},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Explain(Input{Body: tt.body})
			if diff := cmp.Diff(tt.want, answer(r), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("answer mismatch (-want +got):\n%s\nsummary: %s", diff, r.GetSummary())
			}
		})
	}
}

// TestCatalogOverMessage: when the token holds every scope HubSpot names
// but none of the catalog's alternatives, the catalog decides; HubSpot's
// "granted, yet refused" reading stands only where the catalog agrees the
// grant suffices, or does not know the endpoint.
func TestCatalogOverMessage(t *testing.T) {
	t.Parallel()
	missingScopes := func(req string, scopes ...string) string {
		return `{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","errors":[{"message":"` + req +
			` of the following scopes are required.","context":{"requiredGranularScopes":["` + strings.Join(scopes, `","`) + `"]}}],"category":"MISSING_SCOPES"}`
	}
	owners := &EndpointFacts{Operation: &scopeguardv1.Operation{Method: "GET", PathTemplate: "/crm/v3/owners"}, Alternatives: [][]string{{"crm.objects.owners.read"}, {"automation"}}}
	lineItems := &EndpointFacts{Operation: &scopeguardv1.Operation{Method: "POST", PathTemplate: "/crm/v3/objects/line_items", ObjectType: "line_items"},
		Alternatives: [][]string{{"crm.objects.line_items.write", "e-commerce"}}}
	audit := &EndpointFacts{Operation: &scopeguardv1.Operation{Method: "GET", PathTemplate: "/account-info/v3/activity/audit-logs"}, Alternatives: [][]string{{"account-info.security.read"}}}
	tests := []struct {
		name       string
		body       string
		granted    []string
		catalog    *EndpointFacts
		want       answerView
		inSummary  []string
		notSummary []string
	}{
		{
			name: "ALL_OF held, the catalog needs an AND pair: not granted, the message misleads",
			body: missingScopes("All", "crm.objects.line_items.write"), granted: []string{"crm.objects.line_items.write"}, catalog: lineItems,
			want:      answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: inferred, MissingScopes: []string{"e-commerce"}},
			inSummary: []string{"misleads", "names crm.objects.line_items.write, which the token holds", "needs e-commerce"},
		},
		{
			name: "legacy coarse scope held: not granted, naming both",
			body: missingScopes("One or more", "contacts"), granted: []string{"contacts"}, catalog: owners,
			want:      answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: inferred, MissingScopes: []string{"crm.objects.owners.read"}},
			inSummary: []string{"names contacts, which the token holds", "crm.objects.owners.read", "coarse"},
		},
		{
			name: "the catalog agrees the grant suffices: granted but forbidden",
			body: missingScopes("All", "account-info.security.read"), granted: []string{"account-info.security.read"}, catalog: audit,
			want:       answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN, Confidence: inferred},
			notSummary: []string{"misleads"},
		},
		{
			name: "unknown endpoint: HubSpot's list is all there is",
			body: missingScopes("All", "crm.objects.line_items.write"), granted: []string{"crm.objects.line_items.write"},
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN, Confidence: inferred},
		},
		{
			name: "grant unknown: HubSpot's claim, the scopes not checked",
			body: missingScopes("All", "account-info.security.read"), catalog: audit,
			want:      answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: stated, MissingScopes: []string{"account-info.security.read"}},
			inSummary: []string{"not checked"}, notSummary: []string{"The token lacks"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Explain(Input{HTTPStatus: 403, Body: tt.body, GrantedScopes: tt.granted, GrantedKnown: tt.granted != nil, Catalog: tt.catalog})
			if diff := cmp.Diff(tt.want, answer(r), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("answer mismatch (-want +got):\n%s\nsummary: %s", diff, r.GetSummary())
			}
			for _, s := range tt.inSummary {
				if !strings.Contains(r.GetSummary(), s) {
					t.Errorf("summary %q does not say %q", r.GetSummary(), s)
				}
			}
			for _, s := range tt.notSummary {
				if strings.Contains(r.GetSummary(), s) {
					t.Errorf("summary %q says %q", r.GetSummary(), s)
				}
			}
		})
	}
}

// TestBare403: a 403 with no usable body is a likely missing scope; how
// firmly depends on what is known about the endpoint and the grant.
func TestBare403(t *testing.T) {
	t.Parallel()
	contacts := &EndpointFacts{Operation: &scopeguardv1.Operation{Method: "GET", PathTemplate: "/crm/v3/objects/contacts"}, Alternatives: [][]string{{"crm.objects.contacts.read"}}}
	noScope := &EndpointFacts{Operation: &scopeguardv1.Operation{Method: "GET", PathTemplate: "/integrations/v1/me"}}
	tests := []struct {
		name    string
		body    string
		granted []string
		catalog *EndpointFacts
		want    answerView
	}{
		{name: "nothing known", want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: guess}},
		{name: "endpoint known, grant not", catalog: contacts,
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: guess, MissingScopes: []string{"crm.objects.contacts.read"}}},
		{name: "endpoint and grant known, lacking", catalog: contacts, granted: []string{"oauth"},
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, Confidence: inferred, MissingScopes: []string{"crm.objects.contacts.read"}}},
		{name: "endpoint and grant known, holding", catalog: contacts, granted: []string{"crm.objects.contacts.read"},
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN, Confidence: inferred}},
		{name: "an endpoint that needs no scope", catalog: noScope,
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN, Confidence: guess}},
		{name: "HubSpot says why in words", body: `{"status":"error","message":"This resource is private to its owner."}`,
			want: answerView{RootCause: scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN, Confidence: guess}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Explain(Input{HTTPStatus: 403, Body: tt.body, GrantedScopes: tt.granted, GrantedKnown: tt.granted != nil, Catalog: tt.catalog})
			if diff := cmp.Diff(tt.want, answer(r), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("answer mismatch (-want +got):\n%s\nsummary: %s", diff, r.GetSummary())
			}
		})
	}
}

// TestInstallRefusalURLs: an install URL quoted with an install-screen
// refusal comes back corrected: tier-bound scopes moved to optional_scope,
// legacy scopes apps can no longer request dropped.
func TestInstallRefusalURLs(t *testing.T) {
	t.Parallel()
	facts := map[string]ScopeFact{
		"oauth":                     {Kind: "granular"},
		"crm.objects.contacts.read": {Kind: "granular"},
		"contacts":                  {Kind: "coarse", TierNote: "legacy; not requestable by new public apps"},
		"automation":                {Kind: "coarse", TierNote: "Marketing Hub Professional or Enterprise"},
	}
	lookup := func(name string) (ScopeFact, bool) { f, ok := facts[name]; return f, ok }
	const url = "https://app.hubspot.com/oauth/authorize?client_id=abc&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&scope=oauth%20contacts%20automation%20crm.objects.contacts.read"
	tests := []struct {
		name    string
		body    string
		actions []scopeguardv1.Action
		wantURL string
	}{
		{
			name:    "tier: the gated scope moves to optional_scope",
			body:    "Couldn't complete the connection. This account doesn't have access to some HubSpot features that are required by this app. " + url,
			actions: []scopeguardv1.Action{scopeguardv1.Action_ACTION_REAUTHORIZE_APP, scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER},
			wantURL: "https://app.hubspot.com/oauth/authorize?client_id=abc&optional_scope=automation&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&scope=oauth%20crm.objects.contacts.read",
		},
		{
			name:    "insufficient scopes: the legacy scope is dropped",
			body:    "Insufficient scopes were provided. Please contact the app developer. " + url,
			actions: []scopeguardv1.Action{scopeguardv1.Action_ACTION_FIX_REQUEST, scopeguardv1.Action_ACTION_REAUTHORIZE_APP},
			wantURL: "https://app.hubspot.com/oauth/authorize?client_id=abc&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&scope=oauth%20automation%20crm.objects.contacts.read",
		},
		{
			name:    "role: no URL to correct",
			body:    "You do not have the correct role to grant these permissions. " + url,
			actions: []scopeguardv1.Action{scopeguardv1.Action_ACTION_CHECK_USER_PERMISSIONS},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Explain(Input{Body: tt.body, ScopeFacts: lookup})
			var actions []scopeguardv1.Action
			gotURL := ""
			for _, rem := range r.GetRemediations() {
				actions = append(actions, rem.GetAction())
				if rem.GetUrl() != "" {
					gotURL = rem.GetUrl()
				}
			}
			if diff := cmp.Diff(tt.actions, actions); diff != "" {
				t.Errorf("actions (-want +got):\n%s\nsummary: %s", diff, r.GetSummary())
			}
			if gotURL != tt.wantURL {
				t.Errorf("install URL\n got %s\nwant %s", gotURL, tt.wantURL)
			}
			if r.GetConfidence() != stated {
				t.Errorf("confidence %v, want stated", r.GetConfidence())
			}
		})
	}
}
