package executor

import (
	"context"
	"errors"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/services/workflow-engine/internal/expreval"
)

// Input is what a node runs on.
type Input struct {
	Node nodes.Node
	// Input is the data on input 0: the output of the upstream node that fed
	// it (the first in workflow order when several did). Triggers get the
	// execution's inputs.
	Input any
	// Inputs and Arrived are per input port (MERGE has two).
	Inputs  []any
	Arrived []bool
	// Env is the expression environment: input, nodes, execution.
	Env       expreval.Env
	Execution *Execution
}

// Output is what a node produced.
type Output struct {
	// Value is the node's output: reported in its event and visible to later
	// nodes as nodes["<name>"].
	Value any
	// Ports is the data sent on each output; nil sends Value on output 0,
	// an empty map sends nothing (downstream nodes are skipped).
	Ports map[int]any
}

// NodeFunc runs one node once; the runner handles retries and on_error.
type NodeFunc func(ctx context.Context, in Input) (Output, error)

// permanentError is a failure a retry cannot fix (bad parameters, an
// expression error, a refused address, a missing configuration).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports an error marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// registry maps TYPE.SUBTYPE to the node's implementation. Every spec of
// pkg/nodes marked Executable must be here (TestRegistryMatchesCatalogue).
func (r *Runner) registry() map[string]NodeFunc {
	return map[string]NodeFunc{
		nodes.TypeTrigger + ".MANUAL":             runManualTrigger,
		nodes.TypeTrigger + ".WEBHOOK":            runWebhookTrigger,
		nodes.TypeAction + ".DATA_TRANSFORMATION": runDataTransformation,
		nodes.TypeAction + ".SEND_HTTP_REQUEST":   r.runHTTPRequest,
		nodes.TypeFlow + ".IF":                    runIf,
		nodes.TypeFlow + ".SWITCH":                runSwitch,
		nodes.TypeFlow + ".FILTER":                runFilter,
		nodes.TypeFlow + ".MERGE":                 runMerge,
		nodes.TypeFlow + ".WAIT":                  runWait,
		nodes.TypeAIAgent + ".OPENAI":             r.runOpenAI,
	}
}

// param helpers: parameters passed schema validation, so a wrong type is
// a bug upstream; they still fall back to the zero value.

func str(p map[string]any, k string) string {
	s, _ := p[k].(string)
	return s
}

func num(p map[string]any, k string) (float64, bool) {
	f, ok := p[k].(float64)
	return f, ok
}
