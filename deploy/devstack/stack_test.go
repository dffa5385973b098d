package main

import (
	"bufio"
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
	code, b := call("POST", "/api/app/workflows", helloPipeline)
	if code != http.StatusCreated || !strings.Contains(b, `"Hello pipeline"`) {
		t.Fatalf("saving the DESIGN §6 workflow: %d %s", code, b)
	}
	var wf struct{ ID string }
	_ = json.Unmarshal([]byte(b), &wf)

	// Execute it; its events arrive in order over SSE through the edge and
	// Greet's output carries the greeting.
	code, b = call("POST", "/api/app/workflows/"+wf.ID+"/execute", `{"inputs":{}}`)
	var ex struct {
		ExecutionID string `json:"execution_id"`
		Status      string
	}
	if err := json.Unmarshal([]byte(b), &ex); code != http.StatusAccepted || err != nil || ex.Status != "new" {
		t.Fatalf("execute: %d %s", code, b)
	}
	events := sseEvents(t, edge+"/api/app/executions/"+ex.ExecutionID+"/events", token, "")
	var types []string
	for _, e := range events {
		types = append(types, e["type"].(string))
	}
	if len(types) < 2 || types[0] != "execution_started" || types[len(types)-1] != "execution_succeeded" {
		t.Errorf("execution events through the edge: %v", types)
	}
	// The record is written by the event consumer, a moment after the
	// stream carried the events: poll it, bounded.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, b := call("GET", "/api/app/executions/"+ex.ExecutionID, "")
		var rec struct{ Status string }
		_ = json.Unmarshal([]byte(b), &rec)
		if code == 200 && rec.Status == "success" {
			if !strings.Contains(b, `"greeting":"hello"`) {
				t.Errorf("execution record lacks Greet's output: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("execution record not success within 10s: %d %s", code, b)
			break
		}
	}

	// A chat turn through the edge: the agent's responses arrive as SSE
	// events, the last one final, and the history keeps the user's words.
	code, b = call("POST", "/api/app/sessions", `{"action":"create"}`)
	var sess struct{ ID string }
	if err := json.Unmarshal([]byte(b), &sess); code != http.StatusCreated || err != nil {
		t.Fatalf("create session: %d %s", code, b)
	}
	turn := sseEvents(t, edge+"/api/app/chat/stream", token, fmt.Sprintf(`{"session_id":%q,"message":"when a webhook arrives, wait 2 seconds and then send an HTTP request to https://example.com/hook"}`, sess.ID))
	if len(turn) < 2 || turn[len(turn)-1]["is_final"] != true {
		t.Errorf("chat turn through the edge: %v", turn)
	}
	if code, b := call("GET", "/api/app/chat/"+sess.ID+"/messages", ""); code != 200 || !strings.Contains(b, "webhook arrives") {
		t.Errorf("chat history: %d %s", code, b)
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
	node.Env = append(os.Environ(), "MCP_URL="+edge+"/api/mcp/mcp", "MCP_API_KEY="+apiKey, "MCP_OWNED_FLOW=1")
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

// sseEvents reads an event stream (GET, or POST with body) until it ends,
// returning each data payload decoded; bounded by the client timeout.
func sseEvents(t *testing.T, url, token, body string) []map[string]any {
	t.Helper()
	method := "GET"
	if body != "" {
		method = "POST"
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	var out []map[string]any
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var m map[string]any
			if err := json.Unmarshal([]byte(d), &m); err != nil {
				t.Fatalf("event %q: %v", d, err)
			}
			out = append(out, m)
		}
	}
	return out
}
