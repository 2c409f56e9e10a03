package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"webdemo/app/doctor"
	"webdemo/app/internal/testenv"
)

// level2Env is a level-2-like setup on this machine's real services:
// MariaDB, memcached, an S3-compatible bucket and a latency file.
func level2Env(t *testing.T) map[string]string {
	t.Helper()
	for k, v := range testenv.Credentials() {
		t.Setenv(k, v) // the AWS SDK reads the process environment
	}
	bucket := testenv.FakeS3(t)
	latency := filepath.Join(t.TempDir(), "latency")
	if err := os.WriteFile(latency, []byte("250ms"), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"DB_DRIVER":         "mysql",
		"MYSQL_DSN":         testenv.MySQLDatabase(t).FormatDSN(),
		"SESSIONS":          "memcached",
		"MEMCACHED_SERVERS": testenv.MemcachedAddr(t),
		"MEMCACHED_PREFIX":  testenv.RandomName("doctor-") + ":",
		"STORAGE":           "s3",
		"S3_BUCKET":         bucket.Bucket,
		"S3_ENDPOINT":       bucket.Endpoint,
		"S3_PATH_STYLE":     "true",
		"LATENCY_FILE":      latency,
	}
}

func runDoctorWith(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), []string{"doctor"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out)
	t.Logf("webdemo doctor: %v\n%s", err, out.String())
	return out.String(), err
}

func TestDoctorPassesOnAWorkingSetup(t *testing.T) {
	out, err := runDoctorWith(t, level2Env(t))
	if err != nil {
		t.Fatalf("doctor = %v\n%s", err, out)
	}
	for _, want := range []string{
		`(?m)^ok +database +127\.0\.0\.1:\d+/webdemo_test_\w+ .*no photos table yet`,
		`(?m)^ok +memcached +.*set, get and delete of doctor-`,
		`(?m)^ok +uploads +s3://webdemo-test-\w+/uploads/ .*write, read and delete of `,
		`(?m)^ok +latency +.*delay 250ms$`,
		`(?m)^all 4 checks passed$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestDoctorNamesEachBrokenLink(t *testing.T) {
	env := level2Env(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	_ = ln.Close()
	env["MEMCACHED_SERVERS"] += "," + refused
	env["S3_BUCKET"] = "webdemo-no-such-bucket"

	out, err := runDoctorWith(t, env)
	if err == nil || err.Error() != "doctor: 2 of 5 checks failed" {
		t.Fatalf("doctor = %v, want 2 of 5 checks failed\n%s", err, out)
	}
	for _, want := range []string{
		`(?m)^ok +database `,
		`(?m)^ok +memcached +` + regexp.QuoteMeta(testenv.MemcachedAddr(t)) + ` `,
		`(?m)^FAIL +memcached +` + regexp.QuoteMeta(refused) + ` .*connection refused; hint: ` + regexp.QuoteMeta(doctor.Hint(doctor.Memcached, doctor.Refused)) + `$`,
		`(?m)^FAIL +uploads +s3://webdemo-no-such-bucket/uploads/ .*NoSuchBucket.*; hint: ` + regexp.QuoteMeta(doctor.Hint(doctor.S3, doctor.NoBucket)) + `$`,
		`(?m)^ok +latency `,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestDoctorRefusesBadSettings(t *testing.T) {
	out, err := runDoctorWith(t, map[string]string{"PAGE_SIZE": "0"})
	if err == nil || !strings.HasPrefix(err.Error(), "PAGE_SIZE:") {
		t.Fatalf("doctor = %v, want the setting named\n%s", err, out)
	}
}
