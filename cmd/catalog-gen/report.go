package main

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

// disagreementResolution is how the overlay resolves an API whose spec
// versions list different scopes for the same endpoint (overlay.json
// disagreements): "keep" the union (the difference is legitimate, e.g. a
// newer version adds granular successors of a coarse scope), "drop" the
// stray alternatives (alternativeDrops removes them, so every version
// ends up with one list), or "flag" (kept, with a notice on each
// operation, because no source settles it).
type disagreementResolution struct {
	API        string `json:"api"`
	Resolution string `json:"resolution"`
	Source     string `json:"source"`
	Why        string `json:"why"`
}

// disagreement is one endpoint whose spec versions list different OAuth
// scopes.
type disagreement struct {
	method, path string                  // the path in its first version's form
	api          string                  // the API the endpoint belongs to
	versions     map[string]alternatives // version -> that version's list
	ops          []int                   // indexes of the endpoint's operations in the file
}

// disagreements finds every plain spec endpoint whose versions (rollouts
// of one version merged) list different OAuth scopes. Object-resolved
// endpoints are left out: their lists are per-object unions that object
// resolution replaces.
func (g *generator) disagreements(f *catalogfile.File) []*disagreement {
	bySibling := map[string]*disagreement{}
	for _, k := range slices.SortedFunc(maps.Keys(g.groups), compareKeys) {
		gr := g.groups[k]
		if gr.profile != "" || gr.ov != nil || len(gr.srcs) == 0 {
			continue
		}
		key := siblingKey(gr.method, gr.template())
		d := bySibling[key]
		if d == nil {
			d = &disagreement{method: gr.method, path: anyVersion(gr.template()), api: g.chooseAPI(gr), versions: map[string]alternatives{}}
			bySibling[key] = d
		}
		for _, s := range gr.srcs {
			oauth, _, _ := g.secOf(s)
			d.versions[s.Version] = append(d.versions[s.Version], oauth...)
		}
	}
	for i, op := range f.Operations {
		if d := bySibling[siblingKey(op.Method, op.Template)]; d != nil && op.Profile == "" {
			d.ops = append(d.ops, i)
		}
	}
	var out []*disagreement
	for _, key := range slices.Sorted(maps.Keys(bySibling)) {
		d := bySibling[key]
		lists := map[string]bool{}
		for v, alts := range d.versions {
			d.versions[v] = g.normalize(alts)
			if len(d.versions[v]) > 0 {
				lists[formatAlts(d.versions[v])] = true
			}
		}
		if len(lists) > 1 {
			out = append(out, d)
		}
	}
	return out
}

// anyVersion writes a template's version segment as {version}, naming the
// endpoint in all its versions.
func anyVersion(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if numberedVersion.MatchString(s) || dateVersion.MatchString(s) {
			segs[i] = "{version}"
		}
	}
	return strings.Join(segs, "/")
}

func formatAlts(alts alternatives) string {
	parts := make([]string, len(alts))
	for i, a := range alts {
		parts[i] = strings.Join(a, " + ")
	}
	return strings.Join(parts, " \\| ")
}

func (g *generator) resolution(api string) *disagreementResolution {
	for i := range g.ov.Disagreements {
		if g.ov.Disagreements[i].API == api {
			return &g.ov.Disagreements[i]
		}
	}
	return nil
}

// flagNote is the notice a flagged disagreement puts on each operation.
const flagNote = "HubSpot's spec versions list different scopes for this endpoint and no HubSpot source settles which is right; scopeguard accepts the union (see docs/catalog-disagreements.md)"

// resolveDisagreements checks that every disagreeing API has a
// resolution, that a "drop" really left one list, and notes flagged ones.
func (g *generator) resolveDisagreements(f *catalogfile.File, ds []*disagreement) error {
	var unresolved []string
	for _, d := range ds {
		r := g.resolution(d.api)
		if r == nil {
			unresolved = append(unresolved, d.api+" ("+d.method+" "+d.path+")")
			continue
		}
		switch r.Resolution {
		case "keep":
		case "flag":
			for _, i := range d.ops {
				if op := &f.Operations[i]; !slices.Contains(op.TierNotes, flagNote) {
					op.TierNotes = append(op.TierNotes, flagNote)
				}
			}
		case "drop":
			lists := map[string]bool{}
			for _, i := range d.ops {
				lists[catalogfile.FormatRequirement(f.Operations[i].OAuth)] = true
			}
			if len(lists) > 1 {
				return fmt.Errorf("disagreement on %s %s is resolved as drop, but its versions still list %d different requirements: add alternativeDrops", d.method, d.path, len(lists))
			}
		default:
			return fmt.Errorf("disagreement resolution %q for %s: want keep, drop or flag", r.Resolution, r.API)
		}
	}
	if len(unresolved) > 0 {
		slices.Sort(unresolved)
		return fmt.Errorf("spec versions disagree on scopes and overlay.json disagreements does not resolve: %s", strings.Join(slices.Compact(unresolved), "; "))
	}
	return nil
}

