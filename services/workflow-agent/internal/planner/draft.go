package planner

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wfagent/gateway/pkg/nodes"
)

// nodeSpec is the catalogue entry and default name a trigger or step becomes.
type nodeSpec struct {
	typ, subtype, name string
}

func triggerNode(t TriggerIntent) (nodeSpec, map[string]any) {
	switch t.Kind {
	case TriggerWebhook:
		p := map[string]any{"method": t.Method, "response_mode": "immediately"}
		if t.Path != "" {
			p["path"] = t.Path
		}
		return nodeSpec{nodes.TypeTrigger, "WEBHOOK", "Webhook"}, p
	case TriggerSchedule:
		return nodeSpec{nodes.TypeTrigger, "CRON", "Schedule"}, map[string]any{"cron_expression": t.Cron, "timezone": "UTC"}
	}
	return nodeSpec{nodes.TypeTrigger, "MANUAL", "Start"}, map[string]any{}
}

func stepNode(s StepIntent) (nodeSpec, map[string]any) {
	switch s.Kind {
	case StepHTTP:
		return nodeSpec{nodes.TypeAction, "SEND_HTTP_REQUEST", "HTTP Request"}, map[string]any{"method": s.Method, "url": s.URL, "timeout_seconds": 30.0}
	case StepWait:
		return nodeSpec{nodes.TypeFlow, "WAIT", "Wait"}, map[string]any{"seconds": s.Seconds}
	case StepIf:
		return nodeSpec{nodes.TypeFlow, "IF", "If"}, map[string]any{"condition": s.Condition}
	case StepSet:
		p := map[string]any{"keep_input": true}
		if len(s.Values) > 0 {
			p["values"] = cloneMap(s.Values)
		}
		if len(s.Expressions) > 0 {
			e := make(map[string]any, len(s.Expressions))
			for k, v := range s.Expressions {
				e[k] = v
			}
			p["expressions"] = e
		}
		return nodeSpec{nodes.TypeAction, "DATA_TRANSFORMATION", "Set Values"}, p
	case StepAI:
		p := map[string]any{"prompt": s.Prompt, "temperature": 0.2}
		return nodeSpec{nodes.TypeAIAgent, s.Provider, "AI"}, p
	case StepSlack:
		return nodeSpec{nodes.TypeExternalAction, "SLACK", "Slack"}, map[string]any{"channel": s.Channel, "text": s.Text}
	case StepEmail:
		return nodeSpec{nodes.TypeExternalAction, "EMAIL", "Send E-mail"}, map[string]any{"to": []any{s.To}, "subject": s.Subject, "body": inputJSON}
	}
	return nodeSpec{}, nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// build drafts the workflow of a complete intent: the trigger, then each
// step in order, a chain where an If continues on its true output.
func build(in Intent) nodes.Workflow {
	w := nodes.Workflow{Name: workflowName(in), Description: describe(in), Connections: map[string]nodes.NodeConnections{}}
	spec, params := triggerNode(*in.Trigger)
	appendNode(&w, spec, params)
	for _, s := range in.Steps {
		spec, params := stepNode(s)
		appendNode(&w, spec, params)
	}
	return w
}

// appendNode adds a node after the workflow's last node (the end of its
// chain) with a unique id and name and connects it.
func appendNode(w *nodes.Workflow, spec nodeSpec, params map[string]any) {
	var from *nodes.Node
	if end, ok := chainEnd(*w); ok {
		from = &end
	}
	n := nodes.Node{
		ID: nextID(*w), Name: uniqueName(*w, spec.name), Type: spec.typ, Subtype: spec.subtype,
		Parameters: params, Position: &nodes.Position{X: float64(len(w.Nodes)) * 250, Y: 300},
	}
	w.Nodes = append(w.Nodes, n)
	if from != nil {
		connect(w, *from, n.Name)
	}
}

// chainEnd is the node new steps attach to: the last node, in node order,
// that has no outgoing connection on its first output.
func chainEnd(w nodes.Workflow) (nodes.Node, bool) {
	for i := len(w.Nodes) - 1; i >= 0; i-- {
		n := w.Nodes[i]
		if n.Disabled {
			continue
		}
		if len(w.Targets(n.Name, 0)) == 0 {
			return n, true
		}
	}
	return nodes.Node{}, false
}

// connect links from's first output (an If's true branch) to input 0 of to.
func connect(w *nodes.Workflow, from nodes.Node, to string) {
	if w.Connections == nil {
		w.Connections = map[string]nodes.NodeConnections{}
	}
	nc := w.Connections[from.Name]
	if nc == nil {
		nc = nodes.NodeConnections{}
	}
	outs := nc[nodes.ConnectionMain]
	if len(outs) == 0 {
		outs = [][]nodes.Connection{{}}
	}
	outs[0] = append(outs[0], nodes.Connection{Node: to, Type: nodes.ConnectionMain, Index: 0})
	nc[nodes.ConnectionMain] = outs
	w.Connections[from.Name] = nc
}

func nextID(w nodes.Workflow) string {
	used := map[string]bool{}
	for _, n := range w.Nodes {
		used[n.ID] = true
	}
	for i := len(w.Nodes) + 1; ; i++ {
		if id := "n" + strconv.Itoa(i); !used[id] {
			return id
		}
	}
}

func uniqueName(w nodes.Workflow, base string) string {
	name := base
	for i := 2; ; i++ {
		if _, taken := w.NodeByName(name); !taken {
			return name
		}
		name = base + " " + strconv.Itoa(i)
	}
}

// ---- words for the user ----

func triggerLabel(t TriggerIntent) string {
	switch t.Kind {
	case TriggerWebhook:
		if t.Path != "" {
			return "when a " + t.Method + " request arrives at the webhook path " + t.Path
		}
		return "when a " + t.Method + " request arrives at its webhook"
	case TriggerSchedule:
		if t.Cron == "" {
			return "on a schedule still to be decided"
		}
		return t.When
	}
	return "when you run it"
}

func stepLabel(s StepIntent) string {
	switch s.Kind {
	case StepHTTP:
		if s.URL == "" {
			return "send an HTTP request (URL still to be decided)"
		}
		return "send a " + s.Method + " request to " + s.URL
	case StepWait:
		if s.Missing != "" {
			return "wait (for how long is still to be decided)"
		}
		return "wait " + seconds(s.Seconds)
	case StepIf:
		if s.Condition == "" {
			return "check a condition (still to be decided)"
		}
		return "continue only if " + s.Condition
	case StepSet:
		if s.Missing != "" {
			return "set values (which is still to be decided)"
		}
		var parts []string
		for _, k := range sortedKeys(s.Values) {
			parts = append(parts, fmt.Sprintf("%s to %v", k, s.Values[k]))
		}
		for _, k := range sortedKeys(s.Expressions) {
			parts = append(parts, k+" to the result of "+s.Expressions[k])
		}
		return "set " + strings.Join(parts, " and ")
	case StepAI:
		task, _, _ := strings.Cut(s.Prompt, "\n")
		return "ask " + providerName(s.Provider) + ": “" + strings.TrimSuffix(task, ".") + "”"
	case StepSlack:
		if s.Channel == "" {
			return "post to Slack (channel still to be decided)"
		}
		return "post to Slack in " + s.Channel
	case StepEmail:
		if s.To == "" {
			return "send an e-mail (address still to be decided)"
		}
		return "send an e-mail to " + s.To
	}
	return s.Kind
}

func providerName(p string) string {
	switch p {
	case "CLAUDE":
		return "Claude"
	case "GEMINI":
		return "Gemini"
	}
	return "an OpenAI model"
}

func seconds(s float64) string {
	switch {
	case s == 1:
		return "1 second"
	case s >= 120 && int(s)%60 == 0:
		return strconv.Itoa(int(s)/60) + " minutes"
	}
	return strconv.FormatFloat(s, 'f', -1, 64) + " seconds"
}

// describe is the intent in one sentence: "Every day at 09:00: send …, then wait 5 seconds."
func describe(in Intent) string {
	var parts []string
	for _, s := range in.Steps {
		parts = append(parts, stepLabel(s))
	}
	what := strings.Join(parts, ", then ")
	if what == "" {
		what = "do something still to be decided"
	}
	if in.Trigger == nil {
		return capitalise(what) + "."
	}
	return capitalise(triggerLabel(*in.Trigger)) + ": " + what + "."
}

func workflowName(in Intent) string {
	var parts []string
	if in.Trigger != nil {
		spec, _ := triggerNode(*in.Trigger)
		parts = append(parts, spec.name)
	}
	for _, s := range in.Steps {
		spec, _ := stepNode(s)
		parts = append(parts, spec.name)
	}
	return truncate(strings.Join(parts, " → "), nodes.MaxNameLength)
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
