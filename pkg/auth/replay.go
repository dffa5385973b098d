package auth

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReplayGuard remembers ids (accepted signatures) for a while.
type ReplayGuard interface {
	// Remember records id for ttl and reports whether it was new.
	Remember(ctx context.Context, id string, ttl time.Duration) (fresh bool, err error)
}

// replayTimeout bounds one Redis round trip of the guard.
const replayTimeout = 100 * time.Millisecond

// RedisReplayGuard shares what it remembers between replicas (SET NX).
type RedisReplayGuard struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisReplayGuard stores ids under prefix (e.g. "mcp:replay:").
func NewRedisReplayGuard(rdb redis.UniversalClient, prefix string) *RedisReplayGuard {
	return &RedisReplayGuard{rdb: rdb, prefix: prefix}
}

// Remember implements ReplayGuard.
func (g *RedisReplayGuard) Remember(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	return g.rdb.SetNX(ctx, g.prefix+id, 1, ttl).Result()
}

// MemoryReplayGuard is for a single instance without Redis (development).
type MemoryReplayGuard struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	sweep time.Time
}

// NewMemoryReplayGuard returns an empty guard.
func NewMemoryReplayGuard() *MemoryReplayGuard {
	return &MemoryReplayGuard{seen: map[string]time.Time{}}
}

// Remember implements ReplayGuard.
func (g *MemoryReplayGuard) Remember(_ context.Context, id string, ttl time.Duration) (bool, error) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.After(g.sweep) { // drop expired ids now and then, not on every call
		for k, exp := range g.seen {
			if now.After(exp) {
				delete(g.seen, k)
			}
		}
		g.sweep = now.Add(time.Minute)
	}
	if exp, ok := g.seen[id]; ok && now.Before(exp) {
		return false, nil
	}
	g.seen[id] = now.Add(ttl)
	return true, nil
}
