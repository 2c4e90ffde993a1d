package explain

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

// finish derives everything that needs the whole body: scopes, rate-limit
// policy, expiry, ids and fields from message text.
func (p *Parsed) finish() {
	if p.Category == "" {
		for _, d := range p.Details {
			if d.Category != "" {
				p.Category = d.Category
				break
			}
		}
	}
	if p.Message == "" && p.Batch {
		for _, d := range p.Details {
			if d.Message != "" {
				p.Message = d.Message
				break
			}
		}
	}
	if p.Shape == ShapeText {
		p.sniffText()
	}
	p.sniffOAuthWords()
	p.extractScopes()
	p.extractExpiry()
	text := clip(p.Message, maxTextScan)
	// The regular expressions run only where a cheap look says they can
	// match.
	lower := strings.ToLower(text)
	if p.RateLimit.Policy == "" && strings.Contains(lower, "reached your") {
		if m := reLimitPolicy.FindStringSubmatch(text); m != nil {
			p.RateLimit.Policy = strings.ToUpper(m[1])
		}
	}
	if p.ExistingID == "" && strings.Contains(lower, "existing id") {
		if m := reExistingID.FindStringSubmatch(text); m != nil {
			p.ExistingID = m[1]
		}
	}
	if strings.Contains(lower, "infer object type") {
		if m := reInferObjectType.FindStringSubmatch(text); m != nil {
			p.ObjectType = clip(strings.Trim(m[1], `"'.,`), 128)
		}
	}
	switch {
	case (strings.Contains(lower, "hapikey") || strings.Contains(lower, "api key")) && reHapikeyWord.MatchString(text):
		p.Credential = CredentialHintHapikey
	case strings.Contains(lower, "oauth"):
		p.Credential = CredentialHintOAuth
	}
	if strings.Contains(strings.ToLower(p.RateLimit.GroupName), "hapikey") && p.Credential == CredentialHintNone {
		p.Credential = CredentialHintHapikey
	}
	p.Transport = p.Transport || (p.Shape != ShapeJSON && isTransportText(text))
	p.extractFields()
}

// sniffText reads category and correlation id from a body rendered as text
// that is not JSON (a Python dict repr, a log line).
func (p *Parsed) sniffText() {
	text := p.scanText
	if p.Category == "" {
		p.Category = keyedValue(text, "category", reTextCategory)
	}
	if p.Category == "" {
		p.Category = firstWord(text, categoryWords)
	}
	if p.CorrelationID == "" {
		p.CorrelationID = keyedValue(text, "correlationId", reTextCorrelation)
	}
}

// keyedValue reads the value of key in a non-JSON rendering ("'category':
// 'MISSING_SCOPES'", "category: 'MISSING_SCOPES'"): each place the key
// occurs is matched with re, anchored just before the key, on a short
// window, so the expression never scans the whole text.
func keyedValue(text, key string, re *regexp.Regexp) string {
	for off := 0; off < len(text); {
		i := strings.Index(text[off:], key)
		if i < 0 {
			return ""
		}
		i += off
		off = i + len(key)
		if m := re.FindStringSubmatch(text[max(0, i-1):min(len(text), i+len(key)+80)]); m != nil {
			return m[1]
		}
	}
	return ""
}

// categoryWords are the HubSpot categories read when written bare into
// text, as Java's toString ("category=MISSING_SCOPES") or a log line does.
var categoryWords = []string{"MISSING_SCOPES", "EXPIRED_AUTHENTICATION", "INVALID_AUTHENTICATION", "RATE_LIMITS", "VALIDATION_ERROR", "OBJECT_NOT_FOUND"}

// firstWord returns the first of words that occurs in text as a whole word
// (not inside a longer name), or "".
func firstWord(text string, words []string) string {
	for _, w := range words {
		for off := 0; off < len(text); {
			i := strings.Index(text[off:], w)
			if i < 0 {
				break
			}
			i += off
			off = i + len(w)
			if (i == 0 || !isWordByte(text[i-1])) && (off == len(text) || !isWordByte(text[off])) {
				return w
			}
		}
	}
	return ""
}

// isWordByte reports whether c is a letter, digit or underscore.
func isWordByte(c byte) bool {
	return isTokenChar(c) && c != '-'
}

