package executions

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wfagent/gateway/pkg/events"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// Execution statuses (the workflow_executions.status column).
const (
	StatusNew      = "new"
	StatusRunning  = "running"
	StatusSuccess  = "success"
	StatusError    = "error"
	StatusCanceled = "canceled"
)

// Finished reports the terminal statuses.
func Finished(status string) bool {
	return status == StatusSuccess || status == StatusError || status == StatusCanceled
}

// NodeResult is one node's entry in node_results, keyed there by node id.
type NodeResult struct {
	NodeName string `json:"node_name"`
	// Status is running, success, error, retrying or canceled.
	Status      string          `json:"status"`
	Output      json.RawMessage `json:"output,omitempty"`
	OutputPorts []string        `json:"output_ports,omitempty"`
	Error       string          `json:"error,omitempty"`
	Try         uint32          `json:"try,omitempty"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
}

// Progress is an execution row being brought up to date by events.
type Progress struct {
	row   store.Execution
	nodes map[string]NodeResult
	dirty bool
}

// NewProgress decodes a row's node results.
func NewProgress(row store.Execution) (*Progress, error) {
	p := &Progress{row: row, nodes: map[string]NodeResult{}}
	if len(row.NodeResults) > 0 {
		if err := json.Unmarshal(row.NodeResults, &p.nodes); err != nil {
			return nil, fmt.Errorf("execution %s: node_results: %w", row.ID, err)
		}
	}
	return p, nil
}

// Row is the row with what Apply changed; Changed says whether to save it.
func (p *Progress) Row() (store.Execution, error) {
	raw, err := json.Marshal(p.nodes)
	if err != nil {
		return store.Execution{}, err
	}
	p.row.NodeResults = raw
	return p.row, nil
}

// Changed reports whether an Apply changed the row.
func (p *Progress) Changed() bool { return p.dirty }

// Status is the execution's status so far.
func (p *Progress) Status() string { return p.row.Status }

// LastEventSeq is the stream sequence of the last event taken into account.
func (p *Progress) LastEventSeq() uint64 { return uint64(p.row.LastEventSeq) }

// Follows reports whether ev comes straight after the last event applied,
// so that no event of the execution can still be in flight before it: the
// next sequence of the same attempt, or the first event of a later one (the
// rest of an earlier attempt no longer matters).
func (p *Progress) Follows(ev events.Event) bool {
	a, s := int(ev.GetAttempt()), int64(ev.GetSequence())
	return (a == p.row.Attempt && s == p.row.EventSequence+1) || (a > p.row.Attempt && s == 1)
}

// Apply takes one event into account, forward only: an event at or
// below the last stream sequence applied, anything after a terminal
// state, and events of an attempt older than the current one change
// nothing. It reports whether the event was applied.
func (p *Progress) Apply(ev events.Event) bool {
	seq := int64(ev.StreamSeq)
	if seq <= p.row.LastEventSeq || Finished(p.row.Status) {
		return false
	}
	attempt := int(ev.GetAttempt())
	if attempt < p.row.Attempt {
		// A superseded run (an engine that lost its claim) still talking.
		p.row.LastEventSeq, p.dirty = seq, true
		return false
	}
	if attempt > p.row.Attempt && p.row.Attempt > 0 {
		// Another engine took the execution over and starts from the
		// trigger: the earlier attempt's node results no longer hold.
		p.nodes = map[string]NodeResult{}
	}
	at := ev.GetTimestamp().AsTime().UTC()
	switch ev.GetType() {
	case eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_STARTED:
		p.row.Status = StatusRunning
		if p.row.StartedAt == nil {
			p.row.StartedAt = &at
		}
	case eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_STARTED,
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_SUCCEEDED,
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_FAILED:
		if p.row.Status == StatusNew {
			p.row.Status = StatusRunning
		}
		p.node(ev, at)
	case eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED:
		p.finish(StatusSuccess, at)
		if out := ev.GetOutput(); len(out) > 0 && json.Valid(out) {
			p.row.Result = out
		}
	case eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_FAILED:
		p.finish(StatusError, at)
		p.setError(ev.GetError(), "the execution failed")
	case eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_CANCELED:
		p.finish(StatusCanceled, at)
		p.setError(ev.GetError(), "canceled")
	default:
		return false
	}
	p.row.LastEventSeq, p.row.Attempt, p.row.EventSequence = seq, attempt, int64(ev.GetSequence())
	p.dirty = true
	return true
}

func (p *Progress) finish(status string, at time.Time) {
	p.row.Status, p.row.FinishedAt = status, &at
	if p.row.StartedAt == nil { // canceled or refused before it started
		p.row.StartedAt = &at
	}
}

func (p *Progress) setError(msg, fallback string) {
	if msg == "" {
		msg = fallback
	}
	p.row.Error = &msg
}

func (p *Progress) node(ev events.Event, at time.Time) {
	id := ev.GetNodeId()
	n := p.nodes[id]
	n.NodeName, n.Status, n.Try = ev.GetNodeName(), ev.GetStatus(), ev.GetTry()
	switch ev.GetType() {
	case eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_STARTED:
		if n.StartedAt == nil {
			n.StartedAt = &at
		}
		n.Output, n.OutputPorts, n.Error, n.FinishedAt = nil, nil, "", nil
	default:
		n.FinishedAt, n.Error, n.OutputPorts = &at, ev.GetError(), ev.GetOutputPorts()
		n.Output = nil
		if out := ev.GetOutput(); len(out) > 0 && json.Valid(out) {
			n.Output = out
		}
		if n.StartedAt == nil {
			n.StartedAt = &at
		}
	}
	if n.Status == "" {
		n.Status = map[eventsv1.ExecutionEventType]string{
			eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_STARTED:   StatusRunning,
			eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_SUCCEEDED: StatusSuccess,
			eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_FAILED:    StatusError,
		}[ev.GetType()]
	}
	p.nodes[id] = n
}

// FinalEvent is the terminal event of a finished execution rebuilt from
// its row, for an SSE client replaying one whose events have aged out of
// the stream.
func FinalEvent(e store.Execution) events.Event {
	ev := &eventsv1.ExecutionEvent{ExecutionId: e.ID.String(), WorkflowId: e.WorkflowID.String(), UserId: e.UserID.String(),
		Status: e.Status, IsFinal: true, Attempt: uint32(max(e.Attempt, 0)), Sequence: uint64(max(e.EventSequence, 0))}
	switch e.Status {
	case StatusSuccess:
		ev.Type, ev.Output = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED, e.Result
	case StatusError:
		ev.Type = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_FAILED
	default:
		ev.Type = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_CANCELED
	}
	if e.Error != nil {
		ev.Error = *e.Error
	}
	if e.FinishedAt != nil {
		ev.Timestamp = timestamp(*e.FinishedAt)
	}
	return events.Event{ExecutionEvent: ev, StreamSeq: uint64(max(e.LastEventSeq, 0))}
}
