package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/wfagent/gateway/pkg/apperr"
)

func TestClassify(t *testing.T) {
	dialRefused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name     string
		err      error
		wantKind apperr.Kind
		wantCode string
	}{
		{"connection refused", fmt.Errorf("wrapped: %w", dialRefused), apperr.BadGateway, "upstream_unavailable"},
		{"no such host", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "app-svc", IsNotFound: true}}, apperr.BadGateway, "upstream_unavailable"},
		{"header timeout", timeoutErr{}, apperr.DeadlineExceeded, "upstream_timeout"},
		{"dial timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, apperr.DeadlineExceeded, "upstream_timeout"},
		{"deadline", context.DeadlineExceeded, apperr.DeadlineExceeded, "upstream_timeout"},
		{"body over limit", fmt.Errorf("write: %w", &http.MaxBytesError{Limit: 10}), apperr.TooLarge, "request_too_large"},
		{"connection reset mid-response", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, apperr.BadGateway, "bad_gateway"},
		{"malformed response", errors.New(`malformed HTTP response "garbage"`), apperr.BadGateway, "bad_gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify("app", tt.err)
			if e.Kind != tt.wantKind || e.Code != tt.wantCode {
				t.Errorf("classify = %v/%s, want %v/%s", e.Kind, e.Code, tt.wantKind, tt.wantCode)
			}
			if !errors.Is(e, tt.err) {
				t.Error("the cause must stay attached for the log")
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout awaiting response headers" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestTrustedProxies(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", " 192.168.1.5 ", "::1", "fd00::/8", ""})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		remote string
		want   bool
	}{
		{"10.2.3.4:5000", true},
		{"11.0.0.1:5000", false},
		{"192.168.1.5:1", true},
		{"192.168.1.6:1", false},
		{"[::1]:80", true},
		{"[fd12::1]:80", true},
		{"[::ffff:10.0.0.1]:80", true}, // IPv4-mapped peers match IPv4 entries
		{"not-an-addr", false},
	}
	for _, tt := range tests {
		if got := trusted.Trusts(tt.remote); got != tt.want {
			t.Errorf("Trusts(%q) = %v, want %v", tt.remote, got, tt.want)
		}
	}
	if (TrustedProxies(nil)).Trusts("127.0.0.1:1") {
		t.Error("no TRUSTED_PROXIES must trust nobody")
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "1.2.3"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}

func TestStreamsAfterCloseAll(t *testing.T) {
	s := NewStreams()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := &stream{cancel: cancel}
	s.add(live)
	s.CloseAll()
	if ctx.Err() == nil || s.Len() != 0 {
		t.Fatal("CloseAll left a live stream")
	}
	// A stream that starts during shutdown ends at once.
	late, lateCancel := context.WithCancel(context.Background())
	s.add(&stream{cancel: lateCancel})
	if late.Err() == nil || s.Len() != 0 {
		t.Fatal("a stream started after CloseAll kept running")
	}
}

func TestBufferPool(t *testing.T) {
	p := newBufferPool()
	b := p.Get()
	if len(b) != bufferSize {
		t.Fatalf("len = %d, want %d", len(b), bufferSize)
	}
	p.Put(b[:10])
	if got := p.Get(); len(got) != bufferSize {
		t.Fatalf("a buffer returned short came back with len %d", len(got))
	}
	p.Put(make([]byte, 100)) // foreign sizes are dropped, not pooled
}
