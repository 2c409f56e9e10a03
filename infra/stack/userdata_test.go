package stack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appconfig "webdemo/app/config"
)

// TestUserData checks each level's boot script: size, the app's settings
// (parsed by the app's own loader), and the setup steps.
func TestUserData(t *testing.T) {
	type expect struct {
		driver, storage, sessions, cache string
		steps                            []string
		absent                           []string
	}
	want := map[int]expect{
		0: {"mysql", "disk", "memory", "off", []string{"mariadb105-server", "MYSQL_PASSWORD=$password"}, []string{"amazon-efs-utils", "rds-ca.pem"}},
		1: {"mysql", "disk", "memcached", "off", []string{"amazon-efs-utils", rdsCAURL}, []string{"mariadb105-server"}},
		2: {"mysql", "s3", "memcached", "off", []string{rdsCAURL}, []string{"amazon-efs-utils", "mariadb105-server"}},
		3: {"mysql", "s3", "memcached", "off", []string{rdsCAURL}, nil},
		4: {"mysql", "s3", "memcached", "memcached", []string{rdsCAURL}, nil},
	}
	for n := range 5 {
		sim := simulate(t, n)
		hosts := append(sim.ofType(tInstance), sim.ofType(tTemplate)...)
		script := userData(t, hosts[0])
		if len(script) >= maxUserData {
			t.Errorf("level %d user-data is %d bytes", n, len(script))
		}
		cfg, env := appSettings(t, script)
		w := want[n]
		if cfg.DBDriver != w.driver || cfg.Storage != w.storage || cfg.Sessions != w.sessions || cfg.PageCache != w.cache {
			t.Errorf("level %d app runs %s/%s/%s/%s, want %v", n, cfg.DBDriver, cfg.Storage, cfg.Sessions, cfg.PageCache, w)
		}
		if !cfg.EC2Metadata || cfg.Addr != ":80" || cfg.LatencySSMParam != "latency-name" || cfg.AWSRegion != MockRegion {
			t.Errorf("level %d: EC2 identity, port 80, latency parameter and region must be set: %v", n, env)
		}
		for _, step := range append(w.steps, "sha256sum --check", "NoNewPrivileges=yes", "ProtectSystem=strict", "CAP_NET_BIND_SERVICE") {
			if !strings.Contains(script, step) {
				t.Errorf("level %d user-data lacks %q", n, step)
			}
		}
		for _, step := range w.absent {
			if strings.Contains(script, step) {
				t.Errorf("level %d user-data has %q", n, step)
			}
		}
		for _, secret := range []string{"MYSQL_PASSWORD=", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"} {
			if _, ok := env[secret]; ok || (secret != "MYSQL_PASSWORD=" && strings.Contains(script, secret)) {
				t.Errorf("level %d user-data carries %s", n, secret)
			}
		}
		switch {
		case n == 0:
			if cfg.MySQLHost != "127.0.0.1" || cfg.MySQLUser != "webdemo" || cfg.UploadDir != localUploadDir {
				t.Errorf("level 0 settings %v", env)
			}
		case n == 1:
			if cfg.UploadDir != filesUploadDir || cfg.MemcachedServers[0] != "cache.abc123.0001.use1.cache.amazonaws.com:11211" {
				t.Errorf("level 1 settings %v", env)
			}
		default:
			if cfg.S3Bucket != "storage-uploads-bucket" || cfg.S3Prefix != uploadsPrefix || cfg.S3Endpoint != "" {
				t.Errorf("level %d S3 settings %v", n, env)
			}
		}
		if n >= 1 && (!cfg.MemcachedTLS || str(sim.one(t, tCache, "cache"), "transitEncryptionEnabled") != "true") {
			t.Errorf("level %d: memcached traffic is not encrypted in transit", n)
		}
		if n >= 1 && (cfg.MySQLHost != "database.abc123.us-east-1.rds.amazonaws.com" || cfg.MySQLTLSCAFile != rdsCAPath ||
			!strings.HasPrefix(cfg.MySQLSecretARN, "arn:aws:secretsmanager:") || cfg.ShutdownDrain != shutdownDrain) {
			t.Errorf("level %d database settings %v", n, env)
		}
		// Behind the ALB the client's address is in X-Forwarded-For, which
		// only the VPC's addresses may set; at level 0 nobody may.
		if trusted := fmt.Sprint(cfg.TrustedProxies); (n == 0 && trusted != "[]") || (n >= 1 && trusted != "["+vpcCIDR+"]") {
			t.Errorf("level %d trusts X-Forwarded-For from %s", n, trusted)
		}
		// The app never runs without the EFS it keeps uploads on:
		// RequiresMountsFor= adds Requires= and After= on the mount units
		// (systemd.unit(5)); After=remote-fs.target alone only orders, and
		// a failed mount would leave it writing to the root disk beneath.
		wantMount := ""
		if cfg.Storage == appconfig.StorageDisk && cfg.UploadDir == filesUploadDir {
			wantMount = filesMount
		}
		if got := scriptUnit(t, script, "webdemo.service")["RequiresMountsFor"]; got != wantMount || (n == 1) != (wantMount != "") {
			t.Errorf("level %d webdemo.service RequiresMountsFor=%q, want %q", n, got, wantMount)
		}
		shellcheck(t, n, script)
	}
}

func TestUnsharedStateReproducesTheBrokenStep(t *testing.T) {
	sim := simulateWith(t, map[string]string{"level": "1", "unsharedState": "true"})
	cfg, _ := appSettings(t, userData(t, sim.ofType(tInstance)[0]))
	if cfg.Sessions != appconfig.SessionsMemory || cfg.Storage != appconfig.StorageDisk || cfg.UploadDir != localUploadDir {
		t.Errorf("unshared level 1 runs sessions=%s storage=%s dir=%s", cfg.Sessions, cfg.Storage, cfg.UploadDir)
	}
	if len(sim.ofType(tEFS)) != 0 || len(sim.ofType(tCache)) != 0 {
		t.Error("unshared level 1 still builds EFS or memcached")
	}
}

func shellcheck(t *testing.T, n int, script string) {
	t.Helper()
	if _, err := exec.LookPath("shellcheck"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and shellcheck is missing")
		}
		t.Log("shellcheck missing; skipping the lint of user-data")
		return
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("user-data-%d.sh", n))
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("shellcheck", "--shell=bash", path).CombinedOutput(); err != nil {
		t.Errorf("level %d user-data fails shellcheck:\n%s", n, out)
	}
}
