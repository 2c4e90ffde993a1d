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
	// Parameters in url.Values.Encode's (sorted) order, written directly:
	// this runs on every ExplainError and PlanScopes answer.
	var b strings.Builder
	b.Grow(len(AuthorizeURLBase) + 64 + len(clientID) + 2*len(redirectURI) + 48*(len(scopes)+len(optional)))
	b.WriteString(AuthorizeURLBase)
	b.WriteString("?client_id=")
	b.WriteString(queryEscape(clientID))
	if len(optional) > 0 {
		b.WriteString("&optional_scope=")
		b.WriteString(queryEscape(strings.Join(optional, " ")))
	}
	if redirectURI != "" {
		b.WriteString("&redirect_uri=")
		b.WriteString(queryEscape(redirectURI))
	}
	b.WriteString("&scope=")
	b.WriteString(queryEscape(strings.Join(scopes, " ")))
	return b.String()
}

// queryEscape escapes a query value with spaces as %20, the form HubSpot's
// documentation and SDKs use (url.QueryEscape writes them as '+'; a literal
// '+' in the value is escaped as %2B, so the replacement is safe).
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
