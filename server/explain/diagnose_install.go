package explain

import (
	"net/url"
	"slices"
	"strings"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/hubspot"
)

// Install-screen refusals and endpoints no OAuth scope covers.

// installKind is why HubSpot's install (authorize) screen refused to
// connect an app, from its wording. Sources:
// https://knowledge.hubspot.com/integrations/resolve-a-request-for-integration-permissions-error
// and https://developers.hubspot.com/changelog/2018-02-01-integration-permission-error.
type installKind int

const (
	installNone installKind = iota
	// installTier: "This account doesn't have access to some HubSpot
	// features that are required by this app." The account's subscription
	// lacks a scope the install URL requires.
	installTier
	// installInsufficient: "Insufficient scopes were provided." /
	// "Authorization failed because the provided scopes are insufficient."
	// The install URL's scope parameter lacks a scope the app's settings
	// mark required (or puts it in optional_scope).
	installInsufficient
	// installMismatch: "…there is a mismatch between the scopes in the
	// install URL and the app's configured scopes."
	installMismatch
	// installInvalidScope: "An invalid scope name was provided."
	installInvalidScope
	// installRole: "You do not have the correct role to grant these
	// permissions": the installing user is not a Super Admin and lacks App
	// Marketplace Access or the tools' permissions.
	installRole
)

// installPhrases map HubSpot's install-screen wording (lower case) to its
// kind, most specific first.
var installPhrases = []struct {
	phrase string
	kind   installKind
}{
	{"have access to some hubspot features", installTier},
	{"insufficient scopes were provided", installInsufficient},
	{"provided scopes are insufficient", installInsufficient},
	{"mismatch between the scopes", installMismatch},
	{"scope mismatch", installMismatch},
	{"invalid scope name", installInvalidScope},
	{"correct role to grant", installRole},
	{"permission to connect this app", installRole},
}

// installRefusal reads which install-screen refusal the text is, if any.
func (d *diag) installRefusal() installKind {
	text := d.lowerText()
	for _, ip := range installPhrases {
		if strings.Contains(text, ip.phrase) {
			return ip.kind
		}
	}
	return installNone
}

// installRequest is what an install URL quoted in the text asks for.
type installRequest struct {
	clientID, redirectURI string
	scopes, optional      []string
}

// quotedInstallURL reads the first HubSpot install URL in the text; ok is
// false when there is none.
func (d *diag) quotedInstallURL() (installRequest, bool) {
	m := reInstallURL.FindString(clip(firstNonEmpty(d.p.scanText, d.p.Message), maxTextScan))
	if m == "" {
		return installRequest{}, false
	}
	u, err := url.Parse(m)
	if err != nil {
		return installRequest{}, false
	}
	q := u.Query()
	req := installRequest{
		clientID:    clip(q.Get("client_id"), 256),
		redirectURI: clip(q.Get("redirect_uri"), 2048),
		scopes:      appendScopeNames(nil, q.Get("scope")),
		optional:    appendScopeNames(nil, q.Get("optional_scope")),
	}
	return req, len(req.scopes)+len(req.optional) > 0
}

