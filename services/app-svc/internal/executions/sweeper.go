package executions

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/events"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

// Sweeper publishes again the executions still new after a grace period:
// those whose publication failed (NATS down, a crash between commit and
// publish) and those the engines have not taken yet. The message id is the
// execution id, so JetStream drops a copy inside its duplicate window and
// an engine runs a later copy at most once. Replicas sweep concurrently:
// each locks the rows it publishes and skips the rows others hold.
type Sweeper struct {
	db       DB
	bus      *events.Bus
	log      *slog.Logger
	interval time.Duration
	grace    time.Duration
	batch    int
}

// sweepBatch bounds the executions one sweep publishes.
const sweepBatch = 100

// NewSweeper sweeps every interval for executions older than grace that
// were not published within grace either.
func NewSweeper(db DB, bus *events.Bus, interval, grace time.Duration, log *slog.Logger) *Sweeper {
	if log == nil {
		log = slog.Default()
	}
	return &Sweeper{db: db, bus: bus, log: log, interval: interval, grace: grace, batch: sweepBatch}
}

// Run sweeps until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("sweeping unpublished executions", "published", n, "error", err)
		case n > 0:
			s.log.Info("published waiting executions again", "published", n)
		}
	}
}

// Sweep publishes one batch and returns how many executions it published.
// It stops at the first publication that fails (NATS is down: the next
// sweep tries again).
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	var published []uuid.UUID
	var failed error
	err := s.db.AsService(ctx, func(tx pgx.Tx) error {
		due, err := store.DueForDispatch(ctx, tx, s.grace, s.batch)
		if err != nil {
			return err
		}
		for _, d := range due {
			req, err := s.request(d)
			if err != nil {
				// Not NATS's fault: it waits another grace period, as
				// marked published, rather than block the sweep.
				s.log.Error("an execution cannot be published", "execution_id", d.ID, "error", err)
				published = append(published, d.ID)
				continue
			}
			if failed = s.publish(ctx, req); failed != nil {
				break
			}
			published = append(published, d.ID)
		}
		if len(published) == 0 {
			return nil
		}
		return store.MarkPublished(ctx, tx, published)
	})
	if err != nil {
		return 0, err
	}
	return len(published), failed
}

// request rebuilds an execution's request from its stored snapshot,
// request id and trace context.
func (s *Sweeper) request(d store.Dispatch) (*eventsv1.ExecutionRequest, error) {
	var snap snapshot
	if err := json.Unmarshal(d.Snapshot, &snap); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	wf, err := workflows.Sealed(snap.record())
	if err != nil {
		return nil, err
	}
	return request(d.ID, d.WorkflowID, d.UserID, wf, d.Inputs, d.RequestID, d.TraceContext)
}

// publishTimeout bounds one re-publication.
const publishTimeout = 5 * time.Second

func (s *Sweeper) publish(ctx context.Context, req *eventsv1.ExecutionRequest) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	// No span in ctx: PublishRequest keeps the stored trace context.
	ack, err := s.bus.PublishRequest(ctx, req)
	if err != nil {
		return err
	}
	if ack.Duplicate {
		s.log.Debug("the execution request is still in the stream", "execution_id", req.GetExecutionId())
	}
	return nil
}
