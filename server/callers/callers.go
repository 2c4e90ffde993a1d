// Package callers reads the callers file (--callers-file): who may call
// scopeguard, with which keys or client certificates, and which configured
// apps each may use. It authenticates a presented key in constant time and
// never keeps a key itself, only its SHA-256 digest. It does no I/O beyond
// reading the file and knows nothing of gRPC.
package callers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/eshopman/scopeguard/internal/yamlfile"
)

// A callers file is YAML (or JSON):
//
//	callers:
//	  checkout:
//	    key_env: CHECKOUT_SCOPEGUARD_KEY     # the environment variable holding the key
//	    apps: [shop]
//	  reports:
//	    keys:                                # several keys: rotate without downtime
//	      - key_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	      - key_env: REPORTS_SCOPEGUARD_KEY_NEXT
//	    cert_names: [spiffe://eshopman.internal/ns/prod/sa/reports]
//	    apps: [shop, legacy]
//	    hubspot_rate: 2                      # this caller's HubSpot requests per second
//	    hubspot_burst: 5
//
// A caller has at least one credential: keys (key_env or key_sha256, at the
// caller's level for one key or under keys for several) or cert_names
// (client certificate SAN DNS names or URIs, SPIFFE ids included, matched
// exactly; they need mTLS). Keys from key_env are at least MinKeyLength
// printable ASCII characters without spaces; key_sha256 is the hex SHA-256
// of a key, so the file holds no secret at all. apps lists the app names
// (from the apps file) the caller may use; none means it may use none.
// hubspot_rate (requests per second, 0 for no limit) and hubspot_burst
// override the server's per-caller HubSpot budget. Unknown keys are errors.

// MinKeyLength is the shortest key accepted from key_env: 32 characters,
// e.g. `openssl rand -hex 32` (64).
const MinKeyLength = 32

// Reserved is a caller id the file may not use: logs and metrics label calls
// that name no caller with it.
const Reserved = "anonymous"

// Caller is one entry of the callers file.
type Caller struct {
	// ID is the caller's key in the file; it labels the caller's calls in
	// logs and metrics.
	ID string
	// Apps are the app names the caller may use, sorted.
	Apps []string
	// CertNames are the client certificate names (SAN DNS names or URIs)
	// that identify the caller, sorted.
	CertNames []string
	// HubSpotRate overrides the server's per-caller HubSpot request rate
	// (per second; 0 means no limit); nil keeps the server's.
	HubSpotRate *float64
	// HubSpotBurst overrides the server's per-caller HubSpot burst; nil
	// keeps the server's.
	HubSpotBurst *int

	keys int
}

// MayUse reports whether the caller may use the app called name.
func (c *Caller) MayUse(name string) bool {
	_, found := slices.BinarySearch(c.Apps, name)
	return found
}

// LogValue logs the caller without any key material.
func (c *Caller) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", c.ID),
		slog.Int("keys", c.keys),
		slog.Any("cert_names", c.CertNames),
		slog.Any("apps", c.Apps),
	)
}

// Set is a loaded callers file. It is immutable and safe for concurrent use.
type Set struct {
	callers   map[string]*Caller
	keys      []keyDigest
	certNames map[string]*Caller
}

type keyDigest struct {
	digest [sha256.Size]byte
	caller *Caller
}

type file struct {
	Callers map[string]entry `yaml:"callers"`
}

type entry struct {
	keySource    `yaml:",inline"`
	Keys         []keySource `yaml:"keys"`
	CertNames    []string    `yaml:"cert_names"`
	Apps         []string    `yaml:"apps"`
	HubSpotRate  *float64    `yaml:"hubspot_rate"`
	HubSpotBurst *int        `yaml:"hubspot_burst"`
}

type keySource struct {
	KeyEnv    string `yaml:"key_env"`
	KeySHA256 string `yaml:"key_sha256"`
}

var callerID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Load reads and validates the callers file at path; lookupEnv resolves
// key_env (os.LookupEnv in production) and knownApp says whether an app name
// is configured.
func Load(path string, lookupEnv func(string) (string, bool), knownApp func(string) bool) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("callers file: %w", err)
	}
	set, err := Parse(data, lookupEnv, knownApp)
	if err != nil {
		return nil, fmt.Errorf("callers file %s: %w", path, err)
	}
	return set, nil
}

