package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/pkg/testkit"
	"github.com/wfagent/gateway/services/app-svc/internal/agent"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// The chat stream is tested through a real HTTP server (flushing is the
// point) against the real workflow-agent binary, built once per run.

// Turns the reference agent answers deterministically.
const (
	vagueRequest = "help me automate something"
	followUp     = "when a webhook arrives, wait 2 seconds, then send a POST request to https://api.example.com/v1/orders"
	directDraft  = "manually wait 1 second"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if agentBuild.dir != "" {
		_ = os.RemoveAll(agentBuild.dir)
	}
	os.Exit(code)
}

var agentBuild struct {
	once      sync.Once
	dir, path string
	err       error
}

// agentBinary builds services/workflow-agent once per test binary.
func agentBinary(t testing.TB) string {
	t.Helper()
	agentBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "app-svc-chat-test-")
		if err != nil {
			agentBuild.err = err
			return
		}
		agentBuild.dir = dir
		src, err := filepath.Abs(filepath.Join("..", "..", "..", "workflow-agent"))
		if err != nil {
			agentBuild.err = err
			return
		}
		out := filepath.Join(dir, "workflow-agent")
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Dir = src
		if b, err := cmd.CombinedOutput(); err != nil {
			agentBuild.err = fmt.Errorf("go build %s: %v\n%s", src, err, b)
			return
		}
		agentBuild.path = out
	})
	if agentBuild.err != nil {
		t.Fatal(agentBuild.err)
	}
	return agentBuild.path
}

// agentProc is a running workflow-agent process.
type agentProc struct {
	addr, admin string
	cmd         *exec.Cmd
	done        chan struct{}
	out         *testkit.SyncBuffer
}

