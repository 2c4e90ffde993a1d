package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/explain"
	"github.com/eshopman/scopeguard/server/explain/explaintest"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
	"github.com/eshopman/scopeguard/server/tokens"
)

// explainEnv is scopeguard with its clock stopped at now, introspecting
// tokens against a fake HubSpot that shares the clock, knows the OAuth app
// of testAppsYAML and decides API calls from the catalog.
type explainEnv struct {
	*testServer
	fake *hubspottest.Server
}

// newExplainEnv starts the fake and the service. appsYAML configures the
// service's apps (none when empty); the fake always knows the app; adjust
// changes the HubSpot client's options.
func newExplainEnv(t *testing.T, now time.Time, appsYAML string, adjust ...func(*hubspot.Options)) *explainEnv {
	t.Helper()
	clock := func() time.Time { return now }
	fake := hubspottest.Start(t, hubspottest.Options{Now: clock, Authorize: hubspottest.CatalogAuthorizer(catalog.Default())})
	fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	var apps *tokens.Apps
	if appsYAML != "" {
		var err error
		if apps, err = tokens.ParseApps([]byte(appsYAML), func(string) (string, bool) { return "", false }); err != nil {
			t.Fatalf("ParseApps: %v", err)
		}
	}
	ts := startServer(t, func(log *slog.Logger, m *server.Metrics) scopeguardv1.ScopeGuardServiceServer {
		opts := hubspot.Options{
			BaseURL:    fake.URL,
			HTTPClient: fake.Client(),
			Logger:     log,
			Now:        clock,
			// One quick retry: HubSpot failures are exercised, not waited for.
			Retry: hubspot.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		}
		for _, f := range adjust {
			f(&opts)
		}
		client, err := hubspot.New(opts)
		if err != nil {
			t.Fatalf("hubspot.New: %v", err)
		}
		introspector, err := tokens.NewIntrospector(tokens.IntrospectorOptions{Client: client, Now: clock})
		if err != nil {
			t.Fatalf("NewIntrospector: %v", err)
		}
		return server.NewService(server.Deps{
			Catalog:      catalog.Default(),
			Introspector: introspector,
			Apps:         apps,
			Metrics:      m,
			Log:          log,
			Now:          clock,
		})
	})
	return &explainEnv{testServer: ts, fake: fake}
}

// mint issues a token holding scopes on the fake: a private-app token for
// private apps, else an OAuth access token of the configured app.
func (e *explainEnv) mint(app scopeguardv1.AppType, scopes []string) string {
	g := hubspottest.Grant{HubID: 123456, UserID: 77, User: "admin@shop.example", Scopes: scopes}
	if app == scopeguardv1.AppType_APP_TYPE_PRIVATE {
		return e.fake.MintPrivateAppToken(g)
	}
	g.ClientID = testClientID
	return e.fake.MintAccessToken(g, time.Time{})
}

// inexpressible says why a case's facts cannot be sent through the API;
// empty when they can.
func inexpressible(t *testing.T, c explaintest.Case) string {
	t.Helper()
	r, f := c.Request, c.Facts
	if f.AccountTimeZone != "" {
		return "facts.account_time_zone: the API has no field for the account's time zone"
	}
	if cred := f.CredentialType(t); cred != scopeguardv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED && r.AccessToken == "" {
		implied := map[scopeguardv1.CredentialType]scopeguardv1.AppType{
			scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN: scopeguardv1.AppType_APP_TYPE_PUBLIC,
			scopeguardv1.CredentialType_CREDENTIAL_TYPE_PRIVATE_APP_TOKEN:  scopeguardv1.AppType_APP_TYPE_PRIVATE,
			scopeguardv1.CredentialType_CREDENTIAL_TYPE_DEVELOPER_API_KEY:  scopeguardv1.AppType_APP_TYPE_DEVELOPER,
		}
		if app, ok := implied[cred]; !ok || app != r.AppTypeValue(t) {
			return "facts.credential " + cred.String() + ": no access_token carries it and app_type does not imply it"
		}
	}
	if f.GrantedKnown != nil && *f.GrantedKnown != (len(r.GrantedScopes) > 0) {
		return "facts.granted_known: the API knows the grant exactly when granted_scopes or access_token is given"
	}
	return ""
}

