package manifests

import (
	"context"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
)

// The dependencies docker-compose.yml runs beside the services.
var composeInfra = []string{"postgres", "redis", "nats"}

// requiredComposeVars must be set (${VAR:?…}): compose refuses to start
// without them instead of running with empty secrets.
var requiredComposeVars = []string{"POSTGRES_PASSWORD", "SUPABASE_JWT_SECRET", "JWT_SECRET_KEY", "ENCRYPTION_KEY", "API_SECRET_KEY"}

func readEnvExample(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.Read(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatalf(".env.example: %v", err)
	}
	return env
}

// loadCompose loads docker-compose.yml as `docker compose` would with the
// given .env contents and nothing from this process's environment.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(environ))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// Every ${VAR} the compose file uses is documented in .env.example, every
// entry of .env.example is used, and secrets there are placeholders.
func TestComposeVariables(t *testing.T) {
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithInterpolation(false), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := opts.LoadModel(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	used := template.ExtractVariables(raw, template.DefaultPattern)
	example := readEnvExample(t)
	if len(used) < 10 {
		t.Fatalf("only %d variables found in docker-compose.yml: the extraction is broken", len(used))
	}
	for _, name := range slices.Sorted(maps.Keys(used)) {
		if _, ok := example[name]; !ok {
			t.Errorf("docker-compose.yml uses ${%s}, which .env.example does not list", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(example)) {
		if _, ok := used[name]; !ok {
			t.Errorf(".env.example lists %s, which docker-compose.yml never uses", name)
		}
		if v := example[name]; (isSecretVar(name) || strings.HasSuffix(name, "_KEY")) && v != "" && !strings.HasPrefix(v, "change-me") {
			t.Errorf(".env.example: %s=%q: secrets are empty or change-me placeholders", name, v)
		}
	}
	for _, name := range requiredComposeVars {
		if !used[name].Required {
			t.Errorf("${%s} is not required (${%s:?message}): compose would start with an empty secret", name, name)
		}
	}
}

// Without a required secret compose refuses to load, naming it.
func TestComposeRefusesMissingSecrets(t *testing.T) {
	for _, name := range requiredComposeVars {
		t.Run(name, func(t *testing.T) {
			env := readEnvExample(t)
			delete(env, name)
			_, err := loadCompose(t, env)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("load without %s = %v, want an error naming it", name, err)
			}
		})
	}
}

func TestCompose(t *testing.T) {
	root := repoRoot(t)
	p, err := loadCompose(t, readEnvExample(t))
	if err != nil {
		t.Fatalf("docker-compose.yml with .env.example: %v", err)
	}
	want := append([]string{"migrate"}, composeInfra...)
	for _, s := range services {
		want = append(want, s.name)
	}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("services = %v, want %v", got, slices.Sorted(slices.Values(want)))
	}

	for _, spec := range services {
		t.Run(spec.name, func(t *testing.T) { checkComposeService(t, root, p, spec) })
	}

	t.Run("migrate", func(t *testing.T) {
		m, app := p.Services["migrate"], p.Services["app-svc"]
		if !slices.Equal([]string(m.Command), []string{"migrate"}) {
			t.Errorf("migrate command = %v, want [migrate]", m.Command)
		}
		if m.Image != app.Image || m.Build == nil || *m.Build.Args["SERVICE"] != "app-svc" {
			t.Errorf("migrate runs %s (build %v), app-svc runs %s: the migrations must come from the same image", m.Image, m.Build, app.Image)
		}
		if m.Restart != "no" {
			t.Errorf("migrate restart = %q: a one-shot must not restart", m.Restart)
		}
		checkComposeURL(t, p, "migrate", "DATABASE_URL", m.Environment)
		if dep, ok := m.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("migrate must wait for a healthy postgres: %v", m.DependsOn)
		}
	})

	t.Run("infrastructure", func(t *testing.T) {
		for _, name := range composeInfra {
			if s := p.Services[name]; s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
				t.Errorf("%s has no healthcheck", name)
			}
		}
		if cmd := p.Services["nats"].Command; !slices.Contains([]string(cmd), "-js") {
			t.Errorf("nats command %v lacks -js (JetStream)", cmd)
		}
	})

	t.Run("dependencies", func(t *testing.T) {
		for name, s := range p.Services {
			for target, dep := range s.DependsOn {
				ts, ok := p.Services[target]
				if !ok {
					t.Errorf("%s depends on %s, which is not a service", name, target)
					continue
				}
				switch dep.Condition {
				case types.ServiceConditionHealthy:
					if ts.HealthCheck == nil || ts.HealthCheck.Disable {
						t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, target, target)
					}
				case types.ServiceConditionCompletedSuccessfully:
					if ts.Restart != "no" {
						t.Errorf("%s waits for %s to complete, but %s restarts (%q)", name, target, target, ts.Restart)
					}
				default:
					if target != "workflow-agent" {
						t.Errorf("%s → %s: condition %q, want service_healthy or service_completed_successfully", name, target, dep.Condition)
					}
				}
			}
		}
		for _, need := range []struct{ from, to, cond string }{
			{"app-svc", "migrate", types.ServiceConditionCompletedSuccessfully},
			{"mcp-svc", "migrate", types.ServiceConditionCompletedSuccessfully},
			{"edge", "public-svc", types.ServiceConditionHealthy},
			{"edge", "app-svc", types.ServiceConditionHealthy},
			{"edge", "mcp-svc", types.ServiceConditionHealthy},
			{"workflow-engine", "nats", types.ServiceConditionHealthy},
		} {
			if dep, ok := p.Services[need.from].DependsOn[need.to]; !ok || dep.Condition != need.cond {
				t.Errorf("%s must depend on %s with %s (got %+v)", need.from, need.to, need.cond, dep)
			}
		}
	})

	t.Run("published ports", func(t *testing.T) {
		for name, s := range p.Services {
			if name != "edge" && len(s.Ports) > 0 {
				t.Errorf("%s publishes %v: only the edge is reachable from the host", name, s.Ports)
			}
		}
		ports := p.Services["edge"].Ports
		if len(ports) != 1 || ports[0].Target != 8000 || ports[0].Published != "8000" {
			t.Errorf("edge ports = %+v, want 8000:8000", ports)
		}
	})
}

