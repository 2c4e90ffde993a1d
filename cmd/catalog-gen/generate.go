package main

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

var (
	numberedVersion = regexp.MustCompile(`^v[0-9]+$`)
	dateVersion     = regexp.MustCompile(`^20[0-9]{2}-[0-9]{2}(-beta)?$`)
)

// objectParams are the path parameter names that carry an object type.
var objectParams = []string{"{objectType}", "{fromObjectType}", "{objectTypeId}", "{fromObjectTypeId}"}

var methodOrder = map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}

var tierRank = map[string]int{"FREE": 0, "STARTER": 1, "PROFESSIONAL": 2, "ENTERPRISE": 3}

// generator turns the source facts and the overlay into a catalog file.
type generator struct {
	ov        overlay
	scopes    map[string]sourceScope
	objects   map[string]*overlayObject // canonical name -> object
	objectIDs map[string]string         // name, alias or type id -> canonical name
	apiObject map[string]string         // per-object API name -> canonical name

	groups map[groupKey]*group
	table  map[tableKey]*tableRow

	// stats reports what the generator did, for the summary on stderr.
	stats map[string]int
}

type groupKey struct{ method, shape string }

type tableKey struct{ profile, object, kind string }

type tableRow struct {
	oauth, private alternatives
}

// group is every source record of one endpoint: one method and one path
// shape (parameter names ignored) in the clients' path form.
type group struct {
	method    string
	templates map[string]bool
	specPaths map[string]bool
	srcs      []*sourceOp
	ov        *overlayOperation

	objSeg  int    // index of the object segment, -1 if none
	litObj  string // canonical object a literal segment names
	object  string // bound object of an object-resolved group
	profile string // non-empty for object-resolved groups
	kind    string
}

func newGenerator(ov overlay, scopes []sourceScope) (*generator, error) {
	g := &generator{
		ov:        ov,
		scopes:    map[string]sourceScope{},
		objects:   map[string]*overlayObject{},
		objectIDs: map[string]string{},
		apiObject: map[string]string{},
		groups:    map[groupKey]*group{},
		table:     map[tableKey]*tableRow{},
		stats:     map[string]int{},
	}
	for _, s := range scopes {
		if !g.junkScope(s.Name) {
			g.scopes[s.Name] = s
		}
	}
	for i := range ov.Objects {
		o := &ov.Objects[i]
		g.objects[o.Name] = o
		for _, id := range append([]string{o.Name, o.TypeID}, o.Aliases...) {
			if id == "" || strings.Contains(id, "*") {
				continue
			}
			if prev, dup := g.objectIDs[id]; dup {
				return nil, fmt.Errorf("object id %q names both %s and %s", id, prev, o.Name)
			}
			g.objectIDs[id] = o.Name
		}
		for _, api := range o.APIs {
			g.apiObject[api] = o.Name
		}
	}
	return g, nil
}

