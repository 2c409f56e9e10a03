package doctor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/bradfitz/gomemcache/memcache"

	"webdemo/app/disk"
	"webdemo/app/internal/testenv"
	"webdemo/app/memcached"
	"webdemo/app/photo"
	"webdemo/app/sqldb"
)

func TestRunPrintsALinePerCheckInOrder(t *testing.T) {
	latencyFile := writeFile(t, "latency", "1.5s\n")
	refused := refusedAddr(t)
	uploads := t.TempDir()
	checks := []Check{
		Latency(latencyFile, LatencyFile, fileReader(latencyFile)),
		MemcachedServer(refused, memcached.NewClient([]string{refused}, memcached.Options{}), nil, "webdemo:"),
		Uploads(uploads, UploadDir, func() (photo.Blobs, error) { return disk.Open(uploads) }),
	}
	var out strings.Builder
	err := Run(context.Background(), &out, time.Second, checks)
	if err == nil || err.Error() != "doctor: 1 of 3 checks failed" {
		t.Fatalf("Run = %v, want 1 of 3 failed", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^ok    latency    ` + regexp.QuoteMeta(latencyFile) + ` +\d+\.\dms  delay 1.5s$`),
		regexp.MustCompile(`^FAIL  memcached  ` + regexp.QuoteMeta(refused) + ` +\d+\.\dms  dial tcp ` + regexp.QuoteMeta(refused) +
			`: connect: connection refused; hint: ` + regexp.QuoteMeta(Hint(Memcached, Refused)) + `$`),
		regexp.MustCompile(`^ok    uploads    ` + regexp.QuoteMeta(uploads) + ` +\d+\.\dms  write, read and delete of [0-9a-f]{32}\.png$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d = %q\nwant it to match %s", i+1, lines[i], re)
		}
	}
}

func TestRunPassesWhenEveryCheckDoes(t *testing.T) {
	latencyFile := writeFile(t, "latency", "200ms")
	var out strings.Builder
	if err := Run(context.Background(), &out, time.Second, []Check{Latency(latencyFile, LatencyFile, fileReader(latencyFile))}); err != nil {
		t.Fatalf("Run = %v\n%s", err, out.String())
	}
	if !strings.HasSuffix(out.String(), "\nall 1 checks passed\n") {
		t.Errorf("output lacks the summary:\n%s", out.String())
	}
}

func TestSecretFailureGetsTheSecretsHint(t *testing.T) {
	// The database check reads the secret first; its failure is the
	// secret's, whatever the check's own dependency.
	addr := refusedAddr(t)
	check := Database{ReadSecret: awsAt{endpoint: jsonAPIError(t, "AccessDeniedException")}.secret(), Address: addr, Open: mysqlAt(addr, nil)}.Check(addr, RDS)
	r := Probe(context.Background(), check, time.Second)
	if r.Hint != Hint(DatabaseSecret, Denied) {
		t.Fatalf("hint = %q, want the secret's: %v", r.Hint, r.Err)
	}
}

func TestDatabaseCheckOnSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webdemo.db")
	store, err := sqldb.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	check := Database{Open: func() (photo.Metadata, error) { return sqldb.OpenSQLite(path) }}.Check(path, SQLite)

	// Before the app's first start the table is missing: not a failure.
	r := Probe(context.Background(), check, 5*time.Second)
	if !r.OK() || r.Detail != "no photos table yet (the app creates it when it starts)" {
		t.Fatalf("fresh database: ok=%v detail=%q err=%v", r.OK(), r.Detail, r.Err)
	}
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := Probe(context.Background(), check, 5*time.Second); !r.OK() || r.Detail != "photos table read" {
		t.Fatalf("migrated database: ok=%v detail=%q err=%v", r.OK(), r.Detail, r.Err)
	}
}

func TestDatabaseCheckOnMariaDB(t *testing.T) {
	probe := withMariaDB(t, func(*sqldb.MySQLOptions) {})
	store, err := probe.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.(*sqldb.Store).Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := Probe(context.Background(), probe.Check("mariadb", LocalMySQL), 5*time.Second); !r.OK() || r.Detail != "photos table read" {
		t.Fatalf("ok=%v detail=%q err=%v", r.OK(), r.Detail, r.Err)
	}
}

func TestMemcachedCheckLeavesNoKey(t *testing.T) {
	addr := testenv.MemcachedAddr(t)
	client := memcached.NewClient([]string{addr}, memcached.Options{})
	prefix := testenv.RandomName("doctor-test-") + ":"
	r := Probe(context.Background(), MemcachedServer(addr, client, nil, prefix), 5*time.Second)
	if !r.OK() {
		t.Fatalf("check failed: %v", r.Err)
	}
	key := strings.TrimPrefix(r.Detail, "set, get and delete of ")
	if !strings.HasPrefix(key, prefix+"doctor:") {
		t.Fatalf("detail %q names no key under the prefix %q", r.Detail, prefix)
	}
	if _, err := client.Get(key); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Errorf("probe key %s left behind: Get = %v", key, err)
	}
}

func TestUploadsCheckLeavesNoObject(t *testing.T) {
	t.Run("S3", func(t *testing.T) {
		fake := testenv.FakeS3(t)
		// Record the keys the probe touches on the way to the fake S3.
		var mu sync.Mutex
		var paths []string
		target, _ := url.Parse(fake.Endpoint)
		forward := httputil.NewSingleHostReverseProxy(target)
		recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			paths = append(paths, r.Method+" "+r.URL.Path)
			mu.Unlock()
			forward.ServeHTTP(w, r)
		}))
		t.Cleanup(recorder.Close)

		r := Probe(context.Background(), Uploads("s3", S3, awsAt{endpoint: recorder.URL}.uploads(fake.Bucket)), 5*time.Second)
		if !r.OK() {
			t.Fatalf("check failed: %v", r.Err)
		}
		// The instance role may touch only the uploads prefix.
		mu.Lock()
		defer mu.Unlock()
		if len(paths) != 3 {
			t.Errorf("requests = %q, want a put, a get and a delete", paths)
		}
		for _, p := range paths {
			if _, key, _ := strings.Cut(p, " /"+fake.Bucket+"/"); !strings.HasPrefix(key, "uploads/") {
				t.Errorf("%s is outside uploads/", p)
			}
		}
		list, err := fake.Client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(fake.Bucket)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Contents) != 0 {
			t.Errorf("probe left %s behind", aws.ToString(list.Contents[0].Key))
		}
	})
	t.Run("disk", func(t *testing.T) {
		dir := t.TempDir()
		r := Probe(context.Background(), Uploads(dir, UploadDir, func() (photo.Blobs, error) { return disk.Open(dir) }), 5*time.Second)
		if !r.OK() {
			t.Fatalf("check failed: %v", r.Err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("probe left %s behind", entries[0].Name())
		}
	})
}
