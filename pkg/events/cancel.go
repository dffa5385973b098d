package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Cancellation is what RequestCancel stores under the execution id.
type Cancellation struct {
	Reason      string    `json:"reason,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
}

// RequestCancel records that an execution should stop. It is idempotent;
// the engine running the execution stops it within a second, and an engine
// that has not started it yet skips it. Both report execution_canceled.
func (b *Bus) RequestCancel(ctx context.Context, executionID, reason string) error {
	if err := checkID(executionID); err != nil {
		return err
	}
	v, _ := json.Marshal(Cancellation{Reason: reason, RequestedAt: time.Now().UTC()})
	if _, err := b.cancels.Put(ctx, executionID, v); err != nil {
		return fmt.Errorf("events: cancel %s: %w", executionID, err)
	}
	return nil
}

// Canceled reports whether a cancellation was requested for the execution.
func (b *Bus) Canceled(ctx context.Context, executionID string) (Cancellation, bool, error) {
	if err := checkID(executionID); err != nil {
		return Cancellation{}, false, err
	}
	e, err := b.cancels.Get(ctx, executionID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Cancellation{}, false, nil
	}
	if err != nil {
		return Cancellation{}, false, fmt.Errorf("events: cancellation of %s: %w", executionID, err)
	}
	var c Cancellation
	_ = json.Unmarshal(e.Value(), &c) // a bare key still cancels
	return c, true, nil
}

// WatchCancels calls fn with the id of every execution canceled from now
// on, until ctx ends; it returns once the watch is established, so a cancel
// requested after WatchCancels returns is seen. Requests made earlier are
// found with Canceled.
func (b *Bus) WatchCancels(ctx context.Context, fn func(executionID string, c Cancellation)) error {
	w, err := b.cancels.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("events: watch %s: %w", b.cfg.CancelBucket, err)
	}
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil || e.Operation() != jetstream.KeyValuePut {
					continue
				}
				var c Cancellation
				_ = json.Unmarshal(e.Value(), &c)
				fn(e.Key(), c)
			}
		}
	}()
	return nil
}
