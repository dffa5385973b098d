package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/events"
)

// helloPipeline is DESIGN §6's example, verbatim.
const helloPipeline = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

// waiting is a manual start and one WAIT of the given seconds.
func waiting(seconds float64) string {
	return fmt.Sprintf(`{"name": "wait", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "w", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": %g}},
	  {"id": "d", "name": "Done", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"done": true}}}],
	 "connections": {"Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]}, "Pause": {"main": [[{"node": "Done", "type": "main", "index": 0}]]}}}`, seconds)
}

func TestHelloPipelineOverNATS(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.startEngine(t, engineOpts{name: "a"})
	env.submit(t, "hello-1", helloPipeline, nil)
	evs := env.collector.waitFor(t, "hello-1", 10*time.Second, "final event", hasFinal)
	want := []string{"execution_started", "node_started:Start", "node_succeeded:Start", "node_started:Pause", "node_succeeded:Pause",
		"node_started:Greet", "node_succeeded:Greet", "execution_succeeded"}
	if got := names(evs); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v\nwant   %v", got, want)
	}
	var prev uint64
	for i, e := range evs {
		if e.GetSequence() != uint64(i+1) || e.StreamSeq <= prev || e.GetAttempt() != 1 || e.GetWorkflowId() != "wf-hello-1" || e.GetUserId() != "u1" {
			t.Fatalf("event %d: seq %d stream %d attempt %d wf %q", i, e.GetSequence(), e.StreamSeq, e.GetAttempt(), e.GetWorkflowId())
		}
		if e.GetIsFinal() != (i == len(evs)-1) {
			t.Fatalf("event %d is_final=%v", i, e.GetIsFinal())
		}
		prev = e.StreamSeq
	}
	var greet map[string]any
	if err := json.Unmarshal(evs[6].GetOutput(), &greet); err != nil || greet["greeting"] != "hello" || evs[6].GetNodeId() != "n3" {
		t.Fatalf("Greet output %s", evs[6].GetOutput())
	}
	var result map[string]map[string]any
	if err := json.Unmarshal(evs[7].GetOutput(), &result); err != nil || result["Greet"]["greeting"] != "hello" || evs[7].GetStatus() != "success" {
		t.Fatalf("execution result %s", evs[7].GetOutput())
	}
	data, _ := events.SSEData(evs[6].ExecutionEvent)
	if !strings.Contains(string(data), `"greeting":"hello"`) || !strings.Contains(string(data), `"type":"node_succeeded"`) {
		t.Fatalf("SSE data %s", data)
	}
}

func TestBranchOverNATS(t *testing.T) {
	t.Parallel()
	const wf = `{"name": "branch", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "WEBHOOK", "parameters": {}},
	  {"id": "c", "name": "Paid?", "type": "FLOW_NODE", "subtype": "IF", "parameters": {"condition": "input.body.paid"}},
	  {"id": "y", "name": "Ship", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"order": "input.body.order"}}},
	  {"id": "n", "name": "Remind", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"remind": true}}}],
	 "connections": {
	  "Start": {"main": [[{"node": "Paid?", "type": "main", "index": 0}]]},
	  "Paid?": {"main": [[{"node": "Ship", "type": "main", "index": 0}], [{"node": "Remind", "type": "main", "index": 0}]]}}}`
	env := newEnv(t)
	env.startEngine(t, engineOpts{name: "a"})
	tests := []struct {
		id        string
		paid      bool
		ran, skip string
	}{
		{"paid", true, "Ship", "Remind"},
		{"unpaid", false, "Remind", "Ship"},
	}
	for _, tt := range tests {
		env.submit(t, tt.id, wf, map[string]any{"body": map[string]any{"paid": tt.paid, "order": "o-1"}})
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			evs := env.collector.waitFor(t, tt.id, 10*time.Second, "final event", hasFinal)
			got := strings.Join(names(evs), " ")
			if !strings.Contains(got, "node_succeeded:"+tt.ran) || strings.Contains(got, ":"+tt.skip) || !strings.HasSuffix(got, "execution_succeeded") {
				t.Fatalf("events %s", got)
			}
		})
	}
}

func TestRefusesWorkflowsThatCannotRun(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.startEngine(t, engineOpts{name: "a"})
	tests := []struct{ id, workflow, wantErr string }{
		{"code", `{"name": "code", "nodes": [
		  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
		  {"id": "c", "name": "Code", "type": "ACTION_NODE", "subtype": "CODE", "parameters": {"language": "python", "code": "1"}}],
		 "connections": {"Start": {"main": [[{"node": "Code", "type": "main", "index": 0}]]}}}`, "cannot be executed"},
		{"garbage", `["not", "a", "workflow"]`, "not a workflow"},
	}
	for _, tt := range tests {
		env.submit(t, tt.id, tt.workflow, nil)
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			evs := env.collector.waitFor(t, tt.id, 10*time.Second, "final event", hasFinal)
			if len(evs) != 1 || evs[0].GetType() != typeFailed || !strings.Contains(evs[0].GetError(), tt.wantErr) {
				t.Fatalf("events %v, error %q", names(evs), evs[0].GetError())
			}
		})
	}
}

