package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		name         string
		method, path string
		wantMethod   string
		wantTemplate string
		wantObject   string
		wantRes      ObjectResolution
	}{
		{"bare path", "GET", "/crm/v3/objects/contacts/123", "GET", "/crm/v3/objects/contacts/{contactId}", "contacts", ObjectStandard},
		{"full URL with query", "GET", "https://api.hubapi.com/crm/v3/objects/contacts?archived=false&limit=10", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"api.hubspot.com host", "GET", "https://api.hubspot.com/crm/v3/objects/contacts", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"EU data-centre host", "GET", "https://api-eu1.hubapi.com/crm/v3/objects/contacts/1", "GET", "/crm/v3/objects/contacts/{contactId}", "contacts", ObjectStandard},
		{"host in upper case with port", "GET", "HTTPS://API.HUBAPI.COM:443/crm/v3/objects/contacts", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"host without scheme", "GET", "api.hubapi.com/crm/v3/objects/contacts", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"scheme-relative URL", "GET", "//api.hubapi.com/crm/v3/objects/contacts", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"missing leading slash", "GET", "crm/v3/objects/contacts", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"fragment ignored", "GET", "/crm/v3/objects/contacts#top", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"trailing slash", "GET", "/crm/v3/objects/contacts/", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"duplicate slashes", "GET", "//crm//v3/objects///contacts", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"lower-case method", "post", "/crm/v3/objects/contacts/search", "POST", "/crm/v3/objects/contacts/search", "contacts", ObjectStandard},
		{"HEAD is GET", "HEAD", "/crm/v3/objects/deals", "GET", "/crm/v3/objects/deals", "deals", ObjectStandard},
		{"literal beats parameter", "POST", "/crm/v3/objects/contacts/batch/read", "POST", "/crm/v3/objects/contacts/batch/read", "contacts", ObjectStandard},
		{"type id aliases the name", "GET", "/crm/v3/objects/0-3/77", "GET", "/crm/v3/objects/deals/{dealId}", "deals", ObjectStandard},
		{"name aliases the spec's type id", "GET", "/crm/objects/2026-03/deals", "GET", "/crm/objects/2026-03/deals", "deals", ObjectStandard},
		{"singular object name", "GET", "/crm/v4/objects/contact/1/associations/company", "GET", "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}", "contacts", ObjectStandard},
		{"object name in upper case", "GET", "/crm/v3/objects/CONTACTS/1", "GET", "/crm/v3/objects/{objectType}/{objectId}", "contacts", ObjectStandard},
		{"percent-encoded literal", "GET", "/crm/v3/objects/%63ontacts", "GET", "/crm/v3/objects/contacts", "contacts", ObjectStandard},
		{"percent-encoded parameter", "GET", "/crm/v3/objects/contacts/a%2Fb", "GET", "/crm/v3/objects/contacts/{contactId}", "contacts", ObjectStandard},
		{"custom object id", "GET", "/crm/v3/objects/2-123/9", "GET", "/crm/v3/objects/{objectType}/{objectId}", "2-123", ObjectCustom},
		{"custom object qualified name", "GET", "/crm/v3/objects/p123_widgets", "GET", "/crm/v3/objects/{objectType}", "p123_widgets", ObjectCustom},
		{"unrecognised object is assumed custom", "GET", "/crm/v3/objects/widgets", "GET", "/crm/v3/objects/{objectType}", "widgets", ObjectAssumedCustom},
		{"date version generic path", "PATCH", "/crm/objects/2026-09/0-5/1", "PATCH", "/crm/objects/2026-09/{objectType}/{objectId}", "tickets", ObjectStandard},
		{"properties of an object", "GET", "/crm/v3/properties/deals", "GET", "/crm/v3/properties/{objectType}", "deals", ObjectStandard},
		{"association batch read", "POST", "/crm/v4/associations/contacts/companies/batch/read", "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", "contacts", ObjectStandard},
		{"SDK version-first form", "GET", "/cms/v3/audit-logs", "GET", "/cms/v3/audit-logs", "", ObjectNone},
		{"spec version-after form", "GET", "/cms/audit-logs/v3", "GET", "/cms/v3/audit-logs", "", ObjectNone},
		{"rest parameter swallows a file path", "GET", "/files/v3/files/stat/a/b/c.png", "GET", "/files/v3/files/stat/{path}", "", ObjectNone},
		{"folder path with slashes", "GET", "/files/v3/folders/a/b", "GET", "/files/v3/folders/{folderPath}", "", ObjectNone},
		{"plain operation", "GET", "/crm/v3/owners", "GET", "/crm/v3/owners", "", ObjectNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := c.Match(tt.method, tt.path)
			if err != nil {
				t.Fatalf("Match(%q, %q): %v", tt.method, tt.path, err)
			}
			got := []any{m.Operation.Method, m.Operation.Template, m.ObjectType, m.Resolution}
			want := []any{tt.wantMethod, tt.wantTemplate, tt.wantObject, tt.wantRes}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Match(%q, %q) (-want +got):\n%s", tt.method, tt.path, diff)
			}
		})
	}
}

