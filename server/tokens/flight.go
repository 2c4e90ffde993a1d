package tokens

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// errUpstreamPanicked replaces a panic inside a shared upstream call, which
// would otherwise kill the process from a goroutine no recovery reaches.
var errUpstreamPanicked = errors.New("tokens: internal error in a shared HubSpot call")

// flight runs at most one call per key at a time and hands its result to
// every caller waiting for that key. Unlike x/sync/singleflight, the call
// runs on a context detached from the callers' cancellation: a caller who
// gives up leaves the others their answer, and the call is cancelled only
// once every caller has left.
type flight[V any] struct {
	// log receives a panic recovered in a call, with its stack; nil
	// discards it.
	log *slog.Logger

	mu    sync.Mutex
	calls map[string]*call[V]
}

type call[V any] struct {
	done    chan struct{}
	val     V
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do returns fn's result for key, starting fn unless a call for key is in
// flight. fn's context keeps ctx's values, ends after timeout, and is
// cancelled when every waiting caller has left. shared is true when the
// caller joined a call another caller started.
func (g *flight[V]) do(ctx context.Context, key string, timeout time.Duration, fn func(context.Context) (V, error)) (val V, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*call[V]{}
	}
	c, shared := g.calls[key]
	if shared {
		c.waiters++
	} else {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		c = &call[V]{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.calls[key] = c
		go g.run(fctx, key, c, fn)
	}
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.val, shared, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		return val, shared, ctx.Err()
	}
}

func (g *flight[V]) run(ctx context.Context, key string, c *call[V], fn func(context.Context) (V, error)) {
	defer func() {
		if p := recover(); p != nil {
			c.err = errUpstreamPanicked
			if g.log != nil {
				g.log.LogAttrs(ctx, slog.LevelError, "recovered from a panic in a shared HubSpot call",
					slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			}
		}
		c.cancel()
		g.mu.Lock()
		if g.calls[key] == c {
			delete(g.calls, key)
		}
		g.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn(ctx)
}

// keyer derives cache and flight keys from credentials with HMAC-SHA256
// under a secret key (per-process random in memory, derived from the cache
// key with Redis), so a key reveals nothing about the token, not even a
// fingerprint that could be matched elsewhere.
type keyer struct {
	secret []byte
}

func newKeyer() keyer {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails on supported platforms
	return keyer{secret: secret}
}

// key hashes the parts, each length-prefixed so no two tuples collide.
func (k keyer) key(parts ...string) string {
	mac := hmac.New(sha256.New, k.secret)
	for _, p := range parts {
		var n [8]byte
		for i, l := 0, len(p); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		mac.Write(n[:])
		mac.Write([]byte(p))
	}
	return hex.EncodeToString(mac.Sum(nil))
}
