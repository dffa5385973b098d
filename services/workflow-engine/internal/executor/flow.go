package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/wfagent/gateway/services/workflow-engine/internal/expreval"
)

// runIf sends its input to output 0 (true) or 1 (false).
func runIf(_ context.Context, in Input) (Output, error) {
	ok, err := expreval.EvalBool(str(in.Node.Parameters, "condition"), in.Env)
	if err != nil {
		return Output{}, Permanent(fmt.Errorf("condition: %w", err))
	}
	port := 1
	if ok {
		port = 0
	}
	return Output{Value: in.Input, Ports: map[int]any{port: in.Input}}, nil
}

// runSwitch sends its input to the output of the first case that holds
// (mode all_matches: of every case that holds), else to default, the last.
func runSwitch(_ context.Context, in Input) (Output, error) {
	cases, _ := in.Node.Parameters["cases"].([]any)
	all := str(in.Node.Parameters, "mode") == "all_matches"
	ports := map[int]any{}
	for i, c := range cases {
		cond, _ := c.(map[string]any)["condition"].(string)
		ok, err := expreval.EvalBool(cond, in.Env)
		if err != nil {
			return Output{}, Permanent(fmt.Errorf("cases[%d].condition: %w", i, err))
		}
		if ok {
			ports[i] = in.Input
			if !all {
				break
			}
		}
	}
	if len(ports) == 0 {
		ports[len(cases)] = in.Input
	}
	return Output{Value: in.Input, Ports: ports}, nil
}

// runFilter splits a list: the items whose condition holds go to output 0
// (kept), the others to output 1 (discarded). An output whose list is empty
// sends nothing, so the nodes after it are skipped.
func runFilter(_ context.Context, in Input) (Output, error) {
	p := in.Node.Parameters
	list := in.Input
	if src := str(p, "items"); src != "" {
		v, err := expreval.Eval(src, in.Env)
		if err != nil {
			return Output{}, Permanent(fmt.Errorf("items: %w", err))
		}
		list = v
	}
	items, ok := list.([]any)
	if !ok {
		return Output{}, Permanent(fmt.Errorf("FILTER needs a list, got %T: set parameters.items to an expression that yields one", list))
	}
	kept, discarded := []any{}, []any{}
	cond := str(p, "condition")
	for i, item := range items {
		env := make(expreval.Env, len(in.Env)+1)
		for k, v := range in.Env {
			env[k] = v
		}
		env["item"] = item
		ok, err := expreval.EvalBool(cond, env)
		if err != nil {
			return Output{}, Permanent(fmt.Errorf("condition (item %d): %w", i, err))
		}
		if ok {
			kept = append(kept, item)
		} else {
			discarded = append(discarded, item)
		}
	}
	ports := map[int]any{}
	if len(kept) > 0 {
		ports[0] = kept
	}
	if len(discarded) > 0 {
		ports[1] = discarded
	}
	return Output{Value: map[string]any{"kept": kept, "discarded": discarded}, Ports: ports}, nil
}

// runMerge combines its two inputs once both upstream branches resolved.
// A branch that was not taken contributes nothing; wait_all then sends
// nothing on.
func runMerge(_ context.Context, in Input) (Output, error) {
	switch str(in.Node.Parameters, "mode") {
	case "merge_objects":
		out := map[string]any{}
		for i, arrived := range in.Arrived {
			if !arrived {
				continue
			}
			obj, ok := in.Inputs[i].(map[string]any)
			if !ok {
				return Output{}, Permanent(fmt.Errorf("merge_objects: input_%d is %T, not an object", i+1, in.Inputs[i]))
			}
			for k, v := range obj {
				out[k] = v
			}
		}
		return Output{Value: out}, nil
	case "wait_all":
		for _, arrived := range in.Arrived {
			if !arrived {
				return Output{Value: nil, Ports: map[int]any{}}, nil
			}
		}
		return Output{Value: in.Inputs[0]}, nil
	default: // append
		items := []any{}
		for i, arrived := range in.Arrived {
			if arrived {
				items = append(items, in.Inputs[i])
			}
		}
		return Output{Value: map[string]any{"items": items}}, nil
	}
}

// runWait pauses, then passes its input on; cancellation ends it at once.
func runWait(ctx context.Context, in Input) (Output, error) {
	secs, _ := num(in.Node.Parameters, "seconds")
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return Output{Value: in.Input}, nil
	case <-ctx.Done():
		return Output{}, context.Cause(ctx)
	}
}
