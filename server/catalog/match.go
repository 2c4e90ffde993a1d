package catalog

import (
	"fmt"
	"strings"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog/catalogfile"
)

// Limits on matcher input. A path longer than maxPathBytes or with more
// segments than maxSegments matches nothing.
const (
	maxPathBytes = 4096
	maxSegments  = 32
	customObject = "custom"
)

var methods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// methodIndex maps a method (any case) to its slot; HEAD shares GET's.
func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "POST":
		return 1
	case "PUT":
		return 2
	case "PATCH":
		return 3
	case "DELETE":
		return 4
	}
	for i, name := range methods {
		if strings.EqualFold(m, name) {
			return i
		}
	}
	if strings.EqualFold(m, "HEAD") {
		return 0
	}
	return -1
}

// node is one level of the segment trie. Literal children are kept in a
// slice scanned linearly while there are few of them (most nodes have
// one to four) and in a map beyond smallNode.
type node struct {
	keys  []string
	kids  []*node
	lits  map[string]*node
	param *node
	// rest is a trailing parameter that swallows the remaining segments
	// ({path} in the files and source-code APIs).
	rest *node
	ops  [len(methods)]*Operation
}

func (n *node) child(seg string, param bool) *node {
	if param {
		if n.param == nil {
			n.param = &node{}
		}
		return n.param
	}
	if c := n.literal(seg); c != nil {
		return c
	}
	c := &node{}
	n.keys = append(n.keys, seg)
	n.kids = append(n.kids, c)
	if len(n.keys) > smallNode {
		if n.lits == nil {
			n.lits = make(map[string]*node, len(n.keys))
			for i, k := range n.keys {
				n.lits[k] = n.kids[i]
			}
		}
		n.lits[seg] = c
	}
	return c
}

const smallNode = 8

// literal returns the literal child for seg, or nil.
func (n *node) literal(seg string) *node {
	if n.lits != nil {
		return n.lits[seg]
	}
	for i, k := range n.keys {
		if k == seg {
			return n.kids[i]
		}
	}
	return nil
}

// insert adds a template; primary templates win over aliases that collide
// with them.
func (c *Catalog) insert(template string, op *Operation) {
	segs := strings.Split(strings.Trim(template, "/"), "/")
	c.maxDepth = max(c.maxDepth, len(segs))
	n := c.root
	for i, s := range segs {
		param := strings.HasPrefix(s, "{")
		if param && i == len(segs)-1 && catalogfile.IsPathParam(s) {
			if n.rest == nil {
				n.rest = &node{}
			}
			n = n.rest
			break
		}
		n = n.child(s, param)
	}
	m := methodIndex(op.Method)
	if n.ops[m] == nil {
		n.ops[m] = op
	}
}

// index inserts every primary template, then every alias: the spec's
// other path forms and, for operations bound to an object by a literal
// segment, the object's other names and type id.
func (c *Catalog) index() error {
	for _, op := range c.ops {
		c.insert(op.Template, op)
	}
	for _, op := range c.ops {
		for _, a := range op.Aliases {
			c.insert(a, op)
		}
		if op.Object == nil || op.objSeg < 0 {
			continue
		}
		segs := strings.Split(strings.Trim(op.Template, "/"), "/")
		if op.objSeg >= len(segs) {
			return fmt.Errorf("%s %s: object segment %d out of range", op.Method, op.Template, op.objSeg)
		}
		for _, name := range append([]string{op.Object.TypeID}, op.Object.Aliases...) {
			if name != "" {
				segs[op.objSeg] = name
				c.insert("/"+strings.Join(segs, "/"), op)
			}
		}
	}
	if c.maxDepth > maxSegments {
		return fmt.Errorf("a template has more than %d segments", maxSegments)
	}
	return nil
}

// Match is an operation found for a request, with its object type resolved.
type Match struct {
	// Operation is the matched catalog entry.
	Operation *Operation
	// ObjectType is the CRM object the path names, canonicalised:
	// "contacts" for both "contacts" and "0-1", the id ("2-123") or fully
	// qualified name ("p123_widgets") of a custom object, the name as sent
	// for an unrecognised object type; "" when the operation is not
	// object-specific.
	ObjectType string
	// Object is the resolved object (the custom pseudo-object for custom
	// and unrecognised object types); nil when not object-specific.
	Object *Object
	// Resolution says how ObjectType was recognised.
	Resolution ObjectResolution

	reqs *reqs
}

