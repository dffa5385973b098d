package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/testkit"
)

// TestPerIPLimits runs public-svc with limits on against the real Redis:
// the fourth health call in a minute is refused with the DESIGN §3 headers
// and body, and a spoofed X-Forwarded-For does not buy a fresh budget.
func TestPerIPLimits(t *testing.T) {
	port := testkit.FreePort(t)
	environ := []string{
		"PORT=" + strconv.Itoa(port),
		"LOG_LEVEL=WARNING",
		"PUBLIC_RATE_LIMIT_ENABLED=true",
		"RATE_LIMITS=public.health=3/minute",
		"RATE_LIMIT_KEY_PREFIX=" + testkit.Unique("rl-public-") + ":",
		"REDIS_URL=" + testkit.RedisURL,
		"SHUTDOWN_TIMEOUT=5s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log testkit.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, environ, &log) }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			_ = resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving\n%s", log.String())
		}
	}

	get := func(xff string) *http.Response {
		req, _ := http.NewRequest("GET", base+"/api/public/health", nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i := range 3 {
		resp := get("")
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("request %d refused under the limit", i+1)
		}
		if resp.Header.Get("X-RateLimit-Limit") == "" || !strings.Contains(resp.Header.Get("RateLimit-Policy"), "q=3") {
			t.Fatalf("limit headers missing: %v", resp.Header)
		}
	}
	for _, xff := range []string{"", "203.0.113.9"} {
		resp := get(xff)
		var body struct {
			Error      string `json:"error"`
			RetryAfter int    `json:"retry_after"`
			RequestID  string `json:"request_id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || body.Error != "rate_limit_exceeded" || body.RetryAfter < 1 || body.RequestID == "" {
			t.Fatalf("over the limit (xff %q): %d %+v", xff, resp.StatusCode, body)
		}
		if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra != body.RetryAfter {
			t.Fatalf("Retry-After %q vs body %d", resp.Header.Get("Retry-After"), body.RetryAfter)
		}
	}
	// Another route has its own policy; the global one still counts.
	resp, err := http.Get(base + "/api/public/info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("info refused: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