// TestExplainErrorCorpus sends every case of the corpus through the real
// server, with the real catalog and, for introspected grants, a real token
// on the fake HubSpot.
func TestExplainErrorCorpus(t *testing.T) {
	t.Parallel()
	cases := explaintest.Load(t, filepath.Join("explain", "testdata", "cases"))
	cat := catalog.Default()
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if why := inexpressible(t, c); why != "" {
				t.Skip(why)
			}
			env := newExplainEnv(t, c.Facts.Clock(t), testAppsYAML)
			req := c.ExplainErrorRequest(t)
			if c.Facts.GrantedFromToken {
				req.AccessToken = env.mint(req.GetAppType(), req.GetGrantedScopes())
				req.GrantedScopes = nil
			}
			// The endpoint the server diagnoses: the request's, else the
			// call the body's text names.
			ep := req.GetEndpoint()
			if ep == nil {
				ep = explain.Parse(int(req.GetHttpStatus()), req.GetBody(), req.GetHeaders()).Endpoint()
			}
			withCatalog := false
			if ep != nil {
				_, err := cat.Match(ep.GetMethod(), ep.GetPath())
				withCatalog = err == nil
			}
			if withCatalog != (c.Facts.Catalog != nil) {
				t.Fatalf("the catalog knows the endpoint: %v; the case's facts.catalog says %v", withCatalog, c.Facts.Catalog != nil)
			}

			resp, err := env.client().ExplainError(t.Context(), req)
			if err != nil {
				t.Fatalf("ExplainError: %v", err)
			}
			if withCatalog && !catalogFactsHold(t, c, resp) {
				return
			}
			if c.Facts.GrantedFromToken {
				want := slices.Sorted(slices.Values(c.Request.GrantedScopes))
				if !resp.GetToken().GetActive() || !slices.Equal(resp.GetGrantedScopes(), want) {
					t.Errorf("token %v, granted %q; want an active token granting %q", resp.GetToken(), resp.GetGrantedScopes(), want)
				}
			}
			env.assertNoSecrets(t, nil, req.GetAccessToken())
			label := "gRPC without catalog"
			if withCatalog {
				label = "gRPC with catalog"
			}
			mismatches := explaintest.Mismatches(c.Expectation(t, withCatalog), resp, req.GetAccessToken())
			if len(mismatches) > 0 && c.KnownBug != "" {
				t.Logf("%s: known bug shows: %s", label, strings.Join(mismatches, "; "))
				t.Skip("known bug: " + c.KnownBug)
			}
			for _, m := range mismatches {
				t.Errorf("%s: %s", label, m)
			}
		})
	}
}

// catalogFactsHold compares the case's facts.catalog with what the catalog
// answered (the response's operation and alternatives). It reports false
// when they differ.
func catalogFactsHold(t *testing.T, c explaintest.Case, resp *scopeguardv1.ExplainErrorResponse) bool {
	t.Helper()
	wantAlts := make([]*scopeguardv1.ScopeSet, 0, len(c.Facts.Catalog.Alternatives))
	for _, alt := range c.Facts.Catalog.Alternatives {
		wantAlts = append(wantAlts, &scopeguardv1.ScopeSet{Scopes: slices.Sorted(slices.Values(alt))})
	}
	altDiff := cmp.Diff(wantAlts, resp.GetCatalogAlternatives(), protocmp.Transform(), cmpopts.EquateEmpty())
	opDiff := cmp.Diff(c.Facts.CatalogOperation(t), resp.GetOperation(), protocmp.Transform())
	if opDiff != "" || altDiff != "" {
		t.Errorf("facts.catalog differs from the catalog:\noperation (-case +catalog):\n%s\nalternatives (-case +catalog):\n%s", opDiff, altDiff)
		return false
	}
	return true
}

// seedBody is the seed thread's 403 for the audit log, as HubSpot sends it.
const seedBody = `{"status":"error","message":"This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.","correlationId":"5c3e9a71-2d4b-4f8e-b6a1-7e2c9d0f1a3b","errors":[{"message":"All of the following scopes are required.","context":{"requiredGranularScopes":["account-info.security.read"]}}],"links":{"scopes":"https://developers.hubspot.com/scopes"},"category":"MISSING_SCOPES"}`

