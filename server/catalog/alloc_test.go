//go:build !race

package catalog

import "testing"

// TestMatchEvaluateDoesNotAllocate pins the hot path at zero allocations
// for ordinary paths (the race detector's instrumentation allocates, so
// the test is built without it).
func TestMatchEvaluateDoesNotAllocate(t *testing.T) {
	c := Default()
	g := c.NewGrants("crm.objects.contacts.read")
	for _, p := range []struct{ method, path string }{
		{"GET", "/crm/v3/objects/contacts/12345"},
		{"GET", "https://api.hubapi.com/crm/v3/objects/0-1/12345?archived=false"},
		{"PATCH", "/crm/objects/2026-03/Deals/1"},
		{"POST", "/crm/v3/objects/2-77/search"},
		{"GET", "/crm/v3/objects/%63ontacts"},
		{"GET", "/files/v3/files/stat/a/b"},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			m, err := c.Match(p.method, p.path)
			if err != nil {
				t.Fatal(err)
			}
			m.Requirement(public).Evaluate(g)
		})
		if allocs != 0 {
			t.Errorf("%s %s: %.1f allocations per Match+Evaluate, want 0", p.method, p.path, allocs)
		}
	}
}
