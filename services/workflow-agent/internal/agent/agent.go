// Package agent runs a turn: it validates it, asks the optional language
// model (through the Drafter port) or the deterministic planner, and streams
// the responses one by one while watching for the caller going away.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/services/workflow-agent/internal/planner"
)

// Drafter is a language model that drafts a turn's reply and workflow.
type Drafter interface {
	Draft(ctx context.Context, req DraftRequest) (Answer, error)
}

// DraftRequest is what the model is told.
type DraftRequest struct {
	History             []planner.Conversation // earlier entries, oldest first
	Message             string
	CurrentWorkflowJSON string
	Context             planner.WorkflowContext
	// Rejected is set on the retry: the previous answer and why it was refused.
	Rejected *Rejected
}

// Rejected is an answer that was refused.
type Rejected struct {
	Answer string
	Reason string
}

// Answer is the model's reply, with a workflow when it drafted one. Raw is
// the text it sent, kept to show it its mistake.
type Answer struct {
	Reply    string
	Workflow *nodes.Workflow
	Raw      string
}

// ErrInvalidAnswer is what a Drafter returns (wrapped) when the model's
// text is not the answer asked for; the agent retries once.
var ErrInvalidAnswer = errors.New("invalid model answer")

// maxModelAttempts counts the first answer and the one retry.
const maxModelAttempts = 2

// Emit sends one response to the caller.
type Emit func(planner.Response) error

// Agent answers turns. It is safe for concurrent use.
type Agent struct {
	drafter Drafter
	delay   time.Duration
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
}

// Option configures New.
type Option func(*Agent)

// WithDrafter asks a language model first; the planner answers when it fails.
func WithDrafter(d Drafter) Option { return func(a *Agent) { a.drafter = d } }

// WithResponseDelay spaces the responses of a turn (AGENT_RESPONSE_DELAY).
func WithResponseDelay(d time.Duration) Option { return func(a *Agent) { a.delay = d } }

// WithLogger sets the logger (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(a *Agent) { a.log = l } }

// WithMetrics counts turns, cancellations and model answers.
func WithMetrics(m *Metrics) Option { return func(a *Agent) { a.metrics = m } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(a *Agent) { a.now = now } }

// New builds an agent.
func New(opts ...Option) *Agent {
	a := &Agent{log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Turn answers one turn through emit. It returns an error wrapping
// planner.ErrInvalidTurn for a turn the caller got wrong, ctx's error when
// the caller went away, or emit's error; failures of the turn itself are
// error responses, not errors.
func (a *Agent) Turn(ctx context.Context, t planner.Turn, emit Emit) (err error) {
	if err := t.Validate(); err != nil {
		a.metrics.turnDone(err, 0)
		return err
	}
	start := time.Now()
	s := &sender{ctx: ctx, emit: emit, delay: a.delay}
	defer func() {
		a.metrics.turnDone(err, time.Since(start))
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			a.log.InfoContext(ctx, "turn cancelled by the caller", "session_id", t.SessionID,
				"responses_sent", s.sent, "after", time.Since(start).Round(time.Millisecond), "reason", err)
		}
	}()
	t.Now = a.now()
	if a.drafter == nil {
		return s.sendAll(planner.Plan(t))
	}
	gen, t := planner.Generating(t)
	if err := s.send(gen); err != nil {
		return err
	}
	d, err := a.draft(ctx, t)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		a.log.WarnContext(ctx, "language model failed, the planner answers", "session_id", t.SessionID, "error", err)
		a.metrics.fallback()
		return s.sendAll(planner.Plan(t))
	}
	return s.sendAll(planner.Adopt(t, d))
}

// draft asks the model, and asks again once, showing it the refused
// answer, when the answer does not parse or its workflow does not validate.
// A failing server gets no retry: the planner answers at once instead.
func (a *Agent) draft(ctx context.Context, t planner.Turn) (planner.Draft, error) {
	history := t.State.Conversations
	req := DraftRequest{History: history, Message: t.Message, CurrentWorkflowJSON: t.State.CurrentWorkflowJSON, Context: t.Context}
	if req.Context.Origin == planner.OriginUnspecified {
		req.Context = t.State.Context
	}
	var last error
	for attempt := 1; attempt <= maxModelAttempts; attempt++ {
		ans, err := a.drafter.Draft(ctx, req)
		if err == nil {
			err = check(ans)
		}
		switch {
		case err == nil:
			a.metrics.answer("valid")
			return planner.Draft{Reply: ans.Reply, Workflow: ans.Workflow, Attempts: attempt}, nil
		case ctx.Err() != nil:
			return planner.Draft{}, ctx.Err()
		case !errors.Is(err, ErrInvalidAnswer):
			a.metrics.answer("error")
			return planner.Draft{}, err
		}
		a.metrics.answer("invalid")
		a.log.InfoContext(ctx, "language model answer refused", "session_id", t.SessionID, "attempt", attempt, "reason", err)
		req.Rejected = &Rejected{Answer: ans.Raw, Reason: err.Error()}
		last = err
	}
	return planner.Draft{}, fmt.Errorf("%d answers refused, the last: %w", maxModelAttempts, last)
}

// check holds a model's answer to the rules the planner's drafts follow.
func check(ans Answer) error {
	if ans.Workflow == nil {
		if ans.Reply == "" {
			return fmt.Errorf("%w: neither a reply nor a workflow", ErrInvalidAnswer)
		}
		return nil
	}
	if err := nodes.Validate(*ans.Workflow); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidAnswer, err)
	}
	return nil
}

// sender streams responses, spaced by delay, and stops when ctx ends.
type sender struct {
	ctx   context.Context
	emit  Emit
	delay time.Duration
	sent  int
}

func (s *sender) sendAll(rs []planner.Response) error {
	for _, r := range rs {
		if err := s.send(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *sender) send(r planner.Response) error {
	if s.sent > 0 && s.delay > 0 {
		timer := time.NewTimer(s.delay)
		select {
		case <-s.ctx.Done():
			timer.Stop()
			return s.ctx.Err()
		case <-timer.C:
		}
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if err := s.emit(r); err != nil {
		if cerr := s.ctx.Err(); cerr != nil {
			return cerr
		}
		return err
	}
	s.sent++
	return nil
}
