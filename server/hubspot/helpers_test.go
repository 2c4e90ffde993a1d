package hubspot_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// epoch is the fake clock's start, on a whole second so expiry times survive
// HubSpot's second and millisecond precision.
var epoch = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

const (
	testClientID     = "11111111-2222-4333-8444-555555555555"
	testClientSecret = "client-secret-6f1c9a7e-0b5d-4c2e-9a8f"
	testRedirectURI  = "https://shop.example/oauth/callback"
)

// testEnv is a fake HubSpot with one app, a grant for it and a shared clock.
type testEnv struct {
	srv   *hubspottest.Server
	clock *hubspottest.Clock
	app   hubspot.AppCredentials
	grant hubspottest.Grant
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	clock := hubspottest.NewClock(epoch)
	srv := hubspottest.Start(t, hubspottest.Options{Now: clock.Now})
	srv.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	return &testEnv{
		srv:   srv,
		clock: clock,
		app:   hubspot.AppCredentials{ClientID: testClientID, ClientSecret: testClientSecret, RedirectURI: testRedirectURI},
		grant: hubspottest.Grant{
			ClientID: testClientID, HubID: 777, UserID: 31, User: "owner@shop.example", HubDomain: "shop.example",
			Scopes: []string{"oauth", "crm.objects.contacts.read", "crm.objects.deals.read"},
		},
	}
}

// client returns a client on the fake with fast retries; adjust tweaks
// options before construction.
func (e *testEnv) client(t *testing.T, version hubspot.OAuthVersion, adjust ...func(*hubspot.Options)) *hubspot.Client {
	t.Helper()
	opts := hubspot.Options{
		BaseURL:      e.srv.URL,
		OAuthVersion: version,
		HTTPClient:   e.srv.Client(),
		Now:          e.clock.Now,
		Timeout:      5 * time.Second,
		Retry:        hubspot.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond},
	}
	for _, f := range adjust {
		f(&opts)
	}
	c, err := hubspot.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
