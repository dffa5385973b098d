package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// keyTransport sends the API key on every request, as MCP clients
// configured with a header do.
type keyTransport struct {
	header, value string
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(k.header, k.value)
	return http.DefaultTransport.RoundTrip(r)
}

func connect(t *testing.T, s *testServer, header, value string) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "mcp-svc-test", Version: "1"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             s.URL + MCPPath,
		HTTPClient:           &http.Client{Transport: keyTransport{header, value}},
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}, nil)
}

// toolNamesOf lists the names sorted: the SDK lists tools by name.
func toolNamesOf(res *mcp.ListToolsResult) []string {
	var out []string
	for _, t := range res.Tools {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// TestGoSDKClient drives the endpoint with the official Go SDK client.
func TestGoSDKClient(t *testing.T) {
	s := newServer(t, options{api: standInAPI(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("key without owner", func(t *testing.T) {
		cs, err := connect(t, s, "X-API-Key", keyOf("all"))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer cs.Close()
		// (ping is tested with raw JSON-RPC and with the TypeScript client:
		// the Go SDK v1.8.0 client sends ping without the _meta protocol
		// version its own 2026-07-28 server side requires.)
		lt, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		if got := toolNamesOf(lt); !slices.Equal(got, sorted(nodeTools)) {
			t.Fatalf("tools = %v, want %v", got, nodeTools)
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_node_types", Arguments: map[string]any{"type_filter": "FLOW_NODE"}})
		if err != nil || res.IsError {
			t.Fatalf("get_node_types: %v %+v", err, res)
		}
		sc, _ := json.Marshal(res.StructuredContent)
		if !strings.Contains(string(sc), `"subtype":"WAIT"`) {
			t.Fatalf("structuredContent = %s", sc)
		}
		var fromText any
		if err := json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &fromText); err != nil || !reflect.DeepEqual(fromText, res.StructuredContent) {
			t.Fatalf("text is not the structured content: %v", err)
		}
		// A hidden workflow tool still answers, with a reason.
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_workflows", Arguments: map[string]any{}})
		if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "no owner") {
			t.Fatalf("list_workflows without owner: %v %+v", err, res)
		}
		// Bad arguments: a tool error, not a protocol error.
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "search_nodes", Arguments: map[string]any{"max_results": 3}})
		if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "query") {
			t.Fatalf("search_nodes without query: %v %+v", err, res)
		}
	})

	t.Run("key with owner, as Bearer", func(t *testing.T) {
		cs, err := connect(t, s, "Authorization", "Bearer "+keyOf("owned"))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer cs.Close()
		lt, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		// The key reached the handlers through the request context.
		if got := toolNamesOf(lt); !slices.Equal(got, sorted(everyTool)) {
			t.Fatalf("tools = %v, want %v", got, everyTool)
		}
		var wf map[string]any
		if err := json.Unmarshal([]byte(hello), &wf); err != nil {
			t.Fatal(err)
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "create_workflow", Arguments: wf})
		if err != nil || res.IsError {
			t.Fatalf("create_workflow: %v %+v", err, res)
		}
		id := res.StructuredContent.(map[string]any)["id"].(string)
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "execute_workflow", Arguments: map[string]any{"workflow_id": id}})
		if err != nil || res.IsError || res.StructuredContent.(map[string]any)["status"] != "new" {
			t.Fatalf("execute_workflow: %v %+v", err, res)
		}
	})

	t.Run("bad key fails to connect", func(t *testing.T) {
		_, err := connect(t, s, "X-API-Key", "wrong-key")
		if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
			t.Fatalf("connect with a bad key: %v", err)
		}
	})
}

func TestStatelessEndpoint(t *testing.T) {
	s := newServer(t, options{})
	r := s.rpc("initialize", `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`, "X-API-Key", keyOf("all"))
	if r.status != http.StatusOK {
		t.Fatalf("initialize: %d %s", r.status, r.body)
	}
	if id := r.header.Get("Mcp-Session-Id"); id != "" {
		t.Fatalf("stateless server issued session %q", id)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	// A later request needs no session: any replica could answer it.
	r = s.rpc("tools/call", `{"name":"search_nodes","arguments":{"query":"wait"}}`, "X-API-Key", keyOf("all"))
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "WAIT") {
		t.Fatalf("tools/call without a session: %d %s", r.status, r.body)
	}
	// The protocol-version header is checked.
	r = s.do(http.MethodPost, MCPPath, `{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		"X-API-Key", keyOf("all"), "Accept", "application/json, text/event-stream", "MCP-Protocol-Version", "1999-01-01")
	if r.status != http.StatusBadRequest {
		t.Fatalf("unsupported protocol version: %d %s", r.status, r.body)
	}
	// Bodies over the limit are refused in the MCP shape.
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("x", maxBodyBytes) + `"}}`
	wantMCPError(t, s.do(http.MethodPost, MCPPath, big, "X-API-Key", keyOf("all"), "Accept", "application/json, text/event-stream"),
		http.StatusRequestEntityTooLarge, "request_too_large")
}

func TestOriginValidation(t *testing.T) {
	s := newServer(t, options{origins: []string{"http://localhost:3000", "https://app.example.com"}})
	tests := []struct {
		name, origin, key string
		status            int
	}{
		{"no Origin (server-side client)", "", keyOf("all"), 200},
		{"allowed origin", "http://localhost:3000", keyOf("all"), 200},
		{"allowed origin, other case and slash", "HTTPS://App.Example.com/", keyOf("all"), 200},
		{"other origin", "http://evil.example", keyOf("all"), 403},
		{"opaque origin", "null", keyOf("all"), 403},
		{"other origin is refused before the key is looked at", "http://evil.example", "wrong", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := []string{"X-API-Key", tt.key}
			if tt.origin != "" {
				h = append(h, "Origin", tt.origin)
			}
			r := s.rpc("ping", `{}`, h...)
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			wantMCPError(t, r, tt.status, "origin_not_allowed")
		})
	}
	// "*" accepts any real origin.
	any := newServer(t, options{origins: []string{"*"}})
	if r := any.rpc("ping", `{}`, "X-API-Key", keyOf("all"), "Origin", "http://anything.example"); r.status != 200 {
		t.Fatalf("CORS_ORIGINS=*: %d %s", r.status, r.body)
	}
}
