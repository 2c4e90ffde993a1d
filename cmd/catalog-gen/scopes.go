package main

import (
	"cmp"
	"slices"
	"strings"

	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

// access is what a scope lets a token do to the resource it names.
type access int

const (
	accessBoth access = iota // coarse scopes, read_write, unspecific names
	accessRead
	accessWrite
)

func scopeAccess(name string) access {
	switch catalogfile.Privilege(name, false) % 100 {
	case 10, 12:
		return accessRead
	case 20, 22:
		return accessWrite
	}
	return accessBoth
}

// scopeFamily names the CRM object family a scope belongs to, or "" when
// it belongs to none: crm.objects.<f>.*, crm.schemas.<f>.*,
// crm.pipelines.<f>.*, the coarse tickets scopes and e-commerce.
func scopeFamily(name string) string {
	for _, prefix := range []string{"crm.objects.", "crm.schemas.", "crm.pipelines."} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			family, _, _ := strings.Cut(rest, ".")
			return family
		}
	}
	if name == "tickets" || strings.HasPrefix(name, "tickets.") {
		return "tickets"
	}
	if name == "e-commerce" {
		return "e-commerce"
	}
	return ""
}

// stripV2 maps an OAuth sensitive-scope name to its private-app spelling.
func stripV2(name string) string {
	return strings.TrimSuffix(name, ".v2")
}

// alternatives is an OR of AND-sets of scopes.
type alternatives [][]string

func altKey(a []string) string { return strings.Join(a, "+") }

// normalize sorts each AND-set, removes duplicates and every set that is a
// superset of another (it can never be the cheaper way), and orders the
// sets least privileged first.
func (g *generator) normalize(in alternatives) alternatives {
	seen := map[string]bool{}
	var sets alternatives
	for _, a := range in {
		a = slices.Clone(a)
		slices.Sort(a)
		a = slices.Compact(a)
		if len(a) == 0 || seen[altKey(a)] {
			continue
		}
		seen[altKey(a)] = true
		sets = append(sets, a)
	}
	var out alternatives
	for i, a := range sets {
		absorbed := false
		for j, b := range sets {
			if i != j && len(b) < len(a) && isSubset(b, a) {
				absorbed = true
				break
			}
		}
		if !absorbed {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b []string) int {
		return cmp.Or(
			cmp.Compare(g.cost(a), g.cost(b)),
			cmp.Compare(len(a), len(b)),
			strings.Compare(altKey(a), altKey(b)),
		)
	})
	return out
}

func isSubset(small, big []string) bool {
	for _, s := range small {
		if !slices.Contains(big, s) {
			return false
		}
	}
	return true
}

func (g *generator) cost(a []string) int {
	total := 0
	for _, s := range a {
		total += catalogfile.Privilege(s, g.scopes[s].Kind == "coarse")
	}
	return total
}

// mapV2 turns OAuth alternatives into their private-app spelling.
func mapV2(in alternatives) alternatives {
	out := make(alternatives, len(in))
	for i, a := range in {
		out[i] = make([]string, len(a))
		for j, s := range a {
			out[i][j] = stripV2(s)
		}
	}
	return out
}

// kindAllows reports whether an AND-set fits an operation kind: a read
// must not need a write-only scope, and a write needs at least one scope
// that grants writing.
func kindAllows(a []string, kind string) bool {
	if kind == catalogfile.KindRead {
		for _, s := range a {
			if scopeAccess(s) == accessWrite {
				return false
			}
		}
		return true
	}
	for _, s := range a {
		if scopeAccess(s) != accessRead {
			return true
		}
	}
	return false
}

func filterKind(in alternatives, kind string) alternatives {
	var out alternatives
	for _, a := range in {
		if kindAllows(a, kind) {
			out = append(out, a)
		}
	}
	return out
}

// filterObject keeps the AND-sets made only of the object's own scope
// families that fit the operation kind.
func filterObject(in alternatives, families []string, kind string) alternatives {
	var out alternatives
	for _, a := range in {
		own := true
		for _, s := range a {
			if !slices.Contains(families, scopeFamily(s)) {
				own = false
				break
			}
		}
		if own && kindAllows(a, kind) {
			out = append(out, a)
		}
	}
	return out
}
