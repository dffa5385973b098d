package httpapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkToolCall compares one get_node_types call over the REST API and
// over MCP (tools/call), in process: key check (cached), scope, two Redis
// limit checks, the tool, JSON. The edge adds its own hop in `make bench`.
func BenchmarkToolCall(b *testing.B) {
	s := newServer(b, options{limits: "mcp.invoke=1000000/hour,mcp.global=1000000/hour"})
	cases := []struct {
		name, path, body string
		headers          []string
	}{
		{"REST", "/api/mcp/invoke", `{"name":"get_node_types","arguments":{"type_filter":"FLOW_NODE"}}`, nil},
		{"MCP", MCPPath, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_node_types","arguments":{"type_filter":"FLOW_NODE"}}}`,
			[]string{"Accept", "application/json, text/event-stream", "MCP-Protocol-Version", "2025-06-18"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, s.URL+c.path, strings.NewReader(c.body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-API-Key", keyOf("all"))
					for i := 0; i+1 < len(c.headers); i += 2 {
						req.Header.Set(c.headers[i], c.headers[i+1])
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					_ = res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}
