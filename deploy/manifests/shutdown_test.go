package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Shutdown timing the binaries run with: readiness flips at SIGTERM, new
// connections are still served for drainDelay, in-flight requests (slow
// ones take slowFor) finish, and the process is gone within grace.
const (
	drainDelay = 1500 * time.Millisecond
	grace      = 6 * time.Second
	slowFor    = 2 * time.Second
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the landed service binaries once per test run, as `make
// build` does (the workspace), into a temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "wfgw-shutdown-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./services/edge", "./services/public-svc")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a service binary started for one test.
type process struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
	exitAt time.Time
	err    error
}

// start runs binary with exactly environ (nothing inherited: no stray
// DATABASE_URL or .env) in an empty directory, and waits for readyURL.
func start(t *testing.T, binary string, environ []string, readyURL string) *process {
	t.Helper()
	p := &process{logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binaries(t), binary))
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.cmd.Dir}, environ...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.exitAt = time.Now()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if res, err := http.Get(readyURL); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before ready (%v):\n%s", binary, p.err, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready at %s:\n%s", binary, readyURL, p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// upstream plays app-svc for the edge and for public-svc's health checks:
// /slow and /healthz answer after slowFor, /stream is an endless event
// stream, anything else answers at once. arrived gets one value per slow
// request received.
type upstream struct {
	srv     *httptest.Server
	arrived chan string
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{arrived: make(chan string, 16)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/slow") || r.URL.Path == "/healthz":
			u.arrived <- r.URL.Path
			time.Sleep(slowFor)
			fmt.Fprint(w, `{"status":"ok","slow":true}`)
		case strings.HasSuffix(r.URL.Path, "/stream"):
			w.Header().Set("Content-Type", "text/event-stream")
			rc := http.NewResponseController(w)
			for i := 1; ; i++ {
				fmt.Fprintf(w, "id: %d\ndata: {\"n\":%d}\n\n", i, i)
				if rc.Flush() != nil {
					return
				}
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		default:
			fmt.Fprint(w, `{"status":"ok"}`)
		}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// timed is the outcome of one client request.
type timed struct {
	status int
	body   string
	err    error
	at     time.Time
}

func get(url string, out chan<- timed) {
	res, err := http.Get(url)
	if err != nil {
		out <- timed{err: err, at: time.Now()}
		return
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	out <- timed{status: res.StatusCode, body: string(body), err: err, at: time.Now()}
}

// sseResult is how a client's event stream ended.
type sseResult struct {
	events int
	retry  string // the last `retry:` field, the reconnection hint
	err    error  // nil: a clean end of the response
	at     time.Time
}

// readEvents reads an event stream until it ends, after signalling the
// first event.
func readEvents(res *http.Response, first chan<- struct{}, out chan<- sseResult) {
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	n, retry := 0, ""
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			n++
			if n == 1 {
				close(first)
			}
		}
		if v, ok := strings.CutPrefix(sc.Text(), "retry: "); ok {
			retry = v
		}
	}
	out <- sseResult{events: n, retry: retry, err: sc.Err(), at: time.Now()}
}

// watchReadiness polls readyURL until it stops answering 200, and reports
// when and with what.
func watchReadiness(readyURL string, stop <-chan struct{}, out chan<- timed) {
	for {
		res, err := http.Get(readyURL)
		if err != nil {
			out <- timed{err: err, at: time.Now()}
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			out <- timed{status: res.StatusCode, body: string(body), at: time.Now()}
			return
		}
		select {
		case <-stop:
			out <- timed{err: errors.New("still ready when the test gave up"), at: time.Now()}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// SIGTERM while requests and an event stream are open: readiness turns
// false first, new requests are still served during the drain delay,
// in-flight requests complete, streams proxied by the edge end cleanly,
// and the process exits 0 inside its grace period.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	closed := freePort(t) // nothing listens here: dependencies refuse at once
	common := []string{
		"ENVIRONMENT=development", "HOST=127.0.0.1", "LOG_FORMAT=json", "LOG_LEVEL=INFO",
		"SHUTDOWN_DRAIN_DELAY=" + drainDelay.String(), "SHUTDOWN_TIMEOUT=" + grace.String(),
	}
	tests := []struct {
		name    string
		binary  string
		env     func(up *upstream, port, admin int) []string
		ready   string // path on the probe port
		slow    string // path on the main port that takes slowFor upstream
		slowOK  string // in its complete answer
		stream  string // path on the main port of a proxied event stream; "" for none
		inDrain string // path on the main port still answered during the drain delay
		admin   bool   // probes on ADMIN_PORT
	}{
		{
			name: "edge", binary: "edge", admin: true,
			env: func(up *upstream, port, admin int) []string {
				return []string{"PORT=" + strconv.Itoa(port), "ADMIN_PORT=" + strconv.Itoa(admin),
					"PUBLIC_SVC_URL=" + up.srv.URL, "APP_SVC_URL=" + up.srv.URL, "MCP_SVC_URL=" + up.srv.URL}
			},
			ready: "/readyz", slow: "/api/app/slow", slowOK: `"slow":true`, stream: "/api/app/chat/stream", inDrain: "/api/public/status",
		},
		{
			name: "public-svc", binary: "public-svc",
			env: func(up *upstream, port, _ int) []string {
				dead := "127.0.0.1:" + strconv.Itoa(closed)
				return []string{"PORT=" + strconv.Itoa(port),
					"APP_SVC_URL=" + up.srv.URL, "MCP_SVC_URL=" + up.srv.URL, "EDGE_ADMIN_URL=" + up.srv.URL,
					"DATABASE_URL=postgres://postgres@" + dead + "/postgres?sslmode=disable&connect_timeout=1",
					"REDIS_URL=redis://" + dead + "/0", "NATS_URL=nats://" + dead,
					"WORKFLOW_SERVICE_HOST=127.0.0.1", "WORKFLOW_SERVICE_PORT=" + strconv.Itoa(closed),
					"HEALTH_CHECK_TIMEOUT=5s", "HEALTH_CACHE_TTL=0s"}
			},
			// The aggregated health waits for app-svc's and mcp-svc's slow /healthz.
			ready: "/readyz", slow: "/api/public/health", slowOK: `"app_api":true`, inDrain: "/healthz",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			port, admin := freePort(t), freePort(t)
			base := "http://127.0.0.1:" + strconv.Itoa(port)
			probes := base
			if tt.admin {
				probes = "http://127.0.0.1:" + strconv.Itoa(admin)
			}
			p := start(t, tt.binary, append(append([]string{}, common...), tt.env(up, port, admin)...), probes+tt.ready)

			// An event stream, open before the signal.
			var streamDone chan sseResult
			if tt.stream != "" {
				res, err := http.Get(base + tt.stream)
				if err != nil || res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
					t.Fatalf("stream: %v %v", err, res)
				}
				first := make(chan struct{})
				streamDone = make(chan sseResult, 1)
				go readEvents(res, first, streamDone)
				select {
				case <-first:
				case <-time.After(5 * time.Second):
					t.Fatal("no first event on the stream")
				}
			}

			// Two slow requests, in flight at the upstream before the signal.
			slow := make(chan timed, 2)
			for range 2 {
				go get(base+tt.slow, slow)
			}
			for range 2 {
				select {
				case <-up.arrived:
				case <-time.After(5 * time.Second):
					t.Fatalf("slow requests never reached the upstream:\n%s", p.logs.String())
				}
			}

			sigAt := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			stopWatching := make(chan struct{})
			defer close(stopWatching)
			unready := make(chan timed, 1)
			go watchReadiness(probes+tt.ready, stopWatching, unready)

			// Readiness flips at once, the listener still open.
			var flip timed
			select {
			case flip = <-unready:
			case <-time.After(drainDelay):
				t.Fatal("readiness still true a whole drain delay after SIGTERM")
			}
			if flip.err != nil || flip.status != http.StatusServiceUnavailable || !strings.Contains(flip.body, "draining") {
				t.Errorf("readiness after SIGTERM = %d %q %v, want 503 draining", flip.status, flip.body, flip.err)
			}
			if d := flip.at.Sub(sigAt); d > 500*time.Millisecond {
				t.Errorf("readiness flipped %s after SIGTERM, want at once", d)
			}

			// New requests are still served while load balancers catch up.
			fresh := make(chan timed, 1)
			get(base+tt.inDrain, fresh)
			if r := <-fresh; r.err != nil || r.status != http.StatusOK {
				t.Errorf("request during the drain delay: %d %v, want 200", r.status, r.err)
			}

			// In-flight requests complete with their real answers.
			for range 2 {
				select {
				case r := <-slow:
					if r.err != nil || !strings.Contains(r.body, tt.slowOK) {
						t.Errorf("in-flight request: %d %q %v, want its complete answer with %s", r.status, r.body, r.err, tt.slowOK)
					}
					if !r.at.After(flip.at) {
						t.Errorf("in-flight request ended before readiness flipped: the test proves nothing")
					}
				case <-time.After(grace):
					t.Fatal("in-flight request never completed")
				}
			}

			// The proxied stream ends cleanly once the drain delay is over,
			// so the client reconnects to a replica that is not draining.
			if streamDone != nil {
				select {
				case r := <-streamDone:
					if r.err != nil {
						t.Errorf("stream ended with %v, want a clean end", r.err)
					}
					if d := r.at.Sub(sigAt); d < drainDelay-100*time.Millisecond {
						t.Errorf("stream ended %s after SIGTERM, before the drain delay (%s)", d, drainDelay)
					}
					if r.retry == "" {
						t.Errorf("the drained stream ended without a retry: hint")
					}
					if r.events < 2 {
						t.Errorf("stream carried %d events", r.events)
					}
					if !r.at.After(flip.at) {
						t.Error("stream ended before readiness flipped")
					}
				case <-time.After(grace):
					t.Fatal("stream still open after the grace period")
				}
			}

			// The process exits 0 within the grace period.
			select {
			case <-p.exited:
			case <-time.After(grace + time.Second):
				t.Fatalf("still running %s after SIGTERM:\n%s", grace+time.Second, p.logs.String())
			}
			if p.err != nil {
				t.Errorf("exit: %v\n%s", p.err, p.logs.String())
			}
			if took := p.exitAt.Sub(sigAt); took > grace || took < drainDelay {
				t.Errorf("exited %s after SIGTERM, want between the drain delay %s and the grace %s", took, drainDelay, grace)
			}
			for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
				if !strings.Contains(p.logs.String(), want) {
					t.Errorf("logs lack %s:\n%s", want, p.logs.String())
				}
			}
		})
	}
}
