package executor

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/nodes"
)

// HelloPipeline is DESIGN §6's example, verbatim.
const helloPipeline = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

func workflow(t testing.TB, src string) nodes.Workflow {
	t.Helper()
	var w nodes.Workflow
	if err := json.Unmarshal([]byte(src), &w); err != nil {
		t.Fatalf("workflow JSON: %v", err)
	}
	return w
}

// recorder is a Sink that keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) sink(_ context.Context, ev Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

// trace renders the events as "kind:node:status" lines.
func (r *recorder) trace() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, map[Kind]string{NodeStarted: "started", NodeSucceeded: "succeeded", NodeFailed: "failed"}[e.Kind]+":"+e.NodeName+":"+e.Status)
	}
	return out
}

func (r *recorder) of(name string, kind Kind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.NodeName == name && e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// run validates and runs a workflow with a fresh recorder.
func run(t *testing.T, r *Runner, ctx context.Context, src string, inputs map[string]any) (Result, *recorder) {
	t.Helper()
	w := workflow(t, src)
	if err := r.Validate(w); err != nil {
		t.Fatalf("validate: %v", err)
	}
	rec := &recorder{}
	res := r.Run(ctx, &Execution{ID: "e1", WorkflowID: "w1", Workflow: w, Inputs: inputs}, rec.sink)
	return res, rec
}

func testRunner() *Runner {
	return New(Options{BranchConcurrency: 4, Timeout: 10 * time.Second, MaxOutputBytes: 64 << 10})
}

func resultOf(t *testing.T, res Result) map[string]any {
	t.Helper()
	if res.Outcome != Succeeded {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
	var m map[string]any
	if err := json.Unmarshal(res.Output, &m); err != nil {
		t.Fatalf("result %s: %v", res.Output, err)
	}
	return m
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