func checkComposeService(t *testing.T, root string, p *types.Project, spec service) {
	s := p.Services[spec.name]
	// Build: the repository root, the shared Dockerfile, SERVICE naming a module.
	if s.Build == nil {
		t.Fatalf("%s has no build section", spec.name)
	}
	if s.Build.Context != root {
		t.Errorf("%s build context %s, want the repository root %s", spec.name, s.Build.Context, root)
	}
	if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
		t.Errorf("%s: Dockerfile: %v", spec.name, err)
	}
	if v := s.Build.Args["VERSION"]; v == nil || *v != "dev" {
		t.Errorf("%s: build arg VERSION = %v, want ${IMAGE_TAG} (dev)", spec.name, v)
	}
	arg := s.Build.Args["SERVICE"]
	if arg == nil || *arg != spec.name {
		t.Errorf("%s: build arg SERVICE = %v, want %s", spec.name, arg, spec.name)
	} else if _, err := os.Stat(filepath.Join(root, "services", *arg, "go.mod")); err != nil {
		t.Errorf("%s: SERVICE=%s names no module: %v", spec.name, *arg, err)
	}
	if !strings.HasSuffix(s.Image, "/"+spec.name+":dev") {
		t.Errorf("%s: image %q, want <registry>/%s:<IMAGE_TAG>", spec.name, s.Image, spec.name)
	}

	// Hardening and shutdown.
	if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("%s: read_only=%v cap_drop=%v security_opt=%v, want read-only, ALL dropped, no-new-privileges", spec.name, s.ReadOnly, s.CapDrop, s.SecurityOpt)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	timeout, err := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Errorf("%s: SHUTDOWN_TIMEOUT=%q: %v", spec.name, env["SHUTDOWN_TIMEOUT"], err)
	}
	if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= timeout {
		t.Errorf("%s: stop_grace_period %v must exceed SHUTDOWN_TIMEOUT %s, or SIGKILL cuts the drain", spec.name, s.StopGracePeriod, timeout)
	}

	// Listeners and probes.
	if env["PORT"] != strconv.Itoa(spec.port) || env["HOST"] != "0.0.0.0" {
		t.Errorf("%s: PORT=%q HOST=%q, want %d and 0.0.0.0", spec.name, env["PORT"], env["HOST"], spec.port)
	}
	if spec.probePort != spec.port && env["ADMIN_PORT"] != strconv.Itoa(spec.probePort) {
		t.Errorf("%s: ADMIN_PORT=%q, want %d", spec.name, env["ADMIN_PORT"], spec.probePort)
	}
	wantHC := []string{"CMD", "/usr/local/bin/healthcheck", "http://127.0.0.1:" + strconv.Itoa(spec.probePort) + "/readyz"}
	if s.HealthCheck == nil || !slices.Equal([]string(s.HealthCheck.Test), wantHC) {
		t.Errorf("%s: healthcheck %v, want %v", spec.name, s.HealthCheck, wantHC)
	}

	// Configuration: secrets exactly as needed, names the code knows,
	// addresses that resolve to services of this file.
	for _, name := range spec.secrets {
		if _, ok := env[name]; !ok {
			t.Errorf("%s: %s is not set", spec.name, name)
		}
	}
	known := declaredEnv(t, spec.name)
	for name := range env {
		if isSecretVar(name) && !slices.Contains(spec.secrets, name) {
			t.Errorf("%s gets %s, which it does not use", spec.name, name)
		}
		if known != nil && !known[name] && !strings.HasPrefix(name, "OTEL_") {
			t.Errorf("%s: %s is set but services/%s (and pkg) declare no such variable", spec.name, name, spec.name)
		}
	}
	for _, name := range []string{"PUBLIC_SVC_URL", "APP_SVC_URL", "MCP_SVC_URL", "EDGE_ADMIN_URL", "DATABASE_URL", "REDIS_URL", "NATS_URL"} {
		if _, ok := env[name]; ok {
			checkComposeURL(t, p, spec.name, name, s.Environment)
		}
	}
	if host, ok := env["WORKFLOW_SERVICE_HOST"]; ok {
		agent, found := p.Services[host]
		if !found || agent.Environment["PORT"] == nil || *agent.Environment["PORT"] != env["WORKFLOW_SERVICE_PORT"] {
			t.Errorf("%s: WORKFLOW_SERVICE_HOST/PORT %s:%s is not a service's listener", spec.name, host, env["WORKFLOW_SERVICE_PORT"])
		}
	}
}

