package grpcapi

import (
	"context"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wfagent/gateway/pkg/logx"
)

// RequestIDHeader is the metadata key of the request id (DESIGN §3).
const RequestIDHeader = "x-request-id"

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// observer continues the caller's trace, takes its request id (or makes
// one), logs each call, counts it, and turns a panic into Internal.
type observer struct {
	log      *slog.Logger
	tracer   trace.Tracer
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newObserver(log *slog.Logger, reg prometheus.Registerer) (*observer, error) {
	o := &observer{
		log:    log,
		tracer: otel.Tracer("github.com/wfagent/gateway/workflow-agent"),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total", Help: "RPCs completed on the server, by method and status code.",
		}, []string{"grpc_service", "grpc_method", "grpc_code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "grpc_server_handling_seconds", Help: "RPC latency on the server, streaming included.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"grpc_service", "grpc_method"}),
	}
	for _, c := range []prometheus.Collector{o.handled, o.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *observer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	ctx, id, end := o.begin(ctx, info.FullMethod)
	defer func() { err = end(recover(), err) }()
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	return handler(ctx, req)
}

func (o *observer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	ctx, id, end := o.begin(ss.Context(), info.FullMethod)
	defer func() { err = end(recover(), err) }()
	_ = ss.SetHeader(metadata.Pairs(RequestIDHeader, id))
	return handler(srv, &contextStream{ServerStream: ss, ctx: ctx})
}

// begin starts the span and returns the call's context, its request id and
// the function that ends it (with a recovered panic, if any).
func (o *observer) begin(ctx context.Context, fullMethod string) (context.Context, string, func(recovered any, err error) error) {
	start := time.Now()
	md, _ := metadata.FromIncomingContext(ctx)
	ctx = otel.GetTextMapPropagator().Extract(ctx, metadataCarrier(md))
	service, method := splitMethod(fullMethod)
	ctx, span := o.tracer.Start(ctx, strings.TrimPrefix(fullMethod, "/"), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", service), attribute.String("rpc.method", method)))
	id := ""
	if v := md.Get(RequestIDHeader); len(v) > 0 && saneRequestID.MatchString(v[0]) {
		id = v[0]
	} else {
		id = uuid.NewString()
	}
	ctx = logx.WithRequestID(ctx, id)
	return ctx, id, func(recovered any, err error) error {
		if recovered != nil {
			o.log.ErrorContext(ctx, "panic in grpc handler", "method", fullMethod, "panic", recovered, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
		code := status.Code(err)
		took := time.Since(start)
		span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))
		if serverFault(code) {
			span.SetStatus(otelcodes.Error, code.String())
		}
		span.End()
		o.handled.WithLabelValues(service, method, code.String()).Inc()
		o.duration.WithLabelValues(service, method).Observe(took.Seconds())
		level := slog.LevelInfo
		switch {
		case serverFault(code):
			level = slog.LevelError
		case strings.HasPrefix(fullMethod, "/grpc.health.v1.") || strings.HasPrefix(fullMethod, "/grpc.reflection."):
			level = slog.LevelDebug // probes every few seconds
		}
		attrs := []any{"method", fullMethod, "code", code.String(), "took", took.Round(time.Microsecond)}
		if err != nil && code != codes.OK {
			attrs = append(attrs, "error", err.Error())
		}
		o.log.Log(ctx, level, "grpc call", attrs...)
		return err
	}
}

func serverFault(c codes.Code) bool {
	switch c {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unimplemented:
		return true
	}
	return false
}

func splitMethod(full string) (service, method string) {
	s, m, ok := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if !ok {
		return "unknown", full
	}
	return s, m
}

// contextStream hands the handler the context with the span and request id.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// metadataCarrier lets the OTel propagator read W3C headers from metadata.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
