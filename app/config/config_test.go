package config_test

import (
	"flag"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"webdemo/app/config"
)

// env is an environment of KEY=value pairs, as os.LookupEnv reads one.
func env(pairs ...string) func(string) (string, bool) {
	m := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestDefaultIsZeroSetup(t *testing.T) {
	cfg, err := config.Load(nil, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DBDriver != "sqlite" || cfg.Storage != "disk" || cfg.Sessions != "memory" || cfg.PageCache != "off" ||
		cfg.Addr != "localhost:8080" || cfg.PageSize != 10 || cfg.MaxUploadBytes != 10<<20 {
		t.Fatalf("default config %+v", cfg)
	}
	if got := cfg.Environ(); len(got) != 0 {
		t.Fatalf("Environ of the default = %v, want nothing", got)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	cfg, err := config.Load([]string{"-page-size=3", "-latency", "1.5"}, env("PAGE_SIZE=7", "STORAGE=s3", "S3_BUCKET=photos"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PageSize != 3 || cfg.Latency != 1500*time.Millisecond || cfg.Storage != "s3" {
		t.Fatalf("got %+v", cfg)
	}
}

func TestEnvironRoundTrips(t *testing.T) {
	want := config.Default()
	want.DBDriver = config.DriverMySQL
	want.MySQLHost = "db.internal"
	want.MySQLSecretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1"
	want.Storage = config.StorageS3
	want.S3Bucket = "photos"
	want.Sessions = config.SessionsMemcached
	want.PageCache = config.CacheMemcached
	want.MemcachedServers = []string{"a:11211", "b:11211"}
	want.Latency = 250 * time.Millisecond
	want.EC2Metadata = true
	want.MaxUploadBytes = 1 << 20
	lines := want.Environ()
	got, err := config.Load(nil, env(lines...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip through %v\ngot  %+v\nwant %+v", lines, got, want)
	}
}

func TestBadValuesNameTheSetting(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"DB_DRIVER=postgres", `DB_DRIVER: "postgres" is not one of sqlite, mysql`},
		{"PAGE_SIZE=0", "PAGE_SIZE: 0 is not between 1 and 100"},
		{"PAGE_SIZE=-3", `PAGE_SIZE: "-3" is not a whole number`},
		{"LATENCY=-1s", `LATENCY: "-1s" is not a duration`},
		{"LATENCY=soon", `LATENCY: "soon" is not a duration`},
		{"EC2_METADATA=yes please", `EC2_METADATA: "yes please" is not true or false`},
		{"STORAGE=s3", "S3_BUCKET: required when STORAGE=s3"},
		{"DB_DRIVER=mysql", "MYSQL_HOST: required"},
		{"PAGE_CACHE=memcached", "MEMCACHED_SERVERS: required"},
		{"MEMCACHED_SERVERS=nohost", `MEMCACHED_SERVERS: "nohost" is not host:port`},
		{"S3_ENDPOINT=localhost", `S3_ENDPOINT: "localhost" is not an absolute URL`},
		{"ADDR=8080", `ADDR: "8080" is not host:port`},
	} {
		_, err := config.Load(nil, env(tc.env), io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.env, err, tc.want)
		}
	}
	if _, err := config.Load([]string{"stray"}, env(), io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
}

func TestEverySettingIsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range config.Settings {
		if s.Doc == "" || s.Levels == "" {
			t.Errorf("%s lacks a doc or levels", s.Name)
		}
		if seen[s.Name] {
			t.Errorf("%s is defined twice", s.Name)
		}
		seen[s.Name] = true
		_ = s.Default() // must not panic for any field type
	}
}

// The README's settings table is rendered from Settings; run
// `go test ./app/config -update-readme` after changing a setting.
func TestReadmeTableIsCurrent(t *testing.T) {
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
	before, rest, ok1 := strings.Cut(string(readme), begin)
	_, after, ok2 := strings.Cut(rest, end)
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	want := before + begin + config.MarkdownTable() + end + after
	if *updateReadme {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(readme) != want {
		t.Fatal("README.md's settings table is stale: run go test ./app/config -update-readme")
	}
}

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's settings table")
