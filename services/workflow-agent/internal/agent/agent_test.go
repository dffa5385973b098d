package agent

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wfagent/gateway/services/workflow-agent/internal/planner"
)

func TestOutcome(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, OutcomeCompleted},
		{fmt.Errorf("%w: session_id is required", planner.ErrInvalidTurn), OutcomeInvalid},
		{context.Canceled, OutcomeCancelled},
		{fmt.Errorf("send: %w", context.DeadlineExceeded), OutcomeCancelled},
		{errors.New("transport is closing"), OutcomeFailed},
	}
	for _, tt := range tests {
		if got := Outcome(tt.err); got != tt.want {
			t.Errorf("Outcome(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestTurnStopsWhenEmitFails: a caller that cannot take a response ends
// the turn at once with emit's error.
func TestTurnStopsWhenEmitFails(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	a := New(WithMetrics(m), WithClock(func() time.Time { return time.Unix(1, 0) }))
	broken := errors.New("broken pipe")
	calls := 0
	err = a.Turn(context.Background(), planner.Turn{SessionID: "s", Message: "manually wait 1 second"}, func(planner.Response) error {
		calls++
		return broken
	})
	if !errors.Is(err, broken) || calls != 1 {
		t.Errorf("err %v after %d calls, want the emit error after the first", err, calls)
	}
}

// TestTurnStampsTheClock: the planner gets the agent's clock.
func TestTurnStampsTheClock(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a := New(WithClock(func() time.Time { return at }))
	var last planner.Response
	err := a.Turn(context.Background(), planner.Turn{SessionID: "s", Message: "hello"}, func(r planner.Response) error {
		last = r
		return nil
	})
	if err != nil || last.State == nil || !last.State.CreatedAt.Equal(at) || !last.State.UpdatedAt.Equal(at) {
		t.Fatalf("err %v, final state %+v", err, last.State)
	}
}
