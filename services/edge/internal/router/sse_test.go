package router

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/services/edge/internal/proxy"
)

const (
	sseEvents   = 5
	sseInterval = 100 * time.Millisecond
)

// sseUpstream emits an event every 100 ms, then ends, as app-svc's chat does.
func sseUpstream(t *testing.T) *upstream {
	return newUpstream(t, "app", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for i := range sseEvents {
			if i > 0 {
				select {
				case <-time.After(sseInterval):
				case <-r.Context().Done():
					return
				}
			}
			fmt.Fprintf(w, "id: %d\ndata: {\"n\":%d}\n\n", i, i)
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
}

// Through gin's response writer and ReverseProxy each event must reach
// the client when the upstream sends it, not when the stream ends.
func TestSSEUnbuffered(t *testing.T) {
	up := sseUpstream(t)
	// A header timeout shorter than the stream shows it bounds headers only.
	e := startEdge(t, "APP_SVC_URL="+up.srv.URL, "UPSTREAM_TIMEOUT=150ms")
	start := time.Now()
	res, err := http.DefaultClient.Do(newRequest(t, "POST", e.url+"/api/app/chat/stream", nil, "Accept", "text/event-stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	data, at := sseLines(t, res.Body)
	total := time.Since(start)
	if len(data) != sseEvents {
		t.Fatalf("got %d events %q, want %d", len(data), data, sseEvents)
	}
	streamLen := time.Duration(sseEvents-1) * sseInterval
	if first := at[0].Sub(start); first > streamLen/2 {
		t.Errorf("first event after %s, the stream lasted %s: buffered", first, total)
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < sseInterval/2 {
			t.Errorf("event %d came %s after the previous one, want about %s", i, gap, sseInterval)
		}
	}
}

// On shutdown the edge ends proxied streams cleanly so clients reconnect
// elsewhere, instead of holding the process for the whole grace period.
func TestStreamsEndOnShutdown(t *testing.T) {
	up := newUpstream(t, "app", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: hello\n\n")
		http.NewResponseController(w).Flush()
		<-r.Context().Done() // streams until the edge hangs up
	})
	e := startEdge(t, "APP_SVC_URL="+up.srv.URL)
	res, err := http.DefaultClient.Do(newRequest(t, "GET", e.url+"/api/app/executions/1/events", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 64)
	if _, err := res.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	if n := e.streams.Len(); n != 1 {
		t.Fatalf("tracked streams = %d, want 1", n)
	}
	ended := make(chan error, 1)
	go func() {
		rest, _ := io.ReadAll(res.Body)
		switch {
		case strings.Contains(string(rest), "data:"):
			ended <- fmt.Errorf("unexpected data %q", rest)
		case !strings.HasSuffix(string(rest), proxy.RetryHint):
			ended <- fmt.Errorf("stream ended without the retry hint: %q", rest)
		default:
			ended <- nil
		}
	}()
	e.streams.CloseAll()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("stream still open after CloseAll")
	}
	if n := e.streams.Len(); n != 0 {
		t.Errorf("tracked streams = %d after the end, want 0", n)
	}
}
