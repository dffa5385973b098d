// Command devstack runs the whole gateway on one machine for development:
// it finds (or stands in for) PostgreSQL, Redis and NATS, starts every
// service binary as its own process, prints a ready line, and stops them all
// on Ctrl-C or SIGTERM. `make run` builds the binaries and calls it.
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
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}
