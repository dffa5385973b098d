package planner

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/nodes"
)

var now = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// turn runs one planner turn on the state of the previous one.
func turn(t *testing.T, st State, msg string) ([]Response, State) {
	t.Helper()
	tr := Turn{SessionID: "s1", UserID: "u1", Message: msg, State: st, Now: now}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	out := Plan(tr)
	checkShape(t, out)
	return out, *out[len(out)-1].State
}

// checkShape wants one content per response, only the last final, and the
// state on the final one.
func checkShape(t *testing.T, out []Response) {
	t.Helper()
	if len(out) < 1 {
		t.Fatal("no responses")
	}
	for i, r := range out {
		set := 0
		for _, ok := range []bool{r.Message != nil, r.StatusChange != nil, r.Workflow != nil, r.Error != nil} {
			if ok {
				set++
			}
		}
		if set != 1 {
			t.Errorf("response %d has %d contents, want 1", i, set)
		}
		last := i == len(out)-1
		if r.Final != last || (r.State != nil) != last {
			t.Errorf("response %d: final=%v state=%v, want both only on the last", i, r.Final, r.State != nil)
		}
	}
}

func draftOf(out []Response) (nodes.Workflow, bool) {
	for _, r := range out {
		if r.Workflow != nil {
			return r.Workflow.Workflow, true
		}
	}
	return nodes.Workflow{}, false
}

func kinds(w nodes.Workflow) []string {
	var out []string
	for _, n := range w.Nodes {
		out = append(out, n.Subtype)
	}
	return out
}

