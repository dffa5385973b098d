package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer returns an http.Server tuned for an API behind a load balancer:
// bounded header reads and idle connections, and no write timeout so that
// Server-Sent Events may stream for as long as the client listens.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// Shutdown controls Serve's graceful stop.
type Shutdown struct {
	Probes     *Probes
	DrainDelay time.Duration // readiness false, still serving
	Grace      time.Duration // total time allowed, drain delay included
}

// Serve listens on srv.Addr (or ln when given) until ctx ends, then drains:
// readiness turns false, streams are told to end, new connections are still
// accepted for DrainDelay, then in-flight requests get the rest of Grace.
func Serve(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener, sd Shutdown) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", srv.Addr); err != nil {
			return fmt.Errorf("listen %s: %w", srv.Addr, err)
		}
	}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errCh:
		return err
	case <-ctx.Done():
	}
	start := time.Now()
	log.Info("shutting down", "drain_delay", sd.DrainDelay, "grace", sd.Grace)
	if sd.Probes != nil {
		sd.Probes.StartDraining()
	}
	time.Sleep(sd.DrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), sd.Grace-time.Since(start))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errCh; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
