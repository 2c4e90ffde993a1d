package catalog

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMatch feeds random methods and paths or URLs to the matcher: it must
// never panic, must answer with a match or one of its typed errors, and
// must never echo a credential-looking segment in the path an error names
// (the method and the fixed wording around it are not the path's to
// leak).
func FuzzMatch(f *testing.F) {
	for _, seed := range []struct{ method, path string }{
		{"GET", "/crm/v3/objects/contacts/123?archived=false"},
		{"POST", "https://api.hubapi.com/crm/v3/objects/0-3/search"},
		{"get", "https://api-eu1.hubapi.com/crm/objects/2026-03/2-999/batch/read#x"},
		{"DELETE", "//crm//v4/objects/contact/1/associations/company/2/"},
		{"PATCH", "/crm/v3/objects/%63ontacts/%2F"},
		{"GET", "https://evil.example/crm/v3/objects/contacts"},
		{"GET", "/files/v3/files/stat/a/b/c"},
		{"HEAD", "/oauth/v1/access-tokens/CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4"},
		{"PUT", "/../../etc/passwd"},
		{"GET", "https://user:pw@api.hubapi.com/x"},
		{"OPTIONS", "%zz"},
	} {
		f.Add(seed.method, seed.path)
	}
	c := Default()
	f.Fuzz(func(t *testing.T, method, path string) {
		m, err := c.Match(method, path)
		if err == nil {
			if m.Operation == nil || m.reqs == nil && m.Operation.profile >= 0 {
				t.Fatalf("Match(%q, %q) returned an empty match", method, path)
			}
			r := m.Requirement(public)
			r.Evaluate(c.NewGrants("crm.objects.contacts.read"))
			return
		}
		var (
			ue *UnknownEndpointError
			he *HostError
			pe *PathError
			me *MethodError
		)
		if !errors.As(err, &ue) && !errors.As(err, &he) && !errors.As(err, &pe) && !errors.As(err, &me) {
			t.Fatalf("Match(%q, %q) returned an untyped error %T: %v", method, path, err, err)
		}
		if ue != nil {
			for _, seg := range strings.Split(path, "/") {
				if len(seg) >= 40 && utf8.ValidString(seg) && !strings.ContainsAny(seg, "?#%") && strings.Contains(ue.Path, seg) {
					t.Fatalf("error %q repeats a credential-like segment", err)
				}
			}
			c.Suggest(method, path)
		}
	})
}
