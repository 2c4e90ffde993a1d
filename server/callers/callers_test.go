package callers

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/eshopman/scopeguard/internal/logbuf"
)

const (
	checkoutKey   = "checkout-key-0123456789abcdef0123456789"
	reportsKey    = "reports-key-0123456789abcdef0123456789ab"
	reportsNewKey = "reports-next-key-0123456789abcdef0123456789" // its sha256 is in testdata/callers.yaml
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var testEnv = env(map[string]string{"CHECKOUT_SCOPEGUARD_KEY": checkoutKey, "REPORTS_SCOPEGUARD_KEY": " " + reportsKey + "\n"})

func knownApps(names ...string) func(string) bool {
	return func(name string) bool {
		for _, n := range names {
			if n == name {
				return true
			}
		}
		return false
	}
}

func loadTestSet(t *testing.T) *Set {
	t.Helper()
	set, err := Load(filepath.Join("testdata", "callers.yaml"), testEnv, knownApps("shop", "legacy"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return set
}

func TestLoad(t *testing.T) {
	t.Parallel()
	set := loadTestSet(t)
	if diff := cmp.Diff([]string{"checkout", "mesh-only", "reports"}, set.IDs()); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	rate, burst := 2.0, 5
	want := map[string]*Caller{
		"checkout":  {ID: "checkout", Apps: []string{"shop"}, keys: 1},
		"mesh-only": {ID: "mesh-only", CertNames: []string{"spiffe://eshopman.internal/ns/prod/sa/mesh"}},
		"reports": {ID: "reports", Apps: []string{"legacy", "shop"},
			CertNames:   []string{"reports.internal.eshopman.example", "spiffe://eshopman.internal/ns/prod/sa/reports"},
			HubSpotRate: &rate, HubSpotBurst: &burst, keys: 2},
	}
	for id, w := range want {
		got, ok := set.Lookup(id)
		if !ok {
			t.Fatalf("Lookup(%q) found nothing", id)
		}
		if diff := cmp.Diff(w, got, cmp.AllowUnexported(Caller{}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("caller %q (-want +got):\n%s", id, diff)
		}
	}
	reports, _ := set.Lookup("reports")
	if !reports.MayUse("legacy") || reports.MayUse("other") {
		t.Errorf("reports.MayUse: legacy %v (want true), other %v (want false)", reports.MayUse("legacy"), reports.MayUse("other"))
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	set := loadTestSet(t)
	tests := []struct {
		key  string
		want string // caller id; "" for none
	}{
		{checkoutKey, "checkout"},
		{reportsKey, "reports"}, // from key_env, whitespace around it trimmed
		{reportsNewKey, "reports"},
		{checkoutKey + "x", ""},
		{checkoutKey[:len(checkoutKey)-1], ""},
		{"", ""},
		{strings.ToUpper(checkoutKey), ""},
	}
	for _, tt := range tests {
		c, ok := set.Authenticate(tt.key)
		got := ""
		if ok {
			got = c.ID
		}
		if got != tt.want {
			t.Errorf("Authenticate(%.12q…) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestByCertNames(t *testing.T) {
	t.Parallel()
	set := loadTestSet(t)
	tests := []struct {
		names   []string
		want    string
		wantErr bool
	}{
		{names: []string{"spiffe://eshopman.internal/ns/prod/sa/reports"}, want: "reports"},
		{names: []string{"unrelated.example", "reports.internal.eshopman.example"}, want: "reports"},
		{names: []string{"reports.internal.eshopman.example", "spiffe://eshopman.internal/ns/prod/sa/reports"}, want: "reports"},
		{names: []string{"spiffe://eshopman.internal/ns/prod/sa/reports/x"}},
		{names: nil},
		{names: []string{"spiffe://eshopman.internal/ns/prod/sa/mesh", "reports.internal.eshopman.example"}, wantErr: true},
	}
	for _, tt := range tests {
		c, err := set.ByCertNames(tt.names)
		if (err != nil) != tt.wantErr {
			t.Errorf("ByCertNames(%q) error = %v, want error %v", tt.names, err, tt.wantErr)
			continue
		}
		got := ""
		if c != nil {
			got = c.ID
		}
		if got != tt.want {
			t.Errorf("ByCertNames(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	short := "too-short-secret-9a8b7c"
	lookup := env(map[string]string{"SHORT_KEY": short, "GOOD_KEY": checkoutKey, "SPACED_KEY": "has a space in it 0123456789abcdef0123"})
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "no callers defined"},
		{"no callers", "callers: {}", "no callers defined"},
		{"not yaml", "callers: [", "invalid YAML"},
		{"unknown key", "callers:\n  a:\n    key_env: GOOD_KEY\n    scopes: [x]", "line 4: unknown key"},
		{"duplicate caller", "callers:\n  a: {key_env: GOOD_KEY}\n  a: {key_env: GOOD_KEY}", "duplicate key"},
		{"bad id", "callers:\n  'a b': {key_env: GOOD_KEY}", "id must be"},
		{"reserved id", "callers:\n  anonymous: {key_env: GOOD_KEY}", "reserved"},
		{"no credential", "callers:\n  a: {apps: []}", "no credential"},
		{"unset env", "callers:\n  a: {key_env: MISSING_KEY}", "MISSING_KEY (key_env) is not set"},
		{"short key", "callers:\n  a: {key_env: SHORT_KEY}", "at least 32 printable"},
		{"key with spaces", "callers:\n  a: {key_env: SPACED_KEY}", "without spaces"},
		{"both key kinds", "callers:\n  a: {key_env: GOOD_KEY, key_sha256: " + strings.Repeat("0", 64) + "}", "not both"},
		{"bad digest", "callers:\n  a: {key_sha256: " + short + "}", "64 hex digits"},
		{"empty key entry", "callers:\n  a: {keys: [{}]}", "give key_env or key_sha256"},
		{"shared key", "callers:\n  a: {key_env: GOOD_KEY}\n  b: {keys: [{key_env: GOOD_KEY}]}", `also a key of caller "a"`},
		{"shared cert name", "callers:\n  a: {cert_names: [x.example]}\n  b: {cert_names: [x.example]}", `also names caller "a"`},
		{"unknown app", "callers:\n  a: {key_env: GOOD_KEY, apps: [shpo]}", `"shpo" is not in the apps file`},
		{"negative rate", "callers:\n  a: {key_env: GOOD_KEY, hubspot_rate: -1}", "hubspot_rate"},
		{"zero burst", "callers:\n  a: {key_env: GOOD_KEY, hubspot_burst: 0}", "hubspot_burst"},
		{"every problem at once", "callers:\n  a: {key_env: MISSING_KEY}\n  b: {key_env: SHORT_KEY}", "MISSING_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml), lookup, knownApps("shop"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), checkoutKey) {
				t.Errorf("error leaks a key: %v", err)
			}
		})
	}
}

func TestLogValueHasNoKeys(t *testing.T) {
	t.Parallel()
	set := loadTestSet(t)
	var logs logbuf.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("loaded", slog.Any("callers", set))
	out := logs.String()
	for _, secret := range []string{checkoutKey, reportsKey, "46486006603f5bb6"} {
		if strings.Contains(out, secret) {
			t.Errorf("log line leaks %.12q…: %s", secret, out)
		}
	}
	if !strings.Contains(out, `"checkout":{"id":"checkout","keys":1`) {
		t.Errorf("log line lacks the callers: %s", out)
	}
}

// FuzzParse feeds arbitrary files to Parse: it must never panic, never
// quote the key an environment variable holds, and never accept a caller
// without a credential.
func FuzzParse(f *testing.F) {
	f.Add([]byte("callers:\n  a: {key_env: K}\n"))
	f.Add([]byte("callers:\n  a: {keys: [{key_env: K}, {key_sha256: " + strings.Repeat("ab", 32) + "}], apps: [shop]}\n"))
	f.Add([]byte("callers:\n  a: {cert_names: [spiffe://x/y], hubspot_rate: 1.5, hubspot_burst: 3}\n"))
	f.Add([]byte(`{"callers": {"a": {"key_env": "K", "apps": ["shop"]}}}`))
	const secret = "fuzz-secret-value-0123456789abcdef0123"
	lookup := func(string) (string, bool) { return secret, true }
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data, lookup, knownApps("shop"))
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the key: %v", err)
			}
			return
		}
		for _, id := range set.IDs() {
			c, _ := set.Lookup(id)
			if c.keys == 0 && len(c.CertNames) == 0 {
				t.Fatalf("caller %q has no credential", id)
			}
		}
		if c, ok := set.Authenticate(secret); ok && c.keys == 0 {
			t.Fatalf("caller %q authenticated without a key", c.ID)
		}
		_ = fmt.Sprint(set.LogValue())
	})
}
