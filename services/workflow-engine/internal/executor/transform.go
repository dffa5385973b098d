package executor

import (
	"context"
	"fmt"
	"slices"

	"github.com/wfagent/gateway/services/workflow-engine/internal/expreval"
)

// runDataTransformation builds an object: the input's fields when
// keep_input, then the literal values, then the expressions (in key order,
// each seeing the input, not the fields set before it).
func runDataTransformation(_ context.Context, in Input) (Output, error) {
	p := in.Node.Parameters
	out := map[string]any{}
	if keep, _ := p["keep_input"].(bool); keep {
		obj, ok := in.Input.(map[string]any)
		if !ok && in.Input != nil {
			return Output{}, Permanent(fmt.Errorf("keep_input needs an object input, got %T", in.Input))
		}
		for k, v := range obj {
			out[k] = v
		}
	}
	if values, ok := p["values"].(map[string]any); ok {
		for k, v := range values {
			out[k] = v
		}
	}
	if exprs, ok := p["expressions"].(map[string]any); ok {
		keys := make([]string, 0, len(exprs))
		for k := range exprs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			src, _ := exprs[k].(string)
			v, err := expreval.Eval(src, in.Env)
			if err != nil {
				return Output{}, Permanent(fmt.Errorf("expressions.%s: %w", k, err))
			}
			out[k] = v
		}
	}
	return Output{Value: out}, nil
}
