package manifests

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// service is what every deployment format must agree on about one service.
type service struct {
	name      string
	port      int      // PORT: the main listener
	probePort int      // where /healthz, /readyz and /metrics answer
	secrets   []string // variables it reads from the Secret
	hpa       bool     // scaled by a HorizontalPodAutoscaler
	public    bool     // the one LoadBalancer
	// envChecked: the service has landed, so every variable a deployment
	// sets for it must be one its code (or pkg) declares. Turn it on as
	// each service lands.
	envChecked bool
}

var services = []service{
	{name: "edge", port: 8000, probePort: 8100, hpa: true, public: true, envChecked: true},
	{name: "public-svc", port: 8081, probePort: 8081, secrets: []string{"DATABASE_URL", "REDIS_URL", "NATS_URL"}, envChecked: true},
	{name: "app-svc", port: 8082, probePort: 8082, hpa: true,
		secrets: []string{"DATABASE_URL", "REDIS_URL", "NATS_URL", "SUPABASE_JWT_SECRET", "SUPABASE_ANON_KEY", "JWT_SECRET_KEY", "ENCRYPTION_KEY"}},
	{name: "mcp-svc", port: 8083, probePort: 8083, hpa: true,
		secrets: []string{"DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY", "API_SECRET_KEY", "MCP_API_KEYS"}},
	{name: "workflow-agent", port: 50051, probePort: 8085, secrets: []string{"LLM_API_KEY"}},
	{name: "workflow-engine", port: 8084, probePort: 8084, secrets: []string{"NATS_URL", "ENCRYPTION_KEY"}},
}

// secretName is the existing Secret every format references.
const secretName = "workflow-gateway"

// isSecretVar names the variables that may only come from a Secret.
func isSecretVar(name string) bool {
	switch name {
	case "DATABASE_URL", "REDIS_URL", "NATS_URL", "MCP_API_KEYS", "SUPABASE_ANON_KEY", "POSTGRES_PASSWORD":
		return true
	}
	return strings.HasSuffix(name, "_SECRET") || strings.HasSuffix(name, "_API_KEY") || strings.HasSuffix(name, "_SECRET_KEY") ||
		strings.HasSuffix(name, "_PASSWORD") || name == "ENCRYPTION_KEY"
}

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	return root
}

var (
	knownEnvOnce sync.Once
	knownEnv     map[string]map[string]bool // service → variables its code (and pkg) declares
	envTag       = regexp.MustCompile(`env:"([A-Z][A-Z0-9_]*)`)
)

// declaredEnv returns the variables the service's code reads (env struct
// tags in the service and in pkg), or nil when the service is not checked
// yet (envChecked false).
func declaredEnv(t *testing.T, svc string) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	knownEnvOnce.Do(func() {
		knownEnv = map[string]map[string]bool{}
		scan := func(dir string, into map[string]bool) {
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
					return nil
				}
				src, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				for _, m := range envTag.FindAllSubmatch(src, -1) {
					into[string(m[1])] = true
				}
				return nil
			})
		}
		shared := map[string]bool{}
		scan(filepath.Join(root, "pkg"), shared)
		for _, s := range services {
			if !s.envChecked {
				continue
			}
			own := map[string]bool{}
			for k := range shared {
				own[k] = true
			}
			scan(filepath.Join(root, "services", s.name), own)
			knownEnv[s.name] = own
		}
	})
	return knownEnv[svc]
}

// stack is one rendering (a kustomize overlay or a Helm release), decoded.
type stack struct {
	source      string
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs        map[string]*policyv1.PodDisruptionBudget
	jobs        map[string]*batchv1.Job
	ingresses   map[string]*networkingv1.Ingress
	netpols     []*networkingv1.NetworkPolicy
	secrets     []string
	count       int
}

