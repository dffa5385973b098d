package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"time"

	"github.com/wfagent/gateway/deploy/devstack/internal/stack"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/testkit"
)

// TestStackEndToEnd builds the real binaries and runs the stack the way
// `make run` does, with NATS pointed at a closed port so the embedded
// server must stand in; then checks the public layer through the edge and
// that stopping the runner stops every process.
func TestStackEndToEnd(t *testing.T) {
	bin := t.TempDir()
	cfg := testConfig(t)
	cfg.BinDir = bin
	for _, svc := range stackServices(cfg, bin) {
		out, err := exec.Command("go", "build", "-o", svc.Binary, "../../services/"+svc.Name).CombinedOutput()
		if err != nil {
			t.Fatalf("building %s: %v\n%s", svc.Name, err, out)
		}
	}
	cfg.NATSURL = fmt.Sprintf("nats://127.0.0.1:%d", testkit.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runStack(ctx, slog.New(slog.DiscardHandler), cfg) }()

	edge := fmt.Sprintf("http://127.0.0.1:%d", cfg.EdgePort)
	var (
		resp   *http.Response
		body   []byte
		health struct {
			Status string          `json:"status"`
			Checks map[string]bool `json:"checks"`
		}
	)
	// Health is eventually consistent (clients connect in the background
	// and reports are cached for 2 s): poll until the local servers show
	// up, bounded.
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest("GET", edge+"/api/public/health", nil)
		req.Header.Set("X-Request-ID", "e2e-1")
		var err error
		if resp, err = http.DefaultClient.Do(req); err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err := json.Unmarshal(body, &health); err != nil {
				t.Fatalf("health body %q: %v", body, err)
			}
			if health.Status == "healthy" {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("stack stopped before serving: %v (is PostgreSQL up on 127.0.0.1:5432?)", err)
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("health never turned healthy: %v %s", err, body)
		}
	}
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-ID") != "e2e-1" {
		t.Fatalf("health through edge: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// PostgreSQL and Redis are the local servers; NATS is the embedded one;
	// grpc is the stack's workflow-agent.
	for _, c := range []string{"database", "redis", "nats", "public_api", "grpc", "app_api", "mcp_api"} {
		if !health.Checks[c] {
			t.Errorf("check %s false through the stack: %s", c, body)
		}
	}
	// The app layer through the edge: no token → 401 with a challenge; the
	// token `make token` prints → the user's profile; the DESIGN §6
	// workflow saves.
	resp, err := http.Get(edge + "/api/app/auth/profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("app layer without a token = %d %q, want 401 with a Bearer challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	const user = "6f1c2b9e-3a55-4a8e-9d2a-5b0f1c7e2d11"
	token, err := auth.MintDevToken(cfg.Auth, cfg.Environment, user, "e2e@example.com", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, edge+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := call("GET", "/api/app/auth/profile", ""); code != 200 || !strings.Contains(b, user) {
		t.Errorf("profile with a dev token: %d %s", code, b)
	}
	if code, b := call("POST", "/api/app/workflows", helloPipeline); code != http.StatusCreated || !strings.Contains(b, `"Hello pipeline"`) {
		t.Errorf("saving the DESIGN §6 workflow: %d %s", code, b)
	}
	if code, b := call("GET", "/api/app/workflows", ""); code != 200 || !strings.Contains(b, `"Hello pipeline"`) {
		t.Errorf("listing workflows: %d %s", code, b)
	}

	// The MCP layer through the edge, with a database key owned by the
	// user (app-svc's admin CLI, as `make apikey` uses): REST lists the
	// workflow tools, and the official TypeScript SDK client speaks MCP.
	var appSvc stack.Service
	for _, svc := range stackServices(cfg, bin) {
		if svc.Name == "app-svc" {
			appSvc = svc
		}
	}
	appSvc.Env = with(cfg.secretEnv(), map[string]string{"DATABASE_URL": cfg.DatabaseURL})
	out, err := stack.Output(context.Background(), appSvc, "apikey", "create", "--scopes", "tools:read,tools:execute,health:check", "--owner", user)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	apiKey := lines[len(lines)-1]
	req, _ := http.NewRequest("GET", edge+"/api/mcp/tools", nil)
	req.Header.Set("X-API-Key", apiKey)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	tools, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(tools), "get_node_types") || !strings.Contains(string(tools), "list_workflows") {
		t.Errorf("MCP tools with an owned database key: %d %s", resp.StatusCode, tools)
	}
	node := exec.Command("node", "../../services/mcp-svc/e2e/client.mjs")
	node.Env = append(os.Environ(), "MCP_URL="+edge+"/api/mcp/mcp", "MCP_API_KEY="+apiKey)
	if out, err := node.CombinedOutput(); err != nil {
		t.Errorf("TypeScript MCP client through the edge: %v\n%s\n(run `npm ci --prefix services/mcp-svc/e2e` first)", err, out)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runner: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runner did not stop within 30s")
	}
	for _, port := range []int{cfg.EdgePort, cfg.EdgeAdmin, cfg.PublicPort} {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			c.Close()
			t.Errorf("port %d still served after stop", port)
		}
	}
}

