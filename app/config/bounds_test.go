package config_test

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"webdemo/app/config"
)

// Every bound, just past each end, stops the load with one line naming the
// setting.
func TestBoundsNameTheSetting(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"MAX_UPLOAD_BYTES=9223372036854775807", "MAX_UPLOAD_BYTES: 9223372036854775807 is not between 1024 and 104857600, uploads are held in memory"},
		{"MAX_UPLOAD_BYTES=9223372036854775808", `MAX_UPLOAD_BYTES: "9223372036854775808" is far too large`},
		{"MAX_UPLOAD_BYTES=104857601", "MAX_UPLOAD_BYTES: 104857601 is not between 1024 and 104857600"},
		{"MAX_UPLOAD_BYTES=1023", "MAX_UPLOAD_BYTES: 1023 is not between 1024 and 104857600"},
		{"MAX_IMAGE_PIXELS=0", "MAX_IMAGE_PIXELS: 0 is not between 1 and 500000000"},
		{"MAX_IMAGE_PIXELS=500000001", "MAX_IMAGE_PIXELS: 500000001 is not between 1 and 500000000"},
		{"PAGE_SIZE=0", "PAGE_SIZE: 0 is not between 1 and 100"},
		{"PAGE_SIZE=101", "PAGE_SIZE: 101 is not between 1 and 100"},
		{"MYSQL_PORT=0", "MYSQL_PORT: 0 is not between 1 and 65535"},
		{"MYSQL_PORT=65536", "MYSQL_PORT: 65536 is not between 1 and 65535"},
		{"MYSQL_MAX_CONNS=0", "MYSQL_MAX_CONNS: 0 is not between 1 and 1000"},
		{"MYSQL_MAX_CONNS=1001", "MYSQL_MAX_CONNS: 1001 is not between 1 and 1000"},
		{"LOGIN_ATTEMPTS_PER_MINUTE=0", "LOGIN_ATTEMPTS_PER_MINUTE: 0 is not between 1 and 1000"},
		{"LOGIN_ATTEMPTS_PER_MINUTE=1001", "LOGIN_ATTEMPTS_PER_MINUTE: 1001 is not between 1 and 1000"},
		{"S3_PRESIGN_EXPIRY=59s", "S3_PRESIGN_EXPIRY: 59s is not between 1m and 1h, a URL copied out of a page should work for an hour at most"},
		{"S3_PRESIGN_EXPIRY=61m", "S3_PRESIGN_EXPIRY: 1h1m is not between 1m and 1h, a URL copied out of a page should work for an hour at most"},
		{"PAGE_CACHE_TTL=0", "PAGE_CACHE_TTL: 0s is not between 1s and 24h"},
		{"PAGE_CACHE_TTL=25h", "PAGE_CACHE_TTL: 25h is not between 1s and 24h"},
		{"LATENCY=31s", "LATENCY: 31s is not between 0s and 30s, half the load balancer's 60s idle timeout"},
		{"LATENCY_POLL=500ms", "LATENCY_POLL: 500ms is not between 1s and 1h"},
		{"LATENCY_POLL=2h", "LATENCY_POLL: 2h is not between 1s and 1h"},
		{"SHUTDOWN_DRAIN=6m", "SHUTDOWN_DRAIN: 6m is not between 0s and 5m"},
		{"SHUTDOWN_TIMEOUT=0", "SHUTDOWN_TIMEOUT: 0s is not between 1s and 10m"},
		{"SHUTDOWN_TIMEOUT=11m", "SHUTDOWN_TIMEOUT: 11m is not between 1s and 10m"},
		{"SESSION_IDLE_TIMEOUT=59s", "SESSION_IDLE_TIMEOUT: 59s is not between 1m and 24h"},
		{"SESSION_IDLE_TIMEOUT=25h", "SESSION_IDLE_TIMEOUT: 25h is not between 1m and 24h"},
		{"SESSION_IDLE_TIMEOUT=13h", "SESSION_IDLE_TIMEOUT: 13h is longer than SESSION_LIFETIME 12h"},
		{"SESSION_LIFETIME=59s", "SESSION_LIFETIME: 59s is not between 1m and 720h"},
		{"SESSION_LIFETIME=721h", "SESSION_LIFETIME: 721h is not between 1m and 720h, memcached's longest relative expiry"},
		{"LATENCY=1e300", `LATENCY: "1e300" is not a duration`},

		{"ADDR=localhost:65536", `ADDR: "localhost:65536": port "65536" is not between 0 and 65535`},
		{"ADDR=localhost:-1", `ADDR: "localhost:-1": port "-1" is not between 0 and 65535`},
		{"ADDR=localhost:http", `ADDR: "localhost:http": port "http" is not between 0 and 65535`},
		{"ADDR=local_host:80", `ADDR: "local_host:80": "local_host" is not a host name or IP address`},
		{"METRICS_ADDR=localhost:65536", `METRICS_ADDR: "localhost:65536": port "65536" is not between 0 and 65535`},
		{"METRICS_ADDR=9090", `METRICS_ADDR: "9090" is not host:port`},
		{"ADDR=-bad.example:80", `ADDR: "-bad.example:80": "-bad.example" is not a host name or IP address`},
		{"ADDR=" + strings.Repeat("a", 64) + ".example:80", `ADDR: "` + strings.Repeat("a", 64) + `.example:80": "`},
		{"MEMCACHED_SERVERS=cache:0", `MEMCACHED_SERVERS: "cache:0" is not host:port`},
		{"MEMCACHED_SERVERS=:11211", `MEMCACHED_SERVERS: ":11211" is not host:port`},
		{"MEMCACHED_SERVERS=" + strings.Repeat("c:1,", 33), "MEMCACHED_SERVERS: 33 entries are more than 32"},
		{"MEMCACHED_PREFIX=" + strings.Repeat("p", 101), `MEMCACHED_PREFIX: "ppp`},
		{"MEMCACHED_PREFIX=web demo", `MEMCACHED_PREFIX: "web demo" is not up to 100 bytes without spaces`},
		{"MYSQL_HOST=db host", `MYSQL_HOST: "db host" is not a host name or IP address`},
		{"MYSQL_DATABASE=" + strings.Repeat("d", 65), `MYSQL_DATABASE: "ddd`},
		{"MYSQL_USER=" + strings.Repeat("u", 33), `MYSQL_USER: "uuu`},
		{"AWS_REGION=Europe", `AWS_REGION: "Europe" is not a region such as eu-west-1`},
		{"INSTANCE_NAME=" + strings.Repeat("é", 65), "INSTANCE_NAME: 65 characters are more than 64"},
		{"S3_BUCKET=Photos", `S3_BUCKET: "Photos" is not a bucket name`},
		{"S3_BUCKET=ab", `S3_BUCKET: "ab" is not a bucket name`},
		{"S3_PREFIX=" + strings.Repeat("k/", 257), "S3_PREFIX: 514 bytes are more than 512"},
		{"S3_ENDPOINT=ftp://files.example", `S3_ENDPOINT: "ftp://files.example" is not an absolute URL`},
		{"CDN_BASE_URL=javascript:alert(1)", `CDN_BASE_URL: "javascript:alert(1)" is not an absolute URL`},
		{"TRUSTED_PROXIES=10.0.0.0/33", `TRUSTED_PROXIES: "10.0.0.0/33" is not a CIDR`},
		{"TRUSTED_PROXIES=alb", `TRUSTED_PROXIES: "alb" is not a CIDR`},
		{"TRUSTED_PROXIES=" + strings.Repeat("10.0.0.1,", 33), "TRUSTED_PROXIES: 33 entries are more than 32"},
		{"SQLITE_PATH=" + strings.Repeat("x", 1025), "SQLITE_PATH: 1025 bytes is longer than 1024"},
		{"UPLOAD_DIR=up\x00loads", `UPLOAD_DIR: "up\x00loads" contains a control character`},
		{"MYSQL_PASSWORD=pw\nMYSQL_HOST=evil", `MYSQL_PASSWORD: "pw\nMYSQL_HOST=evil" contains a control character`},
		{"INSTANCE_NAME=\xff", `INSTANCE_NAME: "\xff" is not valid UTF-8`},
	} {
		k, v, _ := strings.Cut(tc.env, "=")
		_, err := config.Load(nil, env(k+"="+v), io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%.60s: err = %v\nwant one line starting %q", tc.env, err, tc.want)
		}
	}
}