func TestDraftsFromManyPhrasings(t *testing.T) {
	tests := []struct {
		msg        string
		want       []string // node subtypes in order
		executable bool
		check      func(t *testing.T, w nodes.Workflow)
	}{
		{"Every morning send a GET request to https://api.example.com/report", []string{"CRON", "SEND_HTTP_REQUEST"}, false, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "0 9 * * *")
		}},
		{"every weekday at 8:30am fetch https://example.com/a.json, then wait 10 seconds", []string{"CRON", "SEND_HTTP_REQUEST", "WAIT"}, false, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "30 8 * * 1-5")
			param(t, w, 2, "seconds", 10.0)
		}},
		{"every 15 minutes call https://status.example.com/health", []string{"CRON", "SEND_HTTP_REQUEST"}, false, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "*/15 * * * *")
		}},
		{"hourly: post to https://hooks.example.com/ping", []string{"CRON", "SEND_HTTP_REQUEST"}, false, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "0 * * * *")
			param(t, w, 1, "method", "POST")
		}},
		{`use the cron "0 6 * * 1" to send a request to https://example.com/weekly`, []string{"CRON", "SEND_HTTP_REQUEST"}, false, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "0 6 * * 1")
		}},
		{"Every Monday and Friday at 5pm, fetch https://example.com/news and summarise it with AI", []string{"CRON", "SEND_HTTP_REQUEST", "OPENAI"}, false, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "0 17 * * 1,5")
		}},
		{"When a webhook arrives, send an HTTP request to https://api.example.com/v1/orders", []string{"WEBHOOK", "SEND_HTTP_REQUEST"}, true, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 1, "method", "GET")
		}},
		{"when a GET webhook hits path orders/new, wait 1 second", []string{"WEBHOOK", "WAIT"}, true, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "path", "orders/new")
			param(t, w, 0, "method", "GET")
		}},
		{"When a webhook arrives at /orders, if amount is greater than 100 set priority to high", []string{"WEBHOOK", "IF", "DATA_TRANSFORMATION"}, true, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 1, "condition", "input.amount > 100")
			if got := w.Targets("If", 0); len(got) != 1 || got[0].Node != "Set Values" {
				t.Errorf("If true output: %v, want Set Values", got)
			}
		}},
		{"on incoming requests, only if status == 200 set ok to true", []string{"WEBHOOK", "IF", "DATA_TRANSFORMATION"}, true, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 1, "condition", "input.status == 200")
		}},
		{"manually: wait 2 seconds, then set greeting to hello", []string{"MANUAL", "WAIT", "DATA_TRANSFORMATION"}, true, func(t *testing.T, w nodes.Workflow) {
			if v := w.Nodes[2].Parameters["values"].(map[string]any)["greeting"]; v != "hello" {
				t.Errorf("greeting = %v", v)
			}
		}},
		{"I'll run it by hand. Pause for half a minute and then set count to 3 and label to 'done'", []string{"MANUAL", "WAIT", "DATA_TRANSFORMATION"}, true, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 1, "seconds", 30.0)
			vals := w.Nodes[2].Parameters["values"].(map[string]any)
			if vals["count"] != 3.0 || vals["label"] != "done" {
				t.Errorf("values = %v", vals)
			}
		}},
		{"on demand, set total to {{ input.price * input.qty }}", []string{"MANUAL", "DATA_TRANSFORMATION"}, true, func(t *testing.T, w nodes.Workflow) {
			if e := w.Nodes[1].Parameters["expressions"].(map[string]any)["total"]; e != "input.price * input.qty" {
				t.Errorf("expression = %v", e)
			}
		}},
		{"manually wait 2 hours", []string{"MANUAL", "WAIT"}, true, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 1, "seconds", float64(MaxWaitSeconds))
		}},
		{"when someone posts to the webhook, ask an AI to summarise the body", []string{"WEBHOOK", "OPENAI"}, true, nil},
		{"when I receive an HTTP request, ask claude to translate it into French and email it to bob@example.com", []string{"WEBHOOK", "CLAUDE", "EMAIL"}, false, nil},
		{"by hand: classify the input with gemini and post it to slack #support", []string{"MANUAL", "GEMINI", "SLACK"}, false, nil},
		{"manually run: if the status code is not 200 send a POST to https://alerts.example.com/x", []string{"MANUAL", "IF", "SEND_HTTP_REQUEST"}, true, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 1, "condition", "input.status != 200")
		}},
		{"every night at midnight: if the body contains 'error' then email ops@example.com", []string{"CRON", "IF", "EMAIL"}, false, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "0 0 * * *")
			param(t, w, 1, "condition", `input.body contains "error"`)
		}},
		{"manual trigger; send a request to https://a.example.com; wait 5s; send a request to https://b.example.com", []string{"MANUAL", "SEND_HTTP_REQUEST", "WAIT", "SEND_HTTP_REQUEST"}, true, func(t *testing.T, w nodes.Workflow) {
			if w.Nodes[3].Name != "HTTP Request 2" {
				t.Errorf("second request named %q", w.Nodes[3].Name)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			out, st := turn(t, State{}, tt.msg)
			w, ok := draftOf(out)
			if !ok {
				t.Fatalf("no draft; last: %+v", out[len(out)-1].Message)
			}
			if err := nodes.Validate(w); err != nil {
				t.Fatalf("draft does not validate: %v", err)
			}
			if err := nodes.ValidateExecutable(w); (err == nil) != tt.executable {
				t.Errorf("ValidateExecutable = %v, want executable %v", err, tt.executable)
			}
			if got := kinds(w); !slices.Equal(got, tt.want) {
				t.Errorf("nodes %v, want %v", got, tt.want)
			}
			if st.Stage != StageCompleted || st.PreviousStage != StageDebug {
				t.Errorf("stage %q (from %q), want completed from debug", st.Stage, st.PreviousStage)
			}
			if !tt.executable && len(st.Gaps) == 0 {
				t.Error("a draft the engine cannot run reports no gap")
			}
			var saved nodes.Workflow
			if err := json.Unmarshal([]byte(st.CurrentWorkflowJSON), &saved); err != nil || saved.Name != w.Name {
				t.Errorf("state's current workflow %q (%v), want the draft", st.CurrentWorkflowJSON, err)
			}
			if tt.check != nil {
				tt.check(t, w)
			}
		})
	}
}

