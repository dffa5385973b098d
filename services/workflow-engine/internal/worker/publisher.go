package worker

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wfagent/gateway/pkg/events"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
	"github.com/wfagent/gateway/services/workflow-engine/internal/executor"
)

// publisher numbers and publishes one attempt's events. The lock spans the
// publication, so stream order is sequence order even when branches run
// in parallel.
type publisher struct {
	bus     *events.Bus
	req     events.Request
	attempt uint32
	metrics *Metrics

	mu  sync.Mutex
	seq uint64
}

const publishTries = 4

func (p *publisher) publish(ctx context.Context, ev *eventsv1.ExecutionEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	ev.ExecutionId, ev.WorkflowId, ev.UserId = p.req.GetExecutionId(), p.req.GetWorkflowId(), p.req.GetUserId()
	ev.Attempt, ev.Sequence, ev.Timestamp = p.attempt, p.seq, timestamppb.Now()
	ev.IsFinal = events.IsFinalType(ev.GetType())
	var err error
	for try := range publishTries {
		if try > 0 {
			time.Sleep(time.Duration(try) * 250 * time.Millisecond)
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, err = p.bus.PublishEvent(pctx, ev)
		cancel()
		if err == nil {
			p.metrics.event(ev)
			return nil
		}
	}
	return err
}

var nodeTypes = map[executor.Kind]eventsv1.ExecutionEventType{
	executor.NodeStarted:   eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_STARTED,
	executor.NodeSucceeded: eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_SUCCEEDED,
	executor.NodeFailed:    eventsv1.ExecutionEventType_EXECUTION_EVENT_TYPE_NODE_FAILED,
}

// node is the executor's Sink.
func (p *publisher) node(ctx context.Context, e executor.Event) error {
	return p.publish(ctx, &eventsv1.ExecutionEvent{
		Type: nodeTypes[e.Kind], NodeId: e.NodeID, NodeName: e.NodeName, Status: e.Status,
		Output: e.Output, Error: e.Error, Try: uint32(e.Try), OutputPorts: e.Ports,
	})
}
