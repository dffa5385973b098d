package executor

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/nodes"
)

func TestRegistryMatchesCatalogue(t *testing.T) {
	r := testRunner()
	for _, s := range nodes.Catalogue() {
		_, has := r.funcs[s.Key()]
		if s.Executable != has {
			t.Errorf("%s: executable=%v in pkg/nodes, implemented=%v here", s.Key(), s.Executable, has)
		}
	}
}

func TestHelloPipeline(t *testing.T) {
	res, rec := run(t, testRunner(), context.Background(), helloPipeline, nil)
	equalLines(t, rec.trace(), []string{
		"started:Start:running", "succeeded:Start:success",
		"started:Pause:running", "succeeded:Pause:success",
		"started:Greet:running", "succeeded:Greet:success",
	})
	greet := rec.of("Greet", NodeSucceeded)[0]
	var out map[string]any
	if err := json.Unmarshal(greet.Output, &out); err != nil || out["greeting"] != "hello" {
		t.Fatalf("Greet output %s", greet.Output)
	}
	if greet.NodeID != "n3" || greet.Try != 1 || strings.Join(greet.Ports, ",") != "main" {
		t.Fatalf("Greet event %+v", greet)
	}
	if g, _ := resultOf(t, res)["Greet"].(map[string]any); g["greeting"] != "hello" {
		t.Fatalf("result %s", res.Output)
	}
}

const branching = `{"name": "branch", "nodes": [
  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "c", "name": "Big?", "type": "FLOW_NODE", "subtype": "IF", "parameters": {"condition": "input.amount > 100"}},
  {"id": "y", "name": "Big", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"size": "big"}, "expressions": {"amount": "input.amount", "who": "nodes.Start.user"}}},
  {"id": "n", "name": "Small", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"size": "small"}}},
  {"id": "d", "name": "Done", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"size": "input.size"}}}],
 "connections": {
  "Start": {"main": [[{"node": "Big?", "type": "main", "index": 0}]]},
  "Big?": {"main": [[{"node": "Big", "type": "main", "index": 0}], [{"node": "Small", "type": "main", "index": 0}]]},
  "Big": {"main": [[{"node": "Done", "type": "main", "index": 0}]]},
  "Small": {"main": [[{"node": "Done", "type": "main", "index": 0}]]}}}`

func TestIfRunsTheRightBranch(t *testing.T) {
	tests := []struct {
		amount       float64
		ran, skipped string
		size, port   string
	}{
		{250, "Big", "Small", "big", "true"},
		{5, "Small", "Big", "small", "false"},
	}
	for _, tt := range tests {
		t.Run(tt.ran, func(t *testing.T) {
			res, rec := run(t, testRunner(), context.Background(), branching, map[string]any{"amount": tt.amount, "user": "u1"})
			if len(rec.of(tt.ran, NodeSucceeded)) != 1 || len(rec.of(tt.skipped, NodeStarted)) != 0 {
				t.Fatalf("events %v", rec.trace())
			}
			if ports := rec.of("Big?", NodeSucceeded)[0].Ports; strings.Join(ports, ",") != tt.port {
				t.Fatalf("IF ports %v, want %s", ports, tt.port)
			}
			done, _ := resultOf(t, res)["Done"].(map[string]any)
			if done["size"] != tt.size {
				t.Fatalf("result %s", res.Output)
			}
			if tt.ran == "Big" {
				var big map[string]any
				_ = json.Unmarshal(rec.of("Big", NodeSucceeded)[0].Output, &big)
				if big["amount"] != 250.0 || big["who"] != "u1" || big["size"] != "big" {
					t.Fatalf("Big output %v", big)
				}
			}
		})
	}
}

