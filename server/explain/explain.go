package explain

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/hubspot"
)

// ScopeFact is what scopeguard knows about one scope name (from the scope
// table the catalog embeds).
type ScopeFact struct {
	// Kind is "coarse", "granular" or "sensitive".
	Kind string
	// TierNote is the account or feature requirement beyond the scope
	// itself (e.g. "Enterprise account with Sensitive Data enabled"); empty
	// when none is known.
	TierNote string
}

// ScopeFacts looks a scope name up; ok is false for names it does not know.
type ScopeFacts func(name string) (fact ScopeFact, ok bool)

// Credential is what the shape of the failing token says about it.
type Credential struct {
	// Type is the kind of credential; CREDENTIAL_TYPE_UNSPECIFIED when no
	// token was given or its shape is not recognised.
	Type scopeguardv1.CredentialType
	// DoubledBearer is true when the token itself starts with "Bearer ", so
	// the Authorization header HubSpot received read "Bearer Bearer …".
	DoubledBearer bool
}

// EndpointFacts is the catalog's knowledge of the endpoint that failed.
type EndpointFacts struct {
	// Operation is the matched catalog entry (echoed in the response). Its
	// ObjectType, TierNotes, ProductTiers, Deprecated/Sunset* and
	// AcceptedAppTypes fields feed the diagnosis; AcceptedAppTypes holding
	// only APP_TYPE_DEVELOPER means the endpoint takes a developer API key.
	Operation *scopeguardv1.Operation
	// Alternatives are the catalog's requirement alternatives for the
	// request's app type, least privileged first: any one suffices, all
	// scopes inside one are needed. For generic CRM object paths these are
	// the named object's own scopes. Empty means the endpoint needs no scope.
	Alternatives [][]string
}

// Input is everything Diagnose works from. The gRPC layer fills it from the
// request, token introspection and the catalog; all of it is plain data.
type Input struct {
	// Parsed is the parsed error; when nil, HTTPStatus, Body and Headers are
	// parsed.
	Parsed *Parsed
	// HTTPStatus is HubSpot's status (0 when unknown).
	HTTPStatus int
	// Body is HubSpot's response body as received.
	Body string
	// Headers are the response headers, names in any case.
	Headers map[string]string

	// Endpoint is the call that failed, as the caller gave it; nil when not
	// given.
	Endpoint *scopeguardv1.Endpoint
	// Catalog is the catalog's knowledge of Endpoint; nil when no endpoint
	// was given or the catalog does not know it.
	Catalog *EndpointFacts

	// GrantedScopes are the scopes the failing token holds.
	GrantedScopes []string
	// GrantedKnown is true when GrantedScopes is the token's actual grant
	// (given by the caller or introspected), even if empty; false when the
	// grant is unknown.
	GrantedKnown bool
	// GrantedFromToken is true when GrantedScopes came from introspecting
	// the failing token itself, so a stale token is ruled out as a reason.
	GrantedFromToken bool
	// AppType is the request's app type.
	AppType scopeguardv1.AppType
	// Credential is what the token's shape says; zero when no token was
	// given.
	Credential Credential
	// Token is the introspection result, echoed in the response; nil when
	// no token was introspected.
	Token *scopeguardv1.TokenInfo

	// ScopeFacts looks up tier notes and kinds of scopes; nil when unknown.
	ScopeFacts ScopeFacts
	// ClientID and RedirectURI are the public app's, for re-authorization
	// URLs; no URL is built without a client id.
	ClientID    string
	RedirectURI string

	// Now is the current time; zero means time.Now().
	Now time.Time
	// AccountTimeZone is the HubSpot account's time zone, used for the
	// daily limit's midnight reset; nil means UTC (see rateLimited).
	AccountTimeZone *time.Location
	// Secrets are strings never to echo (the caller's access token); they
	// are scrubbed from every message and detail copied into the response.
	Secrets []string
}

// Result is a diagnosis: the response plus what the gRPC layer logs.
type Result struct {
	// Response is the ExplainError answer.
	Response *scopeguardv1.ExplainErrorResponse
	// Parsed is the parsed error the diagnosis used.
	Parsed *Parsed
	// Catalog is the comparison of HubSpot's scope claim with the catalog.
	Catalog CatalogCheck
}

// Explain diagnoses a HubSpot error; it is Diagnose(in).Response.
func Explain(in Input) *scopeguardv1.ExplainErrorResponse {
	return Diagnose(in).Response
}

// Diagnose turns a HubSpot error and the facts around it into one root
// cause, a summary and ordered remediations. It never fails.
func Diagnose(in Input) Result {
	p := in.Parsed
	if p == nil {
		p = Parse(in.HTTPStatus, in.Body, in.Headers)
	}
	d := &diag{in: &in, p: p, now: in.Now}
	if d.now.IsZero() {
		d.now = time.Now()
	}
	d.status = validStatus(in.HTTPStatus)
	if d.status == 0 {
		d.status = p.HTTPStatus
	}
	d.granted = newScopeSet(in.GrantedScopes)
	d.kind, d.kindKnown = credentialKind(in)
	d.resp = d.baseResponse()
	d.classify()
	d.check = compareWithCatalog(p, in.Catalog, d.bodySet(), d.granted, d.resp.RootCause == scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED || d.resp.RootCause == scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN)
	d.resp.CatalogAgrees = d.check.Agrees
	return Result{Response: d.resp, Parsed: p, Catalog: d.check}
}

// credKind is the kind of credential the call was made with.
type credKind int

const (
	kindOAuth credKind = iota
	kindPrivate
	kindDeveloper
	kindPersonal
)

// credentialKind resolves the credential's kind from the token's shape,
// then introspection, then the request's app type. known is false when
// only the app type (or nothing) said so.
func credentialKind(in Input) (credKind, bool) {
	t := in.Credential.Type
	if t == scopeguardv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED && in.Token != nil {
		t = in.Token.GetCredentialType()
	}
	switch t {
	case scopeguardv1.CredentialType_CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN:
		return kindOAuth, true
	case scopeguardv1.CredentialType_CREDENTIAL_TYPE_PRIVATE_APP_TOKEN:
		return kindPrivate, true
	case scopeguardv1.CredentialType_CREDENTIAL_TYPE_DEVELOPER_API_KEY:
		return kindDeveloper, true
	case scopeguardv1.CredentialType_CREDENTIAL_TYPE_PERSONAL_ACCESS_KEY:
		return kindPersonal, true
	}
	switch in.AppType {
	case scopeguardv1.AppType_APP_TYPE_PRIVATE:
		return kindPrivate, false
	case scopeguardv1.AppType_APP_TYPE_DEVELOPER:
		return kindDeveloper, false
	}
	return kindOAuth, false
}

