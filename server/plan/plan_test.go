package plan

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// privilege is a small stand-in for the catalog's scope ordering.
func privilege(scope string) int {
	switch {
	case strings.Contains(scope, "highly_sensitive"):
		return 40
	case strings.Contains(scope, "sensitive"):
		return 20
	case strings.HasSuffix(scope, ".write"):
		return 2
	case !strings.Contains(scope, "."):
		return 50 // legacy coarse scope
	default:
		return 1
	}
}

func TestCover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		requirements [][][]string
		have         []string
		want         []string
	}{
		{
			name: "read beats sensitive read",
			requirements: [][][]string{
				{{"crm.objects.deals.read"}, {"crm.objects.deals.sensitive.read.v2"}, {"crm.schemas.deals.read"}},
			},
			want: []string{"crm.objects.deals.read"},
		},
		{
			name: "two cheap scopes beat one sensitive scope covering both",
			requirements: [][][]string{
				{{"crm.objects.contacts.read"}, {"crm.objects.contacts.sensitive.read"}},
				{{"crm.objects.companies.read"}, {"crm.objects.contacts.sensitive.read"}},
			},
			want: []string{"crm.objects.companies.read", "crm.objects.contacts.read"},
		},
		{
			name: "a shared scope wins when it is cheaper than the separate ones",
			requirements: [][][]string{
				{{"a.write"}, {"shared.read"}},
				{{"b.write"}, {"shared.read"}},
			},
			want: []string{"shared.read"},
		},
		{
			name: "forced AND pair covers a later requirement",
			requirements: [][][]string{
				{{"crm.lists.read", "crm.lists.write"}},
				{{"crm.lists.read"}, {"crm.objects.contacts.read"}},
			},
			want: []string{"crm.lists.read", "crm.lists.write"},
		},
		{
			name: "granular beats legacy coarse",
			requirements: [][][]string{
				{{"e-commerce"}, {"crm.objects.line_items.read"}},
			},
			want: []string{"crm.objects.line_items.read"},
		},
		{
			name: "held scopes are free and not repeated",
			requirements: [][][]string{
				{{"crm.objects.contacts.read"}},
				{{"crm.objects.deals.read"}, {"crm.objects.contacts.read"}},
			},
			have: []string{"crm.objects.contacts.read"},
			want: []string{},
		},
		{
			name:         "requirements with no alternatives need nothing",
			requirements: [][][]string{{}, {}},
			want:         []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Cover(tt.requirements, tt.have, privilege)
			if diff := cmp.Diff(Result{Scopes: tt.want, Exact: true}, got); diff != "" {
				t.Errorf("Cover (-want +got):\n%s", diff)
			}
		})
	}
}

// bruteForce tries every combination of alternatives: the independent
// oracle for Cover on small inputs. It returns the cheapest plan's cost and
// size (several plans may share them).
func bruteForce(requirements [][][]string, have []string, cost func(string) int) (bestCost, bestSize int) {
	held := map[string]bool{}
	for _, s := range have {
		held[s] = true
	}
	var open [][][]string
	for _, r := range requirements {
		if len(r) > 0 {
			open = append(open, r)
		}
	}
	bestCost = -1
	choice := make([]int, len(open))
	for {
		set := map[string]bool{}
		for i, r := range open {
			for _, s := range r[choice[i]] {
				if !held[s] {
					set[s] = true
				}
			}
		}
		total := 0
		for s := range set {
			total += max(cost(s), 1)
		}
		if bestCost < 0 || total < bestCost || total == bestCost && len(set) < bestSize {
			bestCost, bestSize = total, len(set)
		}
		// Next combination, odometer style.
		i := 0
		for ; i < len(open); i++ {
			choice[i]++
			if choice[i] < len(open[i]) {
				break
			}
			choice[i] = 0
		}
		if i == len(open) {
			return bestCost, bestSize
		}
	}
}

// satisfies reports whether plan plus have meets every requirement.
func satisfies(requirements [][][]string, have, plan []string) bool {
	set := map[string]bool{}
	for _, s := range append(slices.Clone(have), plan...) {
		set[s] = true
	}
	for _, alts := range requirements {
		if len(alts) > 0 && !slices.ContainsFunc(alts, func(alt []string) bool {
			return !slices.ContainsFunc(alt, func(s string) bool { return !set[s] })
		}) {
			return false
		}
	}
	return true
}

func TestCoverMatchesBruteForce(t *testing.T) {
	t.Parallel()
	pool := []string{
		"crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.contacts.sensitive.read",
		"crm.objects.deals.read", "crm.objects.deals.write", "crm.objects.deals.highly_sensitive.read",
		"crm.lists.read", "crm.lists.write", "e-commerce", "tickets", "oauth", "files.read",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		var requirements [][][]string
		for range 1 + rng.IntN(6) {
			var alts [][]string
			for range rng.IntN(4) {
				var alt []string
				for range 1 + rng.IntN(2) {
					alt = append(alt, pool[rng.IntN(len(pool))])
				}
				alts = append(alts, alt)
			}
			requirements = append(requirements, alts)
		}
		var have []string
		if rng.IntN(3) == 0 {
			have = []string{pool[rng.IntN(len(pool))]}
		}
		got := Cover(requirements, have, privilege)
		gotCost := 0
		for _, s := range got.Scopes {
			gotCost += privilege(s)
		}
		wantCost, wantSize := bruteForce(requirements, have, privilege)
		if !got.Exact || !satisfies(requirements, have, got.Scopes) || gotCost != wantCost || len(got.Scopes) != wantSize {
			t.Fatalf("case %d: requirements %v have %v:\nCover = %v (cost %d, exact %v)\nbrute force: cost %d, %d scopes",
				n, requirements, have, got.Scopes, gotCost, got.Exact, wantCost, wantSize)
		}
	}
}

func TestCoverStaysWithinBudget(t *testing.T) {
	t.Parallel()
	// 40 requirements with 4 alternatives each drawn from 37 scopes: 4^40
	// plans. Cover must answer within its budget with a plan that satisfies
	// every requirement.
	var requirements [][][]string
	for i := range 40 {
		var alts [][]string
		for j := range 4 {
			alts = append(alts, []string{fmt.Sprintf("s%d.read", (i*7+j*13)%37)})
		}
		requirements = append(requirements, alts)
	}
	got := Cover(requirements, nil, privilege)
	if !satisfies(requirements, nil, got.Scopes) {
		t.Errorf("plan %v leaves a requirement unsatisfied", got.Scopes)
	}
}

func BenchmarkCoverECommerceSync(b *testing.B) {
	objects := []string{"contacts", "companies", "deals", "line_items", "products", "quotes", "tickets"}
	var requirements [][][]string
	for _, o := range objects {
		requirements = append(requirements,
			[][]string{{"crm.objects." + o + ".read"}, {"crm.objects." + o + ".sensitive.read.v2"}, {"crm.schemas." + o + ".read"}},
			[][]string{{"crm.objects." + o + ".write"}, {"crm.objects." + o + ".sensitive.write.v2"}},
		)
	}
	for b.Loop() {
		Cover(requirements, nil, privilege)
	}
}
