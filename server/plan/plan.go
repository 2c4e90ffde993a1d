// Package plan chooses the least-privileged set of scopes that satisfies a
// list of endpoint requirements. Each requirement is an OR of alternatives,
// each alternative an AND of scopes; picking one alternative per requirement
// so that the union is cheapest is a weighted set-cover problem.
//
// Cover solves it exactly by branch and bound for the inputs integrations
// have (a few dozen endpoints, a handful of alternatives each) and falls back
// to the best plan found within a fixed search budget, flagged as inexact,
// when the search space is too large. The first plan it tries is the greedy
// one (each requirement, in order of fewest alternatives, takes the
// alternative that adds the least cost), so the fallback is never worse than
// greedy.
package plan

import (
	"math/bits"
	"slices"
)

// SearchBudget bounds the branch-and-bound search: the number of partial
// plans explored before Cover settles for the best plan found so far.
const SearchBudget = 200_000

// Result is a plan.
type Result struct {
	// Scopes are the scopes to request beyond those already held, sorted.
	Scopes []string
	// Exact is true when Scopes is provably the cheapest plan.
	Exact bool
}

// Cover returns the cheapest set of scopes which, together with have,
// satisfies every requirement. A requirement is a list of alternatives; an
// alternative is a list of scopes that are all needed. cost prices one
// scope (higher is more privileged; anything below 1 counts as 1). Plans
// compare by total cost, then by number of scopes; among equals the one that
// follows each requirement's alternative order (least privileged first, as
// the catalog lists them) wins, so the answer is deterministic. Requirements with no alternatives are ignored (they need no
// scope), as are those the held scopes already satisfy.
func Cover(requirements [][][]string, have []string, cost func(string) int) Result {
	p := newProblem(requirements, have, cost)
	p.search(0, p.forced, p.forcedCost)
	scopes := make([]string, 0, p.bestSize)
	for id := range p.best.ids {
		scopes = append(scopes, p.names[id])
	}
	slices.Sort(scopes)
	return Result{Scopes: scopes, Exact: p.nodes <= SearchBudget}
}

// problem is Cover's working state, with scopes interned as small ints.
type problem struct {
	names []string
	costs []int
	words int // length of every bitSet

	forced     bitSet // scopes every plan contains
	forcedCost int
	reqs       [][]bitSet // open requirements, each a list of alternatives

	best     bitSet
	bestCost int
	bestSize int
	nodes    int
}

// bitSet is a set of interned scope ids.
type bitSet []uint64

func (s bitSet) has(id int) bool { return s[id/64]&(1<<(id%64)) != 0 }
func (s bitSet) add(id int)      { s[id/64] |= 1 << (id % 64) }

// covers reports whether alt ⊆ s.
func (s bitSet) covers(alt bitSet) bool {
	for i, w := range alt {
		if w&^s[i] != 0 {
			return false
		}
	}
	return true
}

func (s bitSet) coversAny(alternatives []bitSet) bool {
	for _, alt := range alternatives {
		if s.covers(alt) {
			return true
		}
	}
	return false
}

func (s bitSet) size() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

func (s bitSet) ids(yield func(int) bool) {
	for i, w := range s {
		for w != 0 {
			if !yield(i*64 + bits.TrailingZeros64(w)) {
				return
			}
			w &= w - 1
		}
	}
}

