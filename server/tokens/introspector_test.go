package tokens

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

func (e *testEnv) introspector(t testing.TB, client *hubspot.Client, hooks *sources) *Introspector {
	t.Helper()
	i, err := NewIntrospector(IntrospectorOptions{Client: client, Now: e.clock.Now, Hooks: Hooks{OnIntrospect: hooks.observe}})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestNewIntrospectorNeedsClient(t *testing.T) {
	t.Parallel()
	if _, err := NewIntrospector(IntrospectorOptions{}); err == nil {
		t.Fatal("NewIntrospector without a client succeeded")
	}
}

// TestIntrospectionIsCachedForTheTokensLifetime walks the clock through each
// kind of answer's cache lifetime, counting HubSpot calls.
func TestIntrospectionIsCachedForTheTokensLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		version   hubspot.OAuthVersion
		mint      func(env *testEnv) string
		endpoint  hubspottest.Endpoint
		active    bool
		stillHeld time.Duration // answer served from cache this long after
		refetched time.Duration // and fetched again this long after
	}{
		{"oauth token until its expiry", hubspot.OAuthVersion202603,
			func(env *testEnv) string { return env.srv.MintAccessToken(env.grant, epoch.Add(20*time.Minute)) },
			hubspottest.EndpointIntrospect, true, 19 * time.Minute, 20 * time.Minute},
		{"oauth token until its expiry (v1)", hubspot.OAuthVersionV1,
			func(env *testEnv) string { return env.srv.MintAccessToken(env.grant, epoch.Add(20*time.Minute)) },
			hubspottest.EndpointAccessTokenInfo, true, 19 * time.Minute, 20 * time.Minute},
		{"private-app token for the static TTL", hubspot.OAuthVersion202603,
			func(env *testEnv) string {
				return env.srv.MintPrivateAppToken(hubspottest.Grant{HubID: 9, Scopes: []string{"tickets"}})
			},
			hubspottest.EndpointPrivateAppTokenInfo, true, DefaultStaticTokenTTL - time.Second, DefaultStaticTokenTTL},
		{"inactive answer briefly", hubspot.OAuthVersion202603,
			func(env *testEnv) string {
				token := env.srv.MintPrivateAppToken(hubspottest.Grant{HubID: 9})
				env.srv.Revoke(token)
				return token
			},
			hubspottest.EndpointPrivateAppTokenInfo, false, DefaultInactiveTTL - time.Second, DefaultInactiveTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, hubspottest.Options{})
			var hooks sources
			i := env.introspector(t, env.client(t, tt.version), &hooks)
			token := hubspot.Secret(tt.mint(env))
			first, err := i.Introspect(context.Background(), env.app, token)
			if err != nil {
				t.Fatal(err)
			}
			if first.Active != tt.active {
				t.Fatalf("active = %v, want %v", first.Active, tt.active)
			}
			env.clock.Advance(tt.stillHeld)
			again, err := i.Introspect(context.Background(), env.app, token)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(first, again); diff != "" {
				t.Errorf("cached answer differs (-first +again):\n%s", diff)
			}
			if calls := env.srv.Calls(tt.endpoint); calls != 1 {
				t.Errorf("calls after %s = %d, want 1", tt.stillHeld, calls)
			}
			env.clock.Advance(tt.refetched - tt.stillHeld)
			if _, err := i.Introspect(context.Background(), env.app, token); err != nil {
				t.Fatal(err)
			}
			if calls := env.srv.Calls(tt.endpoint); calls != 2 {
				t.Errorf("calls after %s = %d, want 2", tt.refetched, calls)
			}
			if seen, _ := hooks.snapshot(); seen[SourceCache] != 1 || seen[SourceUpstream] != 2 {
				t.Errorf("hook sources = %v, want 1 cache hit and 2 upstream", seen)
			}
		})
	}
}

// TestExpiredTokenIsAnAnswer checks an OAuth token cached as active turns
// inactive once it expires.
func TestExpiredTokenIsAnAnswer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	i := env.introspector(t, env.client(t, hubspot.OAuthVersionV1), &sources{})
	token := hubspot.Secret(env.srv.MintAccessToken(env.grant, epoch.Add(time.Minute)))
	env.clock.Advance(2 * time.Minute)
	info, err := i.Introspect(context.Background(), env.app, token)
	if err != nil {
		t.Fatal(err)
	}
	want := &hubspot.TokenInfo{InactiveReason: hubspot.InactiveExpired, Credential: hubspot.CredentialOAuthAccessToken, ExpiresAt: epoch.Add(time.Minute)}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("info mismatch (-want +got):\n%s", diff)
	}
}

func TestNonBearerCredentialsNeedNoCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		token  string
		kind   hubspot.CredentialKind
		reason hubspot.InactiveReason
	}{
		{"refresh token", "na1-8649-43d7-456c-a15c-305ec7f11101", hubspot.CredentialRefreshToken, hubspot.InactiveNotBearerToken},
		{"developer api key", "9dd2ad79-efc6-4bba-9459-156720ba23e0", hubspot.CredentialDeveloperAPIKey, hubspot.InactiveNotBearerToken},
		{"personal access key", "CiRuYTEtMDAwMC0xMTExLTIyMjItMzMzMy00NDQ0NTU1NTY2NjYQ9tCdGBiyi5Ip", hubspot.CredentialPersonalAccessKey, hubspot.InactiveNotBearerToken},
		// The kind reported is the token's behind the extra prefix.
		{"doubled bearer prefix", "Bearer pat-na1-70271006-11d8-4a5d-9169-b12f4327e5b0", hubspot.CredentialPrivateAppToken, hubspot.InactiveBearerPrefixed},
		{"empty", "  ", hubspot.CredentialEmpty, hubspot.InactiveNotBearerToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, hubspottest.Options{})
			var hooks sources
			i := env.introspector(t, env.client(t, hubspot.OAuthVersion202603), &hooks)
			info, err := i.Introspect(context.Background(), env.app, hubspot.Secret(tt.token))
			if err != nil {
				t.Fatal(err)
			}
			want := &hubspot.TokenInfo{InactiveReason: tt.reason, Credential: tt.kind}
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("info mismatch (-want +got):\n%s", diff)
			}
			for _, ep := range []hubspottest.Endpoint{hubspottest.EndpointIntrospect, hubspottest.EndpointPrivateAppTokenInfo} {
				if calls := env.srv.Calls(ep); calls != 0 {
					t.Errorf("%s calls = %d, want 0", ep, calls)
				}
			}
			if seen, _ := hooks.snapshot(); seen[SourceShape] != 1 {
				t.Errorf("hook sources = %v, want one shape answer", seen)
			}
		})
	}
}

func TestRefreshTokenOfUnknownShapeIsNotABearerToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	env.srv.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Status: 200,
		Body: `{"active":true,"token_use":"refresh_token","hub_id":1,"scopes":["oauth"]}`})
	i := env.introspector(t, env.client(t, hubspot.OAuthVersion202603), &sources{})
	info, err := i.Introspect(context.Background(), env.app, "some-future-refresh-token-format-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	want := &hubspot.TokenInfo{InactiveReason: hubspot.InactiveNotBearerToken, Credential: hubspot.CredentialRefreshToken}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("info mismatch (-want +got):\n%s", diff)
	}
}

func TestConcurrentIntrospectionsShareOneCall(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	var hooks sources
	i := env.introspector(t, env.client(t, hubspot.OAuthVersion202603), &hooks)
	token := hubspot.Secret(env.srv.MintAccessToken(env.grant, time.Time{}))
	key := i.store.Key("introspect", env.app.ClientID, token.Reveal()).name
	release := make(chan struct{})
	env.srv.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Block: release, Times: 1})
	const callers = 50
	infos := make([]*hubspot.TokenInfo, callers)
	var wg sync.WaitGroup
	for n := range callers {
		wg.Go(func() {
			var err error
			if infos[n], err = i.Introspect(context.Background(), env.app, token); err != nil {
				t.Errorf("caller %d: %v", n, err)
			}
		})
	}
	waitFor(t, "every caller on one flight", func() bool { return i.flights.waiting(key) == callers })
	close(release)
	wg.Wait()
	for n := range callers {
		if diff := cmp.Diff(infos[0], infos[n]); diff != "" || !infos[n].Active {
			t.Fatalf("caller %d's answer differs or is inactive:\n%s", n, diff)
		}
	}
	if calls := env.srv.Calls(hubspottest.EndpointIntrospect); calls != 1 {
		t.Errorf("upstream calls = %d, want 1", calls)
	}
	if seen, _ := hooks.snapshot(); seen[SourceUpstream] != 1 || seen[SourceShared] != callers-1 {
		t.Errorf("hook sources = %v, want 1 upstream and %d shared", seen, callers-1)
	}
}

func TestIntrospectionErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	i := env.introspector(t, env.client(t, hubspot.OAuthVersion202603, func(o *hubspot.Options) { o.Retry.MaxAttempts = 1 }), &sources{})
	token := hubspot.Secret(env.srv.MintAccessToken(env.grant, time.Time{}))
	env.srv.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Status: 502, Times: 1})
	_, err := i.Introspect(context.Background(), env.app, token)
	var unavailable *hubspot.UnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("error = %v, want *hubspot.UnavailableError", err)
	}
	info, err := i.Introspect(context.Background(), env.app, token)
	if err != nil || !info.Active {
		t.Fatalf("second call = %v, %v; want an active answer", info, err)
	}
}

func TestIntrospectionNeedsAppCredentialsWith202603(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	i := env.introspector(t, env.client(t, hubspot.OAuthVersion202603), &sources{})
	_, err := i.Introspect(context.Background(), hubspot.AppCredentials{}, hubspot.Secret(env.srv.MintAccessToken(env.grant, time.Time{})))
	var target *hubspot.AppCredentialsRequiredError
	if !errors.As(err, &target) {
		t.Fatalf("error = %v, want *hubspot.AppCredentialsRequiredError", err)
	}
}

// TestAnswersAreKeptPerApp checks one app's view of a token (inactive: not
// its token) is not served to the app that owns it.
func TestAnswersAreKeptPerApp(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	env.srv.AddApp(hubspottest.App{ClientID: "other-app", ClientSecret: "other-secret"})
	i := env.introspector(t, env.client(t, hubspot.OAuthVersion202603), &sources{})
	token := hubspot.Secret(env.srv.MintAccessToken(env.grant, time.Time{}))
	other, err := i.Introspect(context.Background(), hubspot.AppCredentials{ClientID: "other-app", ClientSecret: "other-secret"}, token)
	if err != nil || other.Active {
		t.Fatalf("other app's view = %v, %v; want inactive", other, err)
	}
	own, err := i.Introspect(context.Background(), env.app, " "+token+"\n")
	if err != nil || !own.Active {
		t.Fatalf("owning app's view (token with surrounding whitespace) = %v, %v; want active", own, err)
	}
}
