package tokens

import (
	"sync"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

var epoch = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

const (
	testClientID     = "5f0c1a9e-2b3d-4e5f-8a6b-7c8d9e0f1a2b"
	testClientSecret = "client-secret-0a9b8c7d6e5f"
)

// testEnv is a fake HubSpot with one app, a grant for it and a shared clock.
type testEnv struct {
	srv   *hubspottest.Server
	clock *hubspottest.Clock
	app   hubspot.AppCredentials
	grant hubspottest.Grant
}

func newTestEnv(t testing.TB, opts hubspottest.Options) *testEnv {
	t.Helper()
	clock := hubspottest.NewClock(epoch)
	opts.Now = clock.Now
	srv := hubspottest.Start(t, opts)
	srv.AddApp(hubspottest.App{ClientID: testClientID, ClientSecret: testClientSecret, AppID: 4242})
	return &testEnv{
		srv:   srv,
		clock: clock,
		app:   hubspot.AppCredentials{ClientID: testClientID, ClientSecret: testClientSecret},
		grant: hubspottest.Grant{ClientID: testClientID, HubID: 777, UserID: 31, User: "owner@shop.example",
			Scopes: []string{"crm.objects.contacts.read", "oauth"}},
	}
}

func (e *testEnv) client(t testing.TB, version hubspot.OAuthVersion, adjust ...func(*hubspot.Options)) *hubspot.Client {
	t.Helper()
	opts := hubspot.Options{
		BaseURL: e.srv.URL, OAuthVersion: version, HTTPClient: e.srv.Client(), Now: e.clock.Now,
		Retry: hubspot.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond},
	}
	for _, f := range adjust {
		f(&opts)
	}
	c, err := hubspot.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *testEnv) refresher(t testing.TB, client *hubspot.Client, adjust ...func(*RefresherOptions)) *Refresher {
	t.Helper()
	opts := RefresherOptions{Client: client, Now: e.clock.Now}
	for _, f := range adjust {
		f(&opts)
	}
	r, err := NewRefresher(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// sources records hook calls.
type sources struct {
	mu   sync.Mutex
	seen map[Source]int
	errs int
}

func (s *sources) observe(source Source, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[Source]int{}
	}
	s.seen[source]++
	if err != nil {
		s.errs++
	}
}

func (s *sources) snapshot() (map[Source]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[Source]int{}
	for k, v := range s.seen {
		out[k] = v
	}
	return out, s.errs
}