func TestSwitchFilterMerge(t *testing.T) {
	const wf = `{"name": "flow", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "s", "name": "Route", "type": "FLOW_NODE", "subtype": "SWITCH", "parameters": {"cases": [{"name": "high", "condition": "input.priority == 'high'"}, {"name": "low", "condition": "input.priority == 'low'"}]}},
	  {"id": "h", "name": "High", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"lane": "high"}}},
	  {"id": "l", "name": "Low", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"lane": "low"}}},
	  {"id": "o", "name": "Other", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"lane": "other"}}},
	  {"id": "f", "name": "Paid", "type": "FLOW_NODE", "subtype": "FILTER", "parameters": {"items": "nodes.Start.orders", "condition": "item.status == 'paid'"}},
	  {"id": "m", "name": "Join", "type": "FLOW_NODE", "subtype": "MERGE", "parameters": {"mode": "append"}}],
	 "connections": {
	  "Start": {"main": [[{"node": "Route", "type": "main", "index": 0}, {"node": "Paid", "type": "main", "index": 0}]]},
	  "Route": {"main": [[{"node": "High", "type": "main", "index": 0}], [{"node": "Low", "type": "main", "index": 0}], [{"node": "Other", "type": "main", "index": 0}]]},
	  "High": {"main": [[{"node": "Join", "type": "main", "index": 0}]]},
	  "Paid": {"main": [[{"node": "Join", "type": "main", "index": 1}]]}}}`
	inputs := map[string]any{"priority": "high", "orders": []any{map[string]any{"id": 1.0, "status": "paid"}, map[string]any{"id": 2.0, "status": "open"}}}
	res, rec := run(t, testRunner(), context.Background(), wf, inputs)
	for _, skipped := range []string{"Low", "Other"} {
		if len(rec.of(skipped, NodeStarted)) != 0 {
			t.Fatalf("%s ran: %v", skipped, rec.trace())
		}
	}
	if p := rec.of("Route", NodeSucceeded)[0].Ports; strings.Join(p, ",") != "high" {
		t.Fatalf("SWITCH ports %v", p)
	}
	if p := rec.of("Paid", NodeSucceeded)[0].Ports; strings.Join(p, ",") != "kept,discarded" {
		t.Fatalf("FILTER ports %v", p)
	}
	join, _ := resultOf(t, res)["Join"].(map[string]any)
	items, _ := join["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("MERGE output %v", join)
	}
	if lane, _ := items[0].(map[string]any); lane["lane"] != "high" {
		t.Fatalf("MERGE input_1 %v", items[0])
	}
	if kept, _ := items[1].([]any); len(kept) != 1 || kept[0].(map[string]any)["id"] != 1.0 {
		t.Fatalf("MERGE input_2 (kept orders) %v", items[1])
	}
}

func TestBranchesRunInParallel(t *testing.T) {
	const wf = `{"name": "par", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "a", "name": "A", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.3}},
	  {"id": "b", "name": "B", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.3}},
	  {"id": "c", "name": "C", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.3}},
	  {"id": "m", "name": "Join", "type": "FLOW_NODE", "subtype": "MERGE", "parameters": {"mode": "merge_objects"}}],
	 "connections": {
	  "Start": {"main": [[{"node": "A", "type": "main", "index": 0}, {"node": "B", "type": "main", "index": 0}, {"node": "C", "type": "main", "index": 0}]]},
	  "A": {"main": [[{"node": "Join", "type": "main", "index": 0}]]},
	  "B": {"main": [[{"node": "Join", "type": "main", "index": 1}]]}}}`
	tests := []struct {
		branches int
		min, max time.Duration
	}{
		{3, 250 * time.Millisecond, 550 * time.Millisecond}, // A, B, C at once
		{1, 850 * time.Millisecond, 2 * time.Second},        // bounded to one at a time
	}
	for _, tt := range tests {
		r := New(Options{BranchConcurrency: tt.branches, Timeout: 10 * time.Second})
		start := time.Now()
		res, _ := run(t, r, context.Background(), wf, map[string]any{"k": "v"})
		took := time.Since(start)
		if res.Outcome != Succeeded || took < tt.min || took > tt.max {
			t.Errorf("branches=%d: outcome %v in %s, want within [%s, %s]", tt.branches, res.Outcome, took, tt.min, tt.max)
		}
	}
}

