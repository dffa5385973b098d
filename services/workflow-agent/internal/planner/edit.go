package planner

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/wfagent/gateway/pkg/nodes"
)

var (
	renameRe  = regexp.MustCompile(`(?i)\b(?:rename(?:\s+(?:it|the\s+workflow))?(?:\s+to)?|call\s+it|name\s+it)\s+["“'\x60]?([^"”'\x60\n]{1,128}?)["”'\x60]?\s*(?:[.!;\n]|$)`)
	removeRe  = regexp.MustCompile(`(?i)\b(?:remove|delete|drop)\s+(?:the\s+)?(?:step\s+|node\s+)?["“]?([^"”.,;!\n]{1,128}?)["”]?(?:\s+(?:node|step))?\s*(?:[.,;!\n]|$)`)
	updateRe  = regexp.MustCompile(`(?i)\b(?:change|update|replace|switch|make|use|instead|set\s+the|edit|modify)\b`)
	kindWords = []struct {
		re   *regexp.Regexp
		kind string
	}{
		{regexp.MustCompile(`(?i)\b(?:wait|pause|delay)\b`), StepWait},
		{regexp.MustCompile(`(?i)\b(?:http|request|api\s+call)\b`), StepHTTP},
		{regexp.MustCompile(`(?i)\b(?:if|condition|check)\b`), StepIf},
		{regexp.MustCompile(`(?i)\b(?:set|values?|transformation)\b`), StepSet},
		{regexp.MustCompile(`(?i)\b(?:ai|llm|gpt|openai|claude|gemini|model|summary)\b`), StepAI},
		{regexp.MustCompile(`(?i)\bslack\b`), StepSlack},
		{regexp.MustCompile(`(?i)\be-?mail\b`), StepEmail},
	}
)

// kindOf is the step kind a node was drafted from, or "".
func kindOf(n nodes.Node) string {
	switch n.Type + "." + n.Subtype {
	case nodes.TypeAction + ".SEND_HTTP_REQUEST":
		return StepHTTP
	case nodes.TypeFlow + ".WAIT":
		return StepWait
	case nodes.TypeFlow + ".IF":
		return StepIf
	case nodes.TypeAction + ".DATA_TRANSFORMATION":
		return StepSet
	case nodes.TypeExternalAction + ".SLACK":
		return StepSlack
	case nodes.TypeExternalAction + ".EMAIL":
		return StepEmail
	}
	if n.Type == nodes.TypeAIAgent {
		return StepAI
	}
	return ""
}

// edit changes the current workflow as the message asks (edit and copy
// sessions, and every turn after a first draft).
func (t Turn) edit(st State) []Response {
	var w nodes.Workflow
	if err := json.Unmarshal([]byte(st.CurrentWorkflowJSON), &w); err != nil {
		return failure(st, "invalid_current_workflow", "current_state.current_workflow_json is not a workflow: "+err.Error(), false)
	}
	text := t.Message
	if t.firstTurn() && st.Context.ModificationIntent != "" {
		text = st.Context.ModificationIntent + ". " + text
	}
	st.Clarification.Purpose = "change a workflow"
	ed := applyEdits(&w, text)
	if t.firstTurn() && st.Context.Origin == OriginCopy && !ed.renamed {
		w.Name = truncate("Copy of "+w.Name, nodes.MaxNameLength)
		ed.notes = append(ed.notes, "named the copy “"+w.Name+"”")
	}
	if len(ed.notes) == 0 {
		q := ed.questions
		if len(q) == 0 {
			q = []string{qEdit}
		}
		return t.clarifyEdit(st, q)
	}
	if err := nodes.Validate(w); err != nil {
		return t.clarifyEdit(st, []string{"I could not make that change, because the result would not be a valid workflow (" +
			strings.Join(problems(err), "; ") + "). " + qEdit})
	}
	text = "I " + strings.Join(ed.notes, ", ") + "."
	for _, q := range ed.questions {
		text += "\n" + q
	}
	return present(st, w, text, nil)
}

func (t Turn) clarifyEdit(st State, questions []string) []Response {
	prev := st.Stage
	st.moveTo(StageClarification)
	st.Clarification.PendingQuestions = questions
	text := strings.Join(questions, "\n")
	st.remember(RoleAssistant, text, st.UpdatedAt)
	return []Response{
		statusChange(prev, StageClarification, map[string]any{"pending_questions": anySlice(questions)}),
		final(message(text), st),
	}
}

type edits struct {
	notes     []string // what was done, "renamed it to …"
	questions []string // what stopped a change
	renamed   bool
}