// Each end of every bound is itself allowed.
func TestBoundsAreInclusive(t *testing.T) {
	for _, e := range []string{
		"MAX_UPLOAD_BYTES=1024", "MAX_UPLOAD_BYTES=104857600", "PAGE_SIZE=100", "MYSQL_PORT=65535",
		"S3_PRESIGN_EXPIRY=1h", "S3_PRESIGN_EXPIRY=1m", "LATENCY=30s", "SESSION_LIFETIME=720h", "ADDR=:0", "ADDR=[::1]:65535", "METRICS_ADDR=127.0.0.1:0",
		"ADDR=web-1.internal.example:80", "SHUTDOWN_DRAIN=5m", "LATENCY_POLL=1h", "S3_BUCKET=a.b",
		"AWS_REGION=us-gov-west-1", "LOGIN_ATTEMPTS_PER_MINUTE=1000",
	} {
		if _, err := config.Load(nil, env(e), io.Discard); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
}

// A new number or duration setting must say its bounds.
func TestEveryNumberIsBounded(t *testing.T) {
	for _, s := range config.Settings {
		if isNumber(s) && s.Range() == "" {
			t.Errorf("%s has no bounds", s.Name)
		}
	}
}

// isNumber reports whether the setting parses as a number or a duration:
// such a setting rejects a word.
func isNumber(s config.Setting) bool {
	_, err := config.Load(nil, env(s.Name+"=x"), io.Discard)
	return err != nil && (strings.Contains(err.Error(), "not a whole number") || strings.Contains(err.Error(), "not a duration"))
}

func TestTrustedProxiesParse(t *testing.T) {
	cfg, err := config.Load(nil, env("TRUSTED_PROXIES=10.0.7.9/16, 127.0.0.1 ,::ffff:192.0.2.1, 2001:db8::/32"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32"),
	}
	if len(cfg.TrustedProxies) != len(want) {
		t.Fatalf("got %v, want %v", cfg.TrustedProxies, want)
	}
	for i := range want {
		if cfg.TrustedProxies[i] != want[i] {
			t.Fatalf("got %v, want %v", cfg.TrustedProxies, want)
		}
	}
	if cfg.SessionIdle != time.Hour || cfg.SessionLifetime != 12*time.Hour || cfg.LoginsPerMinute != 10 {
		t.Fatalf("session and login defaults changed: %+v", cfg)
	}
}
