package catalog

import (
	"cmp"
	"slices"
	"strings"
)

const maxSuggestions = 5

// unknown builds the error for a path no operation matches, with the
// closest templates by a segment-level edit distance (a parameter matches
// any segment; literals cost their character distance) plus a small
// penalty for a different method.
func (c *Catalog) unknown(method string, s *segments) error {
	n := min(s.n, maxSegments)
	req := make([]string, n)
	for i := range n {
		req[i] = s.seg(i)
	}
	type scored struct {
		text string
		cost float64
	}
	var best []scored
	upper := strings.ToUpper(method)
	if upper == "HEAD" {
		upper = "GET"
	}
	for _, op := range c.ops {
		cost := segmentDistance(req, strings.Split(strings.Trim(op.Template, "/"), "/"))
		if op.Method != upper {
			cost += 0.5
		}
		best = append(best, scored{op.Method + " " + op.Template, cost})
	}
	slices.SortFunc(best, func(a, b scored) int {
		return cmp.Or(cmp.Compare(a.cost, b.cost), strings.Compare(a.text, b.text))
	})
	err := &UnknownEndpointError{Method: upper, Path: redactPath("/" + strings.Join(req, "/"))}
	for _, b := range best[:min(maxSuggestions, len(best))] {
		err.Suggestions = append(err.Suggestions, b.text)
	}
	return err
}

// segmentDistance is the edit distance between two segment lists.
func segmentDistance(a, b []string) float64 {
	prev := make([]float64, len(b)+1)
	cur := make([]float64, len(b)+1)
	for j := range prev {
		prev[j] = float64(j)
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = float64(i)
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1] + segmentCost(a[i-1], b[j-1])
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// segmentCost is 0 for a parameter or an equal literal, otherwise the
// normalised character edit distance.
func segmentCost(seg, tmpl string) float64 {
	if strings.HasPrefix(tmpl, "{") || seg == tmpl {
		return 0
	}
	return float64(charDistance(seg, tmpl)) / float64(max(len(seg), len(tmpl)))
}

func charDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
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