// diag carries one diagnosis.
type diag struct {
	in        *Input
	p         *Parsed
	now       time.Time
	status    int
	granted   scopeSet
	kind      credKind
	kindKnown bool
	resp      *scopeguardv1.ExplainErrorResponse
	check     CatalogCheck
	lower     string // lowerText, computed once
	lowerSet  bool
	body      scopeSet // bodySet, computed once
}

// bodySet is the set of scopes the body names.
func (d *diag) bodySet() scopeSet {
	if d.body == nil {
		d.body = newScopeSet(d.p.RequiredScopes)
	}
	return d.body
}

// baseResponse copies what was read into the response; classify adds the
// diagnosis.
func (d *diag) baseResponse() *scopeguardv1.ExplainErrorResponse {
	p := d.p
	r := &scopeguardv1.ExplainErrorResponse{
		Category:       d.scrub(d.category()),
		SubCategory:    d.scrub(p.SubCategory),
		CorrelationId:  d.scrub(p.CorrelationID),
		Requirement:    p.Requirement,
		RequiredScopes: slices.Clone(p.RequiredScopes),
		Message:        d.scrub(p.Message),
		Token:          d.in.Token,
	}
	if ep := d.in.Catalog; ep != nil {
		r.Operation = ep.Operation
		for _, alt := range ep.Alternatives {
			r.CatalogAlternatives = append(r.CatalogAlternatives, &scopeguardv1.ScopeSet{Scopes: sortedUnion(alt)})
		}
	}
	if d.in.GrantedKnown {
		r.GrantedScopes = sortedUnion(d.in.GrantedScopes)
	}
	for _, det := range p.Details {
		r.Details = append(r.Details, &scopeguardv1.ErrorDetail{
			Message:     d.scrub(det.Message),
			Code:        det.Code,
			In:          det.In,
			SubCategory: det.SubCategory,
			Context:     d.flattenContext(det.Context),
		})
	}
	if !p.ExpiredAt.IsZero() {
		r.TokenExpiredAt = timestamppb.New(p.ExpiredAt)
	}
	if p.RateLimit.HeadersSeen || p.RateLimit.Policy != "" {
		r.RateLimit = d.rateLimitProto()
	}
	return r
}

// category is HubSpot's category, else the OAuth status or legacy errorType.
func (d *diag) category() string {
	p := d.p
	switch {
	case p.Category != "":
		return p.Category
	case isOAuthStatus(p.Status):
		return p.Status
	case p.ErrorType != "":
		return p.ErrorType
	}
	return p.OAuthError
}

func (d *diag) rateLimitProto() *scopeguardv1.RateLimit {
	rl := d.p.RateLimit
	return &scopeguardv1.RateLimit{
		Policy:         rl.Policy,
		Max:            rl.Max,
		Remaining:      rl.Remaining,
		IntervalMs:     rl.IntervalMS,
		Daily:          rl.Daily,
		DailyRemaining: rl.DailyRemaining,
	}
}

// flattenContext writes a context map as sorted "key=value, value" strings.
func (d *diag) flattenContext(ctx map[string][]string) []string {
	if len(ctx) == 0 {
		return nil
	}
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		var b strings.Builder
		b.Grow(len(k) + 1 + listLen(ctx[k]))
		if k != "" {
			b.WriteString(d.scrub(k))
			b.WriteByte('=')
		}
		for i, v := range ctx[k] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.scrub(v))
		}
		out = append(out, b.String())
	}
	return out
}

// scrub redacts credentials, including the caller's own secrets.
func (d *diag) scrub(s string) string {
	return redact(s, d.in.Secrets)
}

// classify picks the root cause. The order matters: an OAuth token-endpoint
// status or a rate-limit policy decides even when the HTTP status says
// something else (HubSpot has sent RATE_LIMITS with 500).
func (d *diag) classify() {
	switch {
	case d.isTokenEndpointError():
		d.tokenEndpoint()
	case d.isRateLimited():
		d.rateLimited()
	case d.isExpired():
		d.expired()
	case d.isInvalidAuth():
		d.invalidAuth()
	case d.isScopeRefusal():
		d.scopes(false)
	case d.status >= 200 && d.status < 300 && !d.p.Batch:
		d.success()
	case d.isNotFound():
		d.notFound()
	case d.isLocked():
		d.locked()
	case d.isConflict():
		d.conflict()
	case d.isValidation():
		d.validation()
	case d.isUpstream():
		d.upstream()
	case d.status == 403:
		d.scopes(true)
	default:
		d.unknown("")
	}
}

// lowerText is the message, OAuth description and detail messages in lower
// case, cut for scanning.
func (d *diag) lowerText() string {
	if d.lowerSet {
		return d.lower
	}
	d.lower, d.lowerSet = d.computeLowerText(), true
	return d.lower
}

func (d *diag) computeLowerText() string {
	var b strings.Builder
	b.WriteString(clip(firstNonEmpty(d.p.scanText, d.p.Message), 4096))
	b.WriteByte(' ')
	b.WriteString(clip(d.p.OAuthErrorDescription, 1024))
	for i, det := range d.p.Details {
		if i == 5 {
			break
		}
		b.WriteByte(' ')
		b.WriteString(clip(det.Message, 1024))
	}
	return strings.ToLower(b.String())
}

func (d *diag) categoryIs(names ...string) bool {
	c := strings.ToUpper(d.p.Category)
	return c != "" && slices.Contains(names, c)
}

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
	if isOAuthStatus(p.Status) || oauthErrors[strings.ToLower(p.OAuthError)] {
		return true
	}
	if d.status != 0 && d.status != 400 && d.status != 401 {
		return false
	}
	return reTokenEndpointText.MatchString(d.lowerText())
}

