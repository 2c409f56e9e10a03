package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"webdemo/app/apptest"
	"webdemo/app/config"
	"webdemo/app/internal/testenv"
)

// instance is one running app.
type instance struct {
	URL  string
	log  *apptest.Output
	stop func() error
}

// start runs the app with env (over a private data directory) and waits
// until it listens.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	dir := t.TempDir()
	full := map[string]string{
		"ADDR":        "127.0.0.1:0",
		"SQLITE_PATH": filepath.Join(dir, "webdemo.db"),
		"UPLOAD_DIR":  filepath.Join(dir, "uploads"),
	}
	for k, v := range env {
		full[k] = v
	}
	logs := &apptest.Output{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) (string, bool) { v, ok := full[k]; return v, ok }, logs) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case err := <-done:
		t.Fatalf("run returned at start: %v\n%s", err, logs)
	default:
	}
	return &instance{URL: logs.WaitFor(t, `msg=listening url=(http://\S+)`, 15*time.Second), log: logs, stop: stop}
}

func TestZeroSetupDefault(t *testing.T) {
	app := start(t, nil)
	c := apptest.NewClient(t)
	if status, page := c.Get(app.URL + "/"); status != http.StatusOK || !strings.Contains(page, "web-demo photos") {
		t.Fatalf("GET / = %d", status)
	}
	if c.Login(app.URL, "ada") != http.StatusSeeOther || code(c.Upload(app.URL, apptest.PNG(t, 1))) != http.StatusSeeOther {
		t.Fatal("login or upload failed on the default configuration")
	}
	_, page := c.Get(app.URL + "/")
	key := firstKey(page)
	if key == "" {
		t.Fatal("upload not listed")
	}
	if status, body := c.Get(app.URL + "/images/" + key); status != http.StatusOK || body != string(apptest.PNG(t, 1)) {
		t.Fatalf("image = %d", status)
	}
	if err := app.stop(); err != nil {
		t.Fatalf("run returned %v on shutdown", err)
	}
}

func TestBadSettingsStopTheStart(t *testing.T) {
	for env, want := range map[string]string{
		"STORAGE=ftp":                  "STORAGE: \"ftp\" is not one of disk, s3",
		"LATENCY=-1s":                  "LATENCY: ",
		"SESSIONS=memcached":           "MEMCACHED_SERVERS: required",
		"MAX_UPLOAD_BYTES=lots":        "MAX_UPLOAD_BYTES: ",
		"ADDR=127.0.0.1:99999":         "ADDR: ",
		"METRICS_ADDR=127.0.0.1:99999": "METRICS_ADDR: ",
	} {
		k, v, _ := strings.Cut(env, "=")
		// A bad ADDR is found only at listen, after the backends open: keep
		// their files out of the work tree.
		dir := t.TempDir()
		settings := map[string]string{
			"SQLITE_PATH": filepath.Join(dir, "webdemo.db"),
			"UPLOAD_DIR":  filepath.Join(dir, "uploads"),
			k:             v,
		}
		err := run(context.Background(), nil, func(name string) (string, bool) { v, ok := settings[name]; return v, ok }, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line starting %q", env, err, want)
		}
	}
}

