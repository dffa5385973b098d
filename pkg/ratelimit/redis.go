package ratelimit

import (
	"context"
	"errors"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose state lives in Redis (redis_rate's GCRA script),
// so every replica shares each client's budget; time is Redis's own clock.
type Redis struct {
	rl     *redis_rate.Limiter
	prefix string
}

// NewRedis limits through rdb, with keys under prefix. The client must
// honour context deadlines (redis.Options.ContextTimeoutEnabled), or a slow
// Redis would hold each request for the socket timeout instead of the
// middleware's check timeout.
func NewRedis(rdb redis.UniversalClient, prefix string) (*Redis, error) {
	if c, ok := rdb.(*redis.Client); ok && !c.Options().ContextTimeoutEnabled {
		return nil, errors.New("ratelimit: the Redis client must set ContextTimeoutEnabled (or context_timeout_enabled=true in REDIS_URL) so each check is bounded")
	}
	return &Redis{rl: redis_rate.NewLimiter(rdb), prefix: prefix}, nil
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if l.IsZero() {
		return Result{}, errZeroLimit
	}
	res, err := r.rl.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: l.Requests, Burst: l.Requests, Period: l.Period})
	if err != nil {
		return Result{}, err
	}
	out := Result{Allowed: res.Allowed > 0, Limit: l, Remaining: res.Remaining, ResetAfter: max(res.ResetAfter, 0)}
	if !out.Allowed {
		out.RetryAfter = res.RetryAfter
	}
	return out, nil
}
