package explain

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/hubspot"
)

// Scopes.

var rePermissionText = regexp.MustCompile(`hasn't been granted|(?:do(?:es)? not|don't|doesn't) have (?:the )?(?:proper |required |necessary )?permissions?|(?:not|n't) available for public use|required scopes?|missing required .* scope|insufficient scopes?`)

func (d *diag) isScopeRefusal() bool {
	if d.categoryIs("MISSING_SCOPES") {
		return true
	}
	if len(d.p.RequiredScopes) > 0 && d.status < 500 {
		return true
	}
	return (d.status == 403 || d.status == 0) && mayBePermissionText(d.lowerText()) && rePermissionText.MatchString(d.lowerText())
}

// mayBePermissionText reports whether lower-case text holds a word every
// rePermissionText wording has, so the expression runs only where it can
// match.
func mayBePermissionText(text string) bool {
	return strings.Contains(text, "scope") || strings.Contains(text, "permission") ||
		strings.Contains(text, "granted") || strings.Contains(text, "public use")
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
//
// The catalog decides over HubSpot's message: when the token holds every
// scope HubSpot names but none of the catalog's alternatives for the
// endpoint, the cause is a scope the token lacks (HubSpot's list is a union
// of alternatives, a legacy coarse scope, or simply wrong), and the summary
// says HubSpot's message misleads. SCOPE_GRANTED_BUT_FORBIDDEN is the answer
// only when the catalog agrees the grant satisfies the endpoint, or does not
// know the endpoint.
func (d *diag) scopes(bare bool) {
	p := d.p
	var catAlts [][]string
	if d.in.Catalog != nil {
		catAlts = d.in.Catalog.Alternatives
	}
	if bare && (d.in.Catalog == nil || !d.in.GrantedKnown) {
		if d.hubSpotSaysWhy() {
			d.unknown("HubSpot refused the call (403) without naming a scope.")
			return
		}
		d.bareForbidden()
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
		case d.in.Catalog != nil && len(catAlts) == 0:
			satisfied = true // the endpoint needs no scope
		case d.in.Catalog != nil:
			if i := d.granted.firstCovered(catAlts); i >= 0 {
				satisfied, holding = true, catAlts[i]
			}
		}
	}
	coarseHeld := slices.ContainsFunc(holding, d.isCoarse)
	misled := satisfied && hasBody && len(catAlts) > 0 && d.granted.firstCovered(catAlts) < 0
	if misled {
		satisfied = false
	}
	if satisfied {
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
		d.forbidden(holding, coarseHeld, bare)
		return
	}

	// Which scopes to add: the catalog's own when HubSpot's list misleads;
	// HubSpot's exact list for ALL_OF; otherwise the catalog's
	// least-privileged alternative (preferring those inside HubSpot's
	// list); otherwise HubSpot's list ranked by privilege.
	var cands [][]string
	usedCatalog := false
	switch {
	case misled:
		cands, usedCatalog = catAlts, true
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
	if len(missing) == 0 && usedCatalog && hasBody {
		// The catalog's way is already held and HubSpot still refused,
		// naming scopes: what it named and the token lacks is what to add.
		missing = minimalMissing([][]string{p.RequiredScopes}, d.granted)
		usedCatalog = len(missing) == 0
	}
	d.resp.MissingScopes = missing
	switch {
	case misled:
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, d.misledSummary(missing, coarseHeld))
	case bare:
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, d.notGrantedSummary(missing, usedCatalog, bare))
	default:
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_STATED)
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED, d.notGrantedSummary(missing, usedCatalog, bare))
	}
	if len(missing) == 0 {
		d.support("HubSpot did not name the scope: look it up on the endpoint's reference page. ")
		return
	}
	if misled && coarseHeld {
		d.grantSteps(missing, grantCoarse, d.coarseOf(holding))
	} else {
		d.grantSteps(missing, grantMissing, nil)
	}
	d.accountChecks(missing)
}

// coarseOf returns the legacy coarse scopes among names.
func (d *diag) coarseOf(names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(s string) bool { return !d.isCoarse(s) })
}

// misledSummary writes the summary of a refusal where the token holds what
// HubSpot names but not what the catalog says the endpoint needs.
func (d *diag) misledSummary(missing []string, coarseHeld bool) string {
	held := slices.DeleteFunc(slices.Clone(d.p.RequiredScopes), func(s string) bool { return !d.granted.has(s) })
	var b strings.Builder
	b.Grow(200 + listLen(held) + listLen(missing))
	b.WriteString("HubSpot's message misleads: it names ")
	writeList(&b, held)
	b.WriteString(", which the token holds")
	b.WriteString("; this endpoint needs ")
	b.WriteString(strings.Join(missing, " + "))
	b.WriteString(", which the token lacks")
	switch {
	case coarseHeld:
		b.WriteString(" (the legacy coarse scope " + strings.Join(d.coarseOf(held), ", ") + " no longer covers it)")
	case d.p.Requirement != scopeguardv1.Requirement_REQUIREMENT_ALL_OF && len(d.p.RequiredScopes) > 1:
		b.WriteString(" (HubSpot's list is a union of every alternative's scopes; holding a name from that union is not holding this endpoint's own scope)")
	}
	b.WriteString(".")
	return b.String()
}

