package executions

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wfagent/gateway/pkg/events"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

const (
	started      = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_STARTED
	nodeStarted  = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_STARTED
	nodeDone     = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_SUCCEEDED
	nodeFailed   = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_FAILED
	succeeded    = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED
	failed       = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_FAILED
	canceledType = eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_CANCELED
)

var t0 = time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)

// ev is an event at stream sequence seq, attempt a, per-attempt sequence s.
func ev(seq uint64, a uint32, s uint64, typ eventsv1.ExecutionEventType, node string, out string) events.Event {
	e := &eventsv1.ExecutionEvent{Type: typ, Attempt: a, Sequence: s, NodeId: node, NodeName: "N" + node,
		Timestamp: timestamppb.New(t0.Add(time.Duration(seq) * time.Second)), IsFinal: typ >= succeeded}
	if out != "" {
		e.Output = []byte(out)
	}
	if typ == failed || typ == nodeFailed {
		e.Error = "boom"
	}
	return events.Event{ExecutionEvent: e, StreamSeq: seq}
}

func TestProgressApply(t *testing.T) {
	tests := []struct {
		name        string
		events      []events.Event
		wantApplied []bool
		wantStatus  string
		wantNodes   map[string]string // node id → status
		wantResult  string
		wantError   string
		wantLastSeq int64
	}{
		{
			name: "in order to success",
			events: []events.Event{ev(3, 1, 1, started, "", ""), ev(5, 1, 2, nodeStarted, "n1", ""),
				ev(9, 1, 3, nodeDone, "n1", `{"a":1}`), ev(12, 1, 4, succeeded, "", `{"Nn1":{"a":1}}`)},
			wantApplied: []bool{true, true, true, true},
			wantStatus:  StatusSuccess, wantNodes: map[string]string{"n1": "success"}, wantResult: `{"Nn1":{"a":1}}`, wantLastSeq: 12,
		},
		{
			name:        "a redelivered or older event changes nothing",
			events:      []events.Event{ev(3, 1, 1, started, "", ""), ev(5, 1, 2, nodeStarted, "n1", ""), ev(5, 1, 2, nodeStarted, "n1", ""), ev(4, 1, 2, nodeStarted, "n2", "")},
			wantApplied: []bool{true, true, false, false},
			wantStatus:  StatusRunning, wantNodes: map[string]string{"n1": "running"}, wantLastSeq: 5,
		},
		{
			name:        "nothing after a terminal state",
			events:      []events.Event{ev(3, 1, 1, started, "", ""), ev(4, 1, 2, failed, "", ""), ev(7, 1, 3, nodeStarted, "n1", "")},
			wantApplied: []bool{true, true, false},
			wantStatus:  StatusError, wantNodes: map[string]string{}, wantError: "boom", wantLastSeq: 4,
		},
		{
			name: "a takeover drops the earlier attempt's node results",
			events: []events.Event{ev(3, 1, 1, started, "", ""), ev(4, 1, 2, nodeDone, "n1", `{}`),
				ev(8, 2, 1, started, "", ""), ev(9, 2, 2, nodeStarted, "n2", "")},
			wantApplied: []bool{true, true, true, true},
			wantStatus:  StatusRunning, wantNodes: map[string]string{"n2": "running"}, wantLastSeq: 9,
		},
		{
			name:        "a superseded attempt's late event is skipped",
			events:      []events.Event{ev(8, 2, 1, started, "", ""), ev(10, 1, 5, nodeDone, "n9", `{}`)},
			wantApplied: []bool{true, false},
			wantStatus:  StatusRunning, wantNodes: map[string]string{}, wantLastSeq: 10,
		},
		{
			name:        "canceled before it started",
			events:      []events.Event{ev(6, 1, 1, canceledType, "", "")},
			wantApplied: []bool{true},
			wantStatus:  StatusCanceled, wantNodes: map[string]string{}, wantError: "canceled", wantLastSeq: 6,
		},
		{
			name:        "a failed node with on_error continue",
			events:      []events.Event{ev(3, 1, 1, started, "", ""), ev(4, 1, 2, nodeFailed, "n1", `{"error":"boom"}`)},
			wantApplied: []bool{true, true},
			wantStatus:  StatusRunning, wantNodes: map[string]string{"n1": "error"}, wantLastSeq: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewProgress(store.Execution{ID: uuid.New(), Status: StatusNew, NodeResults: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range tt.events {
				if got := p.Apply(e); got != tt.wantApplied[i] {
					t.Errorf("event %d (seq %d): applied %v, want %v", i, e.StreamSeq, got, tt.wantApplied[i])
				}
			}
			row, err := p.Row()
			if err != nil {
				t.Fatal(err)
			}
			if row.Status != tt.wantStatus || row.LastEventSeq != tt.wantLastSeq {
				t.Errorf("status %s last seq %d, want %s %d", row.Status, row.LastEventSeq, tt.wantStatus, tt.wantLastSeq)
			}
			var nodes map[string]NodeResult
			if err := json.Unmarshal(row.NodeResults, &nodes); err != nil {
				t.Fatal(err)
			}
			if len(nodes) != len(tt.wantNodes) {
				t.Errorf("node results %v, want %v", nodes, tt.wantNodes)
			}
			for id, st := range tt.wantNodes {
				if nodes[id].Status != st || nodes[id].NodeName != "N"+id || nodes[id].StartedAt == nil {
					t.Errorf("node %s: %+v, want status %s", id, nodes[id], st)
				}
			}
			if string(row.Result) != tt.wantResult {
				t.Errorf("result %s, want %s", row.Result, tt.wantResult)
			}
			if got := deref(row.Error); got != tt.wantError {
				t.Errorf("error %q, want %q", got, tt.wantError)
			}
			if Finished(row.Status) && (row.FinishedAt == nil || row.StartedAt == nil) {
				t.Errorf("finished without timings: started %v finished %v", row.StartedAt, row.FinishedAt)
			}
		})
	}
}

func TestProgressFollows(t *testing.T) {
	tests := []struct {
		name            string
		attempt         int
		sequence        int64
		evAttempt       uint32
		evSequence      uint64
		wantNoGapBefore bool
	}{
		{"first event", 0, 0, 1, 1, true},
		{"next of the attempt", 1, 3, 1, 4, true},
		{"one missing", 1, 3, 1, 5, false},
		{"first of a takeover", 1, 7, 2, 1, true},
		{"a takeover's second event first", 1, 7, 2, 2, false},
		{"first event not first", 0, 0, 1, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := NewProgress(store.Execution{Attempt: tt.attempt, EventSequence: tt.sequence})
			e := events.Event{ExecutionEvent: &eventsv1.ExecutionEvent{Attempt: tt.evAttempt, Sequence: tt.evSequence}}
			if got := p.Follows(e); got != tt.wantNoGapBefore {
				t.Fatalf("Follows = %v, want %v", got, tt.wantNoGapBefore)
			}
		})
	}
}

func TestFinalEventFromRow(t *testing.T) {
	msg := "boom"
	fin := t0.Add(time.Minute)
	tests := []struct {
		row      store.Execution
		wantType eventsv1.ExecutionEventType
	}{
		{store.Execution{Status: StatusSuccess, Result: []byte(`{"x":1}`), LastEventSeq: 9, FinishedAt: &fin}, succeeded},
		{store.Execution{Status: StatusError, Error: &msg, LastEventSeq: 4}, failed},
		{store.Execution{Status: StatusCanceled, LastEventSeq: 2}, canceledType},
	}
	for _, tt := range tests {
		t.Run(tt.row.Status, func(t *testing.T) {
			e := FinalEvent(tt.row)
			if e.GetType() != tt.wantType || !e.GetIsFinal() || e.StreamSeq != uint64(tt.row.LastEventSeq) {
				t.Fatalf("got %v final %v seq %d", e.GetType(), e.GetIsFinal(), e.StreamSeq)
			}
			if _, err := events.SSEData(e.ExecutionEvent); err != nil {
				t.Fatalf("SSEData: %v", err)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
