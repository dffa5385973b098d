// Package health runs dependency checks concurrently, each bounded by its own
// timeout, for /readyz and public-svc's aggregated /health.
package health

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Check reports whether one dependency answers.
type Check func(ctx context.Context) error

// Result is one check's outcome.
type Result struct {
	OK      bool          `json:"ok"`
	Error   string        `json:"error,omitempty"`
	Latency time.Duration `json:"-"`
}

// Run runs every check at once, each under timeout, and waits for all.
// A check that panics counts as failed rather than taking the caller down.
func Run(ctx context.Context, checks map[string]Check, timeout time.Duration) map[string]Result {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = make(map[string]Result, len(checks))
	)
	for name, check := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			err := runOne(cctx, check)
			res := Result{OK: err == nil, Latency: time.Since(start)}
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					res.Error = "timed out after " + timeout.String()
				} else {
					res.Error = err.Error()
				}
			}
			mu.Lock()
			out[name] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// runOne stops waiting at the deadline even when a check ignores its context.
func runOne(ctx context.Context, check Check) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- errors.New("check panicked")
			}
		}()
		done <- check(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AllOK reports whether every result passed.
func AllOK(results map[string]Result) bool {
	for _, r := range results {
		if !r.OK {
			return false
		}
	}
	return true
}
