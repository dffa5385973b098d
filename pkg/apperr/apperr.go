// Package apperr is the application error of every HTTP layer: a kind that
// decides the status code (mirroring gRPC's codes), a snake_case code for
// machines, a message for humans and the optional fields of DESIGN §3.
// Domain code declares sentinel errors; adapters translate them once into an
// *Error; one middleware (httpx.Errors) renders it.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error the way gRPC codes do; one table maps it to HTTP.
type Kind int

// The kinds. Internal is the zero value so an unclassified error is a 500.
const (
	Internal Kind = iota
	InvalidArgument
	Unauthenticated
	PermissionDenied
	NotFound
	AlreadyExists
	Aborted // conflicting concurrent change (optimistic concurrency)
	FailedPrecondition
	ResourceExhausted // rate limited
	TooLarge          // request body over the limit (no gRPC twin)
	Unavailable       // dependency down or layer disabled
	DeadlineExceeded  // upstream timeout
	BadGateway        // upstream or agent error (no gRPC twin)
	Unimplemented
	Canceled
	UnsupportedMediaType // body not in a content type the route accepts (no gRPC twin)
)

var statusOf = map[Kind]int{
	Internal:             http.StatusInternalServerError,
	InvalidArgument:      http.StatusBadRequest,
	Unauthenticated:      http.StatusUnauthorized,
	PermissionDenied:     http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	AlreadyExists:        http.StatusConflict,
	Aborted:              http.StatusConflict,
	FailedPrecondition:   http.StatusConflict,
	ResourceExhausted:    http.StatusTooManyRequests,
	TooLarge:             http.StatusRequestEntityTooLarge,
	Unavailable:          http.StatusServiceUnavailable,
	DeadlineExceeded:     http.StatusGatewayTimeout,
	BadGateway:           http.StatusBadGateway,
	Unimplemented:        http.StatusNotImplemented,
	Canceled:             499,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
}

// HTTPStatus is the status code for a kind.
func (k Kind) HTTPStatus() int {
	if s, ok := statusOf[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// FieldError names one invalid input.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error the client may see.
type Error struct {
	Kind       Kind
	Code       string // snake_case, e.g. "validation_error"
	Message    string
	Details    []FieldError
	RetryAfter int         // seconds; set on ResourceExhausted
	Header     http.Header // extra response headers, e.g. WWW-Authenticate
	Err        error       // cause, logged and never returned
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an error of a kind with a code and message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap keeps cause for the log.
func (e *Error) Wrap(cause error) *Error { e.Err = cause; return e }

// WithHeader adds a response header.
func (e *Error) WithHeader(key, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Set(key, value)
	return e
}

// Validation reports invalid input field by field (400 validation_error).
func Validation(details ...FieldError) *Error {
	return &Error{Kind: InvalidArgument, Code: "validation_error", Message: "the request is invalid", Details: details}
}

// BadRequest is a 400 that is not about one field.
func BadRequest(message string) *Error { return New(InvalidArgument, "bad_request", message) }

// NotFoundf is a 404; also used for other users' objects so existence never leaks.
func NotFoundf(format string, args ...any) *Error {
	return New(NotFound, "not_found", fmt.Sprintf(format, args...))
}

// RateLimited is a 429 with retry_after in whole seconds (at least 1).
func RateLimited(retryAfter int) *Error {
	if retryAfter < 1 {
		retryAfter = 1
	}
	return &Error{Kind: ResourceExhausted, Code: "rate_limit_exceeded", Message: "too many requests", RetryAfter: retryAfter}
}

// From returns the *Error inside err, or a bare internal error wrapping it.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Code: "internal_error", Message: "internal server error", Err: err}
}

// Body is the JSON error shape of DESIGN §3.
type Body struct {
	Error      string       `json:"error"`
	Message    string       `json:"message"`
	RequestID  string       `json:"request_id"`
	RetryAfter *int         `json:"retry_after,omitempty"`
	Details    []FieldError `json:"details,omitempty"`
	Path       string       `json:"path,omitempty"`
}

// BodyOf renders e for the client. Internal errors never carry their cause.
func BodyOf(e *Error, requestID, path string) Body {
	b := Body{Error: e.Code, Message: e.Message, RequestID: requestID, Details: e.Details}
	if e.Kind == ResourceExhausted {
		ra := e.RetryAfter
		b.RetryAfter = &ra
	}
	if e.Kind == Internal {
		b.Error, b.Message, b.Path = "internal_error", "internal server error", path
	}
	return b
}
