package hubspottest

import (
	"testing"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
)

// FixtureEpoch is a Fixture clock's start, on a whole second so expiry
// times survive HubSpot's second and millisecond precision.
var FixtureEpoch = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// The Fixture's app. Fake values, safe to print.
const (
	FixtureClientID     = "11111111-2222-4333-8444-555555555555"
	FixtureClientSecret = "client-secret-6f1c9a7e-0b5d-4c2e-9a8f"
	FixtureRedirectURI  = "https://shop.example/oauth/callback"
	FixtureAppID        = 4242
)

// Fixture is what tests of HubSpot callers start from: a fake HubSpot that
// knows one OAuth app, the grant of one account's install, and the clock
// both share.
type Fixture struct {
	// Server is the running fake.
	Server *Server
	// Clock is the fake's clock (Options.Now), starting at FixtureEpoch.
	Clock *Clock
	// App is the app's credentials as scopeguard holds them.
	App hubspot.AppCredentials
	// Grant is the account's install of the app: mint its tokens with
	// Server.MintAccessToken and Server.MintRefreshToken.
	Grant Grant
}

// StartFixture serves a Fixture until the test ends; opts.Now is replaced
// by the fixture's clock.
func StartFixture(t testing.TB, opts Options) *Fixture {
	t.Helper()
	clock := NewClock(FixtureEpoch)
	opts.Now = clock.Now
	srv := Start(t, opts)
	srv.AddApp(App{ClientID: FixtureClientID, ClientSecret: FixtureClientSecret, AppID: FixtureAppID})
	return &Fixture{
		Server: srv,
		Clock:  clock,
		App:    hubspot.AppCredentials{ClientID: FixtureClientID, ClientSecret: FixtureClientSecret, RedirectURI: FixtureRedirectURI},
		Grant: Grant{
			ClientID: FixtureClientID, HubID: 777, UserID: 31, User: "owner@shop.example", HubDomain: "shop.example",
			Scopes: []string{"oauth", "crm.objects.contacts.read", "crm.objects.deals.read"},
		},
	}
}

// FastRetries is a retry policy for tests: the production number of
// attempts, with waits of milliseconds instead of the production backoff.
var FastRetries = hubspot.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}

// Client returns a HubSpot client on the fixture (its clock, fast
// retries); adjust tweaks the options before construction.
func (f *Fixture) Client(t testing.TB, version hubspot.OAuthVersion, adjust ...func(*hubspot.Options)) *hubspot.Client {
	t.Helper()
	opts := hubspot.Options{
		BaseURL:      f.Server.URL,
		OAuthVersion: version,
		HTTPClient:   f.Server.Client(),
		Now:          f.Clock.Now,
		Timeout:      5 * time.Second,
		Retry:        FastRetries,
	}
	for _, fn := range adjust {
		fn(&opts)
	}
	c, err := hubspot.New(opts)
	if err != nil {
		t.Fatalf("hubspot.New: %v", err)
	}
	return c
}
