// Package metrics holds the edge's own Prometheus metrics, beside the HTTP
// RED metrics httpx records. public-svc reads edge_requests_total to publish
// per-layer request counts, so its name and labels are a contract.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Layer names, the values of the layer label.
const (
	Public = "public"
	App    = "app"
	MCP    = "mcp"
)

// Edge are the per-layer metrics.
type Edge struct {
	// Requests counts requests per layer and final status, edge-made
	// errors (413, 404 api_layer_disabled, 502, 504) included.
	Requests *prometheus.CounterVec
	// Upstream is the time an upstream takes to send its response headers
	// (the whole of a short response; the start of a stream).
	Upstream *prometheus.HistogramVec
}

// New registers the edge metrics on reg.
func New(reg prometheus.Registerer) (*Edge, error) {
	m := &Edge{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_requests_total", Help: "Requests through the edge by API layer and status.",
		}, []string{"layer", "status"}),
		Upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edge_upstream_response_seconds",
			Help:    "Time until the upstream service's response headers, by API layer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"layer"}),
	}
	for _, c := range []prometheus.Collector{m.Requests, m.Upstream} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