func TestCancelStopsAWait(t *testing.T) {
	const wf = `{"name": "long", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "w", "name": "Long", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 60}}],
	 "connections": {"Start": {"main": [[{"node": "Long", "type": "main", "index": 0}]]}}}`
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(200*time.Millisecond, func() { cancel(ErrCanceled) })
	start := time.Now()
	res, rec := run(t, testRunner(), ctx, wf, nil)
	if res.Outcome != Canceled || time.Since(start) > time.Second {
		t.Fatalf("outcome %v after %s", res.Outcome, time.Since(start))
	}
	if f := rec.of("Long", NodeFailed); len(f) != 1 || f[0].Status != StatusCanceled {
		t.Fatalf("events %v", rec.trace())
	}
}

func TestExecutionTimeout(t *testing.T) {
	const wf = `{"name": "long", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "w", "name": "Long", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 60}}],
	 "connections": {"Start": {"main": [[{"node": "Long", "type": "main", "index": 0}]]}}}`
	r := New(Options{BranchConcurrency: 2, Timeout: 150 * time.Millisecond})
	res, _ := run(t, r, context.Background(), wf, nil)
	if res.Outcome != Failed || !errors.Is(res.Err, ErrTimedOut) || !strings.Contains(res.Err.Error(), "150ms") {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
}

func TestInterruptedByOtherCauses(t *testing.T) {
	shutdown := errors.New("engine shutting down")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(shutdown)
	res, _ := run(t, testRunner(), ctx, helloPipeline, nil)
	if res.Outcome != Interrupted || !errors.Is(res.Err, shutdown) {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
	// A Sink that cannot report interrupts the run too.
	w := workflow(t, helloPipeline)
	sinkErr := errors.New("nats down")
	res = testRunner().Run(context.Background(), &Execution{ID: "e", Workflow: w}, func(context.Context, Event) error { return sinkErr })
	if res.Outcome != Interrupted || !errors.Is(res.Err, sinkErr) {
		t.Fatalf("sink failure: outcome %v, err %v", res.Outcome, res.Err)
	}
}

func TestValidateRefusesNonExecutable(t *testing.T) {
	w := workflow(t, `{"name": "code", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "c", "name": "Code", "type": "ACTION_NODE", "subtype": "CODE", "parameters": {"language": "javascript", "code": "return 1"}}],
	 "connections": {"Start": {"main": [[{"node": "Code", "type": "main", "index": 0}]]}}}`)
	err := testRunner().Validate(w)
	if !errors.Is(err, nodes.ErrInvalidWorkflow) || !strings.Contains(err.Error(), "cannot be executed") {
		t.Fatalf("err = %v", err)
	}
}

func TestDisabledNodesAndManualSamples(t *testing.T) {
	const wf = `{"name": "dis", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {"sample_inputs": {"n": 2}}},
	  {"id": "x", "name": "Off", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "disabled": true, "parameters": {"values": {"n": 99}}},
	  {"id": "d", "name": "Double", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"n": "input.n * 2"}}}],
	 "connections": {"Start": {"main": [[{"node": "Off", "type": "main", "index": 0}]]}, "Off": {"main": [[{"node": "Double", "type": "main", "index": 0}]]}}}`
	res, rec := run(t, testRunner(), context.Background(), wf, nil)
	if len(rec.of("Off", NodeStarted)) != 0 {
		t.Fatal("a disabled node ran")
	}
	if d, _ := resultOf(t, res)["Double"].(map[string]any); d["n"] != 4.0 {
		t.Fatalf("result %s", res.Output)
	}
}

func TestOutputLimit(t *testing.T) {
	r := New(Options{BranchConcurrency: 1, Timeout: 5 * time.Second, MaxOutputBytes: 100})
	const wf = `{"name": "big", "nodes": [
	  {"id": "t", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
	  {"id": "d", "name": "Big", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"expressions": {"s": "repeat('x', 500)"}}}],
	 "connections": {"Start": {"main": [[{"node": "Big", "type": "main", "index": 0}]]}}}`
	res, _ := run(t, r, context.Background(), wf, nil)
	if res.Outcome != Failed || !strings.Contains(res.Err.Error(), "ENGINE_MAX_OUTPUT_BYTES") {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
}
