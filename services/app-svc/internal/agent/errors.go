package agent

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wfagent/gateway/pkg/apperr"
)

// ErrorOf is the one translation of what a call to the agent returned into
// the application error a client sees. The agent's own problems are 502
// external_service_error; the statuses that say something about the turn
// or the wait keep their meaning (400, 504, 409, 503). The cause is kept
// for the log. nil stays nil; an *apperr.Error passes through.
func ErrorOf(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, context.Canceled):
		return apperr.New(apperr.Canceled, "canceled", "the turn was cancelled").Wrap(err)
	case errors.Is(err, context.DeadlineExceeded):
		return timeout().Wrap(err)
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.OutOfRange:
		// The agent refused the turn itself (e.g. a message too long): its
		// message says why and holds nothing internal.
		return apperr.New(apperr.InvalidArgument, "invalid_turn", "the workflow agent refused the message: "+st.Message()).Wrap(err)
	case codes.DeadlineExceeded:
		return timeout().Wrap(err)
	case codes.Canceled:
		return apperr.New(apperr.Canceled, "canceled", "the turn was cancelled").Wrap(err)
	case codes.ResourceExhausted:
		return apperr.New(apperr.Unavailable, "agent_overloaded", "the workflow agent is overloaded, try again shortly").Wrap(err)
	case codes.Aborted:
		return apperr.New(apperr.Aborted, "agent_conflict", "the workflow agent aborted the turn, send the message again").Wrap(err)
	case codes.FailedPrecondition:
		return apperr.New(apperr.FailedPrecondition, "agent_failed_precondition", "the workflow agent cannot take this turn in the session's state").Wrap(err)
	case codes.Unavailable:
		return apperr.New(apperr.BadGateway, "external_service_error", "the workflow agent is unavailable, try again shortly").Wrap(err)
	case codes.Unimplemented:
		return apperr.New(apperr.BadGateway, "external_service_error", "the workflow agent does not implement this call").Wrap(err)
	}
	// Internal, Unknown, DataLoss, and the statuses about app-svc's own
	// standing with the agent (Unauthenticated, PermissionDenied, NotFound,
	// AlreadyExists), which the user can do nothing about.
	return apperr.New(apperr.BadGateway, "external_service_error", "the workflow agent failed").Wrap(err)
}

func timeout() *apperr.Error {
	return apperr.New(apperr.DeadlineExceeded, "agent_timeout", "the workflow agent did not finish the turn in time")
}

// Recoverable reports whether sending the same message again may succeed:
// the agent was away, slow, busy or interrupted, rather than refusing it.
func Recoverable(err error) bool {
	switch apperr.From(err).Kind {
	case apperr.BadGateway, apperr.Unavailable, apperr.DeadlineExceeded, apperr.Aborted, apperr.Canceled:
		return true
	}
	return false
}
