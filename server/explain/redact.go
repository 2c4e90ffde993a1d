package explain

import (
	"regexp"
	"strings"
)

// redacted replaces anything that looks like a credential.
const redacted = "[redacted]"

var (
	// "This hapikey (xxxx) does not have ...", "This oauth-token (xxxx) ...":
	// HubSpot puts the credential (or details of it) in the parentheses.
	reCredentialInParens = regexp.MustCompile(`(?i)(\bthis (?:hapikey|api key|oauth-token|oauth token|access token|token|private app token))\s*\([^)]{1,512}\)`)
	// Private-app tokens: pat-na1-<uuid>.
	rePrivateAppToken = regexp.MustCompile(`(?i)\bpat-[a-z]{2,4}[0-9]?-[0-9a-f-]{8,}`)
	// "Bearer <token>".
	reBearer = regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{6,}`)
	// Secrets in query strings and form bodies.
	reSecretParam = regexp.MustCompile(`(?i)\b(hapikey|access_token|refresh_token|client_secret|code|token|tokenKey)=([^&\s"'\x60]+)`)
)

// redact removes credentials from text that is echoed back: every string in
// secrets (the caller's own token, when it gave one), anything HubSpot put in
// "This hapikey (...)" parentheses, private-app tokens, bearer tokens, secret
// query parameters and long opaque token-like runs.
func redact(s string, secrets []string) string {
	if s == "" {
		return s
	}
	for _, sec := range secrets {
		if len(sec) >= 8 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	if strings.Contains(s, "(") && containsFold(s, "this ") {
		s = reCredentialInParens.ReplaceAllString(s, "$1 ("+redacted+")")
	}
	if strings.Contains(s, "pat-") || strings.Contains(s, "PAT-") {
		s = rePrivateAppToken.ReplaceAllString(s, redacted)
	}
	if strings.Contains(s, "earer") || strings.Contains(s, "EARER") {
		s = reBearer.ReplaceAllString(s, "Bearer "+redacted)
	}
	if hasSecretParam(s) {
		s = reSecretParam.ReplaceAllString(s, "$1="+redacted)
	}
	return redactOpaqueRuns(s)
}

// secretParams are the parameter names whose values are credentials.
var secretParams = []string{"hapikey", "access_token", "refresh_token", "client_secret", "code", "token", "tokenKey"}

// hasSecretParam reports whether s has "name=" for a secret parameter, so
// the regular expression runs only where it can match.
func hasSecretParam(s string) bool {
	for i := strings.IndexByte(s, '='); i >= 0; {
		j := i
		for j > 0 && (isTokenChar(s[j-1]) && s[j-1] != '-') {
			j--
		}
		for _, name := range secretParams {
			if i-j >= len(name) && strings.EqualFold(s[i-len(name):i], name) {
				return true
			}
		}
		next := strings.IndexByte(s[i+1:], '=')
		if next < 0 {
			break
		}
		i += next + 1
	}
	return false
}

// minOpaqueRun is the length from which a run of token characters with both
// letters and digits is treated as a credential. HubSpot access and refresh
// tokens are far longer; UUIDs, scope names and URLs never form such a run.
const minOpaqueRun = 40

// redactOpaqueRuns replaces runs of at least minOpaqueRun characters from
// [A-Za-z0-9_-] that mix letters and digits.
func redactOpaqueRuns(s string) string {
	var b strings.Builder
	last := 0
	i := 0
	for i < len(s) {
		if !isTokenChar(s[i]) {
			i++
			continue
		}
		start := i
		letters, digits := false, false
		for i < len(s) && isTokenChar(s[i]) {
			c := s[i]
			switch {
			case c >= '0' && c <= '9':
				digits = true
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
				letters = true
			}
			i++
		}
		if i-start >= minOpaqueRun && letters && digits {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:start])
			b.WriteString(redacted)
			last = i
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
