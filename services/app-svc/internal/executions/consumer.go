package executions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// Consumer applies execution events to the execution rows through one
// durable consumer that every app-svc replica joins, so each event reaches
// one replica. Events are applied once and in stream order per execution:
// each is applied in a transaction holding the execution's row lock and
// only when its stream sequence is above last_event_seq. A replica may
// receive an event while an earlier one of the same execution is still in
// flight on another replica (or on another worker here); it then reads the
// missing ones from the stream and applies them first, so nothing is
// skipped and the late holder finds them done.
type Consumer struct {
	db      DB
	bus     *events.Bus
	log     *slog.Logger
	name    string
	workers int
	applied atomic.Int64
}

// NewConsumer joins the durable consumer name (APP_EVENTS_CONSUMER) with
// workers applying events concurrently.
func NewConsumer(db DB, bus *events.Bus, name string, workers int, log *slog.Logger) *Consumer {
	if log == nil {
		log = slog.Default()
	}
	return &Consumer{db: db, bus: bus, log: log, name: name, workers: max(workers, 1)}
}

// Applied counts the events this consumer applied (gap-filled ones
// included), for tests and logs.
func (c *Consumer) Applied() int64 { return c.applied.Load() }

// nakDelay spaces redeliveries of an event that could not be applied
// (database down).
const nakDelay = time.Second

// Run consumes until ctx ends.
func (c *Consumer) Run(ctx context.Context) error {
	cons, err := c.bus.Stream().CreateOrUpdateConsumer(ctx, c.bus.Config().EventsConsumerConfig(c.name))
	if err != nil {
		return fmt.Errorf("events consumer %s: %w", c.name, err)
	}
	msgs := make(chan jetstream.Msg, c.workers)
	var wg sync.WaitGroup
	for range c.workers {
		wg.Go(func() {
			for msg := range msgs {
				c.handle(ctx, msg)
			}
		})
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) { msgs <- msg },
		jetstream.PullMaxMessages(2*c.workers),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if ctx.Err() == nil {
				c.log.Debug("events consumer", "error", err)
			}
		}))
	if err != nil {
		close(msgs)
		wg.Wait()
		return fmt.Errorf("events consumer %s: %w", c.name, err)
	}
	<-ctx.Done()
	cc.Stop()
	<-cc.Closed()
	close(msgs)
	wg.Wait()
	return nil
}

func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	ev, err := events.DecodeEvent(msg)
	if err != nil {
		c.log.Error("dropping an undecodable execution event", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	if err := c.Apply(ctx, ev); err != nil {
		if ctx.Err() == nil {
			c.log.Warn("applying an execution event failed; it will be redelivered", "execution_id", ev.GetExecutionId(), "seq", ev.StreamSeq, "error", err)
		}
		_ = msg.NakWithDelay(nakDelay)
		return
	}
	_ = msg.Ack()
}

// Apply brings the event's execution up to date to and including ev.
// Events of executions this database does not hold (deleted with their
// workflow) are dropped.
func (c *Consumer) Apply(ctx context.Context, ev events.Event) error {
	id, err := uuid.Parse(ev.GetExecutionId())
	if err != nil {
		return nil
	}
	var n int64
	err = c.db.AsService(ctx, func(tx pgx.Tx) error {
		n = 0
		row, err := store.LockExecution(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := NewProgress(row)
		if err != nil {
			return err
		}
		if ev.StreamSeq <= p.LastEventSeq() || Finished(p.Status()) {
			return nil
		}
		if !p.Follows(ev) {
			gap, err := c.missing(ctx, ev, p.LastEventSeq())
			if err != nil {
				return err
			}
			for _, g := range gap {
				if p.Apply(g) {
					n++
				}
			}
		}
		if p.Apply(ev) {
			n++
		}
		if !p.Changed() {
			return nil
		}
		out, err := p.Row()
		if err != nil {
			return err
		}
		return store.SaveExecutionProgress(ctx, tx, out)
	})
	if err == nil {
		c.applied.Add(n)
	}
	return err
}

// missing reads the execution's events between after and ev from the
// stream, in order.
func (c *Consumer) missing(ctx context.Context, ev events.Event, after uint64) ([]events.Event, error) {
	subject := c.bus.Config().EventSubject(ev.GetExecutionId())
	var out []events.Event
	for seq := after + 1; seq < ev.StreamSeq; {
		raw, err := c.bus.Stream().GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the events of %s: %w", ev.GetExecutionId(), err)
		}
		if raw.Sequence >= ev.StreamSeq {
			break
		}
		if e, err := events.DecodeEventData(raw.Data); err == nil {
			out = append(out, events.Event{ExecutionEvent: e, StreamSeq: raw.Sequence})
		}
		seq = raw.Sequence + 1
	}
	return out, nil
}