// install explains an install-screen refusal. No token exists yet, so the
// scopes were not granted; each kind says what to change.
func (d *diag) install(kind installKind) {
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_STATED)
	req, quoted := d.quotedInstallURL()
	clientID, redirectURI := d.in.ClientID, d.in.RedirectURI
	if clientID == "" {
		clientID, redirectURI = req.clientID, req.redirectURI
	}
	switch kind {
	case installTier:
		d.installTier(req, quoted, clientID, redirectURI)
	case installInsufficient, installMismatch:
		summary := "HubSpot's install screen refused the app: the scopes in the install URL do not match the scopes the app's Auth settings configure"
		if kind == installInsufficient {
			summary = "HubSpot's install screen refused the app: the install URL's scope parameter lacks a scope the app's Auth settings mark required (or lists it in optional_scope)"
		}
		fix := "Make the install URL's scope parameter list exactly the scopes the app's Auth settings mark required, and optional_scope only those marked optional; then send the user through the corrected URL."
		if coarse := d.unrequestable(req.scopes); len(coarse) > 0 {
			summary += "; it also requests " + strings.Join(coarse, ", ") + ", a legacy scope apps can no longer request"
			fix += " Drop " + strings.Join(coarse, ", ") + " and request its granular successors instead."
		}
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, summary+".")
		d.add(scopeguardv1.Action_ACTION_FIX_REQUEST, fix, "", req.scopes)
	case installInvalidScope:
		summary := "HubSpot's install screen refused the app: the install URL requests a scope name HubSpot does not know"
		var unknown []string
		if d.in.ScopeFacts != nil {
			unknown = slices.DeleteFunc(slices.Concat(req.scopes, req.optional), func(s string) bool { _, ok := d.fact(s); return ok })
		}
		if len(unknown) > 0 {
			summary += " (" + strings.Join(unknown, ", ") + ")"
		}
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_VALIDATION_FAILED, summary+".")
		d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
			"Spell every scope as HubSpot's scope table does, space-separated (not comma-separated) in the scope and optional_scope parameters.", "", unknown)
	case installRole:
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED,
			"HubSpot's install screen refused to grant the app's scopes because the installing user may not: installing needs a Super Admin, or a user with App Marketplace Access and access to every tool the scopes cover.")
		d.add(scopeguardv1.Action_ACTION_CHECK_USER_PERMISSIONS,
			"Have a Super Admin install the app, or give the installing user App Marketplace Access and the permissions for the tools the app's scopes cover.", "", req.scopes)
	default: // installNone: Diagnose calls install only for an install-screen refusal
	}
	// An install URL quoted in the text is corrected where scopeguard
	// knows better: legacy scopes apps can no longer request, scope names
	// HubSpot does not know.
	if quoted && clientID != "" && kind != installTier && kind != installRole {
		fix := func(names []string) []string {
			return slices.DeleteFunc(d.requestable(slices.Clone(names)), func(s string) bool {
				_, known := d.fact(s)
				return d.in.ScopeFacts != nil && !known
			})
		}
		if scopes, optional := fix(req.scopes), fix(req.optional); len(scopes) != len(req.scopes) || len(optional) != len(req.optional) {
			d.add(scopeguardv1.Action_ACTION_REAUTHORIZE_APP, "Then send the user through the corrected install URL.",
				hubspot.AuthorizeURL(clientID, redirectURI, scopes, optional), nil)
		}
	}
}

// installTier explains "This account doesn't have access to some HubSpot
// features that are required by this app": a required scope needs a
// subscription the account lacks. Scopes the app can work without belong
// in optional_scope, which HubSpot drops silently for such accounts.
func (d *diag) installTier(req installRequest, quoted bool, clientID, redirectURI string) {
	var gated []string
	for _, s := range req.scopes {
		if notes := d.tierNotes([]string{s}, true); len(notes) > 0 {
			gated = append(gated, s)
		}
	}
	summary := "HubSpot's install screen refused the app: the account's subscription lacks a feature one of the required scopes needs"
	if len(gated) > 0 {
		summary += " (" + strings.Join(gated, ", ") + " need" + plural(len(gated), "s", "") + " a paid tier or add-on)"
	}
	summary += ". Request scopes the app can work without as optional_scope, which HubSpot drops for accounts without the feature; the others need an account that has it."
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, summary)
	move := "the scopes the account's tier lacks"
	if len(gated) > 0 {
		move = strings.Join(gated, ", ")
	}
	pronoun := "them"
	if len(gated) == 1 {
		pronoun = "it"
	}
	desc := "Mark " + move + " optional in the app's Auth settings, move " + pronoun + " from scope to optional_scope in the install URL, and send the user through it again."
	installURL := ""
	if quoted && clientID != "" && len(gated) > 0 {
		required := slices.DeleteFunc(slices.Clone(req.scopes), func(s string) bool { return slices.Contains(gated, s) })
		installURL = hubspot.AuthorizeURL(clientID, redirectURI, d.requestable(required), d.requestable(sortedUnion(req.optional, gated)))
	} else if clientID == "" {
		desc += " (Give client_id, or quote the install URL, to get the corrected install URL.)"
	}
	d.add(scopeguardv1.Action_ACTION_REAUTHORIZE_APP, desc, installURL, gated)
	tier := "Check which HubSpot features the account's subscription includes"
	if notes := d.tierNotes(gated, true); len(notes) > 0 {
		tier += ": " + strings.Join(notes, "; ")
	}
	d.add(scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER, tier+"; if the app cannot work without them, the account needs that tier or add-on.", "", gated)
}

