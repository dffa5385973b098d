package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/testkit"
)

// npmCI is what CI must run before the tests (from the repository root).
const npmCI = "npm ci --prefix services/mcp-svc/e2e"

// startService runs mcp-svc in-process, as main does, on a free port.
func startService(t *testing.T, env ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	environ := append([]string{
		"ENVIRONMENT=development", "LOG_LEVEL=WARN", "PORT=8083",
		"RATE_LIMIT_KEY_PREFIX=" + testkit.Unique("mcpe2e:") + ":",
	}, env...)
	go func() { done <- run(ctx, environ, &logs, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(25 * time.Second):
			t.Errorf("mcp-svc did not stop")
		}
		if t.Failed() {
			t.Logf("mcp-svc log:\n%s", logs.String())
		}
	})
	base := "http://" + ln.Addr().String()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(base + "/healthz"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case err := <-done:
			t.Fatalf("mcp-svc exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mcp-svc not ready\n%s", logs.String())
		}
	}
}

// TestTypeScriptSDKClient runs the official TypeScript SDK client
// (e2e/client.mjs) against a live mcp-svc: it connects with a key, pings,
// lists tools, calls get_node_types, and is refused cleanly with a bad key.
// The owned-key flow (MCP_OWNED_FLOW=1) needs app-svc and the engine and
// runs in the full-stack test.
func TestTypeScriptSDKClient(t *testing.T) {
	node := nodeAndModules(t)
	const key = "e2e-test-key-0123456789abcdefghijklmn"
	base := startService(t, `MCP_API_KEYS={"`+key+`": {"client_name": "e2e", "scopes": ["tools:read", "tools:execute"]}}`)

	for _, header := range []string{"x-api-key", "bearer"} {
		t.Run(header, func(t *testing.T) {
			stdout := runClient(t, node, "MCP_URL="+base+"/api/mcp/mcp", "MCP_API_KEY="+key, "MCP_KEY_HEADER="+header, "MCP_OWNED_FLOW=")
			var got struct {
				Server struct {
					Name string `json:"name"`
				} `json:"server"`
				Tools        []string `json:"tools"`
				FlowSubtypes []string `json:"flow_subtypes"`
				BadKey       struct {
					Status    int    `json:"status"`
					Error     string `json:"error"`
					ErrorType string `json:"error_type"`
					Success   *bool  `json:"success"`
				} `json:"bad_key"`
			}
			if err := json.Unmarshal(stdout, &got); err != nil {
				t.Fatalf("summary: %v: %s", err, stdout)
			}
			if got.Server.Name != "wfagent-mcp" {
				t.Errorf("server = %q", got.Server.Name)
			}
			if want := []string{"get_node_details", "get_node_types", "search_nodes"}; !slices.Equal(got.Tools, want) {
				t.Errorf("tools = %v, want %v (a key without owner)", got.Tools, want)
			}
			if !slices.Contains(got.FlowSubtypes, "WAIT") {
				t.Errorf("get_node_types FLOW_NODE subtypes = %v", got.FlowSubtypes)
			}
			if b := got.BadKey; b.Status != http.StatusUnauthorized || b.Error != "invalid_api_key" || b.ErrorType != "AUTHENTICATION_ERROR" || b.Success == nil || *b.Success {
				t.Errorf("bad key refusal = %+v", b)
			}
		})
	}
}

// nodeAndModules finds node and the SDK, failing with what to run.
func nodeAndModules(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join("e2e", "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		t.Fatalf("e2e/node_modules is missing (%v): run `%s` from the repository root first", err, npmCI)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node (>= 18) is required to run the TypeScript SDK client: %v", err)
	}
	return node
}

// runClient runs e2e/client.mjs with env and returns its summary line.
func runClient(t *testing.T, node string, env ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = "e2e"
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	return stdout.Bytes()
}