// Two servers sharing MariaDB, memcached and one S3 endpoint: the tutorial's
// level 4 on one machine.
func TestTwoInstancesShareEverything(t *testing.T) {
	db := testenv.MySQLDatabase(t)
	mc := testenv.MemcachedAddr(t)
	s3 := testenv.FakeS3(t)
	env := map[string]string{
		"DB_DRIVER":         "mysql",
		"MYSQL_DSN":         db.FormatDSN(),
		"STORAGE":           "s3",
		"S3_BUCKET":         s3.Bucket,
		"S3_ENDPOINT":       s3.Endpoint,
		"S3_PATH_STYLE":     "true",
		"S3_PREFIX":         testenv.RandomName("uploads-") + "/",
		"SESSIONS":          "memcached",
		"PAGE_CACHE":        "memcached",
		"MEMCACHED_SERVERS": mc,
		"MEMCACHED_PREFIX":  testenv.RandomName("test:") + ":",
	}
	// The AWS SDK reads its credentials from the process environment.
	for k, v := range testenv.Credentials() {
		t.Setenv(k, v)
	}
	env["AWS_REGION"] = "us-east-1"
	a := start(t, with(env, "INSTANCE_NAME", "web-a"))
	b := start(t, with(env, "INSTANCE_NAME", "web-b"))
	c := apptest.NewClient(t)

	if c.Login(a.URL, "ada") != http.StatusSeeOther {
		t.Fatal("login on A failed")
	}
	_, pageB := c.Get(b.URL + "/")
	if !strings.Contains(pageB, `<strong id="user">ada</strong>`) || !strings.Contains(pageB, "web-b") {
		t.Fatal("the session from A is not valid on B")
	}
	// Warm B's cache, then upload through A: B must see it at once.
	c.Get(b.URL + "/")
	img := apptest.PNG(t, 7)
	if code(c.Upload(a.URL, img)) != http.StatusSeeOther {
		t.Fatal("upload on A failed")
	}
	_, pageB = c.Get(b.URL + "/")
	key := firstKey(pageB)
	if key == "" || !strings.Contains(pageB, `id="db-line"`) {
		t.Fatal("B does not list A's upload after invalidation")
	}
	if _, again := c.Get(b.URL + "/"); strings.Contains(again, `id="db-line"`) || !strings.Contains(again, key) {
		t.Fatal("B's next page should be a cache hit showing the upload")
	}
	if status, body := c.Get(b.URL + "/images/" + key); status != http.StatusOK || body != string(img) {
		t.Fatalf("B serves A's upload: %d, %d bytes", status, len(body))
	}
	src := regexp.MustCompile(`<img src="([^"]+)"`).FindStringSubmatch(pageB)
	if src == nil || !strings.HasPrefix(src[1], s3.Endpoint) {
		t.Fatalf("image URL %v is not a presigned S3 URL", src)
	}
	if status, body := apptest.NewClient(t).Get(strings.ReplaceAll(src[1], "&amp;", "&")); status != http.StatusOK || body != string(img) {
		t.Fatalf("presigned URL = %d", status)
	}
}

func with(env map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range env {
		if key != k {
			out[key] = val
		}
	}
	return out
}

func TestDatabaseOutageAndRecovery(t *testing.T) {
	db := testenv.MySQLDatabase(t)
	proxy := testenv.NewProxy(t, db.Addr)
	db.Addr = proxy.Addr
	app := start(t, map[string]string{"DB_DRIVER": "mysql", "MYSQL_DSN": db.FormatDSN()})
	c := apptest.NewClient(t)
	waitStatus(t, c, app.URL+"/readyz", http.StatusOK)

	proxy.SetDown(true)
	status, page := c.Get(app.URL + "/")
	if status != http.StatusServiceUnavailable || !strings.Contains(page, "database is unavailable") {
		t.Fatalf("front page with the database down = %d", status)
	}
	waitStatus(t, c, app.URL+"/readyz", http.StatusServiceUnavailable)

	proxy.SetDown(false)
	waitStatus(t, c, app.URL+"/", http.StatusOK)
	waitStatus(t, c, app.URL+"/readyz", http.StatusOK)
}

func TestDatabaseDownAtStart(t *testing.T) {
	db := testenv.MySQLDatabase(t)
	proxy := testenv.NewProxy(t, db.Addr)
	proxy.SetDown(true)
	db.Addr = proxy.Addr
	app := start(t, map[string]string{"DB_DRIVER": "mysql", "MYSQL_DSN": db.FormatDSN()})
	c := apptest.NewClient(t)
	if status, _ := c.Get(app.URL + "/"); status != http.StatusServiceUnavailable {
		t.Fatalf("front page before the database is up = %d", status)
	}
	app.log.WaitFor(t, `msg="database not ready; retrying"()`, 15*time.Second)
	proxy.SetDown(false)
	waitStatus(t, c, app.URL+"/", http.StatusOK)
}

