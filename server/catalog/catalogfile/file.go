// Package catalogfile reads and writes the embedded endpoint catalog's text
// format. The generator (cmd/catalog-gen) writes it and package catalog
// parses it, so both sides share one definition of the format.
//
// The format is line oriented, tab separated and sorted, so that a
// regeneration shows up as a reviewable diff. Lines starting with '#' are
// comments. Every other line is one record whose first field names its kind:
//
//	scope   NAME KIND [unverified] [tier=NOTE] [retired=DATE replacedBy=A,B retiredURL=URL]
//	set     NAME ALTS
//	object  NAME TYPEID|- [aliases=A,B] [note=NOTE]... [source=URL]
//	objreq  PROFILE OBJECT read|write oauth=ALTS private=ALTS [inferred]
//	op      METHOD TEMPLATE api=API version=V [key=value | flag]...
//
// ALTS is a requirement: alternatives separated by '|', each an AND of
// scopes joined by '+'. The word "none" means the credential kind is accepted
// and needs no scope; "unknown" means it is accepted but no source says
// which scope it needs. A scheme key that is absent means the credential
// kind is not accepted at all. Long requirements (the spec's unions over
// every object, repeated on many account-wide endpoints) are written once
// as a named set and referenced as "@NAME"; the name is derived from the
// content, so it only changes when the set does.
package catalogfile

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Requirement kinds of an object-resolved operation.
const (
	KindRead  = "read"
	KindWrite = "write"
)

// Profiles of object-resolved operations: which table of per-object
// requirements an operation uses.
const (
	// ProfileRecords covers an object's records: CRUD, search, batch,
	// merge, GDPR delete and record associations.
	ProfileRecords = "records"
	// ProfileSchema covers an object's properties, property groups,
	// property validations and pipelines.
	ProfileSchema = "schema"
	// ProfileAssociationSchema covers association labels, types and
	// association limit configurations between two object types.
	ProfileAssociationSchema = "association-schema"
)

// Scope is one scope name with the facts the catalog keeps about it.
type Scope struct {
	// Name is the scope as HubSpot spells it.
	Name string
	// Kind is "coarse", "granular" or "sensitive" as in scopes.json.
	Kind string
	// Unverified marks names whose purpose is only inferred.
	Unverified bool
	// TierNote is a short account or tier requirement, empty when none.
	TierNote string
	// RetiredDate (YYYY-MM-DD) is when HubSpot retired the scope; empty for
	// a live scope. ReplacedBy lists its granular successors and
	// RetiredURL cites the retirement.
	RetiredDate string
	ReplacedBy  []string
	RetiredURL  string
}

// Object is one CRM object type.
type Object struct {
	// Name is the canonical plural name used in paths ("contacts").
	Name string
	// TypeID is the object type id ("0-1"); empty when HubSpot documents
	// none.
	TypeID string
	// Aliases are other names HubSpot accepts (singular forms).
	Aliases []string
	// Notes are short account requirements for the object.
	Notes []string
	// SourceURL cites the object's name and type id.
	SourceURL string
}

// Requirement is an OR of AND-sets of scopes for one credential kind.
type Requirement struct {
	// Accepted is false when the credential kind cannot call the
	// operation at all.
	Accepted bool
	// NoScopes means accepted without any scope.
	NoScopes bool
	// Unknown means accepted, but no source says which scope is needed.
	Unknown bool
	// Alternatives are the ways to satisfy the requirement.
	Alternatives [][]string
}

// ObjectRequirement is one row of a per-object requirement table.
type ObjectRequirement struct {
	// Profile is one of the Profile constants.
	Profile string
	// Object is the canonical object name.
	Object string
	// Kind is KindRead or KindWrite.
	Kind string
	// OAuth is the requirement for public (OAuth) apps.
	OAuth Requirement
	// Private is the requirement for private apps and static tokens.
	Private Requirement
	// Inferred marks rows with no direct source fact for this profile;
	// they fall back to the object's record scopes.
	Inferred bool
}

