package explain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// Token endpoint (POST /oauth/v1/token and its successors).

var oauthStatuses = map[string]bool{
	"BAD_REFRESH_TOKEN": true, "BAD_AUTH_CODE": true, "EXPIRED_AUTH_CODE": true,
	"BAD_CLIENT_ID": true, "BAD_CLIENT_SECRET": true, "BAD_REDIRECT_URI": true,
	"BAD_GRANT_TYPE": true, "BAD_SCOPE": true, "INVALID_REFRESH_TOKEN": true,
}

var oauthErrors = map[string]bool{
	"invalid_grant": true, "invalid_client": true, "unauthorized_client": true,
	"invalid_request": true, "unsupported_grant_type": true, "invalid_scope": true,
}

func isOAuthStatus(s string) bool { return oauthStatuses[strings.ToUpper(s)] }

var reTokenEndpointText = regexp.MustCompile(`(refresh token|auth(?:orization)? code)[^.]{0,80}(invalid|expired|revoked|missing|unknown|used)|(missing|invalid|unknown|expired)[^.]{0,40}(refresh token|auth(?:orization)? code)`)

func (d *diag) isTokenEndpointError() bool {
	p := d.p
	if isOAuthStatus(p.Status) || oauthErrors[strings.ToLower(p.OAuthError)] || d.messageHas(notIssuedToClient) {
		return true
	}
	if d.status != 0 && d.status != 400 && d.status != 401 {
		return false
	}
	return reTokenEndpointText.MatchString(d.lowerText()) || d.isBareTokenEndpoint400()
}

// notIssuedToClient is HubSpot's wording for a refresh token exchanged with
// another app's client id: "refresh token was not issued to this client".
const notIssuedToClient = "not issued to this client"

// isBareTokenEndpoint400 reports a 400 from an OAuth token endpoint whose
// body says nothing usable (no category, no details): "400 Client Error:
// Bad Request for url: https://api.hubapi.com/oauth/v1/token".
func (d *diag) isBareTokenEndpoint400() bool {
	return d.status == 400 && d.p.Category == "" && len(d.p.Details) == 0 &&
		d.in.Endpoint != nil && isTokenPath(endpointPath(d.in.Endpoint))
}

// endpointPath is the path of an endpoint given as a path or a full URL,
// without query or fragment.
func endpointPath(ep *scopeguardv1.Endpoint) string {
	path := ep.GetPath()
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if _, rest, ok := strings.Cut(path, "://"); ok {
		path = "/"
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		}
	}
	return path
}

func (d *diag) tokenEndpoint() {
	p := d.p
	st := strings.ToUpper(p.Status)
	oe := strings.ToLower(p.OAuthError)
	text := d.lowerText()
	if strings.Contains(text, notIssuedToClient) {
		d.refreshTokenOtherClient()
		return
	}
	if st == "" && oe == "" && d.isBareTokenEndpoint400() {
		d.bareTokenEndpoint400()
		return
	}
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_STATED)
	switch {
	case st == "BAD_REFRESH_TOKEN" || st == "INVALID_REFRESH_TOKEN" || strings.Contains(text, "refresh token"):
		d.refreshTokenInvalid()
	case st == "BAD_AUTH_CODE" || st == "EXPIRED_AUTH_CODE" || (oe == "invalid_grant" && strings.Contains(text, "code")) ||
		strings.Contains(text, "auth code") || strings.Contains(text, "authorization code"):
		d.authCodeInvalid(st)
	case st == "BAD_CLIENT_ID" || st == "BAD_CLIENT_SECRET" || oe == "invalid_client" || oe == "unauthorized_client":
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_INVALID,
			"HubSpot's token endpoint refused the app's client credentials ("+firstNonEmpty(st, oe)+"): the client id or client secret is wrong, or belongs to another app.")
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
			"Use the client id and client secret from the app's Auth settings in the developer account (configure them for the app in scopeguard, not per call).", "", nil)
	case st == "BAD_REDIRECT_URI" || strings.Contains(text, "redirect"):
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_VALIDATION_FAILED,
			"HubSpot's token endpoint refused the redirect_uri: it must match, character for character, the redirect URL registered for the app and the one used in the install URL.")
		d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
			"Send exactly the redirect_uri registered in the app's Auth settings (https, no IP address; http only for localhost).", "", nil)
	case st == "BAD_GRANT_TYPE" || st == "BAD_SCOPE" || oe == "unsupported_grant_type" || oe == "invalid_request" || oe == "invalid_scope":
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_VALIDATION_FAILED,
			"HubSpot's token endpoint refused the request itself ("+firstNonEmpty(st, oe)+"): check grant_type and the form fields it needs.")
		d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
			"Send a form-encoded POST with grant_type=refresh_token (client_id, client_secret, refresh_token) or grant_type=authorization_code (client_id, client_secret, redirect_uri, code).", "", nil)
	default:
		// A bare invalid_grant: on a service that mostly refreshes tokens it
		// is the refresh token that went bad.
		d.refreshTokenInvalid()
	}
}

