package server

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
)

// decider turns catalog matches into EndpointDecision messages. The parts
// of a decision that depend only on the matched operation, its object type
// and the app type (the Operation message, the alternatives, the notices)
// are built once and shared by every response: protobuf messages are safe
// to marshal concurrently as long as nobody mutates them, and nobody does.
type decider struct {
	catalog *catalog.Catalog
	now     func() time.Time
	parts   sync.Map // partsKey -> *decisionParts
}

type partsKey struct {
	op     *catalog.Operation
	object string
	app    scopeguardv1.AppType
}

// decisionParts are the request-independent parts of a decision.
type decisionParts struct {
	op           *catalog.Operation
	operation    *scopeguardv1.Operation
	alternatives []*scopeguardv1.ScopeSet
	notices      []string
	label        string // "GET /crm/v3/objects/{objectType}" for explanations
}

// endpointError is an endpoint the matcher cannot use at all: a URL on a
// foreign host, a malformed path, an unsupported method. It becomes
// InvalidArgument naming the request field.
type endpointError struct {
	field string
	err   error
}

// suggestedPerRequest bounds how many unknown endpoints of one request get
// suggestions: each costs up to a millisecond, and a request may carry a
// thousand endpoints.
const suggestedPerRequest = 8

// matched is an endpoint found in the catalog: what its decision is judged
// on. Both fields are zero for an unknown endpoint.
type matched struct {
	parts *decisionParts
	req   catalog.Requirement
}

// batch is one request's list of endpoints, matched and judged together.
type batch struct {
	decisions []*scopeguardv1.EndpointDecision
	matches   []matched
	// full is false for DECISION_VIEW_BASIC: decisions then carry only
	// their verdict, satisfying alternative and missing scopes, and nothing
	// else is built for them.
	full  bool
	today string // UTC date, for sunsets and retirement
}

// isFull reports whether view asks for whole decisions.
func isFull(view scopeguardv1.DecisionView) bool {
	return view != scopeguardv1.DecisionView_DECISION_VIEW_BASIC
}

// decideAll matches every endpoint and judges it against grants for the
// credential kind, building the decisions view asks for. An endpoint the
// matcher cannot use at all (foreign host, malformed path, unsupported
// method) comes back as an *endpointError per such field instead; field
// names the list in the request.
func (d *decider) decideAll(field string, endpoints []*scopeguardv1.Endpoint, app scopeguardv1.AppType, grants catalog.Grants, view scopeguardv1.DecisionView) (*batch, []*endpointError) {
	b := &batch{
		decisions: make([]*scopeguardv1.EndpointDecision, len(endpoints)),
		matches:   make([]matched, len(endpoints)),
		full:      isFull(view),
		// Both views need the date: a retired endpoint is retired in each.
		today: d.now().UTC().Format(time.DateOnly),
	}
	// The decisions are allocated together: one allocation per request
	// instead of one per endpoint.
	decisions := make([]scopeguardv1.EndpointDecision, len(endpoints))
	var bad []*endpointError
	suggested := 0
	for i, ep := range endpoints {
		dec := &decisions[i]
		if b.full {
			dec.Endpoint = ep
		}
		b.decisions[i] = dec
		m, err := d.catalog.Match(ep.GetMethod(), ep.GetPath())
		var unknown *catalog.UnknownEndpointError
		switch {
		case errors.As(err, &unknown):
			dec.Verdict = scopeguardv1.Verdict_VERDICT_UNKNOWN_ENDPOINT
			if !b.full {
				break
			}
			dec.Explanation = "No HubSpot endpoint " + unknown.Method + " " + unknown.Path + " is known."
			if suggested < suggestedPerRequest {
				suggested++
				dec.Suggestions = d.catalog.Suggest(ep.GetMethod(), ep.GetPath())
				if len(dec.Suggestions) > 0 {
					dec.Explanation = strings.TrimSuffix(dec.Explanation, ".") + "; closest: " + dec.Suggestions[0] + "."
				}
			}
		case err != nil:
			// An unsupported method is the method field's fault, the
			// rest (foreign host, unusable path) the path's.
			at := field + "[" + strconv.Itoa(i) + "].path"
			var method *catalog.MethodError
			if errors.As(err, &method) {
				at = field + "[" + strconv.Itoa(i) + "].method"
			}
			bad = append(bad, &endpointError{field: at, err: err})
		default:
			parts := d.partsFor(m, app)
			b.matches[i] = matched{parts: parts, req: m.Requirement(app)}
			if b.full {
				dec.Operation = parts.operation
				dec.Alternatives = parts.alternatives
				dec.Notices = parts.notices
			}
			b.judge(i, app, grants)
		}
	}
	return b, bad
}

