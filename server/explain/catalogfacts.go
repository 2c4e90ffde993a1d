package explain

import "github.com/eshopman/scopeguard/server/catalog"

// CatalogScopeFacts looks scope names up in the catalog's scope table (the
// kinds and tier notes of HubSpot's scopes.json, embedded).
func CatalogScopeFacts(c *catalog.Catalog) ScopeFacts {
	return func(name string) (ScopeFact, bool) {
		sc, ok := c.Scope(name)
		if !ok {
			return ScopeFact{}, false
		}
		return ScopeFact{Kind: sc.Kind.String(), TierNote: sc.TierNote}, true
	}
}
