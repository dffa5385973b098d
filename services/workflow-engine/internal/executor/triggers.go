package executor

import "context"

// runManualTrigger outputs the execution's inputs, or the node's
// sample_inputs when the execution has none.
func runManualTrigger(_ context.Context, in Input) (Output, error) {
	inputs := in.Execution.Inputs
	if len(inputs) == 0 {
		if sample, ok := in.Node.Parameters["sample_inputs"].(map[string]any); ok {
			return Output{Value: sample}, nil
		}
	}
	if inputs == nil {
		inputs = map[string]any{}
	}
	return Output{Value: inputs}, nil
}

// runWebhookTrigger outputs the execution's inputs: app-svc's webhook
// endpoint puts the request's {body, query, headers} there.
func runWebhookTrigger(_ context.Context, in Input) (Output, error) {
	inputs := in.Execution.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	return Output{Value: inputs}, nil
}
