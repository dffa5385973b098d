// Package executor runs one workflow snapshot: nodes in dependency order,
// independent branches in parallel (bounded), each node with its retry
// policy and on_error setting, the whole run under an execution timeout and
// the caller's cancellation. It reports every node step to a Sink and
// returns how the execution ended; publishing execution_* events, claims
// and acknowledgements are the worker's business. It imports no NATS.
package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/pkg/secrets"
	"github.com/wfagent/gateway/services/workflow-engine/internal/expreval"
	"github.com/wfagent/gateway/services/workflow-engine/internal/safehttp"
)

// Causes a run's context may be canceled with.
var (
	// ErrCanceled: a user asked to cancel the execution.
	ErrCanceled = errors.New("execution canceled")
	// ErrTimedOut: the execution ran longer than the execution timeout.
	ErrTimedOut = errors.New("execution timed out")
)

// errNodeFailed stops the other branches when a node fails with on_error stop.
var errNodeFailed = errors.New("stopped because another node failed")

// Kind is the kind of a node event.
type Kind int

// Node event kinds.
const (
	NodeStarted Kind = iota + 1
	NodeSucceeded
	NodeFailed
)

// Node statuses.
const (
	StatusRunning  = "running"
	StatusSuccess  = "success"
	StatusError    = "error"
	StatusRetrying = "retrying"
	StatusCanceled = "canceled"
)

// Event is one step of one node.
type Event struct {
	Kind     Kind
	NodeID   string
	NodeName string
	Status   string
	// Output is the node's output as JSON (NodeSucceeded, and NodeFailed
	// with on_error=continue).
	Output json.RawMessage
	Error  string
	// Try is the try of the node's retry policy, 1 first.
	Try int
	// Ports names the outputs that carried data (NodeSucceeded).
	Ports []string
}

// Sink receives the node events of a run, in order per node. An error
// stops the run: its result is Interrupted with that error.
type Sink func(ctx context.Context, ev Event) error

// Execution is what Run runs.
type Execution struct {
	ID         string
	WorkflowID string
	Workflow   nodes.Workflow
	Inputs     map[string]any
}

// Outcome is how a run ended.
type Outcome int

// Outcomes.
const (
	// Succeeded: every reachable node ran (or failed with on_error continue).
	Succeeded Outcome = iota + 1
	// Failed: a node failed with on_error stop, the workflow cannot run, or
	// the execution timed out. Err says why.
	Failed
	// Canceled: the context was canceled with ErrCanceled.
	Canceled
	// Interrupted: the run stopped for a reason outside the execution (the
	// context's other causes, a Sink error): the caller may run it again.
	Interrupted
)

// Result is how a run ended and, on success, its result: the outputs of
// the nodes whose data went no further, by node name.
type Result struct {
	Outcome Outcome
	Output  json.RawMessage
	Err     error
}

// Options configures a Runner.
type Options struct {
	// BranchConcurrency bounds the nodes of one execution running at once.
	BranchConcurrency int
	// Timeout bounds an execution.
	Timeout time.Duration
	// MaxOutputBytes bounds a node's output as JSON.
	MaxOutputBytes int
	// HTTP is the SSRF-guarded client of SEND_HTTP_REQUEST nodes;
	// MaxResponseBytes bounds the bodies it reads.
	HTTP             *http.Client
	MaxResponseBytes int64
	// LLM configures AI_AGENT_NODE.OPENAI.
	LLM LLMConfig
	// Sealer opens node credentials (ENCRYPTION_KEY), right before a node
	// runs; nil fails every node whose credentials are sealed.
	Sealer *secrets.Sealer
}

// Runner runs executions; it is safe for concurrent use.
type Runner struct {
	o     Options
	funcs map[string]NodeFunc
}

// New returns a Runner with every executable node type of pkg/nodes.
func New(o Options) *Runner {
	if o.BranchConcurrency < 1 {
		o.BranchConcurrency = 1
	}
	if o.HTTP == nil {
		o.HTTP, _ = safehttp.NewClient(safehttp.Options{}) // never a client without the guard
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 1 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Hour
	}
	r := &Runner{o: o}
	r.funcs = r.registry()
	return r
}

