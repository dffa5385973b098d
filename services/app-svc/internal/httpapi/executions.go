package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/services/app-svc/internal/executions"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// Executions serves running workflows: execute, status, cancel, history
// and the live event stream (executions_sse.go). Mount it through
// Deps.Mount so it sits behind the token check and the limits.
type Executions struct {
	Service *executions.Service
	// MaxBodyBytes bounds the execute body (MAX_REQUEST_BODY_BYTES).
	MaxBodyBytes int64
	// Heartbeat spaces the event stream's `: ping` comments (EXEC_SSE_HEARTBEAT).
	Heartbeat time.Duration
	// Draining closes when the server starts to drain
	// (httpx.Probes.Draining): open event streams end with a retry hint.
	Draining <-chan struct{}
	Log      *slog.Logger
}

// Mount adds the routes to the /api/app group.
func (x *Executions) Mount(api gin.IRouter) {
	api.POST("/workflows/:id/execute", x.optionalJSON, httpx.Handle(x.execute))
	api.GET("/workflows/:id/history", httpx.Handle(x.history))
	api.GET("/executions/:id", httpx.Handle(x.get))
	api.POST("/executions/:id/cancel", httpx.Handle(x.cancel))
	api.GET("/executions/:id/events", httpx.Handle(x.events))
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

type executeRequest struct {
	Inputs json.RawMessage `json:"inputs"`
}

type executeResponse struct {
	ExecutionID uuid.UUID `json:"execution_id"`
	Status      string    `json:"status"`
}

// executionJSON is an execution; lists leave out node_results, which map
// node ids to their results.
type executionJSON struct {
	ID              uuid.UUID                        `json:"id"`
	WorkflowID      uuid.UUID                        `json:"workflow_id"`
	WorkflowVersion int                              `json:"workflow_version"`
	Status          string                           `json:"status"`
	Inputs          json.RawMessage                  `json:"inputs"`
	Result          json.RawMessage                  `json:"result"`
	NodeResults     map[string]executions.NodeResult `json:"node_results,omitempty"`
	Error           *string                          `json:"error"`
	Attempt         int                              `json:"attempt"`
	CreatedAt       time.Time                        `json:"created_at"`
	StartedAt       *time.Time                       `json:"started_at"`
	FinishedAt      *time.Time                       `json:"finished_at"`
	DurationMS      *int64                           `json:"duration_ms"`
}

type executionListJSON struct {
	Executions []executionJSON `json:"executions"`
	NextCursor *string         `json:"next_cursor"`
}

// optionalJSON lets execute come without a body (inputs {}); a body must
// be JSON within the size limit, as for every other route.
func (x *Executions) optionalJSON(c *gin.Context) {
	if c.Request.ContentLength == 0 && len(c.Request.TransferEncoding) == 0 {
		c.Next()
		return
	}
	(&handlers{Deps: Deps{MaxBodyBytes: x.MaxBodyBytes}}).requireJSON(c)
}

// execute is POST /workflows/{id}/execute: 202 with the new execution's
// id, or the same execution again for a repeated Idempotency-Key.
func (x *Executions) execute(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	wfID, err := pathID(c, "id", "workflow")
	if err != nil {
		return err
	}
	var in executeRequest
	if c.Request.ContentLength != 0 || len(c.Request.TransferEncoding) > 0 {
		if err := decode(c, &in); err != nil {
			return err
		}
	}
	if len(in.Inputs) == 0 || string(in.Inputs) == "null" {
		in.Inputs = json.RawMessage(`{}`)
	} else if in.Inputs[0] != '{' {
		return apperr.Validation(apperr.FieldError{Field: "inputs", Message: "must be a JSON object"})
	}
	key := c.GetHeader("Idempotency-Key")
	if err := checkIdempotencyKey(key); err != nil {
		return err
	}
	ctx := c.Request.Context()
	e, replayed, err := x.Service.Execute(ctx, u, wfID, in.Inputs, key, logx.RequestID(ctx))
	if err != nil {
		return executionError(err, "workflow")
	}
	if replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Header("Location", Prefix+"/executions/"+e.ID.String())
	c.JSON(http.StatusAccepted, executeResponse{ExecutionID: e.ID, Status: e.Status})
	return nil
}

func checkIdempotencyKey(key string) error {
	bad := len(key) > maxIdempotencyKey
	for i := 0; i < len(key) && !bad; i++ {
		bad = key[i] < 0x21 || key[i] > 0x7e
	}
	if bad {
		return apperr.Validation(apperr.FieldError{Field: "Idempotency-Key", Message: "must be 1-255 printable ASCII characters without spaces"})
	}
	return nil
}

func (x *Executions) get(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "execution")
	if err != nil {
		return err
	}
	e, err := x.Service.Get(c.Request.Context(), u, id)
	if err != nil {
		return executionError(err, "execution")
	}
	out, err := executionOut(e, true)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// cancel is POST /executions/{id}/cancel: 202 while the engine stops it
// (the status turns canceled with the execution_canceled event), 409
// execution_finished once it has ended.
func (x *Executions) cancel(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "execution")
	if err != nil {
		return err
	}
	e, err := x.Service.Cancel(c.Request.Context(), u, id)
	if err != nil {
		return executionError(err, "execution")
	}
	c.JSON(http.StatusAccepted, executeResponse{ExecutionID: e.ID, Status: e.Status})
	return nil
}