// Operation is one endpoint.
type Operation struct {
	// Method is the HTTP method in upper case.
	Method string
	// Template is the path template clients send, parameters in braces.
	Template string
	// Aliases are other path templates clients send for the same
	// endpoint (e.g. the SDKs' version-first form).
	Aliases []string
	// API is HubSpot's API name, or "Legacy/<family>" for overlay entries.
	API string
	// Version is the path's version segment.
	Version string

	// Profile and Kind select the per-object requirement table of an
	// object-resolved operation; Profile is empty for plain operations.
	Profile string
	Kind    string
	// Object is the canonical object name of an object-resolved operation
	// bound to one object; empty when a path parameter names the object.
	Object string
	// ObjectSegment is the index of the path segment naming the object
	// type (a literal that aliases apply to, or the parameter); -1 when no
	// segment does.
	ObjectSegment int

	// OAuth, Private and Developer are the requirements of plain
	// operations per credential kind. Object-resolved operations leave
	// OAuth and Private unaccepted; their requirement comes from the
	// object table. Developer is used by both.
	OAuth, Private, Developer Requirement

	// Deprecated is true when HubSpot marks the operation deprecated.
	Deprecated bool
	// SunsetDate (YYYY-MM-DD) is when support ends; SunsetURL cites it.
	SunsetDate string
	SunsetURL  string
	// Retires means HubSpot switches the operation off at SunsetDate
	// instead of only ending support; Replacement names its successor.
	Retires     bool
	Replacement string
	// ProductTiers maps a hub to the lowest tier any spec lists.
	ProductTiers map[string]string
	// TierNotes are short account or feature requirements.
	TierNotes []string
	// Inferred marks requirements filled from another version of the
	// same endpoint because this version's spec lists none.
	Inferred bool
	// SourceURL cites an overlay entry; empty for spec facts.
	SourceURL string
}

// File is a whole catalog.
type File struct {
	// Scopes are every scope name the catalog knows.
	Scopes []Scope
	// Objects are the CRM object types.
	Objects []Object
	// ObjectRequirements are the per-object requirement tables.
	ObjectRequirements []ObjectRequirement
	// Operations are the endpoints.
	Operations []Operation
}

// IsPathParam reports whether a template segment is a parameter holding a
// slash-separated path ({path}, {folderPath}): at the end of a template it
// matches one or more request segments.
func IsPathParam(segment string) bool {
	return segment == "{path}" || strings.HasPrefix(segment, "{") && strings.HasSuffix(segment, "Path}")
}

// Header is the comment written at the top of every catalog file.
const Header = `# scopeguard endpoint catalog: facts from HubSpot's public API spec collection
# (see ../shared/hubspot) plus the curated overlay. Generated by
# "go run ./cmd/catalog-gen"; do not edit by hand (see docs/catalog.md).
`