// unrequestable returns the legacy scopes among names that apps can no
// longer request.
func (d *diag) unrequestable(names []string) []string {
	requestable := d.requestable(slices.Clone(names))
	return slices.DeleteFunc(slices.Clone(names), func(s string) bool { return slices.Contains(requestable, s) })
}

// appLevelPrefixes are paths of HubSpot's app-level APIs, called with the
// developer account's API key rather than an account's token.
var appLevelPrefixes = []string{"/webhooks/", "/crm/v3/timeline/", "/integrations/v1/", "/crm/v3/extensions/"}

// unscoped explains "This oauth-token (…) does not have proper permissions!
// (cannot access an unscoped endpoint)": no scope the credential holds
// covers the endpoint. App-level endpoints (webhook subscriptions, timeline
// event types, CRM cards) take the developer account's API key, so an OAuth
// token is the wrong credential there
// (https://integrate.hubspot.com/t/webhooks-api-authentication-using-oauth2-0/2257);
// on account endpoints the token lacks the endpoint's scope
// (https://integrate.hubspot.com/t/changes-to-how-authorization-works/1482).
func (d *diag) unscoped() {
	path := ""
	if d.in.Endpoint != nil {
		path = endpointPath(d.in.Endpoint)
	}
	appLevel := d.developerKeyOnly() || slices.ContainsFunc(appLevelPrefixes, func(prefix string) bool { return strings.HasPrefix(path, prefix) })
	switch {
	case d.p.Credential == CredentialHintHapikey:
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_WRONG_CREDENTIAL_TYPE,
			"HubSpot says the API key cannot call this endpoint (\"cannot access an unscoped endpoint\"), and HubSpot sunset account API keys on 2022-11-30: call with a private-app token or an OAuth access token instead.")
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
			`Create a private app (or service key) with the scopes you need and send its token as "Authorization: Bearer <token>".`, "", nil)
	case appLevel:
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_WRONG_CREDENTIAL_TYPE,
			"HubSpot says no scope of the OAuth token covers this endpoint (\"cannot access an unscoped endpoint\"): it is an app-level endpoint, which takes the developer account's API key, not an access token.")
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
			"Call app-level endpoints (webhook subscriptions, timeline event types, CRM cards) with the developer account's API key as ?hapikey=… (developer account › Keys); OAuth tokens only install the app.", "", nil)
	case d.in.Catalog != nil && len(d.in.Catalog.Alternatives) > 0:
		d.scopes(false)
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
		if !d.in.GrantedKnown {
			d.confidence(scopeguardv1.Confidence_CONFIDENCE_GUESS)
		}
	default:
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_GUESS)
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED,
			"HubSpot says no scope of the token covers this endpoint (\"cannot access an unscoped endpoint\"): the token lacks the endpoint's scope, unless the endpoint is an app-level one (webhook subscriptions, timeline event types, CRM cards), which takes the developer account's API key instead.")
		d.add(scopeguardv1.Action_ACTION_REAUTHORIZE_APP,
			"Request the scope the endpoint's reference page lists (give the endpoint to have scopeguard name it) and have the account re-authorize the app.", "", nil)
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
			"If it is an app-level endpoint, call it with the developer account's API key as ?hapikey=… instead of an access token.", "", nil)
	}
}
