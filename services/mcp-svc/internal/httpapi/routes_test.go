package httpapi

import (
	"net/http"
	"testing"

	"github.com/wfagent/gateway/pkg/apidoc"
)

func TestRoutesMatchTheDocument(t *testing.T) {
	s := newServer(t, options{})
	if err := apidoc.CheckRoutes(Prefix, s.engine.Routes()); err != nil {
		t.Fatal(err)
	}
}

func TestUnmatchedRoutesAnswerInTheMCPShape(t *testing.T) {
	s := newServer(t, options{})
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown path", http.MethodGet, "/api/mcp/nope", http.StatusNotFound, "not_found"},
		{"unknown path outside the layer", http.MethodGet, "/elsewhere", http.StatusNotFound, "not_found"},
		{"GET on the MCP endpoint (no standalone stream)", http.MethodGet, MCPPath, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"DELETE on the MCP endpoint (no sessions)", http.MethodDelete, MCPPath, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"wrong method on a REST route", http.MethodDelete, "/api/mcp/tools", http.StatusMethodNotAllowed, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantMCPError(t, s.do(tt.method, tt.path, "", "X-API-Key", keyOf("all")), tt.status, tt.code)
		})
	}
}
