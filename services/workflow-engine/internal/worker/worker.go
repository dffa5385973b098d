// Package worker is the engine's NATS side: a durable pull consumer on
// exec.requests shared by every engine replica, claims so that a request is
// never run twice, cancellation through the KV bucket, execution_* events
// around the executor's node events, in-progress acks for long runs, and a
// graceful shutdown that takes no new work and finishes or hands back what
// it holds.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/logx"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/workflow-engine/internal/executor"
)

// ErrShutdown is the cause of runs interrupted when the grace period ends;
// they are handed back to the stream for another engine.
var ErrShutdown = errors.New("engine shutting down")

// Options configures a Worker.
type Options struct {
	Bus    *events.Bus
	Runner *executor.Runner
	Logger *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics
	// Consumer is the durable consumer's name, shared by the replicas.
	Consumer string
	// ClaimBucket is the KV bucket of claim records; its TTL is the
	// stream's max age, beyond which no request can be delivered again.
	ClaimBucket string
	// Concurrency bounds the executions this instance runs at once.
	Concurrency int
	// AckWait is how long a delivered request may go without an ack or
	// in-progress signal before it is redelivered; heartbeats come every
	// AckWait/3, and a claim without one for ⅔·AckWait is stale.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of a request.
	MaxDeliver int
	// MaxAttempts bounds how often an execution is started (takeovers after
	// an engine died or handed it back); past it, it is marked failed.
	MaxAttempts int
	// Grace is how long Run lets running executions finish once its
	// context ends, before handing them back.
	Grace time.Duration
	// InstanceID names this engine in claim records and logs.
	InstanceID string
	// PollWait is how long one fetch waits for requests (default 1s).
	PollWait time.Duration
}

// Worker consumes execution requests and runs them.
type Worker struct {
	o      Options
	log    *slog.Logger
	cons   jetstream.Consumer
	claims jetstream.KeyValue
	slots  chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
}

var tracer = otel.Tracer("github.com/wfagent/gateway/services/workflow-engine")

// New creates (or joins) the durable consumer and the claim bucket.
func New(ctx context.Context, o Options) (*Worker, error) {
	if o.Concurrency < 1 || o.AckWait <= 0 || o.MaxDeliver < 1 || o.MaxAttempts < 1 {
		return nil, fmt.Errorf("worker: concurrency, ack wait, max deliver and max attempts must be positive")
	}
	if o.PollWait <= 0 {
		o.PollWait = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg := o.Bus.Config()
	storage := jetstream.FileStorage
	if cfg.Storage == "memory" {
		storage = jetstream.MemoryStorage
	}
	claims, err := events.EnsureBucket(ctx, o.Bus.JetStream(), jetstream.KeyValueConfig{
		Bucket: o.ClaimBucket, Description: "Which engine runs which execution (workflow-engine)",
		History: 1, TTL: cfg.MaxAge, Storage: storage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, err
	}
	cons, err := o.Bus.Stream().CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       o.Consumer,
		Description:   "workflow-engine replicas: execution requests",
		FilterSubject: cfg.RequestSubject(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    o.MaxDeliver,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 1000,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: consumer %s: %w", o.Consumer, err)
	}
	return &Worker{
		o: o, log: o.Logger.With("engine", o.InstanceID), cons: cons, claims: claims,
		slots: make(chan struct{}, o.Concurrency), running: map[string]context.CancelCauseFunc{},
	}, nil
}

// Run consumes requests until ctx ends, then stops fetching, lets running
// executions finish for Options.Grace (counted from when ctx ended), hands
// back the rest and returns.
func (w *Worker) Run(ctx context.Context) error {
	// Work outlives ctx by the grace period: it has a context of its own.
	life, stopLife := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLife()
	if err := w.o.Bus.WatchCancels(life, w.cancel); err != nil {
		return err
	}
	fetched := make(chan struct{})
	go func() { w.fetch(ctx, life); close(fetched) }()
	<-ctx.Done()
	grace := time.NewTimer(w.o.Grace)
	defer grace.Stop()
	graceOver := false
	select {
	case <-fetched:
	case <-grace.C:
		graceOver = true
		w.handBackAll()
		<-fetched // at most PollWait; late arrivals are NAKed, not run
	}
	idle := make(chan struct{})
	go func() { w.wg.Wait(); close(idle) }()
	if !graceOver {
		select {
		case <-idle:
			return nil
		case <-grace.C:
			w.handBackAll()
		}
	}
	select {
	case <-idle:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("worker: executions did not stop after the grace period")
	}
}

// handBackAll interrupts every running execution with ErrShutdown: each
// releases its claim and NAKs its request for another engine.
func (w *Worker) handBackAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.running) > 0 {
		w.log.Warn("grace period over: handing running executions back", "executions", len(w.running))
	}
	for _, cancel := range w.running {
		cancel(ErrShutdown)
	}
}

