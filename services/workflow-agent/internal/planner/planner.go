package planner

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wfagent/gateway/pkg/nodes"
)

// Turn is one user message with the state the caller kept since the last.
type Turn struct {
	SessionID string
	UserID    string
	Message   string
	// Context comes with the request; when its origin is unspecified the
	// state's context is kept.
	Context WorkflowContext
	State   State
	Now     time.Time
}

// MaxMessageBytes bounds a user message.
const MaxMessageBytes = 16 << 10

// ErrInvalidTurn is what Validate's errors match: the caller sent a turn
// that no answer can fix.
var ErrInvalidTurn = errors.New("invalid turn")

// Validate checks what the caller must get right.
func (t Turn) Validate() error {
	var problems []string
	if strings.TrimSpace(t.SessionID) == "" {
		problems = append(problems, "session_id is required")
	}
	if strings.TrimSpace(t.Message) == "" {
		problems = append(problems, "user_message is required")
	}
	if len(t.Message) > MaxMessageBytes {
		problems = append(problems, fmt.Sprintf("user_message must be at most %d bytes", MaxMessageBytes))
	}
	if t.State.SessionID != "" && t.State.SessionID != t.SessionID {
		problems = append(problems, "current_state.session_id does not match session_id")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidTurn, strings.Join(problems, "; "))
	}
	return nil
}

// The questions the planner asks. qTrigger is also how it knows it asked.
const (
	qTrigger  = "What should start the workflow: a schedule (e.g. “every morning at 8”), an incoming webhook, or you running it by hand?"
	qSteps    = "What should the workflow do? For example: send an HTTP request to a URL, wait a while, check a condition (“if amount is greater than 100”), set values, or ask an AI to summarise."
	qSchedule = "How often should it run? For example “every 15 minutes”, “every weekday at 8am” or a cron expression such as \"0 9 * * 1-5\"."
	qEdit     = "What would you like to change? I can rename the workflow, change what starts it, change a URL, wait or condition, add steps (“add a wait of 5 seconds”) or remove them (“remove the wait”)."
)

var stepQuestions = map[string]string{
	missingURL:       "Which URL should the HTTP request go to?",
	missingCondition: "What should the condition check? For example “if amount is greater than 100” or “if status == 200”.",
	missingDuration:  "How long should it wait? For example “wait 30 seconds”.",
	missingValues:    "Which values should it set? For example “set status to done and priority to 2”.",
	missingChannel:   "Which Slack channel should it post to? For example #alerts.",
	missingAddress:   "Which e-mail address should it send to?",
}

// Plan answers a turn with the deterministic planner: clarification
// questions, a first draft, or a change to the current workflow. The last
// response is final and carries the new state.
func Plan(t Turn) []Response {
	st := t.begin()
	if st.CurrentWorkflowJSON != "" {
		return t.edit(st)
	}
	if o := st.Context.Origin; o == OriginEdit || o == OriginCopy {
		return failure(st, "source_workflow_missing",
			"an "+string(o)+" session needs the source workflow in current_state.current_workflow_json", false)
	}
	return t.create(st)
}

// begin is the state as the turn starts: ids, clock, context and the
// user's message recorded.
func (t Turn) begin() State {
	st := t.State.clone()
	st.SessionID = t.SessionID
	if t.UserID != "" {
		st.UserID = t.UserID
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = t.Now
	}
	st.UpdatedAt = t.Now
	if t.Context.Origin != OriginUnspecified {
		st.Context = t.Context
	}
	if st.Context.Origin == OriginUnspecified {
		st.Context.Origin = OriginCreate
	}
	st.Clarification.Origin = st.Context.Origin
	st.DebugLoopCount = 0
	st.remember(RoleUser, t.Message, t.Now)
	return st
}

// firstTurn reports that the caller's state had no history yet.
func (t Turn) firstTurn() bool { return len(t.State.Conversations) == 0 }

