package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

func TestNewRefresherNeedsClient(t *testing.T) {
	t.Parallel()
	if _, err := NewRefresher(RefresherOptions{}); err == nil {
		t.Fatal("NewRefresher without a client succeeded")
	}
}

// TestConcurrentRefreshesShareOneCall is the acceptance test: 200
// concurrent refreshes of one token make exactly one upstream request and get
// 200 identical answers; a later call within validity makes none; force
// makes one more.
func TestConcurrentRefreshesShareOneCall(t *testing.T) {
	t.Parallel()
	for _, version := range []hubspot.OAuthVersion{hubspot.OAuthVersion202603, hubspot.OAuthVersionV1} {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, hubspottest.Options{})
			var hooks sources
			r := env.refresher(t, env.client(t, version), func(o *RefresherOptions) { o.Hooks.OnRefresh = hooks.observe })
			refresh := hubspot.Secret(env.srv.MintRefreshToken(env.grant))
			req := RefreshRequest{App: env.app, RefreshToken: refresh}
			key := r.store.Key("refresh", env.app.ClientID, env.app.ClientSecret.Reveal(), refresh.Reveal()).name

			// Hold HubSpot's answer until every caller waits on the one call.
			release := make(chan struct{})
			env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: release, Times: 1})
			const callers = 200
			tokens := make([]*Token, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() { tokens[i], errs[i] = r.Refresh(context.Background(), req) })
			}
			waitFor(t, "200 callers on one flight", func() bool { return r.flights.waiting(key) == callers })
			close(release)
			wg.Wait()

			if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 1 {
				t.Fatalf("upstream token calls = %d, want 1", calls)
			}
			var leaders int
			for i := range callers {
				if errs[i] != nil {
					t.Fatalf("caller %d: %v", i, errs[i])
				}
				if !tokens[i].Shared {
					leaders++
				}
				want := *tokens[0]
				want.Shared = tokens[i].Shared
				if diff := cmp.Diff(&want, tokens[i]); diff != "" {
					t.Fatalf("caller %d's answer differs (-caller 0 +caller %d):\n%s", i, i, diff)
				}
			}
			if leaders != 1 {
				t.Errorf("%d answers not shared, want exactly 1 (the caller that started the refresh)", leaders)
			}
			if diff := cmp.Diff([]string{"crm.objects.contacts.read", "crm.objects.deals.read", "oauth"}, tokens[0].Scopes); diff != "" {
				t.Errorf("scopes mismatch (-want +got):\n%s", diff)
			}

			env.clock.Advance(20 * time.Minute) // 10 minutes of validity left, above the 5-minute skew
			cached, err := r.Refresh(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 1 || !cached.Shared || cached.AccessToken != tokens[0].AccessToken {
				t.Errorf("call within validity: upstream calls = %d, shared = %v, same token = %v; want 1, true, true",
					calls, cached.Shared, cached.AccessToken == tokens[0].AccessToken)
			}

			forced, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: refresh, Force: true})
			if err != nil {
				t.Fatal(err)
			}
			if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 2 || forced.Shared || forced.AccessToken == tokens[0].AccessToken {
				t.Errorf("forced call: upstream calls = %d, shared = %v, new token = %v; want 2, false, true",
					calls, forced.Shared, forced.AccessToken != tokens[0].AccessToken)
			}

			env.clock.Advance(26 * time.Minute) // the forced token has 4 minutes left: inside the skew
			if _, err := r.Refresh(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 3 {
				t.Errorf("call inside the skew: upstream calls = %d, want 3", calls)
			}
			seen, failures := hooks.snapshot()
			if diff := cmp.Diff(map[Source]int{SourceUpstream: 3, SourceShared: callers - 1, SourceCache: 1}, seen); diff != "" || failures != 0 {
				t.Errorf("hook sources mismatch (-want +got):\n%s\nfailures = %d", diff, failures)
			}
		})
	}
}

// TestDifferentTokensDoNotSerialize holds one refresh at HubSpot and checks a
// refresh of another token completes meanwhile.
func TestDifferentTokensDoNotSerialize(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603))
	release := make(chan struct{})
	env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: release, Times: 1})
	held := make(chan error, 1)
	go func() {
		_, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(env.srv.MintRefreshToken(env.grant))})
		held <- err
	}()
	waitFor(t, "the first refresh to reach HubSpot", func() bool { return env.srv.Calls(hubspottest.EndpointToken) == 1 })

	other, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(env.srv.MintRefreshToken(env.grant))})
	if err != nil || other.Shared {
		t.Fatalf("refresh of another token while the first is held: %v, shared %v; want its own answer", err, other != nil && other.Shared)
	}
	select {
	case err := <-held:
		t.Fatalf("the held refresh finished early: %v", err)
	default:
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatalf("held refresh: %v", err)
	}
}

