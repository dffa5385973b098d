package executions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// Watch is one reader of an execution's events: those after the sequence
// it started from, replayed from the stream and then live, in order. Events
// come from the stream, not from the database, so every replica serves
// every execution's live events whichever replica applied them.
type Watch struct {
	// Execution is the row as it was when the watch began.
	Execution store.Execution
	stream    jetstream.Stream
	cons      jetstream.Consumer
	it        jetstream.MessagesContext
	pending   []events.Event
}

// ErrWatchEnded is Next's error once Stop was called.
var ErrWatchEnded = errors.New("the watch ended")

// Watch starts reading the caller's execution's events after stream
// sequence after (0: from the start; an SSE Last-Event-ID otherwise). It
// returns nil and no error when the execution has finished and after is
// at or past its last event: there is nothing left to send.
func (s *Service) Watch(ctx context.Context, u *auth.User, id uuid.UUID, after uint64) (*Watch, error) {
	e, err := s.Get(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if Finished(e.Status) && after >= uint64(e.LastEventSeq) {
		return nil, nil
	}
	bus := s.Bus()
	if bus == nil {
		return nil, ErrEventsUnavailable
	}
	if Finished(e.Status) {
		// The stream keeps events for EXEC_STREAM_MAX_AGE; the row stays.
		_, err := bus.Stream().GetLastMsgForSubject(ctx, bus.Config().EventSubject(id.String()))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return &Watch{Execution: e, pending: []events.Event{FinalEvent(e)}}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrEventsUnavailable, err)
		}
	}
	cons, err := bus.ExecutionEvents(ctx, id.String(), after)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEventsUnavailable, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEventsUnavailable, err)
	}
	return &Watch{Execution: e, stream: bus.Stream(), cons: cons, it: it}, nil
}

// Next blocks until the next event; after Stop it returns ErrWatchEnded.
// It is not safe for concurrent use, but Stop may be called meanwhile.
func (w *Watch) Next() (events.Event, error) {
	if len(w.pending) > 0 {
		ev := w.pending[0]
		w.pending = w.pending[1:]
		return ev, nil
	}
	if w.it == nil {
		return events.Event{}, ErrWatchEnded
	}
	for {
		msg, err := w.it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return events.Event{}, ErrWatchEnded
		}
		if err != nil {
			return events.Event{}, fmt.Errorf("%w: %w", ErrEventsUnavailable, err)
		}
		ev, err := events.DecodeEvent(msg)
		if err != nil {
			continue // not an event of the contract: nothing to show
		}
		return ev, nil
	}
}

// deleteTimeout bounds the removal of a watch's consumer.
const deleteTimeout = 2 * time.Second

// Stop ends the watch and removes its ephemeral consumer rather than
// leaving it to expire.
func (w *Watch) Stop() {
	if w.it == nil {
		return
	}
	w.it.Stop()
	if info := w.cons.CachedInfo(); info != nil && info.Name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
		defer cancel()
		_ = w.stream.DeleteConsumer(ctx, info.Name)
	}
}
