package catalog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// familyTable is one file of testdata/families: a concrete call for every
// documented method of one API family.
type familyTable struct {
	Family string       `json:"family"`
	Calls  []familyCall `json:"calls"`
}

type familyCall struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Scopes is a documented scope set that allows the call; empty means
	// it needs none (or, with Unknown, that no source says).
	Scopes []string `json:"scopes"`
	// Unknown says no source documents the endpoint's scopes.
	Unknown bool `json:"unknown"`
	// App is "private" for a private-app token, "developer" for a
	// developer API key; empty means OAuth.
	App string `json:"app"`
	// Retired is the date HubSpot switched the endpoint off, when it did.
	Retired string `json:"retired"`
}

// unrelatedScopes are tried in order as "a scope that must not allow the
// call": the first one no alternative of the requirement names.
var unrelatedScopes = []string{"cms.domains.read", "forms", "timeline", "crm.objects.quotes.read"}

// TestFamilyTables runs testdata/families/*.json: every call is
// recognised, its documented scopes allow it, an unrelated scope does not,
// and a retired call is retired from its date on and not the day before.
func TestFamilyTables(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "families", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no family tables in testdata/families")
	}
	c := Default()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var table familyTable
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&table); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if table.Family == "" || len(table.Calls) == 0 {
			t.Fatalf("%s: a family table needs a family and calls", file)
		}
		t.Run(table.Family, func(t *testing.T) {
			t.Parallel()
			for _, call := range table.Calls {
				checkFamilyCall(t, c, call)
			}
		})
	}
}

func checkFamilyCall(t *testing.T, c *Catalog, call familyCall) {
	t.Helper()
	label := call.Method + " " + call.Path
	m, err := c.Match(call.Method, call.Path)
	if err != nil {
		t.Errorf("%s: not recognised: %v", label, err)
		return
	}
	op := m.Operation
	if call.Retired != "" {
		day, err := time.Parse(time.DateOnly, call.Retired)
		if err != nil {
			t.Errorf("%s: retired %q is not a date", label, call.Retired)
			return
		}
		before := day.AddDate(0, 0, -1).Format(time.DateOnly)
		if op.SunsetDate != call.Retired || !op.RetiredBy(call.Retired) || op.RetiredBy(before) {
			t.Errorf("%s (%s %s): sunset %q retires=%v, want retired on %s and not on %s",
				label, op.Method, op.Template, op.SunsetDate, op.Retires, call.Retired, before)
		}
	}
	app, ok := map[string]scopeguardv1.AppType{
		"":          scopeguardv1.AppType_APP_TYPE_PUBLIC,
		"private":   scopeguardv1.AppType_APP_TYPE_PRIVATE,
		"developer": scopeguardv1.AppType_APP_TYPE_DEVELOPER,
	}[call.App]
	if !ok {
		t.Errorf("%s: app %q: want private, developer or nothing", label, call.App)
		return
	}
	r := m.Requirement(app)
	if call.Unknown {
		if !r.Unknown() {
			t.Errorf("%s (%s %s): documented as unknown, catalog says %v", label, op.Method, op.Template, r.Alternatives())
		}
		return
	}
	if len(call.Scopes) == 0 {
		if !r.NoScopesRequired() {
			t.Errorf("%s (%s %s): documented as needing no scope, catalog says %v", label, op.Method, op.Template, r.Alternatives())
		}
		return
	}
	if ev := r.Evaluate(c.NewGrants(call.Scopes...)); !ev.Allowed {
		t.Errorf("%s (%s %s): documented scopes %v do not allow it; catalog alternatives %v (unknown=%v)",
			label, op.Method, op.Template, call.Scopes, r.Alternatives(), ev.Unknown)
	}
	for _, other := range unrelatedScopes {
		if slices.ContainsFunc(r.Alternatives(), func(a []string) bool { return slices.Contains(a, other) }) {
			continue
		}
		if r.Evaluate(c.NewGrants(other)).Allowed {
			t.Errorf("%s (%s %s): the unrelated scope %s allows it", label, op.Method, op.Template, other)
		}
		break
	}
}
