package explain

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
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

	// GrantedScopes are the scopes the failing token holds. An item may be a
	// space- or comma-separated list, as HubSpot's scope parameter writes it.
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
	// TokenCheckFailure says why the failing token could not be
	// introspected ("HubSpot did not answer in time"); empty when it was,
	// or when no token was given. The diagnosis then stands on the body.
	TokenCheckFailure string

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
	// Parsed is the parsed error the diagnosis used. Its text is redacted
	// by pattern only (Input.Secrets are scrubbed from Response, not from
	// Parsed), so log Response fields rather than Parsed's.
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
	in.GrantedScopes = splitScopeItems(in.GrantedScopes)
	d := &diag{in: &in, p: p, now: in.Now}
	if d.now.IsZero() {
		d.now = time.Now()
	}
	d.status = validStatus(in.HTTPStatus)
	if d.status == 0 {
		d.status = p.HTTPStatus
	}
	if in.Endpoint == nil {
		in.Endpoint = p.Endpoint()
	}
	d.granted = newScopeSet(in.GrantedScopes)
	d.kind, d.kindKnown = credentialKind(in)
	d.resp = d.baseResponse()
	d.classify()
	if d.resp.Confidence == scopeguardv1.Confidence_CONFIDENCE_UNSPECIFIED {
		d.resp.Confidence = d.evidenceConfidence()
	}
	d.check = compareWithCatalog(p, in.Catalog, d.bodySet(), d.granted, d.resp.RootCause == scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED || d.resp.RootCause == scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN)
	d.resp.CatalogAgrees = d.check.Agrees
	return Result{Response: d.resp, Parsed: p, Catalog: d.check}
}

// evidenceConfidence is the confidence of an answer whose diagnosis did not
// set one: stated when HubSpot's body names a category, an OAuth error, a
// rate-limit policy or scopes; inferred from the HTTP status alone;
// otherwise a guess.
func (d *diag) evidenceConfidence() scopeguardv1.Confidence {
	p := d.p
	switch {
	case p.Category != "", isOAuthStatus(p.Status), p.OAuthError != "", p.ErrorType != "", p.RateLimit.Policy != "", len(p.RequiredScopes) > 0:
		return scopeguardv1.Confidence_CONFIDENCE_STATED
	case d.status != 0:
		return scopeguardv1.Confidence_CONFIDENCE_INFERRED
	}
	return scopeguardv1.Confidence_CONFIDENCE_GUESS
}

// splitScopeItems splits items that hold several space- or
// comma-separated names; it returns items itself when none does.
func splitScopeItems(items []string) []string {
	if !slices.ContainsFunc(items, func(s string) bool { return strings.ContainsAny(s, " ,\t\n") }) {
		return items
	}
	out := make([]string, 0, len(items)+4)
	for _, it := range items {
		out = append(out, strings.FieldsFunc(it, func(r rune) bool {
			return r == ' ' || r == ',' || r == '\t' || r == '\n'
		})...)
	}
	return out
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
	default: // unknown, or a refresh token: the app type decides
	}
	switch in.AppType {
	case scopeguardv1.AppType_APP_TYPE_PRIVATE:
		return kindPrivate, false
	case scopeguardv1.AppType_APP_TYPE_DEVELOPER:
		return kindDeveloper, false
	default:
		return kindOAuth, false
	}
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
		Category:          d.scrub(d.category()),
		SubCategory:       d.scrub(p.SubCategory),
		CorrelationId:     d.scrub(p.CorrelationID),
		Requirement:       p.Requirement,
		RequiredScopes:    slices.Clone(p.RequiredScopes),
		Message:           d.scrub(p.Message),
		Token:             d.in.Token,
		TokenCheckFailure: d.in.TokenCheckFailure,
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
	if ep := d.in.Endpoint; ep != nil {
		r.Endpoint = &scopeguardv1.Endpoint{Method: d.scrub(ep.GetMethod()), Path: d.scrub(ep.GetPath())}
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
	install := d.installRefusal()
	switch {
	case d.isTokenEndpointError():
		d.tokenEndpoint()
	case d.isRateLimited():
		d.rateLimited()
	case d.isExpired():
		d.expired()
	case install != installNone:
		d.install(install)
	case d.isInvalidAuth():
		d.invalidAuth()
	case d.messageHas("unscoped endpoint"):
		d.unscoped()
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
	case d.status == 403 && d.p.Shape == ShapeHTML:
		// HubSpot's API answers a missing scope in JSON; a 403 page comes
		// from a proxy or CDN in front of it.
		d.unknown("A proxy or CDN in front of HubSpot (or the network the call left from) refused the call with a 403 page; HubSpot's API answers a missing scope in JSON.")
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
	b.WriteString(clip(firstNonEmpty(d.p.scanText, d.p.Message), maxTextScan))
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

// Response helpers.

func (d *diag) set(cause scopeguardv1.RootCause, summary string) {
	d.resp.RootCause = cause
	d.resp.Summary = summary
}

// confidence sets how firmly the root cause stands; answers that do not
// set it get evidenceConfidence.
func (d *diag) confidence(c scopeguardv1.Confidence) {
	d.resp.Confidence = c
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

// formatAge writes how long ago something happened: as formatDuration up
// to two days, in whole days beyond ("9 days", not "216h1m10s").
func formatAge(t time.Duration) string {
	if t < 48*time.Hour {
		return formatDuration(t.Round(time.Second))
	}
	return strconv.FormatInt(int64(t/(24*time.Hour)), 10) + " days"
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

func quoted(s string) string { return `"` + s + `"` }

// GetOperation returns the facts' operation; nil-safe.
func (e *EndpointFacts) GetOperation() *scopeguardv1.Operation {
	if e == nil {
		return nil
	}
	return e.Operation
}
