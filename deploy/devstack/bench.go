package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/wfagent/gateway/deploy/devstack/internal/deps"
	"github.com/wfagent/gateway/deploy/devstack/internal/stack"
	"github.com/wfagent/gateway/pkg/auth"
)

// benchUser owns the workflows and the API key the load tests use.
const benchUser = "b0000000-0000-4000-8000-00000000beef"

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
	return time.Duration(r.Result.Latency.Percentiles[p] * float64(time.Microsecond)).Round(10 * time.Microsecond)
}

// target is one load-test subject.
type target struct {
	name, method, url, body string
	headers                 map[string]string
}

// runBench starts the whole stack on its own ports and measures, with the
// same connection count and duration each: the edge against the same
// public-svc route direct; the App API's workflow list through the edge
// beside pgbench running its SQL transaction; MCP's get_node_types over
// REST and over MCP through the edge. Services log at WARNING and limits
// are raised (their checks still run) so the figures are about the
// request path, not log I/O or 429s.
func runBench(ctx context.Context, log *slog.Logger, cfg Config, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	out := fs.String("out", "docs/benchmarks.md", "report to write")
	gobench := fs.String("gobench", "", "file holding `go test -bench` output to include")
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
	// Ports of their own, so a running `make run` is not disturbed.
	cfg.EdgePort, cfg.EdgeAdmin, cfg.PublicPort, cfg.AppPort = 18000, 18100, 18081, 18082
	cfg.MCPPort, cfg.EnginePort, cfg.AgentPort, cfg.AgentAdmin = 18083, 18084, 15051, 18085
	quiet := map[string]string{"LOG_LEVEL": "WARNING", "ENVIRONMENT": "development",
		"RATE_LIMITS": "app.global=1000000000/hour,app.workflows=1000000000/hour,mcp.global=1000000000/hour,mcp.invoke=1000000000/hour,mcp.tools=1000000000/hour"}
	services := stackServices(cfg, bin)
	for i := range services {
		services[i].Env = with(env, cfg.secretEnv(), quiet, services[i].Env)
	}
	st := stack.New(log, services, cfg.StopWait)
	defer st.Stop()
	if err := st.Start(ctx, cfg.StartWait); err != nil {
		return err
	}
	edge := fmt.Sprintf("http://127.0.0.1:%d", cfg.EdgePort)

	token, err := auth.MintDevToken(cfg.Auth, cfg.Environment, benchUser, "bench@example.com", time.Hour)
	if err != nil {
		return err
	}
	if err := seedWorkflows(ctx, edge, token, 20); err != nil {
		return err
	}
	apiKey, err := devKey(ctx, services, benchUser)
	if err != nil {
		return err
	}
	bearer := map[string]string{"Authorization": "Bearer " + token}
	keyed := map[string]string{"X-API-Key": apiKey, "Content-Type": "application/json"}
	mcpHeaders := with(keyed, map[string]string{"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"})

	runs := []struct {
		section string
		t       target
	}{
		{"edge", target{name: "public-svc direct", method: "GET", url: fmt.Sprintf("http://127.0.0.1:%d/api/public/info", cfg.PublicPort)}},
		{"edge", target{name: "through edge", method: "GET", url: edge + "/api/public/info"}},
		{"app", target{name: "GET /api/app/workflows (20 rows) through edge", method: "GET", url: edge + "/api/app/workflows?limit=20", headers: bearer}},
		{"mcp", target{name: "REST POST /api/mcp/invoke get_node_types", method: "POST", url: edge + "/api/mcp/invoke", headers: keyed,
			body: `{"name":"get_node_types","arguments":{}}`}},
		{"mcp", target{name: "MCP tools/call get_node_types", method: "POST", url: edge + "/api/mcp/mcp", headers: mcpHeaders,
			body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_node_types","arguments":{}}}`}},
	}
	results := map[string]loadResult{}
	for _, r := range runs {
		if err := probe(ctx, r.t); err != nil {
			return err
		}
		res, err := load(ctx, r.t, *conns, *dur)
		if err != nil {
			return err
		}
		results[r.t.name] = res
	}
	pg, err := pgbenchWorkflows(ctx, cfg.DatabaseURL, *conns, *dur)
	if err != nil {
		return err
	}
	var gb []byte
	if *gobench != "" {
		if gb, err = os.ReadFile(*gobench); err != nil {
			return err
		}
	}
	report := renderReport(*conns, *dur, runs, results, pg, string(gb))
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	fmt.Print(report)
	return os.WriteFile(*out, []byte(report), 0o644)
}

// seedWorkflows saves n copies of the DESIGN §6 example for the bench user.
func seedWorkflows(ctx context.Context, edge, token string, n int) error {
	example, err := os.ReadFile("docs/examples/hello-pipeline.json")
	if err != nil {
		return err
	}
	for i := range n {
		body := strings.Replace(string(example), `"Hello pipeline"`, fmt.Sprintf(`"Hello pipeline %d"`, i), 1)
		req, _ := http.NewRequestWithContext(ctx, "POST", edge+"/api/app/workflows", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("seeding workflow %d: %d %s", i, resp.StatusCode, b)
		}
	}
	return nil
}

func devKey(ctx context.Context, services []stack.Service, owner string) (string, error) {
	for _, svc := range services {
		if svc.Name == "app-svc" {
			out, err := stack.Output(ctx, svc, "apikey", "create", "--scopes", "tools:read,tools:execute", "--owner", owner, "--name", "bench", "--tier", "enterprise")
			if err != nil {
				return "", err
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			return lines[len(lines)-1], nil
		}
	}
	return "", errors.New("no app-svc in the stack")
}

// probe makes one request so a misconfigured scenario fails loudly
// instead of measuring error responses.
func probe(ctx context.Context, t target) error {
	req, _ := http.NewRequestWithContext(ctx, t.method, t.url, strings.NewReader(t.body))
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 || bytes.Contains(b, []byte(`"isError":true`)) {
		return fmt.Errorf("%s: %d %s", t.name, resp.StatusCode, b)
	}
	return nil
}

// load runs bombardier, bounded in time, against a loopback URL only.
func load(ctx context.Context, t target, conns int, dur time.Duration) (loadResult, error) {
	var r loadResult
	if !strings.HasPrefix(t.url, "http://127.0.0.1:") {
		return r, errors.New("load tests target loopback only")
	}
	ctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	args := []string{"-c", fmt.Sprint(conns), "-d", dur.String(), "-l", "-p", "r", "-o", "json", "-m", t.method}
	for k, v := range t.headers {
		args = append(args, "-H", k+": "+v)
	}
	if t.body != "" {
		args = append(args, "-b", t.body)
	}
	cmd := exec.CommandContext(ctx, "bombardier", append(args, t.url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("bombardier (make bench installs it): %w: %s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("bombardier output: %w", err)
	}
	if bad := r.Result.Req4xx + r.Result.Req5xx + r.Result.Others; bad > 0 {
		return r, fmt.Errorf("%s: %d non-2xx responses or errors under load", t.name, bad)
	}
	return r, nil
}

type pgbenchResult struct {
	TPS      float64
	Avg      time.Duration
	Commands string
}

// pgbenchWorkflows runs the App API's list transaction in pgbench: the
// claims + role switch, the list query, commit — the database's own
// ceiling for that route at the same concurrency.
func pgbenchWorkflows(ctx context.Context, dsn string, conns int, dur time.Duration) (pgbenchResult, error) {
	var r pgbenchResult
	script := fmt.Sprintf(`BEGIN;
select set_config('role', 'authenticated', true), set_config('request.jwt.claims', '{"sub":"%s","role":"authenticated","aud":"authenticated"}', true), set_config('statement_timeout', '5000', true);
select id, name, description, jsonb_array_length(nodes), version, created_at, updated_at from workflows order by updated_at desc, id desc limit 21;
COMMIT;
`, benchUser)
	f, err := os.CreateTemp("", "pgbench-*.sql")
	if err != nil {
		return r, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		return r, err
	}
	f.Close()
	r.Commands = script
	ctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pgbench", "-n", "-M", "extended", "-c", fmt.Sprint(conns), "-j", "2",
		"-T", fmt.Sprint(int(dur.Seconds())), "-f", f.Name(), dsn)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	if m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out); m != nil {
		fmt.Sscanf(string(m[1]), "%f", &r.TPS)
	}
	if m := regexp.MustCompile(`latency average = ([0-9.]+) ms`).FindSubmatch(out); m != nil {
		var ms float64
		fmt.Sscanf(string(m[1]), "%f", &ms)
		r.Avg = time.Duration(ms * float64(time.Millisecond)).Round(10 * time.Microsecond)
	}
	if r.TPS == 0 {
		return r, fmt.Errorf("pgbench output without tps: %s", out)
	}
	return r, nil
}

func renderReport(conns int, dur time.Duration, runs []struct {
	section string
	t       target
}, results map[string]loadResult, pg pgbenchResult, gobench string) string {
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
	row := func(name string) string {
		r := results[name]
		return fmt.Sprintf("| %s | %.0f | %s | %s |\n", name, r.rps(), r.pct("50"), r.pct("99"))
	}
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` on %s (%d cores, %s, %s). "+
		"Load: bombardier, %d connections, %s per run, keep-alive, loopback only. The load generator and every "+
		"service share the same cores, so absolute figures are lower bounds; ratios are the point. Services log at "+
		"WARNING; rate limits are raised so that their checks run but never refuse.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpu, runtime.Version(), conns, dur)

	b.WriteString("## Edge overhead (issue: foundation)\n\n`GET /api/public/info` on public-svc, direct and through the edge.\n\n")
	b.WriteString("| target | req/s | p50 | p99 |\n|---|---:|---:|---:|\n")
	b.WriteString(row("public-svc direct") + row("through edge"))
	d, e := results["public-svc direct"], results["through edge"]
	fmt.Fprintf(&b, "\nThrough the edge: **%.2f×** the direct throughput; p50 %.2f×, p99 %.2f×.\n\n",
		e.rps()/d.rps(), float64(e.pct("50"))/float64(d.pct("50")), float64(e.pct("99"))/float64(d.pct("99")))

	app := results["GET /api/app/workflows (20 rows) through edge"]
	b.WriteString("## App API list (issue: app-svc core)\n\nToken check, two limit checks (Redis), an RLS transaction and 20 rows, through the edge; " +
		"beside it pgbench running the same SQL transaction (role + claims, the list query, commit) at the same concurrency: the database's own ceiling.\n\n")
	b.WriteString("| target | req/s | p50 | p99 |\n|---|---:|---:|---:|\n")
	b.WriteString(row("GET /api/app/workflows (20 rows) through edge"))
	fmt.Fprintf(&b, "| pgbench, same transaction | %.0f | avg %s | – |\n", pg.TPS, pg.Avg)
	fmt.Fprintf(&b, "\nThe API reaches **%.0f%%** of the database's own transaction rate.\n\n", 100*app.rps()/pg.TPS)

	b.WriteString("## MCP tools (issue: mcp-svc)\n\n`get_node_types` through the edge with an API key (limit checks in Redis), REST and MCP (stateless Streamable HTTP, JSON responses).\n\n")
	b.WriteString("| target | req/s | p50 | p99 |\n|---|---:|---:|---:|\n")
	b.WriteString(row("REST POST /api/mcp/invoke get_node_types") + row("MCP tools/call get_node_types"))

	if gobench != "" {
		b.WriteString("\n## Go benchmarks\n\n`go test -run '^$' -bench . -benchmem` over every module (token verification, limiter checks " +
			"with p50/p99, validation, proxying, planner turns, engine executions/s …):\n\n```\n")
		for _, line := range strings.Split(gobench, "\n") {
			if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "pkg:") {
				b.WriteString(line + "\n")
			}
		}
		b.WriteString("```\n")
	}
	return b.String()
}
