package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/pkg/auth"
	execevents "github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/pkg/testkit"
	"github.com/wfagent/gateway/services/app-svc/internal/executions"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

// Executions are tested end to end: app-svc's routes on a real HTTP
// server (flushing is the point of SSE), the real PostgreSQL, the real
// NATS JetStream (each test on its own stream, buckets and consumers) and
// the real workflow-engine binary, built once per run.

// branchPipeline runs Big or Small by the IF, then Done.
const branchPipeline = `{"name": "branch", "nodes": [
  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "c", "name": "Big?", "type": "FLOW_NODE", "subtype": "IF", "parameters": {"condition": "input.amount > 100"}},
  {"id": "y", "name": "Big", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"size": "big"}}},
  {"id": "n", "name": "Small", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"size": "small"}}},
  {"id": "d", "name": "Done", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"size": "input.size"}}}],
 "connections": {
  "Start": {"main": [[{"node": "Big?", "type": "main", "index": 0}]]},
  "Big?": {"main": [[{"node": "Big", "type": "main", "index": 0}], [{"node": "Small", "type": "main", "index": 0}]]},
  "Big": {"main": [[{"node": "Done", "type": "main", "index": 0}]]},
  "Small": {"main": [[{"node": "Done", "type": "main", "index": 0}]]}}}`

// waitPipeline waits the given seconds (long enough to cancel).
func waitPipeline(seconds float64) string {
	return fmt.Sprintf(`{"name": "slow", "nodes": [
  {"id": "s", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "w", "name": "Long wait", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": %g}}],
 "connections": {"Start": {"main": [[{"node": "Long wait", "type": "main", "index": 0}]]}}}`, seconds)
}

// cronPipeline is valid but not executable (the engine runs no schedules).
const cronPipeline = `{"name": "nightly", "nodes": [
  {"id": "c", "name": "Nightly", "type": "TRIGGER_NODE", "subtype": "CRON", "parameters": {"cron_expression": "0 3 * * *"}}],
 "connections": {}}`