func (d *diag) refreshTokenInvalid() {
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_REFRESH_TOKEN_INVALID,
		"HubSpot refused the refresh token: it is invalid or revoked (typically the app was uninstalled from the account). Retrying cannot help; the account must install the app again.")
	d.add(scopeguardv1.Action_ACTION_REINSTALL_APP,
		"Have a Super Admin of the account install the app again through its install URL, then store the new refresh token; stop refreshing with the old one.", d.installURL(d.grantedList()), nil)
}

// refreshTokenOtherClient explains "refresh token was not issued to this
// client": the refresh token is valid, but belongs to another app than the
// client id and secret it was sent with (typically a connector's own app
// versus the integration's). Reinstalling does not help; the credentials of
// the app that issued the token do.
func (d *diag) refreshTokenOtherClient() {
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_STATED)
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_REFRESH_TOKEN_INVALID,
		"HubSpot refused the refresh token because it was not issued to this client: it belongs to another app than the client id and secret it was sent with. Reinstalling is not needed; refresh with the client id and secret of the app that issued the token.")
	d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
		"Send the refresh token with the client_id and client_secret of the app that issued it (the app the account installed, from its Auth settings); configure that app in scopeguard's apps file instead of passing credentials per call.", "", nil)
	d.add(scopeguardv1.Action_ACTION_REINSTALL_APP,
		"Only if the token must move to another app: have the account install that app, and store the refresh token it returns.", d.installURL(d.grantedList()), nil)
}

// bareTokenEndpoint400 explains a 400 from the token endpoint that came
// without a readable body: on a refresh, most likely a refresh token that is
// invalid, revoked, or issued to another app than the client credentials.
func (d *diag) bareTokenEndpoint400() {
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_GUESS)
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_REFRESH_TOKEN_INVALID,
		"HubSpot's token endpoint answered 400 without a readable reason. On a refresh this is most likely a refresh token that is invalid or revoked (the app was uninstalled), or one issued to another app than the client id and secret sent with it; on a code exchange, an authorization code already used or expired. Read the response body (status, message) to be sure.")
	d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
		"Check that client_id and client_secret are those of the app that issued the refresh token, and that the form is grant_type=refresh_token with client_id, client_secret and refresh_token.", "", nil)
	d.add(scopeguardv1.Action_ACTION_REINSTALL_APP,
		"If the credentials are right, the refresh token is gone: have a Super Admin of the account install the app again and store the new refresh token.", d.installURL(d.grantedList()), nil)
}

func (d *diag) authCodeInvalid(status string) {
	why := "invalid, expired or already used"
	switch status {
	case "BAD_AUTH_CODE":
		why = "unknown or already used"
	case "EXPIRED_AUTH_CODE":
		why = "expired"
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_AUTH_CODE_INVALID,
		"HubSpot refused the authorization code: it is "+why+". Codes are single-use and short-lived; exchange each one once, right after the redirect.")
	d.add(scopeguardv1.Action_ACTION_RESTART_OAUTH_FLOW,
		"Send the user through the install URL again and exchange the new code immediately, exactly once, with the same redirect_uri.", d.installURL(d.grantedList()), nil)
}

// Expired and invalid authentication.

func (d *diag) isExpired() bool {
	return d.categoryIs("EXPIRED_AUTHENTICATION") || d.messageHas("token used to make this call expired") ||
		d.messageHas("oauth-token is expired") || (d.status == 0 || d.status == 401) && strings.Contains(d.lowerText(), "expired") && reTokenExpired.MatchString(d.lowerText())
}

// messageHas reports whether the message, the text of a non-JSON body, the
// OAuth error description or a detail message contains the lower-case
// phrase, in any case.
func (d *diag) messageHas(phrase string) bool {
	return strings.Contains(d.lowerText(), phrase)
}

