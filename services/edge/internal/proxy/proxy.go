// Package proxy forwards one API layer to its upstream service with
// httputil.ReverseProxy: forwarding headers the upstream can believe, the
// request id and trace context passed on, pooled copy buffers, streams
// flushed as they come, and upstream failures turned into the JSON errors
// of DESIGN §3.
package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/wfagent/gateway/pkg/httpx"
)

// Proxy is the http.Handler of one layer.
type Proxy struct {
	layer   string
	log     *slog.Logger
	rp      *httputil.ReverseProxy
	trusted TrustedProxies
	streams *Streams
}

// Option adjusts New.
type Option func(*Proxy)

// WithTrustedProxies keeps the forwarding headers of these peers.
func WithTrustedProxies(t TrustedProxies) Option { return func(p *Proxy) { p.trusted = t } }

// WithStreams registers proxied event streams so shutdown can end them.
func WithStreams(s *Streams) Option { return func(p *Proxy) { p.streams = s } }

// WithLatency observes the upstream's time to response headers.
func WithLatency(obs prometheus.Observer) Option {
	return func(p *Proxy) { p.rp.Transport = timed{next: p.rp.Transport, obs: obs} }
}

// shared by every layer: the pool is per process, not per upstream.
var buffers = newBufferPool()

// New proxies to target, keeping the request path (/api/<layer>/…) as it
// is, under target's own path if it has one.
func New(layer string, target *url.URL, transport http.RoundTripper, log *slog.Logger, opts ...Option) *Proxy {
	p := &Proxy{layer: layer, log: log.With("layer", layer, "upstream", target.Host)}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { p.rewrite(pr, target) },
		Transport:      transport,
		BufferPool:     buffers,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.fail,
		// Reached only for a broken upstream body mid-copy.
		ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		// FlushInterval stays 0: ReverseProxy already flushes every write
		// of text/event-stream and of bodies without a length, and
		// buffering the rest saves a syscall per write.
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest, target *url.URL) {
	pr.SetURL(target)
	p.trusted.setForwarded(pr.In, pr.Out, pr.SetXForwarded)
	// The request id is already on the inbound headers (httpx.RequestID)
	// and so on the clone; the trace context is the edge's own span.
	otel.GetTextMapPropagator().Inject(pr.Out.Context(), propagation.HeaderCarrier(pr.Out.Header))
}

// modifyResponse makes the edge the only voice on CORS and the request id,
// which the edge has already written, and tracks event streams.
func (p *Proxy) modifyResponse(res *http.Response) error {
	for name := range res.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			res.Header.Del(name)
		}
	}
	if res.Request.Header.Get(httpx.HeaderRequestID) != "" {
		res.Header.Del(httpx.HeaderRequestID)
	}
	if p.streams != nil && isEventStream(res.Header) {
		if st, ok := res.Request.Context().Value(streamKey{}).(*stream); ok {
			p.streams.add(st)
		}
	}
	return nil
}

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// ServeHTTP forwards r. It takes no total timeout: an SSE response lives
// as long as the client listens.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	st := &stream{cancel: cancel}
	ctx = context.WithValue(ctx, streamKey{}, st)
	if p.streams != nil {
		defer p.streams.remove(st)
	}
	defer p.endQuietly(ctx, w, st)
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// endQuietly absorbs the http.ErrAbortHandler panic ReverseProxy raises
// when copying a started response fails because the client left or
// shutdown ended the stream: the response is over either way and a panic
// would skip the access log and metrics. A stream shutdown ended gets a
// final `retry:` hint, so EventSource reconnects promptly to a replica
// that is not draining. When the upstream broke instead, the panic goes on
// so the client sees a cut connection, not a complete but truncated body.
func (p *Proxy) endQuietly(ctx context.Context, w http.ResponseWriter, st *stream) {
	r := recover()
	if r == nil {
		return
	}
	if r == http.ErrAbortHandler && ctx.Err() != nil { //nolint:errorlint // sentinel compared by identity, as net/http does
		if st.drained.Load() {
			_, _ = io.WriteString(w, RetryHint)
			_ = http.NewResponseController(w).Flush()
		}
		p.log.DebugContext(ctx, "stream ended by client or shutdown", "drained", st.drained.Load())
		return
	}
	panic(r)
}

// fail answers when no upstream response could be had.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client left; nobody reads this answer and it is no upstream fault.
		p.log.DebugContext(ctx, "client gone before the upstream answered", "error", err.Error())
		w.WriteHeader(statusClientClosed)
		return
	}
	e := classify(p.layer, err)
	if e.Kind.HTTPStatus() >= http.StatusInternalServerError {
		p.log.WarnContext(ctx, "upstream request failed", "status", e.Kind.HTTPStatus(), "code", e.Code, "error", err.Error())
	}
	httpx.WriteError(w, r, p.log, e)
}
