package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/testkit"
)

// public-svc must start, serve and stop while every dependency is down:
// it is the service that reports the outage.
func TestRunStartsWithEveryDependencyDown(t *testing.T) {
	closed := func() string { return "127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)) }
	port := testkit.FreePort(t)
	environ := []string{
		"PORT=" + strconv.Itoa(port),
		"LOG_FORMAT=json",
		"DATABASE_URL=postgres://postgres:hunter2@" + closed() + "/postgres?sslmode=disable",
		"REDIS_URL=redis://" + closed() + "/0",
		"NATS_URL=nats://" + closed(),
		"WORKFLOW_SERVICE_PORT=" + strconv.Itoa(testkit.FreePort(t)),
		"APP_SVC_URL=http://" + closed(),
		"MCP_SVC_URL=http://" + closed(),
		"EDGE_ADMIN_URL=http://" + closed(),
		"SHUTDOWN_TIMEOUT=5s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log testkit.SyncBuffer
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- run(ctx, environ, &log) }()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var up bool
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, log.String())
		default:
		}
		if resp, err := http.Get(base + "/healthz"); err == nil {
			_ = resp.Body.Close()
			up = resp.StatusCode == http.StatusOK
			break
		}
	}
	if !up {
		t.Fatalf("not serving /healthz within 5s\n%s", log.String())
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("startup took %s with dependencies down: something blocks on a dial", took)
	}

	tests := []struct {
		path       string
		wantCode   int
		wantStatus string
	}{
		{"/readyz", http.StatusOK, "ready"},
		{"/api/public/health", http.StatusServiceUnavailable, "unhealthy"},
		{"/api/public/status", http.StatusOK, "degraded"},
	}
	for _, tt := range tests {
		resp, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Status string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		_ = resp.Body.Close()
		if resp.StatusCode != tt.wantCode || body.Status != tt.wantStatus {
			t.Errorf("%s: %d %q, want %d %q", tt.path, resp.StatusCode, body.Status, tt.wantCode, tt.wantStatus)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	if strings.Contains(log.String(), "hunter2") {
		t.Error("the startup log shows the database password")
	}
	if !strings.Contains(log.String(), `"msg":"starting"`) {
		t.Errorf("no startup line in the log:\n%s", log.String())
	}
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	err := run(context.Background(), []string{"WORKFLOW_SERVICE_PORT=0"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "WORKFLOW_SERVICE_PORT") {
		t.Fatalf("run = %v, want a configuration error naming WORKFLOW_SERVICE_PORT", err)
	}
}
