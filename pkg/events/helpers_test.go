package events

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/testkit"
)

// connect returns JetStream on the local NATS server, failing loudly when
// it is missing.
func connect(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(testkit.NATSURL, nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(testkit.MissingServer("NATS", testkit.NATSURL, err))
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// testConfig is DefaultConfig with names no other test uses, in memory.
func testConfig() Config {
	c := DefaultConfig()
	u := testkit.Unique("")
	c.Stream, c.SubjectPrefix, c.CancelBucket = "EXEC_T"+u, "t"+u+".exec", "EXEC_CANCEL_T"+u
	c.Storage, c.MaxAge = "memory", time.Hour
	return c
}

// openBus opens a Bus on fresh names and deletes them after the test.
func openBus(t testing.TB) *Bus {
	t.Helper()
	js := connect(t)
	cfg := testConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, js, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { cleanup(js, cfg) })
	return b
}

func cleanup(js jetstream.JetStream, cfg Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = js.DeleteStream(ctx, cfg.Stream)
	_ = js.DeleteKeyValue(ctx, cfg.CancelBucket)
}
