package tokens

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/internal/logbuf"
)

func TestFlightTurnsAPanicIntoAnError(t *testing.T) {
	t.Parallel()
	var logs logbuf.Buffer
	g := flight[int]{log: slog.New(slog.NewJSONHandler(&logs, nil))}
	_, _, err := g.do(context.Background(), "k", time.Second, func(context.Context) (int, error) { panic("bug in a shared call") })
	if !errors.Is(err, errUpstreamPanicked) {
		t.Fatalf("error = %v, want errUpstreamPanicked", err)
	}
	if out := logs.String(); !strings.Contains(out, "recovered from a panic in a shared HubSpot call") ||
		!strings.Contains(out, "bug in a shared call") || !strings.Contains(out, "flight_test.go") {
		t.Errorf("the panic, its value and its stack are not logged:\n%s", out)
	}
	if n := g.waiting("k"); n != 0 {
		t.Errorf("waiting = %d after the call ended, want 0", n)
	}
}

func TestFlightBoundsTheCallWithItsOwnTimeout(t *testing.T) {
	t.Parallel()
	var g flight[int]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, err := g.do(ctx, "k", 10*time.Millisecond, func(fctx context.Context) (int, error) {
		<-fctx.Done()
		return 0, fctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the flight's own deadline", err)
	}
}

func TestKeyerSeparatesParts(t *testing.T) {
	t.Parallel()
	k := newKeyer()
	if k.key("ab", "c") == k.key("a", "bc") {
		t.Error(`key("ab","c") == key("a","bc"): parts are not separated`)
	}
	if first, again := k.key("a", "b"), k.key("a", "b"); first != again {
		t.Error("key is not deterministic")
	}
	if newKeyer().key("a", "b") == k.key("a", "b") {
		t.Error("two keyers agree: the per-process key is not random")
	}
}

// waiting is how many callers wait on key's call; 0 when none is in flight.
func (g *flight[V]) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c.waiters
	}
	return 0
}