// composePorts are what the infrastructure images listen on.
var composePorts = map[string]string{"postgres": "5432", "redis": "6379", "nats": "4222"}

// checkComposeURL resolves an address setting to a service of the file and
// the port that service listens on (its PORT or ADMIN_PORT).
func checkComposeURL(t *testing.T, p *types.Project, from, name string, env types.MappingWithEquals) {
	t.Helper()
	raw := env[name]
	if raw == nil {
		t.Errorf("%s: %s unset", from, name)
		return
	}
	u, err := url.Parse(*raw)
	if err != nil || u.Port() == "" {
		t.Errorf("%s: %s=%q: want scheme://service:port", from, name, *raw)
		return
	}
	target, ok := p.Services[u.Hostname()]
	if !ok {
		t.Errorf("%s: %s points at %q, which is not a service", from, name, u.Hostname())
		return
	}
	listens := []string{composePorts[u.Hostname()]}
	for _, k := range []string{"PORT", "ADMIN_PORT"} {
		if v := target.Environment[k]; v != nil {
			listens = append(listens, *v)
		}
	}
	if !slices.Contains(listens, u.Port()) {
		t.Errorf("%s: %s port %s, but %s listens on %v", from, name, u.Port(), u.Hostname(), listens)
	}
}

// Every service module in services/ is deployed.
func TestEveryServiceDeployed(t *testing.T) {
	mods, err := filepath.Glob(filepath.Join(repoRoot(t), "services", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs, names []string
	for _, m := range mods {
		dirs = append(dirs, filepath.Base(filepath.Dir(m)))
	}
	for _, s := range services {
		names = append(names, s.name)
	}
	slices.Sort(dirs)
	slices.Sort(names)
	if !slices.Equal(dirs, names) {
		t.Fatalf("services/ holds %v, the deployment files cover %v", dirs, names)
	}
}

// The image build: what the Dockerfile copies exists and survives
// .dockerignore; the build is static, trimmed, workspace-free and non-root.
func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "deploy", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(src)
	for _, want := range []string{"GOWORK=off", "CGO_ENABLED=0", "-trimpath", "USER 65532:65532", "FROM gcr.io/distroless/static", "COPY pkg/ pkg/", "COPY proto/ proto/", "COPY services/${SERVICE}/ services/${SERVICE}/", `ENTRYPOINT ["/usr/local/bin/service"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	ignore := readDockerignore(t, filepath.Join(root, ".dockerignore"))
	needed := []string{"pkg/go.mod", "pkg/go.sum", "pkg/config/config.go", "proto/go.mod", "proto/go.sum", "deploy/docker/healthcheck/main.go"}
	for _, s := range services {
		needed = append(needed, "services/"+s.name+"/go.mod")
	}
	for _, f := range needed {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the image build copies %s: %v", f, err)
		}
		if ignore.excludes(f) {
			t.Errorf(".dockerignore excludes %s, which the build needs", f)
		}
	}
	for _, f := range []string{".git/config", "bin/edge", ".env", "docs/deploy.md", "pkg/config/config_test.go", "k8s/base/kustomization.yaml"} {
		if !ignore.excludes(f) {
			t.Errorf(".dockerignore sends %s to the build", f)
		}
	}
}

type dockerignore []string

func readDockerignore(t *testing.T, file string) dockerignore {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rules dockerignore
	for line := range strings.Lines(string(src)) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			rules = append(rules, l)
		}
	}
	return rules
}

// excludes applies the rules as Docker does for these simple patterns: the
// last matching rule wins, a pattern matches a path or any of its parent
// directories, and **/ matches at any depth.
func (d dockerignore) excludes(file string) bool {
	excluded := false
	for _, rule := range d {
		neg := strings.HasPrefix(rule, "!")
		pat := strings.TrimSuffix(strings.TrimPrefix(rule, "!"), "/")
		if ignoreMatch(pat, file) {
			excluded = !neg
		}
	}
	return excluded
}

func ignoreMatch(pat, file string) bool {
	parts := strings.Split(file, "/")
	deep := strings.HasPrefix(pat, "**/")
	pat = strings.TrimPrefix(pat, "**/")
	for i := range parts {
		for j := i + 1; j <= len(parts); j++ {
			if !deep && i > 0 {
				return false
			}
			if ok, _ := path.Match(pat, strings.Join(parts[i:j], "/")); ok {
				return true
			}
		}
	}
	return false
}
