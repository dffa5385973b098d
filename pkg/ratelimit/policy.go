package ratelimit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Layer names a policy table.
type Layer string

// The three API layers.
const (
	Public Layer = "public" // keyed by client IP
	App    Layer = "app"    // keyed by user id
	MCP    Layer = "mcp"    // keyed by API key id, times the key's tier
)

// GlobalPolicy is the name of each layer's catch-all policy.
const GlobalPolicy = "global"

// Policy is one named limit. A route policy applies to requests whose
// matched route pattern is, or lies under, one of Routes; the global policy
// (no Routes) applies to every request of the layer, on top.
type Policy struct {
	Name  string
	Limit Limit
	// Routes are patterns relative to the layer's prefix; a segment "*"
	// stands for any one segment (gin's :param and *param both match it).
	Routes []string
}

// Table is a layer's policies.
type Table struct {
	Layer Layer
	// Prefix is stripped from route patterns before matching, so a service
	// may register "/api/public/health" or "/health" alike.
	Prefix   string
	Global   Policy
	Policies []Policy
}

var (
	minute = time.Minute
	hour   = time.Hour
)

// DefaultTable is the original design's table for a layer.
func DefaultTable(layer Layer) Table {
	switch layer {
	case Public:
		return Table{Layer: Public, Prefix: "/api/public", Global: Policy{Name: GlobalPolicy, Limit: Limit{1000, hour}},
			Policies: []Policy{
				{Name: "health", Limit: Limit{100, minute}, Routes: []string{"/health"}},
				{Name: "info", Limit: Limit{60, minute}, Routes: []string{"/info", "/status"}},
				{Name: "docs", Limit: Limit{10, minute}, Routes: []string{"/docs", "/openapi.json", "/openapi.yaml"}},
			}}
	case App:
		return Table{Layer: App, Prefix: "/api/app", Global: Policy{Name: GlobalPolicy, Limit: Limit{10000, hour}},
			Policies: []Policy{
				{Name: "chat", Limit: Limit{100, hour}, Routes: []string{"/chat/stream"}},
				{Name: "sessions", Limit: Limit{1000, hour}, Routes: []string{"/sessions"}},
				{Name: "workflows", Limit: Limit{500, hour}, Routes: []string{"/workflows"}},
				{Name: "workflow_execute", Limit: Limit{100, hour}, Routes: []string{"/workflows/*/execute"}},
				{Name: "executions", Limit: Limit{200, hour}, Routes: []string{"/executions"}},
			}}
	case MCP:
		return Table{Layer: MCP, Prefix: "/api/mcp", Global: Policy{Name: GlobalPolicy, Limit: Limit{50000, hour}},
			Policies: []Policy{
				{Name: "invoke", Limit: Limit{1000, hour}, Routes: []string{"/invoke", "/tools/*/invoke", "/tools/call"}},
				{Name: "tools", Limit: Limit{5000, hour}, Routes: []string{"/tools"}},
			}}
	}
	return Table{Layer: layer}
}

// Match returns the route policy for a gin route pattern (c.FullPath()):
// the one whose pattern has the most segments among those that match, so
// /workflows/:id/execute gets workflow_execute, not workflows.
func (t Table) Match(fullPath string) (Policy, bool) {
	if fullPath == "" {
		return Policy{}, false
	}
	path := segments(strings.TrimPrefix(fullPath, t.Prefix))
	best, bestLen := -1, -1
	for i, p := range t.Policies {
		if p.Limit.IsZero() {
			continue
		}
		for _, r := range p.Routes {
			pat := segments(r)
			if len(pat) > bestLen && underPattern(path, pat) {
				best, bestLen = i, len(pat)
			}
		}
	}
	if best < 0 {
		return Policy{}, false
	}
	return t.Policies[best], true
}

// segments splits a route into its segments, with gin parameters (":id",
// "*rest") turned into "*".
func segments(p string) []string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		return nil
	}
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "*"
		}
	}
	return parts
}