// judge sets decision i's verdict, satisfying alternative and missing
// scopes from grants, and in the full view its explanation. Unknown
// endpoints keep their answer. The verdict is decided the same way in
// every view.
func (b *batch) judge(i int, app scopeguardv1.AppType, grants catalog.Grants) {
	m := b.matches[i]
	if m.parts == nil {
		return
	}
	dec := b.decisions[i]
	dec.SatisfiedBy, dec.MissingScopes = nil, nil
	if m.parts.op.RetiredBy(b.today) {
		dec.Verdict = scopeguardv1.Verdict_VERDICT_RETIRED
		if b.full {
			dec.Explanation = retiredExplanation(m.parts.label, m.parts.op)
		}
		return
	}
	ev := m.req.Evaluate(grants)
	switch {
	case ev.NotAccepted:
		dec.Verdict = scopeguardv1.Verdict_VERDICT_WRONG_CREDENTIAL_TYPE
	case ev.Unknown:
		dec.Verdict = scopeguardv1.Verdict_VERDICT_REQUIREMENT_UNKNOWN
	case ev.NoScopesRequired:
		dec.Verdict = scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED
	case ev.Allowed:
		dec.Verdict = scopeguardv1.Verdict_VERDICT_ALLOWED
		dec.SatisfiedBy = m.parts.alternative(ev.SatisfiedBy)
	default:
		dec.Verdict = scopeguardv1.Verdict_VERDICT_MISSING_SCOPES
		dec.MissingScopes = ev.Missing
	}
	if b.full {
		dec.Explanation = b.explanation(m, dec.GetVerdict(), ev, app, grants)
	}
}

// explanation is the sentence a full decision gives for its verdict.
func (b *batch) explanation(m matched, verdict scopeguardv1.Verdict, ev catalog.Evaluation, app scopeguardv1.AppType, grants catalog.Grants) string {
	label := m.parts.label
	var text string
	switch verdict {
	case scopeguardv1.Verdict_VERDICT_WRONG_CREDENTIAL_TYPE:
		text = label + " cannot be called with " + appTypeWords(app) + " whatever its scopes; use " + acceptedWords(m.parts.operation) + "."
	case scopeguardv1.Verdict_VERDICT_REQUIREMENT_UNKNOWN:
		text = label + " is a known endpoint, but no HubSpot source says which scopes it needs, so scopeguard cannot vouch for the call."
	case scopeguardv1.Verdict_VERDICT_NO_SCOPES_REQUIRED:
		text = label + " needs no scope."
	case scopeguardv1.Verdict_VERDICT_ALLOWED:
		text = label + " is allowed by " + strings.Join(ev.SatisfiedBy, " + ") + "."
	default:
		text = missingExplanation(label, ev.Missing, len(m.parts.alternatives), app)
		if held := grants.Retired(); len(held) > 0 {
			text += " " + retiredGrantsSentence(held)
		}
	}
	if sunset := m.parts.operation.GetSunsetDate(); sunset != "" && sunset <= b.today {
		// Compared as text: "2026-04-30" and month-precision "2027-09"
		// both sort before any later YYYY-MM-DD.
		text += " HubSpot's support for it ended (" + sunset + "): calls may fail whatever the scopes; move to a supported version."
	}
	return text
}