// Write writes f in the catalog format. Records are written in the order
// given; the generator sorts them.
func (f *File) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	// A bufio.Writer keeps its first error and Flush returns it, so the
	// individual writes need no checks.
	_, _ = bw.WriteString(Header)
	for _, s := range f.Scopes {
		fields := []string{"scope", s.Name, s.Kind}
		if s.Unverified {
			fields = append(fields, "unverified")
		}
		if s.TierNote != "" {
			fields = append(fields, "tier="+s.TierNote)
		}
		if s.RetiredDate != "" {
			fields = append(fields, "retired="+s.RetiredDate, "replacedBy="+strings.Join(s.ReplacedBy, ","), "retiredURL="+s.RetiredURL)
		}
		writeLine(bw, fields)
	}
	for _, o := range f.Objects {
		typeID := o.TypeID
		if typeID == "" {
			typeID = "-"
		}
		fields := []string{"object", o.Name, typeID}
		if len(o.Aliases) > 0 {
			fields = append(fields, "aliases="+strings.Join(o.Aliases, ","))
		}
		for _, n := range o.Notes {
			fields = append(fields, "note="+n)
		}
		if o.SourceURL != "" {
			fields = append(fields, "source="+o.SourceURL)
		}
		writeLine(bw, fields)
	}
	sets := f.namedSets()
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		writeLine(bw, []string{"set", name, sets[name]})
	}
	appendRequirement := func(fields []string, key string, r Requirement) []string {
		if !r.Accepted {
			return fields
		}
		text := FormatRequirement(r)
		if len(text) > setThreshold {
			text = "@" + setName(text)
		}
		return append(fields, key+"="+text)
	}
	for _, r := range f.ObjectRequirements {
		fields := []string{"objreq", r.Profile, r.Object, r.Kind}
		fields = appendRequirement(fields, "oauth", r.OAuth)
		fields = appendRequirement(fields, "private", r.Private)
		if r.Inferred {
			fields = append(fields, "inferred")
		}
		writeLine(bw, fields)
	}
	for _, op := range f.Operations {
		fields := []string{"op", op.Method, op.Template, "api=" + op.API, "version=" + op.Version}
		for _, a := range op.Aliases {
			fields = append(fields, "alias="+a)
		}
		if op.ObjectSegment >= 0 {
			fields = append(fields, "objseg="+strconv.Itoa(op.ObjectSegment))
		}
		if op.Object != "" {
			fields = append(fields, "object="+op.Object)
		}
		if op.Profile != "" {
			fields = append(fields, "profile="+op.Profile, "kind="+op.Kind)
		}
		fields = appendRequirement(fields, "oauth", op.OAuth)
		fields = appendRequirement(fields, "private", op.Private)
		fields = appendRequirement(fields, "developer", op.Developer)
		if op.Inferred {
			fields = append(fields, "inferred")
		}
		if op.Deprecated {
			fields = append(fields, "deprecated")
		}
		if op.SunsetDate != "" {
			fields = append(fields, "sunset="+op.SunsetDate, "sunsetURL="+op.SunsetURL)
		}
		if op.Retires {
			fields = append(fields, "retires")
		}
		if op.Replacement != "" {
			fields = append(fields, "replacement="+op.Replacement)
		}
		if len(op.ProductTiers) > 0 {
			hubs := slices.Sorted(maps.Keys(op.ProductTiers))
			pairs := make([]string, len(hubs))
			for i, h := range hubs {
				pairs[i] = h + ":" + op.ProductTiers[h]
			}
			fields = append(fields, "tiers="+strings.Join(pairs, ","))
		}
		for _, n := range op.TierNotes {
			fields = append(fields, "note="+n)
		}
		if op.SourceURL != "" {
			fields = append(fields, "source="+op.SourceURL)
		}
		writeLine(bw, fields)
	}
	return bw.Flush()
}

func writeLine(bw *bufio.Writer, fields []string) {
	_, _ = bw.WriteString(strings.Join(fields, "\t"))
	_ = bw.WriteByte('\n')
}

// setThreshold is the length above which a requirement is written once
// as a named set.
const setThreshold = 200

func setName(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "u" + hex.EncodeToString(sum[:4])
}

// namedSets maps set names to the long requirements they stand for.
func (f *File) namedSets() map[string]string {
	sets := map[string]string{}
	add := func(r Requirement) {
		if !r.Accepted {
			return
		}
		if text := FormatRequirement(r); len(text) > setThreshold {
			sets[setName(text)] = text
		}
	}
	for _, r := range f.ObjectRequirements {
		add(r.OAuth)
		add(r.Private)
	}
	for _, op := range f.Operations {
		add(op.OAuth)
		add(op.Private)
		add(op.Developer)
	}
	return sets
}

// FormatRequirement renders an accepted requirement as ALTS.
func FormatRequirement(r Requirement) string {
	switch {
	case r.NoScopes:
		return "none"
	case r.Unknown:
		return "unknown"
	}
	alts := make([]string, len(r.Alternatives))
	for i, a := range r.Alternatives {
		alts[i] = strings.Join(a, "+")
	}
	return strings.Join(alts, "|")
}