func TestExecutions(t *testing.T) {
	bin := buildEngine(t)
	t.Run("hello and branch run to success, SSE in order, Last-Event-ID resumes", func(t *testing.T) {
		t.Parallel()
		h := newExecHarness(t, testkit.NATSURL)
		app := h.instance(instanceOptions{})
		h.startEngine(t, bin)
		tok := h.token(uuid.New())

		hello := app.createWorkflow(tok, helloPipeline)
		id := app.execute(tok, hello, `{"inputs": {"who": "tester"}}`, nil)
		evs := app.sse(tok, id, "", http.StatusOK)
		wantTypes(t, evs, "execution_started", "node_started", "node_succeeded", "node_started", "node_succeeded",
			"node_started", "node_succeeded", "execution_succeeded")
		wantNodeOrder(t, evs, "n1", "n1", "n2", "n2", "n3", "n3")
		if out := string(evs[6].Data["output"]); !strings.Contains(out, `"greeting":"hello"`) {
			t.Fatalf("Greet output %s", out)
		}
		e := app.waitStatus(tok, id, executions.StatusSuccess)
		if !strings.Contains(string(e.Result), `"greeting":"hello"`) || len(e.NodeResults) != 3 || e.StartedAt == nil || e.FinishedAt == nil || e.DurationMS == nil {
			t.Fatalf("execution %+v", e)
		}
		if n := e.NodeResults["n3"]; n.Status != "success" || !strings.Contains(string(n.Output), `"greeting":"hello"`) || n.FinishedAt == nil {
			t.Fatalf("Greet's node result %+v", n)
		}
		if e.Inputs == nil || !strings.Contains(string(e.Inputs), `"who":"tester"`) || e.WorkflowVersion != 1 {
			t.Fatalf("inputs %s, version %d", e.Inputs, e.WorkflowVersion)
		}

		// Reconnecting after the third event yields exactly the rest.
		rest := app.sse(tok, id, evs[2].ID, http.StatusOK)
		if len(rest) != len(evs)-3 {
			t.Fatalf("resumed with %d events, want %d", len(rest), len(evs)-3)
		}
		for i, ev := range rest {
			if ev.ID != evs[i+3].ID || ev.Raw != evs[i+3].Raw {
				t.Fatalf("resumed event %d: %s %s, want %s %s", i, ev.ID, ev.Raw, evs[i+3].ID, evs[i+3].Raw)
			}
		}
		// After the terminal event there is nothing left: 204.
		app.sse(tok, id, evs[len(evs)-1].ID, http.StatusNoContent)

		branch := app.createWorkflow(tok, branchPipeline)
		bid := app.execute(tok, branch, `{"inputs": {"amount": 150}}`, nil)
		bevs := app.sse(tok, bid, "", http.StatusOK)
		wantTypes(t, bevs, "execution_started", "node_started", "node_succeeded", "node_started", "node_succeeded",
			"node_started", "node_succeeded", "node_started", "node_succeeded", "execution_succeeded")
		wantNodeOrder(t, bevs, "t", "t", "c", "c", "y", "y", "d", "d")
		if ports := string(bevs[4].Data["output_ports"]); ports != "" {
			t.Logf("IF ports in SSE: %s", ports) // not part of the SSE contract
		}
		be := app.waitStatus(tok, bid, executions.StatusSuccess)
		if _, ran := be.NodeResults["n"]; ran || !strings.Contains(string(be.Result), `"size":"big"`) {
			t.Fatalf("branch result %s, nodes %v", be.Result, be.NodeResults)
		}
		if ports := be.NodeResults["c"].OutputPorts; len(ports) != 1 || ports[0] != "true" {
			t.Fatalf("IF output ports %v", ports)
		}

		// History: newest first, paginated; each workflow its own.
		second := app.execute(tok, hello, "", nil)
		page1 := app.history(tok, hello, "?limit=1")
		if len(page1.Executions) != 1 || page1.Executions[0].ID.String() != second || page1.NextCursor == nil {
			t.Fatalf("history page 1: %+v", page1)
		}
		page2 := app.history(tok, hello, "?limit=1&cursor="+*page1.NextCursor)
		if len(page2.Executions) != 1 || page2.Executions[0].ID.String() != id || page2.NextCursor != nil {
			t.Fatalf("history page 2: %+v", page2)
		}
		if all := app.history(tok, branch, ""); len(all.Executions) != 1 || all.Executions[0].ID.String() != bid {
			t.Fatalf("branch history: %+v", all)
		}
	})

	t.Run("two instances apply each event once and both stream live", func(t *testing.T) {
		t.Parallel()
		h := newExecHarness(t, testkit.NATSURL)
		drainB := make(chan struct{})
		a := h.instance(instanceOptions{})
		b := h.instance(instanceOptions{draining: drainB})
		h.startEngine(t, bin)
		tok := h.token(uuid.New())
		wf := a.createWorkflow(tok, helloPipeline)

		const n = 8
		ids := make([]string, n)
		for i := range ids {
			ids[i] = a.execute(tok, wf, "", nil)
		}
		// Live through the other instance, from the start.
		evs := b.sse(tok, ids[0], "", http.StatusOK)
		if len(evs) != 8 || evs[len(evs)-1].Type() != "execution_succeeded" {
			t.Fatalf("events through B: %v", eventTypes(evs))
		}
		for _, id := range ids {
			e := b.waitStatus(tok, id, executions.StatusSuccess)
			if len(e.NodeResults) != 3 {
				t.Fatalf("execution %s node results %v", id, e.NodeResults)
			}
		}
		// Every event of the stream applied exactly once between the two.
		total := h.countEvents(ids)
		if total != 8*n {
			t.Fatalf("%d events in the stream, want %d", total, 8*n)
		}
		if got := a.consumer.Applied() + b.consumer.Applied(); got != int64(total) {
			t.Fatalf("applied %d (A %d, B %d), want %d", got, a.consumer.Applied(), b.consumer.Applied(), total)
		}

		// A drain ends B's open streams with a retry hint; A resumes them.
		slow := a.createWorkflow(tok, waitPipeline(1))
		sid := a.execute(tok, slow, "", nil)
		resp := b.open(tok, sid, "")
		first := readEvent(t, bufio.NewReader(resp.Body))
		close(drainB)
		rest, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(rest), "retry: 2000") {
			t.Fatalf("drained stream ended with %q", rest)
		}
		resumed := a.sse(tok, sid, lastID(first, string(rest)), http.StatusOK)
		if resumed[len(resumed)-1].Type() != "execution_succeeded" {
			t.Fatalf("resumed after the drain: %v", eventTypes(resumed))
		}
	})

	t.Run("cancel a queued and a running execution", func(t *testing.T) {
		t.Parallel()
		h := newExecHarness(t, testkit.NATSURL)
		app := h.instance(instanceOptions{})
		tok := h.token(uuid.New())
		wf := app.createWorkflow(tok, waitPipeline(30))

		// Queued: no engine consumes yet.
		queued := app.execute(tok, wf, "", nil)
		r := app.do("POST", "/api/app/executions/"+queued+"/cancel", tok, "", nil)
		want(t, r, http.StatusAccepted, "")
		if !strings.Contains(string(r.body), `"status":"new"`) {
			t.Fatalf("cancel of a queued execution: %s", r.body)
		}
		h.startEngine(t, bin)
		qe := app.waitStatus(tok, queued, executions.StatusCanceled)
		if qe.Error == nil || len(qe.NodeResults) != 0 {
			t.Fatalf("the queued execution ran: %+v", qe)
		}

		// Running: canceled inside its 30 s wait.
		running := app.execute(tok, wf, "", nil)
		resp := app.open(tok, running, "")
		br := bufio.NewReader(resp.Body)
		for ev := readEvent(t, br); ev.Data["node_id"] == nil || ev.Type() != "node_started" || string(ev.Data["node_id"]) != `"w"`; ev = readEvent(t, br) {
		}
		start := time.Now()
		want(t, app.do("POST", "/api/app/executions/"+running+"/cancel", tok, "", nil), http.StatusAccepted, "")
		var last sseEvent
		for !last.Final() {
			last = readEvent(t, br)
		}
		resp.Body.Close()
		if last.Type() != "execution_canceled" || time.Since(start) > 5*time.Second {
			t.Fatalf("final event %s after %s", last.Raw, time.Since(start))
		}
		app.waitStatus(tok, running, executions.StatusCanceled)
		want(t, app.do("POST", "/api/app/executions/"+running+"/cancel", tok, "", nil), http.StatusConflict, "execution_finished")
	})

	t.Run("idempotency key", func(t *testing.T) {
		t.Parallel()
		h := newExecHarness(t, testkit.NATSURL)
		app := h.instance(instanceOptions{})
		alice, bob := uuid.New(), uuid.New()
		tok := h.token(alice)
		wf := app.createWorkflow(tok, helloPipeline)
		other := app.createWorkflow(tok, branchPipeline)
		key := map[string]string{"Idempotency-Key": "order-42"}

		first := app.do("POST", "/api/app/workflows/"+wf+"/execute", tok, `{"inputs": {"a": 1, "b": [1, 2]}}`, key)
		want(t, first, http.StatusAccepted, "")
		// Concurrent repeats (key order and spacing differ) all get it.
		var wg sync.WaitGroup
		got := make([]resp, 5)
		for i := range got {
			wg.Go(func() {
				got[i] = app.do("POST", "/api/app/workflows/"+wf+"/execute", tok, `{"inputs":{"b":[1,2],"a":1}}`, key)
			})
		}
		wg.Wait()
		for _, r := range got {
			want(t, r, http.StatusAccepted, "")
			if execID(t, r) != execID(t, first) || r.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("repeat: %s %v, first %s", r.body, r.header, first.body)
			}
		}
		tests := []struct {
			name     string
			token    string
			workflow string
			body     string
			code     int
			errCode  string
			sameID   bool
		}{
			{"other inputs", tok, wf, `{"inputs": {"a": 2}}`, http.StatusConflict, "idempotency_key_reused", false},
			{"other workflow", tok, other, `{"inputs": {"a": 1, "b": [1, 2]}}`, http.StatusConflict, "idempotency_key_reused", false},
			{"another user's key is theirs", h.token(bob), app.createWorkflow(h.token(bob), helloPipeline), `{"inputs": {"a": 1, "b": [1, 2]}}`, http.StatusAccepted, "", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := app.do("POST", "/api/app/workflows/"+tt.workflow+"/execute", tt.token, tt.body, key)
				want(t, r, tt.code, tt.errCode)
				if tt.code == http.StatusAccepted && (execID(t, r) == execID(t, first)) != tt.sameID {
					t.Fatalf("same execution %v, want %v", !tt.sameID, tt.sameID)
				}
			})
		}
		// Past the window the key starts a new execution.
		if _, err := h.admin.Exec(context.Background(), `update workflow_executions set created_at = now() - interval '25 hours' where id = $1`, execID(t, first)); err != nil {
			t.Fatal(err)
		}
		later := app.do("POST", "/api/app/workflows/"+wf+"/execute", tok, `{"inputs": {"a": 9}}`, key)
		want(t, later, http.StatusAccepted, "")
		if execID(t, later) == execID(t, first) || later.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("expired key replayed: %s", later.body)
		}
		if n := h.countRows(`select count(*) from workflow_executions where user_id = $1`, alice); n != 2 {
			t.Fatalf("%d executions stored, want 2", n)
		}
	})

	t.Run("refusals and other users' executions are 404", func(t *testing.T) {
		t.Parallel()
		h := newExecHarness(t, testkit.NATSURL)
		app := h.instance(instanceOptions{})
		owner, stranger := h.token(uuid.New()), h.token(uuid.New())
		wf := app.createWorkflow(owner, helloPipeline)
		id := app.execute(owner, wf, "", nil)
		cron := app.createWorkflow(owner, cronPipeline)

		tests := []struct {
			name, method, path, token, body string
			header                          map[string]string
			code                            int
			errCode                         string
		}{
			{"not executable", "POST", "/api/app/workflows/" + cron + "/execute", owner, "", nil, http.StatusBadRequest, "workflow_not_executable"},
			{"inputs not an object", "POST", "/api/app/workflows/" + wf + "/execute", owner, `{"inputs": [1]}`, nil, http.StatusBadRequest, "validation_error"},
			{"unknown field", "POST", "/api/app/workflows/" + wf + "/execute", owner, `{"input": {}}`, nil, http.StatusBadRequest, "validation_error"},
			{"bad idempotency key", "POST", "/api/app/workflows/" + wf + "/execute", owner, "", map[string]string{"Idempotency-Key": "with space"}, http.StatusBadRequest, "validation_error"},
			{"bad Last-Event-ID", "GET", "/api/app/executions/" + id + "/events", owner, "", map[string]string{"Last-Event-ID": "x"}, http.StatusBadRequest, "validation_error"},
			{"no token", "GET", "/api/app/executions/" + id, "", "", nil, http.StatusUnauthorized, ""},
			{"not a uuid", "GET", "/api/app/executions/nope", owner, "", nil, http.StatusNotFound, "not_found"},
			{"stranger executes", "POST", "/api/app/workflows/" + wf + "/execute", stranger, "", nil, http.StatusNotFound, "not_found"},
			{"stranger reads", "GET", "/api/app/executions/" + id, stranger, "", nil, http.StatusNotFound, "not_found"},
			{"stranger cancels", "POST", "/api/app/executions/" + id + "/cancel", stranger, "", nil, http.StatusNotFound, "not_found"},
			{"stranger streams", "GET", "/api/app/executions/" + id + "/events", stranger, "", nil, http.StatusNotFound, "not_found"},
			{"stranger's history", "GET", "/api/app/workflows/" + wf + "/history", stranger, "", nil, http.StatusNotFound, "not_found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want(t, app.do(tt.method, tt.path, tt.token, tt.body, tt.header), tt.code, tt.errCode)
			})
		}
		r := app.do("POST", "/api/app/workflows/"+cron+"/execute", owner, "", nil)
		if !strings.Contains(string(r.body), `"details"`) {
			t.Fatalf("not executable without details: %s", r.body)
		}
		if n := h.countRows(`select count(*) from workflow_executions where workflow_id = $1`, uuid.MustParse(cron)); n != 0 {
			t.Fatalf("a refused execution was stored (%d)", n)
		}
	})

	t.Run("NATS down at execute time: 202, and the run completes once it is back", func(t *testing.T) {
		t.Parallel()
		ns := startNATS(t)
		h := newExecHarness(t, ns.url)
		app := h.instance(instanceOptions{sweepInterval: 200 * time.Millisecond, sweepGrace: 500 * time.Millisecond})
		h.startEngine(t, bin)
		tok := h.token(uuid.New())
		wf := app.createWorkflow(tok, helloPipeline)

		ns.stop()
		start := time.Now()
		id := app.execute(tok, wf, "", nil)
		// The publish is bounded at 1 s here; the rest is slack for a
		// loaded machine. Unbounded, it would hang until the test timeout.
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("execute took %s with NATS down", took)
		}
		if e := app.get(tok, id); e.Status != executions.StatusNew {
			t.Fatalf("status %s while NATS is down", e.Status)
		}
		ns.start()
		e := app.waitStatus(tok, id, executions.StatusSuccess)
		if !strings.Contains(string(e.Result), `"greeting":"hello"`) {
			t.Fatalf("result %s", e.Result)
		}
		evs := app.sse(tok, id, "", http.StatusOK)
		if len(evs) != 8 {
			t.Fatalf("events after the outage: %v", eventTypes(evs))
		}
	})
}

