package router

import (
	"context"
	"os"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wfagent/gateway/pkg/telemetry"
)

// TestMain installs what main installs (the W3C propagator) plus a
// recording tracer without exporter, so the edge's spans have ids of
// their own that tests can tell from the client's.
func TestMain(m *testing.M) {
	if _, err := telemetry.Setup(context.Background(), "edge-test", "test", "", false); err != nil {
		panic(err)
	}
	otel.SetTracerProvider(sdktrace.NewTracerProvider())
	os.Exit(m.Run())
}