func param(t *testing.T, w nodes.Workflow, node int, key string, want any) {
	t.Helper()
	if got := w.Nodes[node].Parameters[key]; got != want {
		t.Errorf("node %d %s = %#v, want %#v", node, key, got, want)
	}
}

func TestVagueRequestsAsk(t *testing.T) {
	tests := []struct {
		msg  string
		want []string // questions asked, by their start
	}{
		{"help me automate something", []string{qTrigger, qSteps}},
		{"hello", []string{qTrigger, qSteps}},
		{"I want a workflow for every item in my list", []string{qTrigger, qSteps}},
		{"every morning", []string{qSteps}},
		{"when a webhook arrives", []string{qSteps}},
		{"run it on a schedule and call an api", []string{qSchedule, stepQuestions[missingURL]}},
		{"send a POST request to https://hooks.example.com/x", []string{qTrigger}},
		{"manually, if something happens", []string{stepQuestions[missingCondition]}},
		{"manually wait", []string{stepQuestions[missingDuration]}},
		{"manually post to slack", []string{stepQuestions[missingChannel]}},
		{"manually send an email", []string{stepQuestions[missingAddress]}},
		{"manually transform the data", []string{stepQuestions[missingValues]}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			out, st := turn(t, State{}, tt.msg)
			if _, ok := draftOf(out); ok {
				t.Fatal("drafted a workflow for a vague request")
			}
			sc := out[0].StatusChange
			if sc == nil || sc.Previous != StageUnspecified || sc.Current != StageClarification {
				t.Errorf("first response %+v, want status change to clarification", out[0])
			}
			if st.Stage != StageClarification {
				t.Errorf("stage %q, want clarification", st.Stage)
			}
			if !slices.Equal(st.Clarification.PendingQuestions, tt.want) {
				t.Errorf("questions %q, want %q", st.Clarification.PendingQuestions, tt.want)
			}
			last := out[len(out)-1].Message
			if last == nil || !strings.Contains(last.Text, tt.want[0]) {
				t.Errorf("final message %+v does not ask %q", last, tt.want[0])
			}
		})
	}
}