// ---- the harness ----

// execHarness is one test's world: a fresh database, a NATS stream,
// buckets and consumer names no other test uses.
type execHarness struct {
	t        testing.TB
	natsURL  string
	js       jetstream.JetStream
	cfg      execevents.Config
	durable  string
	claims   string
	admin    *pgxpool.Pool
	store    *store.Store
	codec    *workflows.Codec
	authCfg  auth.Config
	verifier *auth.Verifier
}

func newExecHarness(t testing.TB, natsURL string) *execHarness {
	t.Helper()
	e := newEnv(t) // the database, the codec and the token settings
	nc, err := nats.Connect(natsURL, nats.Timeout(3*time.Second), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(testkit.MissingServer("NATS", natsURL, err))
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	u := testkit.Unique("")
	cfg := execevents.DefaultConfig()
	cfg.Stream, cfg.SubjectPrefix, cfg.CancelBucket = "EXEC_T"+u, "t"+u+".exec", "EXEC_CANCEL_T"+u
	cfg.MaxAge = time.Hour
	if natsURL == testkit.NATSURL {
		cfg.Storage = "memory" // the embedded server restarts keep theirs on disk
	}
	h := &execHarness{t: t, natsURL: natsURL, js: js, cfg: cfg, durable: "app_" + u, claims: "EXEC_CLAIMS_T" + u,
		admin: e.admin, store: e.store, codec: e.codec, authCfg: e.auth}
	if h.verifier, err = auth.NewVerifier(context.Background(), e.auth); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, cfg.Stream)
		_ = js.DeleteKeyValue(ctx, cfg.CancelBucket)
		_ = js.DeleteKeyValue(ctx, h.claims)
	})
	return h
}

