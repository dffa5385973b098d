package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/services/app-svc/internal/config"
	"github.com/wfagent/gateway/services/app-svc/internal/executions"
	"github.com/wfagent/gateway/services/app-svc/internal/httpapi"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// openExecutions makes the executions routes and starts their background
// work. NATS may be down: the connection keeps retrying, and once
// JetStream answers the bus is opened (stream and bucket ensured) and the
// event consumer and the sweeper start. Until then execute still stores
// executions (the sweeper publishes them later) and cancel and the event
// stream answer 503. closeExecutions stops the background work and the
// connection once the server has drained.
func openExecutions(cfg config.Config, st *store.Store, probes *httpx.Probes, log *slog.Logger) (routes *httpapi.Executions, closeExecutions func(), err error) {
	xc := cfg.Executions
	// A publication while disconnected fails at once (no reconnect
	// buffer): execute must not hang on NATS, the sweeper has it covered.
	nc, err := nats.Connect(xc.NATSURL, nats.Name(service), nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second), nats.ReconnectBufSize(-1))
	if err != nil {
		return nil, nil, fmt.Errorf("NATS_URL: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	svc := executions.New(executions.Options{DB: st, Log: log, IdempotencyTTL: xc.IdempotencyTTL, PublishTimeout: xc.PublishTimeout})

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		bus, err := openBus(ctx, log, js, xc.Events)
		if err != nil {
			return // stopped before NATS answered
		}
		svc.UseBus(bus)
		log.Info("executions: NATS JetStream ready", "stream", xc.Events.Stream, "consumer", xc.Consumer)
		wg.Go(func() {
			consumer := executions.NewConsumer(st, bus, xc.Consumer, xc.ApplyConcurrency, log)
			for ctx.Err() == nil {
				if err := consumer.Run(ctx); err != nil {
					log.Warn("executions: event consumer stopped; restarting", "error", err)
					pause(ctx, time.Second)
				}
			}
		})
		executions.NewSweeper(st, bus, xc.SweepInterval, xc.SweepGrace, log).Run(ctx)
	})
	closeExecutions = func() {
		stop()
		wg.Wait()
		nc.Close()
	}
	routes = &httpapi.Executions{Service: svc, MaxBodyBytes: cfg.MaxRequestBodyBytes, Heartbeat: xc.Heartbeat, Draining: probes.Draining(), Log: log}
	return routes, closeExecutions, nil
}

// openBus retries until JetStream answers or ctx ends.
func openBus(ctx context.Context, log *slog.Logger, js jetstream.JetStream, cfg events.Config) (*events.Bus, error) {
	for wait := time.Second; ; wait = min(2*wait, 15*time.Second) {
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		bus, err := events.Open(octx, js, cfg)
		cancel()
		if err == nil {
			return bus, nil
		}
		log.Warn("executions: waiting for NATS JetStream", "error", err, "retry_in", wait)
		if !pause(ctx, wait) {
			return nil, ctx.Err()
		}
	}
}

// pause waits d or until ctx ends; false when ctx ended.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
