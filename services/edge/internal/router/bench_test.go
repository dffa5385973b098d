package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/services/edge/internal/config"
	"github.com/wfagent/gateway/services/edge/internal/proxy"
)

// trivialUpstream answers a small JSON body, like public-svc's cheapest route.
func trivialUpstream(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok","version":"bench"}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
}

func benchGet(b *testing.B, url string) {
	client := benchClient()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}

// BenchmarkEdgeProxy is a GET through the whole public engine (request id,
// metrics, access log at INFO, tracing, CORS, body limit, proxy) to a
// trivial upstream over loopback.
func BenchmarkEdgeProxy(b *testing.B) {
	up := trivialUpstream(b)
	cfg, err := config.Load(pkgconfig.WithEnviron([]string{"PUBLIC_SVC_URL=" + up.URL, "LOG_LEVEL=INFO"}), pkgconfig.WithDotEnv(""))
	if err != nil {
		b.Fatal(err)
	}
	log, err := logx.New(io.Discard, "json", cfg.LogLevel)
	if err != nil {
		b.Fatal(err)
	}
	e, err := Public(cfg, log, prometheus.NewRegistry(), proxy.NewStreams())
	if err != nil {
		b.Fatal(err)
	}
	edge := httptest.NewServer(e)
	b.Cleanup(edge.Close)
	benchGet(b, edge.URL+"/api/public/info")
}

// BenchmarkDirect is the same request straight to the upstream: the
// baseline BenchmarkEdgeProxy is compared with.
func BenchmarkDirect(b *testing.B) {
	benchGet(b, trivialUpstream(b).URL+"/api/public/info")
}