// ObjectResolution says how the object type in a path was recognised.
type ObjectResolution int

// Object resolutions.
const (
	// ObjectNone means the operation is not object-specific.
	ObjectNone ObjectResolution = iota
	// ObjectStandard is a HubSpot standard object by name, alias or id.
	ObjectStandard
	// ObjectCustom is a custom object by type id (2-123) or fully
	// qualified name (p123_widgets).
	ObjectCustom
	// ObjectAssumedCustom is a name that is neither: HubSpot resolves such
	// names against the account's custom object schemas (or rejects them),
	// so the custom-object scopes are the only ones that can apply.
	ObjectAssumedCustom
)

// Requirement returns what the matched operation needs from a credential
// kind. APP_TYPE_UNSPECIFIED means a public (OAuth) app.
// The zero Match (returned with an error) requires nothing it can accept.
func (m Match) Requirement(app scopeguardv1.AppType) Requirement {
	if m.Operation == nil {
		return Requirement{}
	}
	switch appIndex(app) {
	case 1:
		return Requirement{m.reqs.private}
	case 2:
		return Requirement{m.Operation.dev}
	}
	return Requirement{m.reqs.oauth}
}

// segments splits a path into its non-empty segments without allocating.
type segments struct {
	path string
	n    int
	idx  [maxSegments][2]uint16
}

func (s *segments) seg(i int) string { return s.path[s.idx[i][0]:s.idx[i][1]] }

// Match finds the operation for a method and a bare path or full URL on a
// HubSpot API host. Query and fragment are ignored; empty segments
// (duplicate or trailing slashes) are skipped; percent-encoded segments are
// compared decoded; literal segments beat parameters. It returns
// *UnknownEndpointError when no operation matches, *HostError for a URL on
// another host, *PathError for unusable input and *MethodError for an
// unsupported method. On the success path it does not allocate.
func (c *Catalog) Match(method, pathOrURL string) (Match, error) {
	m := methodIndex(method)
	if m < 0 {
		return Match{}, &MethodError{Method: truncate(method, 16)}
	}
	path, err := extractPath(pathOrURL)
	if err != nil {
		return Match{}, err
	}
	var segs segments
	segs.path = path
	if perr := splitSegments(&segs); perr != nil {
		return Match{}, perr
	}
	if segs.n <= c.maxDepth {
		if op := c.walk(c.root, &segs, 0, m); op != nil {
			return c.resolve(op, &segs), nil
		}
	}
	return Match{}, &UnknownEndpointError{Method: canonicalMethod(method), Path: redactPath(segs.display())}
}

// Suggest returns the catalogued operations closest to a method and path
// (or URL) that Match did not find, as "METHOD /template" strings, closest
// first; nil when the input is unusable. It costs far more than Match (up
// to about a millisecond), so callers bound how often they ask.
func (c *Catalog) Suggest(method, pathOrURL string) []string {
	path, err := extractPath(pathOrURL)
	if err != nil {
		return nil
	}
	var segs segments
	segs.path = path
	if splitSegments(&segs) != nil {
		return nil
	}
	return c.suggestions(canonicalMethod(method), &segs)
}

// canonicalMethod upper-cases a method and reads HEAD as GET, as Match does.
func canonicalMethod(method string) string {
	upper := strings.ToUpper(method)
	if upper == "HEAD" {
		return "GET"
	}
	return upper
}

// walk descends the trie depth first, literals before parameters.
func (c *Catalog) walk(n *node, s *segments, i, m int) *Operation {
	if i == s.n {
		return n.ops[m]
	}
	seg := s.seg(i)
	if len(n.keys) > 0 {
		if child := n.literal(seg); child != nil {
			if op := c.walk(child, s, i+1, m); op != nil {
				return op
			}
		} else if strings.IndexByte(seg, '%') >= 0 {
			for j, lit := range n.keys {
				if decodedEqual(seg, lit) {
					if op := c.walk(n.kids[j], s, i+1, m); op != nil {
						return op
					}
				}
			}
		}
	}
	if n.param != nil {
		if op := c.walk(n.param, s, i+1, m); op != nil {
			return op
		}
	}
	if n.rest != nil {
		return n.rest.ops[m]
	}
	return nil
}