// sniffOAuthWords reads a token endpoint's status or RFC 6749 error code
// written into text ("400 BAD_REFRESH_TOKEN", "invalid_grant") when the body
// carried none as JSON.
func (p *Parsed) sniffOAuthWords() {
	text := clip(firstNonEmpty(p.scanText, p.Message), maxTextScan)
	if !strings.Contains(text, "_") {
		return
	}
	if p.Status == "" || strings.EqualFold(p.Status, "error") {
		if w := firstWord(text, oauthStatusWords); w != "" {
			p.Status = w
		}
	}
	if p.OAuthError == "" && !isOAuthStatus(p.Status) {
		p.OAuthError = firstWord(text, oauthErrorWords)
	}
}

// oauthStatusWords are the token endpoint's statuses read when written into
// text ("400 BAD_REFRESH_TOKEN"); oauthErrorWords the RFC 6749 error codes
// ("invalid_grant").
var (
	oauthStatusWords = []string{"BAD_REFRESH_TOKEN", "INVALID_REFRESH_TOKEN", "BAD_AUTH_CODE", "EXPIRED_AUTH_CODE", "BAD_CLIENT_ID", "BAD_CLIENT_SECRET", "BAD_REDIRECT_URI", "BAD_GRANT_TYPE", "BAD_SCOPE"}
	oauthErrorWords  = []string{"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope"}
)

// readRequest reads the failed call's method and path from a client
// library's text: the first HubSpot API URL, with the method written just
// before it (Guzzle's "`GET https://…`", Spring's "on GET request for
// \"https://…\"", Feign's "[GET] to [https://…]") or named by a logged
// request object ("method: 'get'"); else an HTTP/1.1 request line of a
// dumped request. Literal searches find the candidates, so the regular
// expressions only ever run on a few hundred bytes.
func (p *Parsed) readRequest(body string) {
	text := clip(body, maxTextScan)
	for off := 0; off < len(text); {
		i := strings.Index(text[off:], "://api")
		if i < 0 {
			break
		}
		i += off
		off = i + len("://api")
		scheme := max(0, i-len("https"))
		s := strings.LastIndex(text[scheme:i], "http")
		if s < 0 {
			continue
		}
		s += scheme
		m := reAPIURL.FindStringSubmatchIndex(text[s:min(len(text), s+len("https://api-xxxxxxxx.hubspot.com")+1001)])
		if m == nil || m[0] != 0 {
			continue
		}
		method := ""
		if b := reMethodBefore.FindStringSubmatch(text[max(0, s-48):s]); b != nil {
			method = b[1]
		} else {
			method = methodHint(text)
		}
		p.setRequest(method, text[s+m[2]:s+m[3]])
		return
	}
	if i := strings.Index(text, " HTTP/1."); i >= 0 && (strings.Contains(text, "hubapi.com") || strings.Contains(text, "hubspot.com")) {
		if m := reRequestLine.FindStringSubmatch(text[max(0, i-1010):min(len(text), i+10)]); m != nil {
			path, _, _ := strings.Cut(m[2], "?")
			p.setRequest(m[1], path)
		}
	}
}

// methodHint reads the method a logged request object names ("method:
// 'get'", "\"method\":\"POST\"", "method=GET"), or "".
func methodHint(text string) string {
	for off := 0; off < len(text); {
		i := strings.Index(text[off:], "ethod")
		if i < 0 {
			return ""
		}
		i += off
		off = i + len("ethod")
		if m := reMethodHint.FindStringSubmatch(text[max(0, i-1):min(len(text), i+24)]); m != nil {
			return m[1]
		}
	}
	return ""
}

// setRequest records the method and path read from text, redacted and
// without trailing punctuation.
func (p *Parsed) setRequest(method, path string) {
	path = strings.TrimRight(path, ".,;:")
	if path == "" {
		return
	}
	p.RequestMethod = strings.ToUpper(method)
	p.RequestPath = redact(path, nil)
}

