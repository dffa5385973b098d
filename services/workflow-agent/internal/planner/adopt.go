package planner

import "github.com/wfagent/gateway/pkg/nodes"

// Draft is what a language model proposed for a turn: a reply and, when it
// knew enough, a workflow that already passed nodes.Validate.
type Draft struct {
	Reply    string
	Workflow *nodes.Workflow
	// Attempts counts the model's answers, the refused ones included.
	Attempts int
}

// Generating is the status change sent before asking a model, and the
// turn as it stands after it.
func Generating(t Turn) (Response, Turn) {
	r := statusChange(t.State.Stage, StageWorkflowGeneration, map[string]any{"backend": "llm"})
	t.State = t.State.clone()
	t.State.moveTo(StageWorkflowGeneration)
	return r, t
}

// Adopt answers a turn with a model's draft: its workflow presented like
// the planner's own, or its reply as a clarification question.
func Adopt(t Turn, d Draft) []Response {
	st := t.begin()
	st.DebugLoopCount = max(d.Attempts-1, 0)
	if d.Workflow == nil {
		return t.clarifyEdit(st, []string{d.Reply})
	}
	return present(st, *d.Workflow, d.Reply, nil)
}