func (d *diag) tokenEndpoint() {
	p := d.p
	st := strings.ToUpper(p.Status)
	oe := strings.ToLower(p.OAuthError)
	text := d.lowerText()
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

// Rate limits.

func (d *diag) isRateLimited() bool {
	p := d.p
	return d.status == 429 || d.categoryIs("RATE_LIMITS", "RATE_LIMIT") || strings.EqualFold(p.ErrorType, "RATE_LIMIT") ||
		p.RateLimit.Policy != ""
}

// rateLimited explains a 429. Retry-After wins; otherwise the policy
// decides: SECONDLY waits a second, TEN_SECONDLY_ROLLING one window (the
// interval header, normally 10 s), DAILY until the next midnight in the
// account's time zone. The time zone is not in the error, so without
// Input.AccountTimeZone UTC is assumed and the summary says so: retrying
// before the real reset only earns another 429.
func (d *diag) rateLimited() {
	p := d.p
	rl := p.RateLimit
	if d.resp.RateLimit == nil {
		d.resp.RateLimit = d.rateLimitProto()
	}
	policy := strings.ToUpper(rl.Policy)
	wait, fromHeader := d.retryAfterHeader()
	var what string
	switch policy {
	case "SECONDLY":
		what = "per-second"
		if !fromHeader {
			wait = time.Second
		}
	case "TEN_SECONDLY_ROLLING":
		what = "ten-second rolling"
		if !fromHeader {
			wait = d.window()
		}
	case "DAILY":
		what = "daily"
		if !fromHeader {
			wait = d.untilMidnight()
		}
	default:
		if !fromHeader {
			wait = d.window()
		}
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_RATE_LIMITED, "")
	var b strings.Builder
	if what == "" {
		b.WriteString("HubSpot's rate limit was hit")
	} else {
		fmt.Fprintf(&b, "HubSpot's %s rate limit was hit", what)
	}
	if policy == "DAILY" {
		if rl.Daily > 0 {
			fmt.Fprintf(&b, " (%d calls per day", rl.Daily)
			if rl.DailyRemaining >= 0 {
				fmt.Fprintf(&b, ", %d left", rl.DailyRemaining)
			}
			b.WriteString(")")
		}
	} else if rl.Max > 0 && rl.IntervalMS > 0 {
		fmt.Fprintf(&b, " (%d calls per %s", rl.Max, formatDuration(time.Duration(rl.IntervalMS)*time.Millisecond))
		if rl.Remaining >= 0 {
			fmt.Fprintf(&b, ", %d left", rl.Remaining)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; retry in %s", formatDuration(wait))
	if policy == "DAILY" && !fromHeader {
		if d.in.AccountTimeZone != nil {
			fmt.Fprintf(&b, ", at midnight %s when the daily count resets", d.in.AccountTimeZone)
		} else {
			b.WriteString(", at midnight UTC (the daily count resets at midnight in the account's time zone, which the error does not say)")
		}
	}
	b.WriteString(".")
	d.resp.Summary = b.String()
	d.retry(wait)
	d.add(scopeguardv1.Action_ACTION_RETRY_LATER, "Wait "+formatDuration(wait)+" before sending the same request again; back off further if it fails again.", "", nil)
	reduce := "Spread calls out and use batch endpoints (up to 100 records per call) to stay under the limit"
	if rl.Max > 0 && rl.IntervalMS > 0 {
		reduce += fmt.Sprintf(" of %d calls per %s", rl.Max, formatDuration(time.Duration(rl.IntervalMS)*time.Millisecond))
	}
	if policy == "SECONDLY" {
		reduce += "; the CRM search endpoints allow 4 requests per second per token"
	}
	d.add(scopeguardv1.Action_ACTION_REDUCE_REQUEST_RATE, reduce+".", "", nil)
	if policy == "DAILY" {
		d.add(scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER,
			"The daily allowance depends on the account's subscription (and the API limit increase add-on); calls with an OAuth app's token have no daily cap.", "", nil)
	}
}

// retryAfterHeader reads Retry-After (delay seconds or an HTTP date).
func (d *diag) retryAfterHeader() (time.Duration, bool) {
	v := d.p.RateLimit.RetryAfter
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, true
		}
		return time.Duration(min(n, 7*24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		wait := t.Sub(d.now)
		return max(0, min(wait, 7*24*time.Hour)), true
	}
	return 0, false
}

// window is one rate-limit interval: the interval header, else 10 s.
func (d *diag) window() time.Duration {
	if ms := d.p.RateLimit.IntervalMS; ms > 0 && ms <= 24*3600*1000 {
		return time.Duration(ms) * time.Millisecond
	}
	return 10 * time.Second
}

// untilMidnight is the time until the next midnight in the account's time
// zone (UTC when unknown).
func (d *diag) untilMidnight() time.Duration {
	loc := d.in.AccountTimeZone
	if loc == nil {
		loc = time.UTC
	}
	t := d.now.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	return next.Sub(d.now).Round(time.Second)
}

// Expired and invalid authentication.

func (d *diag) isExpired() bool {
	return d.categoryIs("EXPIRED_AUTHENTICATION") || d.messageHas("token used to make this call expired")
}

// messageHas reports whether the message (or the text of a non-JSON body)
// contains the lower-case phrase, in any case.
func (d *diag) messageHas(phrase string) bool {
	return containsFold(clip(firstNonEmpty(d.p.scanText, d.p.Message), 4096), phrase) ||
		containsFold(d.p.OAuthErrorDescription, phrase)
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
	age := ""
	switch {
	case !p.ExpiredAt.IsZero() && !d.now.Before(p.ExpiredAt):
		age = " " + formatDuration(d.now.Sub(p.ExpiredAt).Round(time.Second)) + " ago"
	case p.HasExpiredAgo:
		age = " " + formatDuration(p.ExpiredAgo) + " ago"
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
	return d.messageHas("hapikey doesn't exist") || d.messageHas("authentication credentials not found") ||
		d.messageHas("credentials are missing")
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
			wrong = "a hapikey was sent; account API keys were sunset in 2022"
			help = `Create a private app (or service key) with the scopes you need and send its token as "Authorization: Bearer <token>".`
		}
	}
	if wrong != "" {
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_WRONG_CREDENTIAL_TYPE, "HubSpot refused the credential because it is the wrong kind: "+wrong+".")
		d.add(scopeguardv1.Action_ACTION_USE_CORRECT_CREDENTIAL, help, "", nil)
		return
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

// Scopes.

var rePermissionText = regexp.MustCompile(`hasn't been granted|does not have proper permissions|do not have permissions?|don't have permissions?|(?:not|n't) available for public use|required scopes?|missing required .* scope|insufficient scopes?`)

func (d *diag) isScopeRefusal() bool {
	if d.categoryIs("MISSING_SCOPES") {
		return true
	}
	if len(d.p.RequiredScopes) > 0 && d.status < 500 {
		return true
	}
	return (d.status == 403 || d.status == 0) && rePermissionText.MatchString(d.lowerText())
}

// objectType is the object the endpoint is about, when the catalog says.
func (d *diag) objectType() string {
	if d.in.Catalog == nil {
		return ""
	}
	return d.in.Catalog.Operation.GetObjectType()
}

func (d *diag) fact(scope string) (ScopeFact, bool) {
	if d.in.ScopeFacts == nil {
		return ScopeFact{}, false
	}
	return d.in.ScopeFacts(scope)
}

// isCoarse reports whether scope is a legacy coarse scope.
func (d *diag) isCoarse(scope string) bool {
	if f, ok := d.fact(scope); ok {
		return f.Kind == "coarse"
	}
	return !strings.Contains(scope, ".")
}

// scopes explains a refusal for scopes. bare is true for a 403 that named
// no scopes and used no scope wording: only the catalog and the granted
// scopes can then say anything.
func (d *diag) scopes(bare bool) {
	p := d.p
	var catAlts [][]string
	if d.in.Catalog != nil {
		catAlts = d.in.Catalog.Alternatives
	}
	if bare && (d.in.Catalog == nil || !d.in.GrantedKnown) {
		d.unknown("HubSpot refused the call (403) without naming a scope or a reason.")
		return
	}
	hasBody := len(p.RequiredScopes) > 0
	facts := d.in.ScopeFacts

	// Does the token hold what HubSpot asked for?
	satisfied := false
	var holding []string
	if d.in.GrantedKnown {
		switch {
		case hasBody:
			holding = d.heldFromBody()
			satisfied = holding != nil
		case d.in.Catalog != nil:
			if i := d.granted.firstCovered(catAlts); i >= 0 {
				satisfied = true
				if len(catAlts) > 0 {
					holding = catAlts[i]
				}
			}
		}
	}
	// HubSpot's ANY_OF lists are unions over every alternative (and
	// siblings such as schema scopes). When the catalog's own alternatives
	// are not covered, holding a name from the union does not mean holding
	// the permission: the call lacks the catalog's scope, unless what is
	// held is a legacy coarse scope (a case of its own, below).
	coarseHeld := slices.ContainsFunc(holding, d.isCoarse)
	unionMisled := false
	if satisfied && hasBody && p.Requirement != scopeguardv1.Requirement_REQUIREMENT_ALL_OF &&
		len(catAlts) > 0 && d.granted.firstCovered(catAlts) < 0 && !coarseHeld {
		satisfied = false
		unionMisled = true
	}
	if satisfied {
		d.forbidden(holding, coarseHeld, bare)
		return
	}

	// Which scopes to add: HubSpot's exact list for ALL_OF; otherwise the
	// catalog's least-privileged alternative (preferring those inside
	// HubSpot's list); otherwise HubSpot's list ranked by privilege.
	var cands [][]string
	usedCatalog := false
	switch {
	case hasBody && p.Requirement == scopeguardv1.Requirement_REQUIREMENT_ALL_OF:
		cands = [][]string{p.RequiredScopes}
	case len(catAlts) > 0:
		allowed := d.bodySet()
		if p.Requirement != scopeguardv1.Requirement_REQUIREMENT_ANY_OF {
			allowed = allowed.union(d.granted)
		}
		cands = consistentAlternatives(catAlts, allowed)
		if len(cands) == 0 || !hasBody {
			cands = catAlts
		}
		usedCatalog = true
	case hasBody:
		cands = rankedBodyAlternatives(bodyAlternatives(p), d.objectType(), facts)
	}
	missing := minimalMissing(cands, d.granted)
	d.resp.MissingScopes = missing
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, d.notGrantedSummary(missing, usedCatalog, unionMisled, bare))
	if len(missing) == 0 {
		d.support("HubSpot did not name the scope: look it up on the endpoint's reference page. ")
		return
	}
	d.grantSteps(missing, grantMissing, nil)
	d.accountChecks(missing)
}

// heldFromBody returns the scopes of HubSpot's requirement the token holds
// (the first held one for ANY_OF, all of them otherwise), or nil when the
// token does not satisfy it.
func (d *diag) heldFromBody() []string {
	p := d.p
	if p.Requirement == scopeguardv1.Requirement_REQUIREMENT_ANY_OF {
		for _, s := range p.RequiredScopes {
			if d.granted.has(s) {
				return []string{s}
			}
		}
		return nil
	}
	if d.granted.covers(p.RequiredScopes) {
		return p.RequiredScopes
	}
	return nil
}

// notGrantedSummary writes the one-read summary of SCOPE_NOT_GRANTED.
func (d *diag) notGrantedSummary(missing []string, usedCatalog, unionMisled, bare bool) string {
	p := d.p
	var b strings.Builder
	b.Grow(256 + listLen(p.RequiredScopes) + 2*listLen(missing))
	switch {
	case len(missing) == 0 && len(p.RequiredScopes) == 0:
		b.WriteString("HubSpot refused the call for missing scopes without naming them")
		if d.in.Catalog == nil {
			b.WriteString("; give the endpoint so scopeguard can look its scopes up in the catalog")
		}
		b.WriteString(".")
		return b.String()
	case len(missing) == 0:
		b.WriteString("HubSpot says the call needs ")
		d.writeRequirement(&b)
		b.WriteString(".")
		return b.String()
	}
	if bare {
		fmt.Fprintf(&b, "HubSpot refused the call (403) without naming a scope; the catalog says the token lacks %s.", strings.Join(missing, ", "))
		return b.String()
	}
	if d.in.GrantedKnown {
		b.WriteString("The token lacks ")
	} else {
		b.WriteString("The call needs ")
	}
	writeList(&b, missing)
	b.WriteString(": ")
	if len(p.RequiredScopes) > 0 {
		b.WriteString("HubSpot says it needs ")
		d.writeRequirement(&b)
	} else {
		b.WriteString("HubSpot named no scope; the catalog gives this endpoint's requirement")
	}
	switch {
	case unionMisled:
		b.WriteString("; that list is a union of alternatives, and the token holds a name from it but not this endpoint's own scope")
	case usedCatalog && len(p.RequiredScopes) > 0 && !d.bodySet().covers(missing):
		b.WriteString(", but the catalog's requirement for this endpoint is " + strings.Join(missing, " + "))
	case p.Requirement == scopeguardv1.Requirement_REQUIREMENT_ANY_OF && len(p.RequiredScopes) > 1:
		b.WriteString(", and " + strings.Join(missing, " + ") + " is the least privileged choice")
	}
	b.WriteString(".")
	if !d.in.GrantedKnown {
		b.WriteString(" The token's scopes were not checked (give granted_scopes or access_token).")
	}
	return b.String()
}

// requirementPhrase renders the body's requirement: "any one of a, b",
// "all of a, b", "a".
func (d *diag) requirementPhrase() string {
	var b strings.Builder
	d.writeRequirement(&b)
	return b.String()
}

// writeRequirement writes requirementPhrase into b.
func (d *diag) writeRequirement(b *strings.Builder) {
	p := d.p
	if len(p.RequiredScopes) > 1 {
		switch p.Requirement {
		case scopeguardv1.Requirement_REQUIREMENT_ANY_OF:
			b.WriteString("any one of ")
		case scopeguardv1.Requirement_REQUIREMENT_ALL_OF:
			b.WriteString("all of ")
		}
	}
	writeList(b, p.RequiredScopes)
}

// writeList writes names separated by ", ".
func writeList(b *strings.Builder, names []string) {
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
}

// listLen is the length of names joined by ", ".
func listLen(names []string) int {
	n := 0
	for _, s := range names {
		n += len(s) + 2
	}
	return n
}

// forbidden explains SCOPE_GRANTED_BUT_FORBIDDEN: the token holds what
// HubSpot named, so something else refuses the call. Reasons with evidence
// come first (Solutions Partner objects, tier notes, a legacy coarse
// scope), then the ones that are always possible (the user's permissions, a
// token minted before the scope was added), then support.
func (d *diag) forbidden(holding []string, coarseHeld, bare bool) {
	p := d.p
	relevant := sortedUnion(holding)
	var reasons []string

	partner := d.isPartnerOnly(relevant)
	if partner {
		reasons = append(reasons, "partner clients exist only in HubSpot Solutions Partner accounts")
		d.add(scopeguardv1.Action_ACTION_CHECK_PARTNER_STATUS,
			"Partner-client and partner-service objects exist only in HubSpot Solutions Partner accounts; other accounts get 403 whatever the scopes. Check the account is a Solutions Partner account.", "", d.partnerScopes(relevant))
	}
	if notes := d.tierNotes(relevant, !partner); len(notes) > 0 {
		reasons = append(reasons, "the account tier ("+notes[0]+")")
		d.add(scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER,
			"Check the account's subscription includes the feature: "+strings.Join(notes, "; ")+".", "", relevant)
	}
	if coarseHeld {
		var granular []string
		if d.in.Catalog != nil {
			granular = minimalMissing(d.in.Catalog.Alternatives, d.granted)
		}
		coarse := slices.DeleteFunc(slices.Clone(holding), func(s string) bool { return !d.isCoarse(s) })
		msg := "the legacy coarse scope " + strings.Join(coarse, ", ") + " does not cover the granular scope HubSpot checks"
		if len(granular) > 0 {
			msg += " (" + strings.Join(granular, ", ") + ")"
		}
		reasons = append(reasons, msg)
		d.grantSteps(granular, grantCoarse, coarse)
	}
	reasons = append(reasons, "the installing user's permissions")
	perm := "Check that the user who installed the app (or whose token this is) has the matching permission in the account"
	if slices.ContainsFunc(relevant, func(s string) bool { return strings.HasPrefix(s, "account-info.security") }) {
		perm += " (account security and audit logs need a Super Admin)"
	}
	d.add(scopeguardv1.Action_ACTION_CHECK_USER_PERMISSIONS, perm+"; a user-level token can do only what its user may do.", "", relevant)
	if !coarseHeld {
		if d.in.GrantedFromToken {
			reasons = append(reasons, "a stale install (re-authorizing mints a fresh grant)")
		} else {
			reasons = append(reasons, "a token minted before the scope was added")
		}
		d.grantSteps(nil, grantFresh, nil)
	}
	d.support("")

	var b strings.Builder
	switch {
	case bare:
		b.WriteString("HubSpot refused the call (403) without naming a scope")
		if p.Message != "" {
			b.WriteString(" (" + strconvQuote(clip(d.scrub(p.Message), 200)) + ")")
		}
		b.WriteString(", and the token holds the scopes the catalog requires")
	case len(p.RequiredScopes) > 0:
		fmt.Fprintf(&b, "HubSpot says the call needs %s and the token already holds %s", d.requirementPhrase(), strings.Join(holding, ", "))
	default:
		fmt.Fprintf(&b, "HubSpot refused the call for scopes, but the token holds the scopes the catalog requires (%s)", strings.Join(holding, ", "))
	}
	b.WriteString(", so a missing scope is not the cause. Most likely: ")
	b.WriteString(reasons[0])
	if len(reasons) > 1 {
		b.WriteString("; otherwise ")
		b.WriteString(strings.Join(reasons[1:], ", or "))
	}
	b.WriteString(".")
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN, b.String())
}

// isPartnerOnly reports whether the scopes or the endpoint concern objects
// only Solutions Partner accounts have.
func (d *diag) isPartnerOnly(scopes []string) bool {
	if strings.Contains(strings.ToLower(d.objectType()), "partner") {
		return true
	}
	return len(d.partnerScopes(scopes)) > 0
}

func (d *diag) partnerScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		f, _ := d.fact(s)
		if strings.Contains(strings.ToLower(s), "partner-") || strings.Contains(f.TierNote, "Solutions Partner") {
			out = append(out, s)
		}
	}
	return out
}

