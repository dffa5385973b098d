package proxy

import (
	"context"
	"sync"
	"sync/atomic"
)

// RetryHint is the reconnection delay sent to an event stream the edge
// ends because it is draining: long enough for the load balancer to have
// taken this replica out, short enough that the user notices nothing.
const RetryHint = "retry: 1000\n\n"

// Streams tracks the event streams being proxied so shutdown can end them.
// Without it http.Server.Shutdown would wait out the whole grace period for
// every connected EventSource and then cut it; ending them cleanly instead
// makes the browser reconnect, through the load balancer, to a replica that
// is not draining.
type Streams struct {
	mu     sync.Mutex
	live   map[*stream]struct{}
	closed bool
}

type stream struct {
	cancel context.CancelFunc
	// drained is set when shutdown, not the client or the upstream, ended
	// the stream: only then does the client get the retry hint.
	drained atomic.Bool
}

type streamKey struct{}

// NewStreams returns an empty tracker.
func NewStreams() *Streams { return &Streams{live: map[*stream]struct{}{}} }

// CloseAll ends every stream, now and from now on. Register it with
// http.Server.RegisterOnShutdown so it runs after the drain delay.
func (s *Streams) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for st := range s.live {
		st.drained.Store(true)
		st.cancel()
	}
	clear(s.live)
}

// Len is the number of live streams.
func (s *Streams) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

func (s *Streams) add(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		st.drained.Store(true)
		st.cancel()
		return
	}
	s.live[st] = struct{}{}
}

func (s *Streams) remove(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, st)
}