// history is GET /workflows/{id}/history: the workflow's executions,
// newest first, paginated like the other lists.
func (x *Executions) history(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	wfID, err := pathID(c, "id", "workflow")
	if err != nil {
		return err
	}
	const list = "executions"
	p, err := page(c, list)
	if err != nil {
		return err
	}
	rows, err := x.Service.History(c.Request.Context(), u, wfID, p)
	if err != nil {
		return executionError(err, "workflow")
	}
	rows, next := trim(rows, p, list, func(e store.Execution) cursor { return cursor{At: e.CreatedAt, ID: e.ID} })
	out := executionListJSON{Executions: make([]executionJSON, 0, len(rows)), NextCursor: next}
	for _, e := range rows {
		j, err := executionOut(e, false)
		if err != nil {
			return err
		}
		out.Executions = append(out.Executions, j)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func executionOut(e store.Execution, withNodes bool) (executionJSON, error) {
	out := executionJSON{ID: e.ID, WorkflowID: e.WorkflowID, WorkflowVersion: e.WorkflowVersion, Status: e.Status,
		Inputs: e.Inputs, Result: e.Result, Error: e.Error, Attempt: e.Attempt, CreatedAt: e.CreatedAt.UTC(),
		StartedAt: utc(e.StartedAt), FinishedAt: utc(e.FinishedAt)}
	if len(out.Result) == 0 {
		out.Result = json.RawMessage("null")
	}
	if e.StartedAt != nil && e.FinishedAt != nil {
		ms := e.FinishedAt.Sub(*e.StartedAt).Milliseconds()
		out.DurationMS = &ms
	}
	if withNodes {
		out.NodeResults = map[string]executions.NodeResult{}
		if len(e.NodeResults) > 0 {
			if err := json.Unmarshal(e.NodeResults, &out.NodeResults); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// executionError maps the executions package's errors; what names the
// object of a 404.
func executionError(err error, what string) error {
	var ve *nodes.ValidationError
	switch {
	case errors.As(err, &ve):
		return &apperr.Error{Kind: apperr.InvalidArgument, Code: "workflow_not_executable",
			Message: "the workflow cannot be executed as it is: fix the problems in details and save it", Details: ve.FieldErrors()}
	case errors.Is(err, executions.ErrFinished):
		return apperr.New(apperr.FailedPrecondition, "execution_finished", "the execution has already finished")
	case errors.Is(err, executions.ErrIdempotencyKeyReused):
		return apperr.New(apperr.FailedPrecondition, "idempotency_key_reused",
			"this Idempotency-Key started an execution of another workflow or with other inputs: use a new key")
	case errors.Is(err, executions.ErrEventsUnavailable):
		return apperr.New(apperr.Unavailable, "events_unavailable", "execution events are unavailable right now, try again shortly").Wrap(err)
	}
	return dbError(err, what)
}
