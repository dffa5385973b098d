package manifests

import (
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// endpoint is one side of a connection: a pod (namespace + labels) or an
// address outside the cluster.
type endpoint struct {
	name      string
	namespace string            // "" for outside the cluster
	labels    map[string]string // pod labels
	ip        netip.Addr        // outside the cluster
}

const stackNamespace = "stack" // where the rendering's policies and pods live

var (
	nsLabels = map[string]map[string]string{
		stackNamespace: {"kubernetes.io/metadata.name": stackNamespace},
		"monitoring":   {"kubernetes.io/metadata.name": "monitoring"},
		"kube-system":  {"kubernetes.io/metadata.name": "kube-system"},
		"other":        {"kubernetes.io/metadata.name": "other"},
	}
	prometheus = endpoint{name: "prometheus", namespace: "monitoring", labels: map[string]string{"app": "prometheus"}}
	kubeDNS    = endpoint{name: "kube-dns", namespace: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}}
	otherPod   = endpoint{name: "other-namespace pod", namespace: "other", labels: map[string]string{"app.kubernetes.io/name": "edge"}}
	client     = endpoint{name: "internet client", ip: netip.MustParseAddr("198.51.100.7")}
	managed    = endpoint{name: "managed service in the VPC", ip: netip.MustParseAddr("10.20.0.5")}
	website    = endpoint{name: "public website", ip: netip.MustParseAddr("203.0.113.10")}
	metadata   = endpoint{name: "cloud metadata", ip: netip.MustParseAddr("169.254.169.254")}
)

// pod returns the endpoint of a Deployment's (or Job's) pods.
func (s *stack) pod(t *testing.T, name string) endpoint {
	t.Helper()
	if d, ok := s.deployments[name]; ok {
		return endpoint{name: name, namespace: stackNamespace, labels: d.Spec.Template.Labels}
	}
	for _, j := range s.jobs {
		if j.Spec.Template.Labels["app.kubernetes.io/name"] == name || j.Name == name {
			return endpoint{name: name, namespace: stackNamespace, labels: j.Spec.Template.Labels}
		}
	}
	t.Fatalf("%s: no pods named %s", s.source, name)
	return endpoint{}
}

// allowed evaluates the NetworkPolicies as the API defines them: a pod
// selected by a policy of a direction is isolated in that direction and
// admits only what some rule of those policies allows; a connection needs
// the source's egress and the destination's ingress.
func (s *stack) allowed(t *testing.T, src, dst endpoint, port int32, proto corev1.Protocol) bool {
	t.Helper()
	if src.namespace == stackNamespace && !s.admits(t, networkingv1.PolicyTypeEgress, src, dst, port, proto) {
		return false
	}
	if dst.namespace == stackNamespace && !s.admits(t, networkingv1.PolicyTypeIngress, dst, src, port, proto) {
		return false
	}
	return true
}

// admits: for subject's policies of direction dir, does some rule let the
// peer through on port?
func (s *stack) admits(t *testing.T, dir networkingv1.PolicyType, subject, peer endpoint, port int32, proto corev1.Protocol) bool {
	isolated := false
	for _, np := range s.netpols {
		if !matchSelector(t, &np.Spec.PodSelector, subject.labels, true) || !hasPolicyType(np, dir) {
			continue
		}
		isolated = true
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range np.Spec.Ingress {
				if portsMatch(t, r.Ports, port, proto) && peersMatch(t, r.From, peer) {
					return true
				}
			}
		} else {
			for _, r := range np.Spec.Egress {
				if portsMatch(t, r.Ports, port, proto) && peersMatch(t, r.To, peer) {
					return true
				}
			}
		}
	}
	return !isolated
}

func hasPolicyType(np *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) > 0 {
		return slices.Contains(np.Spec.PolicyTypes, dir)
	}
	// The API's defaulting: Ingress always, Egress when egress rules exist.
	return dir == networkingv1.PolicyTypeIngress || len(np.Spec.Egress) > 0
}

func matchSelector(t *testing.T, sel *metav1.LabelSelector, set map[string]string, emptyMatchesAll bool) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("bad label selector %v: %v", sel, err)
	}
	if s.Empty() {
		return emptyMatchesAll
	}
	return s.Matches(labels.Set(set))
}

func portsMatch(t *testing.T, ports []networkingv1.NetworkPolicyPort, port int32, proto corev1.Protocol) bool {
	t.Helper()
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.Type == intstr.String {
			t.Fatalf("named port %q in a NetworkPolicy: the checker resolves numbers only; use the number", p.Port.StrVal)
		}
		end := p.Port.IntVal
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if port >= p.Port.IntVal && port <= end {
			return true
		}
	}
	return false
}