// applyEdits makes the changes a message asks for: rename, remove a step,
// replace the trigger, change a step in place, or add steps at the end.
func applyEdits(w *nodes.Workflow, text string) edits {
	var ed edits
	if m := renameRe.FindStringSubmatchIndex(text); m != nil {
		name := strings.TrimSpace(text[m[2]:m[3]])
		if name != "" {
			w.Name = truncate(name, nodes.MaxNameLength)
			ed.notes = append(ed.notes, "renamed it to “"+w.Name+"”")
			ed.renamed = true
			text = text[:m[0]] + " " + text[m[1]:]
		}
	}
	for _, m := range removeRe.FindAllStringSubmatchIndex(text, -1) {
		target := strings.TrimSpace(text[m[2]:m[3]])
		if n, ok := findNode(*w, target); ok {
			if n.Type == nodes.TypeTrigger {
				ed.questions = append(ed.questions, "A workflow needs what starts it, so I kept “"+n.Name+"”; tell me what should start it instead.")
			} else {
				removeNode(w, n.Name)
				ed.notes = append(ed.notes, "removed “"+n.Name+"”")
			}
		}
	}
	text = removeRe.ReplaceAllString(text, " ")

	in := parseIntent(text)
	if in.Trigger != nil {
		tr := *in.Trigger
		if tr.Kind == TriggerSchedule && tr.Cron == "" {
			ed.questions = append(ed.questions, qSchedule)
		} else if replaceTrigger(w, tr) {
			ed.notes = append(ed.notes, "made it start "+triggerLabel(tr))
		}
	}
	update := updateRe.MatchString(text)
	for _, s := range in.Steps {
		if s.Missing != "" {
			ed.questions = append(ed.questions, stepQuestions[s.Missing])
			continue
		}
		if update && updateStep(w, s) {
			ed.notes = append(ed.notes, "changed it to "+stepLabel(s))
			continue
		}
		spec, params := stepNode(s)
		appendNode(w, spec, params)
		ed.notes = append(ed.notes, "added a step to "+stepLabel(s))
	}
	return ed
}

// findNode finds a node by its name, else the last node of the step kind
// the words name ("the wait", "the http request").
func findNode(w nodes.Workflow, target string) (nodes.Node, bool) {
	for _, n := range w.Nodes {
		if strings.EqualFold(n.Name, target) {
			return n, true
		}
	}
	for _, k := range kindWords {
		if !k.re.MatchString(target) {
			continue
		}
		for i := len(w.Nodes) - 1; i >= 0; i-- {
			if kindOf(w.Nodes[i]) == k.kind {
				return w.Nodes[i], true
			}
		}
	}
	return nodes.Node{}, false
}

// removeNode deletes a node; whatever pointed at it now points at what
// followed its first output, so a chain stays a chain.
func removeNode(w *nodes.Workflow, name string) {
	next := w.Targets(name, 0)
	for src, nc := range w.Connections {
		outs := nc[nodes.ConnectionMain]
		for o, targets := range outs {
			var kept []nodes.Connection
			for _, c := range targets {
				if c.Node != name {
					kept = appendUnique(kept, c)
					continue
				}
				for _, n := range next {
					if n.Node != src {
						kept = appendUnique(kept, n)
					}
				}
			}
			outs[o] = kept
		}
	}
	delete(w.Connections, name)
	for i, n := range w.Nodes {
		if n.Name == name {
			w.Nodes = append(w.Nodes[:i:i], w.Nodes[i+1:]...)
			break
		}
	}
}

func appendUnique(list []nodes.Connection, c nodes.Connection) []nodes.Connection {
	for _, x := range list {
		if x == c {
			return list
		}
	}
	return append(list, c)
}

// replaceTrigger turns the first trigger into the one asked for, keeping
// its id and its connections.
func replaceTrigger(w *nodes.Workflow, tr TriggerIntent) bool {
	spec, params := triggerNode(tr)
	for i, n := range w.Nodes {
		if n.Type != nodes.TypeTrigger {
			continue
		}
		name := spec.name
		if name != n.Name {
			name = uniqueName(*w, spec.name)
		}
		w.Nodes[i].Subtype, w.Nodes[i].Parameters, w.Nodes[i].Credentials = spec.subtype, params, nil
		renameNode(w, n.Name, name)
		return true
	}
	return false
}

func renameNode(w *nodes.Workflow, from, to string) {
	if from == to {
		return
	}
	for i := range w.Nodes {
		if w.Nodes[i].Name == from {
			w.Nodes[i].Name = to
		}
	}
	if nc, ok := w.Connections[from]; ok {
		delete(w.Connections, from)
		w.Connections[to] = nc
	}
	for _, nc := range w.Connections {
		for _, targets := range nc[nodes.ConnectionMain] {
			for i := range targets {
				if targets[i].Node == from {
					targets[i].Node = to
				}
			}
		}
	}
}

// updateStep changes the last node of the step's kind in place.
func updateStep(w *nodes.Workflow, s StepIntent) bool {
	for i := len(w.Nodes) - 1; i >= 0; i-- {
		n := &w.Nodes[i]
		if kindOf(*n) != s.Kind {
			continue
		}
		spec, params := stepNode(s)
		if s.Kind == StepSet {
			merged := cloneMap(n.Parameters)
			for k, v := range params {
				if old, ok := merged[k].(map[string]any); ok {
					if add, ok := v.(map[string]any); ok {
						m := cloneMap(old)
						for kk, vv := range add {
							m[kk] = vv
						}
						v = m
					}
				}
				merged[k] = v
			}
			params = merged
		}
		n.Type, n.Subtype, n.Parameters = spec.typ, spec.subtype, params
		return true
	}
	return false
}
