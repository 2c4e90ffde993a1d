package hubspottest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eshopman/scopeguard/server/hubspottest"
)

var epoch = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// tableAuthorizer is a three-endpoint stand-in for scopeguard's catalog.
func tableAuthorizer(seen chan<- hubspottest.AuthorizeRequest) hubspottest.Authorizer {
	type rule struct {
		required []string
		allOf    bool
	}
	rules := map[string]rule{
		"GET /crm/v3/objects/contacts":           {required: []string{"crm.objects.contacts.read"}},
		"GET /crm/v3/objects/partner_clients":    {required: []string{"crm.objects.partner-clients.read", "crm.objects.partner-clients.write"}},
		"GET /account-info/v3/activity/security": {required: []string{"account-info.security.read"}, allOf: true},
	}
	return func(req hubspottest.AuthorizeRequest) hubspottest.Decision {
		if seen != nil {
			seen <- req
		}
		r, ok := rules[req.Method+" "+req.Path]
		if !ok {
			return hubspottest.Decision{}
		}
		granted := func(s string) bool { return slices.Contains(req.Scopes, s) }
		allowed := slices.ContainsFunc(r.required, granted)
		if r.allOf {
			allowed = !slices.ContainsFunc(r.required, func(s string) bool { return !granted(s) })
		}
		return hubspottest.Decision{Known: true, Allowed: allowed, Required: r.required, AllOf: r.allOf}
	}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, srv *hubspottest.Server, method, path, bearer string, form url.Values) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("body %q is not JSON: %v", data, err)
		}
		delete(a.body, "correlationId")
	}
	return a
}

const missingScopesMessage = "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes."

func missingScopesBody(message string, scopes ...any) map[string]any {
	return map[string]any{
		"status": "error", "message": missingScopesMessage, "category": "MISSING_SCOPES",
		"errors": []any{map[string]any{"message": message, "context": map[string]any{"requiredGranularScopes": scopes}}},
		"links":  map[string]any{"scopes": "https://developers.hubspot.com/scopes"},
	}
}

