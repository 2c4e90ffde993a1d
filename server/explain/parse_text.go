package explain

import (
	"strings"
)

// setText records a body that is plain text.
func (p *Parsed) setText(s string) {
	p.Shape = ShapeText
	p.scanText = redact(clip(s, maxTextScan), nil)
	p.Message = cleanMessage(firstLines(s, 4))
	p.setStatusIfUnknown(statusInText(s))
	p.setStatusIfUnknown(statusFromReason(s))
	p.Transport = p.Transport || isTransportText(s)
}

// firstLines returns the first n non-empty lines of s joined by spaces.
func firstLines(s string, n int) string {
	s = clip(s, maxTextScan)
	var b strings.Builder
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(line)
		if n--; n == 0 {
			break
		}
	}
	return b.String()
}

// parseHTML records an HTML page: its title (or first heading) and the
// status it names.
func (p *Parsed) parseHTML(s string) {
	p.Shape = ShapeHTML
	head := clip(s, maxTextScan)
	title := ""
	if m := reTitle.FindStringSubmatch(head); m != nil {
		title = m[1]
	} else if m := reH1.FindStringSubmatch(head); m != nil {
		title = m[1]
	}
	title = strings.Join(strings.Fields(reTag.ReplaceAllString(title, " ")), " ")
	if title == "" {
		title = strings.Join(strings.Fields(reTag.ReplaceAllString(clip(head, 2048), " ")), " ")
	}
	p.Message = cleanMessage(title)
	p.setStatusIfUnknown(statusInText(title))
	p.setStatusIfUnknown(statusFromReason(title))
	p.Transport = p.Transport || isTransportText(title)
}

// parseSDKText reads the text forms HubSpot's own client libraries give their
// exceptions. It reports whether s was one of them.
func (p *Parsed) parseSDKText(s string, h headerMap, depth int) bool {
	// Node (@hubspot/api-client): "HTTP-Code: 403\nMessage: ...\nBody: {...}\nHeaders: {...}".
	if i := strings.Index(s, "HTTP-Code:"); i >= 0 {
		p.setEnvelope("node-sdk")
		rest := s[i+len("HTTP-Code:"):]
		p.setStatusIfUnknown(leadingInt(strings.TrimSpace(rest)))
		if j := strings.Index(rest, "\nHeaders:"); j >= 0 {
			mergeHeadersJSON(h, firstJSONValue(rest[j+len("\nHeaders:"):]))
			rest = rest[:j]
		}
		msg := ""
		if j := strings.Index(rest, "Message:"); j >= 0 {
			msg = strings.TrimSpace(firstLine(rest[j+len("Message:"):]))
		}
		if j := strings.Index(rest, "Body:"); j >= 0 {
			p.parseBody(rest[j+len("Body:"):], h, depth+1)
		}
		if p.Message == "" {
			p.Message = cleanMessage(msg)
		}
		if p.Shape == ShapeEmpty {
			p.Shape = ShapeText
		}
		return true
	}
	// Python (hubspot-api-client): "(401)\nReason: Unauthorized\nHTTP response headers: ...\nHTTP response body: {...}".
	if i := strings.Index(s, "HTTP response body:"); i >= 0 {
		p.setEnvelope("python-sdk")
		if m := rePythonStatus.FindStringSubmatch(clip(s, 4096)); m != nil {
			p.setStatusIfUnknown(atoi(m[1]))
		}
		p.parseBody(s[i+len("HTTP response body:"):], h, depth+1)
		if p.Shape == ShapeEmpty {
			p.setText(s[:i])
		}
		return true
	}
	// Ruby (hubspot-api-ruby): "Error message: ...\nHTTP status code: 401\nResponse headers: {...}\nResponse body: {...}".
	if i := strings.Index(s, "Response body:"); i >= 0 && strings.Contains(s[:i], "HTTP status code:") {
		p.setEnvelope("ruby-sdk")
		if m := reRubyStatus.FindStringSubmatch(s[:i]); m != nil {
			p.setStatusIfUnknown(atoi(m[1]))
		}
		p.parseBody(s[i+len("Response body:"):], h, depth+1)
		if p.Shape == ShapeEmpty {
			p.setText(s[:i])
		}
		return true
	}
	// request-promise's StatusCodeError: `429 - "{\"status\":...}"` or `401 - {...}`.
	if m := reStatusPrefix.FindStringSubmatchIndex(s); m != nil {
		rest := strings.TrimSpace(s[m[1]:])
		if rest != "" && (rest[0] == '{' || rest[0] == '"') {
			p.setEnvelope("status-prefix")
			p.setStatusIfUnknown(atoi(s[m[2]:m[3]]))
			p.parseBody(rest, h, depth+1)
			return true
		}
	}
	return false
}

// parseEmbedded finds a JSON object inside free text (a log line, an
// exception message) and reads it. It reports whether one was found.
func (p *Parsed) parseEmbedded(s string, h headerMap, depth int) bool {
	scan := s
	offset := 0
	for try := 0; try < maxEmbeddedTries; try++ {
		i := strings.IndexByte(scan, '{')
		if i < 0 {
			return false
		}
		cand := scan[i:]
		raw := firstJSONValue(cand)
		if firstByte(raw) == '{' {
			r := decodeBody(strings.TrimSpace(raw))
			if r.hubSpotish() || r.Message.set || r.envelopeInner() != "" {
				p.setEnvelope("embedded")
				p.setStatusIfUnknown(statusInText(s[:offset+i]))
				p.Transport = p.Transport || isTransportText(s[:offset+i])
				return p.parseJSONValue(raw, h, depth+1)
			}
		}
		offset += i + 1
		scan = scan[i+1:]
	}
	return false
}