func TestPrepareRefusesMissingPostgres(t *testing.T) {
	cfg := testConfig(t)
	cfg.DatabaseURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", testkit.FreePort(t))
	cfg.StartWait, cfg.StopWait = time.Second, time.Second
	err := runStack(context.Background(), slog.New(slog.DiscardHandler), cfg)
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL is not reachable") || !strings.Contains(err.Error(), "pg_ctlcluster") {
		t.Fatalf("err = %v, want one naming PostgreSQL and how to start it", err)
	}
}

// TestTokenAcceptedByTheStacksVerifier: what `make token` prints verifies
// under the configuration the runner hands the services.
func TestTokenAcceptedByTheStacksVerifier(t *testing.T) {
	var cfg Config
	if err := config.Load(&cfg, config.WithEnviron(nil), config.WithDotEnv(""), config.WithDefaults(devSecrets)); err != nil {
		t.Fatal(err)
	}
	const sub = "6f1c2b9e-3a55-4a8e-9d2a-5b0f1c7e2d11"
	tok, err := auth.MintDevToken(cfg.Auth, cfg.Environment, sub, "a@example.com", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var svc auth.Config
	if err := config.Load(&svc, config.WithEnviron([]string{"SUPABASE_JWT_SECRET=" + cfg.secretEnv()["SUPABASE_JWT_SECRET"]}), config.WithDotEnv("")); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	u, err := v.Verify(context.Background(), tok)
	if err != nil || u.ID.String() != sub || u.Email != "a@example.com" {
		t.Fatalf("verify: %+v %v", u, err)
	}
	if err := (Config{Environment: "production", EdgePort: 1, EdgeAdmin: 2, PublicPort: 3}).Validate(); err == nil {
		t.Fatal("devstack accepted ENVIRONMENT=production")
	}
}

// testConfig is the runner's real configuration (defaults and dev
// secrets, no environment or .env) on free ports.
func testConfig(t *testing.T) Config {
	t.Helper()
	var cfg Config
	if err := config.Load(&cfg, config.WithEnviron(nil), config.WithDotEnv(""), config.WithDefaults(devSecrets)); err != nil {
		t.Fatal(err)
	}
	cfg.EdgePort, cfg.EdgeAdmin, cfg.PublicPort = testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
	cfg.AgentPort, cfg.AgentAdmin, cfg.AppPort, cfg.EnginePort = testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
	cfg.MCPPort = testkit.FreePort(t)
	cfg.StartWait, cfg.StopWait = 60*time.Second, 20*time.Second
	cfg.DatabaseURL = testkit.NewDatabase(t)
	return cfg
}

// helloPipeline is DESIGN §6's example, verbatim.
const helloPipeline = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`
