package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
)

// NATS headers of execution messages (besides Nats-Msg-Id).
const (
	HeaderContentType = "Content-Type"
	HeaderRequestID   = "X-Request-ID"
	HeaderEventType   = "Exec-Event-Type"
	ContentType       = "application/protobuf"
)

// propagator is W3C trace context and baggage, whatever the process's
// global OpenTelemetry setup: the headers are part of the contract.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// ErrInvalidMessage is returned for messages that do not follow the contract.
var ErrInvalidMessage = errors.New("events: invalid message")

// PublishRequest publishes an execution request and waits for JetStream to
// store it. The message id is the execution id, so publishing the same
// execution again inside the duplicate window stores nothing (the PubAck
// says Duplicate). The trace context is taken from ctx when it carries a
// span, else from req.TraceContext (a re-publication); it is written both
// to the headers and to req.TraceContext.
func (b *Bus) PublishRequest(ctx context.Context, req *eventsv1.ExecutionRequest) (*jetstream.PubAck, error) {
	if err := checkID(req.GetExecutionId()); err != nil {
		return nil, err
	}
	if len(req.GetWorkflow()) == 0 {
		return nil, fmt.Errorf("%w: request %s has no workflow", ErrInvalidMessage, req.GetExecutionId())
	}
	if req.CreatedAt == nil {
		req.CreatedAt = timestamppb.Now()
	}
	carrier := propagation.MapCarrier{}
	propagator.Inject(ctx, carrier)
	if len(carrier) > 0 {
		req.TraceContext = carrier
	}
	data, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(b.cfg.RequestSubject())
	msg.Data = data
	msg.Header.Set(HeaderContentType, ContentType)
	if req.GetRequestId() != "" {
		msg.Header.Set(HeaderRequestID, req.GetRequestId())
	}
	for k, v := range req.GetTraceContext() {
		msg.Header.Set(k, v)
	}
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(req.GetExecutionId()), jetstream.WithExpectStream(b.cfg.Stream))
	if err != nil {
		return nil, fmt.Errorf("events: publish request %s: %w", req.GetExecutionId(), err)
	}
	return ack, nil
}

// EventMsgID is an event's Nats-Msg-Id: an engine that publishes the same
// event twice (a retried publish) stores it once.
func EventMsgID(ev *eventsv1.ExecutionEvent) string {
	return ev.GetExecutionId() + "." + strconv.FormatUint(uint64(ev.GetAttempt()), 10) + "." + strconv.FormatUint(ev.GetSequence(), 10)
}

// PublishEvent publishes an execution event and waits for JetStream to
// store it, so events of one execution published one after another keep
// their order in the stream. A zero timestamp is set to now.
func (b *Bus) PublishEvent(ctx context.Context, ev *eventsv1.ExecutionEvent) (*jetstream.PubAck, error) {
	if err := checkID(ev.GetExecutionId()); err != nil {
		return nil, err
	}
	name, ok := typeNames[ev.GetType()]
	if !ok {
		return nil, fmt.Errorf("%w: event type %v", ErrInvalidMessage, ev.GetType())
	}
	if ev.Timestamp == nil {
		ev.Timestamp = timestamppb.New(time.Now())
	}
	data, err := proto.Marshal(ev)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(b.cfg.EventSubject(ev.GetExecutionId()))
	msg.Data = data
	msg.Header.Set(HeaderContentType, ContentType)
	msg.Header.Set(HeaderEventType, name)
	if id := requestIDFrom(ctx); id != "" {
		msg.Header.Set(HeaderRequestID, id)
	}
	propagator.Inject(ctx, headerCarrier(msg.Header))
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(EventMsgID(ev)), jetstream.WithExpectStream(b.cfg.Stream))
	if err != nil {
		return nil, fmt.Errorf("events: publish %s of %s: %w", name, ev.GetExecutionId(), err)
	}
	return ack, nil
}

// headerCarrier reads and writes trace headers by their exact, lower-case
// W3C names (traceparent), as NATS headers are case-sensitive; http.Header's
// canonical Traceparent would not match other NATS clients.
type headerCarrier nats.Header

func (h headerCarrier) Get(key string) string { return nats.Header(h).Get(key) }
func (h headerCarrier) Set(key, value string) { nats.Header(h).Set(key, value) }
func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

type requestIDKey struct{}

// WithRequestID makes PublishEvent carry the request id in X-Request-ID
// (the engine sets it from the request it runs).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
