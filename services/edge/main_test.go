package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/testkit"
)

// run starts both listeners from the environment, proxies, and stops
// cleanly when its context ends.
func TestRun(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "public-svc")
	}))
	defer up.Close()
	port, adminPort := testkit.FreePort(t), testkit.FreePort(t)
	t.Setenv("ENVIRONMENT", "development")
	t.Setenv("HOST", "127.0.0.1")
	t.Setenv("PORT", strconv.Itoa(port))
	t.Setenv("ADMIN_PORT", strconv.Itoa(adminPort))
	t.Setenv("PUBLIC_SVC_URL", up.URL)
	t.Setenv("LOG_FORMAT", "json")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testkit.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &logs) }()

	admin := "http://127.0.0.1:" + strconv.Itoa(adminPort)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := http.Get(admin + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge not ready: %v; logs:\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/api/public/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "public-svc" {
		t.Errorf("proxied body = %q", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	for _, want := range []string{`"msg":"starting"`, `"PUBLIC_SVC_URL":"` + up.URL, `"version":"dev"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	t.Setenv("UPSTREAM_TIMEOUT", "0s")
	err := run(context.Background(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "UPSTREAM_TIMEOUT") {
		t.Fatalf("run = %v, want a refusal naming UPSTREAM_TIMEOUT", err)
	}
}