// TestTwoEnginesRunEachExecutionOnce: 100 executions over two engines; each
// node of each execution starts exactly once and each execution has one
// execution_started and one final event.
func TestTwoEnginesRunEachExecutionOnce(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.startEngine(t, engineOpts{name: "a", concurrency: 8})
	env.startEngine(t, engineOpts{name: "b", concurrency: 8})
	const n = 100
	for i := range n {
		env.submit(t, fmt.Sprintf("x-%03d", i), waiting(0.02), map[string]any{"i": i})
	}
	for i := range n {
		id := fmt.Sprintf("x-%03d", i)
		evs := env.collector.waitFor(t, id, 30*time.Second, "final event", hasFinal)
		count := map[string]int{}
		for _, e := range evs {
			count[names([]events.Event{e})[0]]++
		}
		for _, k := range []string{"execution_started", "node_started:Start", "node_started:Pause", "node_started:Done", "execution_succeeded"} {
			if count[k] != 1 {
				t.Fatalf("%s: %s seen %d times; events %v", id, k, count[k], names(evs))
			}
		}
	}
	// Let redeliveries, if any were wrongly made, show up.
	time.Sleep(300 * time.Millisecond)
	for i := range n {
		id := fmt.Sprintf("x-%03d", i)
		if evs := env.collector.events(id); len(evs) != 8 {
			t.Fatalf("%s: %d events after completion, want 8: %v", id, len(evs), names(evs))
		}
	}
}

func TestCancelRunningExecution(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.startEngine(t, engineOpts{name: "a"})
	env.submit(t, "long", waiting(30), nil)
	env.collector.waitFor(t, "long", 10*time.Second, "node_started:Pause", has(typeNode, "Pause"))
	start := time.Now()
	if err := env.bus.RequestCancel(context.Background(), "long", "user asked"); err != nil {
		t.Fatal(err)
	}
	evs := env.collector.waitFor(t, "long", 5*time.Second, "final event", hasFinal)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("execution_canceled after %s, want within a second", took)
	}
	last := evs[len(evs)-1]
	if last.GetType() != typeCanceled || last.GetStatus() != "canceled" {
		t.Fatalf("events %v", names(evs))
	}
	if got := strings.Join(names(evs), " "); strings.Contains(got, "node_started:Done") || !strings.Contains(got, "node_failed:Pause") {
		t.Fatalf("events %s", got)
	}
}

