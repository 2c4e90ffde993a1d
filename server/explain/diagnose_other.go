package explain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
)

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
	// A sunset date compares as text with today: "2026-04-30" and the
	// month-precision "2027-09" both sort before any later day. Deprecated
	// endpoints before their sunset still answer, so a 404 there is a 404.
	if sunset := op.GetSunsetDate(); sunset != "" && sunset <= d.now.UTC().Format(time.DateOnly) && p.ObjectType == "" && op.GetRetires() {
		summary := "HubSpot retired this endpoint (" + op.GetMethod() + " " + op.GetPathTemplate() + ") on " + sunset +
			": it answers 404 whatever the request, so retrying or adding scopes cannot help"
		fix := "Move to the endpoint that replaced it."
		if r := op.GetReplacement(); r != "" {
			summary += "; its replacement is " + r
			fix = "Move to " + r + "."
		}
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_NOT_FOUND, summary+".")
		d.add(scopeguardv1.Action_ACTION_MIGRATE_ENDPOINT, fix, op.GetSunsetUrl(), nil)
		return
	}
	if sunset := op.GetSunsetDate(); sunset != "" && sunset <= d.now.UTC().Format(time.DateOnly) && p.ObjectType == "" {
		d.set(scopeguardv1.RootCause_ROOT_CAUSE_NOT_FOUND,
			"HubSpot no longer serves this endpoint ("+op.GetMethod()+" "+op.GetPathTemplate()+": support ended "+sunset+"); move to its successor.")
		d.add(scopeguardv1.Action_ACTION_MIGRATE_ENDPOINT, "Move to the supported endpoint or API version.", op.GetSunsetUrl(), nil)
		return
	}
	objType := p.ObjectType
	if objType != "" {
		summary := "HubSpot does not know the object type " + quoted(objType) + " in this account"
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
	switch d.status {
	case 477:
		if !ok {
			wait = time.Hour
		}
		summary = "The HubSpot account is being migrated between data-hosting locations (477); HubSpot asks to retry after " + formatDuration(wait) + " (migrations can take up to 24 hours)."
	case 0, 408:
		// The client's own words say the connection failed.
		d.confidence(scopeguardv1.Confidence_CONFIDENCE_INFERRED)
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
		parts = append(parts, quoted(clip(d.scrub(p.Message), 200)))
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	b.WriteString(".")
	d.confidence(scopeguardv1.Confidence_CONFIDENCE_GUESS)
	d.set(scopeguardv1.RootCause_ROOT_CAUSE_UNKNOWN, b.String())
	d.support("")
}