// oauthEra is the earliest expiry a real HubSpot OAuth access token can
// report; HubSpot's OAuth 2.0 came later. An expiry before it (typically the
// Unix epoch, "expired 19884 day(s) ago") means HubSpot parsed something
// that is not an OAuth access token.
var oauthEra = time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)

func (d *diag) expired() {
	p := d.p
	expiredAt := p.ExpiredAt
	if expiredAt.IsZero() && p.HasExpiredAgo {
		expiredAt = d.now.Add(-p.ExpiredAgo)
	}
	if !expiredAt.IsZero() && expiredAt.Before(oauthEra) {
		d.notAnOAuthToken(expiredAt)
		return
	}
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_STATED)
	// Ages count on HubSpot's clock when the message gives it ("now: <ms>"),
	// so an old pasted error reads as it did then.
	now := d.now
	if !p.ReportedAt.IsZero() {
		now = p.ReportedAt
	}
	age := ""
	switch {
	case !p.ExpiredAt.IsZero() && !now.Before(p.ExpiredAt):
		age = " " + formatAge(now.Sub(p.ExpiredAt)) + " ago"
	case p.HasExpiredAgo:
		age = " " + formatAge(p.ExpiredAgo) + " ago"
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_EXPIRED,
		"The OAuth access token expired"+age+"; get a new one with the refresh token and send the request again.")
	d.add(scopeguardv1.Action_ACTION_REFRESH_ACCESS_TOKEN,
		"Exchange the refresh token for a new access token (ScopeGuardService.RefreshToken) and retry. Access tokens last 30 minutes: refresh ahead of expires_in instead of waiting for a 401.", "", nil)
}

// notAnOAuthToken explains an expiry at the Unix epoch or an absurd age.
func (d *diag) notAnOAuthToken(expiredAt time.Time) {
	hint := " Personal access keys and developer API keys are not bearer tokens for CRM APIs: use an OAuth access token or a private-app token."
	what := fmt.Sprintf("HubSpot read the credential as an OAuth token that expired at %s, so it is not a real OAuth access token", expiredAt.UTC().Format("2006-01-02"))
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
	wrongKind := d.in.Credential.DoubledBearer || (d.kindKnown && d.kind != kindOAuth)
	if wrongKind {
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_WRONG_CREDENTIAL_TYPE, what+": "+d.credentialPhrase()+"."+hint)
	} else {
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_INVALID, what+" (a placeholder, a truncated token or another kind of key)."+hint)
	}
	d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL, d.correctCredentialHelp(), "", nil)
}

// credentialPhrase names the credential that was sent.
func (d *diag) credentialPhrase() string {
	switch {
	case d.in.Credential.DoubledBearer:
		return `the token already starts with "Bearer ", so HubSpot received "Bearer Bearer …"`
	case d.kind == kindPersonal:
		return "a personal access key was sent as a bearer token"
	case d.kind == kindDeveloper:
		return "a developer API key was sent as a bearer token"
	case d.kind == kindPrivate:
		return "a private-app token was sent where HubSpot expected an OAuth access token"
	}
	return "the credential is not an OAuth access token"
}

// correctCredentialHelp says what to send instead.
func (d *diag) correctCredentialHelp() string {
	switch {
	case d.in.Credential.DoubledBearer:
		return `Pass the bare token to the client library (without "Bearer "); the header must read "Authorization: Bearer <token>" exactly once.`
	case d.kind == kindPersonal:
		return "A personal access key is for the HubSpot CLI and local tools: exchange it for an access token, or call CRM APIs with an OAuth access token or a private-app token."
	case d.kind == kindDeveloper:
		return "A developer API key goes in the hapikey query parameter of app-level endpoints only (webhooks, timeline event types); call account APIs with an OAuth access token or a private-app token."
	case d.kind == kindPrivate:
		return "This endpoint needs an OAuth access token from an installed app; a private-app token cannot call it."
	}
	return `Send "Authorization: Bearer <token>" with an OAuth access token from the token endpoint or a private-app token (pat-…).`
}

func (d *diag) isInvalidAuth() bool {
	p := d.p
	if d.categoryIs("INVALID_AUTHENTICATION") || d.status == 401 || p.AuthFailure != "" {
		return true
	}
	return d.apiKeyRefused() || d.credentialsRefused()
}

// apiKeyRefused reports HubSpot's wording for an API key it refuses.
func (d *diag) apiKeyRefused() bool {
	text := d.lowerText()
	return (strings.Contains(text, "hapikey") || strings.Contains(text, "api key")) && reAPIKeyRefused.MatchString(text)
}

