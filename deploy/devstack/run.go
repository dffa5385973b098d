package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wfagent/gateway/deploy/devstack/internal/deps"
	"github.com/wfagent/gateway/deploy/devstack/internal/stack"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/logx"
)

func run(ctx context.Context, args []string) error {
	var cfg Config
	if err := config.Load(&cfg, config.WithDefaults(devSecrets)); err != nil {
		return err
	}
	log, err := logx.New(os.Stderr, "simple", "INFO")
	if err != nil {
		return err
	}
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "run":
		return runStack(ctx, log, cfg)
	case "bench":
		return runBench(ctx, log, cfg, args[1:])
	case "token":
		return printToken(cfg, args[1:])
	default:
		return fmt.Errorf("unknown command %q (want: run, token, bench)", cmd)
	}
}

// runStack is the table of contents of `make run`.
func runStack(ctx context.Context, log *slog.Logger, cfg Config) error {
	env, cleanup, err := deps.Prepare(ctx, log, deps.URLs{Database: cfg.DatabaseURL, Redis: cfg.RedisURL, NATS: cfg.NATSURL})
	if err != nil {
		return err
	}
	defer cleanup()

	bin, err := filepath.Abs(cfg.BinDir)
	if err != nil {
		return err
	}
	services := stackServices(cfg, bin)
	for k, v := range cfg.secretEnv() {
		env[k] = v
	}
	for i := range services {
		for k, v := range env {
			if _, set := services[i].Env[k]; !set {
				services[i].Env[k] = v
			}
		}
	}
	st := stack.New(log, services, cfg.StopWait)
	if err := st.Start(ctx, cfg.StartWait); err != nil {
		st.Stop()
		if ctx.Err() != nil {
			return nil // Ctrl-C while starting is a normal stop
		}
		return err
	}
	token, err := auth.MintDevToken(cfg.Auth, cfg.Environment, DevUserID, DevUserEmail, 24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Printf("\nready: edge on http://127.0.0.1:%d — try: curl http://127.0.0.1:%d/api/public/health\n", cfg.EdgePort, cfg.EdgePort)
	fmt.Printf("dev token (user %s, 24h): %s\n", DevUserID, token)
	if key, err := devAPIKey(ctx, services); err != nil {
		log.Warn("no dev API key", "error", err)
	} else {
		fmt.Printf("dev API key (owner %s, tools:read,tools:execute,health:check): %s\n", DevUserID, key)
	}
	fmt.Println()
	err = st.Wait(ctx)
	st.Stop()
	return err
}

// devAPIKey creates an MCP API key owned by the dev user with app-svc's
// admin CLI, so the printed key works for the workflow tools too.
func devAPIKey(ctx context.Context, services []stack.Service) (string, error) {
	for _, svc := range services {
		if svc.Name != "app-svc" {
			continue
		}
		out, err := stack.Output(ctx, svc, "apikey", "create", "--scopes", "tools:read,tools:execute,health:check",
			"--owner", DevUserID, "--name", "make-run")
		if err != nil {
			return "", err
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[len(lines)-1], nil
	}
	return "", fmt.Errorf("no app-svc in the stack")
}
