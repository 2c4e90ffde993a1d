package catalogfile

import "strings"

// Privilege cost tiers. Sensitivity dominates, then legacy coarseness,
// then the kind of access, so that summing the costs of an AND-set still
// ranks a set with one sensitive scope above any set without one.
const (
	costRead        = 10
	costSchemaRead  = 12
	costOther       = 15
	costWrite       = 20
	costSchemaWrite = 22
	costReadWrite   = 25
	costCoarse      = 100
	costSensitive   = 1000
	costHighly      = 2000
	// CostUnknown is the cost of a scope the catalog does not know.
	CostUnknown = 5000
)

// Privilege is the least-privilege cost of one scope: read < write,
// non-sensitive < sensitive < highly sensitive, granular < legacy coarse.
// coarse says whether scopes.json classes the scope as a coarse legacy
// scope. Lower is less privileged.
func Privilege(name string, coarse bool) int {
	cost := costOther
	switch {
	case strings.Contains(name, "read_write"):
		cost = costReadWrite
	case hasAccessWord(name, "write", "delete", "publish", "create"):
		cost = costWrite
		if strings.HasPrefix(name, "crm.schemas.") {
			cost = costSchemaWrite
		}
	case hasAccessWord(name, "read", "view"):
		cost = costRead
		if strings.HasPrefix(name, "crm.schemas.") {
			cost = costSchemaRead
		}
	}
	switch {
	case strings.Contains(name, "highly_sensitive"):
		cost += costHighly
	case strings.Contains(name, "sensitive"):
		cost += costSensitive
	}
	if coarse {
		cost += costCoarse
	}
	return cost
}

// hasAccessWord reports whether one of the dot- or dash-separated words of
// a scope name is one of words.
func hasAccessWord(name string, words ...string) bool {
	for part := range strings.FieldsFuncSeq(name, func(r rune) bool { return r == '.' || r == '-' || r == '_' }) {
		for _, w := range words {
			if part == w {
				return true
			}
		}
	}
	return false
}
