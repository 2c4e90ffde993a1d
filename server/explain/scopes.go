package explain

import (
	"slices"
	"sort"
	"strings"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// canonicalScope is the name used to compare scopes: lower case, without
// the ".v2" suffix OAuth apps use for sensitive scopes (private apps use the
// unsuffixed name for the same permission).
func canonicalScope(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c == ' ' || c == '\t' {
			s = strings.ToLower(strings.TrimSpace(s))
			break
		}
	}
	return strings.TrimSuffix(s, ".v2")
}

// scopeSet is a set of canonical scope names, kept as a sorted slice: the
// sets here hold tens of names, where a slice allocates far less than a map.
type scopeSet []string

// newScopeSet builds the set of the lists' names.
func newScopeSet(lists ...[]string) scopeSet {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	set := make(scopeSet, 0, n)
	for _, l := range lists {
		for _, name := range l {
			if c := canonicalScope(name); c != "" {
				set = append(set, c)
			}
		}
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// union returns the set of both sets' names.
func (s scopeSet) union(o scopeSet) scopeSet {
	return newScopeSet(s, o)
}

func (s scopeSet) has(name string) bool {
	_, ok := slices.BinarySearch(s, canonicalScope(name))
	return ok
}

// covers reports whether every scope of alt is in s.
func (s scopeSet) covers(alt []string) bool {
	for _, n := range alt {
		if !s.has(n) {
			return false
		}
	}
	return true
}

// lacking returns the scopes of alt that s does not hold, in alt's order.
func (s scopeSet) lacking(alt []string) []string {
	var out []string
	for _, n := range alt {
		if !s.has(n) {
			out = append(out, n)
		}
	}
	return out
}

// firstCovered returns the index of the first alternative s covers, or -1.
func (s scopeSet) firstCovered(alts [][]string) int {
	for i, alt := range alts {
		if s.covers(alt) {
			return i
		}
	}
	return -1
}

// bodyAlternatives turns the body's scope list into requirement
// alternatives: ANY_OF gives one alternative per scope; ALL_OF, and lists
// whose semantics the body did not state, give one alternative holding them
// all (asking for every listed scope is the answer that surely works).
func bodyAlternatives(p *Parsed) [][]string {
	if len(p.RequiredScopes) == 0 {
		return nil
	}
	if p.Requirement == scopeguardv1.Requirement_REQUIREMENT_ANY_OF {
		alts := make([][]string, len(p.RequiredScopes))
		for i, s := range p.RequiredScopes {
			alts[i] = []string{s}
		}
		return alts
	}
	return [][]string{slices.Clone(p.RequiredScopes)}
}

// privilegeRank orders scopes from least to most privileged when no catalog
// says which alternative to prefer: the endpoint's own object first, then
// plain reads, schema scopes, writes, coarse legacy scopes and sensitive
// scopes last.
func privilegeRank(scope, objectType string, facts ScopeFacts) int {
	s := strings.ToLower(scope)
	rank := 0
	switch {
	case strings.Contains(s, "highly_sensitive"):
		rank += 300
	case strings.Contains(s, "sensitive"):
		rank += 200
	}
	switch {
	case strings.HasSuffix(s, ".write"), strings.HasSuffix(s, ".delete"), strings.HasSuffix(s, ".publish"),
		strings.Contains(s, ".write."), strings.HasSuffix(s, "-write"):
		rank += 20
	}
	if strings.Contains(s, ".schemas.") {
		rank += 10
	}
	if facts != nil {
		if f, ok := facts(scope); ok && f.Kind == "coarse" {
			rank += 50
		}
	} else if !strings.Contains(s, ".") {
		rank += 50
	}
	if objectType != "" && !strings.Contains(s, "."+strings.ToLower(objectType)+".") {
		rank += 5
	}
	return rank
}

// altRank sums privilegeRank over an alternative.
func altRank(alt []string, objectType string, facts ScopeFacts) int {
	r := 0
	for _, s := range alt {
		r += privilegeRank(s, objectType, facts)
	}
	return r
}

// minimalMissing picks, among candidate alternatives (in preference order),
// the one needing the fewest scopes the token lacks, and returns those
// scopes. Ties keep the earlier candidate.
func minimalMissing(cands [][]string, granted scopeSet) []string {
	var best []string
	bestN := -1
	for _, alt := range cands {
		miss := granted.lacking(alt)
		if bestN < 0 || len(miss) < bestN {
			best, bestN = miss, len(miss)
		}
	}
	return best
}

// rankedBodyAlternatives orders the body's alternatives by privilege,
// keeping the body's order among equals.
func rankedBodyAlternatives(alts [][]string, objectType string, facts ScopeFacts) [][]string {
	out := slices.Clone(alts)
	sort.SliceStable(out, func(i, j int) bool {
		return altRank(out[i], objectType, facts) < altRank(out[j], objectType, facts)
	})
	return out
}

// consistentAlternatives returns the catalog alternatives whose scopes all
// appear in allowed.
func consistentAlternatives(catalog [][]string, allowed scopeSet) [][]string {
	var out [][]string
	for _, alt := range catalog {
		if len(alt) > 0 && allowed.covers(alt) {
			out = append(out, alt)
		}
	}
	return out
}

// CatalogCheck is the comparison of HubSpot's claim with the catalog's
// requirement for the endpoint. The gRPC layer logs and counts
// disagreements, so catalog drift shows up in production.
type CatalogCheck struct {
	// Checked is true when endpoint facts were given, so a comparison was
	// possible.
	Checked bool
	// Agrees is true when HubSpot's required scopes are consistent with the
	// catalog's alternatives (or the body names none). Always false when
	// Checked is false.
	Agrees bool
	// Reason says in one line why they disagree; empty when they agree.
	Reason string
	// OnlyInBody are scopes HubSpot named that no catalog alternative has.
	OnlyInBody []string
	// OnlyInCatalog are scopes the catalog's alternatives need that HubSpot
	// did not name.
	OnlyInCatalog []string
}

// compareWithCatalog decides whether HubSpot's scope claim is consistent
// with the catalog's alternatives for the endpoint. Names are compared
// without the ".v2" suffix.
//
//   - ALL_OF [x, y]: some catalog alternative is exactly {x, y}.
//   - ANY_OF list L: HubSpot lists the union of every alternative's scopes
//     (its generic object endpoints flatten AND pairs and add siblings such
//     as schema scopes), so every catalog alternative must lie inside L.
//     Extra names in L are reported but do not break agreement.
//   - a list without stated semantics (missingScopes, text): some catalog
//     alternative lies inside the list plus the granted scopes.
//   - no list: agreement (HubSpot claimed nothing to compare), unless the
//     catalog says the endpoint needs no scope at all while HubSpot refused
//     for scopes.
func compareWithCatalog(p *Parsed, ep *EndpointFacts, body, granted scopeSet, scopeRefusal bool) CatalogCheck {
	if ep == nil {
		return CatalogCheck{}
	}
	c := CatalogCheck{Checked: true, OnlyInBody: make([]string, 0, len(p.RequiredScopes))}
	catUnion := newScopeSet(ep.Alternatives...)
	for _, s := range p.RequiredScopes {
		if !catUnion.has(s) {
			c.OnlyInBody = append(c.OnlyInBody, s)
		}
	}
	for _, alt := range ep.Alternatives {
		for _, s := range alt {
			if !body.has(s) && !slices.ContainsFunc(c.OnlyInCatalog, func(o string) bool { return canonicalScope(o) == canonicalScope(s) }) {
				c.OnlyInCatalog = append(c.OnlyInCatalog, s)
			}
		}
	}
	if len(c.OnlyInBody) == 0 {
		c.OnlyInBody = nil
	}
	if len(p.RequiredScopes) == 0 {
		if scopeRefusal && len(ep.Alternatives) == 0 {
			c.Reason = "HubSpot refused the call for missing scopes, but the catalog says the endpoint needs none"
			return c
		}
		c.OnlyInCatalog = nil
		c.Agrees = true
		return c
	}
	if len(ep.Alternatives) == 0 {
		c.Reason = "HubSpot requires " + strings.Join(p.RequiredScopes, ", ") + ", but the catalog says the endpoint needs no scope"
		return c
	}
	switch p.Requirement {
	case scopeguardv1.Requirement_REQUIREMENT_ALL_OF:
		for _, alt := range ep.Alternatives {
			if len(newScopeSet(alt)) == len(body) && body.covers(alt) {
				c.Agrees = true
			}
		}
		if !c.Agrees {
			c.Reason = "HubSpot requires all of " + strings.Join(p.RequiredScopes, ", ") + ", which is none of the catalog's alternatives " + formatAlternatives(ep.Alternatives)
		}
	case scopeguardv1.Requirement_REQUIREMENT_ANY_OF:
		c.Agrees = len(c.OnlyInCatalog) == 0
		if !c.Agrees {
			c.Reason = "HubSpot accepts any of " + strings.Join(p.RequiredScopes, ", ") + ", but the catalog's alternatives " + formatAlternatives(ep.Alternatives) + " also need " + strings.Join(c.OnlyInCatalog, ", ")
		}
	default:
		allowed := body.union(granted)
		c.Agrees = len(consistentAlternatives(ep.Alternatives, allowed)) > 0
		if !c.Agrees {
			c.Reason = "HubSpot names " + strings.Join(p.RequiredScopes, ", ") + ", which fits none of the catalog's alternatives " + formatAlternatives(ep.Alternatives)
		}
	}
	return c
}

// formatAlternatives writes alternatives as "[a] or [b + c]".
func formatAlternatives(alts [][]string) string {
	parts := make([]string, 0, len(alts))
	for i, alt := range alts {
		if i == 6 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, "["+strings.Join(alt, " + ")+"]")
	}
	return strings.Join(parts, " or ")
}

// sortedUnion returns the sorted, de-duplicated union of the lists.
func sortedUnion(lists ...[]string) []string {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]string, 0, n)
	for _, l := range lists {
		for _, s := range l {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
