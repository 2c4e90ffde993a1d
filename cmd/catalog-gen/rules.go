package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

// retiredScope is a scope HubSpot no longer grants (overlay.json
// retiredScopes): it satisfies no endpoint, and its replacements are
// named to whoever still holds it.
type retiredScope struct {
	Name         string   `json:"name"`
	Date         string   `json:"date"`
	Replacements []string `json:"replacements"`
	Source       string   `json:"source"`
	Why          string   `json:"why"`
}

// metaScopeRule names scopes that grant no API access by themselves
// (overlay.json metaScopes). An alternative made only of them is dropped
// unless Allow lists the endpoint with a source saying HubSpot really
// accepts the meta scope there.
type metaScopeRule struct {
	Scopes []string     `json:"scopes"`
	Allow  []endpointAt `json:"allow"`
	Source string       `json:"source"`
	Why    string       `json:"why"`
}

// endpointAt names an endpoint in every version: Path is written with any
// one version segment, and matches the same method and path shape in
// every other version.
type endpointAt struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Source string `json:"source"`
	Why    string `json:"why"`
}

// alternativeDrop removes a stray spec alternative (overlay.json
// alternativeDrops) from every plain operation of one API: one that some
// spec versions list where HubSpot's documentation and the other versions
// do not, so that it would wrongly allow the call.
type alternativeDrop struct {
	API    string   `json:"api"`
	Scopes []string `json:"scopes"`
	Source string   `json:"source"`
	Why    string   `json:"why"`
}

func (e endpointAt) matches(method, template string) bool {
	return e.Method == method && siblingKey(e.Method, e.Path) == siblingKey(method, template)
}

func (g *generator) retired(name string) *retiredScope {
	for i := range g.ov.RetiredScopes {
		if g.ov.RetiredScopes[i].Name == name {
			return &g.ov.RetiredScopes[i]
		}
	}
	return nil
}

// prune applies the overlay's rules to a plain operation's requirement
// for one credential kind: alternatives naming a retired scope, made only
// of meta scopes (outside the allow-list), or dropped as stray spec
// alternatives are removed. A requirement left with nothing becomes
// unknown, and a note says which retired scope HubSpot still documents.
func (g *generator) prune(op *catalogfile.Operation, r *catalogfile.Requirement) {
	if !r.Accepted || len(r.Alternatives) == 0 {
		return
	}
	var kept alternatives
	var retiredOnly []string
	for _, a := range r.Alternatives {
		switch {
		case slices.ContainsFunc(a, func(s string) bool { return g.retired(s) != nil }):
			for _, s := range a {
				if g.retired(s) != nil && !slices.Contains(retiredOnly, s) {
					retiredOnly = append(retiredOnly, s)
				}
			}
			g.stats["alternatives dropped: retired scope"]++
		case g.metaOnly(a) && !g.metaAllowed(op):
			g.stats["alternatives dropped: meta scope only"]++
		case g.strayAlternative(op, a):
			g.stats["alternatives dropped: stray spec alternative"]++
		default:
			kept = append(kept, a)
		}
	}
	r.Alternatives = kept
	if len(kept) > 0 {
		return
	}
	r.Unknown = true
	g.stats["requirements unknown after pruning"]++
	for _, name := range retiredOnly {
		rs := g.retired(name)
		note := fmt.Sprintf("HubSpot documents only the retired scope %s (retired %s); use its granular replacements: %s",
			name, rs.Date, strings.Join(rs.Replacements, ", "))
		if !slices.Contains(op.TierNotes, note) {
			op.TierNotes = append(op.TierNotes, note)
		}
	}
}

func (g *generator) metaOnly(a []string) bool {
	for _, s := range a {
		if !slices.Contains(g.ov.MetaScopes.Scopes, s) {
			return false
		}
	}
	return true
}

func (g *generator) metaAllowed(op *catalogfile.Operation) bool {
	return slices.ContainsFunc(g.ov.MetaScopes.Allow, func(e endpointAt) bool { return e.matches(op.Method, op.Template) })
}

func (g *generator) strayAlternative(op *catalogfile.Operation, a []string) bool {
	return slices.ContainsFunc(g.ov.AlternativeDrops, func(d alternativeDrop) bool {
		return d.API == op.API && slices.Equal(sortedCopy(d.Scopes), a)
	})
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