// ParseRequirement parses ALTS into an accepted requirement.
func ParseRequirement(s string) (Requirement, error) {
	switch s {
	case "none":
		return Requirement{Accepted: true, NoScopes: true}, nil
	case "unknown":
		return Requirement{Accepted: true, Unknown: true}, nil
	case "":
		return Requirement{}, errors.New("empty requirement")
	}
	var alts [][]string
	for alt := range strings.SplitSeq(s, "|") {
		scopes := strings.Split(alt, "+")
		if slices.Contains(scopes, "") {
			return Requirement{}, fmt.Errorf("empty scope name in %q", s)
		}
		alts = append(alts, scopes)
	}
	return Requirement{Accepted: true, Alternatives: alts}, nil
}

// Parse reads a catalog file. It checks the syntax of every line, not the
// consistency between records; package catalog does that when it loads.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	return ParseString(string(data))
}

// ParseString is Parse on a catalog already in memory. The records share
// data's memory: nothing is copied line by line.
func ParseString(data string) (*File, error) {
	// Sized up front: operations are most of the file, and growing a
	// slice of them by doubling would copy megabytes at every start.
	p := &parser{
		f:      &File{Operations: make([]Operation, 0, strings.Count(data, "\nop\t"))},
		sets:   map[string]Requirement{},
		parsed: map[string]Requirement{},
	}
	f := p.f
	line := 0
	for rest := data; rest != ""; {
		var text string
		text, rest, _ = strings.Cut(rest, "\n")
		line++
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		var err error
		switch fields[0] {
		case "scope":
			err = f.parseScope(fields[1:])
		case "set":
			err = p.parseSet(fields[1:])
		case "object":
			err = f.parseObject(fields[1:])
		case "objreq":
			err = p.parseObjectRequirement(fields[1:])
		case "op":
			err = p.parseOperation(fields[1:])
		default:
			err = fmt.Errorf("unknown record kind %q", fields[0])
		}
		if err != nil {
			return nil, fmt.Errorf("catalog line %d: %w", line, err)
		}
	}
	return f, nil
}

func (f *File) parseScope(fields []string) error {
	if len(fields) < 2 {
		return errors.New("scope needs a name and a kind")
	}
	s := Scope{Name: fields[0], Kind: fields[1]}
	for _, fl := range fields[2:] {
		switch {
		case fl == "unverified":
			s.Unverified = true
		case strings.HasPrefix(fl, "tier="):
			s.TierNote = strings.TrimPrefix(fl, "tier=")
		case strings.HasPrefix(fl, "retired="):
			s.RetiredDate = strings.TrimPrefix(fl, "retired=")
		case strings.HasPrefix(fl, "replacedBy="):
			s.ReplacedBy = strings.Split(strings.TrimPrefix(fl, "replacedBy="), ",")
		case strings.HasPrefix(fl, "retiredURL="):
			s.RetiredURL = strings.TrimPrefix(fl, "retiredURL=")
		default:
			return fmt.Errorf("unknown scope field %q", fl)
		}
	}
	f.Scopes = append(f.Scopes, s)
	return nil
}

func (f *File) parseObject(fields []string) error {
	if len(fields) < 2 {
		return errors.New("object needs a name and a type id")
	}
	o := Object{Name: fields[0], TypeID: fields[1]}
	if o.TypeID == "-" {
		o.TypeID = ""
	}
	for _, fl := range fields[2:] {
		key, value, _ := strings.Cut(fl, "=")
		switch key {
		case "aliases":
			o.Aliases = strings.Split(value, ",")
		case "note":
			o.Notes = append(o.Notes, value)
		case "source":
			o.SourceURL = value
		default:
			return fmt.Errorf("unknown object field %q", fl)
		}
	}
	f.Objects = append(f.Objects, o)
	return nil
}

