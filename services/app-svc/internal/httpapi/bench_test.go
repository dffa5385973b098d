package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
)

// BenchmarkListWorkflows is GET /api/app/workflows with 20 rows through
// the whole chain: token check, the route and global limits, the RLS
// transaction on the real PostgreSQL, JSON.
func BenchmarkListWorkflows(b *testing.B) {
	e := newEnv(b, withLimits("app.global=1000000000/hour,app.workflows=1000000000/hour"))
	tok := e.token(uuid.New())
	for range 20 {
		e.createHello(tok)
	}
	req := httptest.NewRequest("GET", "/api/app/workflows", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			e.engine.ServeHTTP(w, req.Clone(req.Context()))
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}