// startAgent runs the agent on free ports; delay is AGENT_RESPONSE_DELAY.
func startAgent(t testing.TB, delay time.Duration) *agentProc {
	t.Helper()
	grpcPort, adminPort := testkit.FreePort(t), testkit.FreePort(t)
	cmd := exec.Command(agentBinary(t))
	cmd.Dir = t.TempDir() // no stray .env
	cmd.Env = []string{
		"HOST=127.0.0.1", "PORT=" + strconv.Itoa(grpcPort), "ADMIN_PORT=" + strconv.Itoa(adminPort),
		"AGENT_RESPONSE_DELAY=" + delay.String(), "LOG_LEVEL=WARNING", "SHUTDOWN_TIMEOUT=3s",
	}
	a := &agentProc{
		addr: fmt.Sprintf("127.0.0.1:%d", grpcPort), admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		cmd: cmd, done: make(chan struct{}), out: &testkit.SyncBuffer{},
	}
	cmd.Stdout, cmd.Stderr = a.out, a.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("workflow-agent output:\n%s", a.out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(a.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		select {
		case <-a.done:
			t.Fatalf("workflow-agent exited at start:\n%s", a.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow-agent not ready at %s:\n%s", a.admin, a.out.String())
		}
	}
}

func (a *agentProc) kill() {
	_ = a.cmd.Process.Kill()
	<-a.done
}

// cancelledTurns scrapes agent_turns_cancelled_total: the agent's own
// account of callers that went away.
func (a *agentProc) cancelledTurns(t testing.TB) float64 {
	t.Helper()
	resp, err := http.Get(a.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "agent_turns_cancelled_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("agent_turns_cancelled_total is not in the agent's /metrics")
	return 0
}

// chatEnv is the App API on a migrated database; replica serves it with
// chat over a real HTTP server.
type chatEnv struct {
	*env
	verify gin.HandlerFunc
	log    *slog.Logger
}

func newChatEnv(t *testing.T) *chatEnv {
	t.Helper()
	e := newEnv(t)
	v, err := auth.NewVerifier(context.Background(), e.auth)
	if err != nil {
		t.Fatal(err)
	}
	return &chatEnv{env: e, verify: v.Middleware(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// replica is one app-svc replica: its own engine, agent connection and
// session locks (its own lock connection) on the shared database.
func (e *chatEnv) replica(agentAddr string, configure ...func(*Chat)) string {
	e.t.Helper()
	client, err := agent.New(agentAddr, 20*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	locks := store.NewSessionLocks(e.admin.Config().ConnConfig)
	chat := &Chat{Agent: client, Locks: locks, Heartbeat: time.Minute, Log: e.log}
	for _, c := range configure {
		c(chat)
	}
	engine, _, err := httpx.NewEngine(httpx.Options{Service: "app-svc-test", Logger: e.log})
	if err != nil {
		e.t.Fatal(err)
	}
	Register(engine, Deps{
		DB: e.store, Codec: e.codec, Auth: e.verify, MaxBodyBytes: testBodyLimit, Chat: chat,
		Limit: ratelimit.Middleware(ratelimit.NewMemory(), ratelimit.DefaultTable(ratelimit.App), ratelimit.ByUser, ratelimit.Options{Logger: e.log}),
	})
	srv := httptest.NewServer(engine)
	e.t.Cleanup(func() {
		srv.Close()
		locks.Close()
		_ = client.Close()
	})
	return srv.URL
}

// session creates a session for the token's user.
func (e *chatEnv) session(token string, body any) uuid.UUID {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/api/app/sessions", token: token, body: body})
	want(e.t, r, http.StatusCreated, "")
	var s sessionJSON
	r.json(e.t, &s)
	return s.ID
}

// history is a session's messages as role: content lines.
func (e *chatEnv) history(token string, session uuid.UUID) []string {
	e.t.Helper()
	r := e.do(req{method: "GET", path: "/api/app/chat/" + session.String() + "/messages?limit=200", token: token})
	want(e.t, r, http.StatusOK, "")
	var out struct{ Messages []messageJSON }
	r.json(e.t, &out)
	lines := make([]string, len(out.Messages))
	for i, m := range out.Messages {
		if m.Sequence != int64(i+1) {
			e.t.Fatalf("message %d has sequence %d", i, m.Sequence)
		}
		lines[i] = m.Role + ": " + m.Content
	}
	return lines
}

// streamedEvent is an event's data, decoded strictly.
type streamedEvent struct {
	Type      string          `json:"type"`
	SessionID uuid.UUID       `json:"session_id"`
	Content   json.RawMessage `json:"content"`
	Timestamp int64           `json:"timestamp"`
	IsFinal   bool            `json:"is_final"`
}

// frame is one block of the stream: an event, a comment or a retry hint.
type frame struct {
	id, comment, retry string
	event              *streamedEvent
	at                 time.Time
}

type stream struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// post sends a chat turn; the response is left unread.
func post(t testing.TB, client *http.Client, base, token string, body any) *stream {
	t.Helper()
	s, err := open(client, base, token, body)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// open is post for goroutines other than the test's: the caller closes.
func open(client *http.Client, base, token string, body any) (*stream, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	hr, err := http.NewRequestWithContext(ctx, "POST", base+"/api/app/chat/stream", bytes.NewReader(raw))
	if err != nil {
		cancel()
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hr)
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}, nil
}

func (s *stream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// next reads one frame; io.EOF at the clean end of the stream.
func (s *stream) next() (frame, error) {
	var f frame
	var data string
	seen := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" && !seen {
				return f, io.EOF
			}
			return f, fmt.Errorf("stream broken after %q: %w", line, err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if !seen {
				continue
			}
			f.at = time.Now()
			if data != "" {
				dec := json.NewDecoder(strings.NewReader(data))
				dec.DisallowUnknownFields()
				f.event = &streamedEvent{}
				if err := dec.Decode(f.event); err != nil {
					return f, fmt.Errorf("event data %s: %w", data, err)
				}
			}
			return f, nil
		}
		seen = true
		switch {
		case strings.HasPrefix(line, ":"):
			f.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			f.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		case strings.HasPrefix(line, "retry: "):
			f.retry = line[7:]
		default:
			return f, fmt.Errorf("unexpected line %q", line)
		}
	}
}

// all reads every frame to the clean end.
func (s *stream) all(t testing.TB) []frame {
	t.Helper()
	var out []frame
	for {
		f, err := s.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", len(out), err)
		}
		out = append(out, f)
	}
}

func events(frames []frame) []*streamedEvent {
	var out []*streamedEvent
	for _, f := range frames {
		if f.event != nil {
			out = append(out, f.event)
		}
	}
	return out
}

// checkStream holds a finished stream to DESIGN §3: SSE headers, ids 1…n,
// the session on every event, contents of their type's shape, and exactly
// the last event final.
func checkStream(t testing.TB, s *stream, frames []frame, session uuid.UUID, started time.Time) {
	t.Helper()
	h := s.resp.Header
	if s.resp.StatusCode != http.StatusOK || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("status %d, headers %v", s.resp.StatusCode, h)
	}
	if !strings.Contains(h.Get("RateLimit-Policy"), `"chat";q=100;w=3600`) {
		t.Errorf("RateLimit-Policy %q: the chat policy does not apply", h.Get("RateLimit-Policy"))
	}
	n := 0
	for _, f := range frames {
		if f.event == nil {
			continue
		}
		n++
		ev := f.event
		if f.id != strconv.Itoa(n) {
			t.Errorf("event %d has id %q", n, f.id)
		}
		if ev.SessionID != session {
			t.Errorf("event %d: session %s", n, ev.SessionID)
		}
		if at := time.UnixMilli(ev.Timestamp); at.Before(started.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("event %d: timestamp %d is not now", n, ev.Timestamp)
		}
		if err := checkContent(ev); err != nil {
			t.Errorf("event %d: %v", n, err)
		}
		if ev.IsFinal != (f == lastEvent(frames)) {
			t.Errorf("event %d: is_final %v", n, ev.IsFinal)
		}
	}
	if n == 0 {
		t.Fatal("no events")
	}
}

func lastEvent(frames []frame) frame {
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i].event != nil {
			return frames[i]
		}
	}
	return frame{}
}

// checkContent decodes content strictly into its type's shape.
func checkContent(ev *streamedEvent) error {
	var dst any
	switch ev.Type {
	case "message":
		dst = &agent.Message{}
	case "status_change":
		dst = &agent.StatusChange{}
	case "workflow":
		dst = &agent.WorkflowDraft{}
	case "error":
		dst = &agent.Error{}
	default:
		return fmt.Errorf("type %q", ev.Type)
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("%s content %s: %w", ev.Type, ev.Content, err)
	}
	return nil
}

// historyOfEvents is what the history must hold for what was streamed.
func historyOfEvents(t testing.TB, evs []*streamedEvent) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		var c struct{ Text, Role, Message string }
		if err := json.Unmarshal(ev.Content, &c); err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case "message":
			out = append(out, c.Role+": "+c.Text)
		case "workflow":
			out = append(out, "assistant: "+c.Text)
		case "error":
			out = append(out, "system: "+c.Message)
		}
	}
	return out
}