func peersMatch(t *testing.T, peers []networkingv1.NetworkPolicyPeer, e endpoint) bool {
	t.Helper()
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			// ipBlock is for addresses outside the cluster (pod IPs are
			// ephemeral; CNIs differ on them): only outside endpoints match.
			if !e.ip.IsValid() {
				continue
			}
			if prefix := netip.MustParsePrefix(p.IPBlock.CIDR); !prefix.Contains(e.ip) {
				continue
			}
			excluded := false
			for _, ex := range p.IPBlock.Except {
				if netip.MustParsePrefix(ex).Contains(e.ip) {
					excluded = true
				}
			}
			if !excluded {
				return true
			}
		case e.namespace == "":
			continue // pod and namespace selectors never match outside addresses
		case p.NamespaceSelector != nil:
			if matchSelector(t, p.NamespaceSelector, nsLabels[e.namespace], true) &&
				(p.PodSelector == nil || matchSelector(t, p.PodSelector, e.labels, true)) {
				return true
			}
		case p.PodSelector != nil:
			if e.namespace == stackNamespace && matchSelector(t, p.PodSelector, e.labels, true) {
				return true
			}
		}
	}
	return false
}

// reach is one connection and whether the policies must allow it.
type reach struct {
	src, dst endpoint
	port     int32
	proto    corev1.Protocol
	want     bool
}

// checkNetwork asserts who may talk to whom.
func (s *stack) checkNetwork(t *testing.T) {
	if len(s.netpols) == 0 {
		t.Fatalf("%s: no NetworkPolicies", s.source)
	}
	pod := func(name string) endpoint { return s.pod(t, name) }
	edge, public, app, mcp := pod("edge"), pod("public-svc"), pod("app-svc"), pod("mcp-svc")
	agent, engine := pod("workflow-agent"), pod("workflow-engine")
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	tests := []reach{
		// The only public entry.
		{client, edge, 8000, tcp, true},
		{client, edge, 8100, tcp, false},
		{client, public, 8081, tcp, false},
		{client, app, 8082, tcp, false},
		{client, mcp, 8083, tcp, false},
		{client, agent, 50051, tcp, false},
		// Only the edge reaches the three layers (plus the documented
		// service-to-service calls).
		{edge, public, 8081, tcp, true},
		{edge, app, 8082, tcp, true},
		{edge, mcp, 8083, tcp, true},
		{mcp, app, 8082, tcp, true},
		{public, app, 8082, tcp, true},
		{public, mcp, 8083, tcp, true},
		{engine, app, 8082, tcp, false},
		{agent, app, 8082, tcp, false},
		{app, mcp, 8083, tcp, false},
		{engine, public, 8081, tcp, false},
		{otherPod, app, 8082, tcp, false},
		{otherPod, edge, 8100, tcp, false},
		// Only app-svc and mcp-svc (and public-svc's health checks) reach the data.
		{app, managed, 5432, tcp, true},
		{app, managed, 6379, tcp, true},
		{app, managed, 4222, tcp, true},
		{mcp, managed, 5432, tcp, true},
		{mcp, managed, 6379, tcp, true},
		{public, managed, 5432, tcp, true},
		{edge, managed, 5432, tcp, false},
		{edge, managed, 6379, tcp, false},
		{engine, managed, 5432, tcp, false},
		{agent, managed, 5432, tcp, false},
		{mcp, managed, 4222, tcp, false},
		// The agent, from app-svc only (and health).
		{app, agent, 50051, tcp, true},
		{public, agent, 50051, tcp, true},
		{edge, agent, 50051, tcp, false},
		{mcp, agent, 50051, tcp, false},
		// The engine reaches NATS and public HTTP(S), not private ranges.
		{engine, managed, 4222, tcp, true},
		{engine, website, 443, tcp, true},
		{engine, managed, 443, tcp, false},
		{engine, metadata, 80, tcp, false},
		{edge, website, 443, tcp, false},
		// DNS for everyone.
		{edge, kubeDNS, 53, udp, true},
		{app, kubeDNS, 53, udp, true},
		{engine, kubeDNS, 53, tcp, true},
		// Metrics from Prometheus; public-svc reads the edge's admin port.
		{prometheus, edge, 8100, tcp, true},
		{prometheus, app, 8082, tcp, true},
		{prometheus, engine, 8084, tcp, true},
		{prometheus, agent, 8085, tcp, true},
		{public, edge, 8100, tcp, true},
		// Migrations reach PostgreSQL only.
		{pod("app-svc-migrate"), managed, 5432, tcp, true},
		{pod("app-svc-migrate"), app, 8082, tcp, false},
	}
	if _, ok := s.deployments["postgres"]; ok { // the dev overlay's in-cluster dependencies
		tests = append(tests,
			reach{app, pod("postgres"), 5432, tcp, true},
			reach{edge, pod("postgres"), 5432, tcp, false},
			reach{engine, pod("nats"), 4222, tcp, true},
		)
	}
	for _, tt := range tests {
		if got := s.allowed(t, tt.src, tt.dst, tt.port, tt.proto); got != tt.want {
			t.Errorf("%s: %s → %s:%d/%s allowed = %v, want %v", s.source, tt.src.name, tt.dst.name, tt.port, tt.proto, got, tt.want)
		}
	}
}