// tierNotes collects account and feature requirements: the operation's
// tier notes and non-free product tiers, then the scopes' tier notes.
// Partner notes are left to the partner step; "any account" notes say
// nothing.
func (d *diag) tierNotes(scopes []string, includePartner bool) []string {
	var notes []string
	add := func(n string) {
		n = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(n), "."))
		ln := strings.ToLower(n)
		if n == "" || strings.HasPrefix(ln, "any account") || strings.HasPrefix(ln, "legacy") || slices.Contains(notes, n) {
			return
		}
		if !includePartner && strings.Contains(ln, "partner") {
			return
		}
		notes = append(notes, n)
	}
	if d.in.Catalog != nil && d.in.Catalog.Operation != nil {
		op := d.in.Catalog.Operation
		for _, n := range op.GetTierNotes() {
			add(n)
		}
		hubs := make([]string, 0, len(op.GetProductTiers()))
		for hub, tier := range op.GetProductTiers() {
			if !strings.EqualFold(tier, "FREE") && tier != "" {
				hubs = append(hubs, hub+" "+strings.ToUpper(tier))
			}
		}
		sort.Strings(hubs)
		if len(hubs) > 0 {
			add("HubSpot lists this API for " + strings.Join(hubs, ", "))
		}
	}
	for _, s := range scopes {
		if f, ok := d.fact(s); ok {
			add(f.TierNote)
		}
	}
	return notes
}