// leadText is a message without the stack trace a client library's text
// carries after it (" at Object.… (file.js:8:3)", Python's ` File "…"`),
// cut to 200 bytes.
func leadText(msg string) string {
	for _, frame := range []string{" at ", ` File "`, " Traceback "} {
		if i := strings.Index(msg, frame); i > 0 {
			msg = msg[:i]
		}
	}
	return clip(strings.TrimSpace(msg), 200)
}

// hubSpotSaysWhy reports whether HubSpot's own JSON body gives a reason
// in words ("This resource is private to its owner."), beyond a bare
// status: a reason that is not about scopes leaves the cause unknown rather
// than a likely missing scope.
func (d *diag) hubSpotSaysWhy() bool {
	msg := strings.ToLower(strings.Trim(strings.TrimSpace(d.p.Message), "."))
	return d.p.Shape == ShapeJSON && msg != "" && msg != "forbidden" && msg != "access denied" && msg != "an error occurred"
}

// bareForbidden explains a 403 that named no scope and used no scope
// wording, when the grant or the endpoint is unknown. HubSpot answers 403
// when the token lacks the endpoint's scopes
// (https://developers.hubspot.com/docs/faq/api-error-responses), so that is
// the likely cause, but nothing could be checked: the answer is a guess.
func (d *diag) bareForbidden() {
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_GUESS)
	said := ""
	if msg := leadText(d.p.Message); msg != "" {
		said = " (" + quoted(d.scrub(msg)) + ")"
	}
	cat := d.in.Catalog
	switch {
	case cat != nil && len(cat.Alternatives) == 0:
		d.unknown("HubSpot refused the call (403)" + said + ", and the catalog says this endpoint needs no scope.")
		return
	case cat != nil:
		missing := minimalMissing(cat.Alternatives, d.granted)
		d.resp.MissingScopes = missing
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED,
			"HubSpot refused the call (403) without naming a scope"+said+"; HubSpot answers 403 when the token lacks the endpoint's scopes, and the catalog says this endpoint needs "+
				strings.Join(missing, " + ")+". The token's scopes were not checked (give granted_scopes or access_token).")
		d.grantSteps(missing, grantMissing, nil)
		d.accountChecks(missing)
		return
	}
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_SCOPE_NOT_GRANTED,
		"HubSpot refused the call (403) without naming a scope"+said+"; HubSpot answers 403 when the token lacks the endpoint's scopes, so a missing scope is the likely cause. Give the endpoint (and granted_scopes or access_token) so scopeguard can name the scope.")
	where := "the app's scopes, then have the account re-authorize the app so the new token carries it"
	action := scopeguardv1.Action_ACTION_REAUTHORIZE_APP
	if d.kind == kindPrivate {
		where, action = "the private app's Scopes tab and use the token HubSpot shows afterwards", scopeguardv1.Action_ACTION_ADD_SCOPES_TO_PRIVATE_APP
	}
	d.add(action, "Look up the scope the endpoint needs (ScopeGuardService.CheckScopes, or the endpoint's reference page) and add it to "+where+".", "", nil)
	d.support("")
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
func (d *diag) notGrantedSummary(missing []string, usedCatalog, bare bool) string {
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
	case usedCatalog && len(p.RequiredScopes) > 0 && !d.bodySet().covers(missing):
		b.WriteString(", but the catalog's requirement for this endpoint is " + strings.Join(missing, " + "))
	case p.Requirement == scopeguardv1.Requirement_REQUIREMENT_ANY_OF && len(p.RequiredScopes) > 1:
		b.WriteString(", and " + strings.Join(missing, " + ") + " is the least privileged choice")
	}
	b.WriteString(".")
	switch {
	case d.in.TokenCheckFailure != "":
		b.WriteString(" The token's scopes could not be checked (" + d.in.TokenCheckFailure + ").")
	case !d.in.GrantedKnown:
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
		default: // HubSpot did not say: the list alone
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
		coarse := d.coarseOf(holding)
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
			b.WriteString(" (" + quoted(clip(d.scrub(p.Message), 200)) + ")")
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
		for _, pt := range op.GetProductTiers() {
			if tier := pt.GetTier(); !strings.EqualFold(tier, "FREE") && tier != "" {
				hubs = append(hubs, pt.GetHub()+" "+strings.ToUpper(tier))
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