// Validate refuses a workflow this runner cannot run: invalid, or with a
// node type that is not executable (pkg/nodes and this runner must agree).
func (r *Runner) Validate(w nodes.Workflow) error {
	if err := nodes.ValidateExecutable(w); err != nil {
		return err
	}
	for _, n := range w.Nodes {
		if _, ok := r.funcs[n.Type+"."+n.Subtype]; !ok {
			return fmt.Errorf("%s nodes cannot be executed by this engine (node %q)", n.Type+"."+n.Subtype, n.Name)
		}
	}
	return nil
}

// edge is a resolved connection.
type edge struct{ from, output, to, input int }

type arrival struct {
	from int // source node index: the lowest wins, so input is deterministic
	data any
}

type nodeDone struct {
	index int
	value any
	ports map[int]any
	err   error // on_error stop failure, cancellation or Sink error
}

// Run runs an execution that passed Validate. ctx's cancellation cause
// decides the outcome of an interrupted run (ErrCanceled → Canceled).
func (r *Runner) Run(ctx context.Context, ex *Execution, emit Sink) Result {
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, r.o.Timeout, ErrTimedOut)
	defer cancelTimeout()
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	w := ex.Workflow
	if _, err := nodes.TopologicalOrder(w); err != nil {
		return Result{Outcome: Failed, Err: err}
	}
	index := make(map[string]int, len(w.Nodes))
	for i, n := range w.Nodes {
		index[n.Name] = i
	}
	out := make([][]edge, len(w.Nodes))
	pending := make([]int, len(w.Nodes))
	seen := map[edge]bool{}
	for src, conns := range w.Connections {
		from, ok := index[src]
		if !ok {
			continue
		}
		for o, targets := range conns[nodes.ConnectionMain] {
			for _, c := range targets {
				to, ok := index[c.Node]
				if !ok {
					continue
				}
				e := edge{from, o, to, c.Index}
				if seen[e] {
					continue
				}
				seen[e] = true
				out[from] = append(out[from], e)
				pending[to]++
			}
		}
	}

	inputs := make([]map[int]arrival, len(w.Nodes))
	fed := make([]bool, len(w.Nodes))
	succeeded := make([]bool, len(w.Nodes))
	outputs := map[string]any{}
	var runnable, consider []int
	for i := range w.Nodes {
		if pending[i] == 0 {
			consider = append(consider, i)
		}
	}

	// resolve passes a finished (or skipped: ports nil) node's data on and
	// queues the targets whose inputs are now all resolved.
	resolve := func(i int, ports map[int]any) {
		for _, e := range out[i] {
			if data, ok := ports[e.output]; ok {
				if inputs[e.to] == nil {
					inputs[e.to] = map[int]arrival{}
				}
				if a, has := inputs[e.to][e.input]; !has || i < a.from {
					inputs[e.to][e.input] = arrival{from: i, data: data}
				}
				fed[i] = true
			}
			if pending[e.to]--; pending[e.to] == 0 {
				consider = append(consider, e.to)
			}
		}
	}
	// settle decides what the considered nodes do: run, pass through
	// (disabled) or be skipped (no input arrived: an untaken branch).
	settle := func() {
		for len(consider) > 0 {
			i := consider[0]
			consider = consider[1:]
			n := w.Nodes[i]
			activated := len(inputs[i]) > 0 || n.Type == nodes.TypeTrigger // triggers have no inputs
			switch {
			case !activated || (n.Disabled && n.Type == nodes.TypeTrigger):
				resolve(i, nil)
			case n.Disabled:
				resolve(i, map[int]any{0: inputs[i][0].data})
			default:
				runnable = append(runnable, i)
			}
		}
	}

	done := make(chan nodeDone)
	running := 0
	var failure error
	execInfo := map[string]any{"id": ex.ID, "workflow_id": ex.WorkflowID, "inputs": ex.Inputs}
	for {
		settle()
		for len(runnable) > 0 && running < r.o.BranchConcurrency && runCtx.Err() == nil {
			i := runnable[0]
			runnable = runnable[1:]
			in := r.input(ex, w.Nodes[i], inputs[i], outputs, execInfo)
			running++
			go func() { done <- r.runNode(runCtx, i, in, emit) }()
		}
		if running == 0 {
			break
		}
		d := <-done
		running--
		if d.err != nil {
			if failure == nil {
				failure = d.err
				stop(errNodeFailed)
			}
			continue
		}
		succeeded[d.index] = true
		outputs[w.Nodes[d.index].Name] = d.value
		resolve(d.index, d.ports)
	}

	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, ErrCanceled):
			return Result{Outcome: Canceled, Err: ErrCanceled}
		case errors.Is(cause, ErrTimedOut):
			return Result{Outcome: Failed, Err: fmt.Errorf("%w after %s", ErrTimedOut, r.o.Timeout)}
		default:
			return Result{Outcome: Interrupted, Err: cause}
		}
	}
	var sinkErr *sinkError
	if errors.As(failure, &sinkErr) {
		return Result{Outcome: Interrupted, Err: sinkErr.err}
	}
	if failure != nil {
		return Result{Outcome: Failed, Err: failure}
	}
	return Result{Outcome: Succeeded, Output: r.result(w, succeeded, fed, outputs)}
}

