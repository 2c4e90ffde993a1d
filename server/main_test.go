package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// server, client connection, HubSpot call and shared refresh must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
