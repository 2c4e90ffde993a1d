package catalog

import (
	"fmt"
	"math"
	"slices"
	"strings"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

// maxScopes bounds the number of distinct scopes so that Grants is a
// fixed-size bitset.
const (
	grantWords = 8
	maxScopes  = grantWords * 64
)

// requirement is an interned, pre-indexed requirement for one credential
// kind. A nil *requirement means the credential kind is not accepted.
type requirement struct {
	alts     [][]string // least privileged first; shared with callers
	ids      [][]uint16 // alts as scope ids
	costs    [][]int    // privilege cost of each scope of each alt
	noScopes bool
	unknown  bool
	inferred bool
}

func (c *Catalog) requirement(r catalogfile.Requirement, inferred bool) (*requirement, error) {
	if !r.Accepted {
		return nil, nil
	}
	// The parser shares one Requirement among records that spell it the
	// same way; build it once too. Requirements are immutable after load.
	key := requirementKey{noScopes: r.NoScopes, unknown: r.Unknown, inferred: inferred}
	if len(r.Alternatives) > 0 {
		key.alts = &r.Alternatives[0]
	}
	if rq, ok := c.built[key]; ok {
		return rq, nil
	}
	rq, err := c.buildRequirement(r, inferred)
	if err == nil {
		c.built[key] = rq
	}
	return rq, err
}

// requirementKey identifies a parsed requirement by the identity of its
// alternatives, which the parser shares among equal requirements.
type requirementKey struct {
	alts                        *[]string
	noScopes, unknown, inferred bool
}

func (c *Catalog) buildRequirement(r catalogfile.Requirement, inferred bool) (*requirement, error) {
	rq := &requirement{noScopes: r.NoScopes, unknown: r.Unknown, inferred: inferred}
	for _, alt := range r.Alternatives {
		ids := make([]uint16, len(alt))
		costs := make([]int, len(alt))
		for i, s := range alt {
			id, ok := c.scopeIDs[s]
			if !ok {
				return nil, fmt.Errorf("requirement names unlisted scope %q", s)
			}
			ids[i], costs[i] = id, c.costs[id]
		}
		rq.alts = append(rq.alts, alt)
		rq.ids = append(rq.ids, ids)
		rq.costs = append(rq.costs, costs)
	}
	return rq, nil
}

// Requirement is what one operation needs from one kind of credential: an
// OR of alternatives, each an AND of scopes. The zero value means the
// credential kind cannot call the operation.
type Requirement struct {
	r *requirement
}

// Accepted reports whether the credential kind can call the operation at
// all (a developer API key cannot call CRM record endpoints, an OAuth
// token cannot call developer-key-only app settings).
func (r Requirement) Accepted() bool { return r.r != nil }

// Alternatives returns the ways to satisfy the requirement, least
// privileged first; any one suffices and every scope inside one is needed.
// The slices are shared: callers must not modify them.
func (r Requirement) Alternatives() [][]string {
	if r.r == nil {
		return nil
	}
	return r.r.alts
}

// NoScopesRequired reports whether the operation is callable without any
// scope (e.g. the OAuth token endpoints, where the credentials are in the
// request body).
func (r Requirement) NoScopesRequired() bool { return r.r != nil && r.r.noScopes }

// Unknown reports whether the credential kind is accepted but no source
// says which scope the operation needs (a gap in HubSpot's spec that the
// overlay does not fill). Evaluate never allows an unknown requirement.
func (r Requirement) Unknown() bool { return r.r != nil && r.r.unknown }

// Inferred reports whether the requirement is not a direct fact for this
// operation: it was taken from another version of the endpoint, or, for an
// object's properties or association labels, from the object's record
// scopes.
func (r Requirement) Inferred() bool { return r.r != nil && r.r.inferred }

// Evaluation is the outcome of checking granted scopes against a
// requirement.
type Evaluation struct {
	// Allowed is true when one alternative is fully granted or no scope is
	// required.
	Allowed bool
	// SatisfiedBy is the first (least privileged) alternative the grants
	// cover; nil when not allowed or when no scope is required. Shared:
	// callers must not modify it.
	SatisfiedBy []string
	// Missing is the smallest, least-privileged set of scopes to add so
	// that the operation is allowed; nil when allowed, when the credential
	// kind is not accepted and when the requirement is unknown.
	Missing []string
	// NoScopesRequired is true when the operation needs no scope.
	NoScopesRequired bool
	// NotAccepted is true when the credential kind cannot call the
	// operation whatever its scopes.
	NotAccepted bool
	// Unknown is true when no source says which scope is needed.
	Unknown bool
}

// Evaluate checks granted scopes against the requirement. It allocates
// only to build Missing when part of the cheapest alternative is already
// granted.
func (r Requirement) Evaluate(g Grants) Evaluation {
	rq := r.r
	switch {
	case rq == nil:
		return Evaluation{NotAccepted: true}
	case rq.noScopes:
		return Evaluation{Allowed: true, NoScopesRequired: true}
	case rq.unknown:
		return Evaluation{Unknown: true}
	}
	best, bestCost, bestPartial := -1, math.MaxInt, false
	for i, ids := range rq.ids {
		cost, partial := 0, false
		for j, id := range ids {
			if g.hasID(id) {
				partial = true
			} else {
				cost += rq.costs[i][j]
			}
		}
		if cost == 0 {
			return Evaluation{Allowed: true, SatisfiedBy: rq.alts[i]}
		}
		if cost < bestCost {
			best, bestCost, bestPartial = i, cost, partial
		}
	}
	if !bestPartial {
		return Evaluation{Missing: rq.alts[best]}
	}
	var missing []string
	for j, id := range rq.ids[best] {
		if !g.hasID(id) {
			missing = append(missing, rq.alts[best][j])
		}
	}
	return Evaluation{Missing: missing}
}

// Grants is a set of granted scopes, as a bitset over the catalog's scope
// ids plus the names the catalog does not know. Build it with
// Catalog.NewGrants; the zero value grants nothing.
type Grants struct {
	bits    [grantWords]uint64
	scopes  []string
	unknown []string
	retired []Scope
}

func (g *Grants) hasID(id uint16) bool { return g.bits[id>>6]&(1<<(id&63)) != 0 }

// NewGrants builds a grant set. Each item may hold several scopes
// separated by spaces or commas (HubSpot's scope parameter form); names are
// trimmed and de-duplicated. Names the catalog does not know are kept and
// reported by Unknown, retired scopes by Retired: neither can satisfy a
// catalogued requirement.
func (c *Catalog) NewGrants(scopes ...string) Grants {
	g := Grants{scopes: make([]string, 0, len(scopes))}
	for _, item := range scopes {
		for item != "" {
			name := item
			if i := strings.IndexAny(item, ", \t\n\r"); i >= 0 {
				name, item = item[:i], item[i+1:]
			} else {
				item = ""
			}
			if name != "" {
				g.scopes = append(g.scopes, name)
			}
		}
	}
	slices.Sort(g.scopes)
	g.scopes = slices.Compact(g.scopes)
	for _, name := range g.scopes {
		if id, ok := c.scopeIDs[name]; ok {
			if c.scopes[id].Retired != nil {
				g.retired = append(g.retired, c.scopes[id])
				continue
			}
			g.bits[id>>6] |= 1 << (id & 63)
		} else {
			g.unknown = append(g.unknown, name)
		}
	}
	return g
}

// Scopes returns the granted scope names, sorted. Shared: callers must not
// modify it.
func (g Grants) Scopes() []string { return g.scopes }

// Unknown returns the granted names that are not known HubSpot scopes,
// sorted. Shared: callers must not modify it.
func (g Grants) Unknown() []string { return g.unknown }

// Retired returns the granted scopes HubSpot has retired, sorted by name.
// Shared: callers must not modify it.
func (g Grants) Retired() []Scope { return g.retired }

// Has reports whether a scope is granted.
func (g Grants) Has(scope string) bool {
	_, found := slices.BinarySearch(g.scopes, scope)
	return found
}

// appIndex maps an app type to its requirement slot.
func appIndex(app scopeguardv1.AppType) int {
	switch app {
	case scopeguardv1.AppType_APP_TYPE_PRIVATE:
		return 1
	case scopeguardv1.AppType_APP_TYPE_DEVELOPER:
		return 2
	default:
		return 0
	}
}
