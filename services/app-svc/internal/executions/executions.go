// Package executions is app-svc's side of running workflows (DESIGN §6):
// execute stores the execution under the caller's row level security and
// then hands a snapshot to the engine over NATS JetStream; status, cancel
// and history read and act under the same security; the event consumer
// applies the engine's events to the execution rows, once and in order,
// whichever replica receives them; the sweeper publishes again what NATS
// did not take; Watch replays and follows one execution's events for SSE.
//
// The NATS side may be missing: app-svc starts and executes without it
// (the execution waits as new until the sweeper gets it through), while
// cancel and the event stream answer ErrEventsUnavailable.
package executions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/nodes"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

// Errors the transport maps to responses; store.ErrNotFound and
// *nodes.ValidationError pass through as well.
var (
	// ErrFinished: the execution already ended (cancel).
	ErrFinished = errors.New("the execution has already finished")
	// ErrIdempotencyKeyReused: the key made an execution of another
	// workflow or with other inputs.
	ErrIdempotencyKeyReused = errors.New("the idempotency key was used for a different request")
	// ErrEventsUnavailable: NATS is not reachable (cancel, event stream).
	ErrEventsUnavailable = errors.New("the execution events are unavailable (NATS)")
)

// DB runs transactions as a user or as the service (*store.Store).
type DB interface {
	WithUser(ctx context.Context, claimsJSON []byte, fn func(pgx.Tx) error) error
	AsService(ctx context.Context, fn func(pgx.Tx) error) error
}

// Options configure a Service.
type Options struct {
	DB  DB
	Log *slog.Logger
	// IdempotencyTTL is how long an Idempotency-Key returns its execution
	// (24 h by default).
	IdempotencyTTL time.Duration
	// PublishTimeout bounds execute's publication; past it the sweeper
	// publishes (2 s by default).
	PublishTimeout time.Duration
}

// Service runs the user-facing operations.
type Service struct {
	o   Options
	bus atomic.Pointer[events.Bus]
}

// New returns a Service without a bus: UseBus adds it once NATS answers.
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = 24 * time.Hour
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 2 * time.Second
	}
	return &Service{o: o}
}

// UseBus makes the Service publish, cancel and stream through bus.
func (s *Service) UseBus(bus *events.Bus) { s.bus.Store(bus) }

// Bus is the bus in use, nil while NATS has not answered yet.
func (s *Service) Bus() *events.Bus { return s.bus.Load() }

// Execute starts an execution of the caller's workflow with inputs (a
// JSON object) and returns it as stored. With an idempotency key, a repeat
// of the same request within IdempotencyTTL returns the execution the key
// made (replayed true) and a different request with the key is
// ErrIdempotencyKeyReused. The workflow must pass nodes.ValidateExecutable
// (else a *nodes.ValidationError).
//
// The row is committed before the request is published, so a crash or a
// NATS outage in between leaves a new execution the sweeper publishes
// later; publication failures are therefore logged, not returned.
func (s *Service) Execute(ctx context.Context, u *auth.User, workflowID uuid.UUID, inputs json.RawMessage, key, requestID string) (e store.Execution, replayed bool, err error) {
	if len(inputs) == 0 {
		inputs = json.RawMessage(`{}`)
	}
	var sealed nodes.Workflow
	for try := 0; ; try++ {
		e, replayed, sealed, err = s.insert(ctx, u, workflowID, inputs, key, requestID)
		if !errors.Is(err, store.ErrConflict) || key == "" || try == 2 {
			break
		}
		// The key is taken: by a concurrent request (the next try returns
		// its execution) or by one older than the window, released here.
		err = s.o.DB.AsService(ctx, func(tx pgx.Tx) error {
			return store.ReleaseIdempotencyKey(ctx, tx, u.ID, key, s.o.IdempotencyTTL)
		})
		if err != nil {
			return store.Execution{}, false, err
		}
	}
	if err != nil || replayed {
		return e, replayed, err
	}
	s.publish(ctx, e, sealed, requestID)
	return e, false, nil
}