// TestTypeScriptSDKClientOwnedFlow runs client.mjs's owned-key flow (create,
// execute and read back the DESIGN §6 example) against a stand-in of the
// App API's contract, so the script is known to work before the full-stack
// test points it at app-svc and the engine.
func TestTypeScriptSDKClientOwnedFlow(t *testing.T) {
	node := nodeAndModules(t)
	var polls atomic.Int32
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey") || r.Header.Get("X-Request-ID") == "" {
				http.Error(w, `{"error":"invalid_token","message":"no internal token","request_id":"r"}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			h(w, r)
		}
	}
	const wfID, exID = "0b6f3c7e-6a53-4f43-9d67-5f6f0e0b2a11", "7d0e4c36-52b5-4ef4-a3a8-5e6d4b0fd001"
	mux.HandleFunc("POST /api/app/workflows", auth(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"` + wfID + `","name":"Hello pipeline","version":1}`))
	}))
	mux.HandleFunc("POST /api/app/workflows/{id}/execute", auth(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"execution_id":"` + exID + `","status":"new"}`))
	}))
	mux.HandleFunc("GET /api/app/executions/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		if polls.Add(1) < 3 {
			_, _ = w.Write([]byte(`{"id":"` + exID + `","status":"running"}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"` + exID + `","status":"success","node_results":{"n3":{"status":"success","output":{"greeting":"hello"}}}}`))
	}))
	app := httptest.NewServer(mux)
	defer app.Close()

	const key = "e2e-owned-key-0123456789abcdefghijkl"
	base := startService(t, "APP_SVC_URL="+app.URL, "JWT_SECRET_KEY=e2e-internal-secret-0123456789abcdefgh",
		`MCP_API_KEYS={"`+key+`": {"client_name": "e2e-owned", "scopes": ["tools:read", "tools:execute"], "owner_id": "00000000-0000-4000-8000-000000000001"}}`)
	out := runClient(t, node, "MCP_URL="+base+"/api/mcp/mcp", "MCP_API_KEY="+key, "MCP_OWNED_FLOW=1")
	var got struct {
		Tools     []string `json:"tools"`
		OwnedFlow struct {
			WorkflowID  string `json:"workflow_id"`
			ExecutionID string `json:"execution_id"`
			Status      string `json:"status"`
		} `json:"owned_flow"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("summary: %v: %s", err, out)
	}
	if len(got.Tools) != 9 || got.OwnedFlow.WorkflowID != wfID || got.OwnedFlow.ExecutionID != exID || got.OwnedFlow.Status != "success" {
		t.Fatalf("summary = %s", out)
	}
	if polls.Load() < 3 {
		t.Fatalf("the client did not poll get_execution until the run finished (%d polls)", polls.Load())
	}
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		name, env, want string
	}{
		{"app-svc URL", "APP_SVC_URL=ftp://app", "APP_SVC_URL"},
		{"keys JSON", "MCP_API_KEYS={not json", "MCP_API_KEYS"},
		{"production without internal secret", "ENVIRONMENT=production", "JWT_SECRET_KEY is required"},
		{"production without keys required", "ENVIRONMENT=production\x00MCP_API_KEY_REQUIRED=false", "MCP_API_KEY_REQUIRED=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), strings.Split(tt.env, "\x00"), &bytes.Buffer{}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %s", err, tt.want)
			}
			if errors.Is(err, context.Canceled) {
				t.Fatal("run started serving")
			}
		})
	}
}

// TestDatabaseKeysComposeWithEnvKeys runs mcp-svc with DATABASE_URL on a
// fresh database that lacks app-svc's schema: env keys keep working
// (they are asked first), and a key the env does not know is a retryable
// 503 auth_failed, never a misleading 401. Database keys proper are tested
// with app-svc's migrations in app-svc (pgkeys) and in the full-stack test.
func TestDatabaseKeysComposeWithEnvKeys(t *testing.T) {
	const key = "db-test-key-0123456789abcdefghijklmno"
	base := startService(t,
		"DATABASE_URL="+testkit.NewDatabase(t),
		`MCP_API_KEYS={"`+key+`": {"client_name": "env", "scopes": ["tools:read", "health:check"]}}`)
	get := func(path, k string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("X-API-Key", k)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, m
	}
	if status, m := get("/api/mcp/tools", key); status != http.StatusOK {
		t.Fatalf("env key with the database store: %d %v", status, m)
	}
	status, m := get("/api/mcp/tools", "wfa_unknownKeyThatOnlyTheDatabaseCouldKnow0000000")
	if status != http.StatusServiceUnavailable || m["error"] != "auth_failed" || m["retryable"] != true {
		t.Fatalf("unknown key with a database lacking api_key_by_hash: %d %v", status, m)
	}
	status, m = get("/api/mcp/health", key)
	if checks, _ := m["checks"].(map[string]any); status != http.StatusOK || checks["database"] != true {
		t.Fatalf("health: %d %v", status, m)
	}
}
