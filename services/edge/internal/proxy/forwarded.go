package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the peers (load balancers) whose forwarding headers
// the edge believes. It mirrors what gin's SetTrustedProxies accepts, so the
// access log's client IP and the forwarded headers agree.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads TRUSTED_PROXIES entries: IPs or CIDRs.
func ParseTrustedProxies(entries []string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("TRUSTED_PROXIES entry %q: %w", e, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES entry %q: %w", e, err)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Trusts reports whether the peer at remoteAddr (host:port) is trusted.
func (t TrustedProxies) Trusts(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// setForwarded writes the outgoing forwarding headers. ReverseProxy has
// already removed the client's Forwarded and X-Forwarded-{For,Host,Proto}
// from out. From an untrusted peer every other forwarding claim goes too,
// and X-Forwarded-For is the peer alone; a trusted peer's chain is kept and
// the peer appended, and its view of the original host and scheme (it may
// have terminated TLS) wins over the edge's own.
func (t TrustedProxies) setForwarded(in, out *http.Request, setXForwarded func()) {
	if !t.Trusts(in.RemoteAddr) {
		for name := range out.Header {
			if strings.HasPrefix(name, "X-Forwarded-") {
				out.Header.Del(name)
			}
		}
		out.Header.Del("X-Real-Ip")
		setXForwarded()
		return
	}
	if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		out.Header["X-Forwarded-For"] = prior
	}
	setXForwarded()
	for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v := in.Header.Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
}