// TestConversation follows one session across turns, the state going
// back and forth as the caller would keep it.
func TestConversation(t *testing.T) {
	steps := []struct {
		msg   string
		stage Stage
		want  []string // node subtypes after the turn; nil: no draft
		check func(t *testing.T, w nodes.Workflow, st State)
	}{
		{"I need a workflow", StageClarification, nil, nil},
		{"it should call an API", StageClarification, nil, func(t *testing.T, _ nodes.Workflow, st State) {
			if !slices.Contains(st.Clarification.PendingQuestions, stepQuestions[missingURL]) {
				t.Errorf("questions %q, want the URL asked", st.Clarification.PendingQuestions)
			}
		}},
		// The trigger was asked and not answered: a manual start by default.
		{"https://api.example.com/items", StageCompleted, []string{"MANUAL", "SEND_HTTP_REQUEST"}, nil},
		{"also wait 3 seconds", StageCompleted, []string{"MANUAL", "SEND_HTTP_REQUEST", "WAIT"}, nil},
		{"change the wait to 7 seconds", StageCompleted, []string{"MANUAL", "SEND_HTTP_REQUEST", "WAIT"}, func(t *testing.T, w nodes.Workflow, _ State) {
			param(t, w, 2, "seconds", 7.0)
		}},
		{"make it start when a webhook arrives", StageCompleted, []string{"WEBHOOK", "SEND_HTTP_REQUEST", "WAIT"}, func(t *testing.T, w nodes.Workflow, _ State) {
			if w.Nodes[0].ID != "n1" || w.Nodes[0].Name != "Webhook" || len(w.Targets("Webhook", 0)) != 1 {
				t.Errorf("trigger %+v not replaced in place", w.Nodes[0])
			}
		}},
		{"remove the http request", StageCompleted, []string{"WEBHOOK", "WAIT"}, func(t *testing.T, w nodes.Workflow, _ State) {
			if got := w.Targets("Webhook", 0); len(got) != 1 || got[0].Node != "Wait" {
				t.Errorf("webhook now leads to %v, want Wait", got)
			}
		}},
		{"rename it to Order intake", StageCompleted, []string{"WEBHOOK", "WAIT"}, func(t *testing.T, w nodes.Workflow, _ State) {
			if w.Name != "Order intake" {
				t.Errorf("name %q", w.Name)
			}
		}},
		{"what is the weather like?", StageClarification, nil, func(t *testing.T, _ nodes.Workflow, st State) {
			if st.CurrentWorkflowJSON == "" {
				t.Error("an unclear request dropped the workflow")
			}
		}},
		{"remove the webhook", StageClarification, nil, nil},
	}
	var st State
	for i, s := range steps {
		out, next := turn(t, st, s.msg)
		w, drafted := draftOf(out)
		if next.Stage != s.stage {
			t.Fatalf("turn %d %q: stage %q, want %q (%+v)", i, s.msg, next.Stage, s.stage, out[len(out)-1].Message)
		}
		if drafted != (s.want != nil) {
			t.Fatalf("turn %d %q: drafted %v, want %v", i, s.msg, drafted, s.want != nil)
		}
		if drafted {
			if err := nodes.Validate(w); err != nil {
				t.Fatalf("turn %d: %v", i, err)
			}
			if got := kinds(w); !slices.Equal(got, s.want) {
				t.Errorf("turn %d %q: nodes %v, want %v", i, s.msg, got, s.want)
			}
		}
		if s.check != nil {
			s.check(t, w, next)
		}
		if n := len(next.Conversations); n != min(2*(i+1), MaxConversations) || next.Conversations[n-2].Text != s.msg {
			t.Errorf("turn %d: %d conversation entries, want %d ending with the user's message and a reply", i, n, 2*(i+1))
		}
		if next.SessionID != "s1" || next.UserID != "u1" || !next.CreatedAt.Equal(now) {
			t.Errorf("turn %d: ids/timestamps %q %q %v", i, next.SessionID, next.UserID, next.CreatedAt)
		}
		st = next
	}
}

