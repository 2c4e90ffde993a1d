package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Summary describes the embedded catalog: how much it holds and which data
// it is, so a binary can say what it was built with.
type Summary struct {
	// Operations are the catalogued endpoints; LegacyOperations of them
	// come from the curated overlay of APIs missing from HubSpot's spec
	// collection (API "Legacy/<family>").
	Operations, LegacyOperations int
	// Scopes and Objects count the scope names and CRM object types known.
	Scopes, Objects int
	// Bytes is the size of the embedded catalog file.
	Bytes int
	// Digest is the first 12 hex digits of the file's SHA-256: it changes
	// whenever the data does.
	Digest string
}

// Describe summarises the embedded catalog (the one Default returns).
func Describe() Summary {
	c := Default()
	sum := sha256.Sum256([]byte(embedded))
	s := Summary{
		Operations: len(c.ops),
		Scopes:     len(c.scopes),
		Objects:    len(c.objects),
		Bytes:      len(embedded),
		Digest:     hex.EncodeToString(sum[:6]),
	}
	for _, op := range c.ops {
		if strings.HasPrefix(op.API, "Legacy/") {
			s.LegacyOperations++
		}
	}
	return s
}
