package tokens

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

func randomCacheKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, CacheKeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseCacheKey(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xa7}, CacheKeySize)
	for _, tt := range []struct {
		name, in, wantErr string
	}{
		{name: "padded base64", in: base64.StdEncoding.EncodeToString(key)},
		{name: "unpadded base64 with a newline", in: base64.RawStdEncoding.EncodeToString(key) + "\n"},
		{name: "not base64", in: "this is not base64!", wantErr: "not base64"},
		{name: "too short", in: base64.StdEncoding.EncodeToString(key[:16]), wantErr: "16 bytes, want 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCacheKey(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCacheKey error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Errorf("error %q quotes the key", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("ParseCacheKey = %x, %v; want %x", got, err, key)
			}
		})
	}
}

func TestSealOpensOnlyWithItsKeyAndName(t *testing.T) {
	t.Parallel()
	current, err := newSealKey(randomCacheKey(t))
	if err != nil {
		t.Fatal(err)
	}
	other, err := newSealKey(randomCacheKey(t))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`{"a":"access-token-value"}`)
	sealed := current.seal("name-1", plain)
	if bytes.Contains(sealed, plain) || bytes.Contains(sealed, []byte("access-token-value")) {
		t.Fatal("sealed value holds the plaintext")
	}
	if again := current.seal("name-1", plain); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are identical: the nonce is not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for _, tt := range []struct {
		name   string
		keys   []*sealKey
		key    string
		sealed []byte
		opens  bool
	}{
		{name: "its key", keys: []*sealKey{current}, key: "name-1", sealed: sealed, opens: true},
		{name: "rotation: the key as previous", keys: []*sealKey{other, current}, key: "name-1", sealed: sealed, opens: true},
		{name: "another key", keys: []*sealKey{other}, key: "name-1", sealed: sealed},
		{name: "moved under another name", keys: []*sealKey{current}, key: "name-2", sealed: sealed},
		{name: "tampered", keys: []*sealKey{current}, key: "name-1", sealed: tampered},
		{name: "truncated", keys: []*sealKey{current}, key: "name-1", sealed: sealed[:7]},
		{name: "empty", keys: []*sealKey{current}, key: "name-1", sealed: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := openSealed(tt.keys, tt.key, tt.sealed)
			if tt.opens {
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("open = %q, %v; want the plaintext", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("open succeeded with %q", got)
			}
		})
	}
}

func TestSealKeysDeriveDistinctNames(t *testing.T) {
	t.Parallel()
	secret := randomCacheKey(t)
	a, _ := newSealKey(secret)
	b, _ := newSealKey(secret)
	c, _ := newSealKey(randomCacheKey(t))
	if a.names.key("x") != b.names.key("x") || a.id != b.id {
		t.Error("one cache key gave two replicas different names or key ids")
	}
	if a.names.key("x") == c.names.key("x") || a.id == c.id {
		t.Error("two cache keys gave the same names or key ids")
	}
	if _, err := newSealKey(secret[:31]); err == nil {
		t.Error("a 31-byte cache key was accepted")
	}
}