// TestCancelledCallerLeavesAnswerForOthers cancels the caller that started
// the refresh while another waits on it.
func TestCancelledCallerLeavesAnswerForOthers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603))
	refresh := hubspot.Secret(env.srv.MintRefreshToken(env.grant))
	req := RefreshRequest{App: env.app, RefreshToken: refresh}
	key := r.store.Key("refresh", env.app.ClientID, env.app.ClientSecret.Reveal(), refresh.Reveal()).name
	release := make(chan struct{})
	env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: release, Times: 1})

	firstCtx, cancelFirst := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := r.Refresh(firstCtx, req)
		first <- err
	}()
	waitFor(t, "the first caller's request at HubSpot", func() bool { return env.srv.Calls(hubspottest.EndpointToken) == 1 })
	second := make(chan *Token, 1)
	go func() {
		tok, err := r.Refresh(context.Background(), req)
		if err != nil {
			t.Errorf("second caller: %v", err)
		}
		second <- tok
	}()
	waitFor(t, "the second caller to join", func() bool { return r.flights.waiting(key) == 2 })

	cancelFirst()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first caller error = %v, want context.Canceled", err)
	}
	close(release)
	if tok := <-second; tok == nil || tok.AccessToken == "" || !tok.Shared {
		t.Errorf("second caller got %v, want the shared token", tok)
	}
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 1 {
		t.Errorf("upstream calls = %d, want 1", calls)
	}
}

// TestLastCallerLeavingCancelsTheCall checks a refresh nobody waits for any
// more is abandoned, and the next caller starts afresh.
func TestLastCallerLeavingCancelsTheCall(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603))
	refresh := hubspot.Secret(env.srv.MintRefreshToken(env.grant))
	req := RefreshRequest{App: env.app, RefreshToken: refresh}
	key := r.store.Key("refresh", env.app.ClientID, env.app.ClientSecret.Reveal(), refresh.Reveal()).name
	env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: make(chan struct{}), Times: 1}) // never released

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Refresh(ctx, req)
		done <- err
	}()
	waitFor(t, "the request at HubSpot", func() bool { return env.srv.Calls(hubspottest.EndpointToken) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if n := r.flights.waiting(key); n != 0 {
		t.Fatalf("waiting = %d after the only caller left, want 0", n)
	}
	tok, err := r.Refresh(context.Background(), req)
	if err != nil || tok.Shared {
		t.Fatalf("next caller: %v (shared %v), want a fresh refresh of its own", err, tok != nil && tok.Shared)
	}
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 2 {
		t.Errorf("upstream calls = %d, want 2", calls)
	}
}

// TestRefreshFaults checks each HubSpot failure surfaces as the documented
// typed error and is not cached: the next call goes upstream again.
func TestRefreshFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault hubspottest.Fault
		check func(error) bool
	}{
		{"bad refresh token", hubspottest.Fault{Status: 400, Body: `{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token"}`},
			func(err error) bool { var e *hubspot.RefreshTokenError; return errors.As(err, &e) }},
		{"bad client", hubspottest.Fault{Status: 400, Body: `{"error":"invalid_client","status":"BAD_CLIENT_ID","message":"bad"}`},
			func(err error) bool { var e *hubspot.ClientCredentialsError; return errors.As(err, &e) }},
		{"rate limited", hubspottest.Fault{Status: 429},
			func(err error) bool {
				var e *hubspot.RateLimitError
				return errors.As(err, &e) && e.Policy == "TEN_SECONDLY_ROLLING"
			}},
		{"server error", hubspottest.Fault{Status: 503},
			func(err error) bool { var e *hubspot.UnavailableError; return errors.As(err, &e) && e.Status == 503 }},
		{"connection reset", hubspottest.Fault{ResetConnection: true},
			func(err error) bool { var e *hubspot.UnavailableError; return errors.As(err, &e) && e.Status == 0 }},
		{"malformed JSON", hubspottest.Fault{MalformedJSON: true},
			func(err error) bool { var e *hubspot.MalformedResponseError; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, hubspottest.Options{})
			var hooks sources
			r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603, func(o *hubspot.Options) { o.Retry.MaxAttempts = 1 }),
				func(o *RefresherOptions) { o.Hooks.OnRefresh = hooks.observe })
			fault := tt.fault
			fault.Times = 1
			env.srv.InjectFault(hubspottest.EndpointToken, fault)
			req := RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(env.srv.MintRefreshToken(env.grant))}
			if _, err := r.Refresh(context.Background(), req); !tt.check(err) {
				t.Fatalf("error = %v (%T), not the documented type", err, err)
			}
			if _, err := r.Refresh(context.Background(), req); err != nil {
				t.Fatalf("second call after the fault: %v", err)
			}
			if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 2 {
				t.Errorf("upstream calls = %d, want 2 (a failure is never cached)", calls)
			}
			if seen, failures := hooks.snapshot(); seen[SourceUpstream] != 2 || failures != 1 {
				t.Errorf("hooks saw %v with %d failures, want 2 upstream answers, 1 failed", seen, failures)
			}
		})
	}
}