// grantPurpose says why a grant step is added.
type grantPurpose int

const (
	// grantMissing asks for scopes the token lacks.
	grantMissing grantPurpose = iota
	// grantCoarse replaces legacy coarse scopes by granular ones.
	grantCoarse
	// grantFresh asks for a token minted after the scopes were added.
	grantFresh
)

// grantSteps adds the step that puts scopes on the token, by credential
// kind: re-authorize a public app (with an install URL requesting the
// current plus the new scopes), tick scopes in a private app, or move off an
// API key.
func (d *diag) grantSteps(scopes []string, purpose grantPurpose, coarse []string) {
	requested := d.requestable(sortedUnion(d.grantedList(), scopes))
	if purpose == grantFresh {
		requested = d.requestable(sortedUnion(d.grantedList(), d.p.RequiredScopes))
	}
	list := strings.Join(scopes, ", ")
	lead := ""
	if purpose == grantCoarse {
		lead = "The legacy coarse scope " + strings.Join(coarse, ", ") + " no longer covers this endpoint. "
		if len(scopes) == 0 {
			list = "the granular scopes that replaced it (see the endpoint's reference page)"
		}
	}
	switch {
	case d.kind == kindPrivate:
		desc := lead + "Tick " + list + " in the private app's Scopes tab (or the service key's scopes), save, and call with the token HubSpot shows afterwards."
		if purpose == grantFresh {
			desc = "If the scope was ticked after this token was copied, save the private app again and use the current token from its Auth tab (rotate it if HubSpot asks)."
		}
		d.add(scopeguardv1.Action_ACTION_ADD_SCOPES_TO_PRIVATE_APP, desc, "", scopes)
	case d.kind == kindDeveloper || d.kind == kindPersonal || d.p.Credential == CredentialHintHapikey:
		d.add(scopeguardv1.Action_ACTION_ADD_SCOPES_TO_PRIVATE_APP,
			lead+"API keys carry no scopes: create a private app (or service key) with "+list+" and call with its token.", "", scopes)
	default:
		desc := lead + "Add " + list + " to the app's scopes, then send the installing user through the install URL so the new token carries them."
		if purpose == grantFresh {
			desc = "Re-authorize the app through the install URL so a token minted after the scope was added replaces this one."
			if d.in.GrantedFromToken {
				desc = "If the scope was added to the app recently, re-authorize through the install URL so a freshly minted token carries it."
			}
		}
		if d.in.ClientID == "" {
			desc += " (Give client_id to get the install URL.)"
		}
		url := d.installURL(requested)
		if purpose != grantFresh && len(scopes) == 0 {
			url = ""
		}
		d.add(scopeguardv1.Action_ACTION_REAUTHORIZE_APP, desc, url, scopes)
	}
}

