package events

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// EventsConsumerConfig is the durable consumer app-svc's replicas share to
// apply every execution's events to the database: explicit acks, all
// events from the start of the stream, redelivered until applied.
func (c Config) EventsConsumerConfig(durable string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "applies execution events to the execution records",
		FilterSubject: c.EventsWildcard(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 1000,
	}
}

// ExecutionEvents returns an ordered (ephemeral, in-order, gap-free)
// consumer of one execution's events for an SSE stream: from the start of
// the execution when afterSeq is 0, else from the first event after stream
// sequence afterSeq (the client's Last-Event-ID).
func (b *Bus) ExecutionEvents(ctx context.Context, executionID string, afterSeq uint64) (jetstream.Consumer, error) {
	if err := checkID(executionID); err != nil {
		return nil, err
	}
	oc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{b.cfg.EventSubject(executionID)}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if afterSeq > 0 {
		oc.DeliverPolicy, oc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, afterSeq+1
	}
	cons, err := b.js.OrderedConsumer(ctx, b.cfg.Stream, oc)
	if err != nil {
		return nil, fmt.Errorf("events: replay %s: %w", executionID, err)
	}
	return cons, nil
}