// Parse validates a callers file's contents. Errors name callers, fields,
// environment variables and line numbers, never a key.
func Parse(data []byte, lookupEnv func(string) (string, bool), knownApp func(string) bool) (*Set, error) {
	var f file
	if err := yamlfile.Decode(data, &f, "callers maps ids to mappings"); err != nil {
		if errors.Is(err, yamlfile.ErrEmpty) {
			return nil, errors.New("no callers defined")
		}
		return nil, err
	}
	if len(f.Callers) == 0 {
		return nil, errors.New("no callers defined")
	}
	set := &Set{callers: make(map[string]*Caller, len(f.Callers)), certNames: map[string]*Caller{}}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(f.Callers)) {
		if err := set.add(id, f.Callers[id], lookupEnv, knownApp); err != nil {
			errs = append(errs, fmt.Errorf("caller %q: %w", id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return set, nil
}

func (s *Set) add(id string, e entry, lookupEnv func(string) (string, bool), knownApp func(string) bool) error {
	if !callerID.MatchString(id) {
		return errors.New("id must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if id == Reserved {
		return fmt.Errorf("id %q is reserved for calls that name no caller", Reserved)
	}
	c := &Caller{ID: id, HubSpotRate: e.HubSpotRate, HubSpotBurst: e.HubSpotBurst}
	var errs []error
	sources := e.Keys
	if e.keySource != (keySource{}) {
		sources = append([]keySource{e.keySource}, sources...)
	}
	for i, src := range sources {
		digest, err := src.digest(lookupEnv)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", i+1, err))
			continue
		}
		for _, k := range s.keys {
			if k.digest == digest {
				errs = append(errs, fmt.Errorf("key %d is also a key of caller %q", i+1, k.caller.ID))
			}
		}
		s.keys = append(s.keys, keyDigest{digest: digest, caller: c})
		c.keys++
	}
	for _, name := range e.CertNames {
		switch other, taken := s.certNames[name]; {
		case name == "" || len(name) > 1024:
			errs = append(errs, errors.New("cert_names: a name must be 1 to 1024 bytes"))
		case taken && other != c:
			errs = append(errs, fmt.Errorf("cert_names: %q also names caller %q", name, other.ID))
		default:
			s.certNames[name] = c
		}
	}
	c.CertNames = slices.Compact(slices.Sorted(slices.Values(e.CertNames)))
	if c.keys == 0 && len(c.CertNames) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no credential: give key_env, key_sha256, keys or cert_names"))
	}
	for _, app := range e.Apps {
		if !knownApp(app) {
			errs = append(errs, fmt.Errorf("apps: %q is not in the apps file", app))
		}
	}
	c.Apps = slices.Compact(slices.Sorted(slices.Values(e.Apps)))
	if e.HubSpotRate != nil && *e.HubSpotRate < 0 {
		errs = append(errs, errors.New("hubspot_rate: want 0 (no limit) or a positive number of requests per second"))
	}
	if e.HubSpotBurst != nil && *e.HubSpotBurst < 1 {
		errs = append(errs, errors.New("hubspot_burst: want at least 1"))
	}
	s.callers[id] = c
	return errors.Join(errs...)
}

// digest resolves one key source to the key's SHA-256.
func (k keySource) digest(lookupEnv func(string) (string, bool)) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	switch {
	case k.KeyEnv != "" && k.KeySHA256 != "":
		return d, errors.New("give key_env or key_sha256, not both")
	case k.KeyEnv != "":
		value, ok := lookupEnv(k.KeyEnv)
		if !ok {
			return d, fmt.Errorf("environment variable %s (key_env) is not set", k.KeyEnv)
		}
		key := strings.TrimSpace(value)
		if len(key) < MinKeyLength || !printable(key) {
			return d, fmt.Errorf("environment variable %s (key_env) must hold at least %d printable ASCII characters without spaces", k.KeyEnv, MinKeyLength)
		}
		return sha256.Sum256([]byte(key)), nil
	case k.KeySHA256 != "":
		raw, err := hex.DecodeString(strings.TrimSpace(k.KeySHA256))
		if err != nil || len(raw) != sha256.Size {
			return d, errors.New("key_sha256 must be 64 hex digits (sha256sum of the key)")
		}
		copy(d[:], raw)
		return d, nil
	default:
		return d, errors.New("give key_env or key_sha256")
	}
}

// printable reports whether key can travel in a gRPC metadata value after
// "Bearer ": visible ASCII, no spaces.
func printable(key string) bool {
	for i := range len(key) {
		if key[i] < '!' || key[i] > '~' {
			return false
		}
	}
	return true
}

// Authenticate returns the caller whose key is key. Every configured digest
// is compared, in constant time, whatever matches: the time taken says
// nothing about the key or about which caller it belongs to.
func (s *Set) Authenticate(key string) (*Caller, bool) {
	digest := sha256.Sum256([]byte(key))
	var found *Caller
	for i := range s.keys {
		if subtle.ConstantTimeCompare(digest[:], s.keys[i].digest[:]) == 1 {
			found = s.keys[i].caller
		}
	}
	return found, found != nil
}

// ErrConflictingNames means a certificate's names belong to different
// callers.
var ErrConflictingNames = errors.New("the certificate's names belong to different callers")

// ByCertNames returns the caller one of a verified client certificate's
// names (SAN DNS names and URIs) identifies; nil when none does.
func (s *Set) ByCertNames(names []string) (*Caller, error) {
	var found *Caller
	for _, name := range names {
		c, ok := s.certNames[name]
		switch {
		case !ok:
		case found == nil:
			found = c
		case found != c:
			return nil, ErrConflictingNames
		}
	}
	return found, nil
}

// IDs lists the caller ids, sorted.
func (s *Set) IDs() []string {
	return slices.Sorted(maps.Keys(s.callers))
}

// Lookup returns the caller with the given id.
func (s *Set) Lookup(id string) (*Caller, bool) {
	c, ok := s.callers[id]
	return c, ok
}

// LogValue logs every caller without key material.
func (s *Set) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(s.callers))
	for _, id := range s.IDs() {
		attrs = append(attrs, slog.Any(id, s.callers[id]))
	}
	return slog.GroupValue(attrs...)
}
