package catalog

import (
	"cmp"
	"slices"
	"strings"
)

const (
	maxSuggestions = 5
	// maxCompared bounds the characters of a segment the distance looks
	// at, so that a hostile 4 KiB segment costs no more than a short one.
	maxCompared = 32
)

// suggestionIndex groups templates by their first segment (the product:
// crm, cms, oauth, ...) for the unknown-endpoint suggestions.
type suggestionIndex struct {
	firsts []string
	byHead map[string][]suggestionEntry
}

type suggestionEntry struct {
	op   *Operation
	segs []string
}

func newSuggestionIndex(ops []*Operation) *suggestionIndex {
	idx := &suggestionIndex{byHead: map[string][]suggestionEntry{}}
	for _, op := range ops {
		segs := strings.Split(strings.Trim(op.Template, "/"), "/")
		if _, seen := idx.byHead[segs[0]]; !seen {
			idx.firsts = append(idx.firsts, segs[0])
		}
		idx.byHead[segs[0]] = append(idx.byHead[segs[0]], suggestionEntry{op, segs})
	}
	return idx
}

// display is the path as Match saw it: its segments (each clipped to
// maxCompared characters, at most maxSegments of them) joined by slashes.
func (s *segments) display() string {
	return "/" + strings.Join(s.clipped(), "/")
}

func (s *segments) clipped() []string {
	n := min(s.n, maxSegments)
	req := make([]string, n)
	for i := range n {
		req[i] = clip(s.seg(i))
	}
	return req
}

// suggestions ranks the templates closest to a path no operation matches.
// They come from the product (first segment) closest to the request's,
// ranked by a segment-level edit distance (a parameter matches any
// segment; literals cost their normalised character distance) plus a small
// penalty for a different method. Work is bounded by maxSegments and
// maxCompared.
func (c *Catalog) suggestions(upper string, s *segments) []string {
	req := s.clipped()
	n := len(req)
	if n == 0 {
		return nil
	}
	bestHead, bestCost := "", 2.0
	for _, head := range c.suggest.firsts {
		if d := segmentCost(req[0], head); d < bestCost {
			bestHead, bestCost = head, d
		}
	}
	type scored struct {
		text string
		cost float64
	}
	memo := make([]map[string]float64, n)
	for i := range memo {
		memo[i] = map[string]float64{}
	}
	candidates := c.suggest.byHead[bestHead]
	if n > 1 {
		candidates = closestSecond(candidates, req[1], memo[1])
	}
	var ranked []scored
	var buf distanceBuffers
	for _, e := range candidates {
		cost := buf.segmentDistance(req, e.segs, memo)
		if e.op.Method != upper {
			cost += 0.5
		}
		ranked = append(ranked, scored{e.op.Method + " " + e.op.Template, cost})
	}
	slices.SortFunc(ranked, func(a, b scored) int {
		return cmp.Or(cmp.Compare(a.cost, b.cost), strings.Compare(a.text, b.text))
	})
	suggestions := make([]string, 0, min(maxSuggestions, len(ranked)))
	for _, r := range ranked[:min(maxSuggestions, len(ranked))] {
		suggestions = append(suggestions, r.text)
	}
	return suggestions
}

// closestSecond narrows a product's templates to those whose second
// segment (usually the version) is closest to the request's, keeping
// near-ties so that a typo there still finds its siblings.
func closestSecond(entries []suggestionEntry, seg string, memo map[string]float64) []suggestionEntry {
	cost := func(e suggestionEntry) float64 {
		if len(e.segs) < 2 {
			return 1
		}
		lit := e.segs[1]
		c, ok := memo[lit]
		if !ok {
			c = segmentCost(seg, lit)
			memo[lit] = c
		}
		return c
	}
	best := 1.0
	for _, e := range entries {
		best = min(best, cost(e))
	}
	var out []suggestionEntry
	for _, e := range entries {
		if cost(e) <= best+0.34 {
			out = append(out, e)
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > maxCompared {
		return s[:maxCompared]
	}
	return s
}

// distanceBuffers are the edit-distance rows, reused across templates.
type distanceBuffers struct {
	prev, cur [maxSegments + 1]float64
}

// segmentDistance is the edit distance between the request's segments and
// a template's; memo caches each request segment's cost per literal.
func (b *distanceBuffers) segmentDistance(req, tmpl []string, memo []map[string]float64) float64 {
	prev, cur := b.prev[:len(tmpl)+1], b.cur[:len(tmpl)+1]
	for j := range prev {
		prev[j] = float64(j)
	}
	for i := 1; i <= len(req); i++ {
		cur[0] = float64(i)
		for j := 1; j <= len(tmpl); j++ {
			lit := tmpl[j-1]
			sc, ok := memo[i-1][lit]
			if !ok {
				sc = segmentCost(req[i-1], lit)
				memo[i-1][lit] = sc
			}
			cur[j] = min(prev[j-1]+sc, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(tmpl)]
}

// segmentCost is 0 for a parameter or an equal literal, otherwise the
// normalised character edit distance.
func segmentCost(seg, tmpl string) float64 {
	if strings.HasPrefix(tmpl, "{") || seg == tmpl {
		return 0
	}
	tmpl = clip(tmpl)
	return float64(charDistance(seg, tmpl)) / float64(max(len(seg), len(tmpl)))
}

// charDistance is the Levenshtein distance of two strings of at most
// maxCompared bytes.
func charDistance(a, b string) int {
	var rows [2][maxCompared + 1]int
	prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