// resolve binds the matched operation's requirement to the object type.
func (c *Catalog) resolve(op *Operation, s *segments) Match {
	if op.profile < 0 {
		return Match{Operation: op, reqs: op.plain}
	}
	if op.Object != nil {
		return Match{Operation: op, ObjectType: op.Object.Name, Object: op.Object, Resolution: ObjectStandard, reqs: op.plain}
	}
	name := s.seg(op.objSeg)
	obj, res := c.resolveObject(name)
	objectType := obj.Name
	if res != ObjectStandard {
		objectType = name
	}
	return Match{Operation: op, ObjectType: objectType, Object: obj, Resolution: res,
		reqs: c.objTables[op.profile][op.kind][obj.index]}
}

// resolveObject recognises an object type by name, alias or type id, case
// insensitively and percent-decoded, without allocating for names up to 64
// bytes.
func (c *Catalog) resolveObject(name string) (*Object, ObjectResolution) {
	if obj := c.objectIDs[name]; obj != nil {
		return obj, ObjectStandard
	}
	var buf [64]byte
	if len(name) <= len(buf) {
		n, ok := foldDecode(buf[:0], name)
		if ok {
			if obj := c.objectIDs[string(n)]; obj != nil {
				return obj, ObjectStandard
			}
			if isCustomID(n) || isQualifiedName(n) {
				return c.custom, ObjectCustom
			}
		}
	}
	return c.custom, ObjectAssumedCustom
}

// isCustomID matches "2-" followed by digits.
func isCustomID(b []byte) bool {
	if len(b) < 3 || b[0] != '2' || b[1] != '-' {
		return false
	}
	for _, ch := range b[2:] {
		if ch < '0' || ch > '9' {
			return false
		}
	}
	return true
}

// isQualifiedName matches a custom object's fully qualified name
// "p<portal id>_<name>".
func isQualifiedName(b []byte) bool {
	if len(b) < 4 || b[0] != 'p' {
		return false
	}
	i := 1
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i > 1 && i < len(b)-1 && b[i] == '_'
}

// foldDecode appends the percent-decoded, lower-cased name to dst.
func foldDecode(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return dst, false
			}
			ch = byte(unhex(s[i+1])<<4 | unhex(s[i+2])) //nolint:gosec // G115: two hex digits, checked above, are one byte
			i += 2
		}
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst, true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// decodedEqual reports whether a percent-encoded segment decodes to lit.
func decodedEqual(seg, lit string) bool {
	j := 0
	for i := 0; i < len(seg); i++ {
		ch := seg[i]
		if ch == '%' {
			if i+2 >= len(seg) {
				return false
			}
			ch = byte(unhex(seg[i+1])<<4 | unhex(seg[i+2])) //nolint:gosec // G115: splitSegments admitted only valid escapes
			i += 2
		}
		if j >= len(lit) || lit[j] != ch {
			return false
		}
		j++
	}
	return j == len(lit)
}

// extractPath returns the path of a bare path or a URL on a HubSpot API
// host, without query and fragment.
func extractPath(in string) (string, error) {
	s := strings.TrimSpace(in)
	if s == "" {
		return "", &PathError{Reason: "empty path"}
	}
	if len(s) > maxPathBytes {
		return "", &PathError{Path: truncate(s, 64), Reason: fmt.Sprintf("longer than %d bytes", maxPathBytes)}
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	rest, isURL := cutScheme(s)
	if i := strings.Index(s, "://"); !isURL && i > 0 && !strings.ContainsRune(s[:i], '/') {
		return "", &PathError{Path: truncate(s[:i], 16) + "://…", Reason: "only http and https URLs name HubSpot endpoints"}
	}
	if !isURL {
		if schemeless, ok := strings.CutPrefix(s, "//"); ok {
			// "//api.hubapi.com/crm/..." is a scheme-relative URL;
			// "//crm/v3/..." a path with a doubled slash.
			first, _, _ := strings.Cut(strings.TrimLeft(schemeless, "/"), "/")
			if strings.Contains(first, ".") && !strings.HasPrefix(schemeless, "/") {
				return extractPath("https://" + schemeless)
			}
		}
		if strings.HasPrefix(s, "/") {
			return s, nil
		}
		// "api.hubapi.com/crm/..." or "crm/v3/...": a host without a
		// scheme when the first segment has a dot (no HubSpot path starts
		// with one), otherwise a path missing its leading slash.
		first, _, _ := strings.Cut(s, "/")
		if !strings.Contains(first, ".") {
			return "/" + s, nil
		}
		rest = s
	}
	authority, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if strings.ContainsRune(authority, '@') {
		return "", &PathError{Reason: "URL carries user credentials"}
	}
	host := authority
	if h, port, ok := strings.Cut(authority, ":"); ok {
		if port != "443" && port != "80" && port != "" {
			return "", &HostError{Host: truncate(authority, 253)}
		}
		host = h
	}
	if !isHubSpotAPIHost(host) {
		return "", &HostError{Host: truncate(host, 253)}
	}
	return path, nil
}

func cutScheme(s string) (string, bool) {
	for _, scheme := range []string{"https://", "http://"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return s[len(scheme):], true
		}
	}
	return s, false
}

