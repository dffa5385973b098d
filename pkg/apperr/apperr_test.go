package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestKindStatus(t *testing.T) {
	tests := []struct {
		kind Kind
		want int
	}{
		{InvalidArgument, http.StatusBadRequest},
		{Unauthenticated, http.StatusUnauthorized},
		{PermissionDenied, http.StatusForbidden},
		{NotFound, http.StatusNotFound},
		{Aborted, http.StatusConflict},
		{TooLarge, http.StatusRequestEntityTooLarge},
		{ResourceExhausted, http.StatusTooManyRequests},
		{Internal, http.StatusInternalServerError},
		{BadGateway, http.StatusBadGateway},
		{Unavailable, http.StatusServiceUnavailable},
		{DeadlineExceeded, http.StatusGatewayTimeout},
		{UnsupportedMediaType, http.StatusUnsupportedMediaType},
		{Kind(999), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.kind), func(t *testing.T) {
			if got := tt.kind.HTTPStatus(); got != tt.want {
				t.Fatalf("status = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFromKeepsAppErrorAndHidesUnknown(t *testing.T) {
	nf := NotFoundf("workflow %s not found", "w1")
	wrapped := fmt.Errorf("loading: %w", nf)
	if got := From(wrapped); got != nf {
		t.Fatalf("From lost the app error: %v", got)
	}
	secret := errors.New("pq: password authentication failed for user admin")
	got := From(secret)
	if got.Kind != Internal || !errors.Is(got, secret) {
		t.Fatalf("unknown error not wrapped as internal: %+v", got)
	}
	body := BodyOf(got, "rid", "/x")
	if body.Message != "internal server error" || body.Error != "internal_error" || body.Path != "/x" {
		t.Fatalf("internal body leaks or lacks fields: %+v", body)
	}
}

func TestBodyOfRateLimited(t *testing.T) {
	b := BodyOf(RateLimited(0), "r1", "/p")
	if b.RetryAfter == nil || *b.RetryAfter != 1 {
		t.Fatalf("retry_after = %v, want 1", b.RetryAfter)
	}
	if b.Path != "" {
		t.Fatalf("path only on 500, got %q", b.Path)
	}
}
