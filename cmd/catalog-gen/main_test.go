package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		for _, set := range []bool{op.NoScopes, len(op.OAuth) > 0, op.Object != "", op.ObjectParam} {
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
	first, _, err := generate(sharedDir, "overlay.json")
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := generate(sharedDir, "overlay.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("two runs of the generator differ")
	}
	current, err := os.ReadFile("../../server/catalog/catalog.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, current) {
		t.Error("server/catalog/catalog.txt is out of date: run go run ./cmd/catalog-gen")
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
