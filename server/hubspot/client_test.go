package hubspot_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

var versions = []hubspot.OAuthVersion{hubspot.OAuthVersion202603, hubspot.OAuthVersionV1}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    hubspot.Options
		wantErr bool
	}{
		{"zero options use production defaults", hubspot.Options{}, false},
		{"local fake", hubspot.Options{BaseURL: "http://127.0.0.1:8080/"}, false},
		{"explicit v1", hubspot.Options{OAuthVersion: hubspot.OAuthVersionV1}, false},
		{"relative URL", hubspot.Options{BaseURL: "/oauth"}, true},
		{"other scheme", hubspot.Options{BaseURL: "ftp://api.hubapi.com"}, true},
		{"credentials in URL", hubspot.Options{BaseURL: "https://user:pw@api.hubapi.com"}, true},
		{"query in URL", hubspot.Options{BaseURL: "https://api.hubapi.com?hapikey=x"}, true},
		{"unknown oauth version", hubspot.Options{OAuthVersion: "v3"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := hubspot.New(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New() error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && c.OAuthVersion() == "" {
				t.Error("OAuthVersion() is empty")
			}
		})
	}
}

func TestParseOAuthVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    hubspot.OAuthVersion
		wantErr bool
	}{
		{"", hubspot.OAuthVersion202603, false},
		{"2026-03", hubspot.OAuthVersion202603, false},
		{" v1 ", hubspot.OAuthVersionV1, false},
		{"v3", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := hubspot.ParseOAuthVersion(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseOAuthVersion(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRefreshAccessToken(t *testing.T) {
	t.Parallel()
	for _, version := range versions {
		for _, omit := range []bool{false, true} {
			name := string(version) + "/with metadata"
			if omit {
				name = string(version) + "/without metadata as before 2025-08"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				env := newTestEnvWith(t, hubspottest.Options{OmitTokenMetadata: omit})
				refresh := env.srv.MintRefreshToken(env.grant)

				got, err := env.client(t, version).RefreshAccessToken(context.Background(), env.app, hubspot.Secret(refresh))
				if err != nil {
					t.Fatalf("RefreshAccessToken: %v", err)
				}
				want := &hubspot.TokenResponse{
					RefreshToken: hubspot.Secret(refresh), ExpiresIn: 30 * time.Minute,
					ExpiresAt: epoch.Add(30 * time.Minute), TokenType: "bearer",
				}
				if !omit {
					want.HubID, want.UserID, want.Scopes = 777, 31, []string{"crm.objects.contacts.read", "crm.objects.deals.read", "oauth"}
				}
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(hubspot.TokenResponse{}, "AccessToken")); diff != "" {
					t.Errorf("response mismatch (-want +got):\n%s", diff)
				}
				if kind := hubspot.ClassifyCredential(got.AccessToken.Reveal()).Kind; kind != hubspot.CredentialOAuthAccessToken {
					t.Errorf("access token shape = %v, want an OAuth access token", kind)
				}
				reqs := env.srv.Requests(hubspottest.EndpointToken)
				if len(reqs) != 1 {
					t.Fatalf("token endpoint got %d requests, want 1", len(reqs))
				}
				wantForm := url.Values{
					"grant_type": {"refresh_token"}, "client_id": {testClientID}, "client_secret": {testClientSecret},
					"refresh_token": {refresh}, "redirect_uri": {testRedirectURI},
				}
				if diff := cmp.Diff(wantForm, reqs[0].Form); diff != "" {
					t.Errorf("form mismatch (-want +got):\n%s", diff)
				}
				if reqs[0].Version != string(version) || len(reqs[0].Query) != 0 {
					t.Errorf("request version %q query %v; want %q and no query (credentials only in the body)", reqs[0].Version, reqs[0].Query, version)
				}
			})
		}
	}
}

func TestRefreshAccessTokenAgainstFakeState(t *testing.T) {
	t.Parallel()
	for _, version := range versions {
		tests := []struct {
			name    string
			prepare func(env *testEnv) (hubspot.AppCredentials, string)
			check   func(t *testing.T, err error)
		}{
			{
				name: "revoked refresh token",
				prepare: func(env *testEnv) (hubspot.AppCredentials, string) {
					token := env.srv.MintRefreshToken(env.grant)
					env.srv.Revoke(token)
					return env.app, token
				},
				check: wantRefreshTokenError,
			},
			{
				name: "refresh token of another app",
				prepare: func(env *testEnv) (hubspot.AppCredentials, string) {
					env.srv.AddApp(hubspottest.App{ClientID: "other-app", ClientSecret: "other-secret"})
					g := env.grant
					g.ClientID = "other-app"
					return env.app, env.srv.MintRefreshToken(g)
				},
				check: wantRefreshTokenError,
			},
			{
				name: "wrong client secret",
				prepare: func(env *testEnv) (hubspot.AppCredentials, string) {
					app := env.app
					app.ClientSecret = "not-the-secret"
					return app, env.srv.MintRefreshToken(env.grant)
				},
				check: func(t *testing.T, err error) {
					var target *hubspot.ClientCredentialsError
					if !errors.As(err, &target) || target.Status != "BAD_CLIENT_ID" {
						t.Errorf("error = %v, want *ClientCredentialsError with BAD_CLIENT_ID", err)
					}
				},
			},
		}
		for _, tt := range tests {
			t.Run(string(version)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				env := newTestEnv(t)
				app, token := tt.prepare(env)
				_, err := env.client(t, version).RefreshAccessToken(context.Background(), app, hubspot.Secret(token))
				tt.check(t, err)
				if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 1 {
					t.Errorf("token endpoint calls = %d, want 1 (4xx is never retried)", calls)
				}
			})
		}
	}
}

func wantRefreshTokenError(t *testing.T, err error) {
	t.Helper()
	var target *hubspot.RefreshTokenError
	if !errors.As(err, &target) || target.Status != "BAD_REFRESH_TOKEN" {
		t.Errorf("error = %v, want *RefreshTokenError with BAD_REFRESH_TOKEN", err)
	}
}

func TestRefreshAccessTokenNeedsAppCredentials(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	_, err := env.client(t, hubspot.OAuthVersion202603).RefreshAccessToken(context.Background(),
		hubspot.AppCredentials{ClientID: testClientID}, "na1-8649-43d7-456c-a15c-305ec7f11101")
	want := &hubspot.AppCredentialsRequiredError{Endpoint: hubspot.EndpointToken, OAuthVersion: hubspot.OAuthVersion202603}
	var got *hubspot.AppCredentialsRequiredError
	if !errors.As(err, &got) {
		t.Fatalf("error = %v, want *AppCredentialsRequiredError", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error mismatch (-want +got):\n%s", diff)
	}
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 0 {
		t.Errorf("token endpoint calls = %d, want 0", calls)
	}
}

// TestRefreshRejectionBodies feeds HubSpot's documented token-endpoint error
// bodies (testdata) to the client and checks the typed error.
func TestRefreshRejectionBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		file   string
		want   error
	}{
		{"legacy BAD_REFRESH_TOKEN", 400, "bad_refresh_token_legacy.json", &hubspot.RefreshTokenError{Rejection: hubspot.Rejection{
			HTTPStatus: 400, Status: "BAD_REFRESH_TOKEN", Message: "missing or invalid refresh token"}}},
		{"standardised invalid_grant with legacy fields", 400, "bad_refresh_token_standard.json", &hubspot.RefreshTokenError{Rejection: hubspot.Rejection{
			HTTPStatus: 400, Status: "BAD_REFRESH_TOKEN", Code: "invalid_grant", Message: "refresh token is invalid, expired or revoked"}}},
		{"invalid_grant alone", 400, "invalid_grant_only.json", &hubspot.RefreshTokenError{Rejection: hubspot.Rejection{
			HTTPStatus: 400, Code: "invalid_grant", Message: "refresh token is invalid, expired or revoked"}}},
		{"legacy BAD_CLIENT_ID", 400, "bad_client_id_legacy.json", &hubspot.ClientCredentialsError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{
			HTTPStatus: 400, Status: "BAD_CLIENT_ID", Message: "missing or invalid client id", CorrelationID: "4b2d4f1e-9c1a-4c63-9d0e-0d7f1b8a2c11"}}},
		{"standardised invalid_client", 401, "invalid_client_standard.json", &hubspot.ClientCredentialsError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{
			HTTPStatus: 401, Status: "BAD_CLIENT_ID", Code: "invalid_client", Message: "client authentication failed"}}},
		{"401 without a body", 401, "", &hubspot.ClientCredentialsError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{HTTPStatus: 401}}},
		{"another grant problem", 400, "bad_auth_code_legacy.json", &hubspot.RequestRejectedError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{
			HTTPStatus: 400, Status: "BAD_AUTH_CODE", Message: "missing or unknown auth code"}}},
		{"403 is refused, not retried", 403, "", &hubspot.RequestRejectedError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{HTTPStatus: 403}}},
		{"404 html page", 404, "bad_gateway.html", &hubspot.RequestRejectedError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{HTTPStatus: 404}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			fault := hubspottest.Fault{Status: tt.status, Body: " "}
			if tt.file != "" {
				fault.Body = readTestdata(t, tt.file)
			}
			env.srv.InjectFault(hubspottest.EndpointToken, fault)
			_, err := env.client(t, hubspot.OAuthVersion202603).RefreshAccessToken(context.Background(), env.app, "na1-8649-43d7-456c-a15c-305ec7f11101")
			if diff := cmp.Diff(tt.want, err); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 1 {
				t.Errorf("calls = %d, want 1", calls)
			}
		})
	}
}