// fetch pulls as many requests as there are free slots, one batch at a
// time, so nothing waits inside this process while its ack timer runs.
func (w *Worker) fetch(ctx, life context.Context) {
	for {
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < cap(w.slots) {
			select {
			case w.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		batch, err := w.cons.Fetch(n, jetstream.FetchMaxWait(w.o.PollWait))
		if err != nil {
			w.release(n)
			w.log.Warn("fetching execution requests", "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		used := 0
		for msg := range batch.Messages() {
			if ctx.Err() != nil {
				// Arrived after shutdown began: another engine takes it.
				_ = msg.NakWithDelay(w.handBackDelay())
				w.o.Metrics.delivery("handed_back")
				continue
			}
			used++
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				defer w.release(1)
				w.handle(life, msg)
			}()
		}
		w.release(n - used)
	}
}

func (w *Worker) release(n int) {
	for range n {
		<-w.slots
	}
}

// cancel is the cancellation watch's callback.
func (w *Worker) cancel(id string, _ events.Cancellation) {
	w.mu.Lock()
	cancel := w.running[id]
	w.mu.Unlock()
	if cancel != nil {
		cancel(executor.ErrCanceled)
	}
}

// handle runs one delivered request to its end, or decides not to.
func (w *Worker) handle(life context.Context, msg jetstream.Msg) {
	req, err := events.DecodeRequest(life, msg)
	if err != nil {
		w.log.Error("dropping an undecodable execution request", "err", err)
		w.o.Metrics.delivery("poison")
		_ = msg.Term()
		return
	}
	id := req.GetExecutionId()
	ctx := logx.WithRequestID(req.Context, req.GetRequestId())
	ctx, span := tracer.Start(ctx, "execute workflow", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("execution.id", id), attribute.String("workflow.id", req.GetWorkflowId())))
	defer span.End()
	log := w.log.With("execution_id", id, "workflow_id", req.GetWorkflowId(), "delivery", req.Delivered)

	c, dec, err := w.acquire(ctx, id)
	switch {
	case err != nil:
		log.Warn("claim unavailable; retrying later", "err", err)
		_ = msg.NakWithDelay(time.Second)
		return
	case dec == finished:
		w.o.Metrics.delivery("duplicate")
		log.Debug("already finished; acking the duplicate delivery")
		_ = msg.Ack()
		return
	case dec == busy:
		w.o.Metrics.delivery("busy")
		if int(req.Delivered) >= w.o.MaxDeliver {
			log.Warn("last delivery while another engine holds the claim: its ack ends the request")
		}
		_ = msg.NakWithDelay(w.o.AckWait)
		return
	}
	pub := &publisher{bus: w.o.Bus, req: req, attempt: c.rec.Attempt, metrics: w.o.Metrics}
	finish := func(ev *eventsv1.ExecutionEvent, result string) {
		if err := pub.publish(ctx, ev); err != nil {
			log.Error("publishing the final event failed; handing the execution back", "err", err)
			w.handBack(ctx, msg, c, time.Second)
			return
		}
		if err := c.settle(ctx, stateDone); err != nil {
			log.Warn("marking the claim done", "err", err)
		}
		if err := msg.DoubleAck(ctx); err != nil {
			log.Warn("ack", "err", err)
		}
		w.o.Metrics.finished(result)
		span.SetAttributes(attribute.String("execution.result", result))
	}
	if dec == exhausted {
		w.o.Metrics.delivery("exhausted")
		log.Error("giving up: the execution was started too often", "attempts", c.rec.Attempt-1)
		finish(failedEvent(fmt.Sprintf("the execution was interrupted %d times (engines stopped or died while running it) and is not started again", c.rec.Attempt-1)), "failed")
		return
	}

	// Registered before the cancellation check, so a cancel that lands in
	// between reaches the run through the watch.
	runCtx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	w.mu.Lock()
	w.running[id] = cancelRun
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.running, id)
		w.mu.Unlock()
	}()

	if cancel, ok, err := w.o.Bus.Canceled(ctx, id); err != nil {
		log.Warn("cancellation bucket unavailable; retrying later", "err", err)
		w.handBack(ctx, msg, c, time.Second)
		return
	} else if ok {
		w.o.Metrics.delivery("skipped_canceled")
		finish(canceledEvent(cancel.Reason), "canceled")
		return
	}

	ex, err := decodeExecution(req)
	if err == nil {
		err = w.o.Runner.Validate(ex.Workflow)
	}
	if err != nil {
		w.o.Metrics.delivery("refused")
		log.Info("refusing a workflow that cannot run", "err", err)
		finish(failedEvent(err.Error()), "failed")
		return
	}

	if c.rec.Attempt > 1 {
		w.o.Metrics.delivery("takeover")
		log.Warn("taking over an interrupted execution", "attempt", c.rec.Attempt)
	} else {
		w.o.Metrics.delivery("run")
	}
	if err := pub.publish(ctx, &eventsv1.ExecutionEvent{Type: eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_STARTED, Status: "running"}); err != nil {
		log.Error("publishing execution_started failed; handing the execution back", "err", err)
		w.handBack(ctx, msg, c, time.Second)
		return
	}
	w.o.Metrics.runningDelta(1)
	started := time.Now()
	stopBeat := w.heartbeat(runCtx, cancelRun, msg, c, log)
	res := w.o.Runner.Run(runCtx, ex, pub.node)
	stopBeat()
	w.o.Metrics.runningDelta(-1)
	took := time.Since(started)

	switch res.Outcome {
	case executor.Succeeded:
		finish(&eventsv1.ExecutionEvent{Type: eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_SUCCEEDED, Status: "success", Output: res.Output}, "succeeded")
	case executor.Failed:
		span.SetStatus(codes.Error, res.Err.Error())
		finish(failedEvent(res.Err.Error()), "failed")
	case executor.Canceled:
		finish(canceledEvent(""), "canceled")
	default: // Interrupted
		switch {
		case errors.Is(res.Err, errClaimLost):
			log.Warn("another engine took the execution over; stopping this run")
		case errors.Is(res.Err, ErrShutdown):
			log.Warn("handing a running execution back at shutdown", "ran", took.Round(time.Millisecond))
			w.o.Metrics.delivery("handed_back")
			w.handBack(ctx, msg, c, w.handBackDelay())
		default:
			log.Error("run interrupted; handing the execution back", "err", res.Err)
			w.handBack(ctx, msg, c, time.Second)
		}
		return
	}
	w.o.Metrics.observe(took)
	log.Debug("execution finished", "outcome", res.Outcome, "took", took.Round(time.Millisecond))
}