// credentialsRefused reports wording for a credential refused or missing.
func (d *diag) credentialsRefused() bool {
	text := d.lowerText()
	return strings.Contains(text, "credentials") && reCredentialsRefused.MatchString(text)
}

// acceptedTypes returns the catalog's accepted app types, if known.
func (d *diag) acceptedTypes() []scopeguardv1.AppType {
	if d.in.Catalog == nil || d.in.Catalog.Operation == nil {
		return nil
	}
	return d.in.Catalog.Operation.GetAcceptedAppTypes()
}

// developerKeyOnly reports whether the catalog says the endpoint takes only
// a developer API key.
func (d *diag) developerKeyOnly() bool {
	at := d.acceptedTypes()
	return len(at) > 0 && !slices.ContainsFunc(at, func(t scopeguardv1.AppType) bool {
		return t != scopeguardv1.AppType_APP_TYPE_DEVELOPER
	})
}

func (d *diag) acceptsDeveloperKey() bool {
	return slices.Contains(d.acceptedTypes(), scopeguardv1.AppType_APP_TYPE_DEVELOPER)
}

func (d *diag) invalidAuth() {
	p := d.p
	at := d.acceptedTypes()
	wrong := ""
	help := d.correctCredentialHelp()
	switch {
	case d.in.Credential.DoubledBearer:
		wrong = d.credentialPhrase()
	case d.developerKeyOnly() && d.kind != kindDeveloper:
		wrong = "this endpoint takes the app's developer API key (hapikey query parameter), not an access token"
		help = "Call this app-level endpoint with the developer account's API key as ?hapikey=…; access tokens and private-app tokens are refused here."
	case d.kindKnown && d.kind == kindPersonal:
		wrong = d.credentialPhrase()
	case d.kindKnown && d.kind == kindDeveloper && !d.acceptsDeveloperKey():
		wrong = d.credentialPhrase()
	case d.kindKnown && d.kind == kindPrivate && len(at) > 0 && !slices.Contains(at, scopeguardv1.AppType_APP_TYPE_PRIVATE):
		wrong = d.credentialPhrase()
	case p.Credential == CredentialHintHapikey && !d.acceptsDeveloperKey():
		if d.kindKnown && d.kind == kindPrivate {
			wrong = "the private-app token was sent as a hapikey query parameter"
			help = `Send the private-app token as "Authorization: Bearer <token>", not as ?hapikey=.`
		} else {
			wrong = "an API key (hapikey) was sent, and HubSpot sunset account API keys on 2022-11-30; call with a private-app token instead"
			help = `Create a private app (or service key) with the scopes you need and send its token as "Authorization: Bearer <token>".`
		}
	}
	if wrong != "" {
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_WRONG_CREDENTIAL_TYPE, "HubSpot refused the credential because it is the wrong kind: "+wrong+".")
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL, help, "", nil)
		return
	}
	if d.categoryIs("INVALID_AUTHENTICATION") || d.apiKeyRefused() || d.credentialsRefused() {
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_STATED)
	} else {
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
	}
	summary := "HubSpot did not accept the credential: it is missing, malformed, revoked or unknown to HubSpot."
	if p.Credential == CredentialHintHapikey {
		summary = "HubSpot does not know this developer API key (hapikey): it is wrong or was rotated."
	}
	if tok := d.in.Token; tok != nil && !tok.GetActive() {
		summary += " Introspection says the token is inactive"
		if why := tok.GetInactiveReason(); why != "" {
			summary += " (" + d.scrub(why) + ")"
		}
		summary += "."
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_TOKEN_INVALID, summary)
	switch d.kind {
	case kindPrivate:
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
			`Send the private app's current token (its Auth tab) as "Authorization: Bearer <token>"; rotated tokens stop working and tokens leaked on public GitHub are deactivated.`, "", nil)
	case kindDeveloper:
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
			"Copy the developer API key again from the developer account (Keys) and send it as ?hapikey=…; a rotated key stops working.", "", nil)
	default:
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL,
			`Send "Authorization: Bearer <access token>" exactly once, with the whole token as the token endpoint returned it.`, "", nil)
		d.add(scopeguardv1.Action_ACTION_REFRESH_ACCESS_TOKEN,
			"If the token worked before, get a new one with the refresh token (ScopeGuardService.RefreshToken); if that fails with BAD_REFRESH_TOKEN, the app was uninstalled and must be installed again.", "", nil)
	}
}
