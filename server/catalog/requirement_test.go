package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

// tinyCatalog builds a catalog with one operation whose OAuth requirement
// is alts, to test Evaluate on its own.
func tinyCatalog(t *testing.T, alts [][]string) *Catalog {
	t.Helper()
	f := &catalogfile.File{Objects: []catalogfile.Object{{Name: customObject}}}
	seen := map[string]bool{}
	for _, a := range alts {
		for _, s := range a {
			if !seen[s] {
				seen[s] = true
				kind := "granular"
				if s == "legacy" {
					kind = "coarse"
				}
				f.Scopes = append(f.Scopes, catalogfile.Scope{Name: s, Kind: kind})
			}
		}
	}
	accepted := catalogfile.Requirement{Accepted: true, Unknown: true}
	for _, p := range profileNames {
		for _, k := range []string{catalogfile.KindRead, catalogfile.KindWrite} {
			f.ObjectRequirements = append(f.ObjectRequirements, catalogfile.ObjectRequirement{Profile: p, Object: customObject, Kind: k, OAuth: accepted, Private: accepted})
		}
	}
	f.Operations = []catalogfile.Operation{{Method: "GET", Template: "/t", ObjectSegment: -1,
		OAuth: catalogfile.Requirement{Accepted: true, Alternatives: alts}}}
	c, err := build(f)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return c
}