// auditLogs is the seed case's endpoint.
var auditLogs = &scopeguardv1.Endpoint{Method: "GET", Path: "/account-info/v3/activity/audit-logs"}

// callFake sends GET path to the fake HubSpot with token, as an
// integration would, and returns HubSpot's status, body and headers.
func (e *explainEnv) callFake(t *testing.T, path, token string) (int, string, map[string]string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.fake.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.fake.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	headers := map[string]string{}
	for name := range resp.Header {
		headers[name] = resp.Header.Get(name)
	}
	return resp.StatusCode, string(body), headers
}

// logRecord is one JSON log line of the server.
type logRecord struct {
	Level    string `json:"level"`
	Msg      string `json:"msg"`
	Method   string `json:"method"`
	Template string `json:"template"`
}

func (e *explainEnv) logRecords(t *testing.T) []logRecord {
	t.Helper()
	var out []logRecord
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var rec logRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// TestExplainErrorSeedByToken is the seed puzzle end to end: a token that
// holds account-info.security.read, refused by (fake) HubSpot with a 403
// naming that very scope, explained from HubSpot's own body and the token.
func TestExplainErrorSeedByToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		app      scopeguardv1.AppType
		endpoint string
	}{
		{name: "public app token, bare path", app: scopeguardv1.AppType_APP_TYPE_PUBLIC, endpoint: "/account-info/v3/activity/audit-logs"},
		{name: "private app token, full URL with query", app: scopeguardv1.AppType_APP_TYPE_PRIVATE, endpoint: "https://api.hubapi.com/account-info/v3/activity/audit-logs?limit=50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newExplainEnv(t, explaintest.DefaultNow, testAppsYAML)
			env.fake.ForbidDespiteScopes("GET", "/account-info/v3/activity/audit-logs")
			scopes := []string{"account-info.security.read", "oauth"}
			token := env.mint(tt.app, scopes)
			code, body, headers := env.callFake(t, "/account-info/v3/activity/audit-logs", token)
			if code != http.StatusForbidden {
				t.Fatalf("fake HubSpot answered %d, want 403: %s", code, body)
			}

			resp, err := env.client().ExplainError(t.Context(), &scopeguardv1.ExplainErrorRequest{
				HttpStatus:  int32(code),
				Body:        body,
				Headers:     headers,
				Endpoint:    &scopeguardv1.Endpoint{Method: "GET", Path: tt.endpoint},
				AccessToken: token,
			})
			if err != nil {
				t.Fatalf("ExplainError: %v", err)
			}
			type view struct {
				RootCause      scopeguardv1.RootCause
				Requirement    scopeguardv1.Requirement
				RequiredScopes []string
				MissingScopes  []string
				CatalogAgrees  bool
				FirstAction    scopeguardv1.Action
				TokenActive    bool
				TokenScopes    []string
				GrantedScopes  []string
			}
			got := view{
				RootCause:      resp.GetRootCause(),
				Requirement:    resp.GetRequirement(),
				RequiredScopes: resp.GetRequiredScopes(),
				MissingScopes:  resp.GetMissingScopes(),
				CatalogAgrees:  resp.GetCatalogAgrees(),
				TokenActive:    resp.GetToken().GetActive(),
				TokenScopes:    resp.GetToken().GetScopes(),
				GrantedScopes:  resp.GetGrantedScopes(),
			}
			if len(resp.GetRemediations()) > 0 {
				got.FirstAction = resp.GetRemediations()[0].GetAction()
			}
			want := view{
				RootCause:      scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN,
				Requirement:    scopeguardv1.Requirement_REQUIREMENT_ALL_OF,
				RequiredScopes: []string{"account-info.security.read"},
				CatalogAgrees:  true,
				FirstAction:    scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER,
				TokenActive:    true,
				TokenScopes:    scopes,
				GrantedScopes:  scopes,
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("seed explained (-want +got):\n%s\nsummary: %s", diff, resp.GetSummary())
			}
			if !strings.Contains(resp.GetSummary(), "Enterprise") {
				t.Errorf("summary %q does not name the Enterprise tier", resp.GetSummary())
			}
			wire, err := protojson.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(wire), token) {
				t.Errorf("response echoes the access token")
			}
			env.assertNoSecrets(t, nil, token)
		})
	}
}

