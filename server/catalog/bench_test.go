package catalog

import (
	"strings"
	"testing"

	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

// benchPath is one concrete request of the benchmark set.
type benchPath struct{ method, path string }

// benchPaths fills every operation's template with sample values, object
// type parameters cycling through standard and custom objects, so the set
// covers the whole catalog.
func benchPaths(c *Catalog) []benchPath {
	objects := []string{"contacts", "0-3", "tickets", "line_items", "2-123", "p1_cars", "companies"}
	var out []benchPath
	for i, op := range c.Operations() {
		segs := strings.Split(op.Template, "/")
		for j, s := range segs {
			switch {
			case s == "{objectType}" || s == "{fromObjectType}" || s == "{objectTypeId}" || s == "{fromObjectTypeId}" || s == "{toObjectType}":
				segs[j] = objects[(i+j)%len(objects)]
			case s == "{path}" || strings.HasSuffix(s, "Path}"):
				segs[j] = "folder/file.png"
			case strings.HasPrefix(s, "{"):
				segs[j] = "12345"
			}
		}
		out = append(out, benchPath{op.Method, strings.Join(segs, "/")})
	}
	return out
}

// linearIndex is the naive baseline: every template (and alias) pre-split,
// scanned in full for each request; the match with the most literal
// segments wins.
type linearIndex struct {
	entries []linearEntry
}

type linearEntry struct {
	op   *Operation
	segs []string
	rest bool
}

func newLinearIndex(c *Catalog) *linearIndex {
	l := &linearIndex{}
	add := func(op *Operation, tmpl string) {
		segs := strings.Split(strings.Trim(tmpl, "/"), "/")
		rest := catalogfile.IsPathParam(segs[len(segs)-1])
		l.entries = append(l.entries, linearEntry{op, segs, rest})
	}
	for _, op := range c.Operations() {
		add(op, op.Template)
		for _, a := range op.Aliases {
			add(op, a)
		}
		if op.Object != nil && op.objSeg >= 0 {
			segs := strings.Split(strings.Trim(op.Template, "/"), "/")
			for _, name := range append([]string{op.Object.TypeID}, op.Object.Aliases...) {
				if name != "" {
					segs[op.objSeg] = name
					add(op, "/"+strings.Join(segs, "/"))
				}
			}
		}
	}
	return l
}

func (l *linearIndex) match(c *Catalog, method, raw string) (Match, bool) {
	path, err := extractPath(raw)
	if err != nil {
		return Match{}, false
	}
	var s segments
	s.path = path
	if splitSegments(&s) != nil {
		return Match{}, false
	}
	var req []string
	for _, seg := range strings.Split(path, "/") {
		if seg != "" {
			req = append(req, seg)
		}
	}
	method = strings.ToUpper(method)
	var best *Operation
	bestLits := -1
	for _, e := range l.entries {
		if e.op.Method != method || len(req) < len(e.segs) || (!e.rest && len(req) != len(e.segs)) {
			continue
		}
		lits, ok := 0, true
		for i, ts := range e.segs {
			if strings.HasPrefix(ts, "{") {
				continue
			}
			if ts != req[i] {
				ok = false
				break
			}
			lits++
		}
		if ok && lits > bestLits {
			best, bestLits = e.op, lits
		}
	}
	if best == nil {
		return Match{}, false
	}
	return c.resolve(best, &s), true
}

func TestLinearBaselineAgreesWithTrie(t *testing.T) {
	t.Parallel()
	c := Default()
	l := newLinearIndex(c)
	for _, p := range benchPaths(c) {
		want, err := c.Match(p.method, p.path)
		if err != nil {
			t.Errorf("trie: %s %s: %v", p.method, p.path, err)
			continue
		}
		got, ok := l.match(c, p.method, p.path)
		if !ok || got.Operation != want.Operation || got.ObjectType != want.ObjectType {
			t.Errorf("%s %s: linear found %v, trie %s", p.method, p.path, got.Operation, want.Operation.Template)
		}
	}
}

func BenchmarkMatchEvaluate(b *testing.B) {
	c := Default()
	paths := benchPaths(c)
	g := c.NewGrants("crm.objects.contacts.read", "crm.objects.deals.write", "tickets", "oauth", "content", "files.read")
	b.Run("trie", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := paths[i%len(paths)]
			m, err := c.Match(p.method, p.path)
			if err != nil {
				b.Fatal(err)
			}
			m.Requirement(public).Evaluate(g)
		}
	})
	b.Run("linear", func(b *testing.B) {
		l := newLinearIndex(c)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p := paths[i%len(paths)]
			m, ok := l.match(c, p.method, p.path)
			if !ok {
				b.Fatal(p)
			}
			m.Requirement(public).Evaluate(g)
		}
	})
}

func BenchmarkMatchEvaluateTypical(b *testing.B) {
	c := Default()
	g := c.NewGrants("crm.objects.contacts.read", "crm.objects.deals.write")
	for _, p := range []struct{ name, method, path string }{
		{"record", "GET", "/crm/v3/objects/contacts/12345"},
		{"url with query", "GET", "https://api.hubapi.com/crm/v3/objects/contacts/12345?properties=email&archived=false"},
		{"generic object", "PATCH", "/crm/objects/2026-03/0-3/987"},
		{"association", "PUT", "/crm/v4/objects/contact/1/associations/default/company/2"},
	} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := c.Match(p.method, p.path)
				if err != nil {
					b.Fatal(err)
				}
				m.Requirement(public).Evaluate(g)
			}
		})
	}
}

// BenchmarkMatchUnknown measures a miss and its suggestions.
func BenchmarkMatchUnknown(b *testing.B) {
	c := Default()
	for _, p := range []struct{ name, path string }{
		{"typo", "/crm/v3/objectz/contacts/1"},
		{"hostile long segment", "/crm/" + strings.Repeat("z", 4000)},
	} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Match("GET", p.path); err == nil {
					b.Fatal("matched")
				}
				c.Suggest("GET", p.path)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}