func (t Turn) create(st State) []Response {
	plan := loadPlan(st)
	askedTrigger := contains(st.Clarification.PendingQuestions, qTrigger)
	plan = merge(plan, parseIntent(t.Message), t.Message)

	var notes []string
	if plan.Trigger == nil && len(plan.Steps) > 0 && (plan.Defaults || askedTrigger) {
		plan.Trigger = &TriggerIntent{Kind: TriggerManual}
		notes = append(notes, "Nothing said what should start it, so it starts when you run it; tell me if you would rather use a schedule or a webhook.")
	}
	if plan.Defaults {
		if tr := plan.Trigger; tr != nil && tr.Kind == TriggerSchedule && tr.Cron == "" {
			tr.Cron, tr.When, _ = parseSchedule("daily")
			notes = append(notes, "No time was given, so it runs "+tr.When+" (UTC).")
		}
		plan.Steps, notes = dropIncomplete(plan.Steps, notes)
	}
	for _, s := range plan.Steps {
		if s.Note != "" {
			notes = append(notes, capitalise(s.Note)+".")
		}
	}

	st.Clarification.Purpose = "create a workflow"
	savePlan(&st, plan)
	if q := questionsFor(plan); len(q) > 0 {
		return t.clarify(st, plan, q)
	}
	w := build(plan)
	text := "Here is a draft: " + lowerFirst(describe(plan))
	if len(notes) > 0 {
		text += "\n\n" + strings.Join(notes, "\n")
	}
	return present(st, w, text, nil)
}

// merge adds what a message says to the plan so far: a trigger replaces
// the old one, a step completes a pending step of its kind or is appended,
// and a bare answer ("https://…", "30 seconds") fills what was asked.
func merge(plan Intent, in Intent, text string) Intent {
	switch tr := plan.Trigger; {
	case in.Trigger != nil && !(in.Trigger.Cron == "" && tr != nil && tr.Kind == TriggerSchedule && tr.Cron != "" && in.Trigger.Kind == TriggerSchedule):
		plan.Trigger = in.Trigger
	case tr != nil && tr.Kind == TriggerSchedule && tr.Cron == "":
		if cron, when, ok := parseSchedule(text); ok {
			tr.Cron, tr.When = cron, when
		}
	}
	for _, s := range in.Steps {
		if i := pendingStep(plan.Steps, s.Kind); i >= 0 && s.Missing == "" {
			plan.Steps[i] = s
			continue
		}
		plan.Steps = append(plan.Steps, s)
	}
	if len(in.Steps) == 0 {
		for i := range plan.Steps {
			fillFromAnswer(&plan.Steps[i], text)
		}
	}
	plan.Defaults = in.Defaults
	return plan
}

func pendingStep(steps []StepIntent, kind string) int {
	for i, s := range steps {
		if s.Kind == kind && s.Missing != "" {
			return i
		}
	}
	return -1
}

// fillFromAnswer completes a step from a message that only answers its
// question.
func fillFromAnswer(s *StepIntent, text string) {
	switch s.Missing {
	case missingURL:
		if u, ok := findURL(text); ok {
			s.URL, s.Missing = u, ""
		}
	case missingCondition:
		if c, ok := parseCondition(text); ok {
			s.Condition, s.Missing = c, ""
		}
	case missingDuration:
		if d, ok := parseDuration(text); ok {
			s.Seconds, s.Missing = min(d, MaxWaitSeconds), ""
		}
	case missingValues:
		if v, e := parseAssignments(text); len(v)+len(e) > 0 {
			s.Values, s.Expressions, s.Missing = v, e, ""
		}
	case missingChannel:
		if m := channelRe.FindStringSubmatch(text); m != nil {
			s.Channel, s.Missing = "#"+m[1], ""
		}
	case missingAddress:
		if a := emailAddrRe.FindString(text); a != "" {
			s.To, s.Missing = a, ""
		}
	}
}

// dropIncomplete leaves out steps still missing something when the user
// said to go ahead, as long as something remains.
func dropIncomplete(steps []StepIntent, notes []string) ([]StepIntent, []string) {
	var kept, dropped []StepIntent
	for _, s := range steps {
		if s.Missing == "" {
			kept = append(kept, s)
		} else {
			dropped = append(dropped, s)
		}
	}
	if len(kept) == 0 || len(dropped) == 0 {
		return steps, notes
	}
	for _, s := range dropped {
		notes = append(notes, "I left out “"+stepLabel(s)+"”; tell me the missing detail to add it.")
	}
	return kept, notes
}