// TestExplainErrorCatalogDisagreement: a body whose required scopes
// contradict the catalog is answered with catalog_agrees=false, counted on
// every call and logged once per catalog operation.
func TestExplainErrorCatalogDisagreement(t *testing.T) {
	t.Parallel()
	env := newExplainEnv(t, explaintest.DefaultNow, testAppsYAML)
	// The owners API's legacy 403 names the coarse contacts scope; the
	// catalog requires crm.objects.owners.read (or automation).
	owners := `{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","correlationId":"3e1d5f7a-9b2c-4d6e-8f0a-1b3c5d7e9f20","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredScopes":["contacts"]}}],"category":"MISSING_SCOPES"}`
	calls := []*scopeguardv1.Endpoint{
		{Method: "GET", Path: "/crm/v3/owners/1"},
		{Method: "GET", Path: "/crm/v3/owners/2"},
		{Method: "get", Path: "https://api.hubapi.com/crm/v3/owners/3?idProperty=id"},
		{Method: "GET", Path: "/crm/v3/owners"},
	}
	for _, ep := range calls {
		resp, err := env.client().ExplainError(t.Context(), &scopeguardv1.ExplainErrorRequest{
			HttpStatus: 403, Body: owners, Endpoint: ep, GrantedScopes: []string{"oauth", "crm.objects.contacts.read"},
		})
		if err != nil {
			t.Fatalf("ExplainError(%v): %v", ep, err)
		}
		if resp.GetCatalogAgrees() {
			t.Errorf("%v: catalog_agrees = true for a body naming only the coarse contacts scope", ep)
		}
	}
	metrics := scrape(t, env.metrics)
	for _, series := range []string{
		`scopeguard_catalog_disagreements_total{method="GET",template="/crm/v3/owners/{ownerId}"} 3`,
		`scopeguard_catalog_disagreements_total{method="GET",template="/crm/v3/owners"} 1`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	var logged []string
	for _, rec := range env.logRecords(t) {
		if rec.Msg == "HubSpot's required scopes disagree with the catalog" {
			if rec.Level != "WARN" {
				t.Errorf("disagreement logged at %s, want WARN", rec.Level)
			}
			logged = append(logged, rec.Method+" "+rec.Template)
		}
	}
	slices.Sort(logged)
	if diff := cmp.Diff([]string{"GET /crm/v3/owners", "GET /crm/v3/owners/{ownerId}"}, logged); diff != "" {
		t.Errorf("disagreement log lines, one per operation (-want +got):\n%s", diff)
	}
}

// TestExplainErrorCountsRootCauses: every answer is counted by root cause.
func TestExplainErrorCountsRootCauses(t *testing.T) {
	t.Parallel()
	env := newExplainEnv(t, explaintest.DefaultNow, testAppsYAML)
	requests := []*scopeguardv1.ExplainErrorRequest{
		{HttpStatus: 429, Body: `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","category":"RATE_LIMITS","policyName":"TEN_SECONDLY_ROLLING"}`},
		{HttpStatus: 429, Body: `{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"}`},
		{HttpStatus: 403, Body: seedBody, Endpoint: auditLogs, GrantedScopes: []string{"account-info.security.read"}},
		{HttpStatus: 400, Body: `{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token"}`},
	}
	for _, req := range requests {
		if _, err := env.client().ExplainError(t.Context(), req); err != nil {
			t.Fatalf("ExplainError: %v", err)
		}
	}
	metrics := scrape(t, env.metrics)
	for _, series := range []string{
		`scopeguard_explanations_total{root_cause="ROOT_CAUSE_RATE_LIMITED"} 2`,
		`scopeguard_explanations_total{root_cause="ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN"} 1`,
		`scopeguard_explanations_total{root_cause="ROOT_CAUSE_REFRESH_TOKEN_INVALID"} 1`,
		`scopeguard_explanations_total{root_cause="ROOT_CAUSE_SCOPE_NOT_GRANTED"} 0`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// TestExplainErrorRejections: requests ExplainError cannot answer, each
// refused with its documented code and reason, leaking nothing.
func TestExplainErrorRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		apps   string
		req    func(env *explainEnv) *scopeguardv1.ExplainErrorRequest
		code   codes.Code
		reason scopeguardv1.ErrorReason
		fields []string
	}{
		{
			name: "unknown app",
			apps: testAppsYAML,
			req: func(env *explainEnv) *scopeguardv1.ExplainErrorRequest {
				return &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: seedBody, Endpoint: auditLogs, App: "warehouse",
					AccessToken: env.mint(scopeguardv1.AppType_APP_TYPE_PUBLIC, []string{"account-info.security.read"})}
			},
			code: codes.NotFound, reason: scopeguardv1.ErrorReason_UNKNOWN_APP,
		},
		{
			name: "OAuth 2026-03 introspection without configured app credentials",
			req: func(env *explainEnv) *scopeguardv1.ExplainErrorRequest {
				return &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: seedBody, Endpoint: auditLogs,
					AccessToken: env.mint(scopeguardv1.AppType_APP_TYPE_PUBLIC, []string{"account-info.security.read"})}
			},
			code: codes.FailedPrecondition, reason: scopeguardv1.ErrorReason_APP_CREDENTIALS_REQUIRED,
		},
		{
			name: "endpoint URL on a foreign host",
			apps: testAppsYAML,
			req: func(env *explainEnv) *scopeguardv1.ExplainErrorRequest {
				return &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: seedBody,
					Endpoint:    &scopeguardv1.Endpoint{Method: "GET", Path: "https://api.hubapi.com.evil.example/account-info/v3/activity/audit-logs"},
					AccessToken: env.mint(scopeguardv1.AppType_APP_TYPE_PRIVATE, []string{"account-info.security.read"})}
			},
			code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_UNSUPPORTED_HOST, fields: []string{"endpoint.path"},
		},
		{
			name: "body of 1 MiB and one byte",
			apps: testAppsYAML,
			req: func(env *explainEnv) *scopeguardv1.ExplainErrorRequest {
				return &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: strings.Repeat("x", 1<<20+1),
					AccessToken: env.mint(scopeguardv1.AppType_APP_TYPE_PUBLIC, []string{"account-info.security.read"})}
			},
			code: codes.InvalidArgument, reason: scopeguardv1.ErrorReason_INVALID_REQUEST, fields: []string{"body"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newExplainEnv(t, explaintest.DefaultNow, tt.apps)
			req := tt.req(env)
			_, err := env.client().ExplainError(t.Context(), req)
			wantStatus(t, err, tt.code, tt.reason, tt.fields)
			env.assertNoSecrets(t, err, req.GetAccessToken())
			if tt.fields != nil {
				// A request refused for its own content costs no HubSpot call.
				for _, ep := range []hubspottest.Endpoint{hubspottest.EndpointIntrospect, hubspottest.EndpointPrivateAppTokenInfo} {
					if n := env.fake.Calls(ep); n != 0 {
						t.Errorf("%s calls = %d, want 0", ep, n)
					}
				}
			}
		})
	}
}

