package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is a Limiter for one instance (RATE_LIMIT_STORAGE=memory): the
// same GCRA arithmetic as the Redis script, on the local clock.
type Memory struct {
	mu        sync.Mutex
	tat       map[string]time.Time // theoretical arrival time per key
	nextSweep time.Time
	now       func() time.Time
}

// NewMemory returns an empty limiter.
func NewMemory() *Memory { return &Memory{tat: map[string]time.Time{}, now: time.Now} }

// sweepEvery drops idle keys (their bucket is full again) now and then, so
// memory follows the number of recently active clients.
const sweepEvery = time.Minute

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if l.IsZero() {
		return Result{}, errZeroLimit
	}
	emission := l.Period / time.Duration(l.Requests)
	burstOffset := emission * time.Duration(l.Requests)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.After(m.nextSweep) {
		for k, t := range m.tat {
			if !t.After(now) {
				delete(m.tat, k)
			}
		}
		m.nextSweep = now.Add(sweepEvery)
	}
	tat := m.tat[key]
	if tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(emission)
	diff := now.Sub(newTAT.Add(-burstOffset))
	if diff < 0 {
		return Result{Limit: l, RetryAfter: -diff, ResetAfter: tat.Sub(now)}, nil
	}
	m.tat[key] = newTAT
	return Result{Allowed: true, Limit: l, Remaining: int(diff / emission), ResetAfter: newTAT.Sub(now)}, nil
}

// Len is the number of tracked keys (tests, metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tat)
}
