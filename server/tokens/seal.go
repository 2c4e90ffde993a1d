package tokens

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// CacheKeySize is the length of a cache key in bytes (AES-256).
const CacheKeySize = 32

// ParseCacheKey decodes a cache key: standard base64 (padded or not) of
// CacheKeySize random bytes, as `openssl rand -base64 32` prints. Errors
// never quote the value.
func ParseCacheKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(key) != CacheKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(key), CacheKeySize)
	}
	return key, nil
}

// sealVersion is the first byte of every sealed value: the format below.
const sealVersion byte = 1

// sealKey encrypts values for the shared store and names their keys. From
// one cache key it derives (HKDF-SHA256, one label each) an AES-256-GCM key,
// an HMAC key for key names, and a 4-byte key id written into every value so
// that the previous key still opens values during a rotation.
type sealKey struct {
	id    [4]byte
	aead  cipher.AEAD
	names keyer
}

func newSealKey(secret []byte) (*sealKey, error) {
	if len(secret) != CacheKeySize {
		return nil, fmt.Errorf("tokens: cache key is %d bytes, want %d", len(secret), CacheKeySize)
	}
	derive := func(label string, n int) []byte {
		k, err := hkdf.Key(sha256.New, secret, nil, "scopeguard cache "+label, n)
		if err != nil {
			panic(err) // only for lengths HKDF cannot produce
		}
		return k
	}
	block, err := aes.NewCipher(derive("encryption", 32))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	k := &sealKey{aead: aead, names: keyer{secret: derive("key names", 32)}}
	copy(k.id[:], derive("key id", len(k.id)))
	return k, nil
}

// header is a sealed value's clear prefix: format version and key id.
func (k *sealKey) header() []byte {
	return append([]byte{sealVersion}, k.id[:]...)
}

// seal encrypts plain for the store key name: header, random nonce,
// ciphertext and tag. The header and the name are authenticated, so a value
// moved under another name does not open.
func (k *sealKey) seal(name string, plain []byte) []byte {
	header := k.header()
	// The nil nonce is not a fixed one: NewGCMWithRandomNonce draws a
	// random nonce per call and writes it before the ciphertext.
	return k.aead.Seal(header, nil, plain, additionalData(header, name)) //nolint:gosec // G407: the AEAD makes a random nonce per call (see above)
}

// additionalData is what a sealed value authenticates besides its plaintext,
// in its own buffer (GCM forbids it to overlap the output).
func additionalData(header []byte, name string) []byte {
	return append(append(make([]byte, 0, len(header)+len(name)), header...), name...)
}

var errUnsealable = errors.New("tokens: stored value does not open with any configured cache key")

// openSealed decrypts a value sealed for name by any of keys.
func openSealed(keys []*sealKey, name string, sealed []byte) ([]byte, error) {
	for _, k := range keys {
		header := k.header()
		if !bytes.HasPrefix(sealed, header) {
			continue
		}
		plain, err := k.aead.Open(nil, nil, sealed[len(header):], additionalData(header, name))
		if err != nil {
			return nil, errUnsealable
		}
		return plain, nil
	}
	return nil, errUnsealable
}