// grantedList is the granted scopes when known.
func (d *diag) grantedList() []string {
	if !d.in.GrantedKnown {
		return nil
	}
	return d.in.GrantedScopes
}

// requestable drops legacy scopes public apps can no longer request
// (asking for them makes the install fail).
func (d *diag) requestable(scopes []string) []string {
	return slices.DeleteFunc(scopes, func(s string) bool {
		f, ok := d.fact(s)
		return ok && f.Kind == "coarse" && strings.Contains(strings.ToLower(f.TierNote), "not requestable")
	})
}

// installURL builds the re-authorization URL when a client id is known.
func (d *diag) installURL(scopes []string) string {
	if d.in.ClientID == "" || len(scopes) == 0 {
		return ""
	}
	return hubspot.AuthorizeURL(d.in.ClientID, d.in.RedirectURI, scopes, nil)
}

// accountChecks adds partner and tier steps for scopes being requested.
func (d *diag) accountChecks(scopes []string) {
	if len(scopes) == 0 {
		return
	}
	if ps := d.partnerScopes(scopes); len(ps) > 0 || strings.Contains(strings.ToLower(d.objectType()), "partner") {
		d.add(scopeguardv1.Action_ACTION_CHECK_PARTNER_STATUS,
			"Partner-client and partner-service objects exist only in HubSpot Solutions Partner accounts; the scopes will not help elsewhere.", "", ps)
	}
	if notes := d.tierNotes(scopes, false); len(notes) > 0 {
		d.add(scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER,
			"Check the account can use these scopes (the install fails, or calls are refused, otherwise): "+strings.Join(notes, "; ")+".", "", scopes)
	}
}