func newProblem(requirements [][][]string, have []string, cost func(string) int) *problem {
	p := &problem{}
	index := map[string]int{}
	intern := func(name string) {
		if _, ok := index[name]; ok {
			return
		}
		index[name] = len(p.names)
		p.names = append(p.names, name)
		// Every scope costs at least 1, so adding one always makes a plan
		// strictly dearer: the search relies on it to prune ties.
		p.costs = append(p.costs, max(cost(name), 1))
	}
	for _, name := range have {
		intern(name)
	}
	for _, alternatives := range requirements {
		for _, alt := range alternatives {
			for _, name := range alt {
				intern(name)
			}
		}
	}
	p.words = (len(p.names) + 63) / 64
	held := p.newSet()
	for _, name := range have {
		held.add(index[name])
	}
	var open [][]bitSet
	for _, alternatives := range requirements {
		if len(alternatives) == 0 {
			continue
		}
		alts := make([]bitSet, 0, len(alternatives))
		for _, alt := range alternatives {
			set := p.newSet()
			for _, name := range alt {
				if id := index[name]; !held.has(id) {
					set.add(id)
				}
			}
			alts = append(alts, set)
		}
		open = append(open, alts)
	}

	// Requirements with a single alternative leave no choice: take them
	// first, then drop every requirement they (or held scopes) satisfy.
	p.forced = p.newSet()
	for _, alts := range open {
		if len(alts) == 1 {
			for i, w := range alts[0] {
				p.forced[i] |= w
			}
		}
	}
	p.forcedCost = p.setCost(p.forced)
	for _, alts := range open {
		if p.forced.coversAny(alts) {
			continue
		}
		p.reqs = append(p.reqs, p.pruneDominated(alts))
	}
	// Fewest alternatives first: the search branches least near the root.
	slices.SortStableFunc(p.reqs, func(a, b []bitSet) int { return len(a) - len(b) })
	p.bestCost = -1
	return p
}

func (p *problem) newSet() bitSet { return make(bitSet, p.words) }

// pruneDominated drops alternatives that are supersets of another (after
// the forced scopes): they can never make a plan cheaper. The rest are
// ordered by the cost they add, cheapest first (stable, so the caller's
// least-privileged-first order breaks ties), which makes the first branch
// the greedy choice.
func (p *problem) pruneDominated(alts []bitSet) []bitSet {
	extra := make([]bitSet, len(alts))
	for i, alt := range alts {
		extra[i] = p.newSet()
		for j, w := range alt {
			extra[i][j] = w &^ p.forced[j]
		}
	}
	var kept []bitSet
	for i, a := range extra {
		dominated := false
		for j, b := range extra {
			if i == j || !a.covers(b) {
				continue
			}
			// b ⊆ a: a is dominated, unless they are equal and a comes first.
			if !b.covers(a) || j < i {
				dominated = true
				break
			}
		}
		if !dominated {
			kept = append(kept, a)
		}
	}
	slices.SortStableFunc(kept, func(a, b bitSet) int { return p.setCost(a) - p.setCost(b) })
	return kept
}

func (p *problem) setCost(s bitSet) int {
	total := 0
	for id := range s.ids {
		total += p.costs[id]
	}
	return total
}

// search extends the partial plan chosen (of cost chosenCost) with an
// alternative for requirement i and onward, keeping the best full plan.
// Branches are tried cheapest first, so among plans of equal cost and size
// the first found, the one following the callers' alternative order, wins.
func (p *problem) search(i int, chosen bitSet, chosenCost int) {
	p.nodes++
	for i < len(p.reqs) && chosen.coversAny(p.reqs[i]) {
		i++
	}
	if i == len(p.reqs) {
		if p.bestCost < 0 || chosenCost < p.bestCost || chosenCost == p.bestCost && chosen.size() < p.bestSize {
			p.best, p.bestCost, p.bestSize = chosen, chosenCost, chosen.size()
		}
		return
	}
	// An open requirement adds at least one scope, and every scope costs at
	// least 1: a partial plan already as dear as the best cannot beat it.
	if p.bestCost >= 0 && (chosenCost >= p.bestCost || p.nodes > SearchBudget) {
		return
	}
	for _, alt := range p.reqs[i] {
		next := slices.Clone(chosen)
		added := 0
		for id := range alt.ids {
			if !next.has(id) {
				next.add(id)
				added += p.costs[id]
			}
		}
		p.search(i+1, next, chosenCost+added)
	}
}
