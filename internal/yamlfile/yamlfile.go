// Package yamlfile decodes scopeguard's configuration files (the apps file,
// the callers file) strictly, with errors safe to log: unknown keys are
// refused, and parser messages, which quote keys and values, are reduced to
// line numbers and the kind of problem, so a secret written in the wrong
// place never reaches a log.
package yamlfile

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrEmpty is returned for a document with nothing in it.
var ErrEmpty = errors.New("empty file")

// Decode decodes one YAML (or JSON) document into v, refusing unknown keys.
// shape describes what the file's mappings hold; it is named in wrong-type
// errors ("wrong type (" + shape + ")").
func Decode(data []byte, v any, shape string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return ErrEmpty
		}
		return errors.New(describe(err, shape))
	}
	return nil
}

func describe(err error, shape string) string {
	messages := []string{err.Error()}
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		messages = typeErr.Errors
	}
	problems := make([]string, 0, len(messages))
	for _, msg := range messages {
		kind := "syntax error"
		switch {
		case strings.Contains(msg, "not found in type"):
			kind = "unknown key"
		case strings.Contains(msg, "already defined"):
			kind = "duplicate key"
		case strings.Contains(msg, "cannot unmarshal"):
			kind = "wrong type (" + shape + ")"
		}
		if line := yamlLine.FindString(msg); line != "" {
			kind = line + ": " + kind
		}
		problems = append(problems, kind)
	}
	return "invalid YAML: " + strings.Join(problems, "; ")
}

var yamlLine = regexp.MustCompile(`line \d+`)
