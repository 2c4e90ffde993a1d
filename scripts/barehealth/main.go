// Command barehealth is the floor scripts/bench-grpc.sh measures scopeguard
// against: a grpc-go server of the same grpc-go version (this module's),
// serving only the standard health service (plus reflection, which ghz
// reads once per run to find the method), with no interceptors and no
// options. It listens on a free loopback port, prints
// "serving ADDR UNIX_NANOS" when health reports SERVING, and stops on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

func main() {
	lis, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "barehealth:", err)
		os.Exit(1)
	}
	gs := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(gs, health.NewServer()) // "" is SERVING from the start
	reflection.Register(gs)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		gs.Stop()
	}()
	fmt.Printf("serving %s %d\n", lis.Addr(), time.Now().UnixNano())
	if err := gs.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "barehealth:", err)
		os.Exit(1)
	}
}
