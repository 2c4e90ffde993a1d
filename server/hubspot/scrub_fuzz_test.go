package hubspot

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzScrub checks that no secret survives scrubbing, whatever surrounds it,
// and that decoding an untrusted error body never panics. An occurrence that
// runs into a "[REDACTED]" marker is made of the marker, not a survivor (a
// secret starting "D]x" reappears in "[REDACTED]x"), so the markers are
// blanked out before looking.
func FuzzScrub(f *testing.F) {
	f.Add("token %s is invalid", "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2")
	f.Add(`{"message":"bad %s","correlationId":"x"}`, "na1-8649-43d7-456c-a15c-305ec7f11101")
	f.Add("%s%s", "a b/c?d")
	f.Fuzz(func(t *testing.T, template, secret string) {
		if len(secret) < 4 || !strings.Contains(template, "%s") || strings.Contains(redacted, secret) {
			return
		}
		text := strings.ReplaceAll(template, "%s", secret+" "+url.QueryEscape(secret)+" "+url.PathEscape(secret))
		got := scrub(text, Secret(secret))
		if survives(got, secret) {
			t.Fatalf("scrub(%q) = %q still holds the secret", text, got)
		}
		rej := decodeRejection(&response{status: 400, body: []byte(text)}, []Secret{Secret(secret)})
		for _, field := range []string{rej.Status, rej.Code, rej.Category, rej.Message, rej.CorrelationID} {
			if survives(field, secret) {
				t.Fatalf("decoded rejection field %q holds the secret", field)
			}
		}
		_ = expireTime([]byte(text))
	})
}

// survives reports whether secret is in scrubbed text outside the markers
// that replaced it: each marker becomes a byte the secret lacks.
func survives(text, secret string) bool {
	for b := range 256 {
		if blank := string([]byte{byte(b)}); !strings.Contains(secret, blank) {
			return strings.Contains(strings.ReplaceAll(text, redacted, blank), secret)
		}
	}
	return strings.Contains(text, secret) // the secret holds every byte
}
