package catalog

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

var (
	public    = scopeguardv1.AppType_APP_TYPE_PUBLIC
	private   = scopeguardv1.AppType_APP_TYPE_PRIVATE
	developer = scopeguardv1.AppType_APP_TYPE_DEVELOPER
)

func TestEmbeddedDataParsesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	f, err := catalogfile.ParseString(embedded)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(f.Operations) < 3000 || len(f.Scopes) < 200 || len(f.Objects) < 30 {
		t.Fatalf("embedded catalog is too small: %d operations, %d scopes, %d objects", len(f.Operations), len(f.Scopes), len(f.Objects))
	}
	seen := map[string]bool{}
	for _, op := range f.Operations {
		key := op.Method + " " + shapeOf(op.Template)
		if seen[key] {
			t.Errorf("duplicate operation %s", key)
		}
		seen[key] = true
	}
	scopes := map[string]bool{}
	for _, s := range f.Scopes {
		if scopes[s.Name] {
			t.Errorf("duplicate scope %s", s.Name)
		}
		scopes[s.Name] = true
	}
}

func TestEmbeddedDataRoundTrips(t *testing.T) {
	t.Parallel()
	f, err := catalogfile.ParseString(embedded)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if buf.String() != embedded {
		t.Error("writing the parsed catalog does not reproduce catalog.txt byte for byte")
	}
}

func TestDefaultLoadsTheEmbeddedCatalog(t *testing.T) {
	t.Parallel()
	c := Default()
	if c != Default() {
		t.Error("Default returned two different catalogs")
	}
	if len(c.Operations()) < 3000 {
		t.Errorf("Default has %d operations", len(c.Operations()))
	}
}

// shapeOf replaces parameter names with {} so templates that differ only
// in parameter names compare equal.
func shapeOf(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// fill replaces a template's parameters with sample values. Object type
// parameters get a custom object id, which no literal segment equals.
func fill(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		switch {
		case s == "{objectType}" || s == "{fromObjectType}" || s == "{objectTypeId}" || s == "{fromObjectTypeId}":
			segs[i] = "2-4242"
		case s == "{path}" || strings.HasSuffix(s, "Path}"):
			segs[i] = "folder/sub/file.txt"
		case strings.HasPrefix(s, "{"):
			segs[i] = fmt.Sprintf("x%dy", i)
		}
	}
	return strings.Join(segs, "/")
}

func TestEveryOperationMatchesItsFilledTemplate(t *testing.T) {
	t.Parallel()
	c := Default()
	for _, op := range c.Operations() {
		for _, tmpl := range append([]string{op.Template}, op.Aliases...) {
			m, err := c.Match(op.Method, fill(tmpl))
			if err != nil {
				t.Errorf("%s %s (for %s): %v", op.Method, tmpl, op.Template, err)
				continue
			}
			if m.Operation != op && shapeOf(m.Operation.Template) != shapeOf(tmpl) {
				t.Errorf("%s %s matched %s %s, want %s", op.Method, tmpl, m.Operation.Method, m.Operation.Template, op.Template)
			}
		}
	}
}

func TestEveryOperationIsUsable(t *testing.T) {
	t.Parallel()
	c := Default()
	for _, op := range c.Operations() {
		if len(op.AppTypes) == 0 {
			t.Errorf("%s %s accepts no credential kind", op.Method, op.Template)
		}
		if strings.HasPrefix(op.API, "Legacy/") && op.SourceURL == "" {
			t.Errorf("overlay operation %s %s has no source URL", op.Method, op.Template)
		}
		if op.SunsetDate != "" && op.SunsetURL == "" {
			t.Errorf("%s %s has a sunset date without a source", op.Method, op.Template)
		}
	}
}

func TestObjectRequirementsNeverMixObjects(t *testing.T) {
	t.Parallel()
	c := Default()
	for p := range c.objTables {
		for k := range c.objTables[p] {
			for i, rq := range c.objTables[p][k] {
				obj := c.objects[i]
				for _, r := range []*requirement{rq.oauth, rq.private} {
					for _, alt := range r.alts {
						for _, s := range alt {
							if owner := scopeObject(s); owner != "" && owner != familyOf(obj.Name) && !sharedFamily(obj.Name, owner) {
								t.Errorf("%s %s %s lists %s", profileNames[p], []string{"read", "write"}[k], obj.Name, s)
							}
						}
					}
				}
			}
		}
	}
}

