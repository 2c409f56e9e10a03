package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"webdemo/app/memory"
	"webdemo/app/server"
)

// BenchmarkFrontPage measures one anonymous front page in process, from the
// database (SQLite) and from a warm cache.
func BenchmarkFrontPage(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache bool
	}{{"database", false}, {"cache hit", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSite(b, func(d *server.Deps, _ *server.Options) {
				if bc.cache {
					d.Cache = memory.NewCache()
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
