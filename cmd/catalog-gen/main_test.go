package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

const sharedDir = "../../../shared/hubspot"

func loadOverlay(t *testing.T) overlay {
	t.Helper()
	ov, err := readOverlay("overlay.json")
	if err != nil {
		t.Fatal(err)
	}
	return ov
}

func isURL(s string) bool { return strings.HasPrefix(s, "https://") && len(s) > len("https://x.y") }

func TestEveryOverlayEntryCitesItsSource(t *testing.T) {
	t.Parallel()
	ov := loadOverlay(t)
	if !isURL(ov.Drop.Source) || ov.Drop.Why == "" {
		t.Error("drop rules need a source and a reason")
	}
	if !isURL(ov.ObjectAliasesSource) || !isURL(ov.VersionFirstSource) {
		t.Error("object aliases and the version-first rewrite need sources")
	}
	for _, o := range ov.Objects {
		if !isURL(o.Source) {
			t.Errorf("object %s has no source URL", o.Name)
		}
	}
	for _, pa := range ov.PathAliases {
		if !isURL(pa.Source) || pa.Why == "" {
			t.Errorf("path alias %s needs a source and a reason", pa.SpecPrefix)
		}
	}
	for _, s := range ov.Sunsets {
		if !isURL(s.Source) {
			t.Errorf("sunset %s has no source URL", s.Date)
		}
	}
	for _, n := range ov.APINotes {
		if !isURL(n.Source) {
			t.Errorf("note %q has no source URL", n.Note)
		}
	}
	for _, r := range ov.CredentialRules {
		if !isURL(r.Source) || r.Why == "" {
			t.Errorf("credential rule %s needs a source and a reason", r.PathPrefix)
		}
		if !r.AcceptDeveloperKey && !r.RefuseOAuth && !r.RefusePrivate {
			t.Errorf("credential rule %s changes nothing", r.PathPrefix)
		}
	}
	for _, fix := range ov.ObjectCorrections {
		if !isURL(fix.Source) || fix.Why == "" {
			t.Errorf("correction of %s %s needs a source and a reason", fix.Object, fix.Kind)
		}
	}
	for _, op := range ov.Operations {
		name := op.Method + " " + op.Path
		if !isURL(op.Source) {
			t.Errorf("%s has no source URL", name)
		}
		if op.Correction && op.Why == "" {
			t.Errorf("correction %s does not say why", name)
		}
		if op.Sunset != "" && !isURL(op.SunsetSource) {
			t.Errorf("%s has a sunset without a source", name)
		}
		ways := 0
		for _, set := range []bool{op.NoScopes, op.Unknown, len(op.OAuth) > 0, op.Object != "", op.ObjectParam} {
			if set {
				ways++
			}
		}
		if ways != 1 {
			t.Errorf("%s states its requirement %d ways, want exactly one", name, ways)
		}
	}
}

func TestGeneratedCatalogIsUpToDate(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(sharedDir, "catalog-source.json")); err != nil {
		t.Skipf("HubSpot source facts not present at %s", sharedDir)
	}
	first, err := generate(sharedDir, "overlay.json")
	if err != nil {
		t.Fatal(err)
	}
	second, err := generate(sharedDir, "overlay.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.catalog, second.catalog) || !bytes.Equal(first.disagreements, second.disagreements) ||
		!bytes.Equal(first.families, second.families) {
		t.Error("two runs of the generator differ")
	}
	if err := run(sharedDir, "overlay.json", "../../server/catalog/catalog.txt", "../../docs", true); err != nil {
		t.Error(err)
	}
}

