package eventsv1_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
)

// TestWireRoundTrip: both messages survive binary encoding with every
// field, and field numbers stay what consumers already decode.
func TestWireRoundTrip(t *testing.T) {
	ts := timestamppb.Now()
	msgs := []proto.Message{
		&eventsv1.ExecutionRequest{ExecutionId: "e", WorkflowId: "w", UserId: "u", Workflow: []byte(`{"name":"x"}`),
			Inputs: []byte(`{"a":1}`), RequestId: "r", TraceContext: map[string]string{"traceparent": "00-…"}, CreatedAt: ts},
		&eventsv1.ExecutionEvent{Type: eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_SUCCEEDED, ExecutionId: "e", WorkflowId: "w",
			UserId: "u", NodeId: "n3", NodeName: "Greet", Status: "success", Output: []byte(`{"greeting":"hello"}`), Error: "",
			Timestamp: ts, IsFinal: false, Attempt: 2, Sequence: 7, Try: 1, OutputPorts: []string{"main"}},
	}
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back := m.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(b, back); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m, back) {
			t.Fatalf("round trip changed %T:\n%v\n%v", m, m, back)
		}
	}
	fields := eventsv1.File_events_v1_events_proto.Messages().ByName("ExecutionEvent").Fields()
	for name, num := range map[string]int32{"type": 1, "execution_id": 2, "output": 8, "is_final": 11, "attempt": 12, "sequence": 13} {
		if f := fields.ByName(protoreflect.Name(name)); f == nil || int32(f.Number()) != num {
			t.Errorf("ExecutionEvent.%s is not field %d", name, num)
		}
	}
}