func TestRevokedRefreshTokenFailsEveryTime(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603))
	refresh := env.srv.MintRefreshToken(env.grant)
	env.srv.Revoke(refresh)
	for i := range 2 {
		_, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(refresh)})
		var target *hubspot.RefreshTokenError
		if !errors.As(err, &target) {
			t.Fatalf("call %d: error = %v, want *hubspot.RefreshTokenError", i, err)
		}
	}
}

func TestWrongSecretIsNotServedFromCache(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603))
	refresh := hubspot.Secret(env.srv.MintRefreshToken(env.grant))
	if _, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	wrong := env.app
	wrong.ClientSecret = "guessed"
	_, err := r.Refresh(context.Background(), RefreshRequest{App: wrong, RefreshToken: refresh})
	var target *hubspot.ClientCredentialsError
	if !errors.As(err, &target) {
		t.Fatalf("error = %v, want *hubspot.ClientCredentialsError", err)
	}
}

func TestShortLivedTokensAreNotCached(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{AccessTokenLifetime: 4 * time.Minute}) // below the 5-minute skew
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603))
	req := RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(env.srv.MintRefreshToken(env.grant))}
	for range 2 {
		if _, err := r.Refresh(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 2 {
		t.Errorf("upstream calls = %d, want 2", calls)
	}
}

// TestScopesFromIntrospection covers token responses without scopes and hub
// id (HubSpot before 2025-08): they come from introspection instead, and when
// that fails the token is still returned.
func TestScopesFromIntrospection(t *testing.T) {
	t.Parallel()
	for _, version := range []hubspot.OAuthVersion{hubspot.OAuthVersion202603, hubspot.OAuthVersionV1} {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, hubspottest.Options{OmitTokenMetadata: true})
			r := env.refresher(t, env.client(t, version))
			tok, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(env.srv.MintRefreshToken(env.grant))})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"crm.objects.contacts.read", "crm.objects.deals.read", "oauth"}, tok.Scopes); diff != "" || tok.HubID != 777 {
				t.Errorf("scopes mismatch (-want +got):\n%s\nhub id = %d, want 777", diff, tok.HubID)
			}
			introspections := env.srv.Calls(hubspottest.EndpointIntrospect) + env.srv.Calls(hubspottest.EndpointAccessTokenInfo)
			if introspections != 1 {
				t.Errorf("introspection calls = %d, want 1", introspections)
			}
		})
	}
	t.Run("introspection fails", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t, hubspottest.Options{OmitTokenMetadata: true})
		env.srv.InjectFault(hubspottest.EndpointIntrospect, hubspottest.Fault{Status: 500})
		var logs logbuf.Buffer
		r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603), func(o *RefresherOptions) {
			o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		refresh := env.srv.MintRefreshToken(env.grant)
		tok, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: hubspot.Secret(refresh)})
		if err != nil {
			t.Fatalf("refresh failed because introspection did: %v", err)
		}
		if tok.Scopes != nil || tok.AccessToken == "" {
			t.Errorf("token = %+v, want an access token with unknown (nil) scopes", tok)
		}
		out := logs.String()
		if !strings.Contains(out, "introspection failed") {
			t.Errorf("log %q lacks the warning", out)
		}
		for _, secret := range []string{refresh, testClientSecret, tok.AccessToken.Reveal()} {
			if strings.Contains(out, secret) || strings.Contains(fmt.Sprintf("%v %+v", tok, *tok), secret) {
				t.Errorf("secret %s... printed", secret[:6])
			}
		}
	})
}
