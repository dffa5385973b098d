package safehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPolicyCheck(t *testing.T) {
	p, err := NewPolicy([]string{"10.9.0.0/16", "192.168.1.7"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"10.0.0.1", true},
		{"172.16.5.4", true},
		{"192.168.0.1", true},
		{"169.254.169.254", true},
		{"169.254.1.1", true},
		{"100.64.0.1", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		{"fe80::1", true},
		{"fc00::1", true},
		{"fd00:ec2::254", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"64:ff9b::a00:1", true}, // NAT64 of 10.0.0.1
		{"2002:a00:1::1", true},  // 6to4 of 10.0.0.1
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"198.18.0.1", true},
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"2606:4700:4700::1111", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"10.9.3.4", false},         // allowed CIDR
		{"192.168.1.7", false},      // allowed IP
		{"::ffff:192.168.1.7", false},
	}
	for _, tt := range tests {
		err := p.Check(netip.MustParseAddr(tt.ip))
		if (err != nil) != tt.blocked {
			t.Errorf("%s: blocked=%v, want %v (%v)", tt.ip, err != nil, tt.blocked, err)
		}
		if err != nil && !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: %v does not wrap ErrBlocked", tt.ip, err)
		}
	}
}

func TestNewPolicyRefusesGarbage(t *testing.T) {
	if _, err := NewPolicy([]string{"10.0.0.0/99"}); err == nil {
		t.Fatal("bad CIDR accepted")
	}
	if _, err := NewPolicy([]string{"", " api.internal ", "127.0.0.1:8080", "[::1]:9000"}); err != nil {
		t.Fatalf("good entries refused: %v", err)
	}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

// TestClientRefusesPrivateTargets covers the SSRF cases of issue 6: literal
// private addresses, a name resolving to loopback, and redirects from an
// allowed server (itself on loopback, allowed by host:port) to private ones.
func TestClientRefusesPrivateTargets(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secret")
	}))
	defer other.Close()
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer allowed.Close()
	allowedHost := strings.TrimPrefix(allowed.URL, "http://")
	otherPort := other.URL[strings.LastIndex(other.URL, ":")+1:]

	c, err := NewClient(Options{Allow: []string{allowedHost}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := get(t, c, allowed.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("allowed server refused: %v", err)
	}
	tests := []struct{ name, url string }{
		{"IPv4 loopback", other.URL},
		{"IPv6 loopback", "http://[::1]:" + otherPort + "/"},
		{"private", "http://10.0.0.1/"},
		{"metadata", "http://169.254.169.254/latest/meta-data/"},
		{"unspecified", "http://0.0.0.0:" + otherPort + "/"},
		{"CGNAT", "http://100.64.0.1/"},
		{"IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]:" + otherPort + "/"},
		{"name resolving to loopback", "http://localhost:" + otherPort + "/"},
		{"redirect to loopback", allowed.URL + "/?to=" + other.URL},
		{"redirect to private", allowed.URL + "/?to=http://10.0.0.1/"},
		{"redirect to metadata", allowed.URL + "/?to=http://169.254.169.254/"},
		{"redirect to a name resolving to loopback", allowed.URL + "/?to=http://localhost:" + otherPort + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := get(t, c, tt.url)
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("GET %s: err = %v, want ErrBlocked", tt.url, err)
			}
		})
	}
}

func TestClientAllowsByCIDR(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	c, err := NewClient(Options{Allow: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := get(t, c, srv.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CIDR-allowed loopback refused: %v", err)
	}
	if _, err := get(t, c, "http://10.0.0.1/"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("10.0.0.1 with only 127/8 allowed: %v", err)
	}
}

func TestRedirectLimitAndScheme(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("file") != "" {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
			return
		}
		http.Redirect(w, r, srv.URL+r.URL.Path+"x", http.StatusFound)
	}))
	defer srv.Close()
	c, _ := NewClient(Options{Allow: []string{strings.TrimPrefix(srv.URL, "http://")}, MaxRedirects: 3})
	if _, err := get(t, c, srv.URL+"/"); err == nil || !strings.Contains(err.Error(), "stopped after 3 redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
	if _, err := get(t, c, srv.URL+"/?file=1"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("redirect to file://: %v", err)
	}
}
