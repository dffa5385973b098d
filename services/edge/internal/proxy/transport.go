package proxy

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// NewTransport is the keep-alive transport shared by the three upstreams.
// Idle connections per host are many because every client request of a
// busy edge lands on only three hosts; without them the edge would open
// and close upstream connections under load and run out of ports.
func NewTransport(dialTimeout, responseHeaderTimeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		// The upstreams are in-cluster: HTTP(S)_PROXY must not reroute them.
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        0, // no global cap; the per-host cap governs
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: dialTimeout,
		// Bounds the wait for headers only, never a started stream (SSE).
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// Pass Accept-Encoding and compressed bodies through untouched:
		// transparent gzip would make the edge decompress what the client
		// could take compressed.
		DisableCompression: true,
		// The services speak HTTP/1.1 (h2c is not negotiated over plain TCP).
		ForceAttemptHTTP2: false,
	}
}

// timed observes how long each round trip takes to its response headers.
type timed struct {
	next http.RoundTripper
	obs  prometheus.Observer
}

func (t timed) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := t.next.RoundTrip(r)
	t.obs.Observe(time.Since(start).Seconds())
	return res, err
}

// bufferSize is the copy buffer: large enough that a typical JSON response
// moves in one read, small enough to pool per in-flight request.
const bufferSize = 32 << 10

// bufferPool lends copy buffers to httputil.ReverseProxy so a busy edge
// does not allocate 32 KiB per request.
type bufferPool struct{ pool sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any {
		b := make([]byte, bufferSize)
		return &b
	}}}
}

func (p *bufferPool) Get() []byte { return *p.pool.Get().(*[]byte) }

// Put stores a pointer (the slice header escapes, 24 bytes) because
// httputil.BufferPool speaks []byte and sync.Pool wants pointers.
func (p *bufferPool) Put(b []byte) {
	if cap(b) != bufferSize {
		return
	}
	b = b[:bufferSize]
	p.pool.Put(&b)
}
