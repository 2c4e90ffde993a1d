package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

const (
	testClientID     = "5f0c1a9e-2b3d-4e5f-8a6b-7c8d9e0f1a2b"
	testClientSecret = "planted-client-secret-7f3a"
	testAppsYAML     = `apps:
  shop:
    client_id: ` + testClientID + `
    client_secret: ` + testClientSecret + `
    redirect_uri: https://shop.example/oauth/callback
`
)

// refreshEnv is scopeguard in front of a fake HubSpot with one app and one
// installed account.
type refreshEnv struct {
	*testServer
	fake         *hubspottest.Server
	refreshToken string
}

func newRefreshEnv(t *testing.T) *refreshEnv {
	t.Helper()
	fake := hubspottest.Start(t, hubspottest.Options{})
	fake.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	rt := fake.MintRefreshToken(hubspottest.Grant{
		ClientID: testClientID, HubID: 123456, UserID: 77, User: "admin@shop.example",
		Scopes: []string{"oauth", "crm.objects.contacts.read"},
	})
	return &refreshEnv{testServer: startScopeGuard(t, fake.URL, testAppsYAML), fake: fake, refreshToken: rt}
}

// assertNoSecrets also checks the install's refresh token.
func (e *refreshEnv) assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	e.testServer.assertNoSecrets(t, err, append(secrets, e.refreshToken)...)
}

func TestRefreshTokenByApp(t *testing.T) {
	t.Parallel()
	env := newRefreshEnv(t)
	ctx := t.Context()
	resp, err := env.client().RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"})
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	if resp.GetAccessToken() == "" || resp.GetRefreshToken() != env.refreshToken || resp.GetShared() {
		t.Errorf("first refresh = %v, want a new access token, the same refresh token, not shared", resp)
	}
	if diff := cmp.Diff([]string{"crm.objects.contacts.read", "oauth"}, resp.GetScopes()); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if resp.GetHubId() != 123456 || resp.GetTokenType() != "bearer" {
		t.Errorf("hub id %d, token type %q; want 123456, bearer", resp.GetHubId(), resp.GetTokenType())
	}
	if got := resp.GetExpiresIn(); got < 1790 || got > 1800 {
		t.Errorf("expires_in = %d, want about 1800 (HubSpot's 30 minutes)", got)
	}
	if until := time.Until(resp.GetExpiresAt().AsTime()); until < 29*time.Minute || until > 31*time.Minute {
		t.Errorf("expires_at is %s away, want about 30 minutes", until)
	}
	// The form sent to HubSpot carried the app's configured credentials.
	reqs := env.fake.Requests(hubspottest.Endpoint("token"))
	if len(reqs) != 1 || reqs[0].Form.Get("client_id") != testClientID || reqs[0].Form.Get("redirect_uri") != "https://shop.example/oauth/callback" {
		t.Errorf("token requests = %+v, want one with the app's client id and redirect uri", reqs)
	}

	again, err := env.client().RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetShared() || again.GetAccessToken() != resp.GetAccessToken() {
		t.Errorf("second refresh within validity: shared=%v, same token=%v; want true, true", again.GetShared(), again.GetAccessToken() == resp.GetAccessToken())
	}
	forced, err := env.client().RefreshToken(ctx, &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if forced.GetShared() || forced.GetAccessToken() == resp.GetAccessToken() {
		t.Errorf("forced refresh: shared=%v, new token=%v; want false, true", forced.GetShared(), forced.GetAccessToken() != resp.GetAccessToken())
	}
	if n := env.fake.Calls(hubspottest.Endpoint("token")); n != 2 {
		t.Errorf("upstream token calls = %d, want 2 (first + forced)", n)
	}
	env.assertNoSecrets(t, nil, resp.GetAccessToken(), forced.GetAccessToken())
}

func TestRefreshTokenWithClientCredentials(t *testing.T) {
	t.Parallel()
	env := newRefreshEnv(t)
	resp, err := env.client().RefreshToken(t.Context(), &scopeguardv1.RefreshTokenRequest{
		RefreshToken: env.refreshToken, ClientId: testClientID, ClientSecret: testClientSecret,
	})
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	if resp.GetAccessToken() == "" || resp.GetHubId() != 123456 {
		t.Errorf("refresh with request credentials = %v", resp)
	}
}

func TestRefreshTokenConcurrentCallersShareOneUpstreamCall(t *testing.T) {
	t.Parallel()
	env := newRefreshEnv(t)
	release := make(chan struct{})
	env.fake.InjectFault(hubspottest.Endpoint("token"), hubspottest.Fault{Block: release, Times: 1})

	const callers = 200
	var wg sync.WaitGroup
	answers := make([]*scopeguardv1.RefreshTokenResponse, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			answers[i], errs[i] = env.client().RefreshToken(context.Background(), &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"})
		})
	}
	// Release HubSpot's answer only once the one upstream request arrived;
	// callers that come later find the cached token.
	for env.fake.Calls(hubspottest.Endpoint("token")) == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if answers[i].GetAccessToken() != answers[0].GetAccessToken() {
			t.Fatalf("caller %d got a different access token", i)
		}
	}
	if n := env.fake.Calls(hubspottest.Endpoint("token")); n != 1 {
		t.Errorf("upstream token calls for %d concurrent callers = %d, want 1", callers, n)
	}
}

func TestRefreshTokenFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest
		code      codes.Code
		reason    scopeguardv1.ErrorReason
		retryInfo bool
	}{
		{
			name: "revoked refresh token is terminal",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				env.fake.Revoke(env.refreshToken)
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"}
			},
			code: codes.Unauthenticated, reason: scopeguardv1.ErrorReason_REFRESH_TOKEN_INVALID,
		},
		{
			name: "unknown refresh token is terminal",
			setup: func(*refreshEnv) *scopeguardv1.RefreshTokenRequest {
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: "na1-00000000-0000-0000-0000-000000000000", App: "shop"}
			},
			code: codes.Unauthenticated, reason: scopeguardv1.ErrorReason_REFRESH_TOKEN_INVALID,
		},
		{
			name: "wrong client secret",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, ClientId: testClientID, ClientSecret: "not-the-secret-9b1c"}
			},
			code: codes.Unauthenticated, reason: scopeguardv1.ErrorReason_CLIENT_CREDENTIALS_INVALID,
		},
		{
			name: "unknown app",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "warehouse"}
			},
			code: codes.NotFound, reason: scopeguardv1.ErrorReason_UNKNOWN_APP,
		},
		{
			name: "rate limited on every attempt",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				env.fake.InjectFault(hubspottest.Endpoint("token"), hubspottest.Fault{Status: 429, RetryAfter: "0"})
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"}
			},
			code: codes.ResourceExhausted, reason: scopeguardv1.ErrorReason_HUBSPOT_RATE_LIMITED, retryInfo: true,
		},
		{
			name: "HubSpot answers 503",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				env.fake.InjectFault(hubspottest.Endpoint("token"), hubspottest.Fault{Status: 503})
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"}
			},
			code: codes.Unavailable, reason: scopeguardv1.ErrorReason_HUBSPOT_UNAVAILABLE, retryInfo: true,
		},
		{
			name: "HubSpot resets the connection",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				env.fake.InjectFault(hubspottest.Endpoint("token"), hubspottest.Fault{ResetConnection: true})
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"}
			},
			code: codes.Unavailable, reason: scopeguardv1.ErrorReason_HUBSPOT_UNAVAILABLE, retryInfo: true,
		},
		{
			name: "HubSpot answers malformed JSON",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				env.fake.InjectFault(hubspottest.Endpoint("token"), hubspottest.Fault{MalformedJSON: true})
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"}
			},
			code: codes.Unavailable, reason: scopeguardv1.ErrorReason_HUBSPOT_BAD_RESPONSE, retryInfo: true,
		},
		{
			name: "a transient 500 is retried away",
			setup: func(env *refreshEnv) *scopeguardv1.RefreshTokenRequest {
				env.fake.InjectFault(hubspottest.Endpoint("token"), hubspottest.Fault{Status: 500, Times: 1})
				return &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"}
			},
			code: codes.OK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newRefreshEnv(t)
			req := tt.setup(env)
			resp, err := env.client().RefreshToken(t.Context(), req)
			if tt.code == codes.OK {
				if err != nil || resp.GetAccessToken() == "" {
					t.Fatalf("RefreshToken = %v, %v; want a token", resp, err)
				}
				return
			}
			st := wantStatus(t, err, tt.code, tt.reason, nil)
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				if r, ok := d.(*errdetails.RetryInfo); ok {
					retry = r
				}
			}
			if (retry != nil) != tt.retryInfo {
				t.Errorf("RetryInfo present = %v, want %v (%v)", retry != nil, tt.retryInfo, st.Details())
			}
			env.assertNoSecrets(t, err, req.GetClientSecret())
		})
	}
}

func TestRefreshTokenMetrics(t *testing.T) {
	t.Parallel()
	env := newRefreshEnv(t)
	for range 2 {
		if _, err := env.client().RefreshToken(t.Context(), &scopeguardv1.RefreshTokenRequest{RefreshToken: env.refreshToken, App: "shop"}); err != nil {
			t.Fatal(err)
		}
	}
	body := scrape(t, env.metrics)
	for _, series := range []string{
		`scopeguard_refreshes_total{result="ok",source="upstream"} 1`,
		`scopeguard_refreshes_total{result="ok",source="cache"} 1`,
		`scopeguard_cache_lookups_total{cache="access_token",result="hit"} 1`,
		`scopeguard_hubspot_calls_total{endpoint="token",outcome="ok"} 1`,
	} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// scrape reads the metrics the way Prometheus does.
func scrape(t *testing.T, m *server.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d", rec.Code)
	}
	return rec.Body.String()
}
