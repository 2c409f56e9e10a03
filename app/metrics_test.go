package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"webdemo/app/apptest"
)

// With METRICS_ADDR set, a second listener serves the app's metrics, and
// only it: the public port has no /metrics. It stops with the app.
func TestMetricsListener(t *testing.T) {
	app := start(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	metricsURL := app.log.WaitFor(t, `msg="serving metrics" url=(http://\S+)`, 5*time.Second)
	c := apptest.NewClient(t)
	c.Get(app.URL + "/")
	c.Get(app.URL + "/")
	if c.Login(app.URL, "ada") != http.StatusSeeOther || code(c.Upload(app.URL, apptest.PNG(t, 1))) != http.StatusSeeOther {
		t.Fatal("login or upload failed")
	}
	if status, _ := c.Get(app.URL + "/metrics"); status != http.StatusNotFound {
		t.Errorf("public GET /metrics = %d, want 404", status)
	}

	status, body := c.Get(metricsURL)
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d", metricsURL, status)
	}
	for _, want := range []string{
		`webdemo_http_request_duration_seconds_count{route="/",status="200"} 2`,
		`webdemo_http_request_duration_seconds_count{route="/upload",status="303"} 1`,
		`webdemo_backend_call_duration_seconds_count{backend="db",op="add"} 1`,
		`webdemo_backend_call_duration_seconds_count{backend="blob",op="put"} 1`,
		`webdemo_uploads_total{result="stored"} 1`,
		`webdemo_sessions_total{event="login"} 1`,
		`webdemo_photos_hidden_total 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if regexp.MustCompile(`route="/images/[0-9a-f]`).MatchString(body) {
		t.Error("a raw path became a route label")
	}

	if err := app.stop(); err != nil {
		t.Fatalf("run returned %v on shutdown", err)
	}
	if resp, err := http.Get(metricsURL); err == nil {
		resp.Body.Close()
		t.Errorf("metrics still answer after shutdown: %d", resp.StatusCode)
	}
}

// By default no metrics listener starts.
func TestMetricsOffByDefault(t *testing.T) {
	app := start(t, nil)
	c := apptest.NewClient(t)
	if status, _ := c.Get(app.URL + "/metrics"); status != http.StatusNotFound {
		t.Errorf("public GET /metrics = %d, want 404", status)
	}
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(app.log.String(), "serving metrics") {
		t.Errorf("metrics served without METRICS_ADDR:\n%s", app.log)
	}
}

// A metrics port in use stops the start with an error naming the setting,
// before any file is created.
func TestMetricsPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	settings := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"METRICS_ADDR": taken.Addr().String(),
		"SQLITE_PATH":  filepath.Join(dir, "webdemo.db"),
		"UPLOAD_DIR":   filepath.Join(dir, "uploads"),
	}
	err = run(context.Background(), nil, func(k string) (string, bool) { v, ok := settings[k]; return v, ok }, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "METRICS_ADDR: ") {
		t.Fatalf("err = %v, want one starting METRICS_ADDR", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed start left %d files behind", len(entries))
	}
}
