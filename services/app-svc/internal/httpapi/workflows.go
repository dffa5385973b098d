package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

type workflowJSON struct {
	ID          uuid.UUID                        `json:"id"`
	Name        string                           `json:"name"`
	Description string                           `json:"description"`
	Nodes       []nodes.Node                     `json:"nodes"`
	Connections map[string]nodes.NodeConnections `json:"connections"`
	Settings    map[string]any                   `json:"settings"`
	Version     int                              `json:"version"`
	CreatedAt   time.Time                        `json:"created_at"`
	UpdatedAt   time.Time                        `json:"updated_at"`
}

type workflowSummaryJSON struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	NodeCount   int       `json:"node_count"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func record(w store.Workflow) workflows.Record {
	return workflows.Record{Name: w.Name, Description: w.Description, Nodes: w.Nodes, Connections: w.Connections, Settings: w.Settings, Credentials: w.Credentials}
}

// workflowOut renders a row with its credentials masked.
func workflowOut(w store.Workflow) (workflowJSON, error) {
	wf, err := workflows.Present(record(w))
	if err != nil {
		return workflowJSON{}, err
	}
	out := workflowJSON{ID: w.ID, Name: wf.Name, Description: wf.Description, Nodes: wf.Nodes, Connections: wf.Connections,
		Settings: wf.Settings, Version: w.Version, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
	if out.Nodes == nil {
		out.Nodes = []nodes.Node{}
	}
	if out.Connections == nil {
		out.Connections = map[string]nodes.NodeConnections{}
	}
	if out.Settings == nil {
		out.Settings = map[string]any{}
	}
	return out, nil
}

func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// writeWorkflow answers with the workflow and its version as the ETag.
func writeWorkflow(c *gin.Context, status int, w store.Workflow) error {
	out, err := workflowOut(w)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(w.Version))
	c.JSON(status, out)
	return nil
}

func (h *handlers) listWorkflows(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	p, err := page(c, "workflows")
	if err != nil {
		return err
	}
	var rows []store.WorkflowSummary
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		rows, err = store.ListWorkflows(c, tx, p)
		return err
	})
	if err != nil {
		return dbError(err, "workflow")
	}
	rows, next := trim(rows, p, "workflows", func(w store.WorkflowSummary) cursor { return cursor{At: w.UpdatedAt, ID: w.ID} })
	out := make([]workflowSummaryJSON, len(rows))
	for i, w := range rows {
		out[i] = workflowSummaryJSON{ID: w.ID, Name: w.Name, Description: w.Description, NodeCount: w.NodeCount,
			Version: w.Version, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
	}
	c.JSON(http.StatusOK, gin.H{"workflows": out, "next_cursor": next})
	return nil
}

// createWorkflow validates the workflow against the catalogue, seals its
// credentials and stores it as version 1.
func (h *handlers) createWorkflow(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	var in nodes.Workflow
	if err := decode(c, &in); err != nil {
		return err
	}
	id := uuid.New()
	rec, err := h.Codec.Seal(id, in, nil)
	if err != nil {
		return dbError(err, "workflow")
	}
	var w store.Workflow
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		w, err = store.InsertWorkflow(c, tx, row(id, rec))
		return err
	})
	if err != nil {
		return dbError(err, "workflow")
	}
	c.Header("Location", Prefix+"/workflows/"+id.String())
	return writeWorkflow(c, http.StatusCreated, w)
}

func row(id uuid.UUID, rec workflows.Record) store.Workflow {
	return store.Workflow{ID: id, Name: rec.Name, Description: rec.Description, Nodes: rec.Nodes,
		Connections: rec.Connections, Settings: rec.Settings, Credentials: rec.Credentials}
}

// getWorkflow answers 304 when If-None-Match names the current version.
func (h *handlers) getWorkflow(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "workflow")
	if err != nil {
		return err
	}
	var w store.Workflow
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		w, err = store.GetWorkflow(c, tx, id)
		return err
	})
	if err != nil {
		return dbError(err, "workflow")
	}
	if inm := c.GetHeader("If-None-Match"); inm != "" {
		if versions, err := parseETags(inm); err == nil && slices.Contains(versions, w.Version) {
			c.Header("ETag", etag(w.Version))
			c.Status(http.StatusNotModified)
			return nil
		}
	}
	return writeWorkflow(c, http.StatusOK, w)
}

// updateWorkflow applies a partial update (PUT and PATCH alike). The row is
// locked while the update is merged, validated and sealed, so concurrent
// updates apply one at a time; with a version (body "version" or If-Match)
// a stale one is refused with 409 version_conflict.
func (h *handlers) updateWorkflow(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "workflow")
	if err != nil {
		return err
	}
	var patch workflows.Patch
	if err := decode(c, &patch); err != nil {
		return err
	}
	expected, err := expectedVersions(c, patch.Version)
	if err != nil {
		return err
	}
	var w store.Workflow
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		cur, err := store.LockWorkflow(c, tx, id)
		if err != nil {
			return err
		}
		if expected != nil && !slices.Contains(expected, cur.Version) {
			return versionConflict(c, cur.Version)
		}
		base, err := workflows.Present(record(cur))
		if err != nil {
			return err
		}
		prev, err := workflows.StoredCredentials(cur.Credentials)
		if err != nil {
			return err
		}
		rec, err := h.Codec.Seal(id, patch.Apply(base), prev)
		if err != nil {
			return err
		}
		w, err = store.UpdateWorkflow(c, tx, row(id, rec))
		return err
	})
	if err != nil {
		return dbError(err, "workflow")
	}
	return writeWorkflow(c, http.StatusOK, w)
}

// deleteWorkflow honours If-Match like an update.
func (h *handlers) deleteWorkflow(c *gin.Context) error {
	u, err := user(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id", "workflow")
	if err != nil {
		return err
	}
	expected, err := expectedVersions(c, nil)
	if err != nil {
		return err
	}
	err = h.DB.WithUser(c, u.RawClaims, func(tx pgx.Tx) error {
		if expected != nil {
			cur, err := store.LockWorkflow(c, tx, id)
			if err != nil {
				return err
			}
			if !slices.Contains(expected, cur.Version) {
				return versionConflict(c, cur.Version)
			}
		}
		_, err := store.DeleteWorkflow(c, tx, id)
		return err
	})
	if err != nil {
		return dbError(err, "workflow")
	}
	c.Status(http.StatusNoContent)
	return nil
}

func versionConflict(c *gin.Context, current int) error {
	c.Header("ETag", etag(current))
	return apperr.New(apperr.Aborted, "version_conflict",
		fmt.Sprintf("the workflow was changed meanwhile: it is at version %d; read it again and retry", current))
}

// expectedVersions is the optimistic-concurrency precondition: the body's
// version and/or If-Match, nil when neither is sent (the update applies to
// whatever is current). If-Match: * is no precondition beyond existence.
func expectedVersions(c *gin.Context, body *int) ([]int, error) {
	im := strings.TrimSpace(c.GetHeader("If-Match"))
	var header []int
	if im != "" && im != "*" {
		var err error
		if header, err = parseETags(im); err != nil {
			return nil, apperr.Validation(apperr.FieldError{Field: "If-Match", Message: `must be the workflow's ETag, e.g. "3"`})
		}
	}
	switch {
	case body == nil:
		return header, nil
	case header != nil && !slices.Contains(header, *body):
		return nil, apperr.Validation(apperr.FieldError{Field: "version", Message: "disagrees with If-Match"})
	}
	return []int{*body}, nil
}

// parseETags reads a list of strong version ETags ("3", "4"); a bare
// number is accepted too. Weak ETags never match a precondition.
func parseETags(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "W/") {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(part, `"`))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if out == nil {
		out = []int{}
	}
	return out, nil
}