func TestMatchErrors(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		name         string
		method, path string
		check        func(t *testing.T, err error)
	}{
		{"non-HubSpot host", "GET", "https://example.com/crm/v3/objects/contacts", func(t *testing.T, err error) {
			var he *HostError
			if !errors.As(err, &he) || he.Host != "example.com" {
				t.Errorf("got %v, want HostError for example.com", err)
			}
		}},
		{"scheme-relative URL on another host", "GET", "//example.com/crm/v3/objects/contacts", func(t *testing.T, err error) {
			var he *HostError
			if !errors.As(err, &he) {
				t.Errorf("got %v, want HostError", err)
			}
		}},
		{"look-alike host", "GET", "https://api.hubapi.com.evil.io/crm/v3/objects/contacts", func(t *testing.T, err error) {
			var he *HostError
			if !errors.As(err, &he) {
				t.Errorf("got %v, want HostError", err)
			}
		}},
		{"app host is not an API host", "GET", "https://app.hubspot.com/oauth/authorize", func(t *testing.T, err error) {
			var he *HostError
			if !errors.As(err, &he) {
				t.Errorf("got %v, want HostError", err)
			}
		}},
		{"the tracking host serves only its own paths, not other hosts' look-alikes", "GET", "https://track.hubapi.com/v1/event", func(t *testing.T, err error) {
			var he *HostError
			if !errors.As(err, &he) {
				t.Errorf("got %v, want HostError", err)
			}
		}},
		{"a forms host look-alike", "POST", "https://evil-hsforms.com/submissions/v3/integration/submit/1/2", func(t *testing.T, err error) {
			var he *HostError
			if !errors.As(err, &he) {
				t.Errorf("got %v, want HostError", err)
			}
		}},
		{"odd port", "GET", "https://api.hubapi.com:8443/crm/v3/owners", func(t *testing.T, err error) {
			var he *HostError
			if !errors.As(err, &he) {
				t.Errorf("got %v, want HostError", err)
			}
		}},
		{"user information in URL", "GET", "https://user:secret@api.hubapi.com/crm/v3/owners", func(t *testing.T, err error) {
			var pe *PathError
			if !errors.As(err, &pe) || strings.Contains(err.Error(), "secret") {
				t.Errorf("got %v, want a PathError that does not repeat the credentials", err)
			}
		}},
		{"empty path", "GET", "  ", func(t *testing.T, err error) {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("got %v, want PathError", err)
			}
		}},
		{"dot segments", "GET", "/crm/v3/objects/contacts/../deals", func(t *testing.T, err error) {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("got %v, want PathError", err)
			}
		}},
		{"bad percent-encoding", "GET", "/crm/v3/objects/%zz", func(t *testing.T, err error) {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("got %v, want PathError", err)
			}
		}},
		{"too long", "GET", "/" + strings.Repeat("a", maxPathBytes), func(t *testing.T, err error) {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("got %v, want PathError", err)
			}
		}},
		{"other URL schemes are refused", "GET", "ftp://api.hubapi.com/crm/v3/owners", func(t *testing.T, err error) {
			var pe *PathError
			if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "http and https") {
				t.Errorf("got %v, want a PathError about the scheme", err)
			}
		}},
		{"unsupported method", "TRACE", "/crm/v3/owners", func(t *testing.T, err error) {
			var me *MethodError
			if !errors.As(err, &me) {
				t.Errorf("got %v, want MethodError", err)
			}
		}},
		{"unknown endpoint suggests the closest templates", "GET", "/crm/v3/objectz/contacts", func(t *testing.T, err error) {
			var ue *UnknownEndpointError
			if !errors.As(err, &ue) {
				t.Fatalf("got %v, want UnknownEndpointError", err)
			}
			want := &UnknownEndpointError{Method: "GET", Path: "/crm/v3/objectz/contacts"}
			if diff := cmp.Diff(want, ue); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got := c.Suggest("GET", "/crm/v3/objectz/contacts"); len(got) == 0 || got[0] != "GET /crm/v3/objects/contacts" {
				t.Errorf("Suggest = %v, want GET /crm/v3/objects/contacts first", got)
			}
		}},
		{"wrong method suggests the same path", "DELETE", "/crm/v3/owners", func(t *testing.T, err error) {
			var ue *UnknownEndpointError
			got := c.Suggest("DELETE", "/crm/v3/owners")
			if !errors.As(err, &ue) || len(got) == 0 || got[0] != "GET /crm/v3/owners" {
				t.Errorf("got %v, suggestions %v; want GET /crm/v3/owners first", err, got)
			}
		}},
		{"token-like segments are redacted", "GET", "/oauth/v1/access-token/CKSt9ZmLMxICAQEYxMlLIKmB3AEomtYDMhlnZXQtYWNjZXNzLXRva2VuLWluZm8", func(t *testing.T, err error) {
			var ue *UnknownEndpointError
			if !errors.As(err, &ue) || strings.Contains(err.Error(), "CKSt9Zm") || ue.Path != "/oauth/v1/access-token/{redacted}" {
				t.Errorf("got %v, want the token redacted", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.Match(tt.method, tt.path)
			if err == nil {
				t.Fatalf("Match(%q, %q) succeeded, want an error", tt.method, tt.path)
			}
			tt.check(t, err)
		})
	}
}

