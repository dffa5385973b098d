// Command app-svc serves the gateway's App layer (/api/app): profile,
// sessions, chat history, workflows and user-issued API keys, each request
// under the caller's PostgreSQL row level security. It owns the database
// schema.
//
//	app-svc [serve]                 the API on HOST:PORT (8082)
//	app-svc migrate                 apply pending migrations, print them, exit
//	app-svc apikey create --scopes tools:read,tools:execute [--owner <uuid>] [--name …] [--tier standard] [--expires 720h]
//	                                issue an MCP API key; its last line of output is the key
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/services/app-svc/internal/config"
)

const service = "app-svc"

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		stop()
		os.Exit(1)
	}
}

// run dispatches the subcommand. stdout carries results (the migrations
// applied, the new key) and the service log; stderr the commands' logs.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	cfg, err := config.Load(pkgconfig.WithEnviron(environ))
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, stdout)
	case "migrate":
		return migrate(ctx, cfg, stdout, stderr)
	case "apikey":
		return apikey(ctx, cfg, args, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q (want serve, migrate or apikey)", cmd)
}