func equalLines(t testing.TB, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n---\n") != strings.Join(want, "\n---\n") {
		t.Fatalf("history:\n%s\n\nwant:\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
	}
}

// turn streams one message to its end.
func turn(t *testing.T, base, token string, session uuid.UUID, message string) []*streamedEvent {
	t.Helper()
	started := time.Now()
	s := post(t, nil, base, token, map[string]string{"session_id": session.String(), "message": message})
	if s.resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(s.resp.Body)
		t.Fatalf("%q: %d %s", message, s.resp.StatusCode, b)
	}
	frames := s.all(t)
	checkStream(t, s, frames, session, started)
	return events(frames)
}

func contentOf[T any](t testing.TB, ev *streamedEvent) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.Content, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestChatStreamConversation(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	base := e.replica(startAgent(t, 0).addr)
	tok := e.token(uuid.New())
	session := e.session(tok, map[string]any{"action": "create"})

	// A vague request: the agent asks.
	first := turn(t, base, tok, session, vagueRequest)
	last := first[len(first)-1]
	if last.Type != "message" || !strings.Contains(contentOf[agent.Message](t, last).Text, "?") || first[0].Type != "status_change" {
		t.Fatalf("want clarification questions, got %+v", first)
	}
	if sc := contentOf[agent.StatusChange](t, first[0]); sc.CurrentStage != "clarification" {
		t.Fatalf("first status change %+v", sc)
	}

	// The follow-up answers them: a draft.
	second := turn(t, base, tok, session, followUp)
	var draft *agent.WorkflowDraft
	for _, ev := range second {
		if ev.Type == "workflow" {
			w := contentOf[agent.WorkflowDraft](t, ev)
			draft = &w
		}
	}
	if draft == nil {
		t.Fatalf("no workflow event in %+v", second)
	}

	// The workflows API accepts the draft as it was streamed.
	r := e.do(req{method: "POST", path: "/api/app/workflows", token: tok, body: draft.Workflow})
	want(t, r, http.StatusCreated, "")

	// The history is what was streamed, and the state was saved.
	wantHistory := append([]string{"user: " + vagueRequest}, historyOfEvents(t, first)...)
	wantHistory = append(append(wantHistory, "user: "+followUp), historyOfEvents(t, second)...)
	equalLines(t, e.history(tok, session), wantHistory)
	r = e.do(req{method: "GET", path: "/api/app/sessions/" + session.String(), token: tok})
	var s sessionJSON
	r.json(t, &s)
	if s.WorkflowState == nil || s.WorkflowState.Stage != "completed" || !bytes.Contains(s.WorkflowState.State, []byte(`"current_workflow_json"`)) {
		t.Fatalf("workflow state %+v", s.WorkflowState)
	}

	// The next turn starts from the saved state: the agent edits its draft.
	third := turn(t, base, tok, session, "change the wait to 4 seconds")
	if !hasWorkflowWithWait(t, third, 4) {
		t.Fatalf("no edited workflow with a 4 s wait in %+v", third)
	}
}