// TestExplainErrorWhenIntrospectionFails: HubSpot failing the token's
// introspection, slowness included, costs the answer the token's scopes,
// not the answer, which says why the token went unchecked; the failure is
// logged without the token.
func TestExplainErrorWhenIntrospectionFails(t *testing.T) {
	t.Parallel()
	never := make(chan struct{}) // HubSpot holds the request until the client gives up
	tests := []struct {
		name           string
		fault          hubspottest.Fault
		attemptTimeout time.Duration // of one HubSpot request; 0 for the default
		callerDeadline time.Duration // 0 for none
		failure        string        // in token_check_failure
	}{
		{name: "HubSpot answers 503", fault: hubspottest.Fault{Status: http.StatusServiceUnavailable},
			failure: "unreachable or failing"},
		{name: "HubSpot resets the connection", fault: hubspottest.Fault{ResetConnection: true},
			failure: "unreachable or failing"},
		{name: "HubSpot rate limits the introspection", fault: hubspottest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "0"},
			failure: "rate limited"},
		{name: "every HubSpot request times out", fault: hubspottest.Fault{Block: never}, attemptTimeout: 50 * time.Millisecond,
			callerDeadline: time.Minute, failure: "did not answer in time"},
		{name: "HubSpot is slower than the caller's deadline", fault: hubspottest.Fault{Block: never},
			callerDeadline: 2 * time.Second, failure: "did not answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newExplainEnv(t, explaintest.DefaultNow, testAppsYAML, func(o *hubspot.Options) { o.Timeout = tt.attemptTimeout })
			token := env.mint(scopeguardv1.AppType_APP_TYPE_PUBLIC, []string{"account-info.security.read"})
			env.fake.InjectFault(hubspottest.EndpointIntrospect, tt.fault)
			ctx := t.Context()
			if tt.callerDeadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerDeadline)
				defer cancel()
			}
			resp, err := env.client().ExplainError(ctx, &scopeguardv1.ExplainErrorRequest{
				HttpStatus: 403, Body: seedBody, Endpoint: auditLogs, AccessToken: token,
			})
			if err != nil {
				t.Fatalf("ExplainError: %v", err)
			}
			if got := resp.GetTokenCheckFailure(); !strings.Contains(got, tt.failure) {
				t.Errorf("token_check_failure = %q, want it to contain %q", got, tt.failure)
			}
			if !strings.Contains(resp.GetSummary(), "could not be checked") {
				t.Errorf("summary %q does not say the token could not be checked", resp.GetSummary())
			}
			if env.fake.Calls(hubspottest.EndpointIntrospect) == 0 {
				t.Fatal("the token was never introspected")
			}
			if resp.GetToken() != nil || len(resp.GetGrantedScopes()) > 0 {
				t.Errorf("token %v, granted %q; want neither when introspection failed", resp.GetToken(), resp.GetGrantedScopes())
			}
			if got := resp.GetRootCause(); got != scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED || resp.GetSummary() == "" {
				t.Errorf("root cause %v, summary %q; want the body's reading (scope not granted) with a summary", got, resp.GetSummary())
			}
			warned := 0
			for _, rec := range env.logRecords(t) {
				if rec.Msg == "explaining without the token's scopes: introspection failed" && rec.Level == "WARN" {
					warned++
				}
			}
			if warned != 1 {
				t.Errorf("%d warnings about the failed introspection, want 1:\n%s", warned, env.logs.String())
			}
			env.assertNoSecrets(t, nil, token)
		})
	}
}

