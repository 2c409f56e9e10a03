package server_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"webdemo/app/memory"
	"webdemo/app/photo"
	"webdemo/app/server"
)

// sampleCount is a counter's value or a histogram's number of
// observations, in the series of family name with exactly labels; -1 when
// no such series exists.
func sampleCount(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, l := range m.GetLabel() {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func TestMetricsCountRequestsAndBackendCalls(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := server.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var blobs *putSwitch
	s := newSite(t, func(d *server.Deps, _ *server.Options) {
		d.Cache = memory.NewCache()
		d.Metrics = metrics
		blobs = &putSwitch{Blobs: d.Blobs}
		d.Blobs = blobs
	})
	anonymous := s.newClient()
	if resp, err := anonymous.Post(s.URL+"/upload", "text/plain", nil); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	s.login("ada")
	s.upload("a.png", pngImage(t, 4, 4))
	blobs.fail = true
	s.upload("b.png", pngImage(t, 4, 4))
	s.get("/")
	s.get("/")
	s.get("/images/" + s.latest()[0].Key)
	s.get("/no/such/page/1")
	s.get("/no/such/page/2")
	s.post("/logout", "application/x-www-form-urlencoded", nil)

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"webdemo_http_request_duration_seconds", map[string]string{"route": "/", "status": "200"}, 2},
		{"webdemo_http_request_duration_seconds", map[string]string{"route": "/images/{key}", "status": "200"}, 1},
		{"webdemo_http_request_duration_seconds", map[string]string{"route": "/upload", "status": "303"}, 1},
		{"webdemo_http_request_duration_seconds", map[string]string{"route": "/upload", "status": "401"}, 1},
		{"webdemo_http_request_duration_seconds", map[string]string{"route": "/upload", "status": "502"}, 1},
		// Unknown paths share one series, whatever they are.
		{"webdemo_http_request_duration_seconds", map[string]string{"route": "unmatched", "status": "404"}, 2},
		{"webdemo_backend_call_duration_seconds", map[string]string{"backend": "db", "op": "latest"}, 1},
		{"webdemo_backend_call_duration_seconds", map[string]string{"backend": "db", "op": "add"}, 1},
		{"webdemo_backend_call_duration_seconds", map[string]string{"backend": "blob", "op": "put"}, 2},
		{"webdemo_backend_call_duration_seconds", map[string]string{"backend": "blob", "op": "url"}, 1},
		{"webdemo_backend_call_duration_seconds", map[string]string{"backend": "cache", "op": "get_multi"}, 2},
		{"webdemo_backend_call_errors_total", map[string]string{"backend": "blob", "op": "put"}, 1},
		{"webdemo_backend_call_errors_total", map[string]string{"backend": "db", "op": "latest"}, 0},
		{"webdemo_page_cache_lookups_total", map[string]string{"result": "hit"}, 1},
		{"webdemo_page_cache_lookups_total", map[string]string{"result": "miss"}, 1},
		{"webdemo_uploads_total", map[string]string{"result": "stored"}, 1},
		{"webdemo_uploads_total", map[string]string{"result": "rejected"}, 2},
		{"webdemo_sessions_total", map[string]string{"event": "login"}, 1},
		{"webdemo_sessions_total", map[string]string{"event": "logout"}, 1},
	} {
		if got := sampleCount(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := sampleCount(t, reg, "webdemo_backend_call_duration_seconds", map[string]string{"backend": "session", "op": "find"}); got < 1 {
		t.Errorf("session finds = %v, want some", got)
	}
}

// putSwitch is a blob store whose writes fail once fail is set.
type putSwitch struct {
	photo.Blobs
	fail bool
}

func (p *putSwitch) Put(ctx context.Context, key, contentType string, r io.Reader, size int64) error {
	if p.fail {
		return errors.New("dial tcp: connection refused")
	}
	return p.Blobs.Put(ctx, key, contentType, r, size)
}
