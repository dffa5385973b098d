package worker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/testkit"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/workflow-engine/internal/executor"
)

// testEnv is one test's slice of the local NATS server: its own stream,
// subjects, buckets and consumer, deleted afterwards.
type testEnv struct {
	cfg       events.Config
	consumer  string
	claims    string
	bus       *events.Bus // the "app-svc" side: publishes requests, cancels
	collector *collector
}

func connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(testkit.NATSURL, nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(testkit.MissingServer("NATS", testkit.NATSURL, err))
	}
	return nc
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	cfg := events.DefaultConfig()
	u := testkit.Unique("")
	cfg.Stream, cfg.SubjectPrefix, cfg.CancelBucket = "EXEC_T"+u, "t"+u+".exec", "EXEC_CANCEL_T"+u
	cfg.Storage, cfg.MaxAge = "memory", time.Hour
	nc := connect(t)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bus, err := events.Open(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{cfg: cfg, consumer: "engine_" + u, claims: "EXEC_CLAIMS_T" + u, bus: bus}
	e.collector = newCollector(t, bus)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, cfg.Stream)
		_ = js.DeleteKeyValue(ctx, cfg.CancelBucket)
		_ = js.DeleteKeyValue(ctx, e.claims)
		nc.Close()
	})
	return e
}

// engine is one running engine instance with its own NATS connection, so a
// test can stop it gracefully or kill it.
type engine struct {
	nc     *nats.Conn
	stop   context.CancelFunc
	done   chan struct{} // closed when Run returned, with err set
	err    error
	worker *Worker
}

type engineOpts struct {
	concurrency int
	ackWait     time.Duration
	grace       time.Duration
	name        string
}

func (e *testEnv) startEngine(t testing.TB, o engineOpts) *engine {
	t.Helper()
	if o.concurrency == 0 {
		o.concurrency = 8
	}
	if o.ackWait == 0 {
		o.ackWait = 3 * time.Second
	}
	if o.grace == 0 {
		o.grace = 5 * time.Second
	}
	nc := connect(t)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bus, err := events.Open(ctx, js, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(ctx, Options{
		Bus:      bus,
		Runner:   executor.New(executor.Options{BranchConcurrency: 4, Timeout: 30 * time.Second, MaxOutputBytes: 64 << 10}),
		Logger:   testLogger(),
		Consumer: e.consumer, ClaimBucket: e.claims, Concurrency: o.concurrency,
		AckWait: o.ackWait, MaxDeliver: 5, MaxAttempts: 3, Grace: o.grace, InstanceID: o.name,
		PollWait: 250 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	eng := &engine{nc: nc, stop: stop, done: make(chan struct{}), worker: w}
	go func() { eng.err = w.Run(runCtx); close(eng.done) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-eng.done:
		case <-time.After(15 * time.Second):
		}
		nc.Close()
	})
	return eng
}

// shutdown stops the engine as SIGTERM would and waits for Run to return.
func (g *engine) shutdown(t testing.TB) {
	t.Helper()
	g.stop()
	select {
	case <-g.done:
		if g.err != nil {
			t.Fatalf("engine stopped with %v", g.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("engine did not stop")
	}
}

// kill drops the engine's connection as a crash would: nothing it does
// afterwards reaches NATS.
func (g *engine) kill() { g.nc.Close(); g.stop() }

func (e *testEnv) submit(t testing.TB, id, workflow string, inputs map[string]any) {
	t.Helper()
	in, _ := json.Marshal(inputs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.bus.PublishRequest(ctx, &eventsv1.ExecutionRequest{ExecutionId: id, WorkflowId: "wf-" + id, UserId: "u1", Workflow: []byte(workflow), Inputs: in, RequestId: "req-" + id}); err != nil {
		t.Fatal(err)
	}
}

// collector reads every event of the test's stream, as app-svc would.
type collector struct {
	mu     sync.Mutex
	byExec map[string][]events.Event
	notify chan struct{}
}

func newCollector(t testing.TB, bus *events.Bus) *collector {
	t.Helper()
	c := &collector{byExec: map[string][]events.Event{}, notify: make(chan struct{}, 1)}
	ctx := context.Background()
	cons, err := bus.Stream().OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.Config().EventsWildcard()}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		ev, err := events.DecodeEvent(msg)
		if err != nil {
			t.Errorf("undecodable event: %v", err)
			return
		}
		c.mu.Lock()
		c.byExec[ev.GetExecutionId()] = append(c.byExec[ev.GetExecutionId()], ev)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { go cc.Stop() }) // Stop waits out the pending pull (a second)
	return c
}

func (c *collector) events(id string) []events.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]events.Event(nil), c.byExec[id]...)
}

// waitFor waits until cond holds over an execution's events.
func (c *collector) waitFor(t testing.TB, id string, timeout time.Duration, what string, cond func([]events.Event) bool) []events.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if evs := c.events(id); cond(evs) {
			return evs
		}
		select {
		case <-c.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: %s not seen within %s; events: %v", id, what, timeout, names(c.events(id)))
			return nil
		}
	}
}

func hasFinal(evs []events.Event) bool {
	for _, e := range evs {
		if e.GetIsFinal() {
			return true
		}
	}
	return false
}

func has(typ eventsv1.ExecutionEventType, node string) func([]events.Event) bool {
	return func(evs []events.Event) bool {
		for _, e := range evs {
			if e.GetType() == typ && (node == "" || e.GetNodeName() == node) {
				return true
			}
		}
		return false
	}
}

// names renders events as "type[:node][@attempt]".
func names(evs []events.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		s := events.TypeName(e.GetType())
		if e.GetNodeName() != "" {
			s += ":" + e.GetNodeName()
		}
		if e.GetAttempt() != 1 {
			s += "@" + string(rune('0'+e.GetAttempt()))
		}
		out[i] = s
	}
	return out
}

const (
	typeStarted   = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_STARTED
	typeNode      = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_STARTED
	typeSucceeded = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED
	typeFailed    = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_FAILED
	typeCanceled  = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_CANCELED
)

func testLogger() *slog.Logger {
	if os.Getenv("ENGINE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