// extractScopes fills RequiredScopes, Requirement and ScopeSource from the
// context maps and, failing those, from message text.
func (p *Parsed) extractScopes() {
	var groups []scopeGroup
	groups = appendContextGroups(groups, p.Context, p.Message)
	for _, d := range p.Details {
		msg := d.Message
		if msg == "" {
			msg = p.Message
		}
		groups = appendContextGroups(groups, d.Context, msg)
	}
	if len(groups) == 0 {
		groups = appendTextGroups(groups, firstNonEmpty(p.scanText, p.Message))
		for _, d := range p.Details {
			groups = appendTextGroups(groups, d.Message)
		}
	}
	if len(groups) == 0 {
		return
	}
	req := groups[0].req
	src := groups[0].src
	if len(groups) == 1 {
		p.RequiredScopes = dedupe(groups[0].scopes)
	} else {
		var all []string
		for _, g := range groups {
			if g.req != req {
				req = scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
			}
			if g.src != src && src != ScopeSourceRequired {
				src = g.src
			}
			all = append(all, g.scopes...)
		}
		p.RequiredScopes = dedupe(all)
	}
	if len(p.RequiredScopes) > maxScopes {
		p.RequiredScopes = p.RequiredScopes[:maxScopes]
	}
	if len(p.RequiredScopes) == 0 {
		return
	}
	p.Requirement = req
	p.ScopeSource = src
}

// dedupe removes repeated names, keeping the first of each, in place.
func dedupe(names []string) []string {
	if len(names) <= 32 {
		out := names[:0]
		for i, n := range names {
			if !slices.Contains(names[:i], n) {
				out = append(out, n)
			}
		}
		return out
	}
	seen := make(map[string]bool, len(names))
	out := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

type scopeGroup struct {
	req    scopeguardv1.Requirement
	src    ScopeSource
	scopes []string
}

// appendContextGroups reads scope lists from a context map, taking their
// semantics from the message that goes with them.
func appendContextGroups(groups []scopeGroup, ctx map[string][]string, msg string) []scopeGroup {
	if len(ctx) == 0 {
		return groups
	}
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// requiredGranularScopes, requiredScopes, missingScopes; a bare
		// "scope" key (a token-endpoint field, say) is not a requirement.
		lk := strings.ToLower(k)
		if !strings.Contains(lk, "scope") || !(strings.Contains(lk, "required") || strings.Contains(lk, "missing") || strings.Contains(lk, "granular")) {
			continue
		}
		scopes := make([]string, 0, len(ctx[k]))
		for _, v := range ctx[k] {
			scopes = appendScopeNames(scopes, v)
		}
		if len(scopes) == 0 {
			continue
		}
		g := scopeGroup{scopes: scopes, src: ScopeSourceRequired, req: requirementOf(msg)}
		if strings.Contains(lk, "missing") {
			g.src = ScopeSourceMissing
			g.req = scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
		}
		groups = append(groups, g)
	}
	return groups
}

// appendTextGroups reads scope lists written into message text.
func appendTextGroups(groups []scopeGroup, msg string) []scopeGroup {
	if msg == "" {
		return groups
	}
	text := clip(msg, maxTextScan)
	// Only text about scopes or permissions: a validation message may also
	// say "required: [email]".
	if (!strings.Contains(text, "[") && !strings.Contains(text, "'")) ||
		!(containsFold(text, "scope") || containsFold(text, "permission")) {
		return groups
	}
	for _, m := range reScopeList.FindAllStringSubmatchIndex(text, 20) {
		lead := strings.ToLower(text[m[2]:m[3]])
		var scopes []string
		scopes = appendScopeNames(scopes, text[m[4]:m[5]])
		if len(scopes) == 0 {
			continue
		}
		req := requirementOf(lead)
		if req == scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED {
			// A Python or Java rendering of the JSON body keeps the
			// message shortly before the list.
			req = requirementOf(text[max(0, m[0]-200):m[0]])
		}
		g := scopeGroup{scopes: scopes, src: ScopeSourceText, req: req}
		if strings.Contains(lead, "missing") {
			g.src = ScopeSourceMissing
			g.req = scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
		}
		groups = append(groups, g)
	}
	for _, m := range reMissingRequiredScope.FindAllStringSubmatch(text, 20) {
		if scopes := appendScopeNames(nil, m[1]); len(scopes) > 0 {
			groups = append(groups, scopeGroup{scopes: scopes, src: ScopeSourceText})
		}
	}
	return groups
}