func hasWorkflowWithWait(t testing.TB, evs []*streamedEvent, seconds float64) bool {
	t.Helper()
	for _, ev := range evs {
		if ev.Type != "workflow" {
			continue
		}
		w := contentOf[agent.WorkflowDraft](t, ev)
		nodes, _ := w.Workflow["nodes"].([]any)
		for _, n := range nodes {
			node, _ := n.(map[string]any)
			params, _ := node["parameters"].(map[string]any)
			if node["subtype"] == "WAIT" && params["seconds"] == seconds {
				return true
			}
		}
	}
	return false
}

func TestChatStreamEditSessionStartsFromTheSourceWorkflow(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	base := e.replica(startAgent(t, 0).addr)
	tok := e.token(uuid.New())
	source := e.createHello(tok)
	for _, action := range []string{"edit", "copy"} {
		t.Run(action, func(t *testing.T) {
			session := e.session(tok, map[string]any{"action": action, "source_workflow_id": source.ID})
			evs := turn(t, base, tok, session, "change the wait to 4 seconds")
			if !hasWorkflowWithWait(t, evs, 4) {
				t.Fatalf("the agent did not get the source workflow: %s", evs[len(evs)-1].Content)
			}
		})
	}
}

func TestChatStreamRefusals(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	base := e.replica(startAgent(t, 0).addr)
	// Nothing listens on down's port: the agent is down.
	down := e.replica(fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)))
	owner, other := e.token(uuid.New()), e.token(uuid.New())
	session := e.session(owner, map[string]any{"action": "create"})
	valid := map[string]string{"session_id": session.String(), "message": "hello"}

	tests := []struct {
		name     string
		base     string
		token    string
		body     any
		status   int
		errCode  string
		wantText string
	}{
		{"no token", base, "", valid, http.StatusUnauthorized, "", ""},
		{"another user's session", base, other, valid, http.StatusNotFound, "not_found", ""},
		{"an unknown session", base, owner, map[string]string{"session_id": uuid.NewString(), "message": "hello"}, http.StatusNotFound, "not_found", ""},
		{"a session id that is no UUID", base, owner, map[string]string{"session_id": "nope", "message": "hello"}, http.StatusBadRequest, "validation_error", "session_id"},
		{"no message", base, owner, map[string]string{"session_id": session.String(), "message": " \n"}, http.StatusBadRequest, "validation_error", "message"},
		{"a message over 16 KiB", base, owner, map[string]string{"session_id": session.String(), "message": strings.Repeat("a", 16<<10+1)}, http.StatusBadRequest, "validation_error", "16384"},
		{"an unknown field", base, owner, map[string]string{"session_id": session.String(), "message": "hi", "stream": "yes"}, http.StatusBadRequest, "validation_error", "stream"},
		{"the agent is down", down, owner, valid, http.StatusBadGateway, "external_service_error", "agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := post(t, nil, tt.base, tt.token, tt.body)
			body, _ := io.ReadAll(s.resp.Body)
			if s.resp.StatusCode != tt.status || !strings.HasPrefix(s.resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("got %d %s %s, want %d", s.resp.StatusCode, s.resp.Header.Get("Content-Type"), body, tt.status)
			}
			if err := apidoc.CheckResponse("POST", "/api/app/chat/stream", s.resp.StatusCode, body); err != nil {
				t.Errorf("not the documented error: %v", err)
			}
			r := resp{code: s.resp.StatusCode, body: body}
			if tt.errCode != "" && r.errorCode() != tt.errCode || !strings.Contains(string(body), tt.wantText) {
				t.Fatalf("body %s, want %s mentioning %q", body, tt.errCode, tt.wantText)
			}
		})
	}
	// A refused turn stores nothing.
	if n := e.count("chat_messages"); n != 0 {
		t.Fatalf("%d messages stored by refused turns", n)
	}
}

