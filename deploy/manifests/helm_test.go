package manifests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// helmInstall is the pinned helm; CI installs it with `make tools`.
const helmInstall = "go install helm.sh/helm/v3/cmd/helm@v3.22.0"

const umbrella = "helm/workflow-gateway"

// helm runs the helm binary from the repository root with its own
// throw-away config, cache and data directories.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("helm")
	if err != nil {
		t.Fatalf("helm is not on PATH: install it with `%s` and put $(go env GOPATH)/bin on PATH (`make tools` does both)", helmInstall)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// helmTemplate renders a chart into the test namespace and decodes it strictly.
func helmTemplate(t *testing.T, release, chart string, set ...string) *stack {
	t.Helper()
	args := []string{"template", release, chart, "--namespace", stackNamespace}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	docs, err := splitYAML([]byte(out))
	if err != nil {
		t.Fatalf("helm template %s: %v", chart, err)
	}
	return decodeStack(t, "helm template "+chart+" "+strings.Join(set, " "), docs)
}

func subcharts() []string {
	var out []string
	for _, s := range services {
		out = append(out, umbrella+"/charts/"+s.name)
	}
	return out
}

func TestHelmLint(t *testing.T) {
	t.Parallel()
	args := append([]string{"lint", "--strict", umbrella}, subcharts()...)
	if out, err := helm(t, args...); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// The umbrella with its defaults is the whole stack.
func TestHelmUmbrella(t *testing.T) {
	t.Parallel()
	s := helmTemplate(t, "wfgw", umbrella)
	s.checkContract(t)
}

// Each subchart installs alone; six separate releases in one namespace
// make the same working stack as the umbrella.
func TestHelmSubchartsAlone(t *testing.T) {
	t.Parallel()
	all := &stack{source: "six separate releases"}
	var docs [][]byte
	for _, svc := range services {
		chart := umbrella + "/charts/" + svc.name
		out, err := helm(t, "template", svc.name, chart, "--namespace", stackNamespace)
		if err != nil {
			t.Fatalf("helm template %s: %v\n%s", chart, err, out)
		}
		d, err := splitYAML([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		alone := decodeStack(t, chart, d)
		if _, ok := alone.deployments[svc.name]; !ok || len(alone.deployments) != 1 {
			t.Errorf("%s renders Deployments %v, want only %s", chart, keys(alone.deployments), svc.name)
		}
		docs = append(docs, d...)
	}
	all = decodeStack(t, all.source, docs)
	all.checkContract(t)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The umbrella's switches and shared values reach the subcharts.
func TestHelmValues(t *testing.T) {
	t.Parallel()
	t.Run("layer switched off", func(t *testing.T) {
		s := helmTemplate(t, "wfgw", umbrella, "app-svc.enabled=false")
		if _, ok := s.deployments["app-svc"]; ok {
			t.Error("app-svc.enabled=false still renders app-svc")
		}
		if len(s.jobs) != 0 {
			t.Error("app-svc.enabled=false still renders the migration Job")
		}
		if len(s.deployments) != len(services)-1 {
			t.Errorf("Deployments %v, want the other five", keys(s.deployments))
		}
	})
	t.Run("global image and secret", func(t *testing.T) {
		s := helmTemplate(t, "wfgw", umbrella, "global.image.registry=registry.example.com/wf", "global.image.tag=1.2.3", "global.existingSecret=gw-secrets")
		for _, svc := range services {
			d := s.deployments[svc.name]
			if got, want := d.Spec.Template.Spec.Containers[0].Image, "registry.example.com/wf/"+svc.name+":1.2.3"; got != want {
				t.Errorf("%s image %s, want %s", svc.name, got, want)
			}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if ref := e.ValueFrom.SecretKeyRef; ref != nil && ref.Name != "gw-secrets" {
					t.Errorf("%s: %s from secret %s, want gw-secrets", svc.name, e.Name, ref.Name)
				}
			}
		}
	})
	t.Run("global env below the chart's env", func(t *testing.T) {
		s := helmTemplate(t, "wfgw", umbrella, "global.env.LOG_LEVEL=DEBUG", "app-svc.env.LOG_LEVEL=WARNING")
		if got := s.configMaps["edge"].Data["LOG_LEVEL"]; got != "DEBUG" {
			t.Errorf("edge LOG_LEVEL=%q, want the global DEBUG", got)
		}
		if got := s.configMaps["app-svc"].Data["LOG_LEVEL"]; got != "WARNING" {
			t.Errorf("app-svc LOG_LEVEL=%q, want its own WARNING", got)
		}
	})
	t.Run("app-svc scaled alone", func(t *testing.T) {
		s := helmTemplate(t, "wfgw", umbrella, "app-svc.hpa.maxReplicas=40")
		if s.hpas["app-svc"].Spec.MaxReplicas != 40 || s.hpas["mcp-svc"].Spec.MaxReplicas == 40 || s.hpas["edge"].Spec.MaxReplicas == 40 {
			t.Error("app-svc.hpa.maxReplicas must change app-svc's HPA only")
		}
	})
	t.Run("fixed replicas without HPA", func(t *testing.T) {
		s := helmTemplate(t, "app-svc", umbrella+"/charts/app-svc", "hpa.enabled=false", "replicaCount=4")
		if _, ok := s.hpas["app-svc"]; ok {
			t.Error("hpa.enabled=false still renders the HPA")
		}
		if r := s.deployments["app-svc"].Spec.Replicas; r == nil || *r != 4 {
			t.Errorf("replicas = %v, want 4", r)
		}
	})
	t.Run("edge ingress", func(t *testing.T) {
		s := helmTemplate(t, "edge", umbrella+"/charts/edge", "ingress.enabled=true", "ingress.className=nginx",
			"ingress.hosts[0].host=api.example.org", "ingress.hosts[0].paths[0].path=/", "ingress.tls[0].secretName=api-tls", "ingress.tls[0].hosts[0]=api.example.org",
			"service.type=ClusterIP")
		ing, ok := s.ingresses["edge"]
		if !ok {
			t.Fatal("no Ingress rendered")
		}
		if *ing.Spec.IngressClassName != "nginx" || ing.Spec.Rules[0].Host != "api.example.org" || len(ing.Spec.TLS) != 1 {
			t.Errorf("ingress = %+v", ing.Spec)
		}
		backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
		svc, ok := s.services[backend.Name]
		if !ok || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == backend.Port.Name }) {
			t.Errorf("ingress backend %s:%s is not a Service port", backend.Name, backend.Port.Name)
		}
		if svc.Spec.Type != "ClusterIP" {
			t.Errorf("service.type=ClusterIP gave %s", svc.Spec.Type)
		}
	})
}

// values.schema.json refuses what would deploy something broken.
func TestHelmSchemaRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, chart, set, want string
	}{
		{"typo in a key", umbrella + "/charts/app-svc", "hpa.enabeld=true", "enabeld"},
		{"negative replicas", umbrella + "/charts/public-svc", "replicaCount=-1", "replicaCount"},
		{"unknown service type", umbrella + "/charts/edge", "service.type=Public", "type"},
		{"env value not a string", umbrella + "/charts/mcp-svc", "env.PORT=8083", "PORT"},
		{"bad pull policy", umbrella + "/charts/workflow-engine", "image.pullPolicy=Sometimes", "pullPolicy"},
		{"umbrella: unknown key", umbrella, "edgee.enabled=true", "edgee"},
		{"umbrella: switch not a boolean", umbrella, "mcp-svc.enabled=maybe", "enabled"},
		{"umbrella: subchart schema applies", umbrella, "app-svc.replicaCount=-2", "replicaCount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := helm(t, "template", "x", tt.chart, "--set", tt.set)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("--set %s: err=%v, want a schema error naming %q:\n%s", tt.set, err, tt.want, out)
			}
		})
	}
}