// requirementOf reads "One or more of the following scopes are required." and
// "All of the following scopes are required." (and the shorter text forms).
func requirementOf(msg string) scopeguardv1.Requirement {
	m := clip(msg, 4096)
	switch {
	case containsFold(m, "one or more"), containsFold(m, "any of"), containsFold(m, "one of"):
		return scopeguardv1.Requirement_REQUIREMENT_ANY_OF
	case containsFold(m, "all of"):
		return scopeguardv1.Requirement_REQUIREMENT_ALL_OF
	}
	return scopeguardv1.Requirement_REQUIREMENT_UNSPECIFIED
}

// containsFold reports whether s contains the lower-case ASCII sub in any
// case, without allocating.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		c := s[i] | 0x20
		if c == sub[0] && strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// appendScopeNames splits a value such as "a, b" or "[a b]" into scope names
// and keeps those that look like HubSpot scopes.
func appendScopeNames(dst []string, v string) []string {
	start := -1
	for i := 0; i <= len(v); i++ {
		sep := i == len(v)
		if !sep {
			switch v[i] {
			case ',', ' ', '[', ']', '"', '\'', '\t', '\n', '\r', ';':
				sep = true
			}
		}
		switch {
		case sep && start >= 0:
			if f := v[start:i]; isScopeName(f) && !looksLikeCredential(f) && len(dst) < maxScopes {
				dst = append(dst, f)
			}
			start = -1
		case !sep && start < 0:
			start = i
		}
	}
	return dst
}

// looksLikeCredential reports whether a would-be scope name is a token
// (HubSpot never names one, but a scope list is echoed back).
func looksLikeCredential(s string) bool {
	return (len(s) >= minOpaqueRun && redactOpaqueRuns(s) != s) ||
		(len(s) > 4 && strings.EqualFold(s[:4], "pat-") && rePrivateAppToken.MatchString(s))
}

// isScopeName accepts names like "crm.objects.contacts.read",
// "e-commerce", "automation-access" and "ACCEPTANCE_TEST.x".
func isScopeName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "-")
}

// extractExpiry reads the expiry facts of an EXPIRED_AUTHENTICATION body.
func (p *Parsed) extractExpiry() {
	for k, v := range p.Context {
		if len(v) == 0 {
			continue
		}
		lk := strings.ToLower(strings.ReplaceAll(k, " ", ""))
		if lk != "expiretime" && lk != "expiresat" && lk != "expiredat" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v[0])); err == nil && representable(t) {
			p.ExpiredAt = t.UTC()
		} else if t, ok := unixMilli(v[0]); ok {
			p.ExpiredAt = t
		}
	}
	// "This oauth-token is expired! expiresAt: 1643194402611, now:
	// 1643972072320".
	if text := clip(firstNonEmpty(p.scanText, p.Message), maxTextScan); strings.Contains(text, "xpiresAt") {
		if m := reExpiresAtNow.FindStringSubmatch(text); m != nil {
			if t, ok := unixMilli(m[1]); ok && p.ExpiredAt.IsZero() {
				p.ExpiredAt = t
			}
			if t, ok := unixMilli(m[2]); ok {
				p.ReportedAt = t
			}
		}
	}
	if !strings.Contains(p.Message, "xpired") {
		return
	}
	if m := reExpiredAgo.FindStringSubmatch(clip(p.Message, 4096)); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > 1<<40 {
			return
		}
		unit := time.Second
		switch strings.ToLower(m[2]) {
		case "minute":
			unit = time.Minute
		case "hour":
			unit = time.Hour
		case "day":
			unit = 24 * time.Hour
		}
		if n > int64(1<<62)/int64(unit) {
			return
		}
		p.ExpiredAgo = time.Duration(n) * unit
		p.HasExpiredAgo = true
	}
}

// latestTime is the last instant a google.protobuf.Timestamp can carry
// (9999-12-31T23:59:59.999Z).
var latestTime = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)

// representable reports whether t fits a google.protobuf.Timestamp (years
// 1 to 9999), so the answer still renders as JSON.
func representable(t time.Time) bool {
	return t.Year() >= 1 && !t.After(latestTime)
}

