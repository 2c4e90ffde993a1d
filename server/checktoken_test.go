package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// shopGrant is the account that installed the shop app in these tests.
var shopGrant = hubspottest.Grant{
	ClientID:  testClientID,
	HubID:     123456,
	UserID:    77,
	User:      "admin@shop.example",
	HubDomain: "shop.example",
	Scopes:    []string{"oauth", "crm.objects.contacts.write", "crm.objects.contacts.read"},
}

// startScopeGuardWith is startScopeGuard with a say in the configuration
// (the OAuth version, say). HubSpot calls are retried as in production but
// after millisecond waits.
func startScopeGuardWith(t *testing.T, hubspotURL, appsYAML string, configure func(*server.Config)) *testServer {
	t.Helper()
	cfg := testConfig()
	cfg.HubSpotAPIURL = hubspotURL
	cfg.HubSpotRetry = hubspottest.FastRetries
	if appsYAML != "" {
		cfg.AppsFile = filepath.Join(t.TempDir(), "apps.yaml")
		if err := os.WriteFile(cfg.AppsFile, []byte(appsYAML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	configure(&cfg)
	return startServerWith(t, cfg, func(log *slog.Logger, m *server.Metrics) scopeguardv1.ScopeGuardServiceServer {
		svc, err := server.BuildService(cfg, log, m)
		if err != nil {
			t.Fatalf("BuildService: %v", err)
		}
		return svc
	})
}

// newTokenEnv is scopeguard (OAuth API oauthVersion, apps file appsYAML)
// in front of a fake HubSpot that knows the shop app and one refresh token
// of its install. It reuses refreshEnv for its secret checks.
func newTokenEnv(t *testing.T, oauthVersion, appsYAML string) *refreshEnv {
	t.Helper()
	fake := hubspottest.Start(t, hubspottest.Options{})
	fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	rt := fake.MintRefreshToken(shopGrant)
	ts := startScopeGuardWith(t, fake.URL, appsYAML, func(cfg *server.Config) { cfg.HubSpotOAuthVersion = oauthVersion })
	return &refreshEnv{testServer: ts, fake: fake, refreshToken: rt}
}

func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:12]
}

// upstreamCalls counts every request the fake HubSpot received.
func upstreamCalls(fake *hubspottest.Server) int {
	n := 0
	for _, ep := range []hubspottest.Endpoint{
		hubspottest.EndpointToken, hubspottest.EndpointIntrospect, hubspottest.EndpointAccessTokenInfo,
		hubspottest.EndpointRefreshTokenInfo, hubspottest.EndpointRevoke, hubspottest.EndpointPrivateAppTokenInfo,
		hubspottest.EndpointAPI,
	} {
		n += fake.Calls(ep)
	}
	return n
}

func TestCheckScopesByActiveOAuthToken(t *testing.T) {
	t.Parallel()
	env := newTokenEnv(t, "2026-03", testAppsYAML)
	token := env.fake.MintAccessToken(shopGrant, time.Time{})
	req := &scopeguardv1.CheckScopesRequest{
		Endpoints:   []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts"), endpoint("POST", "/crm/v3/objects/deals")},
		AccessToken: token,
	}
	resp := check(t, env.testServer, req)

	want := &scopeguardv1.CheckScopesResponse{
		Token: &scopeguardv1.TokenInfo{
			Active:         true,
			CredentialType: scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN,
			HubId:          123456,
			AppId:          4242,
			User:           "admin@shop.example",
			UserId:         77,
			HubDomain:      "shop.example",
			Scopes:         []string{"crm.objects.contacts.read", "crm.objects.contacts.write", "oauth"},
			Fingerprint:    fingerprint(token),
		},
		GrantedScopes: []string{"crm.objects.contacts.read", "crm.objects.contacts.write", "oauth"},
		MissingScopes: []string{"crm.objects.deals.write"},
	}
	if diff := cmp.Diff(want, resp, protocmp.Transform(),
		protocmp.IgnoreFields(&scopeguardv1.CheckScopesResponse{}, "decisions"),
		protocmp.IgnoreFields(&scopeguardv1.TokenInfo{}, "expires_at")); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if until := time.Until(resp.GetToken().GetExpiresAt().AsTime()); until < 29*time.Minute || until > 31*time.Minute {
		t.Errorf("token expires in %s, want about 30 minutes", until)
	}
	if diff := cmp.Diff([]scopeguardv1.Verdict{scopeguardv1.Verdict_VERDICT_ALLOWED, scopeguardv1.Verdict_VERDICT_MISSING_SCOPES},
		verdicts(resp.GetDecisions())); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}

	// HubSpot was asked once, through 2026-03 introspection with the app's
	// credentials; the later checks (each check asks in the full and the
	// basic view) are answered from the cache.
	again := check(t, env.testServer, req)
	if diff := cmp.Diff(resp, again, protocmp.Transform()); diff != "" {
		t.Errorf("second check differs (-first +second):\n%s", diff)
	}
	reqs := env.fake.Requests(hubspottest.EndpointIntrospect)
	if len(reqs) != 1 {
		t.Fatalf("introspection requests = %d, want 1 for two checks of one token", len(reqs))
	}
	if got := reqs[0].Form; got.Get("client_id") != testClientID || got.Get("token_type_hint") != "access_token" || reqs[0].Version != "2026-03" {
		t.Errorf("introspection request = %s %v (version %q), want the shop app's client id and an access_token hint on 2026-03", reqs[0].Path, got, reqs[0].Version)
	}
	if n := upstreamCalls(env.fake); n != 1 {
		t.Errorf("HubSpot received %d requests, want 1", n)
	}

	body := scrape(t, env.metrics)
	for _, series := range []string{
		`scopeguard_cache_lookups_total{cache="introspection",result="miss"} 1`,
		`scopeguard_cache_lookups_total{cache="introspection",result="hit"} 3`,
		`scopeguard_hubspot_calls_total{endpoint="introspect",outcome="ok"} 1`,
		`scopeguard_decisions_total{verdict="VERDICT_ALLOWED"} 4`,
		`scopeguard_decisions_total{verdict="VERDICT_MISSING_SCOPES"} 4`,
	} {
		if !strings.Contains(body, series+"\n") {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	env.assertNoSecrets(t, nil, token)
}

func TestCheckScopesByInactiveToken(t *testing.T) {
	t.Parallel()
	personalAccessKey := base64.RawURLEncoding.EncodeToString(append([]byte{0x0a, 0x24}, "na1-6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"...))
	tests := []struct {
		name string
		// token returns the credential to check, set up on the fake.
		token      func(env *refreshEnv) string
		credential scopeguardv1.CredentialType
		reason     string
		upstream   int // requests HubSpot receives for two checks
	}{
		{
			name: "an expired OAuth token",
			token: func(env *refreshEnv) string {
				return env.fake.MintAccessToken(shopGrant, time.Now().Add(-time.Minute))
			},
			// 2026-03 introspection answers only {"active": false}, which
			// does not say why.
			credential: scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN,
			reason:     "revoked or unknown",
			upstream:   1,
		},
		{
			name: "a revoked OAuth token",
			token: func(env *refreshEnv) string {
				token := env.fake.MintAccessToken(shopGrant, time.Time{})
				env.fake.Revoke(token)
				return token
			},
			credential: scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN,
			reason:     "revoked or unknown",
			upstream:   1,
		},
		{
			name: "a revoked private-app token",
			token: func(env *refreshEnv) string {
				token := env.fake.MintPrivateAppToken(hubspottest.Grant{HubID: 123456, Scopes: []string{"crm.objects.contacts.read"}})
				env.fake.Revoke(token)
				return token
			},
			credential: scopeguardv1.CredentialType_CREDENTIAL_TYPE_PRIVATE_APP_TOKEN,
			reason:     "revoked or unknown",
			upstream:   1,
		},
		{
			name:       "a refresh token passed as the access token",
			token:      func(env *refreshEnv) string { return env.refreshToken },
			credential: scopeguardv1.CredentialType_CREDENTIAL_TYPE_REFRESH_TOKEN,
			reason:     "not a bearer token",
		},
		{
			name:       "a developer API key passed as the access token",
			token:      func(*refreshEnv) string { return "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f" },
			credential: scopeguardv1.CredentialType_CREDENTIAL_TYPE_DEVELOPER_API_KEY,
			reason:     "not a bearer token",
		},
		{
			name:       "a CLI personal access key passed as the access token",
			token:      func(*refreshEnv) string { return personalAccessKey },
			credential: scopeguardv1.CredentialType_CREDENTIAL_TYPE_PERSONAL_ACCESS_KEY,
			reason:     "not a bearer token",
		},
		{
			name: "a token with its own Bearer prefix",
			token: func(env *refreshEnv) string {
				return "Bearer " + env.fake.MintAccessToken(shopGrant, time.Time{})
			},
			credential: scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN,
			reason:     `already prefixed with "Bearer " (HubSpot would receive "Bearer Bearer …")`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTokenEnv(t, "2026-03", testAppsYAML)
			token := tt.token(env)
			req := &scopeguardv1.CheckScopesRequest{
				Endpoints: []*scopeguardv1.Endpoint{
					endpoint("GET", "/crm/v3/objects/contacts"),
					endpoint("POST", "/oauth/2026-03/token"),
					endpoint("GET", "/crm/v3/widgets"),
				},
				AccessToken: token,
			}
			resp := check(t, env.testServer, req)
			want := &scopeguardv1.CheckScopesResponse{
				Token: &scopeguardv1.TokenInfo{
					CredentialType: tt.credential,
					Fingerprint:    fingerprint(token),
					InactiveReason: tt.reason,
				},
			}
			if diff := cmp.Diff(want, resp, protocmp.Transform(),
				protocmp.IgnoreFields(&scopeguardv1.CheckScopesResponse{}, "decisions")); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			// Every known endpoint, even one needing no scope, is refused
			// with the reason; an unknown endpoint stays unknown.
			wantVerdicts := []scopeguardv1.Verdict{
				scopeguardv1.Verdict_VERDICT_TOKEN_INACTIVE,
				scopeguardv1.Verdict_VERDICT_TOKEN_INACTIVE,
				scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT,
			}
			if diff := cmp.Diff(wantVerdicts, verdicts(resp.GetDecisions())); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			for _, d := range resp.GetDecisions()[:2] {
				if !strings.HasPrefix(d.GetExplanation(), "The access token is "+tt.reason+", so no call can succeed") ||
					d.GetSatisfiedBy() != nil || len(d.GetMissingScopes()) > 0 || d.GetOperation() == nil {
					t.Errorf("%s: %v", d.GetEndpoint().GetPath(), d)
				}
			}
			// An inactive answer is cached briefly too.
			check(t, env.testServer, req)
			if n := upstreamCalls(env.fake); n != tt.upstream {
				t.Errorf("HubSpot received %d requests for two checks, want %d", n, tt.upstream)
			}
			// Two checks, each in the full and the basic view.
			if body := scrape(t, env.metrics); !strings.Contains(body, `scopeguard_decisions_total{verdict="VERDICT_TOKEN_INACTIVE"} 8`+"\n") {
				t.Errorf("/metrics does not count 8 inactive-token decisions")
			}
			env.assertNoSecrets(t, nil, token)
		})
	}
}

func TestCheckScopesByPrivateAppToken(t *testing.T) {
	t.Parallel()
	// No apps file: private-app tokens need no OAuth app credentials.
	env := newTokenEnv(t, "2026-03", "")
	token := env.fake.MintPrivateAppToken(hubspottest.Grant{
		HubID: 123456, UserID: 78, AppID: 999,
		Scopes: []string{"crm.objects.contacts.sensitive.read", "crm.objects.owners.read"},
	})
	resp := check(t, env.testServer, &scopeguardv1.CheckScopesRequest{
		Endpoints: []*scopeguardv1.Endpoint{
			endpoint("GET", "/crm/objects/2026-03/contacts"),
			endpoint("GET", "/crm/v3/owners"),
			endpoint("GET", "/crm/v3/objects/deals"),
		},
		AccessToken: " " + token + "\n",
	})
	want := &scopeguardv1.CheckScopesResponse{
		Token: &scopeguardv1.TokenInfo{
			Active:         true,
			CredentialType: scopeguardv1.CredentialType_CREDENTIAL_TYPE_PRIVATE_APP_TOKEN,
			HubId:          123456,
			AppId:          999,
			UserId:         78,
			Scopes:         []string{"crm.objects.contacts.sensitive.read", "crm.objects.owners.read"},
			Fingerprint:    fingerprint(token),
		},
		GrantedScopes: []string{"crm.objects.contacts.sensitive.read", "crm.objects.owners.read"},
		MissingScopes: []string{"crm.objects.deals.read"},
	}
	if diff := cmp.Diff(want, resp, protocmp.Transform(),
		protocmp.IgnoreFields(&scopeguardv1.CheckScopesResponse{}, "decisions")); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	// The unsuffixed sensitive scope allows the contacts list only under
	// the private-app scheme, which the token's kind selected.
	contacts := resp.GetDecisions()[0]
	if contacts.GetVerdict() != scopeguardv1.Verdict_VERDICT_ALLOWED ||
		!cmp.Equal([]string{"crm.objects.contacts.sensitive.read"}, contacts.GetSatisfiedBy().GetScopes()) {
		t.Errorf("contacts list with the private-app sensitive scope: %v satisfied by %v", contacts.GetVerdict(), contacts.GetSatisfiedBy())
	}
	if explanation := resp.GetDecisions()[2].GetExplanation(); !strings.Contains(explanation, "add it to the private app's scopes") {
		t.Errorf("deals explanation %q does not address a private app", explanation)
	}
	reqs := env.fake.Requests(hubspottest.EndpointPrivateAppTokenInfo)
	if len(reqs) != 1 || reqs[0].JSON["tokenKey"] != token || reqs[0].Header.Get("Authorization") != "Bearer "+token {
		t.Errorf("private-app token info requests = %d, want one with the trimmed token as tokenKey and bearer", len(reqs))
	}
	if n := upstreamCalls(env.fake); n != 1 {
		t.Errorf("HubSpot received %d requests, want only the private-app token info", n)
	}
	env.assertNoSecrets(t, nil, token)
}

func TestCheckScopesByTokenFailures(t *testing.T) {
	t.Parallel()
	otherSecretYAML := strings.Replace(testAppsYAML, testClientSecret, "rotated-secret-0c4d", 1)
	tests := []struct {
		name    string
		apps    string
		app     string // CheckScopesRequest.app
		setup   func(env *refreshEnv)
		code    codes.Code
		reason  scopeguardv1.ErrorReason
		details []string // kinds of detail besides ErrorInfo
		meta    map[string]string
	}{
		{
			name:    "OAuth 2026-03 with no app configured or named",
			code:    codes.FailedPrecondition,
			reason:  scopeguardv1.ErrorReason_APP_CREDENTIALS_REQUIRED,
			details: []string{"PreconditionFailure"},
			meta:    map[string]string{"oauth_version": "2026-03"},
		},
		{
			name:   "an app the apps file lacks",
			apps:   testAppsYAML,
			app:    "warehouse",
			code:   codes.NotFound,
			reason: scopeguardv1.ErrorReason_UNKNOWN_APP,
			meta:   map[string]string{"app": "warehouse"},
		},
		{
			name:   "HubSpot refuses the configured client secret",
			apps:   otherSecretYAML,
			code:   codes.Unauthenticated,
			reason: scopeguardv1.ErrorReason_CLIENT_CREDENTIALS_INVALID,
			meta:   map[string]string{"hubspot_endpoint": "introspect"},
		},
		{
			name: "HubSpot answers 503",
			apps: testAppsYAML,
			setup: func(env *refreshEnv) {
				env.fake.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Status: 503})
			},
			code:    codes.Unavailable,
			reason:  scopeguardv1.ErrorReason_HUBSPOT_UNAVAILABLE,
			details: []string{"RetryInfo"},
			meta:    map[string]string{"hubspot_endpoint": "introspect", "hubspot_status": "503"},
		},
		{
			name: "HubSpot is unreachable",
			apps: testAppsYAML,
			// Every connection is reset rather than the fake closed: a
			// closed test server's port can be taken by another parallel
			// test's server, which would then answer.
			setup: func(env *refreshEnv) {
				env.fake.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{ResetConnection: true})
			},
			code:    codes.Unavailable,
			reason:  scopeguardv1.ErrorReason_HUBSPOT_UNAVAILABLE,
			details: []string{"RetryInfo"},
			meta:    map[string]string{"hubspot_endpoint": "introspect", "hubspot_status": "0"},
		},
		{
			name: "HubSpot rate limits introspection",
			apps: testAppsYAML,
			setup: func(env *refreshEnv) {
				env.fake.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Status: 429, RetryAfter: "0"})
			},
			code:    codes.ResourceExhausted,
			reason:  scopeguardv1.ErrorReason_HUBSPOT_RATE_LIMITED,
			details: []string{"RetryInfo", "QuotaFailure"},
			meta:    map[string]string{"hubspot_endpoint": "introspect"},
		},
		{
			name: "HubSpot answers malformed JSON",
			apps: testAppsYAML,
			setup: func(env *refreshEnv) {
				env.fake.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{MalformedJSON: true})
			},
			code:    codes.Unavailable,
			reason:  scopeguardv1.ErrorReason_HUBSPOT_BAD_RESPONSE,
			details: []string{"RetryInfo"},
			meta:    map[string]string{"hubspot_endpoint": "introspect"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTokenEnv(t, "2026-03", tt.apps)
			token := env.fake.MintAccessToken(shopGrant, time.Time{})
			if tt.setup != nil {
				tt.setup(env)
			}
			_, err := env.client().CheckScopes(t.Context(), &scopeguardv1.CheckScopesRequest{
				Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}, AccessToken: token, App: tt.app,
			})
			st := wantStatus(t, err, tt.code, tt.reason, nil)
			var kinds []string
			for _, d := range st.Details() {
				switch d.(type) {
				case *errdetails.RetryInfo:
					kinds = append(kinds, "RetryInfo")
				case *errdetails.QuotaFailure:
					kinds = append(kinds, "QuotaFailure")
				case *errdetails.PreconditionFailure:
					kinds = append(kinds, "PreconditionFailure")
				}
			}
			if diff := cmp.Diff(tt.details, kinds); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
			metadata := errorInfo(t, st).GetMetadata()
			for k, v := range tt.meta {
				if metadata[k] != v {
					t.Errorf("ErrorInfo metadata %s = %q, want %q (%v)", k, metadata[k], v, metadata)
				}
			}
			env.assertNoSecrets(t, err, token, "rotated-secret-0c4d")
		})
	}

	t.Run("a failure is not cached", func(t *testing.T) {
		t.Parallel()
		env := newTokenEnv(t, "2026-03", testAppsYAML)
		token := env.fake.MintAccessToken(shopGrant, time.Time{})
		env.fake.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Status: 503})
		req := &scopeguardv1.CheckScopesRequest{Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts")}, AccessToken: token}
		_, err := env.client().CheckScopes(t.Context(), req)
		wantStatus(t, err, codes.Unavailable, scopeguardv1.ErrorReason_HUBSPOT_UNAVAILABLE, nil)
		env.fake.ClearFaults()
		if resp := check(t, env.testServer, req); !resp.GetAllowed() || !resp.GetToken().GetActive() {
			t.Errorf("after HubSpot recovered: allowed %v, token %v; want an allowed active token", resp.GetAllowed(), resp.GetToken())
		}
	})
}