// scopeObject is the object family a crm.objects/crm.schemas scope names.
func scopeObject(s string) string {
	for _, prefix := range []string{"crm.objects.", "crm.schemas."} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			family, _, _ := strings.Cut(rest, ".")
			return family
		}
	}
	return ""
}

func familyOf(object string) string {
	switch object {
	case "goal_targets":
		return "goals"
	case "commerce_payments":
		return "commercepayments"
	case "partner_clients":
		return "partner-clients"
	case "partner_services":
		return "partner-services"
	}
	return object
}

// sharedFamily lists the objects whose own spec grants them another
// object's scopes: activities use the contact scopes, discounts, fees and
// taxes the line-item scopes.
func sharedFamily(object, family string) bool {
	switch object {
	case "calls", "communications", "emails", "meetings", "notes", "postal_mail", "tasks", "feedback_submissions":
		return family == "contacts"
	case "discounts", "fees", "taxes":
		return family == "line_items"
	}
	return false
}

func TestScopeAndPrivilege(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		name  string
		scope string
		want  Scope
	}{
		{"granular read", "crm.objects.contacts.read", Scope{Name: "crm.objects.contacts.read"}},
		{"coarse legacy", "tickets", Scope{Name: "tickets", Kind: ScopeCoarse, TierNote: "any account (2024 table)"}},
		{"highly sensitive", "crm.objects.deals.highly_sensitive.read.v2", Scope{Name: "crm.objects.deals.highly_sensitive.read.v2", Kind: ScopeSensitive, HighlySensitive: true, TierNote: "Enterprise account with Sensitive Data enabled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := c.Scope(tt.scope)
			if !ok {
				t.Fatalf("Scope(%q) not found", tt.scope)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Scope(%q) (-want +got):\n%s", tt.scope, diff)
			}
		})
	}
	if _, ok := c.Scope("crm-access"); ok {
		t.Error("junk scope crm-access is in the catalog")
	}
	order := []string{
		"crm.objects.contacts.read",
		"crm.schemas.contacts.read",
		"crm.objects.contacts.write",
		"e-commerce",
		"crm.objects.contacts.sensitive.read.v2",
		"crm.objects.contacts.sensitive.write.v2",
		"crm.objects.contacts.highly_sensitive.read.v2",
		"not.a.scope",
	}
	for i := 1; i < len(order); i++ {
		if c.Privilege(order[i-1]) >= c.Privilege(order[i]) {
			t.Errorf("Privilege(%s)=%d should be below Privilege(%s)=%d", order[i-1], c.Privilege(order[i-1]), order[i], c.Privilege(order[i]))
		}
	}
}

func TestObjectLookup(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"contacts", "contacts", true},
		{"0-1", "contacts", true},
		{"Contact", "contacts", true},
		{"0-3", "deals", true},
		{"2-123", "custom", true},
		{"p123_widgets", "custom", true},
		{"widgets", "custom", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			obj, ok := c.Object(tt.in)
			if obj.Name != tt.want || ok != tt.ok {
				t.Errorf("Object(%q) = %s, %v; want %s, %v", tt.in, obj.Name, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestOperationsAreSorted(t *testing.T) {
	t.Parallel()
	ops := Default().Operations()
	if !slices.IsSortedFunc(ops, func(a, b *Operation) int { return strings.Compare(a.Template, b.Template) }) {
		t.Error("Operations() is not sorted by template")
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	s := Describe()
	c := Default()
	if s.Operations != len(c.Operations()) || s.Objects != len(c.Objects()) || s.Bytes != len(embedded) {
		t.Errorf("Describe() = %+v; catalog has %d operations, %d objects, %d bytes", s, len(c.Operations()), len(c.Objects()), len(embedded))
	}
	if s.LegacyOperations == 0 || s.LegacyOperations >= s.Operations || s.Scopes < 100 || len(s.Digest) != 12 {
		t.Errorf("Describe() = %+v: want some but not all operations from the overlay, scopes and a 12-digit digest", s)
	}
}