// isolationObjects are the standard objects of the isolation matrix with
// their type ids and a read-only and a write-granting scope of their own.
var isolationObjects = []struct {
	name, typeID, read, write string
}{
	{"contacts", "0-1", "crm.objects.contacts.read", "crm.objects.contacts.write"},
	{"companies", "0-2", "crm.objects.companies.read", "crm.objects.companies.write"},
	{"deals", "0-3", "crm.objects.deals.read", "crm.objects.deals.write"},
	{"tickets", "0-5", "crm.objects.tickets.sensitive.read", "tickets"},
	{"products", "0-7", "crm.objects.products.read", "crm.objects.products.write"},
	{"line_items", "0-8", "crm.objects.line_items.read", "crm.objects.line_items.write"},
	{"quotes", "0-14", "crm.objects.quotes.read", "crm.objects.quotes.write"},
}

var isolationOps = []struct {
	name, method, suffix string
	write                bool
}{
	{"list", "GET", "", false},
	{"get", "GET", "/123", false},
	{"search", "POST", "/search", false},
	{"batch read", "POST", "/batch/read", false},
	{"create", "POST", "", true},
	{"update", "PATCH", "/123", true},
	{"delete", "DELETE", "/123", true},
}

// ownScopes is every scope in an object's record requirements.
func ownScopes(c *Catalog, object string) map[string]bool {
	obj, _ := c.Object(object)
	own := map[string]bool{}
	for k := range 2 {
		rq := c.objTables[0][k][obj.index]
		for _, r := range []*requirement{rq.oauth, rq.private} {
			for _, alt := range r.alts {
				for _, s := range alt {
					own[s] = true
				}
			}
		}
	}
	return own
}