func TestChatStreamEventsArriveOneByOne(t *testing.T) {
	t.Parallel()
	// Wide enough that a loaded CI machine (2 cores, other packages'
	// tests beside this one) cannot blur the spacing; buffering would
	// collapse every gap to ~0 whatever the delay.
	const delay = 500 * time.Millisecond
	e := newChatEnv(t)
	base := e.replica(startAgent(t, delay).addr)
	tok := e.token(uuid.New())
	session := e.session(tok, map[string]any{"action": "create"})

	started := time.Now()
	s := post(t, nil, base, tok, map[string]string{"session_id": session.String(), "message": directDraft})
	frames := s.all(t)
	checkStream(t, s, frames, session, started)
	var evs []frame
	for _, f := range frames {
		if f.event != nil {
			evs = append(evs, f)
		}
	}
	if len(evs) < 4 {
		t.Fatalf("%d events, want a drafted workflow's several", len(evs))
	}
	// Each event reached the client before the agent produced the next,
	// and arrivals are spaced like the agent's responses: nothing buffered.
	for i := 1; i < len(evs); i++ {
		arrived, produced := evs[i-1].at.UnixMilli(), evs[i].event.Timestamp
		if arrived > produced {
			t.Errorf("event %d arrived at %d, after event %d was produced at %d", i, arrived, i+1, produced)
		}
		if gap := evs[i].at.Sub(evs[i-1].at); gap < delay/2 {
			t.Errorf("events %d and %d arrived %s apart, want about %s", i, i+1, gap, delay)
		}
	}
}

func TestChatStreamHeartbeat(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	base := e.replica(startAgent(t, 200*time.Millisecond).addr, func(c *Chat) { c.Heartbeat = 50 * time.Millisecond })
	tok := e.token(uuid.New())
	session := e.session(tok, map[string]any{"action": "create"})
	started := time.Now()
	s := post(t, nil, base, tok, map[string]string{"session_id": session.String(), "message": directDraft})
	frames := s.all(t)
	checkStream(t, s, frames, session, started)
	pings := 0
	for _, f := range frames {
		if f.comment == "ping" && f.event == nil {
			pings++
		}
	}
	if pings < 5 {
		t.Fatalf("%d pings in a turn of about a second at 50 ms", pings)
	}
}

