package manifests

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wfagent/gateway/pkg/testkit"
)

// The compose healthchecks run deploy/docker/healthcheck inside the
// distroless images; it is built here the way the Dockerfile builds it
// (outside any module, GOWORK=off) and run against a live server.
func TestHealthcheckProbe(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "healthcheck")
	build := exec.Command("go", "build", "-o", bin, "main.go")
	build.Dir = filepath.Join(repoRoot(t), "deploy", "docker", "healthcheck")
	build.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the probe as the Dockerfile does: %v\n%s", err, out)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
	}))
	defer srv.Close()

	tests := []struct {
		name    string
		args    []string
		wantOK  bool
		wantOut string
	}{
		{"ready", []string{srv.URL + "/200"}, true, ""},
		{"no content is fine", []string{srv.URL + "/204"}, true, ""},
		{"draining", []string{srv.URL + "/503"}, false, "503"},
		{"redirect is not ready", []string{srv.URL + "/302"}, false, "302"},
		{"nothing listening", []string{"http://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)) + "/readyz"}, false, "refused"},
		{"no URL", nil, false, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(bin, tt.args...).CombinedOutput()
			if (err == nil) != tt.wantOK {
				t.Fatalf("exit error = %v, want success %v; output %q", err, tt.wantOK, out)
			}
			if !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("output %q lacks %q", out, tt.wantOut)
			}
		})
	}
}
