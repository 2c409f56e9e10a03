package config

import (
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, lines ...string) Config {
	t.Helper()
	cfg, err := Load(nil, lookupOf(lines...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Two valid configurations that differ in every setting: each one's
// strings and lists are set where the other leaves them empty or sets
// something else.
func twoConfigs(t *testing.T) (a, b Config) {
	a = mustLoad(t, "ADDR=0.0.0.0:80", "METRICS_ADDR=127.0.0.1:9100", "INSTANCE_NAME=web-1", "EC2_METADATA=true",
		"DB_DRIVER=mysql", "SQLITE_PATH=/var/lib/a.db", "MYSQL_DSN=u:p@tcp(db:3306)/a", "MYSQL_HOST=db.internal", "MYSQL_PORT=3307",
		"MYSQL_DATABASE=photos", "MYSQL_USER=admin", "MYSQL_PASSWORD=secret", "MYSQL_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:1:secret:x",
		"MYSQL_TLS_CA_FILE=/etc/rds.pem", "MYSQL_MAX_CONNS=50", "AWS_REGION=eu-west-1", "PAGE_SIZE=20", "MAX_UPLOAD_BYTES=2048",
		"MAX_IMAGE_PIXELS=1000", "MAX_CONCURRENT_UPLOADS=4", "STORAGE=s3", "UPLOAD_DIR=/mnt/efs/uploads", "S3_BUCKET=photos-a",
		"S3_PREFIX=a/", "S3_ENDPOINT=http://127.0.0.1:9000", "S3_PATH_STYLE=true", "S3_PRESIGN_EXPIRY=30m", "CDN_BASE_URL=https://cdn.example.com",
		"ORPHAN_SWEEP_AFTER=1h", "SESSIONS=memcached", "MEMCACHED_SERVERS=a:11211,b:11211", "MEMCACHED_TLS=true", "MEMCACHED_PREFIX=a:",
		"COOKIE_SECURE=true", "SESSION_IDLE_TIMEOUT=2h", "SESSION_LIFETIME=3h", "LOGIN_ATTEMPTS_PER_MINUTE=5", "TRUSTED_PROXIES=10.0.0.0/16",
		"PAGE_CACHE=memcached", "PAGE_CACHE_TTL=2m", "LATENCY=1s", "LATENCY_FILE=/tmp/latency", "LATENCY_POLL=5s",
		"SHUTDOWN_DRAIN=10s", "SHUTDOWN_TIMEOUT=30s")
	b = mustLoad(t, "S3_PREFIX=b/", "MEMCACHED_PREFIX=b:", "PAGE_CACHE=memory", "LATENCY_SSM_PARAMETER=/webdemo/latency")
	// Settings that must not be empty: b's own values.
	b.Addr, b.SQLitePath, b.UploadDir, b.MySQLDatabase = ":8080", "b.db", "b-uploads", "b"
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if format(s.field(&a)) == format(s.field(&b)) {
			t.Fatalf("the two configurations agree on %s; make them differ so its round trip is tested", s.Name)
		}
	}
	return a, b
}

func TestEnvironFromRoundTripsEverySetting(t *testing.T) {
	a, b := twoConfigs(t)
	for _, tc := range []struct {
		name           string
		target, source Config
		// wantEmpty is a setting the source leaves empty where the
		// target sets it, so it must render as FROM_KEY=.
		wantEmpty string
	}{{"a from b", a, b, "MYSQL_SECRET_ARN"}, {"b from a", b, a, ""}, {"a from a", a, a, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			lines := tc.source.EnvironFrom(tc.target)
			for _, line := range lines {
				if !strings.HasPrefix(line, SourcePrefix) {
					t.Errorf("line %q lacks %s", line, SourcePrefix)
				}
			}
			if tc.wantEmpty != "" && !slices.Contains(lines, SourcePrefix+tc.wantEmpty+"=") {
				t.Errorf("lines %v lack %s%s=", lines, SourcePrefix, tc.wantEmpty)
			}
			got, err := LoadSource(tc.target, lookupOf(lines...))
			if err != nil {
				t.Fatalf("LoadSource(%v): %v", lines, err)
			}
			if !reflect.DeepEqual(got, tc.source) {
				t.Fatalf("LoadSource of %v\n= %+v\nwant %+v", lines, got, tc.source)
			}
		})
	}
	if lines := a.EnvironFrom(a); len(lines) != 0 {
		t.Fatalf("a source like its target renders %v; want nothing", lines)
	}
}

// The contract's example: only the blobs come from elsewhere.
func TestUnsetSourceSettingsAreTheTargets(t *testing.T) {
	target := mustLoad(t, "DB_DRIVER=mysql", "MYSQL_HOST=db.internal", "STORAGE=s3", "S3_BUCKET=photos")
	src, err := LoadSource(target, lookupOf("FROM_STORAGE=disk", "FROM_UPLOAD_DIR=/mnt/efs/uploads", "STORAGE=ignored"))
	if err != nil {
		t.Fatal(err)
	}
	want := target
	want.Storage, want.UploadDir = StorageDisk, "/mnt/efs/uploads"
	if !reflect.DeepEqual(src, want) {
		t.Fatalf("got %+v\nwant %+v", src, want)
	}
}

func TestBadSourceValuesNameTheFromVariable(t *testing.T) {
	target := mustLoad(t)
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"FROM_STORAGE=floppy"}, "FROM_STORAGE: "},
		{[]string{"FROM_MYSQL_PORT=70000"}, "FROM_MYSQL_PORT: "},
		{[]string{"FROM_S3_PATH_STYLE=maybe"}, "FROM_S3_PATH_STYLE: "},
		{[]string{"FROM_STORAGE=s3"}, "FROM_S3_BUCKET: "},
		{[]string{"FROM_DB_DRIVER=mysql"}, "FROM_MYSQL_HOST: "},
		{[]string{"FROM_S3_ENDPOINT=ftp://x"}, "FROM_S3_ENDPOINT: "},
		{[]string{"FROM_TRUSTED_PROXIES=10.0.0.0/33"}, "FROM_TRUSTED_PROXIES: "},
		{[]string{"FROM_PAGE_SIZE=0"}, "FROM_PAGE_SIZE: "},
		// Empty is a value, and these settings have no empty one.
		{[]string{"FROM_PAGE_SIZE="}, "FROM_PAGE_SIZE: empty"},
		{[]string{"FROM_STORAGE="}, "FROM_STORAGE: empty"},
		{[]string{"FROM_S3_PATH_STYLE= "}, "FROM_S3_PATH_STYLE: empty"},
		{[]string{"FROM_SESSION_IDLE_TIMEOUT="}, "FROM_SESSION_IDLE_TIMEOUT: empty"},
		// Empty text is a value the source may not have.
		{[]string{"FROM_UPLOAD_DIR="}, "FROM_UPLOAD_DIR: "},
	} {
		_, err := LoadSource(target, lookupOf(tc.env...))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("LoadSource(%v) = %v; want an error starting %q", tc.env, err, tc.want)
		}
	}
}

// An empty FROM_ text or list setting empties it, unlike an unset one, and
// a FROM_ variable that names no setting is not read at all.
func TestEmptySourceSettingsAreEmpty(t *testing.T) {
	target := mustLoad(t, "DB_DRIVER=mysql", "MYSQL_HOST=db.internal", "MYSQL_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:1:secret:x",
		"MYSQL_TLS_CA_FILE=/etc/rds.pem", "TRUSTED_PROXIES=10.0.0.0/16", "MEMCACHED_SERVERS=a:11211")
	src, err := LoadSource(target, lookupOf("FROM_MYSQL_SECRET_ARN=", "FROM_MYSQL_USER=admin", "FROM_MYSQL_TLS_CA_FILE= ",
		"FROM_TRUSTED_PROXIES=", "FROM_MEMCACHED_SERVERS=", "FROM_NO_SUCH_SETTING=x"))
	if err != nil {
		t.Fatal(err)
	}
	want := target
	want.MySQLSecretARN, want.MySQLUser, want.MySQLTLSCAFile, want.TrustedProxies, want.MemcachedServers = "", "admin", "", nil, nil
	if !reflect.DeepEqual(src, want) {
		t.Fatalf("got %+v\nwant %+v", src, want)
	}
}
