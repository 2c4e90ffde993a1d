package tokens

import (
	"sync"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// The shared fixture's values, under the names these tests use.
var epoch = hubspottest.FixtureEpoch

const testClientSecret = hubspottest.FixtureClientSecret

// testEnv is the shared fake-HubSpot fixture (hubspottest.Fixture) under
// the short names these tests use.
type testEnv struct {
	srv     *hubspottest.Server
	clock   *hubspottest.Clock
	app     hubspot.AppCredentials
	grant   hubspottest.Grant
	fixture *hubspottest.Fixture
}

func newTestEnv(t testing.TB, opts hubspottest.Options) *testEnv {
	t.Helper()
	f := hubspottest.StartFixture(t, opts)
	return &testEnv{srv: f.Server, clock: f.Clock, app: f.App, grant: f.Grant, fixture: f}
}

func (e *testEnv) client(t testing.TB, version hubspot.OAuthVersion, adjust ...func(*hubspot.Options)) *hubspot.Client {
	t.Helper()
	return e.fixture.Client(t, version, adjust...)
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