func TestEvaluateChoosesTheLeastPrivilegedMissingSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		alts    [][]string
		granted []string
		want    Evaluation
	}{
		{
			name:    "first covered alternative satisfies",
			alts:    [][]string{{"a.read"}, {"b.sensitive.read"}},
			granted: []string{"b.sensitive.read", "a.read"},
			want:    Evaluation{Allowed: true, SatisfiedBy: []string{"a.read"}},
		},
		{
			name:    "a sensitive alternative satisfies when granted",
			alts:    [][]string{{"a.read"}, {"b.sensitive.read"}},
			granted: []string{"b.sensitive.read"},
			want:    Evaluation{Allowed: true, SatisfiedBy: []string{"b.sensitive.read"}},
		},
		{
			name: "two non-sensitive scopes beat one sensitive scope",
			alts: [][]string{{"x.sensitive.read"}, {"x.read", "y.read"}},
			want: Evaluation{Missing: []string{"x.read", "y.read"}},
		},
		{
			name:    "only the ungranted part of an AND-set is missing",
			alts:    [][]string{{"lists.read", "lists.write"}, {"admin.sensitive.write"}},
			granted: []string{"lists.read"},
			want:    Evaluation{Missing: []string{"lists.write"}},
		},
		{
			name:    "a partly granted set beats a cheaper fresh set only when its rest costs less",
			alts:    [][]string{{"p.read"}, {"q.read", "q.write"}},
			granted: []string{"q.read"},
			want:    Evaluation{Missing: []string{"p.read"}},
		},
		{
			name: "read before write",
			alts: [][]string{{"z.write"}, {"z.read"}},
			want: Evaluation{Missing: []string{"z.read"}},
		},
		{
			name: "granular before legacy coarse",
			alts: [][]string{{"legacy"}, {"granular.read"}},
			want: Evaluation{Missing: []string{"granular.read"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tinyCatalog(t, tt.alts)
			m, err := c.Match("GET", "/t")
			if err != nil {
				t.Fatal(err)
			}
			got := m.Requirement(public).Evaluate(c.NewGrants(tt.granted...))
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDealsReadOrder(t *testing.T) {
	t.Parallel()
	c := Default()
	m, err := c.Match("GET", "/crm/v3/objects/deals")
	if err != nil {
		t.Fatal(err)
	}
	// Least privileged first. HubSpot's documented MISSING_SCOPES for
	// reading deals also lists crm.schemas.deals.read, but every per-object
	// Deals spec lists only crm.objects.deals.* for records, and the schema
	// scope reads definitions: the catalog follows the specs.
	want := [][]string{
		{"crm.objects.deals.read"},
		{"crm.objects.deals.sensitive.read.v2"},
		{"crm.objects.deals.highly_sensitive.read.v2"},
	}
	if diff := cmp.Diff(want, m.Requirement(public).Alternatives()); diff != "" {
		t.Errorf("alternatives (-want +got):\n%s", diff)
	}
	got := m.Requirement(public).Evaluate(Grants{})
	if diff := cmp.Diff([]string{"crm.objects.deals.read"}, got.Missing); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
}

func TestRequirementByAppType(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		name         string
		method, path string
		app          scopeguardv1.AppType
		granted      []string
		want         Evaluation
		wantInferred bool
	}{
		{"unspecified means OAuth", "GET", "/crm/v3/objects/contacts", scopeguardv1.AppType_APP_TYPE_UNSPECIFIED, []string{"crm.objects.contacts.sensitive.read.v2"},
			Evaluation{Allowed: true, SatisfiedBy: []string{"crm.objects.contacts.sensitive.read.v2"}}, false},
		{"OAuth token does not accept the private sensitive name", "GET", "/crm/v3/objects/contacts", public, []string{"crm.objects.contacts.sensitive.read"},
			Evaluation{Missing: []string{"crm.objects.contacts.read"}}, false},
		{"private app uses the name without .v2", "GET", "/crm/v3/objects/contacts", private, []string{"crm.objects.contacts.sensitive.read"},
			Evaluation{Allowed: true, SatisfiedBy: []string{"crm.objects.contacts.sensitive.read"}}, false},
		{"private app falls back to the OAuth list", "GET", "/marketing/v3/forms", private, []string{"forms"},
			Evaluation{Allowed: true, SatisfiedBy: []string{"forms"}}, false},
		{"developer key refused on CRM records", "GET", "/crm/v3/objects/contacts", developer, []string{"crm.objects.contacts.read"},
			Evaluation{NotAccepted: true}, false},
		{"developer key accepted on app webhooks", "GET", "/app-webhooks/2026-09/123/settings", developer, nil,
			Evaluation{Allowed: true, NoScopesRequired: true}, false},
		{"developer key accepted on v3 webhooks (overlay correction)", "GET", "/webhooks/v3/123/subscriptions", developer, nil,
			Evaluation{Allowed: true, NoScopesRequired: true}, false},
		{"OAuth still needs its scope on v3 webhooks", "GET", "/webhooks/v3/123/subscriptions", public, nil,
			Evaluation{Missing: []string{"developers-read"}}, false},
		{"token endpoint needs no scope", "POST", "/oauth/v1/token", public, nil,
			Evaluation{Allowed: true, NoScopesRequired: true}, false},
		{"token endpoint needs no scope for private apps either", "POST", "/oauth/2026-03/token", private, nil,
			Evaluation{Allowed: true, NoScopesRequired: true}, false},
		{"spec gap without a source stays unknown", "GET", "/account-info/v3/api-usage/daily", public, []string{"oauth"},
			Evaluation{Unknown: true}, false},
		{"spec gap filled from another version", "GET", "/conversations/v3/custom-channels", developer, nil,
			Evaluation{Allowed: true, NoScopesRequired: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := c.Match(tt.method, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			r := m.Requirement(tt.app)
			if diff := cmp.Diff(tt.want, r.Evaluate(c.NewGrants(tt.granted...)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
			if r.Inferred() != tt.wantInferred {
				t.Errorf("Inferred = %v, want %v", r.Inferred(), tt.wantInferred)
			}
		})
	}
}

// TestPrivateRequirementCoversOAuth checks the private-app fallback on the
// whole catalog: every OAuth alternative, with sensitive names mapped from
// ".v2" to the private spelling, is also a private-app alternative.
func TestPrivateRequirementCoversOAuth(t *testing.T) {
	t.Parallel()
	c := Default()
	check := func(name string, rq *reqs) {
		if rq.oauth == nil {
			return
		}
		if rq.private == nil {
			// The overlay's credential rules: private apps do not support
			// custom timeline events (HubSpot's private-apps overview).
			if !strings.Contains(name, " /crm/v3/timeline/") && !strings.Contains(name, " /integrators/timeline/") &&
				!strings.Contains(name, " /integrations/v1/{appId}/timeline/") {
				t.Errorf("%s: OAuth accepted but private apps not", name)
			}
			return
		}
		for _, alt := range rq.oauth.alts {
			mapped := make([]string, len(alt))
			for i, s := range alt {
				mapped[i] = trimV2(s)
			}
			slices.Sort(mapped)
			if !slices.ContainsFunc(rq.private.alts, func(p []string) bool {
				sorted := slices.Sorted(slices.Values(p))
				return slices.Equal(sorted, mapped)
			}) {
				t.Errorf("%s: private alternatives lack %v", name, mapped)
			}
		}
	}
	for _, op := range c.Operations() {
		if op.plain != nil {
			check(op.Method+" "+op.Template, op.plain)
		}
	}
	for p := range c.objTables {
		for k := range c.objTables[p] {
			for i, rq := range c.objTables[p][k] {
				check(profileNames[p]+" "+c.objects[i].Name, rq)
			}
		}
	}
}

func trimV2(s string) string {
	if len(s) > 3 && s[len(s)-3:] == ".v2" {
		return s[:len(s)-3]
	}
	return s
}

func TestNewGrants(t *testing.T) {
	t.Parallel()
	c := Default()
	g := c.NewGrants(" crm.objects.contacts.read  oauth", "tickets,crm.objects.contacts.read", "", "not-a-scope")
	if diff := cmp.Diff([]string{"crm.objects.contacts.read", "not-a-scope", "oauth", "tickets"}, g.Scopes()); diff != "" {
		t.Errorf("Scopes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"not-a-scope"}, g.Unknown()); diff != "" {
		t.Errorf("Unknown (-want +got):\n%s", diff)
	}
	for _, s := range []string{"oauth", "tickets", "not-a-scope"} {
		if !g.Has(s) {
			t.Errorf("Has(%q) = false", s)
		}
	}
	if g.Has("crm.objects.deals.read") {
		t.Error("Has(crm.objects.deals.read) = true")
	}
	var zero Grants
	if zero.Has("oauth") || len(zero.Scopes()) != 0 {
		t.Error("zero Grants is not empty")
	}
}