// plannable lists the requirement of every endpoint a plan must cover:
// unknown and retired endpoints, those that need no scope, that the
// credential kind cannot call or whose requirement nobody knows add
// nothing (their decisions say why: no scope can make a retired endpoint
// answer).
func (b *batch) plannable() [][][]string {
	var reqs [][][]string
	for _, m := range b.matches {
		if m.parts != nil && !m.parts.op.RetiredBy(b.today) && m.req.Accepted() && !m.req.Unknown() && !m.req.NoScopesRequired() {
			reqs = append(reqs, m.req.Alternatives())
		}
	}
	return reqs
}

// retiredExplanation says that HubSpot switched an endpoint off, when,
// and what replaces it.
func retiredExplanation(label string, op *catalog.Operation) string {
	var b strings.Builder
	b.WriteString(label)
	b.WriteString(" was retired by HubSpot on ")
	b.WriteString(op.SunsetDate)
	b.WriteString(": it answers 404 whatever the scopes, so no scope can make the call work")
	if op.Replacement != "" {
		b.WriteString("; use ")
		b.WriteString(op.Replacement)
		b.WriteString(" instead")
	}
	if op.SunsetURL != "" {
		b.WriteString(" (migration: ")
		b.WriteString(op.SunsetURL)
		b.WriteString(")")
	}
	b.WriteString(".")
	return b.String()
}

// sentence ends text with a full stop unless it already ends with one.
func sentence(text string) string {
	if strings.HasSuffix(text, ".") {
		return text
	}
	return text + "."
}

// retiredGrantsSentence says that granted scopes are retired and satisfy
// nothing, naming the first one's date.
func retiredGrantsSentence(held []catalog.Scope) string {
	names := make([]string, len(held))
	for i, s := range held {
		names[i] = s.Name
	}
	return "The token holds " + strings.Join(names, ", ") + ", retired by HubSpot on " + held[0].Retired.Date +
		": it satisfies no endpoint any more; request the granular scope named above instead."
}

func missingExplanation(label string, missing []string, alternatives int, app scopeguardv1.AppType) string {
	var b strings.Builder
	b.WriteString(label)
	b.WriteString(" needs ")
	b.WriteString(strings.Join(missing, " + "))
	if alternatives > 1 {
		b.WriteString(" (the least privileged of ")
		b.WriteString(strconv.Itoa(alternatives))
		b.WriteString(" ways to satisfy it)")
	}
	if app == scopeguardv1.AppType_APP_TYPE_PRIVATE {
		b.WriteString("; add it to the private app's scopes and use the token shown afterwards.")
	} else {
		b.WriteString("; request it and have the account re-authorize the app.")
	}
	return b.String()
}

// partsFor returns the shared parts for a match, building them on first
// use. Custom object ids and unrecognised object names are unbounded in
// number, so their parts are built per call instead of cached.
func (d *decider) partsFor(m catalog.Match, app scopeguardv1.AppType) *decisionParts {
	key := partsKey{op: m.Operation, object: m.ObjectType, app: app}
	cacheable := m.Resolution == catalog.ObjectNone || m.Resolution == catalog.ObjectStandard
	if cacheable {
		if p, ok := d.parts.Load(key); ok {
			return p.(*decisionParts) //nolint:forcetypeassert // d.parts holds only *decisionParts
		}
	}
	p := d.buildParts(m, app)
	if cacheable {
		d.parts.Store(key, p)
	}
	return p
}