func (g *generator) junkScope(name string) bool {
	if slices.Contains(g.ov.Drop.Scopes, name) {
		return true
	}
	for _, p := range g.ov.Drop.ScopePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (g *generator) dropped(s *sourceOp) bool {
	if slices.Contains(g.ov.Drop.APIs, s.API) || s.Host != g.ov.Drop.HostsOtherThan {
		return true
	}
	for _, p := range g.ov.Drop.PathPrefixes {
		if strings.HasPrefix(s.Path, p) {
			return true
		}
	}
	return false
}

// clientForm is the path clients send for a spec path: the overlay's
// prefix rewrites first, then a numbered version that the spec puts after
// the product segments moves to the second segment, the form HubSpot's
// SDKs use ("/cms/audit-logs/v3" -> "/cms/v3/audit-logs").
func (g *generator) clientForm(path string) string {
	path = strings.TrimSuffix(path, "/")
	for _, pa := range g.ov.PathAliases {
		if path == pa.SpecPrefix || strings.HasPrefix(path, pa.SpecPrefix+"/") {
			return pa.ClientPrefix + path[len(pa.SpecPrefix):]
		}
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		if dateVersion.MatchString(s) {
			break
		}
		if numberedVersion.MatchString(s) {
			if i >= 2 {
				segs = slices.Insert(slices.Delete(segs, i, i+1), 1, s)
			}
			break
		}
	}
	return "/" + strings.Join(segs, "/")
}

func shape(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

func versionOf(template string) string {
	for _, s := range strings.Split(template, "/") {
		if numberedVersion.MatchString(s) || dateVersion.MatchString(s) {
			return s
		}
	}
	return ""
}

func (g *generator) addSource(s *sourceOp) {
	t := g.clientForm(s.Path)
	k := groupKey{s.Method, shape(t)}
	gr := g.groups[k]
	if gr == nil {
		gr = &group{method: s.Method, templates: map[string]bool{}, specPaths: map[string]bool{}, objSeg: -1}
		g.groups[k] = gr
	}
	gr.templates[t] = true
	gr.specPaths[strings.TrimSuffix(s.Path, "/")] = true
	gr.srcs = append(gr.srcs, s)
}

// addOverlay adds a curated operation. Its path is taken as written: the
// overlay states the form clients send.
func (g *generator) addOverlay(op *overlayOperation) error {
	t := strings.TrimSuffix(op.Path, "/")
	k := groupKey{op.Method, shape(t)}
	gr := g.groups[k]
	switch {
	case gr != nil && gr.ov != nil:
		return fmt.Errorf("overlay %s %s is curated twice (%s and %s)", op.Method, op.Path, gr.ov.Family, op.Family)
	case gr != nil && !op.Correction:
		return fmt.Errorf("overlay %s %s duplicates a spec operation; mark it a correction", op.Method, op.Path)
	case gr == nil && op.Correction:
		return fmt.Errorf("overlay correction %s %s matches no spec operation", op.Method, op.Path)
	case gr == nil:
		gr = &group{method: op.Method, templates: map[string]bool{t: true}, specPaths: map[string]bool{}, objSeg: -1}
		g.groups[k] = gr
	}
	gr.ov = op
	return nil
}

// secOf returns one source record's requirement per credential kind, with
// junk scopes removed and the private list completed from the OAuth list.
func (g *generator) secOf(s *sourceOp) (oauth, private alternatives, developer bool) {
	for _, sec := range s.Security {
		if slices.ContainsFunc(sec.Scopes, g.junkScope) {
			continue
		}
		switch sec.Scheme {
		case "oauth2", "oauth2_legacy":
			oauth = append(oauth, sec.Scopes)
		case "private_apps", "private_apps_legacy":
			private = append(private, sec.Scopes)
		case "developer_hapikey":
			developer = true
		}
	}
	return oauth, append(private, mapV2(oauth)...), developer
}

// unionLike reports whether a requirement lists the scopes of many objects:
// the spec's union over every object on a generic path, not a requirement.
func (g *generator) unionLike(alts alternatives) bool {
	families := map[string]bool{}
	for _, a := range alts {
		for _, s := range a {
			if f := scopeFamily(s); f != "" && f != "e-commerce" {
				families[f] = true
			}
		}
	}
	return len(families) >= 3
}

func (g *generator) familiesOf(alts alternatives) map[string]bool {
	fams := map[string]bool{}
	for _, a := range alts {
		for _, s := range a {
			fams[scopeFamily(s)] = true
		}
	}
	return fams
}

func kindOf(method, template string) string {
	if method == "GET" {
		return catalogfile.KindRead
	}
	last := template[strings.LastIndex(template, "/")+1:]
	if last == "search" || last == "read" {
		return catalogfile.KindRead
	}
	return catalogfile.KindWrite
}

func profileOf(template string) string {
	segs := strings.Split(template, "/")
	switch {
	case slices.Contains(segs, "properties") || slices.Contains(segs, "pipelines") || slices.Contains(segs, "property-validations"):
		return catalogfile.ProfileSchema
	case slices.Contains(segs, "associations") && (slices.Contains(segs, "definitions") ||
		((slices.Contains(segs, "labels") || slices.Contains(segs, "types")) && !slices.Contains(segs, "batch"))):
		return catalogfile.ProfileAssociationSchema
	}
	return catalogfile.ProfileRecords
}

// literalObject finds a literal object segment in the record paths
// /crm/vN/objects/<object> and /crm/objects/<date>/<object>.
func (g *generator) literalObject(template string) (string, int) {
	segs := strings.Split(strings.TrimPrefix(template, "/"), "/")
	if len(segs) < 4 || segs[0] != "crm" {
		return "", -1
	}
	if (numberedVersion.MatchString(segs[1]) && segs[2] == "objects") || (segs[1] == "objects" && dateVersion.MatchString(segs[2])) {
		if name, ok := g.objectIDs[segs[3]]; ok {
			return name, 3
		}
	}
	return "", -1
}

func objectParamIndex(template string) int {
	for i, s := range strings.Split(strings.TrimPrefix(template, "/"), "/") {
		if slices.Contains(objectParams, s) {
			return i
		}
	}
	return -1
}

// template is the group's primary template: one ending in a path
// parameter ({path}, {folderPath}) if any, since it also matches nested
// paths, then the lexically smallest.
func (gr *group) template() string {
	return slices.MinFunc(slices.Collect(maps.Keys(gr.templates)), func(a, b string) int {
		return cmp.Or(-cmp.Compare(endsInPathParam(a), endsInPathParam(b)), strings.Compare(a, b))
	})
}

func endsInPathParam(t string) int {
	if catalogfile.IsPathParam(t[strings.LastIndex(t, "/")+1:]) {
		return 1
	}
	return 0
}

// classify decides whether a group is object-resolved, and binds it.
func (g *generator) classify(gr *group) {
	t := gr.template()
	gr.kind = kindOf(gr.method, t)
	gr.profile = ""
	if op := gr.ov; op != nil && !op.Correction {
		if op.Kind != "" {
			gr.kind = op.Kind
		}
		switch {
		case op.Object != "":
			gr.object, gr.profile = op.Object, cmp.Or(op.Profile, catalogfile.ProfileRecords)
		case op.ObjectParam:
			gr.objSeg, gr.profile = objectParamIndex(t), cmp.Or(op.Profile, catalogfile.ProfileRecords)
		}
		return
	}
	union, perObject := false, ""
	var all alternatives
	for _, s := range gr.srcs {
		oauth, _, _ := g.secOf(s)
		all = append(all, oauth...)
		union = union || g.unionLike(oauth)
		if o := g.apiObject[s.API]; o != "" {
			perObject = o
		}
	}
	if idx := objectParamIndex(t); idx >= 0 {
		if union || perObject != "" {
			gr.objSeg, gr.profile = idx, profileOf(t)
		}
		return
	}
	lit, idx := g.literalObject(t)
	if lit == "" {
		return
	}
	own := len(all) > 0
	for f := range g.familiesOf(all) {
		own = own && slices.Contains(g.objects[lit].Families, f)
	}
	if union || perObject == lit || own {
		gr.object, gr.litObj, gr.objSeg, gr.profile = lit, lit, idx, profileOf(t)
	}
}

// canonicalizeObjects rewrites the literal object segment of bound groups
// to the object's canonical name, merging groups that differ only in
// naming the object by name or by type id.
func (g *generator) canonicalizeObjects() {
	for _, k := range slices.SortedFunc(maps.Keys(g.groups), compareKeys) {
		gr := g.groups[k]
		if gr.litObj == "" {
			continue
		}
		templates := map[string]bool{}
		for t := range gr.templates {
			segs := strings.Split(t, "/")
			segs[gr.objSeg+1] = gr.litObj
			canon := strings.Join(segs, "/")
			templates[canon] = true
			if canon != t {
				gr.specPaths[t] = true
			}
		}
		gr.templates = templates
		nk := groupKey{gr.method, shape(gr.template())}
		if nk == k {
			continue
		}
		delete(g.groups, k)
		if into := g.groups[nk]; into != nil {
			maps.Copy(into.templates, gr.templates)
			maps.Copy(into.specPaths, gr.specPaths)
			into.srcs = append(into.srcs, gr.srcs...)
			g.stats["literal object groups merged"]++
			continue
		}
		g.groups[nk] = gr
	}
}

func compareKeys(a, b groupKey) int {
	return cmp.Or(strings.Compare(a.shape, b.shape), cmp.Compare(methodOrder[a.method], methodOrder[b.method]))
}

// contribute adds what one object-resolved group's sources say about each
// object's requirement.
func (g *generator) contribute(gr *group) {
	for _, s := range gr.srcs {
		oauth, private, _ := g.secOf(s)
		if len(oauth) == 0 && len(private) == 0 {
			continue
		}
		if g.unionLike(oauth) {
			for _, name := range slices.Sorted(maps.Keys(g.objects)) {
				if gr.object != "" && gr.object != name {
					continue
				}
				fams := g.objects[name].Families
				g.addToTable(tableKey{gr.profile, name, gr.kind},
					filterObject(oauth, fams, gr.kind), filterObject(private, fams, gr.kind))
			}
			continue
		}
		name := g.apiObject[s.API]
		if gr.object != "" {
			name = gr.object
		}
		if name == "" {
			continue
		}
		g.addToTable(tableKey{gr.profile, name, gr.kind}, filterKind(oauth, gr.kind), filterKind(private, gr.kind))
	}
}

func (g *generator) addToTable(k tableKey, oauth, private alternatives) {
	row := g.table[k]
	if row == nil {
		row = &tableRow{}
		g.table[k] = row
	}
	row.oauth = append(row.oauth, oauth...)
	row.private = append(row.private, private...)
}

var profiles = []string{catalogfile.ProfileRecords, catalogfile.ProfileSchema, catalogfile.ProfileAssociationSchema}

// objectRequirements turns the collected table into rows for every object,
// profile and kind, applying the overlay's corrections and falling back to
// the object's record scopes where a profile has no facts.
func (g *generator) objectRequirements() []catalogfile.ObjectRequirement {
	for _, fix := range g.ov.ObjectCorrections {
		k := tableKey{fix.Profile, fix.Object, fix.Kind}
		g.addToTable(k, fix.Add, mapV2(fix.Add))
	}
	var rows []catalogfile.ObjectRequirement
	for _, name := range slices.Sorted(maps.Keys(g.objects)) {
		for _, kind := range []string{catalogfile.KindRead, catalogfile.KindWrite} {
			recOAuth, recPrivate := g.finishRow(g.table[tableKey{catalogfile.ProfileRecords, name, kind}])
			for _, p := range profiles {
				row := catalogfile.ObjectRequirement{Profile: p, Object: name, Kind: kind}
				oauth, private := g.finishRow(g.table[tableKey{p, name, kind}])
				if len(oauth) == 0 && p != catalogfile.ProfileRecords {
					oauth, private, row.Inferred = recOAuth, recPrivate, true
					g.stats["object rows inferred from record scopes"]++
				}
				row.OAuth, row.Private = requirement(oauth), requirement(private)
				if len(oauth) == 0 {
					row.OAuth = catalogfile.Requirement{Accepted: true, Unknown: true}
					row.Private = row.OAuth
					g.stats["object rows with unknown requirement"]++
				}
				rows = append(rows, row)
			}
		}
	}
	slices.SortFunc(rows, func(a, b catalogfile.ObjectRequirement) int {
		return cmp.Or(strings.Compare(a.Profile, b.Profile), strings.Compare(a.Object, b.Object), strings.Compare(a.Kind, b.Kind))
	})
	return rows
}

// finishRow normalises a table row; the private list always includes the
// OAuth list in private spelling.
func (g *generator) finishRow(row *tableRow) (oauth, private alternatives) {
	if row == nil {
		return nil, nil
	}
	oauth = g.normalize(row.oauth)
	return oauth, g.normalize(append(slices.Clone(row.private), mapV2(oauth)...))
}

func requirement(alts alternatives) catalogfile.Requirement {
	return catalogfile.Requirement{Accepted: len(alts) > 0, Alternatives: alts}
}

var noScopes = catalogfile.Requirement{Accepted: true, NoScopes: true}

// plainRequirements merges a plain group's sources.
func (g *generator) plainRequirements(gr *group) (oauth, private catalogfile.Requirement, developer, gap bool) {
	var oa, pr alternatives
	allNoKey := len(gr.srcs) > 0
	for _, s := range gr.srcs {
		o, p, d := g.secOf(s)
		oa, pr, developer = append(oa, o...), append(pr, p...), developer || d
		allNoKey = allNoKey && !s.SecurityDeclared
	}
	if allNoKey {
		return noScopes, noScopes, true, false
	}
	oa = g.normalize(oa)
	pr = g.normalize(append(pr, mapV2(oa)...))
	return requirement(oa), requirement(pr), developer, len(oa) == 0 && len(pr) == 0 && !developer
}

// siblingKey identifies an endpoint across API versions.
func siblingKey(method, template string) string {
	segs := slices.DeleteFunc(strings.Split(shape(template), "/"), func(s string) bool {
		return numberedVersion.MatchString(s) || dateVersion.MatchString(s)
	})
	return method + " " + strings.Join(segs, "/")
}

func (g *generator) build() (*catalogfile.File, error) {
	for _, k := range slices.SortedFunc(maps.Keys(g.groups), compareKeys) {
		g.classify(g.groups[k])
	}
	g.canonicalizeObjects()
	keys := slices.SortedFunc(maps.Keys(g.groups), compareKeys)
	for _, k := range keys {
		if gr := g.groups[k]; gr.profile != "" {
			g.contribute(gr)
		}
	}
	f := &catalogfile.File{ObjectRequirements: g.objectRequirements()}

	type plain struct {
		oauth, private catalogfile.Requirement
		developer      bool
	}
	known := map[string]plain{}
	var gaps []int
	for _, k := range keys {
		gr := g.groups[k]
		op, err := g.operation(gr)
		if err != nil {
			return nil, err
		}
		if gr.profile == "" {
			oauth, private, developer, gap := g.plainRequirements(gr)
			if gr.ov != nil {
				oauth, private, developer, gap = g.overlayRequirement(gr.ov)
			}
			g.prune(&op, &oauth)
			g.prune(&op, &private)
			op.OAuth, op.Private = oauth, private
			if developer {
				op.Developer = noScopes
			}
			if gap {
				gaps = append(gaps, len(f.Operations))
			} else {
				known[siblingKey(op.Method, op.Template)] = plain{oauth, private, developer}
			}
		}
		f.Operations = append(f.Operations, op)
	}
	for _, i := range gaps {
		op := &f.Operations[i]
		if sib, ok := known[siblingKey(op.Method, op.Template)]; ok {
			op.OAuth, op.Private, op.Inferred = sib.oauth, sib.private, true
			if sib.developer {
				op.Developer = noScopes
			}
			g.stats["spec gaps filled from another version"]++
			continue
		}
		op.OAuth = catalogfile.Requirement{Accepted: true, Unknown: true}
		op.Private = op.OAuth
		g.stats["operations with unknown requirement"]++
	}
	for i := range f.Operations {
		if f.Operations[i].Profile == "" {
			g.applyCredentialRules(&f.Operations[i])
		}
	}
	slices.SortFunc(f.Operations, func(a, b catalogfile.Operation) int {
		return cmp.Or(strings.Compare(a.Template, b.Template), cmp.Compare(methodOrder[a.Method], methodOrder[b.Method]))
	})
	f.Objects = g.objectLines()
	f.Scopes = g.scopeLines(f)
	return f, nil
}

// applyCredentialRules applies the overlay's corrections of which
// credentials an operation accepts. A refused kind gets the zero
// requirement, which the catalog reads as "cannot call it".
func (g *generator) applyCredentialRules(op *catalogfile.Operation) {
	for _, r := range g.ov.CredentialRules {
		if !strings.HasPrefix(op.Template, r.PathPrefix) {
			continue
		}
		if r.AcceptDeveloperKey {
			op.Developer = noScopes
		}
		if r.RefuseOAuth {
			op.OAuth = catalogfile.Requirement{}
		}
		if r.RefusePrivate {
			op.Private = catalogfile.Requirement{}
		}
		g.stats["operations with corrected credentials"]++
	}
}

// overlayRequirement is the requirement an overlay entry states directly.
func (g *generator) overlayRequirement(op *overlayOperation) (oauth, private catalogfile.Requirement, developer, gap bool) {
	if op.NoScopes {
		return noScopes, noScopes, true, false
	}
	if op.Unknown {
		unknown := catalogfile.Requirement{Accepted: true, Unknown: true}
		return unknown, unknown, false, false
	}
	oa := g.normalize(op.OAuth)
	return requirement(oa), requirement(g.normalize(append(slices.Clone(op.Private), mapV2(oa)...))), false, false
}

// operation builds a group's catalog entry except its plain requirement.
func (g *generator) operation(gr *group) (catalogfile.Operation, error) {
	t := gr.template()
	op := catalogfile.Operation{
		Method:        gr.method,
		Template:      t,
		Version:       versionOf(t),
		ObjectSegment: -1,
	}
	if gr.profile != "" {
		op.Profile, op.Kind, op.Object, op.ObjectSegment = gr.profile, gr.kind, gr.object, gr.objSeg
		for _, s := range gr.srcs {
			if _, _, dev := g.secOf(s); dev {
				op.Developer = noScopes
			}
		}
	}
	for p := range gr.specPaths {
		if shape(p) != shape(t) {
			op.Aliases = append(op.Aliases, p)
		}
	}
	slices.Sort(op.Aliases)
	op.API = g.chooseAPI(gr)
	for _, s := range gr.srcs {
		op.Deprecated = op.Deprecated || s.Deprecated
		for hub, tier := range s.ProductTierRequirements {
			if op.ProductTiers == nil {
				op.ProductTiers = map[string]string{}
			}
			if cur, ok := op.ProductTiers[hub]; !ok || tierRank[tier] < tierRank[cur] {
				op.ProductTiers[hub] = tier
			}
		}
	}
	if ov := gr.ov; ov != nil {
		if ov.Source == "" {
			return op, fmt.Errorf("overlay %s %s has no source URL", ov.Method, ov.Path)
		}
		op.SourceURL = ov.Source
		if ov.Note != "" {
			op.TierNotes = append(op.TierNotes, ov.Note)
		}
	}
	if s := g.sunsetFor(op.Method, t, op.Version); s != nil {
		op.SunsetDate, op.SunsetURL, op.Retires, op.Replacement = s.Date, s.Source, s.Retires, s.Replacement
	}
	// An operation's own switch-off date and replacement override its
	// family's.
	if ov := gr.ov; ov != nil && ov.Sunset != "" {
		op.SunsetDate, op.SunsetURL, op.Retires = ov.Sunset, ov.SunsetSource, true
	}
	if ov := gr.ov; ov != nil && ov.Replacement != "" {
		op.Replacement = ov.Replacement
	}
	for _, n := range g.ov.APINotes {
		if strings.Contains(t, n.PathContains) && slices.ContainsFunc(gr.srcs, func(s *sourceOp) bool { return s.API == n.API }) &&
			!slices.Contains(op.TierNotes, n.Note) {
			op.TierNotes = append(op.TierNotes, n.Note)
		}
	}
	return op, nil
}

// sunsetFor is the sunset rule covering an operation: the first path-prefix
// rule (unless it excepts this very operation), else the first rule for
// its version. A family's switch-off thus wins over the version-wide end
// of support.
func (g *generator) sunsetFor(method, template, version string) *overlaySunset {
	for i := range g.ov.Sunsets {
		s := &g.ov.Sunsets[i]
		if s.PathPrefix != "" && strings.HasPrefix(template, s.PathPrefix) && !slices.Contains(s.Except, method+" "+template) {
			return s
		}
	}
	for i := range g.ov.Sunsets {
		if s := &g.ov.Sunsets[i]; s.PathPrefix == "" && slices.Contains(s.Versions, version) {
			return s
		}
	}
	return nil
}

// chooseAPI names an endpoint after the API that owns it: a generic API
// (CRM/Objects, CRM/Associations) over the per-object specs that repeat the
// path, then the API with the most source records.
func (g *generator) chooseAPI(gr *group) string {
	if gr.ov != nil && !gr.ov.Correction {
		return "Legacy/" + gr.ov.Family
	}
	// A path whose object type is a parameter right after "objects" (and
	// a date version) is the generic objects API, whichever per-object or
	// feature specs (forecasts, price books) also list it.
	if segs := strings.Split(strings.TrimPrefix(gr.template(), "/"), "/"); gr.object == "" && gr.objSeg >= 2 &&
		slices.Contains(segs[gr.objSeg-2:gr.objSeg], "objects") && segs[0] == "crm" && !slices.Contains(segs, "associations") {
		return "CRM/Objects"
	}
	counts := map[string]int{}
	for _, s := range gr.srcs {
		counts[s.API]++
	}
	best := ""
	better := func(a, b string) bool {
		_, aObj := g.apiObject[a]
		_, bObj := g.apiObject[b]
		if aObj != bObj && gr.object == "" {
			return !aObj
		}
		if counts[a] != counts[b] {
			return counts[a] > counts[b]
		}
		return a < b
	}
	for api := range counts {
		if best == "" || better(api, best) {
			best = api
		}
	}
	return best
}

func (g *generator) objectLines() []catalogfile.Object {
	var out []catalogfile.Object
	for _, name := range slices.Sorted(maps.Keys(g.objects)) {
		o := g.objects[name]
		typeID := o.TypeID
		if strings.Contains(typeID, "*") {
			typeID = ""
		}
		out = append(out, catalogfile.Object{Name: o.Name, TypeID: typeID, Aliases: slices.Clone(o.Aliases), Notes: o.Notes, SourceURL: o.Source})
	}
	return out
}

// scopeLines lists the scopes of scopes.json plus any scope a requirement
// names that scopes.json lacks.
func (g *generator) scopeLines(f *catalogfile.File) []catalogfile.Scope {
	names := map[string]bool{}
	for n := range g.scopes {
		names[n] = true
	}
	add := func(r catalogfile.Requirement) {
		for _, a := range r.Alternatives {
			for _, s := range a {
				if !names[s] {
					names[s] = true
					g.stats["scopes named only by requirements"]++
				}
			}
		}
	}
	for _, r := range f.ObjectRequirements {
		add(r.OAuth)
		add(r.Private)
	}
	for _, op := range f.Operations {
		add(op.OAuth)
		add(op.Private)
	}
	var out []catalogfile.Scope
	for _, n := range slices.Sorted(maps.Keys(names)) {
		s, ok := g.scopes[n]
		kind := s.Kind
		if !ok {
			kind = "granular"
			if strings.Contains(n, "sensitive") {
				kind = "sensitive"
			}
		}
		sc := catalogfile.Scope{Name: n, Kind: kind, Unverified: s.Unverified || !ok, TierNote: s.Requires}
		if r := g.retired(n); r != nil {
			sc.RetiredDate, sc.ReplacedBy, sc.RetiredURL = r.Date, sortedCopy(r.Replacements), r.Source
		}
		out = append(out, sc)
	}
	return out
}
