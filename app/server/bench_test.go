package server_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"webdemo/app/internal/testenv"
	"webdemo/app/memcached"
	"webdemo/app/memory"
	"webdemo/app/photo"
	"webdemo/app/server"
)

// BenchmarkFrontPage measures one front page in process, with 10 photos:
// cache hits (in memory and in memcached, anonymous and logged in), a
// cache miss, the database without a cache (SQLite), and a hit with
// Prometheus metrics.
func BenchmarkFrontPage(b *testing.B) {
	for _, bc := range []struct {
		name     string
		cache    func(b *testing.B) photo.Cache
		loggedIn bool
		metrics  bool
		// miss makes the server forget its list before every page.
		miss bool
	}{
		{name: "cache hit", cache: memoryCache},
		{name: "cache hit, memcached", cache: memcachedCache},
		{name: "cache hit, logged in", cache: memoryCache, loggedIn: true},
		{name: "cache hit with metrics", cache: memoryCache, metrics: true},
		{name: "cache miss", cache: func(*testing.B) photo.Cache { return forgetfulCache{memory.NewCache()} }, miss: true},
		{name: "database, no cache"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSite(b, func(d *server.Deps, _ *server.Options) {
				if bc.cache != nil {
					d.Cache = bc.cache(b)
				}
				if bc.metrics {
					m, err := server.NewMetrics(prometheus.NewRegistry())
					if err != nil {
						b.Fatal(err)
					}
					d.Metrics = m
				}
			})
			s.login("ada")
			for i := range 10 {
				s.upload("p.png", pngImage(b, 8+i, 8))
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if bc.loggedIn {
				for _, c := range s.client.Jar.Cookies(mustURL(s.URL)) {
					req.AddCookie(c)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if bc.miss {
					server.ForgetLocalPages(s.app)
				}
				w := httptest.NewRecorder()
				s.app.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

func memoryCache(*testing.B) photo.Cache { return memory.NewCache() }

// memcachedCache is the level-4 cache; without memcached the benchmark is
// skipped (failed under CI=true).
func memcachedCache(b *testing.B) photo.Cache {
	client := memcached.NewClient([]string{testenv.MemcachedAddr(b)}, memcached.Options{})
	return memcached.NewCache(client, testenv.RandomName("bench:")+":")
}

// forgetfulCache never keeps a photo list, so a server that forgets its
// own misses.
type forgetfulCache struct{ *memory.Cache }

func (f forgetfulCache) Set(context.Context, string, []byte, time.Duration) error { return nil }

// BenchmarkUpload measures the upload handler with a 200 KB JPEG, from
// the request to the stored, recorded photo (SQLite and disk, with their
// fsyncs).
func BenchmarkUpload(b *testing.B) {
	s := newSite(b, func(_ *server.Deps, o *server.Options) { o.MaxUploadBytes = 1 << 20 })
	s.login("ada")
	body, contentType := multipartFile("photo", "p.jpg", noiseJPEG(b, 200<<10))
	form := body.Bytes()
	cookies := s.client.Jar.Cookies(mustURL(s.URL))
	b.SetBytes(int64(len(form)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/upload", bytes.NewReader(form))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		s.app.ServeHTTP(w, req)
		if w.Code != http.StatusSeeOther {
			b.Fatalf("upload = %d: %s", w.Code, w.Body)
		}
	}
}

// noiseJPEG encodes random pixels as a JPEG of about size bytes, the size
// of a phone photo after resizing.
func noiseJPEG(b *testing.B, size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	for side := 128; ; side += 32 {
		img := image.NewRGBA(image.Rect(0, 0, side, side))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.UintN(256))
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
			b.Fatal(err)
		}
		if buf.Len() >= size {
			return buf.Bytes()
		}
	}
}