// isHubSpotAPIHost accepts the hosts HubSpot serves its APIs on, case
// insensitively and with or without a trailing dot: api.hubapi.com and
// api.hubspot.com and their data-centre forms api-<hublet>.hubapi.com /
// .hubspot.com (api-eu1...); the forms submission hosts api.hsforms.com
// (and api-<hublet>.hsforms.com), forms.hubspot.com and forms.hsforms.com;
// the legacy events host track.hubspot.com (and track-<hublet>.hubspot.com).
// Which paths each host serves is the catalog's business: a path is
// matched the same whichever of them it names.
func isHubSpotAPIHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch h {
	case "forms.hubspot.com", "forms.hsforms.com":
		return true
	}
	for _, domain := range []string{".hubapi.com", ".hubspot.com", ".hsforms.com"} {
		label, ok := strings.CutSuffix(h, domain)
		if !ok {
			continue
		}
		if label == "api" || label == "track" && domain == ".hubspot.com" {
			return true
		}
		if hublet, ok := strings.CutPrefix(label, "api-"); ok {
			return isHublet(hublet)
		}
		hublet, ok := strings.CutPrefix(label, "track-")
		return ok && domain == ".hubspot.com" && isHublet(hublet)
	}
	return false
}

// isHublet matches HubSpot data-centre names: two letters and a number
// (na1, eu1, ap1).
func isHublet(s string) bool {
	if len(s) < 3 || len(s) > 5 {
		return false
	}
	for i := range len(s) {
		ch := s[i]
		if i < 2 && (ch < 'a' || ch > 'z') || i >= 2 && (ch < '0' || ch > '9') {
			return false
		}
	}
	return true
}

// splitSegments records the non-empty segments of s.path and rejects
// control characters, bad percent-encoding and dot segments.
func splitSegments(s *segments) *PathError {
	p := s.path
	start := -1
	for i := 0; i <= len(p); i++ {
		if i < len(p) {
			ch := p[i]
			if ch < 0x20 || ch == 0x7f || ch == ' ' {
				return &PathError{Path: redactPath(p), Reason: "path contains spaces or control characters"}
			}
			if ch == '%' && (i+2 >= len(p) || unhex(p[i+1]) < 0 || unhex(p[i+2]) < 0) {
				return &PathError{Path: redactPath(p), Reason: "invalid percent-encoding"}
			}
			if ch != '/' {
				if start < 0 {
					start = i
				}
				continue
			}
		}
		if start >= 0 {
			seg := p[start:i]
			if isDotSegment(seg) {
				return &PathError{Path: redactPath(p), Reason: "dot segments (. or ..) are not allowed"}
			}
			if s.n < maxSegments {
				s.idx[s.n] = [2]uint16{uint16(start), uint16(i)} //nolint:gosec // G115: paths are at most maxPathBytes long
			}
			s.n++
			start = -1
		}
	}
	return nil
}

func isDotSegment(seg string) bool {
	if seg[0] != '.' && seg[0] != '%' || len(seg) > 6 {
		return false
	}
	return decodedEqual(seg, ".") || decodedEqual(seg, "..")
}
