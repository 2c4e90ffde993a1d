package hubspot

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces a secret wherever one would otherwise be printed.
const redacted = "[REDACTED]"

// Secret is a credential value: an access token, a refresh token or a client
// secret. Every way of printing it (fmt verbs, slog, JSON, text marshalling)
// yields "[REDACTED]", so a Secret that ends up in a log line or an error
// message by mistake does not leak. Reveal returns the value for the one place
// that must send it.
type Secret string

// Reveal returns the secret's value. Call it only to send the value to
// HubSpot or back to the caller who owns it.
func (s Secret) Reveal() string { return string(s) }

// String redacts the value; an empty secret prints as "".
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the value for %#v.
func (s Secret) GoString() string { return `hubspot.Secret("` + s.String() + `")` }

// LogValue redacts the value in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the value in JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Fingerprint is the first 12 hex digits of the value's SHA-256: enough to
// correlate log lines and cache entries, useless for recovering the value.
func (s Secret) Fingerprint() string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// AppCredentials are an OAuth app's client id and secret, and the redirect URI
// its install flow uses (sent with token requests when set).
type AppCredentials struct {
	// ClientID is the app's public client id.
	ClientID string
	// ClientSecret is the app's client secret.
	ClientSecret Secret
	// RedirectURI is the app's registered redirect URI; empty when unknown.
	RedirectURI string
}

// Complete reports whether both the client id and the secret are set.
func (a AppCredentials) Complete() bool { return a.ClientID != "" && a.ClientSecret != "" }

// LogValue logs the client id and redirect URI, and only whether a secret is
// set.
func (a AppCredentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", a.ClientID),
		slog.String("redirect_uri", a.RedirectURI),
		slog.Bool("client_secret_set", a.ClientSecret != ""),
	)
}

// credentialCandidate finds words long enough to be a token.
var credentialCandidate = regexp.MustCompile(`[A-Za-z0-9_-]{20,}`)

// scrub removes from s every non-empty secret of the call, raw or
// URL-encoded, and every other word shaped like a token (OAuth access token,
// private-app token, personal access key, refresh token). It guards strings
// that come from outside (HubSpot's messages, transport errors) before they go
// into an error or a log line.
func scrub(s string, secrets ...Secret) string {
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		raw := string(secret)
		for _, form := range []string{raw, url.PathEscape(raw), url.QueryEscape(raw)} {
			s = strings.ReplaceAll(s, form, redacted)
		}
	}
	return credentialCandidate.ReplaceAllStringFunc(s, func(word string) string {
		switch ClassifyCredential(word).Kind {
		case CredentialOAuthAccessToken, CredentialPrivateAppToken, CredentialPersonalAccessKey, CredentialRefreshToken:
			return redacted
		default:
			return word
		}
	})
}