// disagreementReport renders docs/catalog-disagreements.md.
func (g *generator) disagreementReport(ds []*disagreement) []byte {
	var b bytes.Buffer
	b.WriteString("# Where HubSpot's spec versions disagree on scopes\n\n")
	b.WriteString("Generated by `go run ./cmd/catalog-gen` (checked by `make checkcatalog`); do not edit by hand.\n")
	b.WriteString("Every endpoint below lists different OAuth scopes in different versions (rollouts of one version merged);\n")
	b.WriteString("each API's resolution is in `cmd/catalog-gen/overlay.json` (`disagreements`): **keep** the union, **drop** the\n")
	b.WriteString("stray alternatives (`alternativeDrops`), or **flag** it with a notice on each operation.\n\n")
	byAPI := map[string][]*disagreement{}
	for _, d := range ds {
		byAPI[d.api] = append(byAPI[d.api], d)
	}
	fmt.Fprintf(&b, "%d endpoints in %d APIs.\n\n", len(ds), len(byAPI))
	b.WriteString("| API | endpoints | resolution | why |\n|---|---|---|---|\n")
	for _, api := range slices.Sorted(maps.Keys(byAPI)) {
		r := g.resolution(api)
		fmt.Fprintf(&b, "| %s | %d | %s | %s ([source](%s)) |\n", api, len(byAPI[api]), r.Resolution, r.Why, r.Source)
	}
	for _, api := range slices.Sorted(maps.Keys(byAPI)) {
		fmt.Fprintf(&b, "\n## %s\n\n| endpoint | version | OAuth alternatives |\n|---|---|---|\n", api)
		for _, d := range byAPI[api] {
			for _, v := range slices.SortedFunc(maps.Keys(d.versions), compareVersions) {
				fmt.Fprintf(&b, "| `%s %s` | %s | %s |\n", d.method, d.path, v, cmp.Or(formatAlts(d.versions[v]), "(none)"))
			}
		}
	}
	return b.Bytes()
}

// compareVersions orders numbered versions before date versions, each in
// their natural order.
func compareVersions(a, b string) int {
	an, bn := numberedVersion.MatchString(a), numberedVersion.MatchString(b)
	if an != bn {
		if an {
			return -1
		}
		return 1
	}
	if an {
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) // "v10" after "v9"
	}
	return strings.Compare(a, b)
}

// family is one row of the family table in docs/catalog.md.
type family struct {
	name, kind, source string
	ops, deprecated    int
	retires            map[string]int // switch-off date -> operations
}

// familyTable renders the table of every API family the catalog knows:
// the spec's APIs and the overlay's legacy families, with their
// operations, deprecations and switch-off dates.
func familyTable(f *catalogfile.File) []byte {
	fams := map[string]*family{}
	for _, op := range f.Operations {
		name, kind := op.API, "spec"
		if legacy, ok := strings.CutPrefix(op.API, "Legacy/"); ok {
			name, kind = legacy, "overlay"
		}
		fm := fams[name]
		if fm == nil {
			fm = &family{name: name, kind: kind, source: "https://github.com/HubSpot/HubSpot-public-api-spec-collection", retires: map[string]int{}}
			fams[name] = fm
		}
		fm.ops++
		if op.Deprecated {
			fm.deprecated++
		}
		if op.Retires {
			fm.retires[op.SunsetDate]++
		}
		if kind == "overlay" && op.SourceURL != "" && (fm.source == "" || strings.HasPrefix(fm.source, "https://github.com/")) {
			fm.source = op.SourceURL
		}
	}
	var b bytes.Buffer
	b.WriteString("| family | source | operations | status | source URL |\n|---|---|---|---|---|\n")
	byName := func(a, b string) int {
		return cmp.Or(strings.Compare(strings.ToLower(a), strings.ToLower(b)), strings.Compare(a, b))
	}
	for _, name := range slices.SortedFunc(maps.Keys(fams), byName) {
		fm := fams[name]
		var status []string
		if live := fm.ops - sum(fm.retires); live > 0 {
			status = append(status, fmt.Sprintf("%d live", live))
		}
		if fm.deprecated > 0 {
			status = append(status, fmt.Sprintf("%d deprecated", fm.deprecated))
		}
		for _, date := range slices.Sorted(maps.Keys(fm.retires)) {
			status = append(status, fmt.Sprintf("%d switched off from %s", fm.retires[date], date))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |\n", name, fm.kind, fm.ops, strings.Join(status, ", "), fm.source)
	}
	return b.Bytes()
}

func sum(m map[string]int) int {
	total := 0
	for _, n := range m {
		total += n
	}
	return total
}
