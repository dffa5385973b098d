package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Bus publishes and decodes execution messages on one stream and watches
// and writes cancellations in one bucket. It is safe for concurrent use.
type Bus struct {
	js      jetstream.JetStream
	cfg     Config
	stream  jetstream.Stream
	cancels jetstream.KeyValue
}

// Open ensures the stream and the cancellation bucket exist with cfg's
// settings and returns a Bus over them. Every service calls it at startup.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	stream, err := EnsureStream(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	kv, err := EnsureCancelBucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	return &Bus{js: js, cfg: cfg, stream: stream, cancels: kv}, nil
}

// Config returns the names and settings the Bus was opened with.
func (b *Bus) Config() Config { return b.cfg }

// JetStream is the context the Bus publishes with.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Stream is the EXECUTIONS stream (consumers are created on it).
func (b *Bus) Stream() jetstream.Stream { return b.stream }

// EnsureStream creates the stream, or updates it to cfg's settings when it
// exists, so a change of EXEC_STREAM_MAX_AGE takes effect at the next start
// of either service (both read the same variables). Concurrent callers with
// the same settings all succeed: JetStream accepts an identical create, and
// a create that loses a race to a different config is retried as an update.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	sc := cfg.StreamConfig()
	var lastErr error
	for range 3 {
		s, err := js.CreateOrUpdateStream(ctx, sc)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil, fmt.Errorf("events: stream %s: %w", cfg.Stream, err)
		}
		lastErr = err
	}
	return nil, fmt.Errorf("events: stream %s: %w", cfg.Stream, lastErr)
}

// EnsureCancelBucket creates or updates the cancellation bucket, as
// EnsureStream does the stream.
func EnsureCancelBucket(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	return EnsureBucket(ctx, js, cfg.cancelBucketConfig())
}

// EnsureBucket creates or updates a KV bucket, tolerating concurrent
// creators. The engine uses it for its claim records as well.
func EnsureBucket(ctx context.Context, js jetstream.JetStream, kc jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var lastErr error
	for range 3 {
		kv, err := js.CreateOrUpdateKeyValue(ctx, kc)
		if err == nil {
			return kv, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, fmt.Errorf("events: bucket %s: %w", kc.Bucket, err)
		}
		lastErr = err
	}
	return nil, fmt.Errorf("events: bucket %s: %w", kc.Bucket, lastErr)
}