func (d *decider) buildParts(m catalog.Match, app scopeguardv1.AppType) *decisionParts {
	op := m.Operation
	req := m.Requirement(app)
	p := &decisionParts{
		op: op,
		operation: &scopeguardv1.Operation{
			Method:           op.Method,
			PathTemplate:     op.Template,
			Api:              op.API,
			Version:          op.Version,
			Deprecated:       op.Deprecated,
			SunsetDate:       op.SunsetDate,
			SunsetUrl:        op.SunsetURL,
			ProductTiers:     productTiers(op.ProductTiers),
			TierNotes:        op.TierNotes,
			ObjectType:       m.ObjectType,
			SourceUrl:        op.SourceURL,
			AcceptedAppTypes: op.AppTypes,
			Retires:          op.Retires,
			Replacement:      op.Replacement,
		},
		label: op.Method + " " + op.Template,
	}
	if m.ObjectType != "" {
		p.label = op.Method + " " + strings.Replace(op.Template, "{objectType}", m.ObjectType, 1)
	}
	for _, alt := range req.Alternatives() {
		p.alternatives = append(p.alternatives, &scopeguardv1.ScopeSet{Scopes: alt})
	}
	// Notices say in words what the Operation holds as facts (deprecation,
	// sunset, tier notes) and what only the match knows (object notes, how
	// the object type was read, an inferred requirement).
	if op.Deprecated {
		p.notices = append(p.notices, "HubSpot marks this endpoint deprecated.")
	}
	switch {
	case op.Retires && op.Replacement != "":
		p.notices = append(p.notices, sentence("HubSpot's switch-off date for this endpoint: "+op.SunsetDate+"; its replacement: "+op.Replacement))
	case op.Retires:
		p.notices = append(p.notices, "HubSpot's switch-off date for this endpoint: "+op.SunsetDate+".")
	case op.SunsetDate != "":
		p.notices = append(p.notices, "HubSpot ends support for "+op.Version+" of this API: "+op.SunsetDate+".")
	}
	p.notices = append(p.notices, op.TierNotes...)
	if m.Object != nil {
		p.notices = append(p.notices, m.Object.Notes...)
	}
	switch m.Resolution {
	case catalog.ObjectCustom:
		p.notices = append(p.notices, "Custom object "+m.ObjectType+": the custom-object scopes apply.")
	case catalog.ObjectAssumedCustom:
		p.notices = append(p.notices, "\""+m.ObjectType+"\" is not a standard object name or id, so it can only be a custom object (HubSpot rejects it otherwise): the custom-object scopes apply.")
	default: // a standard object, or none: nothing to say
	}
	if req.Inferred() {
		p.notices = append(p.notices, "HubSpot's spec lists no scopes for this exact endpoint; the requirement is inferred from another version of it or from the object's record scopes.")
	}
	return p
}

// alternative returns the shared ScopeSet equal to scopes.
func (p *decisionParts) alternative(scopes []string) *scopeguardv1.ScopeSet {
	for _, alt := range p.alternatives {
		if slices.Equal(alt.GetScopes(), scopes) {
			return alt
		}
	}
	return &scopeguardv1.ScopeSet{Scopes: scopes}
}

func appTypeWords(app scopeguardv1.AppType) string {
	switch app {
	case scopeguardv1.AppType_APP_TYPE_PRIVATE:
		return "a private-app token"
	case scopeguardv1.AppType_APP_TYPE_DEVELOPER:
		return "a developer API key"
	default:
		return "an OAuth access token"
	}
}

func acceptedWords(op *scopeguardv1.Operation) string {
	var words []string
	for _, app := range op.GetAcceptedAppTypes() {
		words = append(words, appTypeWords(app))
	}
	if len(words) == 0 {
		return "another kind of credential"
	}
	return strings.Join(words, " or ")
}

// productTiers lists a hub-to-tier map sorted by hub.
func productTiers(tiers map[string]string) []*scopeguardv1.ProductTier {
	hubs := slices.Sorted(maps.Keys(tiers))
	out := make([]*scopeguardv1.ProductTier, len(hubs))
	for i, hub := range hubs {
		out[i] = &scopeguardv1.ProductTier{Hub: hub, Tier: tiers[hub]}
	}
	return out
}
