package testkit

import (
	"bytes"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// SyncBuffer collects a service's log while it writes from many goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitHTTP polls url until it answers 200 or the timeout passes; the
// test fails naming the URL and, when given, what the service logged.
func WaitHTTP(t testing.TB, url string, timeout time.Duration, log interface{ String() string }) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			msg := ""
			if log != nil {
				msg = log.String()
			}
			t.Fatalf("%s not answering 200 within %s (last error %v)\n%s", url, timeout, err, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
