package manifests

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

	"github.com/wfagent/gateway/pkg/testkit"
)

// Shutdown timing the binaries run with: readiness flips at SIGTERM, new
// connections are still served for drainDelay, in-flight requests (slow
// ones take slowFor) finish, and the process is gone within grace.
const (
	drainDelay = 1500 * time.Millisecond
	grace      = 6 * time.Second
	slowFor    = 2 * time.Second
)

// shutdownServices are the binaries the test builds: every service.
var shutdownServices = []string{"edge", "public-svc", "app-svc", "mcp-svc", "workflow-engine", "workflow-agent"}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the service binaries once per test run, as `make build`
// does (the workspace), into a temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "wfgw-shutdown-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		for _, s := range shutdownServices {
			args = append(args, "./services/"+s)
		}
		cmd := exec.Command("go", args...)
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

// process is a service binary started for one test.
type process struct {
	name   string
	cmd    *exec.Cmd
	logs   *testkit.SyncBuffer
	exited chan struct{}
	exitAt time.Time
	err    error
}

// start runs binary with args and exactly environ (nothing inherited: no
// stray DATABASE_URL or .env) in an empty directory, and waits for readyURL
// to answer 200. The process is killed when the test ends, if still there.
func start(t *testing.T, binary string, args, environ []string, readyURL string) *process {
	t.Helper()
	p := &process{name: binary, logs: &testkit.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binaries(t), binary), args...)
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
	deadline := time.Now().Add(20 * time.Second)
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

// upstream plays the services a service under test calls (app-svc for the
// edge, public-svc and mcp-svc; mcp-svc for public-svc): /slow and /healthz
// answer after slowFor, /stream is an endless event stream, anything else
// answers at once. arrived gets one value per slow request received.
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

// awaitArrivals waits until n slow requests reached the upstream.
func (u *upstream) awaitArrivals(t *testing.T, n int, p *process) {
	t.Helper()
	for range n {
		select {
		case <-u.arrived:
		case <-time.After(5 * time.Second):
			t.Fatalf("slow requests never reached the upstream:\n%s", p.logs.String())
		}
	}
}

// timed is the outcome of one client request.
type timed struct {
	status int
	body   string
	err    error
	at     time.Time
}

func get(url string, header http.Header, out chan<- timed) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		out <- timed{err: err, at: time.Now()}
		return
	}
	req.Header = header
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		out <- timed{err: err, at: time.Now()}
		return
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	out <- timed{status: res.StatusCode, body: string(body), err: err, at: time.Now()}
}

// wantOK asks url once and says what is wrong unless it answers 200.
func wantOK(url string, header http.Header) error {
	out := make(chan timed, 1)
	get(url, header, out)
	if r := <-out; r.err != nil || r.status != http.StatusOK {
		return fmt.Errorf("GET %s: %d %v %.200s, want 200", url, r.status, r.err, r.body)
	}
	return nil
}

// sseResult is how a client's event stream ended.
type sseResult struct {
	events    int
	retry     string // the last `retry:` field, the reconnection hint
	retryLast bool   // no event came after that hint: it is the final frame
	err       error  // nil: a clean end of the response
	at        time.Time
}

// readEvents reads an event stream until it ends, after signalling the
// first event whose data contains ready.
func readEvents(res *http.Response, ready string, first chan<- struct{}, out chan<- sseResult) {
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	r, signalled := sseResult{}, false
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			r.events++
			r.retryLast = false
			if !signalled && strings.Contains(data, ready) {
				signalled = true
				close(first)
			}
		}
		if v, ok := strings.CutPrefix(sc.Text(), "retry: "); ok {
			r.retry, r.retryLast = v, true
		}
	}
	r.err, r.at = sc.Err(), time.Now()
	out <- r
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

// ports are where one service under test listens.
type ports struct {
	port, admin int
}

func (p ports) main() string  { return "http://127.0.0.1:" + strconv.Itoa(p.port) }
func (p ports) probe() string { return "http://127.0.0.1:" + strconv.Itoa(p.admin) }

// load is what one service is started with and what is open on it when it
// receives SIGTERM.
type load struct {
	env    []string
	args   []string
	probes string // base URL of /healthz and /readyz

	// inFlight starts requests and returns once every one of them is held
	// inside the service (or its dependency); each outcome arrives on the
	// channel, and a complete one contains inFlightOK. nil: none.
	inFlight   func(t *testing.T, p *process) <-chan timed
	inFlightN  int
	inFlightOK string

	// stream opens an event stream before the signal; the test waits for an
	// event whose data contains streamReady. nil: none.
	stream      func(t *testing.T, p *process) *http.Response
	streamReady string
	// streamEndsAtDrain: the service ends its own streams as draining
	// starts (app-svc); otherwise (the edge's proxied streams) they last
	// out the drain delay.
	streamEndsAtDrain bool

	// inDrain is a new request during the drain delay, which must still be
	// served; it returns what is wrong.
	inDrain func() error
}