// unixMilli reads milliseconds since the epoch, from 1970 up to the last
// time a Timestamp can carry.
func unixMilli(s string) (time.Time, bool) {
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ms < 0 || ms > latestTime.UnixMilli() {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// extractFields collects the properties and request fields HubSpot named as
// invalid.
func (p *Parsed) extractFields() {
	seen := map[string]bool{}
	add := func(f string) {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] || len(p.Fields) >= maxFields || len(f) > 256 {
			return
		}
		seen[f] = true
		p.Fields = append(p.Fields, f)
	}
	for _, d := range p.Details {
		for _, key := range []string{"propertyName", "propertyNames", "invalidPropertyName", "name", "field", "fields", "missingFields"} {
			for _, v := range d.Context[key] {
				add(v)
			}
		}
		if d.In != "" && d.In != "body" && d.In != "query" && d.In != "path" && d.In != "header" {
			add(d.In)
		}
		for _, f := range fieldsInText(d.Message) {
			add(f)
		}
	}
	for _, key := range []string{"propertyName", "invalidPropertyName", "missingFields"} {
		for _, v := range p.Context[key] {
			add(v)
		}
	}
	for _, f := range fieldsInText(p.Message) {
		add(f)
	}
}

// fieldsInText reads property names from validation messages:
// `Property "foo" does not exist` and `Property values were not valid:
// [{"name":"firstname",...}]`.
func fieldsInText(msg string) []string {
	if msg == "" {
		return nil
	}
	text := clip(msg, maxTextScan)
	var out []string
	if strings.Contains(text, "xist") {
		for _, m := range rePropertyDoesNotExist.FindAllStringSubmatch(text, maxFields) {
			out = append(out, m[1])
		}
	}
	if i := strings.Index(text, "not valid:"); i >= 0 {
		rest := strings.TrimSpace(text[i+len("not valid:"):])
		var items []struct {
			Name string `json:"name"`
		}
		if raw := firstJSONValue(rest); raw != "" && json.Unmarshal([]byte(raw), &items) == nil {
			for _, it := range items {
				if it.Name != "" && len(out) < maxFields {
					out = append(out, it.Name)
				}
			}
		}
	}
	return out
}

// applyHeaders reads the headers that matter: correlation id, auth failure,
// rate limits and Retry-After.
func (p *Parsed) applyHeaders(h headerMap) {
	if p.CorrelationID == "" {
		p.CorrelationID = clip(h.get("x-hubspot-correlation-id"), 128)
	}
	p.AuthFailure = clip(h.get("x-hubspot-auth-failure"), 256)
	rl := &p.RateLimit
	if v, ok := h.int("x-hubspot-ratelimit-max"); ok {
		rl.Max, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-remaining"); ok {
		rl.Remaining, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-interval-milliseconds"); ok {
		rl.IntervalMS, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-daily"); ok {
		rl.Daily, rl.HeadersSeen = v, true
	}
	if v, ok := h.int("x-hubspot-ratelimit-daily-remaining"); ok {
		rl.DailyRemaining, rl.HeadersSeen = v, true
	}
	rl.RetryAfter = clip(strings.TrimSpace(h.get("retry-after")), 64)
}

// headerMap holds the headers this package reads, under lower-case names.
type headerMap map[string]string

// wantedHeaders are the response headers the diagnosis reads.
var wantedHeaders = []string{
	"x-hubspot-correlation-id", "x-hubspot-auth-failure", "retry-after",
	"x-hubspot-ratelimit-max", "x-hubspot-ratelimit-remaining", "x-hubspot-ratelimit-interval-milliseconds",
	"x-hubspot-ratelimit-daily", "x-hubspot-ratelimit-daily-remaining",
}

// wantedHeader returns the lower-case name of a header the diagnosis reads,
// matching names in any case; ok is false for every other header.
func wantedHeader(name string) (string, bool) {
	name = strings.TrimSpace(name)
	for _, w := range wantedHeaders {
		if len(name) == len(w) && strings.EqualFold(name, w) {
			return w, true
		}
	}
	return "", false
}

// normalizeHeaders keeps the wanted headers under lower-case names. When
// names differ only in case, the first in sorted order wins, so the answer
// does not depend on map order.
func normalizeHeaders(in map[string]string) headerMap {
	h := make(headerMap, 4)
	winner := map[string]string{}
	for k, v := range in {
		w, ok := wantedHeader(k)
		if !ok {
			continue
		}
		if prev, dup := winner[w]; dup && prev < k {
			continue
		}
		winner[w] = k
		h[w] = v
	}
	return h
}

func (h headerMap) get(name string) string { return h[name] }

func (h headerMap) int(name string) (int64, bool) {
	v, ok := h[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