// handBack releases the claim and NAKs, so the next delivery (to any
// engine) takes the execution over without waiting for AckWait.
func (w *Worker) handBack(ctx context.Context, msg jetstream.Msg, c *claim, delay time.Duration) {
	if err := c.settle(ctx, stateReleased); err != nil {
		w.log.Warn("releasing a claim", "execution_id", c.key, "err", err)
	}
	_ = msg.NakWithDelay(delay)
}

// handBackDelay outlasts this engine's last pull request: a request NAKed
// at shutdown without a delay would be redelivered straight into that
// still-open pull request, and so on until MaxDeliver drops it.
func (w *Worker) handBackDelay() time.Duration { return w.o.PollWait + 500*time.Millisecond }

// heartbeat tells JetStream the request is in progress and refreshes the
// claim every AckWait/3 until the returned stop is called. Losing the claim
// (another engine judged this one dead) stops the run.
func (w *Worker) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, msg jetstream.Msg, c *claim, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(w.o.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := msg.InProgress(); err != nil {
				log.Warn("in-progress ack", "err", err)
			}
			if err := c.heartbeat(context.WithoutCancel(ctx)); errors.Is(err, errClaimLost) {
				cancel(errClaimLost)
				return
			} else if err != nil {
				log.Warn("claim heartbeat", "err", err)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func decodeExecution(req events.Request) (*executor.Execution, error) {
	ex := &executor.Execution{ID: req.GetExecutionId(), WorkflowID: req.GetWorkflowId()}
	if err := json.Unmarshal(req.GetWorkflow(), &ex.Workflow); err != nil {
		return nil, fmt.Errorf("the workflow snapshot is not a workflow: %w", err)
	}
	if len(req.GetInputs()) > 0 {
		if err := json.Unmarshal(req.GetInputs(), &ex.Inputs); err != nil {
			return nil, fmt.Errorf("inputs must be a JSON object: %w", err)
		}
	}
	return ex, nil
}

func failedEvent(msg string) *eventsv1.ExecutionEvent {
	return &eventsv1.ExecutionEvent{Type: eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_FAILED, Status: "error", Error: msg}
}

func canceledEvent(reason string) *eventsv1.ExecutionEvent {
	msg := executor.ErrCanceled.Error()
	if reason != "" {
		msg += ": " + reason
	}
	return &eventsv1.ExecutionEvent{Type: eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_EXECUTION_CANCELED, Status: "canceled", Error: msg}
}
