package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	execevents "github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/services/app-svc/internal/executions"
)

// Reconnection hints (`retry:`): when the server drains, long enough for
// the load balancer to stop sending requests here; when the events stop
// arriving from NATS mid-stream, a little longer. Either way the client
// comes back with Last-Event-ID and misses nothing.
const (
	eventsDrainRetry = 2 * time.Second
	eventsLostRetry  = 3 * time.Second
	// eventsHeartbeat is DESIGN §3's ping interval, when none is configured.
	eventsHeartbeat = 15 * time.Second
)

// events is GET /executions/{id}/events: the execution's events as
// Server-Sent Events (DESIGN §3), `id:` the JetStream sequence and `data:`
// the event. It replays from the start, or after Last-Event-ID, then
// follows live, and ends after the terminal event. A finished execution
// with nothing after Last-Event-ID is 204 No Content, which tells an
// EventSource not to reconnect. Nothing is written before the caller's
// access is checked, so another user's execution is an ordinary 404.
func (x *Executions) events(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "execution")
	if err != nil {
		return err
	}
	var after uint64
	if s := c.GetHeader("Last-Event-ID"); s != "" {
		if after, err = strconv.ParseUint(s, 10, 64); err != nil {
			return apperr.Validation(apperr.FieldError{Field: "Last-Event-ID", Message: "must be the id of an event of this stream"})
		}
	}
	ctx := c.Request.Context()
	w, err := x.Service.Watch(ctx, u, id, after)
	if err != nil {
		return executionError(err, "execution")
	}
	if w == nil {
		c.Status(http.StatusNoContent)
		return nil
	}
	defer w.Stop()

	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Writer.WriteHeader(http.StatusOK)
	c.Writer.Flush()

	// Events are read on their own goroutine so the heartbeat, the drain
	// and the client going away are seen meanwhile; Stop ends it.
	type next struct {
		ev  execevents.Event
		err error
	}
	evs := make(chan next)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			ev, err := w.Next()
			select {
			case evs <- next{ev, err}:
			case <-done:
				return
			}
			if err != nil || ev.GetIsFinal() {
				return
			}
		}
	}()

	every := x.Heartbeat
	if every <= 0 {
		every = eventsHeartbeat
	}
	heartbeat := time.NewTicker(every)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-x.Draining:
			writeSSE(c, fmt.Sprintf("retry: %d\n\n", eventsDrainRetry.Milliseconds()))
			return nil
		case <-heartbeat.C:
			if !writeSSE(c, ": ping\n\n") {
				return nil
			}
		case n := <-evs:
			if n.err != nil {
				if !errors.Is(n.err, executions.ErrWatchEnded) && ctx.Err() == nil {
					x.log().WarnContext(ctx, "execution events: the stream from NATS broke", "execution_id", id, "error", n.err)
					writeSSE(c, fmt.Sprintf("retry: %d\n\n", eventsLostRetry.Milliseconds()))
				}
				return nil
			}
			data, err := execevents.SSEData(n.ev.ExecutionEvent)
			if err != nil {
				x.log().ErrorContext(ctx, "execution events: encoding an event", "execution_id", id, "seq", n.ev.StreamSeq, "error", err)
				continue
			}
			if !writeSSE(c, fmt.Sprintf("id: %d\ndata: %s\n\n", n.ev.StreamSeq, data)) || n.ev.GetIsFinal() {
				return nil
			}
		}
	}
}

func (x *Executions) log() *slog.Logger {
	if x.Log != nil {
		return x.Log
	}
	return slog.Default()
}

// writeSSE writes and flushes one frame; false when the client is gone.
func writeSSE(c *gin.Context, frame string) bool {
	if _, err := c.Writer.WriteString(frame); err != nil {
		return false
	}
	c.Writer.Flush()
	return c.Request.Context().Err() == nil
}