// support adds the "contact HubSpot support" step.
func (d *diag) support(lead string) {
	desc := lead + "If it persists, ask HubSpot support"
	if d.p.CorrelationID != "" {
		desc += ", quoting correlation id " + d.p.CorrelationID
	} else {
		desc += " with the full response (it carried no correlation id)"
	}
	d.add(scopeguardv1.Action_ACTION_CONTACT_SUPPORT, desc+".", "", nil)
}

// Other outcomes.

func (d *diag) success() {
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN,
		fmt.Sprintf("HubSpot answered %d, a success: the client library reported a successful response as an error.", d.status))
	d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
		"Treat every 2xx status as success (HubSpot's SDKs have raised errors for 200 and 201 answers); update the client library.", "", nil)
}

func (d *diag) isNotFound() bool {
	return d.status == 404 || d.categoryIs("OBJECT_NOT_FOUND", "NOT_FOUND", "RESOURCE_NOT_FOUND") || d.p.ObjectType != ""
}

// activatableObjects must be switched on in the account's object library.
var activatableObjects = []string{"appointments", "courses", "listings", "services", "leads"}

func (d *diag) notFound() {
	p := d.p
	op := d.in.Catalog.GetOperation()
	if op != nil && (op.GetDeprecated() || op.GetSunsetDate() != "") && p.ObjectType == "" {
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_NOT_FOUND,
			"HubSpot no longer serves this endpoint ("+op.GetMethod()+" "+op.GetPathTemplate()+" is deprecated"+sunsetPhrase(op)+"); move to its successor.")
		d.add(scopeguardv1.Action_ACTION_MIGRATE_ENDPOINT, "Move to the supported endpoint or API version.", op.GetSunsetUrl(), nil)
		return
	}
	objType := p.ObjectType
	if objType != "" {
		summary := "HubSpot does not know the object type " + strconvQuote(objType) + " in this account"
		activatable := d.isActivatable(objType)
		if activatable {
			summary += ": this object must be activated in the account's object library before the API can use it"
		} else {
			summary += ": use the object's type id (custom objects: 2-…) or its plural name"
		}
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_NOT_FOUND, summary+".")
		if activatable {
			d.add(scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER,
				"Activate the "+objType+" object in the account's object library (Settings › Objects), then retry.", "", nil)
		}
		d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
			"Check the object type in the path: standard objects by plural name or id (contacts = 0-1, companies = 0-2, deals = 0-3, tickets = 0-5), custom objects by objectTypeId (2-…) from GET /crm/v3/schemas.", "", nil)
		return
	}
	if ot := d.objectType(); ot != "" && d.isActivatable(ot) && strings.Contains(strings.ToLower(p.Message), "type") {
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_NOT_FOUND, "HubSpot does not find the "+ot+" object: it must be activated in the account's object library first.")
		d.add(scopeguardv1.Action_ACTION_CHECK_ACCOUNT_TIER, "Activate the "+ot+" object in the account's object library, then retry.", "", nil)
		return
	}
	what := "the record, object type or endpoint"
	if id := d.idInPath(); id != "" {
		what = "the record " + id
	}
	summary := "HubSpot did not find " + what
	if p.Message != "" && !strings.EqualFold(p.Message, "resource not found") && !strings.EqualFold(p.Message, "not found") {
		summary += " (" + clip(d.scrub(p.Message), 200) + ")"
	}
	summary += ": it does not exist, was deleted or merged, or belongs to another account."
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_NOT_FOUND, summary)
	d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
		"Check the id and path; a record merged into another keeps answering 404 under its old id, and a deleted one can be restored from the recycle bin for 90 days.", "", nil)
}

func sunsetPhrase(op *scopeguardv1.Operation) string {
	if op.GetSunsetDate() == "" {
		return ""
	}
	return ", sunset " + op.GetSunsetDate()
}

func (d *diag) isActivatable(objType string) bool {
	ot := strings.ToLower(objType)
	if slices.Contains(activatableObjects, ot) {
		return true
	}
	f, ok := d.fact("crm.objects." + ot + ".read")
	return ok && strings.Contains(strings.ToLower(f.TierNote), "activated")
}

// idInPath returns the last all-digit segment of the endpoint's path.
func (d *diag) idInPath() string {
	if d.in.Endpoint == nil {
		return ""
	}
	path := d.in.Endpoint.GetPath()
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	segs := strings.Split(path, "/")
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if s != "" && len(s) <= 30 && strings.Trim(s, "0123456789") == "" {
			return s
		}
	}
	return ""
}

func (d *diag) isConflict() bool {
	return d.status == 409 || d.categoryIs("CONFLICT") || d.p.ExistingID != ""
}

func (d *diag) conflict() {
	p := d.p
	if p.ExistingID != "" {
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_CONFLICT,
			"The record already exists (existing ID "+p.ExistingID+"): update that record instead of creating a new one.")
		d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
			"Update record "+p.ExistingID+" (PATCH …/"+p.ExistingID+"), or use the batch upsert endpoint keyed by a unique property such as email; search can lag writes by seconds, so do not rely on it to check existence.", "", nil)
		return
	}
	summary := "HubSpot refused the write because it conflicts with existing data"
	if p.Message != "" {
		summary += " (" + clip(d.scrub(p.Message), 200) + ")"
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_CONFLICT, summary+".")
	d.add(scopeguardv1.Action_ACTION_FIX_REQUEST, "Read the existing record and update it instead of creating a duplicate.", "", nil)
}

func (d *diag) isLocked() bool {
	return d.status == 423 || d.categoryIs("LOCKED")
}

// lockedWait is how long HubSpot's record locks last.
const lockedWait = 2 * time.Second

func (d *diag) locked() {
	wait, ok := d.retryAfterHeader()
	if !ok || wait < lockedWait {
		wait = lockedWait
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_CONFLICT,
		"The record is locked by a burst of writes to it (HubSpot locks records for about 2 s during heavy syncs); retry in "+formatDuration(wait)+".")
	d.retry(wait)
	d.add(scopeguardv1.Action_ACTION_RETRY_LATER, "Wait at least "+formatDuration(wait)+" and send the same request again.", "", nil)
	d.add(scopeguardv1.Action_ACTION_REDUCE_REQUEST_RATE, "Space out writes to the same records, or batch them into fewer calls.", "", nil)
}

