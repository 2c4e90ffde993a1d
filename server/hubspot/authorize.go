// Package hubspot talks to HubSpot's OAuth and token-introspection
// endpoints and builds the URLs HubSpot's OAuth flow uses.
package hubspot

import (
	"net/url"
	"strings"
)

// AuthorizeURLBase is HubSpot's OAuth install (authorize) page.
const AuthorizeURLBase = "https://app.hubspot.com/oauth/authorize"

// AuthorizeURL builds the install URL that asks an account to grant scopes
// (all required) and optional (granted only where the account has them) to
// the app with clientID. Scopes are space-separated as HubSpot expects, and
// every value is query-encoded. redirectURI and optional are left out when
// empty.
func AuthorizeURL(clientID, redirectURI string, scopes, optional []string) string {
	q := url.Values{}
	q.Set("client_id", clientID)
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	q.Set("scope", strings.Join(scopes, " "))
	if len(optional) > 0 {
		q.Set("optional_scope", strings.Join(optional, " "))
	}
	// url.Values.Encode writes spaces as '+'; HubSpot's documentation and
	// SDKs use %20, which every decoder reads the same way.
	return AuthorizeURLBase + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}
