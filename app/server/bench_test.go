package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"webdemo/app/memory"
	"webdemo/app/server"
)

// BenchmarkFrontPage measures one anonymous front page in process, from the
// database (SQLite) and from a warm cache, and with Prometheus metrics.
func BenchmarkFrontPage(b *testing.B) {
	for _, bc := range []struct {
		name           string
		cache, metrics bool
	}{{"database", false, false}, {"cache hit", true, false}, {"cache hit with metrics", true, true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSite(b, func(d *server.Deps, _ *server.Options) {
				if bc.cache {
					d.Cache = memory.NewCache()
				}
				if bc.metrics {
					m, err := server.NewMetrics(prometheus.NewRegistry())
					if err != nil {
						b.Fatal(err)
					}
					d.Metrics = m
				}
			})
			defer s.Close()
			s.login("ada")
			for i := range 10 {
				s.upload("p.png", pngImage(b, 8+i, 8))
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.app.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