// underPattern reports whether path equals pat or lies below it.
func underPattern(path, pat []string) bool {
	if len(pat) == 0 || len(path) < len(pat) {
		return false
	}
	for i, s := range pat {
		if s != "*" && s != path[i] {
			return false
		}
	}
	return true
}

// periodUnits are the period names overrides accept (and String prints).
var periodUnits = []struct {
	name string
	d    time.Duration
}{{"second", time.Second}, {"minute", time.Minute}, {"hour", time.Hour}, {"day", 24 * time.Hour}}

// ParseLimit reads "100/hour", "100/h", "10/15m" or "off" (zero Limit).
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Limit{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("limit %q: want <requests>/<period>, e.g. 100/hour", s)
	}
	req, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || req <= 0 {
		return Limit{}, fmt.Errorf("limit %q: requests must be a positive integer", s)
	}
	per = strings.TrimSpace(per)
	for _, u := range periodUnits {
		if per == u.name || per == u.name[:1] {
			return Limit{req, u.d}, nil
		}
	}
	d, err := time.ParseDuration(per)
	if err != nil || d < time.Second {
		return Limit{}, fmt.Errorf("limit %q: period must be second|minute|hour|day or a duration >= 1s", s)
	}
	return Limit{req, d}, nil
}

// ApplyOverrides changes t by a RATE_LIMITS list (see Config.Overrides),
// using only the entries of t's layer.
func (t Table) ApplyOverrides(spec string) (Table, error) {
	out := t
	out.Policies = slices.Clone(t.Policies)
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		lhs, rhs, ok := strings.Cut(entry, "=")
		if !ok {
			return t, fmt.Errorf("RATE_LIMITS entry %q: want layer.name[@route|route]=requests/period", entry)
		}
		lim, err := ParseLimit(rhs)
		if err != nil {
			return t, fmt.Errorf("RATE_LIMITS entry %q: %w", entry, err)
		}
		lhs, routesSpec, hasRoutes := strings.Cut(strings.TrimSpace(lhs), "@")
		layer, name, ok := strings.Cut(lhs, ".")
		if !ok || name == "" {
			return t, fmt.Errorf("RATE_LIMITS entry %q: name it layer.policy, e.g. public.health", entry)
		}
		if !slices.Contains([]Layer{Public, App, MCP}, Layer(layer)) {
			return t, fmt.Errorf("RATE_LIMITS entry %q: layer must be public, app or mcp", entry)
		}
		if !validName(name) {
			return t, fmt.Errorf("RATE_LIMITS entry %q: policy names are lower-case letters, digits and _", entry)
		}
		if Layer(layer) != t.Layer {
			continue
		}
		var routes []string
		if hasRoutes {
			routes = strings.Split(routesSpec, "|")
			for _, r := range routes {
				if !strings.HasPrefix(r, "/") {
					return t, fmt.Errorf("RATE_LIMITS entry %q: route %q must start with /", entry, r)
				}
			}
		}
		if name == GlobalPolicy {
			if hasRoutes {
				return t, fmt.Errorf("RATE_LIMITS entry %q: the global policy has no routes", entry)
			}
			out.Global.Limit = lim
			continue
		}
		i := slices.IndexFunc(out.Policies, func(p Policy) bool { return p.Name == name })
		switch {
		case i >= 0:
			out.Policies[i].Limit = lim
			if hasRoutes {
				out.Policies[i].Routes = routes
			}
		case hasRoutes:
			out.Policies = append(out.Policies, Policy{Name: name, Limit: lim, Routes: routes})
		default:
			return t, fmt.Errorf("RATE_LIMITS entry %q: %s has no policy %q; give routes (@/path) to add one", entry, layer, name)
		}
	}
	return out, nil
}

// validName keeps policy names safe inside a structured-field string.
func validName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}