func testGenerator(t *testing.T) *generator {
	t.Helper()
	g, err := newGenerator(loadOverlay(t), []sourceScope{
		{Name: "e-commerce", Kind: "coarse"},
		{Name: "tickets", Kind: "coarse"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestClientForm(t *testing.T) {
	t.Parallel()
	g := testGenerator(t)
	tests := []struct{ spec, want string }{
		{"/cms/audit-logs/v3", "/cms/v3/audit-logs"},
		{"/cms/audit-logs/v3/", "/cms/v3/audit-logs"},
		{"/crm/associations/v4/{fromObjectType}/{toObjectType}/labels", "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels"},
		{"/crm/extensions/calling/v3/connection-statuses", "/crm/v3/extensions/calling/connection-statuses"},
		{"/integrators/timeline/v3/events", "/crm/v3/timeline/events"},
		{"/crm/v3/objects/contacts", "/crm/v3/objects/contacts"},
		{"/crm/objects/2026-03/contacts", "/crm/objects/2026-03/contacts"},
		{"/meta/network-origins/2025-09/ip-ranges", "/meta/network-origins/2025-09/ip-ranges"},
	}
	for _, tt := range tests {
		if got := g.clientForm(tt.spec); got != tt.want {
			t.Errorf("clientForm(%q) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	g := testGenerator(t)
	got := g.normalize(alternatives{
		{"crm.objects.products.read", "e-commerce"},
		{"e-commerce"},
		{"crm.objects.products.sensitive.read"},
		{"crm.objects.products.read"},
		{"crm.objects.products.read"},
	})
	want := alternatives{{"crm.objects.products.read"}, {"e-commerce"}, {"crm.objects.products.sensitive.read"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("normalize (-want +got):\n%s", diff)
	}
}

func TestFilterObject(t *testing.T) {
	t.Parallel()
	union := alternatives{
		{"crm.objects.contacts.read"}, {"crm.objects.contacts.write"}, {"crm.objects.deals.read"},
		{"crm.objects.contacts.sensitive.read.v2"}, {"oauth"}, {"crm.objects.line_items.write", "e-commerce"},
		{"crm.schemas.contacts.read"},
	}
	tests := []struct {
		name     string
		families []string
		kind     string
		want     alternatives
	}{
		{"contact reads", []string{"contacts"}, "read", alternatives{{"crm.objects.contacts.read"}, {"crm.objects.contacts.sensitive.read.v2"}, {"crm.schemas.contacts.read"}}},
		{"contact writes", []string{"contacts"}, "write", alternatives{{"crm.objects.contacts.write"}}},
		{"line item writes keep their AND-set", []string{"line_items", "e-commerce"}, "write", alternatives{{"crm.objects.line_items.write", "e-commerce"}}},
		{"products get nothing of line items", []string{"products", "e-commerce"}, "write", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, filterObject(union, tt.families, tt.kind)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestScopeFamily(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"crm.objects.contacts.read":            "contacts",
		"crm.schemas.deals.write":              "deals",
		"crm.objects.partner-clients.read":     "partner-clients",
		"crm.pipelines.orders.read":            "orders",
		"tickets.highly_sensitive.v2":          "tickets",
		"e-commerce":                           "e-commerce",
		"oauth":                                "",
		"crm.objects.deals.sensitive.read.v2":  "deals",
		"communication_preferences.read_write": "",
	}
	for scope, want := range tests {
		if got := scopeFamily(scope); got != want {
			t.Errorf("scopeFamily(%q) = %q, want %q", scope, got, want)
		}
	}
}

// TestMetaScopesSatisfyOnlyAllowListedEndpoints enforces that a meta scope
// such as oauth, which every OAuth app holds, satisfies an endpoint only
// where the allow-list cites HubSpot saying so.
func TestMetaScopesSatisfyOnlyAllowListedEndpoints(t *testing.T) {
	t.Parallel()
	ov := loadOverlay(t)
	if len(ov.MetaScopes.Scopes) == 0 || !isURL(ov.MetaScopes.Source) || ov.MetaScopes.Why == "" {
		t.Fatal("metaScopes needs scopes, a source and a reason")
	}
	for _, a := range ov.MetaScopes.Allow {
		if !isURL(a.Source) || a.Why == "" {
			t.Errorf("meta-scope allow-list entry %s %s needs a source and a reason", a.Method, a.Path)
		}
	}
	f := committedCatalog(t)
	g := &generator{ov: ov}
	allowed := 0
	for _, op := range f.Operations {
		for _, r := range []catalogfile.Requirement{op.OAuth, op.Private} {
			for _, alt := range r.Alternatives {
				if !g.metaOnly(alt) {
					continue
				}
				if !g.metaAllowed(&op) {
					t.Errorf("%s %s is satisfied by the meta scope set %v without an allow-list entry", op.Method, op.Template, alt)
				}
				allowed++
			}
		}
	}
	if allowed == 0 {
		t.Error("no allow-listed endpoint takes a meta scope: the allow-list is dead")
	}
}

// TestRetiredScopesSatisfyNothing checks no catalog requirement lists a
// retired scope.
func TestRetiredScopesSatisfyNothing(t *testing.T) {
	t.Parallel()
	ov := loadOverlay(t)
	f := committedCatalog(t)
	g := &generator{ov: ov}
	check := func(what string, r catalogfile.Requirement) {
		for _, alt := range r.Alternatives {
			for _, s := range alt {
				if g.retired(s) != nil {
					t.Errorf("%s lists the retired scope %s", what, s)
				}
			}
		}
	}
	for _, op := range f.Operations {
		check(op.Method+" "+op.Template, op.OAuth)
		check(op.Method+" "+op.Template, op.Private)
	}
	for _, r := range f.ObjectRequirements {
		check("objreq "+r.Profile+" "+r.Object+" "+r.Kind, r.OAuth)
		check("objreq "+r.Profile+" "+r.Object+" "+r.Kind, r.Private)
	}
}

// committedCatalog parses the catalog file as committed (tests of it need
// no ../shared).
func committedCatalog(t *testing.T) *catalogfile.File {
	t.Helper()
	data, err := os.ReadFile("../../server/catalog/catalog.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := catalogfile.ParseString(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