// decodeStack decodes every document strictly; any failure fails t.
func decodeStack(t *testing.T, source string, docs [][]byte) *stack {
	t.Helper()
	s := &stack{
		source:      source,
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, jobs: map[string]*batchv1.Job{},
		ingresses: map[string]*networkingv1.Ingress{},
	}
	for i, doc := range docs {
		obj, err := decodeStrict(doc)
		if err != nil {
			t.Errorf("%s: document %d does not decode strictly: %v\n%s", source, i, err, doc)
			continue
		}
		s.count++
		switch o := obj.(type) {
		case *appsv1.Deployment:
			s.deployments[o.Name] = o
		case *corev1.Service:
			s.services[o.Name] = o
		case *corev1.ConfigMap:
			s.configMaps[o.Name] = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			s.hpas[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			s.pdbs[o.Name] = o
		case *batchv1.Job:
			s.jobs[o.Name] = o
		case *networkingv1.Ingress:
			s.ingresses[o.Name] = o
		case *networkingv1.NetworkPolicy:
			s.netpols = append(s.netpols, o)
		case *corev1.Secret:
			s.secrets = append(s.secrets, o.Name)
		}
	}
	if s.count == 0 {
		t.Fatalf("%s rendered no objects", source)
	}
	return s
}

// env resolves a container's environment: envFrom ConfigMaps, then env
// values; secret references are returned apart, keyed by variable. Every
// variable written in clear (ConfigMap or literal), even one a secret
// reference overrides, is reported to fail as a leaked secret.
func (s *stack) env(t *testing.T, where string, c corev1.Container) (plain map[string]string, secret map[string]*corev1.SecretKeySelector) {
	t.Helper()
	plain, secret = map[string]string{}, map[string]*corev1.SecretKeySelector{}
	defer func() {
		for name := range plain {
			if isSecretVar(name) {
				t.Errorf("%s: %s is written in clear (ConfigMap or literal value); it belongs in the Secret", where, name)
			}
		}
	}()
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := s.configMaps[from.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %q is not part of the rendering", where, from.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				plain[from.Prefix+k] = v
			}
		case from.SecretRef != nil:
			t.Errorf("%s: envFrom a whole Secret: reference the keys it needs with secretKeyRef", where)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			plain[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			secret[e.Name] = e.ValueFrom.SecretKeyRef
		case e.ValueFrom.ConfigMapKeyRef != nil:
			cm := s.configMaps[e.ValueFrom.ConfigMapKeyRef.Name]
			if cm == nil {
				t.Errorf("%s: %s refers to missing ConfigMap %q", where, e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
				continue
			}
			plain[e.Name] = cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]
		}
	}
	return plain, secret
}

// containerPort resolves a probe or Service target port against a container.
func containerPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

func selects(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// checkContract asserts what every rendering of the whole stack must give.
func (s *stack) checkContract(t *testing.T) {
	t.Helper()
	if len(s.secrets) != 0 {
		t.Errorf("%s renders Secret objects %v: secrets are referenced, never committed", s.source, s.secrets)
	}
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) { s.checkService(t, svc) })
	}
	t.Run("services", s.checkServices)
	t.Run("migration", s.checkMigration)
	t.Run("network", s.checkNetwork)
}