const hello = `{"name": "Hello pipeline", "description": "manual start, short wait, then set a value",
 "nodes": [
  {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
  {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 0.2}},
  {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION", "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
  "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
  "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

func TestEditAndCopy(t *testing.T) {
	tests := []struct {
		name     string
		ctx      WorkflowContext
		current  string
		msg      string
		wantErr  string // error code; "" wants a draft or a question
		wantName string
		check    func(t *testing.T, w nodes.Workflow)
	}{
		{"edit a wait", WorkflowContext{Origin: OriginEdit, SourceWorkflowID: "w1"}, hello, "change the wait to 1 second", "", "Hello pipeline", func(t *testing.T, w nodes.Workflow) {
			param(t, w, 1, "seconds", 1.0)
		}},
		{"edit with the intent in the context", WorkflowContext{Origin: OriginEdit, ModificationIntent: "add a request to https://example.com/done"}, hello, "please", "", "Hello pipeline", func(t *testing.T, w nodes.Workflow) {
			if got := kinds(w); !slices.Equal(got, []string{"MANUAL", "WAIT", "DATA_TRANSFORMATION", "SEND_HTTP_REQUEST"}) {
				t.Errorf("nodes %v", got)
			}
			if got := w.Targets("Greet", 0); len(got) != 1 || got[0].Node != "HTTP Request" {
				t.Errorf("Greet leads to %v", got)
			}
		}},
		{"edit set merges values", WorkflowContext{Origin: OriginEdit}, hello, "update it: set farewell to bye", "", "Hello pipeline", func(t *testing.T, w nodes.Workflow) {
			vals := w.Nodes[2].Parameters["values"].(map[string]any)
			if vals["greeting"] != "hello" || vals["farewell"] != "bye" {
				t.Errorf("values %v", vals)
			}
		}},
		{"remove a step by name", WorkflowContext{Origin: OriginEdit}, hello, "remove Pause", "", "Hello pipeline", func(t *testing.T, w nodes.Workflow) {
			if got := w.Targets("Start", 0); len(got) != 1 || got[0].Node != "Greet" {
				t.Errorf("Start leads to %v", got)
			}
		}},
		{"copy", WorkflowContext{Origin: OriginCopy, SourceWorkflowID: "w1"}, hello, "copy it", "", "Copy of Hello pipeline", nil},
		{"copy and rename", WorkflowContext{Origin: OriginCopy}, hello, "call it Greeter", "", "Greeter", nil},
		{"edit without a source", WorkflowContext{Origin: OriginEdit, SourceWorkflowID: "w1"}, "", "change the wait", "source_workflow_missing", "", nil},
		{"edit a broken source", WorkflowContext{Origin: OriginEdit}, "{not json", "change the wait", "invalid_current_workflow", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := Turn{SessionID: "s1", Message: tt.msg, Context: tt.ctx, State: State{CurrentWorkflowJSON: tt.current}, Now: now}
			out := Plan(tr)
			checkShape(t, out)
			last := out[len(out)-1]
			if tt.wantErr != "" {
				if last.Error == nil || last.Error.Code != tt.wantErr || last.Error.Recoverable {
					t.Fatalf("last %+v, want unrecoverable error %s", last, tt.wantErr)
				}
				if last.State.Stage != StageError {
					t.Errorf("stage %q, want error", last.State.Stage)
				}
				return
			}
			w, ok := draftOf(out)
			if !ok {
				t.Fatalf("no draft: %+v", out[len(out)-1].Message)
			}
			if err := nodes.ValidateExecutable(w); err != nil {
				t.Fatal(err)
			}
			if w.Name != tt.wantName {
				t.Errorf("name %q, want %q", w.Name, tt.wantName)
			}
			if last.State.Context != tt.ctx {
				t.Errorf("context %+v, want %+v", last.State.Context, tt.ctx)
			}
			if tt.check != nil {
				tt.check(t, w)
			}
		})
	}
}

func TestTurnValidate(t *testing.T) {
	tests := []struct {
		name string
		turn Turn
		ok   bool
	}{
		{"fine", Turn{SessionID: "s", Message: "hi"}, true},
		{"no session", Turn{Message: "hi"}, false},
		{"blank message", Turn{SessionID: "s", Message: "  "}, false},
		{"huge message", Turn{SessionID: "s", Message: strings.Repeat("x", MaxMessageBytes+1)}, false},
		{"other session's state", Turn{SessionID: "s", Message: "hi", State: State{SessionID: "t"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.turn.Validate()
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidTurn)) {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestAdopt(t *testing.T) {
	var w nodes.Workflow
	if err := json.Unmarshal([]byte(hello), &w); err != nil {
		t.Fatal(err)
	}
	base := Turn{SessionID: "s1", Message: "make me a greeting", Now: now}
	gen, tr := Generating(base)
	if gen.StatusChange.Current != StageWorkflowGeneration || tr.State.Stage != StageWorkflowGeneration {
		t.Fatalf("generating %+v / %q", gen.StatusChange, tr.State.Stage)
	}
	out := Adopt(tr, Draft{Reply: "Here you go.", Workflow: &w, Attempts: 2})
	checkShape(t, out)
	got, ok := draftOf(out)
	if !ok || got.Name != "Hello pipeline" {
		t.Fatalf("draft %v %v", got.Name, ok)
	}
	st := out[len(out)-1].State
	if st.Stage != StageCompleted || st.DebugLoopCount != 1 || !st.Debug.Success {
		t.Errorf("state %q loop %d debug %+v", st.Stage, st.DebugLoopCount, st.Debug)
	}
	if sc := out[len(out)-2].StatusChange; sc == nil || sc.Previous != StageWorkflowGeneration || sc.Current != StageDebug {
		t.Errorf("debug status change %+v, want to continue from workflow generation", sc)
	}

	out = Adopt(tr, Draft{Reply: "Which URL?", Attempts: 1})
	checkShape(t, out)
	if st := out[len(out)-1].State; st.Stage != StageClarification || !slices.Equal(st.Clarification.PendingQuestions, []string{"Which URL?"}) {
		t.Errorf("state %q %q, want the reply as a question", st.Stage, st.Clarification.PendingQuestions)
	}
}

func BenchmarkPlanTurn(b *testing.B) {
	msg := "every weekday at 8:30am fetch https://example.com/a.json, if status == 200 wait 10 seconds, then set done to true"
	for b.Loop() {
		out := Plan(Turn{SessionID: "s", Message: msg, Now: now})
		if out[len(out)-1].State.Stage != StageCompleted {
			b.Fatal("no draft")
		}
	}
}

// TestEveryCombinationValidates drafts from every pairing of trigger and
// step phrasings: each turn must end in a question or a draft that passes
// nodes.Validate, never in an invalid draft.
func TestEveryCombinationValidates(t *testing.T) {
	triggers := []string{"", "manually", "every morning", "every 5 minutes", "on weekdays at 7pm", "when a webhook arrives", "when someone posts to /hook", `cron "*/10 * * * *"`}
	steps := []string{
		"send a request to https://api.example.com/x?a=1", "post to https://example.com/in", "wait 3 seconds", "pause for 2 minutes",
		"if amount > 5", "only if the status is ok", "set done to true", "ask gpt to summarise it", "post to slack #ops", "email a@b.co",
	}
	drafts := 0
	for _, tr := range triggers {
		for _, a := range steps {
			for _, b := range steps {
				msg := strings.TrimPrefix(tr+", "+a+", then "+b, ", ")
				out := Plan(Turn{SessionID: "s", Message: msg, Now: now})
				last := out[len(out)-1]
				if last.Error != nil {
					t.Fatalf("%q: %s: %s", msg, last.Error.Code, last.Error.Message)
				}
				if w, ok := draftOf(out); ok {
					drafts++
					if err := nodes.Validate(w); err != nil {
						t.Fatalf("%q: %v", msg, err)
					}
					if len(w.Nodes) != 3 {
						t.Errorf("%q: %d nodes, want trigger and two steps", msg, len(w.Nodes))
					}
				} else if tr != "" {
					t.Errorf("%q: no draft although trigger and steps are named", msg)
				}
			}
		}
	}
	if want := (len(triggers) - 1) * len(steps) * len(steps); drafts != want {
		t.Errorf("%d drafts, want %d", drafts, want)
	}
}

func TestGoAheadFillsDefaults(t *testing.T) {
	tests := []struct {
		first, second string
		want          []string
		check         func(t *testing.T, w nodes.Workflow)
	}{
		{"run it on a schedule and call https://x.example.com", "just draft it", []string{"CRON", "SEND_HTTP_REQUEST"}, func(t *testing.T, w nodes.Workflow) {
			param(t, w, 0, "cron_expression", "0 9 * * *")
		}},
		{"wait 5 seconds and post to slack", "go ahead", []string{"MANUAL", "WAIT"}, nil},
		{"send a request to https://x.example.com", "yes", []string{"MANUAL", "SEND_HTTP_REQUEST"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.first, func(t *testing.T) {
			out, st := turn(t, State{}, tt.first)
			if _, ok := draftOf(out); ok {
				t.Fatal("drafted before the user agreed to defaults")
			}
			out, _ = turn(t, st, tt.second)
			w, ok := draftOf(out)
			if !ok {
				t.Fatalf("no draft after %q", tt.second)
			}
			if got := kinds(w); !slices.Equal(got, tt.want) {
				t.Errorf("nodes %v, want %v", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, w)
			}
		})
	}
}