// TestExplainErrorEndsWithTheCaller: the caller's own cancellation ends the
// call, whatever HubSpot is doing.
func TestExplainErrorEndsWithTheCaller(t *testing.T) {
	t.Parallel()
	env := newExplainEnv(t, explaintest.DefaultNow, testAppsYAML)
	token := env.mint(scopeguardv1.AppType_APP_TYPE_PUBLIC, []string{"account-info.security.read"})
	env.fake.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Block: make(chan struct{})})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := env.client().ExplainError(ctx, &scopeguardv1.ExplainErrorRequest{HttpStatus: 403, Body: seedBody, AccessToken: token})
		errc <- err
	}()
	for env.fake.Calls(hubspottest.EndpointIntrospect) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; status.Code(err) != codes.Canceled {
		t.Errorf("ExplainError after the caller cancelled = %v, want Canceled", err)
	}
}

// TestExplainErrorAnswersNonJSONBodies: text and HTML bodies are answers,
// never errors.
func TestExplainErrorAnswersNonJSONBodies(t *testing.T) {
	t.Parallel()
	env := newExplainEnv(t, explaintest.DefaultNow, testAppsYAML)
	tests := []struct {
		name      string
		status    int32
		body      string
		rootCause scopeguardv1.RootCause
		retryable bool
	}{
		{
			name:      "HTML 502 from a proxy",
			status:    502,
			body:      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
			rootCause: scopeguardv1.RootCause_ROOT_CAUSE_UPSTREAM_UNAVAILABLE,
			retryable: true,
		},
		{
			name:      "HTML page pasted without a status",
			body:      "<!DOCTYPE html><html><head><title>HubSpot</title></head><body><p>Something went wrong.</p><script>var x = {\"a\": [1,2</script></body></html>",
			rootCause: scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN,
		},
		{
			name:      "truncated JSON still read for its wording",
			status:    403,
			body:      `{"status":"error","message":"This app hasn't been granted all required scopes`,
			rootCause: scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := env.client().ExplainError(t.Context(), &scopeguardv1.ExplainErrorRequest{HttpStatus: tt.status, Body: tt.body})
			if err != nil {
				t.Fatalf("ExplainError: %v", err)
			}
			got := []any{resp.GetRootCause(), resp.GetRetryable(), resp.GetSummary() != "", len(resp.GetRemediations()) > 0}
			want := []any{tt.rootCause, tt.retryable, true, true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("root cause, retryable, has summary, has remediations (-want +got):\n%s\nsummary: %s", diff, resp.GetSummary())
			}
		})
	}
}

