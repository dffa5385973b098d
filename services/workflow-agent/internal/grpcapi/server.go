// Package grpcapi is the agent's gRPC transport: the WorkflowAgent service,
// grpc.health.v1, interceptors for trace context, request ids, access logs
// and panics, keepalive enforcement, and a graceful drain.
package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/wfagent/gateway/pkg/httpx"
	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
	"github.com/wfagent/gateway/services/workflow-agent/internal/planner"
)

// Keepalive: clients ping about every 30 s (app-svc's shared connection),
// so pings are allowed from every 10 s, also between calls. The server
// pings idle connections itself so that a vanished caller is noticed and
// its turn cancelled.
const (
	keepaliveMinTime = 10 * time.Second
	keepaliveTime    = time.Minute
	keepaliveTimeout = 20 * time.Second
)

// Server is the gRPC server with its health service.
type Server struct {
	GRPC   *grpc.Server
	Health *health.Server
	log    *slog.Logger
}

// New builds the server around an agent; reg receives the RPC metrics.
func New(a *agent.Agent, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	obs, err := newObserver(log, reg)
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveMinTime, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
		grpc.ChainUnaryInterceptor(obs.unary),
		grpc.ChainStreamInterceptor(obs.stream),
	)
	pb.RegisterWorkflowAgentServer(srv, &workflowAgent{agent: a})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(pb.WorkflowAgent_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	reflection.Register(srv)
	return &Server{GRPC: srv, Health: hs, log: log}, nil
}

// Serve serves on ln until ctx ends, then drains: health turns NOT_SERVING
// (and the probes' readiness false), calls are still accepted for the drain
// delay, turns in flight get the rest of the grace period, and whatever
// still runs then is cancelled.
func (s *Server) Serve(ctx context.Context, ln net.Listener, sd httpx.Shutdown) error {
	errCh := make(chan error, 1)
	go func() { errCh <- s.GRPC.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "protocol", "grpc")
	select {
	case err := <-errCh:
		return fmt.Errorf("grpc: %w", err)
	case <-ctx.Done():
	}
	start := time.Now()
	s.log.Info("shutting down", "protocol", "grpc", "drain_delay", sd.DrainDelay, "grace", sd.Grace)
	s.Health.Shutdown()
	if sd.Probes != nil {
		sd.Probes.StartDraining()
	}
	time.Sleep(sd.DrainDelay)
	stopped := make(chan struct{})
	go func() {
		s.GRPC.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(sd.Grace - time.Since(start))
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.log.Warn("grace period over, cancelling the turns still running", "protocol", "grpc")
		s.GRPC.Stop()
		<-stopped
	}
	if err := <-errCh; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpc: %w", err)
	}
	s.log.Info("stopped", "protocol", "grpc", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// workflowAgent implements the WorkflowAgent service.
type workflowAgent struct {
	pb.UnimplementedWorkflowAgentServer
	agent *agent.Agent
}

func (w *workflowAgent) ProcessConversation(req *pb.ConversationRequest, stream grpc.ServerStreamingServer[pb.ConversationResponse]) error {
	err := w.agent.Turn(stream.Context(), turnOf(req), func(r planner.Response) error {
		msg, err := responsePB(req.GetSessionId(), r, time.Now())
		if err != nil {
			return err
		}
		return stream.Send(msg)
	})
	return statusOf(err)
}

// statusOf is the one mapping from the agent's errors to gRPC statuses.
// Unknown errors become a bare Internal; the access log keeps the cause.
func statusOf(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, planner.ErrInvalidTurn):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the caller cancelled the turn")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the turn's deadline passed")
	}
	if _, ok := status.FromError(err); ok {
		return err // already a status, e.g. from stream.Send
	}
	return &internalError{cause: err}
}

// internalError is a status for the caller and the cause for the log.
type internalError struct{ cause error }

func (e *internalError) Error() string { return e.cause.Error() }
func (e *internalError) Unwrap() error { return e.cause }
func (e *internalError) GRPCStatus() *status.Status {
	return status.New(codes.Internal, "internal error")
}
