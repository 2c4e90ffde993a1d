package hubspottest

import (
	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
)

// CatalogAuthorizer decides the fake's generic API calls from scopeguard's
// catalog, the way HubSpot does: an unknown endpoint is a 404; a token whose
// scopes satisfy the endpoint gets 200; otherwise a 403 MISSING_SCOPES body
// lists what is required. When there are several ways to satisfy the
// endpoint, each a single scope, the body lists them all as "One or more of
// the following scopes are required." (HubSpot's documented deals example);
// otherwise it lists the least privileged way as "All of the following
// scopes are required." (as HubSpot answers for the audit log).
func CatalogAuthorizer(c *catalog.Catalog) Authorizer {
	return func(r AuthorizeRequest) Decision {
		m, err := c.Match(r.Method, r.Path)
		if err != nil {
			return Decision{}
		}
		app := scopeguardv1.AppType_APP_TYPE_PUBLIC
		if r.PrivateApp {
			app = scopeguardv1.AppType_APP_TYPE_PRIVATE
		}
		req := m.Requirement(app)
		if req.Evaluate(c.NewGrants(r.Scopes...)).Allowed {
			return Decision{Known: true, Allowed: true}
		}
		alternatives := req.Alternatives()
		single := true
		var anyOf []string
		for _, alt := range alternatives {
			if len(alt) != 1 {
				single = false
				break
			}
			anyOf = append(anyOf, alt[0])
		}
		switch {
		case len(alternatives) == 0:
			// The credential kind cannot call it, or nobody knows what it
			// needs: HubSpot would refuse; name nothing.
			return Decision{Known: true, AllOf: true}
		case single && len(anyOf) > 1:
			return Decision{Known: true, Required: anyOf}
		default:
			return Decision{Known: true, Required: alternatives[0], AllOf: true}
		}
	}
}
