package hubspot_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/eshopman/scopeguard/server/hubspot"
)

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const value = "pat-na1-70271006-11d8-4a5d-9169-b12f4327e5b0"
	s := hubspot.Secret(value)
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", s)
	encoded, err := json.Marshal(struct{ Token hubspot.Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"%v":   fmt.Sprintf("%v", s),
		"%s":   fmt.Sprintf("%s", s), //nolint:staticcheck // the %s verb itself is under test
		"%+v":  fmt.Sprintf("%+v", struct{ Token hubspot.Secret }{s}),
		"%#v":  fmt.Sprintf("%#v", s),
		"slog": logs.String(),
		"json": string(encoded),
	}
	for name, out := range tests {
		if strings.Contains(out, value) || !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s printed %q, want [REDACTED] and no value", name, out)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want the value", s.Reveal())
	}
	if got := hubspot.Secret("").String(); got != "" {
		t.Errorf("empty secret prints %q, want empty", got)
	}
}

func TestSecretFingerprint(t *testing.T) {
	t.Parallel()
	// SHA-256("abc") starts ba7816bf8f01.
	if got := hubspot.Secret("abc").Fingerprint(); got != "ba7816bf8f01" {
		t.Errorf("Fingerprint() = %q, want ba7816bf8f01", got)
	}
}