// otherScopes is every scope of every other object's record requirements
// that is not also one of this object's own (e-commerce is shared by
// products, line items and quotes).
func otherScopes(c *Catalog, object string) []string {
	own := ownScopes(c, object)
	var others []string
	for _, obj := range c.Objects() {
		if obj.Name == object {
			continue
		}
		for s := range ownScopes(c, obj.Name) {
			if !own[s] {
				others = append(others, s)
			}
		}
	}
	return others
}

func TestObjectIsolationMatrix(t *testing.T) {
	t.Parallel()
	c := Default()
	for _, obj := range isolationObjects {
		others := c.NewGrants(otherScopes(c, obj.name)...)
		grants := []struct {
			name        string
			grants      Grants
			allowsRead  bool
			allowsWrite bool
			checkRead   bool
		}{
			{"own read", c.NewGrants(obj.read), true, false, true},
			{"own write", c.NewGrants(obj.write), false, true, false},
			{"all other objects' scopes", others, false, false, true},
		}
		forms := []string{"/crm/v3/objects/" + obj.name, "/crm/v3/objects/" + obj.typeID, "/crm/objects/2026-03/" + obj.name}
		for _, form := range forms {
			for _, op := range isolationOps {
				for _, app := range []struct {
					name string
					app  scopeguardv1.AppType
				}{{"public", public}, {"private", private}} {
					for _, g := range grants {
						if !op.write && !g.checkRead {
							continue
						}
						t.Run(strings.Join([]string{obj.name, form, op.name, app.name, g.name}, "/"), func(t *testing.T) {
							m, err := c.Match(op.method, form+op.suffix)
							if err != nil {
								t.Fatalf("Match: %v", err)
							}
							if m.ObjectType != obj.name {
								t.Errorf("ObjectType = %q, want %q", m.ObjectType, obj.name)
							}
							r := m.Requirement(app.app)
							want := g.allowsRead
							if op.write {
								want = g.allowsWrite
							}
							if got := r.Evaluate(g.grants); got.Allowed != want {
								t.Errorf("Allowed = %v, want %v (alternatives %v)", got.Allowed, want, r.Alternatives())
							}
						})
					}
				}
			}
		}
	}
}

func TestObjectResolutionOnGenericPaths(t *testing.T) {
	t.Parallel()
	c := Default()
	tests := []struct {
		name, method, path string
		grant              string
		allowed            bool
	}{
		{"deals scope refused for contacts", "GET", "/crm/v3/objects/0-1", "crm.objects.deals.read", false},
		{"contacts scope for contacts", "GET", "/crm/objects/2026-09/contacts", "crm.objects.contacts.read", true},
		{"deals scope for contacts on a date version", "GET", "/crm/objects/2026-09/contacts", "crm.objects.deals.read", false},
		{"custom scope for custom object", "POST", "/crm/v3/objects/2-99/search", "crm.objects.custom.read", true},
		{"contacts scope refused for custom object", "POST", "/crm/v3/objects/2-99/search", "crm.objects.contacts.read", false},
		{"custom read refused for a custom write", "POST", "/crm/v3/objects/p1_cars", "crm.objects.custom.read", false},
		{"contact property read with schema scope", "GET", "/crm/v3/properties/contacts", "crm.schemas.contacts.read", true},
		{"contact property write needs schema write", "POST", "/crm/v3/properties/contacts", "crm.objects.contacts.write", false},
		{"association batch read uses the from object", "POST", "/crm/v4/associations/deals/contacts/batch/read", "crm.objects.deals.read", true},
		{"association batch read refuses the to object", "POST", "/crm/v4/associations/deals/contacts/batch/read", "crm.objects.contacts.read", false},
		{"legacy v1 crm objects resolve the object", "GET", "/crm-objects/v1/objects/products/paged", "crm.objects.products.read", true},
		{"legacy v1 crm objects refuse another object", "GET", "/crm-objects/v1/objects/tickets/paged", "crm.objects.products.read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := c.Match(tt.method, tt.path)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			r := m.Requirement(public)
			if got := r.Evaluate(c.NewGrants(tt.grant)); got.Allowed != tt.allowed {
				t.Errorf("Allowed = %v, want %v (alternatives %v)", got.Allowed, tt.allowed, r.Alternatives())
			}
		})
	}
}
