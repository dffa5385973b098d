package httpx

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/health"
)

// Probes answers /healthz (the process is alive) and /readyz (dependencies
// answer and the server is not draining).
type Probes struct {
	checks   map[string]health.Check
	timeout  time.Duration
	draining atomic.Bool
	drainCh  chan struct{}
	once     sync.Once
}

// NewProbes takes the readiness checks, each bounded by timeout.
func NewProbes(checks map[string]health.Check, timeout time.Duration) *Probes {
	if checks == nil {
		checks = map[string]health.Check{}
	}
	return &Probes{checks: checks, timeout: timeout, drainCh: make(chan struct{})}
}

// AddCheck adds a readiness check before serving starts.
func (p *Probes) AddCheck(name string, c health.Check) { p.checks[name] = c }

// StartDraining flips readiness to false and tells long-lived streams to end.
func (p *Probes) StartDraining() {
	p.once.Do(func() {
		p.draining.Store(true)
		close(p.drainCh)
	})
}

// Draining is closed when shutdown begins; SSE handlers send a final
// `retry:` hint and return when it closes.
func (p *Probes) Draining() <-chan struct{} { return p.drainCh }

// Register mounts /healthz and /readyz.
func (p *Probes) Register(r gin.IRoutes) {
	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		if p.draining.Load() {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
			return
		}
		res := health.Run(c.Request.Context(), p.checks, p.timeout)
		status, code := "ready", http.StatusOK
		if !health.AllOK(res) {
			status, code = "not_ready", http.StatusServiceUnavailable
		}
		c.JSON(code, gin.H{"status": status, "checks": res})
	})
}
