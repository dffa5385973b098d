package ratelimit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wfagent/gateway/pkg/testkit"
)

func newRedisLimiter(t testing.TB) Limiter {
	rdb, prefix := testkit.Redis(t)
	l, err := NewRedis(rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// implementations are every Limiter; each contract test runs on all.
var implementations = []struct {
	name string
	new  func(t testing.TB) Limiter
}{
	{"memory", func(testing.TB) Limiter { return NewMemory() }},
	{"redis", newRedisLimiter},
}

func TestLimiterContract(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) { c.run(t, impl.new(t)) })
			}
		})
	}
}

var contract = []struct {
	name string
	run  func(t *testing.T, l Limiter)
}{
	{"allows the burst then refuses", func(t *testing.T, l Limiter) {
		lim := Limit{5, time.Hour}
		for i := range 5 {
			r := mustAllow(t, l, "k", lim)
			if !r.Allowed || r.Remaining != 4-i {
				t.Fatalf("request %d: %+v, want allowed with %d remaining", i+1, r, 4-i)
			}
		}
		r := mustAllow(t, l, "k", lim)
		if r.Allowed || r.Remaining != 0 {
			t.Fatalf("request 6: %+v, want refused", r)
		}
	}},
	{"remaining never goes up across sequential calls", func(t *testing.T, l Limiter) {
		lim := Limit{100, time.Hour}
		prev := lim.Requests
		for i := range 120 {
			r := mustAllow(t, l, "k", lim)
			if r.Remaining > prev {
				t.Fatalf("call %d: remaining rose from %d to %d", i+1, prev, r.Remaining)
			}
			prev = r.Remaining
		}
	}},
	{"retry-after is one emission interval, to the second", func(t *testing.T, l Limiter) {
		lim := Limit{3, time.Minute} // one request per 20s
		for range 3 {
			mustAllow(t, l, "k", lim)
		}
		r := mustAllow(t, l, "k", lim)
		if r.Allowed || ceilSeconds(r.RetryAfter) != 20 {
			t.Fatalf("%+v: want refused with Retry-After 20s (got %s)", r, r.RetryAfter)
		}
		if r.ResetAfter <= 59*time.Second || r.ResetAfter > time.Minute {
			t.Fatalf("ResetAfter %s, want ~60s", r.ResetAfter)
		}
	}},
	{"reset-after grows with use", func(t *testing.T, l Limiter) {
		lim := Limit{10, 10 * time.Second} // 1s per request
		r1 := mustAllow(t, l, "k", lim)
		r2 := mustAllow(t, l, "k", lim)
		if ceilSeconds(r1.ResetAfter) != 1 || ceilSeconds(r2.ResetAfter) != 2 {
			t.Fatalf("ResetAfter %s then %s, want 1s then 2s", r1.ResetAfter, r2.ResetAfter)
		}
	}},
	{"keys are independent", func(t *testing.T, l Limiter) {
		lim := Limit{1, time.Hour}
		if !mustAllow(t, l, "a", lim).Allowed || !mustAllow(t, l, "b", lim).Allowed {
			t.Fatal("first request of each key refused")
		}
		if mustAllow(t, l, "a", lim).Allowed {
			t.Fatal("second request of a allowed")
		}
	}},
	{"refills over time", func(t *testing.T, l Limiter) {
		lim := Limit{2, time.Second} // one per 500ms
		mustAllow(t, l, "k", lim)
		mustAllow(t, l, "k", lim)
		if mustAllow(t, l, "k", lim).Allowed {
			t.Fatal("third request allowed at once")
		}
		time.Sleep(550 * time.Millisecond)
		if !mustAllow(t, l, "k", lim).Allowed {
			t.Fatal("not refilled after one emission interval")
		}
	}},
	{"exactly the limit under concurrency", func(t *testing.T, l Limiter) {
		if n := concurrentAllowed(t, []Limiter{l}, 500, Limit{100, time.Hour}); n != 100 {
			t.Fatalf("%d of 500 concurrent requests allowed, want exactly 100", n)
		}
	}},
	{"zero limit is an error, not a panic", func(t *testing.T, l Limiter) {
		if _, err := l.Allow(t.Context(), "k", Limit{}); err == nil {
			t.Fatal("no error")
		}
	}},
}

func mustAllow(t *testing.T, l Limiter, key string, lim Limit) Result {
	t.Helper()
	r, err := l.Allow(t.Context(), key, lim)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return r
}

// concurrentAllowed fires n requests at once, spread over the limiters,
// against one key, and counts the allowed ones.
func concurrentAllowed(t *testing.T, ls []Limiter, n int, lim Limit) int {
	t.Helper()
	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := ls[i%len(ls)].Allow(context.Background(), "shared", lim)
			if err != nil {
				errs <- err
				return
			}
			if r.Allowed {
				allowed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Allow: %v", err)
	}
	return int(allowed.Load())
}

// Three limiter instances (three replicas) on one Redis share the budget.
func TestRedisLimitersShareOneBudget(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	var ls []Limiter
	for range 3 {
		// Each replica has its own client and pool, as separate processes would.
		c := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr, ContextTimeoutEnabled: true, PoolSize: 20})
		t.Cleanup(func() { _ = c.Close() })
		l, err := NewRedis(c, prefix)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	if n := concurrentAllowed(t, ls, 500, Limit{100, time.Hour}); n != 100 {
		t.Fatalf("%d of 500 requests over 3 instances allowed, want exactly 100", n)
	}
}

func TestNewRedisNeedsContextTimeouts(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer c.Close()
	if _, err := NewRedis(c, "x:"); err == nil || !strings.Contains(err.Error(), "ContextTimeoutEnabled") {
		t.Fatalf("error %v, want one naming ContextTimeoutEnabled", err)
	}
}

func TestOpenURL(t *testing.T) {
	tests := []struct {
		name, storage, url string
		wantErr            bool
	}{
		{"memory ignores the URL", StorageMemory, "::not a url", false},
		{"redis", StorageRedis, "redis://127.0.0.1:6379/0", false},
		{"bad redis url", StorageRedis, "http://x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, closeFn, err := Config{Storage: tt.storage, KeyPrefix: "rl-test:"}.OpenURL(tt.url)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				defer closeFn()
				if l == nil {
					t.Fatal("nil limiter")
				}
			}
		})
	}
}
