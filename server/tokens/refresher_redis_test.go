package tokens

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/internal/redistest"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// TestRefreshStoresTheRefreshTokenHubSpotReturns: when HubSpot rotates the
// refresh token, the shared entry carries the new one, so a replica that
// serves the cached answer hands out the refresh token that still works.
func TestRefreshStoresTheRefreshTokenHubSpotReturns(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{RotateRefreshTokens: true})
	srv := redistest.Start(t, redistest.Options{})
	cacheKey := randomCacheKey(t)
	client := env.client(t, hubspot.OAuthVersion202603)
	a := env.refresher(t, client, func(o *RefresherOptions) { o.Store = newRedisStore(t, srv, cacheKey) })
	b := env.refresher(t, client, func(o *RefresherOptions) { o.Store = newRedisStore(t, srv, cacheKey) })
	sent := hubspot.Secret(env.srv.MintRefreshToken(env.grant))

	first, err := a.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: sent})
	if err != nil {
		t.Fatal(err)
	}
	if first.RefreshToken == sent || first.RefreshToken == "" {
		t.Fatal("the fake did not rotate the refresh token")
	}
	cached, err := b.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: sent})
	if err != nil {
		t.Fatal(err)
	}
	if !cached.Shared || cached.AccessToken != first.AccessToken || cached.RefreshToken != first.RefreshToken {
		t.Errorf("other replica: shared %v, same access token %v, rotated refresh token %v; want all true",
			cached.Shared, cached.AccessToken == first.AccessToken, cached.RefreshToken == first.RefreshToken)
	}
	if n := env.srv.Calls(hubspottest.EndpointToken); n != 1 {
		t.Errorf("upstream refreshes = %d, want 1", n)
	}
	// The rotated token works; the one sent is spent.
	if _, err := b.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: first.RefreshToken}); err != nil {
		t.Errorf("refresh with the stored refresh token: %v", err)
	}
}

// TestRefreshLeaseTimeout: another holder keeps the lease and stores
// nothing; the refresh gives up at its bound with a LeaseTimeoutError and
// never calls HubSpot itself.
func TestRefreshLeaseTimeout(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, hubspottest.Options{})
	srv := redistest.Start(t, redistest.Options{})
	cacheKey := randomCacheKey(t)
	store := newRedisStore(t, srv, cacheKey)
	r := env.refresher(t, env.client(t, hubspot.OAuthVersion202603), func(o *RefresherOptions) {
		o.Store = store
		o.UpstreamTimeout = 300 * time.Millisecond
	})
	refresh := hubspot.Secret(env.srv.MintRefreshToken(env.grant))
	other := newRedisStore(t, srv, cacheKey)
	if _, held, err := other.Lease(context.Background(), other.Key("refresh", env.app.ClientID, env.app.ClientSecret.Reveal(), refresh.Reveal()), time.Minute); err != nil || !held {
		t.Fatalf("the other replica's lease: %v, %v", held, err)
	}
	_, err := r.Refresh(context.Background(), RefreshRequest{App: env.app, RefreshToken: refresh})
	var lease *LeaseTimeoutError
	if !errors.As(err, &lease) {
		t.Fatalf("error = %v, want a LeaseTimeoutError", err)
	}
	if n := env.srv.Calls(hubspottest.EndpointToken); n != 0 {
		t.Errorf("upstream refreshes while another replica held the lease = %d, want 0", n)
	}
}
