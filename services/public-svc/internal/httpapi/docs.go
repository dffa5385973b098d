package httpapi

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/public-svc/internal/httpapi/docsui"
)

// docsCSP allows this origin only. Styles need 'unsafe-inline' because
// Swagger UI sets style attributes; scripts do not (init.js is a file).
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func errDocsDisabled() error {
	return apperr.New(apperr.NotFound, "docs_disabled", "the API documentation is disabled")
}

// openAPI serves the whole API's document from pkg/apidoc.
func (h *handlers) openAPI(c *gin.Context) error {
	if !h.DocsEnabled {
		return errDocsDisabled()
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", apidoc.JSON())
	return nil
}

func securityHeaders(c *gin.Context) {
	c.Header("Content-Security-Policy", docsCSP)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("Cross-Origin-Resource-Policy", "same-origin")
}

// docsPage serves the reference page.
func (h *handlers) docsPage(c *gin.Context) error {
	if !h.DocsEnabled {
		return errDocsDisabled()
	}
	page, err := docsui.FS.ReadFile("index.html")
	if err != nil {
		return err
	}
	securityHeaders(c)
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	return nil
}

// gzipped compresses each asset once, on first request: the bundle is
// 1.7 MB and about a quarter of that compressed.
var gzipped sync.Map // asset name → func() []byte

func gzipOf(name string, raw []byte) []byte {
	f, _ := gzipped.LoadOrStore(name, sync.OnceValue(func() []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		return b.Bytes()
	}))
	return f.(func() []byte)()
}

// docsAsset serves the page's scripts, styles and licences. The names are
// a fixed list, so no path from the request reaches the file system.
func (h *handlers) docsAsset(c *gin.Context) error {
	if !h.DocsEnabled {
		return errDocsDisabled()
	}
	name := c.Param("asset")
	ctype, ok := docsui.Assets[name]
	if !ok {
		return apperr.NotFoundf("no such asset")
	}
	body, err := docsui.FS.ReadFile(name)
	if err != nil {
		return err
	}
	securityHeaders(c)
	c.Header("Vary", "Accept-Encoding")
	// The assets change only with docsui.Version, which the ETag names.
	c.Header("Cache-Control", "public, max-age=3600")
	etag := `"` + docsui.Version + "-" + name
	if strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") && len(body) > 1024 {
		body = gzipOf(name, body)
		c.Header("Content-Encoding", "gzip")
		etag += "-gz"
	}
	etag += `"`
	c.Header("ETag", etag)
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return nil
	}
	c.Data(http.StatusOK, ctype, body)
	return nil
}