func TestIntrospectAccessToken(t *testing.T) {
	t.Parallel()
	activeInfo := &hubspot.TokenInfo{
		Active: true, Credential: hubspot.CredentialOAuthAccessToken, TokenUse: "access_token",
		HubID: 777, AppID: 4242, UserID: 31, User: "owner@shop.example", HubDomain: "shop.example",
		Scopes: []string{"crm.objects.contacts.read", "crm.objects.deals.read", "oauth"}, ExpiresAt: epoch.Add(30 * time.Minute),
	}
	activeV2026 := *activeInfo
	activeV2026.ClientID = testClientID
	tests := []struct {
		name    string
		version hubspot.OAuthVersion
		token   func(env *testEnv) string
		fault   *hubspottest.Fault
		app     func(env *testEnv) hubspot.AppCredentials
		want    *hubspot.TokenInfo
		wantErr error
	}{
		{name: "active token", version: hubspot.OAuthVersion202603, want: &activeV2026},
		{name: "active token", version: hubspot.OAuthVersionV1, want: activeInfo},
		{
			name: "expired token", version: hubspot.OAuthVersion202603,
			token: func(env *testEnv) string { return env.srv.MintAccessToken(env.grant, epoch.Add(-5*time.Minute)) },
			want:  &hubspot.TokenInfo{InactiveReason: hubspot.InactiveRevokedOrUnknown, Credential: hubspot.CredentialOAuthAccessToken},
		},
		{
			name: "expired token says when", version: hubspot.OAuthVersionV1,
			token: func(env *testEnv) string { return env.srv.MintAccessToken(env.grant, epoch.Add(-5*time.Minute)) },
			want: &hubspot.TokenInfo{InactiveReason: hubspot.InactiveExpired, Credential: hubspot.CredentialOAuthAccessToken,
				ExpiresAt: epoch.Add(-5 * time.Minute)},
		},
		{
			name: "revoked token", version: hubspot.OAuthVersionV1,
			token: func(env *testEnv) string {
				token := env.srv.MintAccessToken(env.grant, time.Time{})
				env.srv.Revoke(token)
				return token
			},
			want: &hubspot.TokenInfo{InactiveReason: hubspot.InactiveRevokedOrUnknown, Credential: hubspot.CredentialOAuthAccessToken},
		},
		{
			name: "private-app token sent to the OAuth endpoint", version: hubspot.OAuthVersionV1,
			token: func(env *testEnv) string { return env.srv.MintPrivateAppToken(env.grant) },
			want:  &hubspot.TokenInfo{InactiveReason: hubspot.InactiveMalformed, Credential: hubspot.CredentialPrivateAppToken},
		},
		{
			name: "token of another app", version: hubspot.OAuthVersion202603,
			token: func(env *testEnv) string {
				env.srv.AddApp(hubspottest.App{ClientID: "other-app", ClientSecret: "other-secret"})
				g := env.grant
				g.ClientID = "other-app"
				return env.srv.MintAccessToken(g, time.Time{})
			},
			want: &hubspot.TokenInfo{InactiveReason: hubspot.InactiveRevokedOrUnknown, Credential: hubspot.CredentialOAuthAccessToken},
		},
		{
			name: "refresh token given as access token", version: hubspot.OAuthVersion202603,
			token: func(env *testEnv) string { return env.srv.MintRefreshToken(env.grant) },
			want: &hubspot.TokenInfo{Active: true, Credential: hubspot.CredentialRefreshToken, TokenUse: "refresh_token",
				HubID: 777, AppID: 4242, UserID: 31, User: "owner@shop.example", HubDomain: "shop.example", ClientID: testClientID,
				Scopes: []string{"crm.objects.contacts.read", "crm.objects.deals.read", "oauth"}},
		},
		{
			name: "validation error about the token", version: hubspot.OAuthVersion202603,
			fault: &hubspottest.Fault{Status: 400, Body: "introspect_token_invalid.json"},
			want:  &hubspot.TokenInfo{InactiveReason: hubspot.InactiveRevokedOrUnknown, Credential: hubspot.CredentialOAuthAccessToken},
		},
		{
			name: "expired authentication body", version: hubspot.OAuthVersionV1,
			fault: &hubspottest.Fault{Status: 401, Body: "expired_authentication.json"},
			want: &hubspot.TokenInfo{InactiveReason: hubspot.InactiveExpired, Credential: hubspot.CredentialOAuthAccessToken,
				ExpiresAt: time.Date(2026, 11, 20, 10, 15, 0, 0, time.UTC)},
		},
		{
			name: "wrong format body", version: hubspot.OAuthVersionV1,
			fault: &hubspottest.Fault{Status: 400, Body: "wrong_format.json"},
			want:  &hubspot.TokenInfo{InactiveReason: hubspot.InactiveMalformed, Credential: hubspot.CredentialOAuthAccessToken},
		},
		{
			name: "wrong client secret", version: hubspot.OAuthVersion202603,
			app: func(env *testEnv) hubspot.AppCredentials {
				app := env.app
				app.ClientSecret = "wrong"
				return app
			},
			wantErr: &hubspot.ClientCredentialsError{Endpoint: hubspot.EndpointIntrospect, Rejection: hubspot.Rejection{
				HTTPStatus: 400, Status: "BAD_CLIENT_ID", Code: "invalid_client", Message: "missing or invalid client id or secret"}},
		},
		{
			name: "no app credentials", version: hubspot.OAuthVersion202603,
			app:     func(*testEnv) hubspot.AppCredentials { return hubspot.AppCredentials{} },
			wantErr: &hubspot.AppCredentialsRequiredError{Endpoint: hubspot.EndpointIntrospect, OAuthVersion: hubspot.OAuthVersion202603},
		},
		{
			name: "no app credentials needed", version: hubspot.OAuthVersionV1,
			app:  func(*testEnv) hubspot.AppCredentials { return hubspot.AppCredentials{} },
			want: activeInfo,
		},
		{
			name: "403 is an error, not an answer", version: hubspot.OAuthVersion202603,
			fault:   &hubspottest.Fault{Status: 403, Body: " "},
			wantErr: &hubspot.RequestRejectedError{Endpoint: hubspot.EndpointIntrospect, Rejection: hubspot.Rejection{HTTPStatus: 403}},
		},
		{
			name: "answer without active", version: hubspot.OAuthVersion202603,
			fault:   &hubspottest.Fault{Status: 200, Body: `{"hub_id": 1}`},
			wantErr: &hubspot.MalformedResponseError{Endpoint: hubspot.EndpointIntrospect, Status: 200, Reason: "body is not an introspection response"},
		},
		{
			name: "answer without expires_in", version: hubspot.OAuthVersionV1,
			fault:   &hubspottest.Fault{Status: 200, Body: `{"hub_id": 1}`},
			wantErr: &hubspot.MalformedResponseError{Endpoint: hubspot.EndpointAccessTokenInfo, Status: 200, Reason: "body is not access-token metadata"},
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.version)+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			token := env.srv.MintAccessToken(env.grant, time.Time{})
			if tt.token != nil {
				token = tt.token(env)
			}
			app := env.app
			if tt.app != nil {
				app = tt.app(env)
			}
			if tt.fault != nil {
				fault := *tt.fault
				if len(fault.Body) > 5 && fault.Body[0] != '{' {
					fault.Body = readTestdata(t, fault.Body)
				}
				env.srv.InjectFault(hubspottest.AnyEndpoint, fault)
			}
			got, err := env.client(t, tt.version).IntrospectAccessToken(context.Background(), app, hubspot.Secret(token))
			// The fake's correlation ids are random.
			if diff := cmp.Diff(tt.wantErr, err, cmpopts.IgnoreFields(hubspot.Rejection{}, "CorrelationID")); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("info mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIntrospectAccessTokenRequests(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	token := env.srv.MintAccessToken(env.grant, time.Time{})
	ctx := context.Background()
	if _, err := env.client(t, hubspot.OAuthVersion202603).IntrospectAccessToken(ctx, env.app, hubspot.Secret(token)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.client(t, hubspot.OAuthVersionV1).IntrospectAccessToken(ctx, env.app, hubspot.Secret(token)); err != nil {
		t.Fatal(err)
	}
	introspect := env.srv.Requests(hubspottest.EndpointIntrospect)
	wantForm := url.Values{"client_id": {testClientID}, "client_secret": {testClientSecret}, "token": {token}, "token_type_hint": {"access_token"}}
	if len(introspect) != 1 {
		t.Fatalf("introspect requests = %d, want 1", len(introspect))
	}
	if diff := cmp.Diff(wantForm, introspect[0].Form); diff != "" {
		t.Errorf("2026-03 form mismatch (-want +got):\n%s", diff)
	}
	v1 := env.srv.Requests(hubspottest.EndpointAccessTokenInfo)
	if len(v1) != 1 || v1[0].Path != "/oauth/v1/access-tokens/"+token || v1[0].Header.Get("Authorization") != "" {
		t.Errorf("v1 requests = %+v, want one GET of the token's path without credentials", v1)
	}
}

func TestIntrospectPrivateAppToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   func(env *testEnv) string
		fault   *hubspottest.Fault
		want    *hubspot.TokenInfo
		wantErr error
	}{
		{
			name: "active token",
			want: &hubspot.TokenInfo{Active: true, Credential: hubspot.CredentialPrivateAppToken, HubID: 777, AppID: 99, UserID: 31,
				Scopes: []string{"crm.objects.contacts.read", "crm.objects.deals.read", "oauth"}},
		},
		{
			name: "rotated token",
			token: func(env *testEnv) string {
				token := env.srv.MintPrivateAppToken(hubspottest.Grant{HubID: 1})
				env.srv.Revoke(token)
				return token
			},
			want: &hubspot.TokenInfo{InactiveReason: hubspot.InactiveRevokedOrUnknown, Credential: hubspot.CredentialPrivateAppToken},
		},
		{
			name:    "answer without hubId",
			fault:   &hubspottest.Fault{Status: 200, Body: `{"userId": 1, "scopes": []}`},
			wantErr: &hubspot.MalformedResponseError{Endpoint: hubspot.EndpointPrivateAppTokenInfo, Status: 200, Reason: "body is not private-app token metadata"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			g := env.grant
			g.ClientID, g.AppID = "", 99
			token := env.srv.MintPrivateAppToken(g)
			if tt.token != nil {
				token = tt.token(env)
			}
			if tt.fault != nil {
				env.srv.InjectFault(hubspottest.EndpointPrivateAppTokenInfo, *tt.fault)
			}
			got, err := env.client(t, hubspot.OAuthVersion202603).IntrospectPrivateAppToken(context.Background(), hubspot.Secret(token))
			if diff := cmp.Diff(tt.wantErr, err); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("info mismatch (-want +got):\n%s", diff)
			}
			reqs := env.srv.Requests(hubspottest.EndpointPrivateAppTokenInfo)
			if len(reqs) != 1 || reqs[0].JSON["tokenKey"] != token || reqs[0].Header.Get("Authorization") != "Bearer "+token {
				t.Errorf("request = %+v, want tokenKey and bearer header set to the token", reqs)
			}
		})
	}
}