func TestCancelQueuedExecutionIsSkipped(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.startEngine(t, engineOpts{name: "a", concurrency: 1})
	env.submit(t, "first", waiting(30), nil)
	env.collector.waitFor(t, "first", 10*time.Second, "node_started:Pause", has(typeNode, "Pause"))
	env.submit(t, "queued", helloPipeline, nil)
	ctx := context.Background()
	if err := env.bus.RequestCancel(ctx, "queued", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	if err := env.bus.RequestCancel(ctx, "first", ""); err != nil {
		t.Fatal(err)
	}
	evs := env.collector.waitFor(t, "queued", 10*time.Second, "final event", hasFinal)
	if len(evs) != 1 || evs[0].GetType() != typeCanceled || !strings.Contains(evs[0].GetError(), "changed my mind") {
		t.Fatalf("queued execution: events %v", names(evs))
	}
	if first := env.collector.waitFor(t, "first", 5*time.Second, "final event", hasFinal); first[len(first)-1].GetType() != typeCanceled {
		t.Fatalf("first: %v", names(first))
	}
}

// TestShutdownHandsBackAndAnotherEngineCompletes: an engine stopped
// mid-run lets the run go on for its grace period, then hands it back; the
// next engine takes it over as attempt 2 and completes it.
func TestShutdownHandsBackAndAnotherEngineCompletes(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	a := env.startEngine(t, engineOpts{name: "a", grace: 100 * time.Millisecond})
	env.submit(t, "moved", waiting(1), nil)
	env.collector.waitFor(t, "moved", 10*time.Second, "node_started:Pause", has(typeNode, "Pause"))
	a.shutdown(t)
	env.startEngine(t, engineOpts{name: "b"})
	evs := env.collector.waitFor(t, "moved", 10*time.Second, "final event", hasFinal)
	want := "execution_started node_started:Start node_succeeded:Start node_started:Pause node_failed:Pause " +
		"execution_started@2 node_started:Start@2 node_succeeded:Start@2 node_started:Pause@2 node_succeeded:Pause@2 node_started:Done@2 node_succeeded:Done@2 execution_succeeded@2"
	if got := strings.Join(names(evs), " "); got != want {
		t.Fatalf("events\n %s\nwant\n %s", got, want)
	}
}

// TestShutdownFinishesWithinGrace: a run shorter than the grace period ends
// on the engine that started it.
func TestShutdownFinishesWithinGrace(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	a := env.startEngine(t, engineOpts{name: "a", grace: 5 * time.Second})
	env.submit(t, "stays", waiting(0.5), nil)
	env.collector.waitFor(t, "stays", 10*time.Second, "node_started:Pause", has(typeNode, "Pause"))
	a.shutdown(t)
	evs := env.collector.events("stays")
	if len(evs) == 0 || evs[len(evs)-1].GetType() != typeSucceeded || evs[len(evs)-1].GetAttempt() != 1 {
		t.Fatalf("events when Run returned: %v", names(evs))
	}
}

// TestCrashedEngineIsTakenOver: an engine that dies mid-run (its connection
// gone: no acks, no heartbeats, no hand-back) loses the request after
// AckWait; another engine sees the stale claim and completes the execution
// as attempt 2.
func TestCrashedEngineIsTakenOver(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	a := env.startEngine(t, engineOpts{name: "a", ackWait: time.Second})
	env.submit(t, "crash", waiting(0.8), nil)
	env.collector.waitFor(t, "crash", 10*time.Second, "node_started:Pause", has(typeNode, "Pause"))
	a.kill()
	env.startEngine(t, engineOpts{name: "b", ackWait: time.Second})
	evs := env.collector.waitFor(t, "crash", 15*time.Second, "final event", hasFinal)
	last := evs[len(evs)-1]
	if last.GetType() != typeSucceeded || last.GetAttempt() != 2 {
		t.Fatalf("events %v", names(evs))
	}
	finals := 0
	for _, e := range evs {
		if e.GetIsFinal() {
			finals++
		}
	}
	if finals != 1 {
		t.Fatalf("%d final events: %v", finals, names(evs))
	}
}

// TestRepublishedRequestDoesNotRunAgain: the sweeper re-publishing a
// finished execution after the duplicate window is acked without a run.
func TestRepublishedRequestDoesNotRunAgain(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.cfg.DuplicateWindow = 100 * time.Millisecond
	ctx := context.Background()
	if _, err := events.EnsureStream(ctx, env.bus.JetStream(), env.cfg); err != nil {
		t.Fatal(err)
	}
	g := env.startEngine(t, engineOpts{name: "a"})
	env.submit(t, "once", helloPipeline, nil)
	before := env.collector.waitFor(t, "once", 10*time.Second, "final event", hasFinal)
	time.Sleep(150 * time.Millisecond)
	env.submit(t, "once", helloPipeline, nil)
	// Wait until the engine has acked the second copy too.
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := g.worker.cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream >= info.Delivered.Stream && info.NumPending == 0 && info.Delivered.Consumer >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second copy not acked: %+v", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := env.collector.events("once"); len(after) != len(before) {
		t.Fatalf("re-published request ran again: %v", names(after))
	}
}

// TestConcurrentEngineStartup: replicas starting together share one
// consumer and one claim bucket without errors.
func TestConcurrentEngineStartup(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { env.startEngine(t, engineOpts{name: fmt.Sprint(i)}) })
	}
	wg.Wait()
	env.submit(t, "after-startup", helloPipeline, nil)
	if evs := env.collector.waitFor(t, "after-startup", 10*time.Second, "final event", hasFinal); evs[len(evs)-1].GetType() != typeSucceeded {
		t.Fatalf("events %v", names(evs))
	}
}

// TestAttemptsAreBounded: an execution already started MaxAttempts times
// (each interrupted) is marked failed instead of started again.
func TestAttemptsAreBounded(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	g := env.startEngine(t, engineOpts{name: "a"})
	rec, _ := json.Marshal(claimRecord{Engine: "gone", State: stateReleased, Attempt: 3, Heartbeat: time.Now().UnixMilli()})
	if _, err := g.worker.claims.Create(context.Background(), "unlucky", rec); err != nil {
		t.Fatal(err)
	}
	env.submit(t, "unlucky", helloPipeline, nil)
	evs := env.collector.waitFor(t, "unlucky", 10*time.Second, "final event", hasFinal)
	if len(evs) != 1 || evs[0].GetType() != typeFailed || evs[0].GetAttempt() != 4 || !strings.Contains(evs[0].GetError(), "interrupted 3 times") {
		t.Fatalf("events %v: %q", names(evs), evs[0].GetError())
	}
}
