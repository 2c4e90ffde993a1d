// Command scopeguard serves the ScopeGuardService over gRPC (`scopeguard
// serve`, the default) and answers the same questions offline from the
// embedded catalog (`check`, `plan`, `explain`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scopeguard:", err)
	}
	os.Exit(code)
}
