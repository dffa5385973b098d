package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/auth"
	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/testkit"
)

// idleStreams is how many chat streams the memory measurement holds open.
const idleStreams = 1000

// BenchmarkChatStream measures the chat stream the way a browser meets it,
// through the edge, with the reference agent, each in its own process:
//
//   - first-event: the time from sending a message to its first event
//     (p50 and p99 over b.N turns, one at a time);
//   - idle-streams: the resident memory (VmRSS) the edge and app-svc gain
//     per open stream while 1,000 turns wait on the agent, which pauses
//     10 s between responses (AGENT_RESPONSE_DELAY).
func BenchmarkChatStream(b *testing.B) {
	bin := b.TempDir()
	for _, m := range []struct{ name, dir string }{{"app-svc", "."}, {"edge", "../edge"}, {"workflow-agent", "../workflow-agent"}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, m.name), ".")
		cmd.Dir = m.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", m.name, err, out)
		}
	}
	agentPort, agentAdmin, appPort, edgePort, edgeAdmin := benchPort(b), benchPort(b), benchPort(b), benchPort(b), benchPort(b)
	quiet := []string{"LOG_LEVEL=WARNING", "ENVIRONMENT=development"}
	startProc(b, filepath.Join(bin, "workflow-agent"), fmt.Sprintf("http://127.0.0.1:%d/readyz", agentAdmin), append(quiet,
		"PORT="+strconv.Itoa(agentPort), "ADMIN_PORT="+strconv.Itoa(agentAdmin), "AGENT_RESPONSE_DELAY=10s"))
	app := startProc(b, filepath.Join(bin, "app-svc"), fmt.Sprintf("http://127.0.0.1:%d/readyz", appPort), append(quiet, append(baseEnv(testkit.NewDatabase(b)),
		"PORT="+strconv.Itoa(appPort), "APP_MIGRATE_ON_START=true", "WORKFLOW_SERVICE_PORT="+strconv.Itoa(agentPort),
		"RATE_LIMITS=app.global=1000000000/hour,app.chat=1000000000/hour,app.sessions=1000000000/hour")...))
	edge := startProc(b, filepath.Join(bin, "edge"), fmt.Sprintf("http://127.0.0.1:%d/healthz", edgeAdmin), append(quiet,
		"PORT="+strconv.Itoa(edgePort), "ADMIN_PORT="+strconv.Itoa(edgeAdmin), fmt.Sprintf("APP_SVC_URL=http://127.0.0.1:%d", appPort)))
	base := fmt.Sprintf("http://127.0.0.1:%d", edgePort)

	var ac auth.Config
	if err := pkgconfig.Load(&ac, pkgconfig.WithEnviron([]string{"SUPABASE_JWT_SECRET=" + jwtSecret}), pkgconfig.WithDotEnv("")); err != nil {
		b.Fatal(err)
	}
	token, err := auth.MintDevToken(ac, "development", uuid.NewString(), "bench@example.com", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: idleStreams}}

	b.Run("first-event", func(b *testing.B) {
		took := make([]time.Duration, 0, b.N)
		for range b.N {
			b.StopTimer()
			session := newSession(b, client, base, token)
			b.StartTimer()
			start := time.Now()
			s := sendChat(b, client, base, token, session)
			took = append(took, time.Since(start))
			s.Close()
		}
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	})

	b.Run("idle-streams", func(b *testing.B) {
		sessions := make([]string, idleStreams)
		for i := range sessions {
			sessions[i] = newSession(b, client, base, token)
		}
		appBefore, edgeBefore := rss(b, app), rss(b, edge)
		streams := make([]io.Closer, idleStreams)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 50)
		for i, session := range sessions {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				streams[i] = sendChat(b, client, base, token, session)
			})
		}
		wg.Wait()
		appOpen, edgeOpen := rss(b, app), rss(b, edge)
		for _, s := range streams {
			_ = s.Close()
		}
		b.ReportMetric(float64(appOpen-appBefore)/idleStreams, "app-svc-B/stream")
		b.ReportMetric(float64(edgeOpen-edgeBefore)/idleStreams, "edge-B/stream")
		b.ReportMetric(float64(appOpen)/(1<<20), "app-svc-MiB")
		b.ReportMetric(float64(edgeOpen)/(1<<20), "edge-MiB")
		b.ReportMetric(0, "ns/op")
	})
}

func benchPort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProc runs a service until the benchmark ends, once ready answers 200.
func startProc(b *testing.B, path, ready string, env []string) *os.Process {
	cmd := exec.Command(path)
	cmd.Dir = b.TempDir()
	cmd.Env = env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(ready); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd.Process
			}
		}
		select {
		case <-done:
			b.Fatalf("%s exited:\n%s", filepath.Base(path), out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s not ready at %s:\n%s", filepath.Base(path), ready, out.String())
		}
	}
}

func newSession(b *testing.B, client *http.Client, base, token string) string {
	req, _ := http.NewRequest("POST", base+"/api/app/sessions", strings.NewReader(`{"action":"create"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var s struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("session: %d %v", resp.StatusCode, err)
	}
	return s.ID
}

// sendChat sends a message that makes the agent draft a workflow and
// returns once its first event has arrived; closing it leaves the turn.
func sendChat(b *testing.B, client *http.Client, base, token, session string) io.Closer {
	body := fmt.Sprintf(`{"session_id":%q,"message":"manually wait 1 second"}`, session)
	req, _ := http.NewRequest("POST", base+"/api/app/chat/stream", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return io.NopCloser(nil)
	}
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadBytes('\n')
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasPrefix(line, []byte("id: 1")) {
		b.Errorf("chat stream: %d %q %v", resp.StatusCode, line, err)
	}
	return resp.Body
}

// rss is a process's resident memory in bytes (Linux).
func rss(b *testing.B, p *os.Process) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
	if err != nil {
		b.Fatalf("resident memory needs Linux /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