// The subcharts share one set of templates and one schema (duplicated so
// each installs alone): they must not drift apart.
func TestHelmSubchartsShareTemplates(t *testing.T) {
	root := repoRoot(t)
	ref := filepath.Join(root, umbrella, "charts", services[0].name)
	files := []string{"values.schema.json"}
	tpls, err := filepath.Glob(filepath.Join(ref, "templates", "*"))
	if err != nil || len(tpls) < 8 {
		t.Fatalf("templates of %s: %v %v", ref, tpls, err)
	}
	for _, f := range tpls {
		files = append(files, filepath.Join("templates", filepath.Base(f)))
	}
	for _, svc := range services[1:] {
		dir := filepath.Join(root, umbrella, "charts", svc.name)
		got, _ := filepath.Glob(filepath.Join(dir, "templates", "*"))
		if len(got) != len(tpls) {
			t.Errorf("%s has %d templates, %s has %d", svc.name, len(got), services[0].name, len(tpls))
		}
		for _, f := range files {
			a, errA := os.ReadFile(filepath.Join(ref, f))
			b, errB := os.ReadFile(filepath.Join(dir, f))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("charts/%s/%s differs from charts/%s/%s (edit one, copy to all)", svc.name, f, services[0].name, f)
			}
		}
	}
}
