package edgemetrics

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const exposition = `# HELP edge_requests_total Requests by layer, method and status.
# TYPE edge_requests_total counter
edge_requests_total{layer="public",method="GET",status="200"} 10
edge_requests_total{layer="public",method="GET",status="429"} 2
edge_requests_total{layer="app",method="POST",status="201"} 7
edge_requests_total{layer="mcp",method="POST",status="200"} 3
edge_requests_total{layer="none",method="GET",status="404"} 1
# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 12
`

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Counts
		wantErr string
	}{
		{"sums by layer", exposition, Counts{Public: 12, App: 7, MCP: 3, Total: 23}, ""},
		{"untyped counter", "edge_requests_total{layer=\"app\"} 4\n", Counts{App: 4, Total: 4}, ""},
		{"no counter", "go_goroutines 12\n", Counts{}, "no edge_requests_total"},
		{"garbage", "edge_requests_total{layer= 1\n", Counts{}, "parsing edge metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestScraperCachesAndReportsOutage(t *testing.T) {
	var hits atomic.Int32
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(exposition))
	}))
	defer edge.Close()

	s := New(Options{URL: edge.URL + "/", Timeout: time.Second, TTL: time.Minute})
	for range 3 {
		c, err := s.Counts(context.Background())
		if err != nil || c.Public != 12 {
			t.Fatalf("Counts = %+v, %v", c, err)
		}
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("edge scraped %d times within the TTL, want 1", got)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	down := New(Options{URL: closed, Timeout: time.Second, TTL: time.Minute})
	if _, err := down.Counts(context.Background()); err == nil {
		t.Fatal("no error from an edge that is down")
	}
}
