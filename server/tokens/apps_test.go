package tokens

import (
	"bytes"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/eshopman/scopeguard/server/hubspot"
)

const envSecret = "env-secret-7e6d5c4b3a29"

func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestLoadApps(t *testing.T) {
	t.Parallel()
	env := fakeEnv(map[string]string{"SHOP_HUBSPOT_CLIENT_SECRET": envSecret})
	shop := App{Name: "shop", AppCredentials: hubspot.AppCredentials{
		ClientID: "5f0c1a9e-2b3d-4e5f-8a6b-7c8d9e0f1a2b", ClientSecret: envSecret, RedirectURI: "https://shop.example/oauth/callback"}}
	localDev := App{Name: "local-dev", AppCredentials: hubspot.AppCredentials{
		ClientID: "0b7d2c4e-6f8a-4b1c-9d3e-5f7a9b1c3d5e", ClientSecret: "dev-secret-1d2c3b4a", RedirectURI: "http://localhost:3000/oauth/callback"}}
	tests := []struct {
		file      string
		wantNames []string
		want      map[string]App
	}{
		{"apps.yaml", []string{"local-dev", "shop"}, map[string]App{"shop": shop, "local-dev": localDev}},
		{"apps.json", []string{"shop"}, map[string]App{"shop": {Name: "shop", AppCredentials: hubspot.AppCredentials{
			ClientID: shop.ClientID, ClientSecret: envSecret}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			apps, err := LoadApps(filepath.Join("testdata", tt.file), env)
			if err != nil {
				t.Fatalf("LoadApps: %v", err)
			}
			if diff := cmp.Diff(tt.wantNames, apps.Names()); diff != "" {
				t.Errorf("Names() mismatch (-want +got):\n%s", diff)
			}
			for name, want := range tt.want {
				got, ok := apps.Lookup(name)
				if !ok {
					t.Fatalf("Lookup(%q) found nothing", name)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", name, diff)
				}
			}
			if _, ok := apps.Lookup("nope"); ok {
				t.Error(`Lookup("nope") found an app`)
			}
			only, ok := apps.Only()
			if wantOnly := len(tt.wantNames) == 1; ok != wantOnly || (ok && only.Name != tt.wantNames[0]) {
				t.Errorf("Only() = %v, %v; want an app only when exactly one is configured", only.Name, ok)
			}
		})
	}
}

func TestLoadAppsMissingFile(t *testing.T) {
	t.Parallel()
	if _, err := LoadApps(filepath.Join(t.TempDir(), "absent.yaml"), fakeEnv(nil)); err == nil {
		t.Fatal("LoadApps of a missing file succeeded")
	}
}

func TestParseAppsRejects(t *testing.T) {
	t.Parallel()
	const inline = "inline-secret-5a4b3c2d1e"
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{"empty file", "", "no apps defined"},
		{"no apps", "apps: {}", "no apps defined"},
		{"missing client id", "apps:\n  a:\n    client_secret: x", `app "a": client_id is required`},
		{"no secret", "apps:\n  a:\n    client_id: c", `app "a": client_secret or client_secret_env is required`},
		{"both secrets", "apps:\n  a:\n    client_id: c\n    client_secret: " + inline + "\n    client_secret_env: X", "not both"},
		{"unset environment variable", "apps:\n  a:\n    client_id: c\n    client_secret_env: UNSET_VAR", "environment variable UNSET_VAR (client_secret_env) is not set"},
		{"empty environment variable", "apps:\n  a:\n    client_id: c\n    client_secret_env: EMPTY_VAR", "environment variable EMPTY_VAR (client_secret_env) is not set"},
		{"http redirect off localhost", "apps:\n  a:\n    client_id: c\n    client_secret: s\n    redirect_uri: http://shop.example/cb", "must use https"},
		{"relative redirect", "apps:\n  a:\n    client_id: c\n    client_secret: s\n    redirect_uri: /cb", "not an absolute URL"},
		{"secret where a redirect URI belongs", "apps:\n  a:\n    client_id: c\n    client_secret: s\n    redirect_uri: " + inline, "not an absolute URL"},
		{"secret where its variable's name belongs", "apps:\n  a:\n    client_id: c\n    client_secret_env: " + inline, "client_secret_env must name an environment variable"},
		{"bad name", "apps:\n  'a b':\n    client_id: c\n    client_secret: s", "name must be"},
		{"unknown key", "apps:\n  a:\n    client_id: c\n    client_secret: s\n    scopes: [x]", "line 5: unknown key"},
		{"secret where a mapping belongs", "apps:\n  a: " + inline, "line 2: wrong type"},
		{"not yaml", "apps: [", "invalid YAML: "},
		{"duplicate app", "apps:\n  a: {client_id: c, client_secret: s}\n  a: {client_id: c, client_secret: s}", "duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseApps([]byte(tt.data), fakeEnv(map[string]string{"EMPTY_VAR": " "}))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseApps() error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), inline) {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
}

func TestAppsNeverPrintSecrets(t *testing.T) {
	t.Parallel()
	apps, err := LoadApps(filepath.Join("testdata", "apps.yaml"), fakeEnv(map[string]string{"SHOP_HUBSPOT_CLIENT_SECRET": envSecret}))
	if err != nil {
		t.Fatal(err)
	}
	shop, _ := apps.Lookup("shop")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "apps", apps, "app", shop)
	printed := []string{logs.String(), apps.String(), fmt.Sprintf("%v %+v %#v %v %+v", apps, apps, shop, shop, shop)}
	for _, text := range printed {
		for _, secret := range []string{envSecret, "dev-secret-1d2c3b4a"} {
			if strings.Contains(text, secret) {
				t.Errorf("secret printed in %q", text)
			}
		}
	}
	if !strings.Contains(logs.String(), "5f0c1a9e-2b3d-4e5f-8a6b-7c8d9e0f1a2b") {
		t.Errorf("log %q lacks the client id; the check above would prove nothing", logs.String())
	}
}

func TestNilAppsIsEmpty(t *testing.T) {
	t.Parallel()
	var apps *Apps
	if _, ok := apps.Lookup("shop"); ok {
		t.Error("Lookup on nil Apps found an app")
	}
	if _, ok := apps.Only(); ok {
		t.Error("Only on nil Apps found an app")
	}
	if names := apps.Names(); names != nil {
		t.Errorf("Names() = %v, want nil", names)
	}
	if got := apps.String(); got != "apps[]" {
		t.Errorf("String() = %q, want apps[]", got)
	}
}

// FuzzParseApps checks arbitrary files never panic the loader and an error
// never quotes the secret, wherever the fuzzer writes it, except inside the
// two things an error names so that people can fix them: an app's name and
// an absolute redirect_uri. Neither is a place a secret belongs.
func FuzzParseApps(f *testing.F) {
	f.Add("apps:\n  a:\n    client_id: c\n    client_secret: %s\n")
	f.Add("apps:\n  a: %s\n")
	f.Add("apps:\n  a:\n    client_id: c\n    client_secret_env: %s\n")
	f.Add("apps:\n  %s:\n    client_id: c\n")
	f.Add(`{"apps": {"a": {"client_id": "c", "client_secret": "%s", "redirect_uri": "http://x"}}}`)
	f.Fuzz(func(t *testing.T, template string) {
		const secret = "fuzz-secret-9f8e7d6c5b4a"
		data := strings.ReplaceAll(template, "%s", secret)
		_, err := ParseApps([]byte(data), fakeEnv(nil))
		if err == nil || !strings.Contains(err.Error(), secret) {
			return
		}
		for _, named := range namedInErrors([]byte(data)) {
			if strings.Contains(named, secret) {
				return
			}
		}
		t.Fatalf("error %q quotes the secret", err)
	})
}

// namedInErrors lists what ParseApps's errors may quote from a file: the app
// names and the absolute redirect URIs. It decodes loosely (no known-field
// check, any value), so it reads every file ParseApps could get far enough
// to name something in.
func namedInErrors(data []byte) []string {
	var loose struct {
		Apps map[string]map[string]any `yaml:"apps"`
	}
	if yaml.Unmarshal(data, &loose) != nil {
		return nil
	}
	var named []string
	for name, entry := range loose.Apps {
		named = append(named, name)
		if uri, ok := entry["redirect_uri"].(string); ok && checkRedirectURI(uri) != nil {
			named = append(named, uri)
		}
	}
	return named
}