func questionsFor(in Intent) []string {
	if in.Trigger == nil && len(in.Steps) == 0 {
		return []string{qTrigger, qSteps}
	}
	var q []string
	if in.Trigger != nil && in.Trigger.Kind == TriggerSchedule && in.Trigger.Cron == "" {
		q = append(q, qSchedule)
	}
	for _, s := range in.Steps {
		if s.Missing != "" && !contains(q, stepQuestions[s.Missing]) {
			q = append(q, stepQuestions[s.Missing])
		}
	}
	if len(in.Steps) == 0 {
		q = append(q, qSteps)
	}
	if in.Trigger == nil {
		q = append(q, qTrigger)
	}
	return q
}

func (t Turn) clarify(st State, plan Intent, questions []string) []Response {
	prev := st.Stage
	st.moveTo(StageClarification)
	st.Clarification.PendingQuestions = questions
	info := map[string]any{}
	for k, v := range st.Clarification.CollectedInfo {
		if k != PlanKey {
			info[k] = v
		}
	}
	var b strings.Builder
	if plan.Trigger != nil || len(plan.Steps) > 0 {
		b.WriteString("So far I have: " + lowerFirst(describe(plan)) + "\n\n")
	} else {
		b.WriteString("I can build that workflow with you. ")
	}
	if len(questions) == 1 {
		b.WriteString(questions[0])
	} else {
		b.WriteString("To draft it I need to know:")
		for i, q := range questions {
			fmt.Fprintf(&b, "\n%d. %s", i+1, q)
		}
	}
	text := b.String()
	st.remember(RoleAssistant, text, st.UpdatedAt)
	return []Response{
		statusChange(prev, StageClarification, map[string]any{"pending_questions": anySlice(questions), "collected_info": info}),
		final(message(text), st),
	}
}

// present streams a workflow that passes nodes.Validate: the gaps it
// leaves, the generation, the workflow itself, its validation and the move
// to completed. It refuses (as an error response) a workflow that does not
// validate, which would be a planner bug or a model's mistake let through.
func present(st State, w nodes.Workflow, text string, gaps []Gap) []Response {
	if err := nodes.Validate(w); err != nil {
		return failure(st, "draft_invalid", "the drafted workflow does not validate: "+err.Error(), true)
	}
	raw, err := json.Marshal(w)
	if err != nil {
		return failure(st, "draft_invalid", "the drafted workflow cannot be encoded: "+err.Error(), true)
	}
	gaps = append(gaps, executableGaps(w)...)
	alts := alternativesFor(w)
	debug := DebugResult{Success: true}
	if err := nodes.ValidateExecutable(w); err != nil {
		debug.Warnings = problems(err)
	}
	st.CurrentWorkflowJSON = string(raw)
	st.Gaps, st.Alternatives, st.Debug = gaps, alts, debug
	st.Clarification.PendingQuestions = nil
	st.IntentSummary = w.Description

	var out []Response
	from := st.Stage
	move := func(to Stage, state map[string]any) {
		out = append(out, statusChange(from, to, state))
		from = to
	}
	if from != StageWorkflowGeneration {
		move(StageGapAnalysis, map[string]any{"gaps": gapsAny(gaps)})
		if len(alts) > 0 {
			move(StageAlternativeGeneration, map[string]any{"alternatives": altsAny(alts)})
		}
		move(StageWorkflowGeneration, map[string]any{"nodes": float64(len(w.Nodes))})
	}
	sep := "\n\n"
	for _, g := range gaps {
		if g.Severity == "warning" {
			text += sep + "Note: " + g.Description + "."
			sep = "\n"
		}
	}
	for _, a := range alts {
		text += "\nAlternative: " + a.Title + ": " + a.Description
	}
	text += "\n\nTell me what to change, or save it as it is."
	out = append(out, message(text))
	out = append(out, Response{Workflow: &WorkflowDraft{Text: w.Description, Workflow: w}})
	move(StageDebug, map[string]any{"success": debug.Success, "errors": anySlice(debug.Errors), "warnings": anySlice(debug.Warnings)})
	st.PreviousStage, st.Stage = StageDebug, StageCompleted
	st.remember(RoleAssistant, text, st.UpdatedAt)
	out = append(out, final(statusChange(StageDebug, StageCompleted, map[string]any{"workflow_name": w.Name}), st))
	return out
}

