package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/server/tokens"
)

// TestServesTheSeedPuzzle starts the command, reads its seed line, and
// checks the demo token meets the seed puzzle on the audit log while a
// granted endpoint answers 200.
func TestServesTheSeedPuzzle(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	stdout, seedWriter := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0"}, seedWriter, io.Discard) }()

	var seed Seed
	if err := json.NewDecoder(stdout).Decode(&seed); err != nil {
		t.Fatalf("seed line: %v", err)
	}
	get := func(path, token string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, seed.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/account-info/v3/activity/audit-logs", seed.AccessToken); code != http.StatusForbidden ||
		!strings.Contains(body, `"requiredGranularScopes":["account-info.security.read"]`) || !strings.Contains(body, "All of the following scopes are required.") {
		t.Errorf("audit log = %d %s, want the seed's 403 MISSING_SCOPES", code, body)
	}
	if code, body := get("/crm/v3/objects/contacts", seed.AccessToken); code != http.StatusOK {
		t.Errorf("contacts with a granted scope = %d %s, want 200", code, body)
	}
	if code, _ := get("/crm/v3/objects/contacts", seed.ExpiredAccessToken); code != http.StatusUnauthorized {
		t.Errorf("expired token = %d, want 401", code)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fakehubspot did not stop on cancel")
	}
}

// TestShippedAppsFileIsTheDemoApp keeps examples/fakehubspot-apps.yaml, the
// README's apps file for scopeguard in front of the fake, in step with the
// demo app.
func TestShippedAppsFileIsTheDemoApp(t *testing.T) {
	t.Parallel()
	apps, err := tokens.LoadApps("../../examples/fakehubspot-apps.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	app, ok := apps.Lookup("demo")
	if !ok || app.ClientID != demoClientID || app.ClientSecret.Reveal() != demoClientSecret {
		t.Errorf("examples/fakehubspot-apps.yaml: app demo = %v (found %v), want client id %s and the demo secret", app, ok, demoClientID)
	}
}