// parser holds the named sets seen so far while parsing.
type parser struct {
	f    *File
	sets map[string]Requirement
	// parsed shares one Requirement among the many records that spell the
	// same one (most operations of an API do), so that the catalog also
	// builds it once.
	parsed map[string]Requirement
}

func (p *parser) parseSet(fields []string) error {
	if len(fields) != 2 {
		return errors.New("set needs a name and a requirement")
	}
	r, err := ParseRequirement(fields[1])
	if err != nil {
		return err
	}
	if fields[0] != setName(fields[1]) {
		return fmt.Errorf("set %s does not match its content", fields[0])
	}
	p.sets[fields[0]] = r
	return nil
}

// requirement parses ALTS or a reference to a named set.
func (p *parser) requirement(s string) (Requirement, error) {
	if name, ok := strings.CutPrefix(s, "@"); ok {
		r, found := p.sets[name]
		if !found {
			return Requirement{}, fmt.Errorf("undefined set %q", name)
		}
		return r, nil
	}
	if r, ok := p.parsed[s]; ok {
		return r, nil
	}
	r, err := ParseRequirement(s)
	if err == nil {
		p.parsed[s] = r
	}
	return r, err
}

func (p *parser) parseObjectRequirement(fields []string) error {
	if len(fields) < 3 {
		return errors.New("objreq needs a profile, an object and a kind")
	}
	r := ObjectRequirement{Profile: fields[0], Object: fields[1], Kind: fields[2]}
	if r.Kind != KindRead && r.Kind != KindWrite {
		return fmt.Errorf("objreq kind %q is neither read nor write", r.Kind)
	}
	for _, fl := range fields[3:] {
		key, value, _ := strings.Cut(fl, "=")
		var err error
		switch key {
		case "oauth":
			r.OAuth, err = p.requirement(value)
		case "private":
			r.Private, err = p.requirement(value)
		case "inferred":
			r.Inferred = true
		default:
			err = fmt.Errorf("unknown objreq field %q", fl)
		}
		if err != nil {
			return err
		}
	}
	p.f.ObjectRequirements = append(p.f.ObjectRequirements, r)
	return nil
}

func (p *parser) parseOperation(fields []string) error {
	if len(fields) < 2 {
		return errors.New("op needs a method and a template")
	}
	op := Operation{Method: fields[0], Template: fields[1], ObjectSegment: -1}
	for _, fl := range fields[2:] {
		key, value, _ := strings.Cut(fl, "=")
		var err error
		switch key {
		case "api":
			op.API = value
		case "version":
			op.Version = value
		case "alias":
			op.Aliases = append(op.Aliases, value)
		case "objseg":
			op.ObjectSegment, err = strconv.Atoi(value)
		case "object":
			op.Object = value
		case "profile":
			op.Profile = value
		case "kind":
			op.Kind = value
		case "oauth":
			op.OAuth, err = p.requirement(value)
		case "private":
			op.Private, err = p.requirement(value)
		case "developer":
			op.Developer, err = p.requirement(value)
		case "inferred":
			op.Inferred = true
		case "deprecated":
			op.Deprecated = true
		case "sunset":
			op.SunsetDate = value
		case "sunsetURL":
			op.SunsetURL = value
		case "retires":
			op.Retires = true
		case "replacement":
			op.Replacement = value
		case "tiers":
			op.ProductTiers = map[string]string{}
			for pair := range strings.SplitSeq(value, ",") {
				hub, tier, ok := strings.Cut(pair, ":")
				if !ok {
					return fmt.Errorf("bad tier pair %q", pair)
				}
				op.ProductTiers[hub] = tier
			}
		case "note":
			op.TierNotes = append(op.TierNotes, value)
		case "source":
			op.SourceURL = value
		default:
			err = fmt.Errorf("unknown op field %q", fl)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", op.Method, op.Template, err)
		}
	}
	p.f.Operations = append(p.f.Operations, op)
	return nil
}