// result is {"<node name>": output} of the nodes that succeeded and whose
// data fed no other node: what the workflow produced.
func (r *Runner) result(w nodes.Workflow, succeeded, fed []bool, outputs map[string]any) json.RawMessage {
	res := map[string]any{}
	for i, n := range w.Nodes {
		if succeeded[i] && !fed[i] {
			res[n.Name] = outputs[n.Name]
		}
	}
	b, err := json.Marshal(res)
	if err != nil || (r.o.MaxOutputBytes > 0 && len(b) > 2*r.o.MaxOutputBytes) {
		names := make([]string, 0, len(res))
		for k := range res {
			names = append(names, k)
		}
		slices.Sort(names)
		b, _ = json.Marshal(map[string]any{"truncated": true, "nodes": names})
	}
	return b
}

func (r *Runner) input(ex *Execution, n nodes.Node, arrived map[int]arrival, outputs map[string]any, execInfo map[string]any) Input {
	in := Input{Node: n, Execution: ex}
	spec, _ := nodes.Lookup(n.Type, n.Subtype)
	ports := max(len(spec.Ports.Inputs), 1)
	in.Inputs, in.Arrived = make([]any, ports), make([]bool, ports)
	for idx, a := range arrived {
		if idx < ports {
			in.Inputs[idx], in.Arrived[idx] = a.data, true
		}
	}
	if n.Type == nodes.TypeTrigger {
		in.Inputs[0], in.Arrived[0] = ex.Inputs, true
	}
	in.Input = in.Inputs[0]
	nodesSoFar := make(map[string]any, len(outputs))
	for k, v := range outputs {
		nodesSoFar[k] = v
	}
	in.Env = expreval.Env{"input": in.Input, "nodes": nodesSoFar, "execution": execInfo}
	return in
}

// sinkError marks a failure to report an event: the run is interrupted.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return "reporting events: " + e.err.Error() }

