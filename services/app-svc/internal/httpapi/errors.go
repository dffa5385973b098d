package httpapi

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/nodes"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// dbError turns what a transaction returned into the client's error, once:
// the store's sentinels and validation problems get their codes; an
// *apperr.Error raised inside the transaction passes through; anything else
// is a bare 500. what names the object for a 404 ("workflow").
func dbError(err error, what string) error {
	var ve *nodes.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return apperr.Validation(ve.FieldErrors()...)
	case errors.Is(err, store.ErrNotFound):
		return notFound(what)
	case errors.Is(err, store.ErrTimeout):
		return apperr.New(apperr.DeadlineExceeded, "database_timeout", "the database did not answer in time").Wrap(err)
	case errors.Is(err, store.ErrUnavailable):
		return apperr.New(apperr.Unavailable, "database_unavailable", "the database is unavailable, try again shortly").Wrap(err)
	case errors.Is(err, context.Canceled):
		return apperr.New(apperr.Canceled, "canceled", "the request was canceled").Wrap(err)
	}
	return err
}

func notFound(what string) *apperr.Error { return apperr.NotFoundf("%s not found", what) }

// user is the request's verified caller. The route group always runs the
// token check first, so its absence is a wiring bug: a 500.
func user(c *gin.Context) (*auth.User, error) {
	u, ok := auth.UserFrom(c.Request.Context())
	if !ok {
		return nil, errors.New("httpapi: no authenticated user in the request context")
	}
	return u, nil
}

// pathID parses a uuid path parameter; anything else cannot name an object
// the user has, so it is a 404 like any other unknown id.
func pathID(c *gin.Context, param, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(param))
	if err != nil {
		return uuid.Nil, notFound(what)
	}
	return id, nil
}

// abortUnsupportedMediaType refuses a body that is not UTF-8 JSON (415),
// rendered by the one error middleware like every other refusal.
func abortUnsupportedMediaType(c *gin.Context, message string) {
	_ = c.Error(apperr.New(apperr.UnsupportedMediaType, "unsupported_media_type", message))
	c.Abort()
}
