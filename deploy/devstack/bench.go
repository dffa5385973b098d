package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/wfagent/gateway/deploy/devstack/internal/deps"
	"github.com/wfagent/gateway/deploy/devstack/internal/stack"
)

// loadResult is the part of bombardier's JSON report the benchmark uses.
type loadResult struct {
	Result struct {
		TimeTaken float64 `json:"timeTakenSeconds"`
		Req2xx    int64   `json:"req2xx"`
		Req4xx    int64   `json:"req4xx"`
		Req5xx    int64   `json:"req5xx"`
		Others    int64   `json:"others"`
		Latency   struct {
			Percentiles map[string]float64 `json:"percentiles"` // microseconds
		} `json:"latency"`
	} `json:"result"`
}

func (r loadResult) rps() float64 { return float64(r.Result.Req2xx) / r.Result.TimeTaken }
func (r loadResult) pct(p string) time.Duration {
	return time.Duration(r.Result.Latency.Percentiles[p] * float64(time.Microsecond))
}

// runBench measures the edge's cost: the same public-svc route loaded
// directly and through the edge, one after the other, with the same
// connection count, on loopback. Both services log at WARNING so that log
// I/O does not dominate a figure about proxying.
func runBench(ctx context.Context, log *slog.Logger, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	out := fs.String("out", "docs/benchmarks.md", "report to write")
	gobench := fs.String("gobench", "", "file holding `go test -bench` output to include")
	path := fs.String("path", "/api/public/info", "public-svc route to load")
	conns := fs.Int("c", 64, "connections")
	dur := fs.Duration("d", 10*time.Second, "duration of each run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	env, cleanup, err := deps.Prepare(ctx, log, deps.URLs{Database: cfg.DatabaseURL, Redis: cfg.RedisURL, NATS: cfg.NATSURL})
	if err != nil {
		return err
	}
	defer cleanup()
	bin, err := filepath.Abs(cfg.BinDir)
	if err != nil {
		return err
	}
	quiet := map[string]string{"LOG_LEVEL": "WARNING", "ENVIRONMENT": "development"}
	services := []stack.Service{
		{Name: "public-svc", Binary: filepath.Join(bin, "public-svc"), Env: merge(env, quiet, map[string]string{"PORT": "18081"}), Ready: "http://127.0.0.1:18081/healthz"},
		{Name: "edge", Binary: filepath.Join(bin, "edge"), Env: merge(env, quiet, map[string]string{"PORT": "18000", "ADMIN_PORT": "18100", "PUBLIC_SVC_URL": "http://127.0.0.1:18081"}), Ready: "http://127.0.0.1:18100/healthz"},
	}
	st := stack.New(log, services, cfg.StopWait)
	defer st.Stop()
	if err := st.Start(ctx, cfg.StartWait); err != nil {
		return err
	}
	direct, err := load(ctx, "http://127.0.0.1:18081"+*path, *conns, *dur)
	if err != nil {
		return err
	}
	edge, err := load(ctx, "http://127.0.0.1:18000"+*path, *conns, *dur)
	if err != nil {
		return err
	}
	var gb []byte
	if *gobench != "" {
		if gb, err = os.ReadFile(*gobench); err != nil {
			return err
		}
	}
	report := renderReport(*path, *conns, *dur, direct, edge, string(gb))
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	fmt.Print(report)
	return os.WriteFile(*out, []byte(report), 0o644)
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// load runs bombardier, bounded in time, against a loopback URL only.
func load(ctx context.Context, url string, conns int, dur time.Duration) (loadResult, error) {
	var r loadResult
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		return r, errors.New("load tests target loopback only")
	}
	ctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bombardier", "-c", fmt.Sprint(conns), "-d", dur.String(), "-l", "-p", "r", "-o", "json", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("bombardier (make bench installs it): %w: %s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("bombardier output: %w", err)
	}
	if bad := r.Result.Req4xx + r.Result.Req5xx + r.Result.Others; bad > 0 {
		return r, fmt.Errorf("%s: %d non-2xx responses or errors under load", url, bad)
	}
	return r, nil
}

func renderReport(path string, conns int, dur time.Duration, direct, edge loadResult, gobench string) string {
	var b strings.Builder
	cpu := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` on %s (%d cores, %s, %s).\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpu, runtime.Version())
	fmt.Fprintf(&b, "## Edge overhead\n\n`GET %s` on public-svc, loaded directly and through the edge: "+
		"bombardier, %d connections, %s per run, keep-alive, on loopback; the load generator, the edge and "+
		"public-svc share the same cores, so absolute figures are lower bounds. Both services log at WARNING.\n\n", path, conns, dur)
	b.WriteString("| target | req/s | p50 | p99 |\n|---|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		r    loadResult
	}{{"public-svc direct", direct}, {"through edge", edge}} {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s |\n", row.name, row.r.rps(), row.r.pct("50"), row.r.pct("99"))
	}
	fmt.Fprintf(&b, "\nThroughput through the edge is **%.2f×** the direct figure; p50 latency is %.2f× and p99 %.2f×.\n",
		edge.rps()/direct.rps(), float64(edge.pct("50"))/float64(direct.pct("50")), float64(edge.pct("99"))/float64(direct.pct("99")))
	if gobench != "" {
		b.WriteString("\n## Go benchmarks\n\n`go test -run '^$' -bench . -benchmem` over every module:\n\n```\n")
		for _, line := range strings.Split(gobench, "\n") {
			if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "pkg:") {
				b.WriteString(line + "\n")
			}
		}
		b.WriteString("```\n")
	}
	return b.String()
}