func TestCheckScopesByTokenWithOAuthV1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expires time.Time // of the minted token; zero for HubSpot's default lifetime
		want    *scopeguardv1.TokenInfo
		verdict scopeguardv1.Verdict
	}{
		{
			name: "an active token",
			want: &scopeguardv1.TokenInfo{
				Active:         true,
				CredentialType: scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN,
				HubId:          123456,
				AppId:          4242,
				User:           "admin@shop.example",
				UserId:         77,
				HubDomain:      "shop.example",
				Scopes:         []string{"crm.objects.contacts.read", "crm.objects.contacts.write", "oauth"},
			},
			verdict: scopeguardv1.Verdict_VERDICT_ALLOWED,
		},
		{
			// v1 answers 401 EXPIRED_AUTHENTICATION with the expiry, so
			// the reason is known here, unlike with 2026-03.
			name:    "an expired token",
			expires: time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond),
			want: &scopeguardv1.TokenInfo{
				CredentialType: scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN,
				InactiveReason: "expired",
			},
			verdict: scopeguardv1.Verdict_VERDICT_TOKEN_INACTIVE,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No apps file: v1 introspection needs no app credentials.
			env := newTokenEnv(t, "v1", "")
			token := env.fake.MintAccessToken(shopGrant, tt.expires)
			resp := check(t, env.testServer, &scopeguardv1.CheckScopesRequest{
				Endpoints: []*scopeguardv1.Endpoint{endpoint("GET", "/crm/v3/objects/contacts/5")}, AccessToken: token,
			})
			tt.want.Fingerprint = fingerprint(token)
			if diff := cmp.Diff(tt.want, resp.GetToken(), protocmp.Transform(),
				protocmp.IgnoreFields(&scopeguardv1.TokenInfo{}, "expires_at")); diff != "" {
				t.Errorf("token (-want +got):\n%s", diff)
			}
			if !tt.expires.IsZero() && !resp.GetToken().GetExpiresAt().AsTime().Equal(tt.expires) {
				t.Errorf("expires_at = %v, want HubSpot's expire time %v", resp.GetToken().GetExpiresAt().AsTime(), tt.expires)
			}
			if got := resp.GetDecisions()[0].GetVerdict(); got != tt.verdict {
				t.Errorf("verdict %v, want %v", got, tt.verdict)
			}
			reqs := env.fake.Requests(hubspottest.EndpointAccessTokenInfo)
			if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/oauth/v1/access-tokens/"+token {
				t.Errorf("v1 access-token-info requests = %d, want one GET for the token", len(reqs))
			}
			if n := env.fake.Calls(hubspottest.EndpointIntrospect); n != 0 {
				t.Errorf("2026-03 introspection called %d times with --hubspot-oauth-version v1", n)
			}
			env.assertNoSecrets(t, nil, token)
		})
	}
}
