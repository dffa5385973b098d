// Package safehttp is the HTTP client of workflow nodes: it refuses to
// connect to loopback, private, link-local (cloud metadata included),
// carrier-grade NAT, unspecified, multicast, reserved and documentation
// addresses, IPv4 and IPv6 alike, unless an allow-list names them.
//
// The check runs in the dialer's Control function, i.e. on the address the
// connection is really made to: after DNS resolution (a name that resolves
// to 10.0.0.1 is refused; DNS rebinding gains nothing) and again for every
// redirect, because each new connection is dialled the same way. No proxy
// is used, so the dialled address is the target.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is wrapped by every refusal.
var ErrBlocked = errors.New("address not allowed")

// BlockedError says which address was refused and why.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("refused to connect to %s: %s address (SSRF guard; ENGINE_HTTP_ALLOW can allow it)", e.Addr, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Unwrap() error { return ErrBlocked }

// Options configures NewClient.
type Options struct {
	// Allow lists what may be reached anyway: CIDRs (10.1.0.0/16), IPs,
	// host names (internal.example.com) and host:port pairs
	// (127.0.0.1:8080). Names are matched as written in the URL, before
	// resolution; CIDRs and IPs are matched against the dialled address.
	Allow []string
	// MaxRedirects bounds redirects (default 5).
	MaxRedirects int
	// Resolver resolves names (nil: the system's).
	Resolver *net.Resolver
}

// Policy decides which addresses may be dialled.
type Policy struct {
	prefixes  []netip.Prefix
	hosts     map[string]bool
	hostPorts map[string]bool
}

// NewPolicy parses an allow-list (see Options.Allow).
func NewPolicy(allow []string) (*Policy, error) {
	p := &Policy{hosts: map[string]bool{}, hostPorts: map[string]bool{}}
	for _, raw := range allow {
		entry := strings.ToLower(strings.TrimSpace(raw))
		if entry == "" {
			continue
		}
		if pfx, err := netip.ParsePrefix(entry); err == nil {
			p.prefixes = append(p.prefixes, pfx.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(entry); err == nil {
			p.prefixes = append(p.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		if host, port, err := net.SplitHostPort(entry); err == nil && host != "" && port != "" {
			p.hostPorts[net.JoinHostPort(host, port)] = true
			continue
		}
		if strings.ContainsAny(entry, "/:[] ") {
			return nil, fmt.Errorf("ENGINE_HTTP_ALLOW entry %q: want a CIDR, an IP, a host name or host:port", raw)
		}
		p.hosts[entry] = true
	}
	return p, nil
}

// trustedHost reports an allow-listed name or host:port (as dialled,
// before resolution).
func (p *Policy) trustedHost(addr string) bool {
	addr = strings.ToLower(addr)
	if p.hostPorts[addr] {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	return err == nil && p.hosts[host]
}

// Check returns a *BlockedError for an address that may not be dialled.
func (p *Policy) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(ip) {
			return nil
		}
	}
	if reason := blockedReason(ip); reason != "" {
		return &BlockedError{Addr: ip, Reason: reason}
	}
	return nil
}

// Special-purpose ranges (RFC 6890 and successors) that net/netip's
// predicates do not cover.
var blockedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (\"this network\")"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// IPv6 ranges that embed an IPv4 address: refused when that address is.
var (
	nat64     = []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48")}
	sixToFour = netip.MustParsePrefix("2002::/16")
)

func blockedReason(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		if ip == netip.MustParseAddr("169.254.169.254") {
			return "cloud metadata (link-local)"
		}
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, b := range blockedPrefixes {
		if b.prefix.Contains(ip) {
			return b.reason
		}
	}
	if ip.Is6() {
		b := ip.As16()
		for _, p := range nat64 {
			if p.Contains(ip) {
				if r := blockedReason(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); r != "" {
					return "NAT64 of a " + r
				}
			}
		}
		if sixToFour.Contains(ip) {
			if r := blockedReason(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); r != "" {
				return "6to4 of a " + r
			}
		}
	}
	return ""
}

// control is the dialer's Control hook: address is the resolved ip:port
// about to be connected to.
func (p *Policy) control(_ string, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", ErrBlocked, address)
	}
	return p.Check(ap.Addr())
}

// DialContext dials like net.Dialer but refuses what the policy blocks;
// allow-listed names and host:port pairs skip the address check.
func (p *Policy) DialContext(resolver *net.Resolver) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network != "tcp" && network != "tcp4" && network != "tcp6" {
			return nil, fmt.Errorf("%w: network %q", ErrBlocked, network)
		}
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: resolver}
		if !p.trustedHost(addr) {
			d.Control = p.control
		}
		return d.DialContext(ctx, network, addr)
	}
}

// NewClient returns an http.Client whose every connection goes through the
// policy. It has no overall timeout: callers bound each request with its
// context.
func NewClient(o Options) (*http.Client, error) {
	p, err := NewPolicy(o.Allow)
	if err != nil {
		return nil, err
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 5
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would hide the real target from the check
		DialContext:           p.DialContext(o.Resolver),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", o.MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect to scheme %q", ErrBlocked, req.URL.Scheme)
			}
			return nil
		},
	}, nil
}
