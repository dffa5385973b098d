package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKeys covers how a key is sent and each refusal, on a REST route and
// on the MCP endpoint alike.
func TestKeys(t *testing.T) {
	s := newServer(t, options{})
	tests := []struct {
		name    string
		headers []string
		query   string
		status  int
		code    string
	}{
		{"X-API-Key", []string{"X-API-Key", keyOf("all")}, "", 200, ""},
		{"Authorization Bearer", []string{"Authorization", "Bearer " + keyOf("all")}, "", 200, ""},
		{"no key", nil, "", 401, "missing_api_key"},
		{"unknown key", []string{"X-API-Key", keyOf("nobody")}, "", 401, "invalid_api_key"},
		{"absurdly long key", []string{"X-API-Key", strings.Repeat("k", 1000)}, "", 401, "invalid_api_key"},
		{"disabled key", []string{"X-API-Key", keyOf("disabled")}, "", 401, "client_disabled"},
		{"expired key", []string{"X-API-Key", keyOf("expired")}, "", 401, "key_expired"},
		{"query key is off unless allowed", nil, "?api_key=" + keyOf("all"), 401, "missing_api_key"},
	}
	for _, tt := range tests {
		for _, route := range []struct{ method, path, body string }{
			{http.MethodGet, "/api/mcp/tools", ""},
			{http.MethodPost, MCPPath, `{"jsonrpc":"2.0","id":1,"method":"ping"}`},
		} {
			t.Run(tt.name+" "+route.path, func(t *testing.T) {
				h := append([]string{"Accept", "application/json, text/event-stream"}, tt.headers...)
				r := s.do(route.method, route.path+tt.query, route.body, h...)
				if tt.code == "" {
					if r.status != tt.status {
						t.Fatalf("status %d: %s", r.status, r.body)
					}
					return
				}
				wantMCPError(t, r, tt.status, tt.code)
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer realm="wfagent-mcp"`) {
					t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
				}
				if route.method == http.MethodGet {
					checkDoc(t, route.method, route.path, r)
				}
			})
		}
	}
}

// TestScopes checks every route and MCP method against a key without its
// scope (403 insufficient_scope naming it) and with it.
func TestScopes(t *testing.T) {
	s := newServer(t, options{})
	type call struct{ method, path, body string }
	rpc := func(m, params string) call {
		return call{http.MethodPost, MCPPath, `{"jsonrpc":"2.0","id":1,"method":"` + m + `","params":` + params + `}`}
	}
	tests := []struct {
		name    string
		call    call
		doc     string // OpenAPI path, "" for the MCP endpoint
		scope   string
		lacking string // a key without the scope
		having  string // a key with only that scope (or the least)
	}{
		{"list tools", call{http.MethodGet, "/api/mcp/tools", ""}, "/api/mcp/tools", "tools:read", "exec", "read"},
		{"get tool", call{http.MethodGet, "/api/mcp/tools/search_nodes", ""}, "/api/mcp/tools/{tool_name}", "tools:read", "exec", "read"},
		{"invoke", call{http.MethodPost, "/api/mcp/invoke", `{"name":"get_node_types"}`}, "/api/mcp/invoke", "tools:execute", "read", "exec"},
		{"health", call{http.MethodGet, "/api/mcp/health", ""}, "/api/mcp/health", "health:check", "read", "health"},
		{"MCP tools/list", rpc("tools/list", `{}`), "", "tools:read", "exec", "read"},
		{"MCP tools/call", rpc("tools/call", `{"name":"get_node_types","arguments":{}}`), "", "tools:execute", "read", "exec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			accept := []string{"Accept", "application/json, text/event-stream", "MCP-Protocol-Version", "2025-06-18"}
			r := s.do(tt.call.method, tt.call.path, tt.call.body, append(accept, "X-API-Key", keyOf(tt.lacking))...)
			m := wantMCPError(t, r, http.StatusForbidden, "insufficient_scope")
			if !strings.Contains(m["message"].(string), tt.scope) || m["error_type"] != "AUTHORIZATION_ERROR" {
				t.Fatalf("message %q / type %v do not name the scope", m["message"], m["error_type"])
			}
			if want := `error="insufficient_scope", scope="` + tt.scope + `"`; !strings.Contains(r.header.Get("WWW-Authenticate"), want) {
				t.Fatalf("WWW-Authenticate = %q, want %s", r.header.Get("WWW-Authenticate"), want)
			}
			if tt.doc != "" {
				checkDoc(t, tt.call.method, tt.doc, r)
			}
			ok := s.do(tt.call.method, tt.call.path, tt.call.body, append(accept, "X-API-Key", keyOf(tt.having))...)
			if ok.status != http.StatusOK {
				t.Fatalf("with the scope: status %d: %s", ok.status, ok.body)
			}
		})
	}
	// initialize and ping need a valid key, no scope.
	for _, m := range []string{"initialize", "ping"} {
		params := `{}`
		if m == "initialize" {
			params = `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`
		}
		if r := s.rpc(m, params, "X-API-Key", keyOf("health")); r.status != http.StatusOK {
			t.Fatalf("%s with a health-only key: %d %s", m, r.status, r.body)
		}
	}
}

func TestSignatures(t *testing.T) {
	const body = `{"name":"get_node_types"}`
	now := time.Now()
	tests := []struct {
		name     string
		required bool
		headers  func() []string
		repeat   bool // send the same signed request twice
		status   int
		code     string
	}{
		{"valid", false, func() []string { return sign("POST", "/api/mcp/invoke", body, now) }, false, 200, ""},
		{"replayed", false, func() []string { return sign("POST", "/api/mcp/invoke", body, now) }, true, 401, "signature_replayed"},
		{"other body", false, func() []string { return sign("POST", "/api/mcp/invoke", `{"name":"search_nodes"}`, now) }, false, 401, "invalid_signature"},
		{"other path", false, func() []string { return sign("POST", "/api/mcp/invoke?x=1", body, now) }, false, 401, "invalid_signature"},
		{"stale timestamp", false, func() []string { return sign("POST", "/api/mcp/invoke", body, now.Add(-time.Hour)) }, false, 401, "signature_expired"},
		{"unsigned, optional", false, func() []string { return nil }, false, 200, ""},
		{"unsigned, required", true, func() []string { return nil }, false, 401, "missing_signature"},
		{"signed, required", true, func() []string { return sign("POST", "/api/mcp/invoke", body, now) }, false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, options{sigRequired: tt.required})
			h := append(tt.headers(), "X-API-Key", keyOf("exec"))
			r := s.do(http.MethodPost, "/api/mcp/invoke", body, h...)
			if tt.repeat {
				if r.status != http.StatusOK {
					t.Fatalf("first: %d %s", r.status, r.body)
				}
				r = s.do(http.MethodPost, "/api/mcp/invoke", body, h...)
			}
			if tt.code == "" {
				if r.status != tt.status {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			wantMCPError(t, r, tt.status, tt.code)
			checkDoc(t, "POST", "/api/mcp/invoke", r)
		})
	}
	// The MCP endpoint checks signatures too.
	s := newServer(t, options{sigRequired: true})
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	h := append(sign("POST", MCPPath, ping, now), "X-API-Key", keyOf("all"), "Accept", "application/json, text/event-stream")
	if r := s.do(http.MethodPost, MCPPath, ping, h...); r.status != http.StatusOK {
		t.Fatalf("signed MCP ping: %d %s", r.status, r.body)
	}
	wantMCPError(t, s.do(http.MethodPost, MCPPath, ping, h...), 401, "signature_replayed")
}

// TestTierScaledLimits: the same policy gives a basic key (×0.5) half and
// a premium key (×2) twice the standard limit, counted in Redis; REST and
// MCP share each policy's bucket.
func TestTierScaledLimits(t *testing.T) {
	s := newServer(t, options{limits: "mcp.tools=4/minute,mcp.invoke=3/minute"})
	tests := []struct {
		key  string
		want int
	}{
		{"basic", 2},
		{"premium", 8},
		{"read", 4}, // standard
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			for i := 1; i <= tt.want; i++ {
				r := s.do(http.MethodGet, "/api/mcp/tools", "", "X-API-Key", keyOf(tt.key))
				if r.status != http.StatusOK {
					t.Fatalf("request %d of %d: %d %s", i, tt.want, r.status, r.body)
				}
				if want := fmt.Sprintf(`"tools";q=%d;w=60`, tt.want); !strings.Contains(r.header.Get("RateLimit-Policy"), want) {
					t.Fatalf("RateLimit-Policy = %q, want %s", r.header.Get("RateLimit-Policy"), want)
				}
			}
			r := s.do(http.MethodGet, "/api/mcp/tools", "", "X-API-Key", keyOf(tt.key))
			wantMCPError(t, r, http.StatusTooManyRequests, "rate_limit_exceeded")
			checkDoc(t, "GET", "/api/mcp/tools", r)
			if tt.key == "read" {
				return
			}
			// tools/list counts against the same bucket.
			wantMCPError(t, s.rpc("tools/list", `{}`, "X-API-Key", keyOf(tt.key)), http.StatusTooManyRequests, "rate_limit_exceeded")
		})
	}
	t.Run("invoke and tools/call share a bucket", func(t *testing.T) {
		key := keyOf("all")
		for i := 0; i < 2; i++ {
			if r := s.do(http.MethodPost, "/api/mcp/invoke", `{"name":"get_node_types"}`, "X-API-Key", key); r.status != 200 {
				t.Fatalf("invoke %d: %d %s", i, r.status, r.body)
			}
		}
		if r := s.rpc("tools/call", `{"name":"get_node_types","arguments":{}}`, "X-API-Key", key); r.status != 200 {
			t.Fatalf("tools/call: %d %s", r.status, r.body)
		}
		wantMCPError(t, s.rpc("tools/call", `{"name":"get_node_types","arguments":{}}`, "X-API-Key", key), http.StatusTooManyRequests, "rate_limit_exceeded")
		wantMCPError(t, s.do(http.MethodPost, "/api/mcp/invoke", `{"name":"get_node_types"}`, "X-API-Key", key), http.StatusTooManyRequests, "rate_limit_exceeded")
		// Other methods only count against the global policy.
		if r := s.rpc("ping", `{}`, "X-API-Key", key); r.status != 200 {
			t.Fatalf("ping after the invoke limit: %d %s", r.status, r.body)
		}
	})
	t.Run("a refused scope costs no quota", func(t *testing.T) {
		key := keyOf("exec") // no tools:read
		for i := 0; i < 6; i++ {
			wantMCPError(t, s.do(http.MethodGet, "/api/mcp/tools", "", "X-API-Key", key), http.StatusForbidden, "insufficient_scope")
		}
	})
}