// TestExplainErrorEndpointFromText: without a request endpoint, the call a
// client library's text names is looked up in the catalog; the request's
// own endpoint wins over it, and one the catalog cannot read only costs the
// answer the catalog, never the call.
func TestExplainErrorEndpointFromText(t *testing.T) {
	t.Parallel()
	env := newExplainEnv(t, explaintest.DefaultNow, testAppsYAML)
	const dealsText = "requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://api.hubapi.com/crm/v3/objects/deals?limit=100"
	tests := []struct {
		name         string
		body         string
		endpoint     *scopeguardv1.Endpoint
		wantEndpoint string
		wantTemplate string
		wantMissing  []string
	}{
		{
			name: "the text's URL names the endpoint", body: dealsText,
			wantEndpoint: "GET /crm/v3/objects/deals", wantTemplate: "/crm/v3/objects/deals", wantMissing: []string{"crm.objects.deals.read"},
		},
		{
			name: "the request's endpoint wins", body: dealsText, endpoint: &scopeguardv1.Endpoint{Method: "GET", Path: "/crm/v3/objects/contacts"},
			wantEndpoint: "GET /crm/v3/objects/contacts", wantTemplate: "/crm/v3/objects/contacts", wantMissing: []string{"crm.objects.contacts.read"},
		},
		{
			name:         "a path the catalog refuses leaves the catalog out",
			body:         "403 Client Error: Forbidden for url: https://api.hubapi.com/crm/v3/objects/deals/%zz",
			wantEndpoint: "GET /crm/v3/objects/deals/%zz",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := env.client().ExplainError(t.Context(), &scopeguardv1.ExplainErrorRequest{
				Body: tt.body, Endpoint: tt.endpoint, GrantedScopes: []string{"oauth"},
			})
			if err != nil {
				t.Fatalf("ExplainError: %v", err)
			}
			got := []any{resp.GetEndpoint().GetMethod() + " " + resp.GetEndpoint().GetPath(), resp.GetOperation().GetPathTemplate(), resp.GetMissingScopes(), resp.GetRootCause()}
			want := []any{tt.wantEndpoint, tt.wantTemplate, tt.wantMissing, scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("endpoint, template, missing scopes, root cause (-want +got):\n%s\nsummary: %s", diff, resp.GetSummary())
			}
		})
	}
}

// TestExplainErrorUsesTheRequestsApp: the re-authorization URL carries the
// client id of the app the request names, else of the only configured app,
// else none (there is no app to install).
func TestExplainErrorUsesTheRequestsApp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, apps, app string
		wantURL         bool
	}{
		{name: "the named app", apps: testAppsYAML, app: "shop", wantURL: true},
		{name: "the only configured app", apps: testAppsYAML, wantURL: true},
		{name: "no app configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newExplainEnv(t, explaintest.DefaultNow, tt.apps)
			resp, err := env.client().ExplainError(t.Context(), &scopeguardv1.ExplainErrorRequest{
				HttpStatus: 403, Body: seedBody, Endpoint: auditLogs, App: tt.app, GrantedScopes: []string{"oauth"},
			})
			if err != nil {
				t.Fatalf("ExplainError: %v", err)
			}
			var urls []string
			for _, r := range resp.GetRemediations() {
				if r.GetAction() == scopeguardv1.Action_ACTION_REAUTHORIZE_APP && r.GetUrl() != "" {
					urls = append(urls, r.GetUrl())
				}
			}
			if got := len(urls) > 0 && strings.Contains(urls[0], "client_id="+testClientID); got != tt.wantURL {
				t.Errorf("re-authorization URLs %q: carry client id %s = %v, want %v", urls, testClientID, got, tt.wantURL)
			}
		})
	}
}