// shutdownCase is one service binary under SIGTERM.
type shutdownCase struct {
	name   string
	binary string
	// prepare starts what the service depends on and describes its load.
	prepare func(t *testing.T, at ports) load
}

// SIGTERM to every service binary while requests and an event stream are
// open: readiness turns false first, new requests are still served during
// the drain delay, in-flight requests complete, event streams end cleanly
// with a final retry: hint, and the process exits 0 inside its grace
// period.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	binaries(t)
	for _, tt := range shutdownCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at := ports{testkit.FreePort(t), testkit.FreePort(t)}
			l := tt.prepare(t, at)
			env := append([]string{
				"ENVIRONMENT=development", "HOST=127.0.0.1", "LOG_FORMAT=json", "LOG_LEVEL=INFO",
				"SHUTDOWN_DRAIN_DELAY=" + drainDelay.String(), "SHUTDOWN_TIMEOUT=" + grace.String(),
			}, l.env...)
			p := start(t, tt.binary, l.args, env, l.probes+"/readyz")
			checkDrain(t, p, l)
		})
	}
}

// checkDrain loads the running process, sends it SIGTERM and checks how it
// drains.
func checkDrain(t *testing.T, p *process, l load) {
	// An event stream, open before the signal.
	var streamDone chan sseResult
	if l.stream != nil {
		res := l.stream(t, p)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("stream: %s %s", res.Status, res.Header.Get("Content-Type"))
		}
		first := make(chan struct{})
		streamDone = make(chan sseResult, 1)
		go readEvents(res, l.streamReady, first, streamDone)
		select {
		case <-first:
		case r := <-streamDone:
			t.Fatalf("stream ended before an event with %q: %+v\n%s", l.streamReady, r, p.logs.String())
		case <-time.After(10 * time.Second):
			t.Fatalf("no event with %q on the stream:\n%s", l.streamReady, p.logs.String())
		}
	}

	// Requests in flight inside the service before the signal.
	var slow <-chan timed
	if l.inFlight != nil {
		slow = l.inFlight(t, p)
	}

	sigAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopWatching := make(chan struct{})
	defer close(stopWatching)
	unready := make(chan timed, 1)
	go watchReadiness(l.probes+"/readyz", stopWatching, unready)

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
	flipAfter := flip.at.Sub(sigAt)
	if flipAfter > 500*time.Millisecond {
		t.Errorf("readiness flipped %s after SIGTERM, want at once", flipAfter)
	}

	// New requests are still served while load balancers catch up.
	if l.inDrain != nil {
		if err := l.inDrain(); err != nil {
			t.Errorf("request during the drain delay: %v", err)
		}
	}

	// In-flight requests complete with their real answers.
	for range l.inFlightN {
		select {
		case r := <-slow:
			if r.err != nil || !strings.Contains(r.body, l.inFlightOK) {
				t.Errorf("in-flight request: %d %q %v, want its complete answer with %s", r.status, r.body, r.err, l.inFlightOK)
			}
			if !r.at.After(flip.at) {
				t.Errorf("in-flight request ended before readiness flipped: the test proves nothing")
			}
			t.Logf("in flight: %s after SIGTERM: %d %.80s", r.at.Sub(sigAt).Round(time.Millisecond), r.status, r.body)
		case <-time.After(grace):
			t.Fatal("in-flight request never completed")
		}
	}

	// The stream ends cleanly with a reconnection hint as its last frame,
	// so the client comes back to a replica that is not draining.
	var streamAfter time.Duration
	if streamDone != nil {
		select {
		case r := <-streamDone:
			streamAfter = r.at.Sub(sigAt)
			if r.err != nil {
				t.Errorf("stream ended with %v, want a clean end", r.err)
			}
			if l.streamEndsAtDrain && streamAfter >= drainDelay {
				t.Errorf("stream ended %s after SIGTERM, want as draining starts (before the drain delay %s ends)", streamAfter, drainDelay)
			}
			if !l.streamEndsAtDrain && streamAfter < drainDelay-100*time.Millisecond {
				t.Errorf("stream ended %s after SIGTERM, before the drain delay (%s)", streamAfter, drainDelay)
			}
			if ms, err := strconv.Atoi(r.retry); err != nil || ms <= 0 {
				t.Errorf("the drained stream ended without a retry: hint (last %q)", r.retry)
			}
			if !r.retryLast {
				t.Errorf("events followed the retry: hint; it must be the final frame")
			}
			if r.events < 2 {
				t.Errorf("stream carried %d events", r.events)
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
	took := p.exitAt.Sub(sigAt)
	if took > grace || took < drainDelay {
		t.Errorf("exited %s after SIGTERM, want between the drain delay %s and the grace %s", took, drainDelay, grace)
	}
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(p.logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, p.logs.String())
		}
	}
	stream := "no stream"
	if streamDone != nil {
		stream = "stream ended after " + streamAfter.Round(time.Millisecond).String()
	}
	t.Logf("%s: readiness false after %s, %s, exited 0 after %s",
		p.name, flipAfter.Round(time.Millisecond), stream, took.Round(time.Millisecond))
}
