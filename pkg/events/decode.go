package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
)

// Request is a decoded execution request with what the headers add.
type Request struct {
	*eventsv1.ExecutionRequest
	// Context carries the publisher's trace context and request id; start
	// the execution's span from it.
	Context context.Context
	// Delivered counts deliveries of this message to the consumer (1 first).
	Delivered uint64
	StreamSeq uint64
}

// DecodeRequest decodes a message from the requests subject. The returned
// context derives from parent with the remote trace context and request id.
func DecodeRequest(parent context.Context, msg jetstream.Msg) (Request, error) {
	var r eventsv1.ExecutionRequest
	if err := proto.Unmarshal(msg.Data(), &r); err != nil {
		return Request{}, fmt.Errorf("%w: request: %v", ErrInvalidMessage, err)
	}
	if err := checkID(r.GetExecutionId()); err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	ctx := ContextFromHeaders(parent, msg.Headers())
	if !hasTrace(msg.Headers()) && len(r.GetTraceContext()) > 0 {
		ctx = propagator.Extract(ctx, propagation.MapCarrier(r.GetTraceContext()))
	}
	id := msg.Headers().Get(HeaderRequestID)
	if id == "" {
		id = r.GetRequestId()
	}
	if id != "" {
		ctx = WithRequestID(ctx, id)
	}
	out := Request{ExecutionRequest: &r, Context: ctx}
	if md, err := msg.Metadata(); err == nil {
		out.Delivered, out.StreamSeq = md.NumDelivered, md.Sequence.Stream
	}
	return out, nil
}

func hasTrace(h nats.Header) bool { return h.Get("traceparent") != "" }

// ContextFromHeaders returns parent with the W3C trace context of h.
func ContextFromHeaders(parent context.Context, h nats.Header) context.Context {
	if h == nil {
		return parent
	}
	return propagator.Extract(parent, headerCarrier(h))
}

// Event is a decoded execution event with its place in the stream.
type Event struct {
	*eventsv1.ExecutionEvent
	// StreamSeq is the JetStream stream sequence: the SSE id, and what
	// app-svc compares with last_event_seq to apply events once, forward only.
	StreamSeq uint64
}

// DecodeEvent decodes a message from an events subject (a durable or
// ordered consumer's message).
func DecodeEvent(msg jetstream.Msg) (Event, error) {
	ev, err := DecodeEventData(msg.Data())
	if err != nil {
		return Event{}, err
	}
	out := Event{ExecutionEvent: ev}
	if md, err := msg.Metadata(); err == nil {
		out.StreamSeq = md.Sequence.Stream
	}
	return out, nil
}

// DecodeEventData decodes an event's payload (e.g. of a message read with
// Stream.GetMsg).
func DecodeEventData(data []byte) (*eventsv1.ExecutionEvent, error) {
	var ev eventsv1.ExecutionEvent
	if err := proto.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("%w: event: %v", ErrInvalidMessage, err)
	}
	if _, ok := typeNames[ev.GetType()]; !ok {
		return nil, fmt.Errorf("%w: event type %v", ErrInvalidMessage, ev.GetType())
	}
	if err := checkID(ev.GetExecutionId()); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	return &ev, nil
}

// ExecutionIDFromSubject returns the execution id of an events subject.
func (c Config) ExecutionIDFromSubject(subject string) (string, bool) {
	id, ok := strings.CutPrefix(subject, c.SubjectPrefix+".events.")
	return id, ok && checkID(id) == nil
}

// typeNames are the wire names of the event types (DESIGN §3).
var typeNames = func() map[eventsv1.ExecutionEventType]string {
	m := map[eventsv1.ExecutionEventType]string{}
	for n, v := range eventsv1.ExecutionEventType_value {
		if t := eventsv1.ExecutionEventType(v); t != eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_UNSPECIFIED {
			m[t] = strings.ToLower(strings.TrimPrefix(n, "EXECUTION_EVENT_TYPE_"))
		}
	}
	return m
}()

// TypeName is the wire name of an event type (node_started …); "" for
// UNSPECIFIED or unknown values.
func TypeName(t eventsv1.ExecutionEventType) string { return typeNames[t] }

// ParseType is the inverse of TypeName.
func ParseType(name string) (eventsv1.ExecutionEventType, bool) {
	for t, n := range typeNames {
		if n == name {
			return t, true
		}
	}
	return eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_UNSPECIFIED, false
}

// IsFinalType reports the terminal event types.
func IsFinalType(t eventsv1.ExecutionEventType) bool {
	switch t {
	case eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED,
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_FAILED,
		eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_CANCELED:
		return true
	}
	return false
}

// SSEData is the `data:` JSON of an execution SSE event (DESIGN §3), plus
// node_name and attempt; timestamp is Unix milliseconds as in chat SSE.
// The SSE `id:` is Event.StreamSeq.
func SSEData(ev *eventsv1.ExecutionEvent) ([]byte, error) {
	type sse struct {
		Type        string          `json:"type"`
		ExecutionID string          `json:"execution_id"`
		WorkflowID  string          `json:"workflow_id"`
		NodeID      string          `json:"node_id,omitempty"`
		NodeName    string          `json:"node_name,omitempty"`
		Status      string          `json:"status"`
		Output      json.RawMessage `json:"output,omitempty"`
		Error       string          `json:"error,omitempty"`
		Timestamp   int64           `json:"timestamp"`
		IsFinal     bool            `json:"is_final"`
		Attempt     uint32          `json:"attempt,omitempty"`
	}
	out := sse{
		Type: TypeName(ev.GetType()), ExecutionID: ev.GetExecutionId(), WorkflowID: ev.GetWorkflowId(),
		NodeID: ev.GetNodeId(), NodeName: ev.GetNodeName(), Status: ev.GetStatus(), Error: ev.GetError(),
		Timestamp: ev.GetTimestamp().AsTime().UnixMilli(), IsFinal: ev.GetIsFinal(), Attempt: ev.GetAttempt(),
	}
	if len(ev.GetOutput()) > 0 {
		if !json.Valid(ev.GetOutput()) {
			return nil, fmt.Errorf("%w: output of %s is not JSON", ErrInvalidMessage, ev.GetExecutionId())
		}
		out.Output = ev.GetOutput()
	}
	return json.Marshal(out)
}