func (h *execHarness) token(user uuid.UUID) string {
	h.t.Helper()
	tok, err := authMint(h.authCfg, user)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *execHarness) countRows(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.admin.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// countEvents counts the events of the executions in the stream.
func (h *execHarness) countEvents(ids []string) int {
	h.t.Helper()
	s, err := h.js.Stream(context.Background(), h.cfg.Stream)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(h.cfg.EventsWildcard()))
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, id := range ids {
		n += int(info.State.Subjects[h.cfg.EventSubject(id)])
	}
	return n
}

type instanceOptions struct {
	sweepInterval, sweepGrace time.Duration
	draining                  chan struct{}
}

// appInstance is one app-svc replica: its routes behind the real token
// check and limits on a real HTTP server, its Service, event consumer and
// sweeper.
type appInstance struct {
	t        testing.TB
	url      string
	engine   *gin.Engine
	consumer *executions.Consumer
}

func (h *execHarness) instance(o instanceOptions) *appInstance {
	t := h.t
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	bus, err := execevents.Open(octx, h.js, h.cfg)
	if err != nil {
		t.Fatalf("execevents.Open: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := executions.New(executions.Options{DB: h.store, Log: log, PublishTimeout: time.Second})
	svc.UseBus(bus)
	consumer := executions.NewConsumer(h.store, bus, h.durable, 4, log)
	wg.Go(func() {
		if err := consumer.Run(ctx); err != nil {
			t.Errorf("consumer: %v", err)
		}
	})
	if o.sweepInterval > 0 {
		sw := executions.NewSweeper(h.store, bus, o.sweepInterval, o.sweepGrace, log)
		wg.Go(func() { sw.Run(ctx) })
	}
	draining := o.draining
	if draining == nil {
		draining = make(chan struct{})
	}
	engine, _, err := httpx.NewEngine(httpx.Options{Service: "app-svc-test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	x := &Executions{Service: svc, MaxBodyBytes: testBodyLimit, Heartbeat: 100 * time.Millisecond, Draining: draining, Log: log}
	Register(engine, Deps{
		DB: h.store, Codec: h.codec, Auth: h.verifier.Middleware(),
		Limit:        ratelimit.Middleware(ratelimit.NewMemory(), unlimited(t), ratelimit.ByUser, ratelimit.Options{Logger: log}),
		MaxBodyBytes: testBodyLimit, Mount: []func(gin.IRouter){x.Mount},
	})
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &appInstance{t: t, url: srv.URL, engine: engine, consumer: consumer}
}

func unlimited(t testing.TB) ratelimit.Table {
	table, err := ratelimit.DefaultTable(ratelimit.App).ApplyOverrides("app.global=1000000/hour,app.workflows=1000000/hour,app.workflow_execute=1000000/hour,app.executions=1000000/hour")
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// startEngine runs the workflow-engine binary on the harness's stream
// until the test ends.
func (h *execHarness) startEngine(t testing.TB, bin string) {
	t.Helper()
	port := testkit.FreePort(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(port), "NATS_URL="+h.natsURL, "LOG_FORMAT=json", "LOG_LEVEL=warn", "SHUTDOWN_TIMEOUT=3s", "DRAIN_DELAY=0s",
		"EXEC_STREAM="+h.cfg.Stream, "EXEC_SUBJECT_PREFIX="+h.cfg.SubjectPrefix, "EXEC_CANCEL_BUCKET="+h.cfg.CancelBucket,
		"EXEC_STREAM_STORAGE="+h.cfg.Storage, "EXEC_STREAM_MAX_AGE=1h",
		"ENGINE_CONSUMER=engine_"+h.durable, "ENGINE_CLAIM_BUCKET="+h.claims, "ENGINE_CONCURRENCY=32")
	var logs testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(8 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the engine never became ready:\n%s", logs.String())
}

// buildEngine builds services/workflow-engine into the test's temp dir.
func buildEngine(t testing.TB) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "..", "workflow-engine"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "workflow-engine")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", src, err, b)
	}
	return out
}

// ---- HTTP and SSE helpers ----

func (a *appInstance) do(method, path, token, body string, header map[string]string) resp {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	out := resp{code: r.StatusCode, header: r.Header, body: b}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		e := &env{t: a.t, engine: a.engine}
		if tmpl := e.template(method, req.URL.Path); tmpl != "" {
			if err := apidoc.CheckResponse(method, tmpl, r.StatusCode, b); err != nil {
				a.t.Errorf("response does not match openapi.json: %v\n%s", err, b)
			}
		}
	}
	return out
}

func (a *appInstance) createWorkflow(token, body string) string {
	a.t.Helper()
	r := a.do("POST", "/api/app/workflows", token, body, nil)
	want(a.t, r, http.StatusCreated, "")
	var w workflowJSON
	r.json(a.t, &w)
	return w.ID.String()
}

func (a *appInstance) execute(token, workflowID, body string, header map[string]string) string {
	a.t.Helper()
	r := a.do("POST", "/api/app/workflows/"+workflowID+"/execute", token, body, header)
	want(a.t, r, http.StatusAccepted, "")
	if !strings.Contains(string(r.body), `"status":"new"`) || r.header.Get("Location") == "" {
		a.t.Fatalf("execute answered %s (Location %q)", r.body, r.header.Get("Location"))
	}
	return execID(a.t, r)
}

func execID(t testing.TB, r resp) string {
	t.Helper()
	var b executeResponse
	r.json(t, &b)
	return b.ExecutionID.String()
}

func (a *appInstance) get(token, id string) executionJSON {
	a.t.Helper()
	r := a.do("GET", "/api/app/executions/"+id, token, "", nil)
	want(a.t, r, http.StatusOK, "")
	var e executionJSON
	r.json(a.t, &e)
	return e
}

func (a *appInstance) history(token, workflowID, query string) executionListJSON {
	a.t.Helper()
	r := a.do("GET", "/api/app/workflows/"+workflowID+"/history"+query, token, "", nil)
	want(a.t, r, http.StatusOK, "")
	var l executionListJSON
	r.json(a.t, &l)
	return l
}

// waitStatus polls the execution until it has the status (the event
// consumer applies events a moment after SSE clients see them).
func (a *appInstance) waitStatus(token, id, status string) executionJSON {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e := a.get(token, id)
		if e.Status == status {
			return e
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("execution %s is %s, want %s", id, e.Status, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open starts an event stream and checks its headers.
func (a *appInstance) open(token, id, lastEventID string) *http.Response {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.url+"/api/app/executions/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	if r.StatusCode == http.StatusOK && r.Header.Get("Content-Type") != "text/event-stream" {
		a.t.Fatalf("event stream Content-Type %q", r.Header.Get("Content-Type"))
	}
	return r
}

// sse reads a whole event stream (to its final event) and checks it.
func (a *appInstance) sse(token, id, lastEventID string, wantCode int) []sseEvent {
	a.t.Helper()
	r := a.open(token, id, lastEventID)
	defer r.Body.Close()
	if r.StatusCode != wantCode {
		b, _ := io.ReadAll(r.Body)
		a.t.Fatalf("event stream: %d %s, want %d", r.StatusCode, b, wantCode)
	}
	if wantCode != http.StatusOK {
		return nil
	}
	br := bufio.NewReader(r.Body)
	var out []sseEvent
	for len(out) == 0 || !out[len(out)-1].Final() {
		ev := readEvent(a.t, br)
		if len(out) > 0 {
			prev, _ := strconv.ParseUint(out[len(out)-1].ID, 10, 64)
			if cur, _ := strconv.ParseUint(ev.ID, 10, 64); cur <= prev {
				a.t.Fatalf("event id %s after %d", ev.ID, prev)
			}
		}
		if ev.Data["execution_id"] == nil || string(ev.Data["execution_id"]) != strconv.Quote(id) {
			a.t.Fatalf("event of another execution: %s", ev.Raw)
		}
		out = append(out, ev)
	}
	if rest, _ := io.ReadAll(br); strings.TrimSpace(strings.ReplaceAll(string(rest), ": ping", "")) != "" {
		a.t.Fatalf("the stream went on after the final event: %q", rest)
	}
	return out
}

type sseEvent struct {
	ID   string
	Raw  string
	Data map[string]json.RawMessage
}

func (e sseEvent) Type() string {
	var s string
	_ = json.Unmarshal(e.Data["type"], &s)
	return s
}

func (e sseEvent) Final() bool { return string(e.Data["is_final"]) == "true" }

// readEvent reads the next event, skipping comments (the heartbeat).
func readEvent(t testing.TB, br *bufio.Reader) sseEvent {
	t.Helper()
	var ev sseEvent
	deadline := time.AfterFunc(20*time.Second, func() { t.Errorf("no event within 20 s") })
	defer deadline.Stop()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended before an event: %v (%q)", err, line)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && ev.Raw != "":
			if err := json.Unmarshal([]byte(ev.Raw), &ev.Data); err != nil {
				t.Fatalf("event data %q: %v", ev.Raw, err)
			}
			return ev
		case strings.HasPrefix(line, "id: "):
			ev.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ev.Raw = strings.TrimPrefix(line, "data: ")
		}
	}
}

// lastID is the id of the last event in first and the raw rest of a stream.
func lastID(first sseEvent, rest string) string {
	id := first.ID
	for _, line := range strings.Split(rest, "\n") {
		if s, ok := strings.CutPrefix(line, "id: "); ok {
			id = s
		}
	}
	return id
}

func eventTypes(evs []sseEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type()
	}
	return out
}

func wantTypes(t *testing.T, evs []sseEvent, want ...string) {
	t.Helper()
	if got := eventTypes(evs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("event types\n got %v\nwant %v", got, want)
	}
}

// wantNodeOrder checks the node ids of the node events, in order.
func wantNodeOrder(t *testing.T, evs []sseEvent, want ...string) {
	t.Helper()
	var got []string
	for _, e := range evs {
		if raw, ok := e.Data["node_id"]; ok {
			var id string
			_ = json.Unmarshal(raw, &id)
			got = append(got, id)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("node order %v, want %v", got, want)
	}
}

// ---- an embedded NATS server the test stops and starts ----

type embeddedNATS struct {
	t    *testing.T
	url  string
	port int
	dir  string
	mu   sync.Mutex
	srv  *natsserver.Server
}

func startNATS(t *testing.T) *embeddedNATS {
	t.Helper()
	n := &embeddedNATS{t: t, port: testkit.FreePort(t), dir: t.TempDir()}
	n.url = "nats://127.0.0.1:" + strconv.Itoa(n.port)
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *embeddedNATS) start() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir, NoSigs: true, NoLog: true})
	if err != nil {
		n.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("embedded NATS did not start")
	}
	n.srv = srv
}

func (n *embeddedNATS) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}
