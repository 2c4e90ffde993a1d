package explain

import (
	"encoding/json"
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON bodies are checked once with json.Valid and then walked by hand:
// every key this package reads is picked out of the valid document without
// reflection or a second validation pass, and a value of an unexpected type
// is read as text (or ignored) without failing the rest of the body.

// rawBody holds the keys of every JSON shape this package understands. Keys
// match case-insensitively, as encoding/json would.
type rawBody struct {
	Status           flexText
	StatusCode       flexText
	Message          flexText
	CorrelationID    flexText
	RequestID        flexText
	Category         flexText
	SubCategory      flexText
	Context          contextMap
	Errors           []rawDetail
	HasErrors        bool
	ValidationResult []rawDetail
	HasValidation    bool
	Links            map[string]string
	ErrorType        flexText
	PolicyName       flexText
	GroupName        flexText
	Error            string
	ErrorDescription flexText
	IdentityVid      flexText
	Results          bool
	NumErrors        flexText
	Body             string
	Data             string
	Response         string
	RespBody         string
	Headers          map[string]string
}

// rawDetail is one errors[] (or legacy validationResults[]) entry; batch
// entries are full error objects with their own errors[].
type rawDetail struct {
	Message     flexText
	Code        flexText
	In          flexText
	SubCategory flexText
	Category    flexText
	Context     contextMap
	Errors      []rawDetail
	Error       flexText
	Name        flexText
}

// decodeBody reads a valid JSON object.
func decodeBody(b string) rawBody {
	var r rawBody
	for f := range jsonFields(b) {
		v := f.val
		switch lowerKey(f.key) {
		case "status":
			r.Status = readFlex(v)
		case "statuscode":
			r.StatusCode = readFlex(v)
		case "message":
			r.Message = readFlex(v)
		case "correlationid":
			r.CorrelationID = readFlex(v)
		case "requestid":
			r.RequestID = readFlex(v)
		case "category":
			r.Category = readFlex(v)
		case "subcategory":
			r.SubCategory = readFlex(v)
		case "context":
			r.Context = contextMap{m: parseContext(v), set: true}
		case "errors":
			r.Errors, r.HasErrors = decodeDetails(v, 0), v[0] == '['
		case "validationresults":
			r.ValidationResult, r.HasValidation = decodeDetails(v, 0), v[0] == '['
		case "links":
			r.Links = decodeStringMap(v, 20)
		case "errortype":
			r.ErrorType = readFlex(v)
		case "policyname":
			r.PolicyName = readFlex(v)
		case "groupname":
			r.GroupName = readFlex(v)
		case "error":
			r.Error = v
		case "error_description":
			r.ErrorDescription = readFlex(v)
		case "identityprofile":
			if v[0] == '{' {
				for g := range jsonFields(v) {
					if strings.EqualFold(g.key, "vid") {
						r.IdentityVid = readFlex(g.val)
					}
				}
			}
		case "results":
			r.Results = true
		case "numerrors":
			r.NumErrors = readFlex(v)
		case "body":
			r.Body = v
		case "data":
			r.Data = v
		case "response":
			r.Response = v
		case "responsebody":
			r.RespBody = v
		case "headers":
			r.Headers = decodeStringMap(v, 256)
		}
	}
	return r
}

// knownKeys maps the usual spellings of the keys decodeBody reads to their
// lower-case form, so the common case needs no allocation.
var knownKeys = map[string]string{
	"status": "status", "statusCode": "statuscode", "message": "message", "correlationId": "correlationid",
	"requestId": "requestid", "category": "category", "subCategory": "subcategory", "context": "context",
	"errors": "errors", "validationResults": "validationresults", "links": "links", "errorType": "errortype",
	"policyName": "policyname", "groupName": "groupname", "error": "error", "error_description": "error_description",
	"identityProfile": "identityprofile", "results": "results", "numErrors": "numerrors", "body": "body",
	"data": "data", "response": "response", "responseBody": "responsebody", "headers": "headers",
	"code": "code", "in": "in", "name": "name",
}

// lowerKey lower-cases a JSON key (keys match case-insensitively, as with
// encoding/json).
func lowerKey(k string) string {
	if lk, ok := knownKeys[k]; ok {
		return lk
	}
	return strings.ToLower(k)
}

// decodeDetails reads an errors[] array (anything else gives nil).
func decodeDetails(b string, depth int) []rawDetail {
	if b[0] != '[' || depth > 2 {
		return nil
	}
	var out []rawDetail
	for el := range jsonElements(b) {
		if len(out) >= maxDetails {
			break
		}
		var d rawDetail
		switch el[0] {
		case '{':
			for f := range jsonFields(el) {
				v := f.val
				switch lowerKey(f.key) {
				case "message":
					d.Message = readFlex(v)
				case "code":
					d.Code = readFlex(v)
				case "in":
					d.In = readFlex(v)
				case "subcategory":
					d.SubCategory = readFlex(v)
				case "category":
					d.Category = readFlex(v)
				case "context":
					d.Context = contextMap{m: parseContext(v), set: true}
				case "errors":
					d.Errors = decodeDetails(v, depth+1)
				case "error":
					d.Error = readFlex(v)
				case "name":
					d.Name = readFlex(v)
				}
			}
		case '"':
			d.Message = readFlex(el)
		default:
			continue
		}
		out = append(out, d)
	}
	return out
}

// decodeStringMap reads an object of scalars as strings (first n keys).
func decodeStringMap(b string, n int) map[string]string {
	if b[0] != '{' {
		return nil
	}
	var out map[string]string
	for f := range jsonFields(b) {
		if out == nil {
			out = make(map[string]string, 8)
		}
		if len(out) >= n {
			break
		}
		if s := flexString(f.val); s != "" && f.val[0] != '{' && f.val[0] != '[' {
			out[clip(f.key, 256)] = clip(s, 1024)
		}
	}
	return out
}

// hubSpotish reports whether the object carries any key HubSpot's own error
// shapes use.
func (r *rawBody) hubSpotish() bool {
	return r.Category.set || r.CorrelationID.set || r.ErrorType.set || r.PolicyName.set ||
		r.HasErrors || r.HasValidation || r.ErrorDescription.set ||
		firstByte(r.Error) == '"' || r.Context.set || r.Results
}

// envelopeInner returns the wrapped response of a client-library envelope
// ({"body": {...}}, axios' {"data": {...}}, ...), or nil.
func (r *rawBody) envelopeInner() string {
	for _, c := range []string{r.Body, r.Data, r.RespBody, r.Response, r.Error} {
		switch firstByte(c) {
		case '{':
			return c
		case '"':
			if looksLikeJSONText(jsonString(c)) {
				return c
			}
		}
	}
	return ""
}

// parseJSON reads s as JSON. It reports false when s is not JSON at all, so
// the caller can try the text readers. JSON followed by other text (a log
// line, a stack trace) is read up to the end of the first value.
func (p *Parsed) parseJSON(s string, h headerMap, depth int) bool {
	if p.parseJSONValue(s, h, depth) {
		return true
	}
	if first := firstJSONValue(s); first != "" && len(first) < len(s) {
		return p.parseJSONValue(first, h, depth)
	}
	return false
}

// parseJSONValue reads one JSON value; it reports false (having changed
// nothing) when raw is not valid JSON of a shape it reads.
func (p *Parsed) parseJSONValue(raw string, h headerMap, depth int) bool {
	switch firstByte(raw) {
	case '"':
		var inner string
		if json.Unmarshal([]byte(raw), &inner) != nil {
			return false
		}
		p.setEnvelope("json-string")
		p.parseBody(inner, h, depth+1)
		return true
	case '[':
		raw = strings.TrimSpace(raw)
		if !json.Valid([]byte(raw)) {
			return false
		}
		for it := range jsonElements(raw) {
			if it[0] == '{' {
				return p.parseJSONValue(it, h, depth+1)
			}
		}
		return false
	case '{':
	default:
		return false
	}
	raw = strings.TrimSpace(raw)
	if !json.Valid([]byte(raw)) {
		return false
	}
	r := decodeBody(raw)
	if !r.hubSpotish() && depth < maxUnwrapDepth {
		if inner := r.envelopeInner(); inner != "" {
			p.setEnvelope("json-envelope")
			p.setStatusIfUnknown(r.StatusCode.int())
			p.setStatusIfUnknown(r.Status.int())
			if firstByte(r.Response) == '{' {
				resp := decodeBody(r.Response)
				p.setStatusIfUnknown(resp.Status.int())
				p.setStatusIfUnknown(resp.StatusCode.int())
			}
			mergeHeaderMap(h, r.Headers)
			if firstByte(inner) == '"' {
				p.parseBody(jsonString(inner), h, depth+1)
				return true
			}
			if p.parseJSONValue(inner, h, depth+1) {
				return true
			}
		}
	}
	p.Shape = ShapeJSON
	p.fillFrom(&r, h)
	return true
}

// fillFrom copies a decoded HubSpot-style object into p.
func (p *Parsed) fillFrom(r *rawBody, h headerMap) {
	mergeHeaderMap(h, r.Headers)
	if r.Status.kind == '"' {
		p.Status = clip(r.Status.s, 128)
	} else {
		p.setStatusIfUnknown(r.Status.int())
	}
	p.setStatusIfUnknown(r.StatusCode.int())
	p.Message = cleanMessage(r.Message.s)
	p.CorrelationID = clip(r.CorrelationID.str(), 128)
	p.RequestID = clip(r.RequestID.str(), 128)
	p.Category = clip(r.Category.str(), 128)
	p.SubCategory = clip(r.SubCategory.str(), 128)
	p.ErrorType = clip(r.ErrorType.str(), 128)
	p.RateLimit.Policy = strings.ToUpper(clip(r.PolicyName.str(), 64))
	p.RateLimit.GroupName = clip(r.GroupName.str(), 256)
	switch firstByte(r.Error) {
	case '"':
		p.OAuthError = clip(jsonString(r.Error), 128)
	case '{':
		// {"error": {"message": ...}} as some gateways send.
		if p.Message == "" {
			p.Message = cleanMessage(decodeBody(r.Error).Message.s)
		}
	}
	p.OAuthErrorDescription = cleanMessage(r.ErrorDescription.str())
	p.Context = r.Context.m
	p.Links = r.Links
	switch p.Status {
	case "COMPLETE", "PENDING", "PROCESSING", "CANCELED":
		p.Batch = len(r.Errors) > 0 || r.NumErrors.set
	default:
		p.Batch = r.Results && (len(r.Errors) > 0 || r.NumErrors.set)
	}
	p.NumErrors = r.NumErrors.int()
	p.addDetails(r.Errors, 0)
	// Legacy v1 contacts API: {"validationResults": [{"error": ..., "name": ...}]}.
	p.addDetails(r.ValidationResult, 0)
	if vid := r.IdentityVid.s; vid != "" {
		p.ExistingID = clip(vid, 32)
	}
}

// addDetails flattens errors[] (and batch entries' own errors[]) into
// p.Details.
func (p *Parsed) addDetails(items []rawDetail, depth int) {
	if depth > 2 {
		return
	}
	for i := range items {
		if len(p.Details) >= maxDetails {
			return
		}
		e := &items[i]
		d := Detail{
			Message:     cleanMessage(e.Message.s),
			Code:        clip(e.Code.str(), 128),
			In:          clip(e.In.str(), 256),
			SubCategory: clip(e.SubCategory.str(), 128),
			Category:    clip(e.Category.str(), 128),
			Context:     e.Context.m,
		}
		if d.Code == "" {
			// Legacy v1 validation entries: {"error": "PROPERTY_DOESNT_EXIST", "name": "x"}.
			d.Code = clip(e.Error.str(), 128)
		}
		if name := e.Name.str(); name != "" {
			if d.Context == nil {
				d.Context = map[string][]string{}
			}
			d.Context["name"] = []string{clip(name, 256)}
		}
		if d.Message != "" || d.Code != "" || d.Category != "" || d.In != "" || len(d.Context) > 0 {
			p.Details = append(p.Details, d)
		}
		p.addDetails(e.Errors, depth+1)
	}
}

// flexText is any JSON value read as text: strings decoded, numbers and
// booleans as written, objects and arrays as their JSON text, null as "".
type flexText struct {
	s    string
	kind byte // first byte of the value: '"', '{', '[', digit, 't', 'f', 'n'
	set  bool
}

// readFlex reads one valid JSON value as a flexText.
func readFlex(b string) flexText {
	f := flexText{set: true}
	if len(b) == 0 {
		return f
	}
	f.kind = b[0]
	switch b[0] {
	case 'n':
	case '"':
		f.s = unquoteJSON(b)
	default:
		f.s = b
	}
	return f
}

// str is the value when it is a JSON string, else "".
func (f flexText) str() string {
	if f.kind != '"' {
		return ""
	}
	return f.s
}

// int reads a number (or a numeric string); 0 otherwise.
func (f flexText) int() int {
	if f.s == "" || len(f.s) > 12 {
		return 0
	}
	n, err := strconv.Atoi(f.s)
	if err != nil {
		return 0
	}
	return n
}

// contextMap is a context value. HubSpot documents map<string,
// list<string>>, but real and documented bodies also send a single string,
// a JSON object inside a string, or Java's Map.toString form
// "{missingScopes=[a, b]}".
type contextMap struct {
	m   map[string][]string
	set bool
}

// parseContext reads a valid JSON context value (no surrounding space).
func parseContext(raw string) map[string][]string {
	switch firstByte(raw) {
	case '{':
		var out map[string][]string
		for f := range jsonFields(strings.TrimSpace(raw)) {
			if out == nil {
				out = make(map[string][]string, 2)
			}
			if len(out) >= maxContextValues {
				break
			}
			out[clip(f.key, 128)] = contextValues(f.val)
		}
		return out
	case '"':
		s := strings.TrimSpace(unquoteJSON(strings.TrimSpace(raw)))
		if strings.HasPrefix(s, "{") {
			if json.Valid([]byte(s)) {
				return parseContext(s)
			}
			return parseJavaMap(s)
		}
		if s != "" {
			return map[string][]string{"": {clip(s, maxMessageLen)}}
		}
	}
	return nil
}

// contextValues reads one valid context value as a list of strings.
func contextValues(b string) []string {
	if len(b) == 0 || b[0] == 'n' {
		return nil
	}
	if b[0] != '[' {
		return []string{clip(flexString(b), 1024)}
	}
	out := make([]string, 0, 16)
	for el := range jsonElements(b) {
		if len(out) >= maxContextValues {
			break
		}
		out = append(out, clip(flexString(el), 1024))
	}
	return out
}

// jsonField is one key and its value text in a JSON object.
type jsonField struct {
	key string
	val string
}

// jsonFields yields the fields of a valid JSON object (no surrounding
// space), in document order.
func jsonFields(b string) iter.Seq[jsonField] {
	return func(yield func(jsonField) bool) {
		i := skipSpace(b, 1)
		for i < len(b) && b[i] == '"' {
			end := skipValue(b, i)
			key := unquoteJSON(b[i:end])
			i = skipSpace(b, end)
			i = skipSpace(b, i+1) // ':'
			end = skipValue(b, i)
			if !yield(jsonField{key: key, val: b[i:end]}) {
				return
			}
			i = skipSpace(b, end)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
	}
}

// jsonElements yields the element texts of a valid JSON array (no
// surrounding space).
func jsonElements(b string) iter.Seq[string] {
	return func(yield func(string) bool) {
		i := skipSpace(b, 1)
		for i < len(b) && b[i] != ']' {
			end := skipValue(b, i)
			if !yield(b[i:end]) {
				return
			}
			i = skipSpace(b, end)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
	}
}

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b string, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the valid JSON value starting at i.
func skipValue(b string, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// flexString renders one valid JSON value as text (see flexText).
func flexString(b string) string {
	if len(b) == 0 || b[0] == 'n' {
		return ""
	}
	if b[0] == '"' {
		return unquoteJSON(b)
	}
	return b
}

// unquoteJSON decodes a valid JSON string literal, without a second
// validation pass when it holds no escapes.
func unquoteJSON(b string) string {
	if len(b) >= 2 {
		inner := b[1 : len(b)-1]
		if strings.IndexByte(inner, '\\') < 0 && utf8.ValidString(inner) {
			return inner
		}
	}
	var s string
	_ = json.Unmarshal([]byte(b), &s)
	return s
}

// parseJavaMap reads "{k=[a, b], k2=v}" (Java's Map.toString).
func parseJavaMap(s string) map[string][]string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	out := map[string][]string{}
	for s != "" && len(out) < maxContextValues {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key := strings.TrimSpace(s[:eq])
		rest := strings.TrimSpace(s[eq+1:])
		var val string
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				end = len(rest)
			}
			val = rest[1:end]
			s = rest[min(end+1, len(rest)):]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val = rest[:end]
			s = rest[end:]
		}
		s = strings.TrimLeft(s, ", ")
		var vals []string
		for v := range strings.SplitSeq(val, ",") {
			if v = strings.TrimSpace(v); v != "" && len(vals) < maxContextValues {
				vals = append(vals, clip(v, 1024))
			}
		}
		out[clip(key, 128)] = vals
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// firstJSONValue decodes the first JSON value at the start of s (after
// spaces), ignoring whatever follows it. It returns nil when there is none.
func firstJSONValue(s string) string {
	dec := json.NewDecoder(strings.NewReader(s))
	var raw json.RawMessage
	if dec.Decode(&raw) != nil {
		return ""
	}
	return string(raw)
}

// mergeHeaderMap adds headers found inside a wrapper (a logged response)
// to h, never overriding headers the caller gave.
func mergeHeaderMap(h headerMap, m map[string]string) {
	for k, v := range m {
		lk, wanted := wantedHeader(k)
		if !wanted || v == "" {
			continue
		}
		if _, given := h[lk]; !given {
			h[lk] = v
		}
	}
}

// mergeHeadersJSON reads a JSON object of headers (as the Node SDK prints
// them) into h.
func mergeHeadersJSON(h headerMap, raw string) {
	raw = strings.TrimSpace(raw)
	if firstByte(raw) != '{' || !json.Valid([]byte(raw)) {
		return
	}
	mergeHeaderMap(h, decodeStringMap(raw, 256))
}

func firstByte(raw string) byte {
	b := strings.TrimLeft(raw, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// jsonString decodes a JSON string; anything else gives "".
func jsonString(raw string) string {
	raw = strings.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	return unquoteJSON(raw)
}

// looksLikeJSONText reports whether s is JSON object or string text.
func looksLikeJSONText(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && (s[0] == '{' || s[0] == '"')
}