// Level 4 while the database is down: the front page serves the last list
// read from it, with a notice, instead of failing; when the database is
// back, the current list returns and the notice goes away.
func TestLevel4DatabaseOutageServesTheLastKnownList(t *testing.T) {
	db := testenv.MySQLDatabase(t)
	proxy := testenv.NewProxy(t, db.Addr)
	db.Addr = proxy.Addr
	app := start(t, map[string]string{"DB_DRIVER": "mysql", "MYSQL_DSN": db.FormatDSN(),
		"SESSIONS": "memcached", "PAGE_CACHE": "memcached", "MEMCACHED_SERVERS": testenv.MemcachedAddr(t),
		"MEMCACHED_PREFIX": testenv.RandomName("test:") + ":"})
	c := apptest.NewClient(t)
	waitStatus(t, c, app.URL+"/readyz", http.StatusOK)
	if c.Login(app.URL, "ada") != http.StatusSeeOther || code(c.Upload(app.URL, apptest.PNG(t, 1))) != http.StatusSeeOther {
		t.Fatal("login or upload failed with everything up")
	}
	_, page := c.Get(app.URL + "/")
	first := firstKey(page)
	if first == "" || !strings.Contains(page, `id="db-line"`) {
		t.Fatal("the first page did not list the upload from the database")
	}
	// A second upload invalidates the cached list; the database goes down
	// before anyone reads it again.
	if code(c.Upload(app.URL, apptest.PNG(t, 2))) != http.StatusSeeOther {
		t.Fatal("second upload failed")
	}
	proxy.SetDown(true)

	status, page := c.Get(app.URL + "/")
	if status != http.StatusOK || !strings.Contains(page, `id="stale-list"`) {
		t.Fatalf("front page with the database down = %d, notice %v; want 200 with the last list and a notice",
			status, strings.Contains(page, `id="stale-list"`))
	}
	if keys := apptest.ParsePage(page).Keys; len(keys) != 1 || keys[0] != first || strings.Contains(page, `id="db-line"`) {
		t.Fatalf("with the database down the page lists %v (database line %v); want just %s, the last list read",
			keys, strings.Contains(page, `id="db-line"`), first)
	}
	if c.Login(app.URL, "grace") != http.StatusSeeOther {
		t.Error("login with the database down failed")
	}
	if status := code(c.Upload(app.URL, apptest.PNG(t, 3))); status != http.StatusServiceUnavailable {
		t.Errorf("upload with the database down = %d, want 503", status)
	}

	proxy.SetDown(false)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, page = c.Get(app.URL + "/")
		if status == http.StatusOK && !strings.Contains(page, `id="stale-list"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after recovery the front page is still %d, notice %v", status, strings.Contains(page, `id="stale-list"`))
		}
	}
	if keys := apptest.ParsePage(page).Keys; len(keys) != 2 || keys[1] != first || !strings.Contains(page, `id="db-line"`) {
		t.Fatalf("after recovery the page lists %v; want both uploads, read from the database", keys)
	}
}

func TestMemcachedOutage(t *testing.T) {
	proxy := testenv.NewProxy(t, testenv.MemcachedAddr(t))
	app := start(t, map[string]string{"SESSIONS": "memcached", "PAGE_CACHE": "memcached", "MEMCACHED_SERVERS": proxy.Addr,
		"MEMCACHED_PREFIX": testenv.RandomName("test:") + ":"})
	c := apptest.NewClient(t)
	if c.Login(app.URL, "ada") != http.StatusSeeOther || code(c.Upload(app.URL, apptest.PNG(t, 3))) != http.StatusSeeOther {
		t.Fatal("login or upload failed with memcached up")
	}
	proxy.SetDown(true)
	status, page := c.Get(app.URL + "/")
	if status != http.StatusOK || firstKey(page) == "" || !strings.Contains(page, `id="db-line"`) {
		t.Fatalf("front page with memcached down = %d; want the list from the database", status)
	}
	status, page = c.Do(http.MethodPost, app.URL+"/logout", "application/x-www-form-urlencoded", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(page, "Sessions are unavailable") {
		t.Fatalf("logout with memcached down = %d", status)
	}
}

func waitStatus(t *testing.T, c *apptest.Client, target string, want int) {
	t.Helper()
	var got int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, _ = c.Get(target); got == want {
			return
		}
	}
	t.Fatalf("GET %s stayed %d, want %d", target, got, want)
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	app := start(t, map[string]string{"LATENCY": "700ms", "SHUTDOWN_DRAIN": "200ms"})
	result := make(chan int, 1)
	go func() {
		resp, err := http.Get(app.URL + "/")
		if err != nil {
			result <- 0
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	time.Sleep(200 * time.Millisecond) // the request is now sleeping in the handler
	stopped := make(chan error, 1)
	go func() { stopped <- app.stop() }()
	app.log.WaitFor(t, `msg="shutting down"()`, 15*time.Second)
	if status, _ := apptest.NewClient(t).Get(app.URL + "/healthz"); status != http.StatusServiceUnavailable {
		t.Errorf("healthz while draining = %d, want 503", status)
	}
	if status := <-result; status != http.StatusOK {
		t.Fatalf("in-flight request got %d, want 200", status)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run returned %v", err)
	}
}

func TestLatencyFileChangesWhileRunning(t *testing.T) {
	file := filepath.Join(t.TempDir(), "latency")
	if err := os.WriteFile(file, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := start(t, map[string]string{"LATENCY_FILE": file, "LATENCY_POLL": "1s"})
	if err := os.WriteFile(file, []byte("0.4"), 0o600); err != nil {
		t.Fatal(err)
	}
	app.log.WaitFor(t, `msg="latency changed" from=0s to=400ms()`, 15*time.Second)
	began := time.Now()
	if status, _ := apptest.NewClient(t).Get(app.URL + "/"); status != http.StatusOK {
		t.Fatalf("GET / = %d", status)
	}
	if took := time.Since(began); took < 400*time.Millisecond {
		t.Fatalf("front page took %v with a 400ms latency", took)
	}
}

func code(status int, _ string) int { return status }

func firstKey(page string) string {
	if keys := apptest.ParsePage(page).Keys; len(keys) > 0 {
		return keys[0]
	}
	return ""
}

// A rendered list lives at most a quarter of its presigned URLs' life, so
// no page carries a URL with less than half its life left.
func TestListAgeLeavesPresignedURLsValid(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*config.Config)
		wantAge time.Duration
	}{
		{"disk: PAGE_CACHE_TTL", func(c *config.Config) { c.PageCacheTTL = 3 * time.Minute }, 3 * time.Minute},
		{"s3, long URLs: PAGE_CACHE_TTL", func(c *config.Config) { c.Storage, c.S3PresignExpiry = config.StorageS3, time.Hour }, time.Minute},
		{"s3, short URLs: a quarter of their life", func(c *config.Config) {
			c.Storage, c.S3PresignExpiry = config.StorageS3, 2*time.Minute
		}, 30 * time.Second},
		{"s3 behind a CDN: PAGE_CACHE_TTL", func(c *config.Config) {
			c.Storage, c.S3PresignExpiry, c.CDNBaseURL = config.StorageS3, 2*time.Minute, "https://cdn.example.com"
		}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.PageCacheTTL = time.Minute
			tc.set(&cfg)
			if got := listAge(cfg); got != tc.wantAge {
				t.Fatalf("listAge = %s, want %s", got, tc.wantAge)
			}
		})
	}
}