func TestGenericAPI(t *testing.T) {
	t.Parallel()
	invalid := map[string]any{"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}
	contacts := hubspottest.Grant{HubID: 7, Scopes: []string{"crm.objects.contacts.read", "crm.objects.partner-clients.read", "account-info.security.read"}}
	tests := []struct {
		name       string
		path       string
		token      func(f *hubspottest.Server, clock *hubspottest.Clock) string
		wantStatus int
		wantBody   map[string]any
	}{
		{"granted scope", "/crm/v3/objects/contacts?limit=1",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string {
				return f.MintAccessToken(contacts, time.Time{})
			},
			200, map[string]any{"status": "ok"}},
		{"private-app token", "/crm/v3/objects/contacts",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string { return f.MintPrivateAppToken(contacts) },
			200, map[string]any{"status": "ok"}},
		{"missing any-of scope", "/crm/v3/objects/partner_clients",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string {
				return f.MintAccessToken(hubspottest.Grant{Scopes: []string{"oauth"}}, time.Time{})
			},
			403, missingScopesBody("One or more of the following scopes are required.", "crm.objects.partner-clients.read", "crm.objects.partner-clients.write")},
		{"missing all-of scope", "/account-info/v3/activity/security",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string {
				return f.MintAccessToken(hubspottest.Grant{Scopes: []string{"oauth"}}, time.Time{})
			},
			403, missingScopesBody("All of the following scopes are required.", "account-info.security.read")},
		{"unknown endpoint", "/crm/v3/objects/unicorns",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string {
				return f.MintAccessToken(contacts, time.Time{})
			},
			404, map[string]any{"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}},
		{"no token", "/crm/v3/objects/contacts",
			func(*hubspottest.Server, *hubspottest.Clock) string { return "" }, 401, invalid},
		{"unknown token", "/crm/v3/objects/contacts",
			func(*hubspottest.Server, *hubspottest.Clock) string {
				return "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OI"
			}, 401, invalid},
		{"doubled Bearer prefix", "/crm/v3/objects/contacts",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string {
				return "Bearer " + f.MintAccessToken(contacts, time.Time{})
			}, 401, invalid},
		{"refresh token as bearer", "/crm/v3/objects/contacts",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string { return f.MintRefreshToken(contacts) }, 401, invalid},
		{"revoked private-app token", "/crm/v3/objects/contacts",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string {
				token := f.MintPrivateAppToken(contacts)
				f.Revoke(token)
				return token
			}, 401, invalid},
		{"expired token", "/crm/v3/objects/contacts",
			func(f *hubspottest.Server, _ *hubspottest.Clock) string {
				return f.MintAccessToken(contacts, epoch.Add(-5*time.Minute))
			},
			401, map[string]any{
				"status": "error", "category": "EXPIRED_AUTHENTICATION",
				"message": "The OAuth token used to make this call expired 5 minute(s) ago.",
				"context": map[string]any{"expire time": []any{"2026-11-20T09:55:00.000Z"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := hubspottest.NewClock(epoch)
			srv := hubspottest.Start(t, hubspottest.Options{Now: clock.Now, Authorize: tableAuthorizer(nil)})
			got := call(t, srv, http.MethodGet, tt.path, tt.token(srv, clock), nil)
			if got.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", got.status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantBody, got.body); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
			if calls := srv.Calls(hubspottest.EndpointAPI); calls != 1 {
				t.Errorf("api calls = %d, want 1", calls)
			}
		})
	}
}

func TestAuthorizerSeesTheCall(t *testing.T) {
	t.Parallel()
	seen := make(chan hubspottest.AuthorizeRequest, 1)
	srv := hubspottest.Start(t, hubspottest.Options{Authorize: tableAuthorizer(seen)})
	token := srv.MintPrivateAppToken(hubspottest.Grant{Scopes: []string{"b", "a"}})
	call(t, srv, http.MethodGet, "/crm/v3/objects/contacts?archived=false", token, nil)
	want := hubspottest.AuthorizeRequest{Method: "GET", Path: "/crm/v3/objects/contacts", Scopes: []string{"b", "a"}, PrivateApp: true}
	if diff := cmp.Diff(want, <-seen); diff != "" {
		t.Errorf("authorize request mismatch (-want +got):\n%s", diff)
	}
}

// TestForbidDespiteScopes reproduces the seed puzzle: the token holds the
// scope, HubSpot still answers 403 MISSING_SCOPES.
func TestForbidDespiteScopes(t *testing.T) {
	t.Parallel()
	srv := hubspottest.Start(t, hubspottest.Options{Authorize: tableAuthorizer(nil)})
	srv.ForbidDespiteScopes("GET", "/account-info/v3/activity/")
	srv.ForbidDespiteScopes("", "/crm/v3/objects/partner_clients")
	token := srv.MintAccessToken(hubspottest.Grant{Scopes: []string{"account-info.security.read", "crm.objects.partner-clients.read", "crm.objects.contacts.read"}}, time.Time{})
	tests := []struct {
		path string
		want answer
	}{
		{"/account-info/v3/activity/security", answer{status: 403, body: missingScopesBody("All of the following scopes are required.", "account-info.security.read")}},
		{"/crm/v3/objects/partner_clients", answer{status: 403, body: missingScopesBody("One or more of the following scopes are required.",
			"crm.objects.partner-clients.read", "crm.objects.partner-clients.write")}},
		{"/crm/v3/objects/contacts", answer{status: 200, body: map[string]any{"status": "ok"}}},
	}
	for _, tt := range tests {
		got := call(t, srv, http.MethodGet, tt.path, token, nil)
		if got.status != tt.want.status {
			t.Errorf("%s: status = %d, want %d", tt.path, got.status, tt.want.status)
		}
		if diff := cmp.Diff(tt.want.body, got.body); diff != "" {
			t.Errorf("%s: body mismatch (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := hubspottest.NewClock(epoch)
	srv := hubspottest.Start(t, hubspottest.Options{Now: clock.Now, Authorize: tableAuthorizer(nil)})
	srv.SetRateLimit(hubspottest.RateLimit{Max: 2, Daily: 3})
	grant := hubspottest.Grant{HubID: 7, AppID: 1, Scopes: []string{"crm.objects.contacts.read"}}
	oauth := srv.MintAccessToken(grant, epoch.Add(time.Hour))
	headers := func(a answer, names ...string) map[string]string {
		out := map[string]string{}
		for _, n := range names {
			if v := a.header.Get(n); v != "" {
				out[n] = v
			}
		}
		return out
	}
	names := []string{"X-HubSpot-RateLimit-Max", "X-HubSpot-RateLimit-Remaining", "X-HubSpot-RateLimit-Interval-Milliseconds",
		"X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining", "Retry-After"}
	steps := []struct {
		name    string
		token   string
		advance time.Duration
		status  int
		headers map[string]string
		body    map[string]any
	}{
		{"first oauth call", oauth, 0, 200, map[string]string{"X-HubSpot-RateLimit-Max": "2", "X-HubSpot-RateLimit-Remaining": "1",
			"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, map[string]any{"status": "ok"}},
		{"second oauth call", oauth, 4 * time.Second, 200, map[string]string{"X-HubSpot-RateLimit-Max": "2", "X-HubSpot-RateLimit-Remaining": "0",
			"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, map[string]any{"status": "ok"}},
		{"third call inside the window", oauth, time.Second, 429, map[string]string{"X-HubSpot-RateLimit-Max": "2", "X-HubSpot-RateLimit-Remaining": "0",
			"X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "Retry-After": "5"},
			map[string]any{"status": "error", "category": "RATE_LIMITS", "policyName": "TEN_SECONDLY_ROLLING", "message": "You have reached your ten_secondly_rolling limit."}},
		{"after the first call leaves the window", oauth, 5 * time.Second, 200, map[string]string{"X-HubSpot-RateLimit-Max": "2", "X-HubSpot-RateLimit-Remaining": "0",
			"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, map[string]any{"status": "ok"}},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		got := call(t, srv, http.MethodGet, "/crm/v3/objects/contacts", s.token, nil)
		if got.status != s.status {
			t.Errorf("%s: status = %d, want %d", s.name, got.status, s.status)
		}
		if diff := cmp.Diff(s.headers, headers(got, names...)); diff != "" {
			t.Errorf("%s: headers mismatch (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.body, got.body); diff != "" {
			t.Errorf("%s: body mismatch (-want +got):\n%s", s.name, diff)
		}
	}

	// Private-app calls also count against a daily limit, with its headers.
	srv.SetRateLimit(hubspottest.RateLimit{Daily: 1})
	private := srv.MintPrivateAppToken(hubspottest.Grant{HubID: 8, AppID: 2, Scopes: []string{"crm.objects.contacts.read"}})
	first := call(t, srv, http.MethodGet, "/crm/v3/objects/contacts", private, nil)
	second := call(t, srv, http.MethodGet, "/crm/v3/objects/contacts", private, nil)
	if first.status != 200 || first.header.Get("X-HubSpot-RateLimit-Daily-Remaining") != "0" {
		t.Errorf("first private call: %d, daily remaining %q; want 200, 0", first.status, first.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))
	}
	if second.status != 429 || second.body["policyName"] != "DAILY" || second.header.Get("Retry-After") == "" {
		t.Errorf("second private call: %d %v; want 429 DAILY with Retry-After", second.status, second.body)
	}
	if h := call(t, srv, http.MethodGet, "/crm/v3/objects/contacts", oauth, nil).header.Get("X-HubSpot-RateLimit-Daily"); h != "" {
		t.Errorf("OAuth call got daily header %q, want none (OAuth has no daily cap)", h)
	}
}

func TestOAuthFlows(t *testing.T) {
	t.Parallel()
	clock := hubspottest.NewClock(epoch)
	srv := hubspottest.Start(t, hubspottest.Options{Now: clock.Now})
	srv.AddApp(hubspottest.App{ClientID: "cid", ClientSecret: "csecret", AppID: 3})
	grant := hubspottest.Grant{ClientID: "cid", HubID: 7, UserID: 9, User: "u@shop.example", HubDomain: "shop.example", Scopes: []string{"oauth"}}
	client := url.Values{"client_id": {"cid"}, "client_secret": {"csecret"}}
	with := func(extra ...string) url.Values {
		form := url.Values{}
		for k, v := range client {
			form[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return form
	}

	code := srv.MintAuthCode(grant)
	exchanged := call(t, srv, http.MethodPost, "/oauth/2026-03/token", "", with("grant_type", "authorization_code", "code", code, "redirect_uri", "https://x"))
	if exchanged.status != 200 || exchanged.body["token_use"] != "access_token" || exchanged.body["expires_in"] != float64(1800) {
		t.Fatalf("code exchange = %d %v", exchanged.status, exchanged.body)
	}
	refresh, ok := exchanged.body["refresh_token"].(string)
	if !ok {
		t.Fatalf("code exchange gave no refresh token: %v", exchanged.body)
	}

	tests := []struct {
		name   string
		method string
		path   string
		form   url.Values
		status int
		body   map[string]any
	}{
		{"code reuse (v1 legacy shape)", "POST", "/oauth/v1/token", with("grant_type", "authorization_code", "code", code), 400,
			map[string]any{"status": "BAD_AUTH_CODE", "message": "missing or unknown auth code"}},
		{"unsupported grant (2026-03 shape)", "POST", "/oauth/2026-03/token", with("grant_type", "password"), 400,
			map[string]any{"status": "BAD_GRANT_TYPE", "message": "unsupported grant_type", "error": "unsupported_grant_type", "error_description": "unsupported grant_type"}},
		{"unknown client", "POST", "/oauth/v1/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"x"}}, 400,
			map[string]any{"status": "BAD_CLIENT_ID", "message": "missing or invalid client id or secret"}},
		{"refresh token info", "GET", "/oauth/v1/refresh-tokens/" + refresh, nil, 200,
			map[string]any{"token": refresh, "user": "u@shop.example", "hub_domain": "shop.example", "scopes": []any{"oauth"},
				"hub_id": float64(7), "client_id": "cid", "user_id": float64(9), "token_type": "refresh"}},
		{"v1 revoke", "DELETE", "/oauth/v1/refresh-tokens/" + refresh, nil, 204, nil},
		{"refresh after revoke", "POST", "/oauth/2026-03/token", with("grant_type", "refresh_token", "refresh_token", refresh), 400,
			map[string]any{"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token", "error": "invalid_grant",
				"error_description": "missing or invalid refresh token"}},
		{"revoke twice", "DELETE", "/oauth/v1/refresh-tokens/" + refresh, nil, 400,
			map[string]any{"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}},
	}
	for _, tt := range tests {
		got := call(t, srv, tt.method, tt.path, "", tt.form)
		if got.status != tt.status {
			t.Errorf("%s: status = %d, want %d", tt.name, got.status, tt.status)
		}
		if diff := cmp.Diff(tt.body, got.body); diff != "" {
			t.Errorf("%s: body mismatch (-want +got):\n%s", tt.name, diff)
		}
	}

	other := srv.MintRefreshToken(grant)
	if got := call(t, srv, "POST", "/oauth/2026-03/token/revoke", "", with("token", other)); got.status != 200 {
		t.Errorf("2026-03 revoke status = %d, want 200", got.status)
	}
	if got := call(t, srv, "POST", "/oauth/v1/token", "", with("grant_type", "refresh_token", "refresh_token", other)); got.status != 400 {
		t.Errorf("refresh after 2026-03 revoke status = %d, want 400", got.status)
	}

	expiring := srv.MintAuthCode(grant)
	clock.Advance(11 * time.Minute)
	got := call(t, srv, "POST", "/oauth/v1/token", "", with("grant_type", "authorization_code", "code", expiring))
	if got.status != 400 || got.body["status"] != "EXPIRED_AUTH_CODE" {
		t.Errorf("expired code = %d %v, want 400 EXPIRED_AUTH_CODE", got.status, got.body)
	}
}

func TestFaultsApplyInOrder(t *testing.T) {
	t.Parallel()
	srv := hubspottest.Start(t, hubspottest.Options{})
	srv.InjectFault(hubspottest.EndpointRefreshTokenInfo, hubspottest.Fault{Status: 503, Times: 1})
	srv.InjectFault(hubspottest.EndpointRefreshTokenInfo, hubspottest.Fault{Status: 429, RetryAfter: "2", Times: 1})
	srv.InjectFault(hubspottest.AnyEndpoint, hubspottest.Fault{Status: 500, Times: 1})
	srv.InjectFault(hubspottest.EndpointRefreshTokenInfo, hubspottest.Fault{SlowBody: 10 * time.Millisecond, Times: 1})
	token := srv.MintRefreshToken(hubspottest.Grant{ClientID: "c", Scopes: []string{"oauth"}})
	path := "/oauth/v1/refresh-tokens/" + token
	var statuses []int
	for range 5 {
		a := call(t, srv, "GET", path, "", nil)
		statuses = append(statuses, a.status)
		if a.status == 429 && (a.header.Get("Retry-After") != "2" || a.body["category"] != "RATE_LIMITS") {
			t.Errorf("429 answer = %v %v, want Retry-After 2 and a RATE_LIMITS body", a.header, a.body)
		}
	}
	if diff := cmp.Diff([]int{503, 429, 200, 500, 200}, statuses); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	if got := srv.Calls(hubspottest.EndpointRefreshTokenInfo); got != 5 {
		t.Errorf("calls = %d, want 5", got)
	}
	if reqs := srv.Requests(hubspottest.EndpointRefreshTokenInfo); len(reqs) != 5 || reqs[0].Path != path || reqs[0].Version != "v1" {
		t.Errorf("requests = %d, first %+v", len(reqs), reqs)
	}
	srv.ResetCalls()
	srv.InjectFault(hubspottest.AnyEndpoint, hubspottest.Fault{Status: 502})
	srv.ClearFaults()
	if a := call(t, srv, "GET", path, "", nil); a.status != 200 || srv.Calls(hubspottest.EndpointRefreshTokenInfo) != 1 {
		t.Errorf("after ClearFaults and ResetCalls: status %d, calls %d; want 200, 1", a.status, srv.Calls(hubspottest.EndpointRefreshTokenInfo))
	}
}
