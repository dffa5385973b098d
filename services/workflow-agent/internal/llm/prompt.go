package llm

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
	"github.com/wfagent/gateway/services/workflow-agent/internal/planner"
)

// systemPrompt tells the model the answer format and the node catalogue.
// It is built once: the catalogue is fixed at compile time.
var systemPrompt = sync.OnceValue(func() string {
	var b strings.Builder
	b.WriteString(`You are the Workflow Agent of a workflow automation platform. You help the user describe a workflow and draft it.

Answer with ONE JSON object and nothing else:
{"reply": "<what you tell the user>", "workflow": <the workflow, or null while you still need to ask>}

When the request is too vague to draft, ask in "reply" and set "workflow" to null.
A workflow is {"name", "description", "nodes": [...], "connections": {...}}. Each node has "id", "name" (unique),
"type", "subtype" and "parameters" valid for its type. Connections are keyed by the source node's name:
{"<source name>": {"main": [[{"node": "<target name>", "type": "main", "index": 0}], <targets of output 1>…]}}.
The graph must be acyclic and start with exactly one TRIGGER_NODE. Prefer nodes marked executable.
Expressions (IF conditions, DATA_TRANSFORMATION expressions) are expr-lang over "input"; text parameters may hold {{ expr }} templates.

Example workflow:
{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
  {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
  {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
  "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
  "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}

Node catalogue (type/subtype, outputs, executable, description, example parameters):
`)
	for _, s := range nodes.Catalogue() {
		fmt.Fprintf(&b, "- %s/%s outputs=%s executable=%v: %s Example: %s\n",
			s.Type, s.Subtype, strings.Join(s.Ports.Outputs, ","), s.Executable, s.Description, compact(s.Example))
	}
	return b.String()
})

func compact(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// messages is the chat: the system prompt, the session's history, the
// workflow being edited, the user's message and, on a retry, the refused
// answer with the reason.
func messages(req agent.DraftRequest) []ChatMessage {
	msgs := []ChatMessage{{Role: "system", Content: systemPrompt()}}
	if o := req.Context.Origin; o == planner.OriginEdit || o == planner.OriginCopy {
		msgs = append(msgs, ChatMessage{Role: "system", Content: fmt.Sprintf("This session %ss an existing workflow.", o)})
	}
	for _, c := range req.History {
		role := "user"
		if c.Role == planner.RoleAssistant {
			role = "assistant"
		}
		msgs = append(msgs, ChatMessage{Role: role, Content: c.Text})
	}
	if req.CurrentWorkflowJSON != "" {
		msgs = append(msgs, ChatMessage{Role: "system", Content: "The current workflow, to change as the user asks:\n" + req.CurrentWorkflowJSON})
	}
	msgs = append(msgs, ChatMessage{Role: "user", Content: req.Message})
	if r := req.Rejected; r != nil {
		msgs = append(msgs,
			ChatMessage{Role: "assistant", Content: r.Answer},
			ChatMessage{Role: "user", Content: "That answer was refused: " + r.Reason + "\nAnswer again with the JSON object only, fixing this."})
	}
	return msgs
}

// parseAnswer reads the model's JSON object, tolerating code fences and
// text around it.
func parseAnswer(text string) (agent.Answer, error) {
	start, end := strings.Index(text, "{"), strings.LastIndex(text, "}")
	if start < 0 || end < start {
		return agent.Answer{}, fmt.Errorf("%w: no JSON object in the answer", agent.ErrInvalidAnswer)
	}
	var raw struct {
		Reply    string          `json:"reply"`
		Workflow json.RawMessage `json:"workflow"`
	}
	if err := json.Unmarshal([]byte(text[start:end+1]), &raw); err != nil {
		return agent.Answer{}, fmt.Errorf("%w: %v", agent.ErrInvalidAnswer, err)
	}
	ans := agent.Answer{Reply: strings.TrimSpace(raw.Reply)}
	if len(raw.Workflow) > 0 && string(raw.Workflow) != "null" {
		var w nodes.Workflow
		if err := json.Unmarshal(raw.Workflow, &w); err != nil {
			return agent.Answer{}, fmt.Errorf("%w: workflow: %v", agent.ErrInvalidAnswer, err)
		}
		ans.Workflow = &w
	}
	if ans.Reply == "" && ans.Workflow != nil {
		ans.Reply = "Here is a draft of the workflow."
	}
	return ans, nil
}