func (s *stack) checkService(t *testing.T, svc service) {
	d, ok := s.deployments[svc.name]
	if !ok {
		t.Fatalf("%s: no Deployment %q", s.source, svc.name)
	}
	where := s.source + " Deployment/" + svc.name
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", where, len(pod.Containers))
	}
	c := pod.Containers[0]
	if !strings.Contains(c.Image, "/"+svc.name+":") {
		t.Errorf("%s: image %q is not the %s image", where, c.Image, svc.name)
	}
	if !selects(d.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("%s: selector %v does not select its own pods %v", where, d.Spec.Selector, d.Spec.Template.Labels)
	}

	// Security: non-root, read-only root filesystem, no capabilities.
	psc, csc := pod.SecurityContext, c.SecurityContext
	nonRoot := (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot) || (csc != nil && csc.RunAsNonRoot != nil && *csc.RunAsNonRoot)
	if !nonRoot {
		t.Errorf("%s: runAsNonRoot not set", where)
	}
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem not true", where)
	}
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation not false", where)
	}
	if csc == nil || csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Errorf("%s: capabilities do not drop ALL", where)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted; no service calls the Kubernetes API", where)
	}

	// Resources.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
			t.Errorf("%s: no %s request", where, r)
		}
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
		t.Errorf("%s: no memory limit", where)
	}

	// Probes on the probe port.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", where, p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: %s probe path %q, want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
		}
		if port, ok := containerPort(c, p.probe.HTTPGet.Port); !ok || int(port) != svc.probePort {
			t.Errorf("%s: %s probe port %s resolves to %d, want %d", where, p.name, p.probe.HTTPGet.Port.String(), port, svc.probePort)
		}
	}

	// Configuration.
	plain, secret := s.env(t, where, c)
	if plain["PORT"] != strconv.Itoa(svc.port) {
		t.Errorf("%s: PORT=%q, want %d", where, plain["PORT"], svc.port)
	}
	if _, ok := containerPort(c, intstr.FromInt32(int32(svc.port))); !ok {
		t.Errorf("%s: PORT %d is not a declared containerPort", where, svc.port)
	}
	if svc.probePort != svc.port && plain["ADMIN_PORT"] != strconv.Itoa(svc.probePort) {
		t.Errorf("%s: ADMIN_PORT=%q, want %d", where, plain["ADMIN_PORT"], svc.probePort)
	}
	if plain["HOST"] != "0.0.0.0" {
		t.Errorf("%s: HOST=%q: the services listen on 127.0.0.1 unless told 0.0.0.0", where, plain["HOST"])
	}
	for _, want := range svc.secrets {
		ref, ok := secret[want]
		if !ok {
			t.Errorf("%s: %s is not taken from the Secret", where, want)
			continue
		}
		if ref.Name != secretName || ref.Key != want {
			t.Errorf("%s: %s from secret %s/%s, want %s/%s", where, want, ref.Name, ref.Key, secretName, want)
		}
	}
	for name := range secret {
		if !slices.Contains(svc.secrets, name) {
			t.Errorf("%s: takes %s from the Secret but does not use it", where, name)
		}
	}
	if known := declaredEnv(t, svc.name); known != nil {
		for name := range plain {
			if !known[name] && !strings.HasPrefix(name, "OTEL_") {
				t.Errorf("%s: %s is set but services/%s (and pkg) declare no such variable", where, name, svc.name)
			}
		}
	}
	s.checkURLs(t, where, plain)

	// Graceful shutdown: preStop pause, then SHUTDOWN_TIMEOUT, inside the grace period.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Errorf("%s: no preStop sleep (the image has no shell: use the sleep action)", where)
	} else {
		timeout, err := time.ParseDuration(plain["SHUTDOWN_TIMEOUT"])
		if err != nil {
			t.Errorf("%s: SHUTDOWN_TIMEOUT=%q: %v", where, plain["SHUTDOWN_TIMEOUT"], err)
		}
		drain, err := time.ParseDuration(plain["SHUTDOWN_DRAIN_DELAY"])
		if err != nil || drain <= 0 || drain >= timeout {
			t.Errorf("%s: SHUTDOWN_DRAIN_DELAY=%q must be a positive duration below SHUTDOWN_TIMEOUT", where, plain["SHUTDOWN_DRAIN_DELAY"])
		}
		need := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + timeout
		var grace time.Duration // unset = the API's default of 30 s
		if g := pod.TerminationGracePeriodSeconds; g != nil {
			grace = time.Duration(*g) * time.Second
		}
		if grace <= need {
			t.Errorf("%s: terminationGracePeriodSeconds=%s does not exceed preStop %ds + SHUTDOWN_TIMEOUT %s",
				where, grace, c.Lifecycle.PreStop.Sleep.Seconds, timeout)
		}
	}

	// Autoscaling and disruption budget.
	hpa, hasHPA := s.hpas[svc.name]
	if hasHPA != svc.hpa {
		t.Errorf("%s: HPA present = %v, want %v", where, hasHPA, svc.hpa)
	}
	if hasHPA {
		ref := hpa.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || ref.Name != svc.name || ref.APIVersion != "apps/v1" {
			t.Errorf("%s: HPA targets %s %s/%s", where, ref.APIVersion, ref.Kind, ref.Name)
		}
		if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 1 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
			t.Errorf("%s: HPA bounds min=%v max=%d", where, hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
		}
		if d.Spec.Replicas != nil {
			t.Errorf("%s: replicas=%d set beside an HPA: every apply would reset the autoscaler's count", where, *d.Spec.Replicas)
		}
	}
	pdb, ok := s.pdbs[svc.name]
	if !ok {
		t.Errorf("%s: no PodDisruptionBudget", where)
	} else if !selects(pdb.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("%s: PDB selector %v misses the pods", where, pdb.Spec.Selector)
	}
}

