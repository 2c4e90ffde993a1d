package hubspot_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// The shared fixture's values, under the names these tests use.
var epoch = hubspottest.FixtureEpoch

const (
	testClientID     = hubspottest.FixtureClientID
	testClientSecret = hubspottest.FixtureClientSecret
	testRedirectURI  = hubspottest.FixtureRedirectURI
)

// testEnv is the shared fake-HubSpot fixture (hubspottest.Fixture) under
// the short names these tests use.
type testEnv struct {
	srv     *hubspottest.Server
	clock   *hubspottest.Clock
	app     hubspot.AppCredentials
	grant   hubspottest.Grant
	fixture *hubspottest.Fixture
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvWith(t, hubspottest.Options{})
}

// newTestEnvWith is newTestEnv with options for the fake.
func newTestEnvWith(t *testing.T, opts hubspottest.Options) *testEnv {
	t.Helper()
	f := hubspottest.StartFixture(t, opts)
	return &testEnv{srv: f.Server, clock: f.Clock, app: f.App, grant: f.Grant, fixture: f}
}

// client returns a client on the fake with fast retries; adjust tweaks
// options before construction.
func (e *testEnv) client(t *testing.T, version hubspot.OAuthVersion, adjust ...func(*hubspot.Options)) *hubspot.Client {
	t.Helper()
	return e.fixture.Client(t, version, adjust...)
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