// runNode runs one node with its retry policy and reports each step.
func (r *Runner) runNode(ctx context.Context, i int, in Input, emit Sink) nodeDone {
	n := in.Node
	report := func(ev Event) error {
		ev.NodeID, ev.NodeName = n.ID, n.Name
		if err := emit(context.WithoutCancel(ctx), ev); err != nil {
			return &sinkError{err}
		}
		return nil
	}
	tries, wait := 1, time.Duration(0)
	if rp := n.RetryPolicy; rp != nil && rp.MaxTries > 1 {
		tries, wait = rp.MaxTries, time.Duration(rp.WaitSeconds*float64(time.Second))
	}
	fn := r.funcs[n.Type+"."+n.Subtype]
	if creds, err := r.openCredentials(in.Execution.WorkflowID, n); err != nil {
		// The node fails like any permanent failure (no retry; on_error applies).
		fn = func(context.Context, Input) (Output, error) { return Output{}, Permanent(err) }
	} else {
		in.Node.Credentials = creds // a copy: the execution's workflow keeps them sealed
	}
	for try := 1; ; try++ {
		if err := report(Event{Kind: NodeStarted, Status: StatusRunning, Try: try}); err != nil {
			return nodeDone{index: i, err: err}
		}
		var out Output
		var raw json.RawMessage
		err := ctx.Err()
		if err == nil {
			out, err = fn(ctx, in)
		}
		if err == nil {
			out, raw, err = r.normalize(out)
		}
		if err == nil {
			if err := report(Event{Kind: NodeSucceeded, Status: StatusSuccess, Output: raw, Try: try, Ports: portNames(n, out.Ports)}); err != nil {
				return nodeDone{index: i, err: err}
			}
			return nodeDone{index: i, value: out.Value, ports: out.Ports}
		}
		if ctx.Err() != nil {
			cause := context.Cause(ctx)
			if rerr := report(Event{Kind: NodeFailed, Status: StatusCanceled, Error: cause.Error(), Try: try}); rerr != nil {
				return nodeDone{index: i, err: rerr}
			}
			return nodeDone{index: i, err: cause}
		}
		if try < tries && !IsPermanent(err) {
			if rerr := report(Event{Kind: NodeFailed, Status: StatusRetrying, Error: err.Error(), Try: try}); rerr != nil {
				return nodeDone{index: i, err: rerr}
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
				continue
			case <-ctx.Done():
				t.Stop()
				cause := context.Cause(ctx)
				if rerr := report(Event{Kind: NodeFailed, Status: StatusCanceled, Error: cause.Error(), Try: try}); rerr != nil {
					return nodeDone{index: i, err: rerr}
				}
				return nodeDone{index: i, err: cause}
			}
		}
		if n.OnError == nodes.OnErrorContinue {
			value := map[string]any{"error": err.Error()}
			raw, _ := json.Marshal(value)
			if rerr := report(Event{Kind: NodeFailed, Status: StatusError, Error: err.Error(), Output: raw, Try: try, Ports: portNames(n, map[int]any{0: nil})}); rerr != nil {
				return nodeDone{index: i, err: rerr}
			}
			return nodeDone{index: i, value: value, ports: map[int]any{0: value}}
		}
		if rerr := report(Event{Kind: NodeFailed, Status: StatusError, Error: err.Error(), Try: try}); rerr != nil {
			return nodeDone{index: i, err: rerr}
		}
		return nodeDone{index: i, err: fmt.Errorf("node %q failed: %w", n.Name, err)}
	}
}

// normalize bounds the output and gives it JSON's shapes (numbers become
// float64, structs maps), so what later nodes see is what consumers of the
// events see.
func (r *Runner) normalize(out Output) (Output, json.RawMessage, error) {
	raw, err := json.Marshal(out.Value)
	if err != nil {
		return out, nil, Permanent(fmt.Errorf("output is not JSON: %w", err))
	}
	if r.o.MaxOutputBytes > 0 && len(raw) > r.o.MaxOutputBytes {
		return out, nil, Permanent(fmt.Errorf("output is %d bytes, more than the %d allowed (ENGINE_MAX_OUTPUT_BYTES)", len(raw), r.o.MaxOutputBytes))
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	if out.Ports == nil {
		return Output{Value: v, Ports: map[int]any{0: v}}, raw, nil
	}
	ports := make(map[int]any, len(out.Ports))
	for p, data := range out.Ports {
		b, err := json.Marshal(data)
		if err != nil {
			return out, nil, Permanent(fmt.Errorf("output %d is not JSON: %w", p, err))
		}
		var d any
		_ = json.Unmarshal(b, &d)
		ports[p] = d
	}
	return Output{Value: v, Ports: ports}, raw, nil
}

// portNames names the outputs that carry data, in output order.
func portNames(n nodes.Node, ports map[int]any) []string {
	spec, _ := nodes.Lookup(n.Type, n.Subtype)
	names, _ := spec.OutputsFor(n.Parameters)
	var out []string
	for p := range max(len(names), len(ports)) {
		if _, ok := ports[p]; !ok {
			continue
		}
		if p < len(names) {
			out = append(out, names[p])
		} else {
			out = append(out, fmt.Sprintf("output_%d", p))
		}
	}
	return out
}