// checkURLs resolves every in-cluster address a service is configured with
// to a Service of the stack, a port of it, and a container port behind it.
func (s *stack) checkURLs(t *testing.T, where string, env map[string]string) {
	t.Helper()
	type target struct{ host, port string }
	var targets []target
	for _, name := range []string{"PUBLIC_SVC_URL", "APP_SVC_URL", "MCP_SVC_URL", "EDGE_ADMIN_URL"} {
		raw, ok := env[name]
		if !ok {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || u.Port() == "" {
			t.Errorf("%s: %s=%q: want http://service:port", where, name, raw)
			continue
		}
		targets = append(targets, target{u.Hostname(), u.Port()})
	}
	if host, ok := env["WORKFLOW_SERVICE_HOST"]; ok {
		targets = append(targets, target{host, env["WORKFLOW_SERVICE_PORT"]})
	}
	for _, tg := range targets {
		svc, ok := s.services[tg.host]
		if !ok {
			t.Errorf("%s: points at %s:%s, but there is no Service %q", where, tg.host, tg.port, tg.host)
			continue
		}
		found := false
		for _, p := range svc.Spec.Ports {
			if strconv.Itoa(int(p.Port)) == tg.port {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: points at %s:%s, but Service %s has no port %s", where, tg.host, tg.port, tg.host, tg.port)
		}
	}
}

// checkServices: each Service selects one Deployment's pods on a declared
// port; the edge alone is public.
func (s *stack) checkServices(t *testing.T) {
	for name, svc := range s.services {
		var target *appsv1.Deployment
		for _, d := range s.deployments {
			if selects(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector}, d.Spec.Template.Labels) {
				if target != nil {
					t.Errorf("%s Service/%s selects the pods of %s and %s", s.source, name, target.Name, d.Name)
				}
				target = d
			}
		}
		if target == nil {
			t.Errorf("%s Service/%s selects no Deployment's pods (%v)", s.source, name, svc.Spec.Selector)
			continue
		}
		for _, p := range svc.Spec.Ports {
			if _, ok := containerPort(target.Spec.Template.Spec.Containers[0], p.TargetPort); !ok {
				t.Errorf("%s Service/%s port %d targets %s, not a port of %s", s.source, name, p.Port, p.TargetPort.String(), target.Name)
			}
		}
		public := svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort
		if public != (name == "edge") {
			t.Errorf("%s Service/%s has type %q: only the edge is public (LoadBalancer), the rest ClusterIP", s.source, name, svc.Spec.Type)
		}
		if name == "edge" {
			for _, p := range svc.Spec.Ports {
				if port, _ := containerPort(target.Spec.Template.Spec.Containers[0], p.TargetPort); port != 8000 {
					t.Errorf("%s: the public edge Service exposes container port %d; only 8000 (probes and metrics stay private)", s.source, port)
				}
			}
		}
	}
	for _, want := range []string{"edge", "public-svc", "app-svc", "mcp-svc", "workflow-agent"} {
		if _, ok := s.services[want]; !ok {
			t.Errorf("%s: no Service %q", s.source, want)
		}
	}
}

func (s *stack) checkMigration(t *testing.T) {
	var job *batchv1.Job
	for _, j := range s.jobs {
		if strings.Contains(j.Spec.Template.Spec.Containers[0].Image, "/app-svc:") {
			job = j
		}
	}
	if job == nil {
		t.Fatalf("%s: no Job running the app-svc image (migrations)", s.source)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"migrate"}) && !slices.Equal(c.Command, []string{"app-svc", "migrate"}) {
		t.Errorf("%s Job/%s: args %v, want [migrate]", s.source, job.Name, c.Args)
	}
	if app := s.deployments["app-svc"]; app != nil && c.Image != app.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("%s Job/%s runs %s, app-svc runs %s: migrations must match the code", s.source, job.Name, c.Image, app.Spec.Template.Spec.Containers[0].Image)
	}
	if rp := job.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		t.Errorf("%s Job/%s: restartPolicy %q", s.source, job.Name, rp)
	}
	_, secret := s.env(t, "Job/"+job.Name, c)
	if ref := secret["DATABASE_URL"]; ref == nil || ref.Name != secretName {
		t.Errorf("%s Job/%s: DATABASE_URL not from Secret %s", s.source, job.Name, secretName)
	}
	if csc := c.SecurityContext; csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Errorf("%s Job/%s: readOnlyRootFilesystem not true", s.source, job.Name)
	}
}

func (s *stack) String() string { return fmt.Sprintf("%s (%d objects)", s.source, s.count) }