func (d *diag) isValidation() bool {
	switch d.status {
	case 400, 405, 411, 413, 414, 415, 422:
		return true
	}
	return d.categoryIs("VALIDATION_ERROR", "INVALID_PARAMS", "BAD_REQUEST", "INVALID_INPUT")
}

func (d *diag) validation() {
	p := d.p
	if d.status == 414 || d.status == 413 {
		what := "URL"
		if d.status == 413 {
			what = "request body"
		}
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_VALIDATION_FAILED,
			"HubSpot refused the request because its "+what+" is too long ("+strconv.Itoa(d.status)+").")
		d.add(scopeguardv1.Action_ACTION_FIX_REQUEST,
			"Send fewer ids or properties per call: use the batch read or search endpoints (POST) instead of long query strings, and split large batches.", "", nil)
		return
	}
	var codes []string
	for _, det := range p.Details {
		if det.Code != "" && !slices.Contains(codes, det.Code) && len(codes) < 5 {
			codes = append(codes, det.Code)
		}
	}
	var b strings.Builder
	b.WriteString("HubSpot rejected the request content")
	if len(p.Fields) > 0 {
		fmt.Fprintf(&b, ": %s %s %s invalid", plural(len(p.Fields), "field", "fields"), strings.Join(p.Fields, ", "), plural(len(p.Fields), "is", "are"))
	}
	if len(codes) > 0 {
		b.WriteString(" (" + strings.Join(codes, ", ") + ")")
	}
	if len(p.Fields) == 0 && p.Message != "" {
		b.WriteString(": " + clip(d.scrub(p.Message), 300))
	}
	b.WriteString(".")
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_VALIDATION_FAILED, b.String())
	desc := "Correct the request and resend it"
	if len(p.Fields) > 0 {
		desc = "Correct " + strings.Join(p.Fields, ", ") + " and resend"
		if slices.Contains(codes, "PROPERTY_DOESNT_EXIST") {
			desc += " (create the property first, or use its internal name from GET /crm/v3/properties/{objectType})"
		}
	}
	d.add(scopeguardv1.Action_ACTION_FIX_REQUEST, desc+"; the same request will fail again unchanged.", "", nil)
}

func (d *diag) isUpstream() bool {
	return d.status >= 500 || d.status == 477 || (d.p.Transport && (d.status == 0 || d.status == 408))
}

func (d *diag) upstream() {
	wait, ok := d.retryAfterHeader()
	var summary string
	switch {
	case d.status == 477:
		if !ok {
			wait = time.Hour
		}
		summary = "The HubSpot account is being migrated between data-hosting locations (477); HubSpot asks to retry after " + formatDuration(wait) + " (migrations can take up to 24 hours)."
	case d.status == 0 || d.status == 408:
		if !ok {
			wait = 5 * time.Second
		}
		summary = "The call to HubSpot timed out or the connection broke before an answer arrived; retry in " + formatDuration(wait) + "."
	default:
		if !ok {
			wait = 5 * time.Second
		}
		what := "HubSpot failed to answer (" + strconv.Itoa(d.status) + ")"
		switch d.status {
		case 502, 504:
			what = "HubSpot timed out (" + strconv.Itoa(d.status) + "), which it also does when one client sends a large number of requests over a sustained period"
		case 503:
			what = "HubSpot is temporarily unavailable (503)"
		case 521, 522, 523, 524:
			what = "HubSpot's servers could not be reached through its CDN (" + strconv.Itoa(d.status) + ")"
		}
		summary = what + "; retry in " + formatDuration(wait) + "."
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_UPSTREAM_UNAVAILABLE, summary)
	d.retry(wait)
	d.add(scopeguardv1.Action_ACTION_RETRY_LATER, "Pause "+formatDuration(wait)+", then send the same request again with exponential backoff.", "", nil)
	if d.status == 502 || d.status == 504 {
		d.add(scopeguardv1.Action_ACTION_REDUCE_REQUEST_RATE, "Lower sustained request volume (batch endpoints, fewer parallel workers).", "", nil)
	}
	if d.status != 477 {
		d.support("")
	}
}

// unknown is the answer when nothing could be classified.
func (d *diag) unknown(lead string) {
	p := d.p
	var b strings.Builder
	if lead != "" {
		b.WriteString(lead + " ")
	}
	b.WriteString("scopeguard could not classify this response")
	var parts []string
	if d.status != 0 {
		parts = append(parts, "HTTP "+strconv.Itoa(d.status))
	}
	if c := d.category(); c != "" {
		parts = append(parts, c)
	}
	if p.Message != "" {
		parts = append(parts, strconvQuote(clip(d.scrub(p.Message), 200)))
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	b.WriteString(".")
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN, b.String())
	d.support("")
}

// Response helpers.

func (d *diag) set(cause scopeguardv1.RootCause, summary string) {
	d.resp.RootCause = cause
	d.resp.Summary = summary
}

func (d *diag) add(action scopeguardv1.Action, desc, url string, scopes []string) {
	d.resp.Remediations = append(d.resp.Remediations, &scopeguardv1.Remediation{
		Action:      action,
		Description: desc,
		Url:         url,
		Scopes:      slices.Clone(scopes),
	})
}

func (d *diag) retry(wait time.Duration) {
	d.resp.Retryable = true
	d.resp.RetryAfter = durationpb.New(wait)
}

// formatDuration writes a duration the way people say it: "1s", "10s",
// "2m30s", "5h0m0s" is written "5h".
func formatDuration(t time.Duration) string {
	if t <= 0 {
		return "0s"
	}
	if t < time.Second {
		return t.String()
	}
	t = t.Round(time.Second)
	if t >= 48*time.Hour && t%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(t/(24*time.Hour)), 10) + " days"
	}
	s := t.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func strconvQuote(s string) string { return `"` + s + `"` }

// GetOperation returns the facts' operation; nil-safe.
func (e *EndpointFacts) GetOperation() *scopeguardv1.Operation {
	if e == nil {
		return nil
	}
	return e.Operation
}