// TestChatStreamInterrupted covers turns that do not finish: what the
// client sees, what the agent sees and what is stored.
func TestChatStreamInterrupted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// interrupt acts once the first event has arrived.
		interrupt func(s *stream, agentProc *agentProc, drain chan struct{})
		// wantCode is the final error event's, "" when the client left.
		wantCode    string
		wantRetry   string
		wantHistory string // the system message that ends the history
		// agentCancelled: the agent's own metrics count the call cancelled.
		agentCancelled bool
	}{
		{"the agent dies", func(_ *stream, a *agentProc, _ chan struct{}) { a.kill() },
			"external_service_error", "", "system: the workflow agent is unavailable, try again shortly", false},
		{"the server drains", func(_ *stream, _ *agentProc, drain chan struct{}) { close(drain) },
			"server_draining", "2000", "system: the server is restarting: send the message again", true},
		{"the client disconnects", func(s *stream, _ *agentProc, _ chan struct{}) { s.cancel() },
			"", "", "system: The turn was interrupted (the connection closed before the agent finished); the agent's state was not updated. Send the message again to retry.", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newChatEnv(t)
			a := startAgent(t, 200*time.Millisecond)
			drain := make(chan struct{})
			base := e.replica(a.addr, func(c *Chat) { c.Draining = drain })
			tok := e.token(uuid.New())
			session := e.session(tok, map[string]any{"action": "create"})

			s := post(t, nil, base, tok, map[string]string{"session_id": session.String(), "message": directDraft})
			f, err := s.next()
			if err != nil || f.event == nil || f.event.IsFinal {
				t.Fatalf("first frame %+v, %v", f, err)
			}
			streamed := []*streamedEvent{f.event}
			tt.interrupt(s, a, drain)

			if tt.wantCode != "" {
				frames := s.all(t)
				var retry string
				for _, f := range frames {
					if f.retry != "" {
						retry = f.retry
					}
				}
				rest := events(frames)
				if len(rest) == 0 {
					t.Fatal("the stream ended without an event")
				}
				end := rest[len(rest)-1]
				ec := contentOf[agent.Error](t, end)
				if end.Type != "error" || !end.IsFinal || ec.Code != tt.wantCode || !ec.Recoverable || retry != tt.wantRetry {
					t.Fatalf("last event %s %s (final %v), retry %q; want a final, recoverable %s with retry %q", end.Type, end.Content, end.IsFinal, retry, tt.wantCode, tt.wantRetry)
				}
				streamed = append(streamed, rest...)
			}

			// The history: the user's message, what was streamed, and the
			// system message that ends an unfinished turn; no state saved.
			wantHistory := append([]string{"user: " + directDraft}, historyOfEvents(t, streamed)...)
			if tt.wantCode == "" {
				wantHistory = append(wantHistory, tt.wantHistory)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				got := e.history(tok, session)
				if len(got) > 0 && got[len(got)-1] == tt.wantHistory || time.Now().After(deadline) {
					equalLines(t, got, wantHistory)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := e.count("workflow_states"); n != 0 {
				t.Errorf("an unfinished turn saved the agent's state")
			}
			if tt.agentCancelled {
				for a.cancelledTurns(t) < 1 {
					if time.Now().After(deadline) {
						t.Fatal("the agent never saw the turn cancelled")
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

func TestChatStreamOneTurnAtATimePerSession(t *testing.T) {
	t.Parallel()
	e := newChatEnv(t)
	a := startAgent(t, 200*time.Millisecond)
	replicaA, replicaB := e.replica(a.addr), e.replica(a.addr)
	tok := e.token(uuid.New())
	session := e.session(tok, map[string]any{"action": "create"})
	body := map[string]string{"session_id": session.String(), "message": directDraft}

	for _, tt := range []struct{ name, second string }{{"same replica", replicaA}, {"another replica", replicaB}} {
		t.Run(tt.name, func(t *testing.T) {
			first := post(t, nil, replicaA, tok, body)
			if f, err := first.next(); err != nil || f.event == nil {
				t.Fatalf("first stream: %+v %v", f, err)
			}
			second := post(t, nil, tt.second, tok, body)
			b, _ := io.ReadAll(second.resp.Body)
			r := resp{code: second.resp.StatusCode, body: b}
			want(t, r, http.StatusConflict, "session_busy")
			if err := apidoc.CheckResponse("POST", "/api/app/chat/stream", r.code, b); err != nil {
				t.Error(err)
			}
			first.all(t)
			// Once the first turn ended the session takes a new one.
			deadline := time.Now().Add(5 * time.Second)
			for {
				third := post(t, nil, tt.second, tok, body)
				if third.resp.StatusCode == http.StatusOK {
					third.all(t)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the session stayed busy: %d", third.resp.StatusCode)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestChatStreamConcurrency runs 200 streams at once and wants every
// goroutine they started gone afterwards. It does not run in parallel:
// the goroutine count is the whole process's.
func TestChatStreamConcurrency(t *testing.T) {
	const streams = 200
	e := newChatEnv(t)
	base := e.replica(startAgent(t, 0).addr)
	type user struct {
		token   string
		session uuid.UUID
	}
	users := make([]user, streams)
	for i := range users {
		tok := e.token(uuid.New())
		users[i] = user{tok, e.session(tok, map[string]any{"action": "create"})}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: streams}
	client := &http.Client{Transport: tr}
	run := func(u user) error {
		s, err := open(client, base, u.token, map[string]string{"session_id": u.session.String(), "message": directDraft})
		if err != nil {
			return err
		}
		defer s.close()
		if s.resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", s.resp.StatusCode)
		}
		var evs []*streamedEvent
		for {
			f, err := s.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if f.event != nil {
				evs = append(evs, f.event)
			}
		}
		if len(evs) < 4 || !evs[len(evs)-1].IsFinal || evs[len(evs)-1].Type == "error" {
			return fmt.Errorf("%d events, the last %+v", len(evs), evs[len(evs)-1])
		}
		return nil
	}
	// Warm up, so the baseline includes the connections that stay.
	if err := run(users[0]); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	start := time.Now()
	errs := make(chan error, streams)
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() { errs <- run(u) })
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			if failed <= 3 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d streams failed", failed, streams)
	}
	t.Logf("%d concurrent streams in %s", streams, time.Since(start).Round(time.Millisecond))
	if n := e.count("workflow_states"); n != streams {
		t.Errorf("%d states saved, want %d", n, streams)
	}

	tr.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChatStreamDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(uuid.New())
	r := e.do(req{method: "POST", path: "/api/app/chat/stream", token: tok, body: map[string]string{"session_id": uuid.NewString(), "message": "hi"}})
	want(t, r, http.StatusServiceUnavailable, "chat_disabled")
}