// executableGaps names the nodes that validate but that the engine cannot run.
func executableGaps(w nodes.Workflow) []Gap {
	var gaps []Gap
	seen := map[string]bool{}
	for _, n := range w.Nodes {
		spec, ok := nodes.Lookup(n.Type, n.Subtype)
		if !ok || spec.Executable || seen[spec.Key()] {
			continue
		}
		seen[spec.Key()] = true
		gaps = append(gaps, Gap{Severity: "warning",
			Description: fmt.Sprintf("%s nodes (%s) save and validate, but this platform's engine cannot run them yet", spec.DisplayName, spec.Key())})
	}
	return gaps
}

// alternativesFor suggests executable replacements for what the engine
// cannot run.
func alternativesFor(w nodes.Workflow) []Alternative {
	var alts []Alternative
	add := func(a Alternative) {
		for _, b := range alts {
			if b.ID == a.ID {
				return
			}
		}
		alts = append(alts, a)
	}
	for _, n := range w.Nodes {
		switch n.Type + "." + n.Subtype {
		case nodes.TypeTrigger + ".CRON":
			add(Alternative{ID: "webhook-trigger", Title: "Start it with a webhook", Description: "swap the schedule for a webhook trigger and let an outside scheduler call it."})
			add(Alternative{ID: "manual-trigger", Title: "Start it by hand", Description: "swap the schedule for a manual trigger and execute the workflow through the API when needed."})
		case nodes.TypeAIAgent + ".CLAUDE", nodes.TypeAIAgent + ".GEMINI":
			add(Alternative{ID: "openai-agent", Title: "Use the OpenAI agent node", Description: "the engine runs it against its configured OpenAI-compatible endpoint."})
		case nodes.TypeExternalAction + ".SLACK", nodes.TypeExternalAction + ".EMAIL":
			add(Alternative{ID: "http-request", Title: "Send it with an HTTP request", Description: "post to the service's HTTP API (a Slack incoming webhook, a mail API) with an HTTP request node, which the engine runs."})
		}
	}
	return alts
}

func problems(err error) []string {
	var ve *nodes.ValidationError
	if !errors.As(err, &ve) {
		return []string{err.Error()}
	}
	out := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = p.Field + ": " + p.Message
	}
	return out
}

// failure ends a turn with an error response.
func failure(st State, code, msg string, recoverable bool) []Response {
	st.moveTo(StageError)
	return []Response{final(Response{Error: &Error{Code: code, Message: msg, Recoverable: recoverable}}, st)}
}

func final(r Response, st State) Response {
	r.Final = true
	r.State = &st
	return r
}

func loadPlan(st State) Intent {
	var in Intent
	if raw := st.Clarification.CollectedInfo[PlanKey]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &in) // a damaged plan starts over
	}
	return in
}

// savePlan stores the plan and the facts a person reads.
func savePlan(st *State, plan Intent) {
	raw, _ := json.Marshal(plan)
	info := st.Clarification.CollectedInfo
	info[PlanKey] = string(raw)
	delete(info, "trigger")
	delete(info, "steps")
	if plan.Trigger != nil {
		info["trigger"] = triggerLabel(*plan.Trigger)
	}
	var steps []string
	for _, s := range plan.Steps {
		steps = append(steps, stepLabel(s))
	}
	if len(steps) > 0 {
		info["steps"] = strings.Join(steps, "; ")
	}
	if plan.Trigger != nil || len(plan.Steps) > 0 {
		st.IntentSummary = describe(plan)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "HTTP") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func gapsAny(gaps []Gap) []any {
	out := make([]any, len(gaps))
	for i, g := range gaps {
		out[i] = map[string]any{"description": g.Description, "severity": g.Severity}
	}
	return out
}

func altsAny(alts []Alternative) []any {
	out := make([]any, len(alts))
	for i, a := range alts {
		out[i] = map[string]any{"id": a.ID, "title": a.Title, "description": a.Description}
	}
	return out
}
