package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/services/public-svc/internal/httpapi/docsui"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

func bytesContains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

var externalURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)

func TestDocsPage(t *testing.T) {
	r := newRouter(t, loadConfig(t, environ(t)), setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}})

	page := get(t, r, "/api/public/docs")
	if page.Code != http.StatusOK || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
	csp := page.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "*") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows other origins or eval: %q", csp)
	}
	initJS := get(t, r, "/api/public/docs/init.js")
	for name, body := range map[string][]byte{"index.html": page.Body.Bytes(), "init.js": initJS.Body.Bytes()} {
		if m := externalURL.Find(body); m != nil {
			t.Errorf("%s references another origin: %s", name, m)
		}
	}
	if !bytesContains(initJS.Body.Bytes(), `"/api/public/openapi.json"`) {
		t.Errorf("init.js does not load the gateway's document:\n%s", initJS.Body)
	}

	// Every asset the page references is served with its type.
	refs := regexp.MustCompile(`(?:src|href)="(/api/public/docs/[^"]+)"`).FindAllStringSubmatch(page.Body.String(), -1)
	if len(refs) != 3 {
		t.Fatalf("page references %d assets, want 3 (css, bundle, init): %v", len(refs), refs)
	}
	for _, ref := range refs {
		rec := get(t, r, ref[1])
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("%s: %d, %d bytes", ref[1], rec.Code, rec.Body.Len())
		}
		want := docsui.Assets[strings.TrimPrefix(ref[1], "/api/public/docs/")]
		if got := rec.Header().Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", ref[1], got, want)
		}
	}
}

func TestDocsAssets(t *testing.T) {
	r := newRouter(t, loadConfig(t, environ(t)), setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}})
	raw, err := docsui.FS.ReadFile("swagger-ui-bundle.js")
	if err != nil {
		t.Fatal(err)
	}
	plain := get(t, r, "/api/public/docs/swagger-ui-bundle.js")
	if !bytes.Equal(plain.Body.Bytes(), raw) || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("plain bundle: %d bytes, encoding %q", plain.Body.Len(), plain.Header().Get("Content-Encoding"))
	}
	gz := get(t, r, "/api/public/docs/swagger-ui-bundle.js", "Accept-Encoding", "gzip, br")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Body.Len() >= len(raw)/2 {
		t.Fatalf("gzip bundle: encoding %q, %d bytes of %d", gz.Header().Get("Content-Encoding"), gz.Body.Len(), len(raw))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, raw) {
		t.Fatal("gzip bundle does not decompress to the asset")
	}
	etag := gz.Header().Get("ETag")
	if etag == "" || etag == plain.Header().Get("ETag") {
		t.Fatalf("ETags %q / %q: want one per encoding", etag, plain.Header().Get("ETag"))
	}
	if rec := get(t, r, "/api/public/docs/swagger-ui-bundle.js", "Accept-Encoding", "gzip", "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("revalidation: %d, %d bytes", rec.Code, rec.Body.Len())
	}

	tests := []struct {
		path     string
		wantCode int
	}{
		{"/api/public/docs/LICENSE", 200},
		{"/api/public/docs/swagger-ui.css", 200},
		{"/api/public/docs/docsui.go", 404},
		{"/api/public/docs/index.html", 404}, // the page lives at /docs
		{"/api/public/docs/..%2fdocs.go", 404},
		{"/api/public/docs/swagger-ui-bundle.js.map", 404},
	}
	for _, tt := range tests {
		if rec := get(t, r, tt.path); rec.Code != tt.wantCode {
			t.Errorf("%s: %d, want %d", tt.path, rec.Code, tt.wantCode)
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	r := newRouter(t, loadConfig(t, environ(t)), setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}})
	rec := get(t, r, "/api/public/openapi.json")
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), apidoc.JSON()) {
		t.Fatalf("openapi.json: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
	var doc struct{ OpenAPI string }
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi = %q, %v", doc.OpenAPI, err)
	}
}

func TestDocsDisabled(t *testing.T) {
	r := newRouter(t, loadConfig(t, environ(t, "DOCS_ENABLED=false")), setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}})
	for _, path := range []string{"/api/public/openapi.json", "/api/public/docs", "/api/public/docs/init.js"} {
		rec := get(t, r, path)
		var body struct{ Error string }
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusNotFound || body.Error != "docs_disabled" {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}
