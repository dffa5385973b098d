package httpapi

import (
	"net/http"
	"slices"
	"testing"
)

var nodeTools = []string{"get_node_types", "get_node_details", "search_nodes"}
var everyTool = append(slices.Clone(nodeTools), "list_workflows", "get_workflow", "create_workflow", "validate_workflow", "execute_workflow", "get_execution")

func toolNames(t *testing.T, r response) []string {
	t.Helper()
	var out []string
	for _, tool := range r.json(t)["tools"].([]any) {
		out = append(out, tool.(map[string]any)["name"].(string))
	}
	return out
}

func TestListTools(t *testing.T) {
	s := newServer(t, options{api: standInAPI(t)})
	tests := []struct {
		name string
		key  string
		want []string
	}{
		{"key without owner: node tools", keyOf("read"), nodeTools},
		{"key with owner: every tool", keyOf("owned"), everyTool},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(http.MethodGet, "/api/mcp/tools", "", "X-API-Key", tt.key)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			checkDoc(t, "GET", "/api/mcp/tools", r)
			if got := toolNames(t, r); !slices.Equal(got, tt.want) {
				t.Fatalf("tools = %v, want %v", got, tt.want)
			}
			if total := r.json(t)["total"]; total != float64(len(tt.want)) {
				t.Fatalf("total = %v", total)
			}
			if r.header.Get("RateLimit-Policy") == "" {
				t.Fatal("no RateLimit-Policy header")
			}
		})
	}
}

func TestListToolsWithoutRequiredKey(t *testing.T) {
	s := newServer(t, options{keyOptional: true, api: standInAPI(t)})
	r := s.do(http.MethodGet, "/api/mcp/tools", "")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := toolNames(t, r); !slices.Equal(got, nodeTools) {
		t.Fatalf("anonymous tools = %v, want the node tools", got)
	}
	// A key that is sent is still checked.
	wantMCPError(t, s.do(http.MethodGet, "/api/mcp/tools", "", "X-API-Key", "wrong"), http.StatusUnauthorized, "invalid_api_key")
}

func TestGetTool(t *testing.T) {
	s := newServer(t, options{api: standInAPI(t)})
	tests := []struct {
		name, key, tool string
		status          int
	}{
		{"node tool", keyOf("read"), "search_nodes", http.StatusOK},
		{"workflow tool with owner", keyOf("owned"), "create_workflow", http.StatusOK},
		{"workflow tool without owner", keyOf("read"), "create_workflow", http.StatusNotFound},
		{"unknown tool", keyOf("read"), "drop_tables", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(http.MethodGet, "/api/mcp/tools/"+tt.tool, "", "X-API-Key", tt.key)
			checkDoc(t, "GET", "/api/mcp/tools/{tool_name}", r)
			if tt.status != http.StatusOK {
				m := wantMCPError(t, r, tt.status, "tool_not_found")
				if m["error_type"] != "TOOL_NOT_FOUND" {
					t.Fatalf("error_type = %v", m["error_type"])
				}
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			m := r.json(t)
			if m["name"] != tt.tool || m["inputSchema"].(map[string]any)["type"] != "object" {
				t.Fatalf("tool = %v", m)
			}
		})
	}
}