// insert is Execute's transaction.
func (s *Service) insert(ctx context.Context, u *auth.User, workflowID uuid.UUID, inputs json.RawMessage, key, requestID string) (e store.Execution, replayed bool, sealed nodes.Workflow, err error) {
	err = s.o.DB.WithUser(ctx, u.RawClaims, func(tx pgx.Tx) error {
		if key != "" {
			prev, err := store.ExecutionByIdempotencyKey(ctx, tx, key, s.o.IdempotencyTTL)
			switch {
			case err == nil:
				same, err := store.SameExecuteRequest(ctx, tx, prev.ID, workflowID, inputs)
				if err != nil {
					return err
				}
				if !same {
					return ErrIdempotencyKeyReused
				}
				e, replayed = prev, true
				return nil
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		wf, err := store.GetWorkflow(ctx, tx, workflowID)
		if err != nil {
			return err
		}
		rec := workflowRecord(wf)
		if sealed, err = workflows.Sealed(rec); err != nil {
			return err
		}
		if err := nodes.ValidateExecutable(sealed); err != nil {
			return err
		}
		snapshot, err := json.Marshal(snapshotOf(rec))
		if err != nil {
			return err
		}
		n := store.NewExecution{ID: uuid.New(), WorkflowID: wf.ID, WorkflowVersion: wf.Version, Inputs: inputs,
			Snapshot: snapshot, RequestID: requestID, TraceContext: traceContext(ctx)}
		if key != "" {
			n.IdempotencyKey = &key
		}
		e, err = store.InsertExecution(ctx, tx, n)
		return err
	})
	return e, replayed, sealed, err
}

// publish hands a just-stored execution to the engine, best effort.
func (s *Service) publish(ctx context.Context, e store.Execution, wf nodes.Workflow, requestID string) {
	bus := s.Bus()
	if bus == nil || !bus.JetStream().Conn().IsConnected() {
		s.o.Log.WarnContext(ctx, "NATS unavailable: the execution waits for the sweeper", "execution_id", e.ID)
		return
	}
	req, err := request(e.ID, e.WorkflowID, e.UserID, wf, e.Inputs, requestID, nil)
	if err == nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.PublishTimeout)
		defer cancel()
		_, err = bus.PublishRequest(pctx, req)
	}
	if err != nil {
		s.o.Log.WarnContext(ctx, "publishing an execution failed: the sweeper publishes it later", "execution_id", e.ID, "error", err)
	}
}

// Get returns an execution the caller can see.
func (s *Service) Get(ctx context.Context, u *auth.User, id uuid.UUID) (e store.Execution, err error) {
	err = s.o.DB.WithUser(ctx, u.RawClaims, func(tx pgx.Tx) error {
		e, err = store.GetExecution(ctx, tx, id)
		return err
	})
	return e, err
}

// Cancel asks the engines to stop the caller's execution (or to skip it
// if none has started it). It returns the execution as it is now; the
// execution_canceled event brings the status later. ErrFinished once the
// execution has ended.
func (s *Service) Cancel(ctx context.Context, u *auth.User, id uuid.UUID) (store.Execution, error) {
	e, err := s.Get(ctx, u, id)
	if err != nil {
		return e, err
	}
	if Finished(e.Status) {
		return e, ErrFinished
	}
	bus := s.Bus()
	if bus == nil {
		return e, ErrEventsUnavailable
	}
	if err := bus.RequestCancel(ctx, id.String(), "canceled by the user"); err != nil {
		return e, fmt.Errorf("%w: %w", ErrEventsUnavailable, err)
	}
	return e, nil
}

// History returns a page of a workflow's executions, newest first (no
// node results); store.ErrNotFound when the caller cannot see the workflow.
func (s *Service) History(ctx context.Context, u *auth.User, workflowID uuid.UUID, p store.Page) (list []store.Execution, err error) {
	err = s.o.DB.WithUser(ctx, u.RawClaims, func(tx pgx.Tx) error {
		ok, err := store.WorkflowExists(ctx, tx, workflowID)
		if err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		list, err = store.ListExecutions(ctx, tx, workflowID, p)
		return err
	})
	return list, err
}

// snapshot is the workflow as executed, credentials still sealed: the
// workflow_snapshot column.
type snapshot struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Nodes       json.RawMessage `json:"nodes"`
	Connections json.RawMessage `json:"connections"`
	Settings    json.RawMessage `json:"settings"`
	Credentials json.RawMessage `json:"credentials"`
}

func snapshotOf(r workflows.Record) snapshot {
	return snapshot{Name: r.Name, Description: r.Description, Nodes: r.Nodes, Connections: r.Connections, Settings: r.Settings, Credentials: r.Credentials}
}

func (s snapshot) record() workflows.Record {
	return workflows.Record{Name: s.Name, Description: s.Description, Nodes: s.Nodes, Connections: s.Connections, Settings: s.Settings, Credentials: s.Credentials}
}

func workflowRecord(w store.Workflow) workflows.Record {
	return workflows.Record{Name: w.Name, Description: w.Description, Nodes: w.Nodes, Connections: w.Connections, Settings: w.Settings, Credentials: w.Credentials}
}

// request is the message the engine runs: the workflow as nodes.Workflow
// JSON, its credentials sealed (workflows.Sealed): the stream keeps requests
// for days, so no credential is ever in clear there.
func request(id, workflowID, userID uuid.UUID, wf nodes.Workflow, inputs []byte, requestID string, trace map[string]string) (*eventsv1.ExecutionRequest, error) {
	raw, err := json.Marshal(wf)
	if err != nil {
		return nil, err
	}
	return &eventsv1.ExecutionRequest{ExecutionId: id.String(), WorkflowId: workflowID.String(), UserId: userID.String(),
		Workflow: raw, Inputs: inputs, RequestId: requestID, TraceContext: trace}, nil
}

// tracePropagator matches pkg/events': W3C trace context and baggage.
var tracePropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// traceContext is the execute call's trace context, stored for the
// sweeper's re-publication.
func traceContext(ctx context.Context) map[string]string {
	c := propagation.MapCarrier{}
	tracePropagator.Inject(ctx, c)
	return c
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
