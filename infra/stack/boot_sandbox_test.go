package stack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appconfig "webdemo/app/config"
)

// TestBootSandbox boots each level's user-data on this machine, in a mount
// namespace whose writable directories are overlays (see
// testdata/sandbox/sandbox.sh), with stand-ins for the tools that would
// reach AWS or the internet (testdata/sandbox/bin). Then it runs the
// installed app the way the script's systemd unit says and asks /healthz.
// It needs root, unshare and overlayfs; it skips without them unless CI=true.
func TestBootSandbox(t *testing.T) {
	requireSandbox(t)
	app := sandboxApp(t)
	fake := newFakeAWS(t)
	for level := 0; level <= 4; level++ {
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			t.Parallel()          // each level is its own sandbox; most of the time is waiting
			checkHostUntouched(t) // registered first, so it runs after the sandbox is gone
			// One simulation at a time: Pulumi's mocks are not documented as
			// safe to run concurrently.
			sandboxSimulateMu.Lock()
			sim, err := Simulate(LevelConfig(level), Options{BuildApp: func(string) (Artifact, error) { return app, nil }})
			sandboxSimulateMu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			script, cloudConfig := bootScriptOf(t, sim)
			sb := newSandbox(t, sim, fake)
			sb.boot(t)
			sb.runScript(t, script, "boot")
			sb.checkApp(t, script)
			if level != 0 {
				return
			}
			// Level 0 updates in place: a stop/start boots the same root
			// volume, and cloud-init runs the user-data again.
			if !strings.Contains(cloudConfig, "scripts-user, always") {
				t.Log("note: level-0 user-data has no cloud-config with [scripts-user, always]; cloud-init runs a script once per instance, so a stop/start would not run it again")
			}
			sb.reboot(t)
			sb.runScript(t, script, "second boot")
			sb.checkRestarted(t, "webdemo.service")
			sb.checkApp(t, script)
		})
	}
}

// TestBootSandboxMigration boots the server that runs a migration's copy:
// the level-0 server pushing to level 1 (0 to 1), and the new level-0
// server pulling from level 1 (1 to 0), which then boots again without
// migrateFrom, as the second pulumi up leaves it. The copy's unit and
// environment file must be written, started, and read back by the app's
// loaders; the copy itself is the app's (webdemo copy), tested there.
func TestBootSandboxMigration(t *testing.T) {
	requireSandbox(t)
	app := sandboxApp(t)
	fake := newFakeAWS(t)
	simulate := func(t *testing.T, config map[string]string) *Simulation {
		t.Helper()
		sandboxSimulateMu.Lock()
		defer sandboxSimulateMu.Unlock()
		sim, err := Simulate(config, Options{BuildApp: func(string) (Artifact, error) { return app, nil }})
		if err != nil {
			t.Fatal(err)
		}
		return sim
	}
	for _, step := range []struct{ from, to int }{{0, 1}, {1, 0}} {
		t.Run(fmt.Sprintf("%d to %d", step.from, step.to), func(t *testing.T) {
			t.Parallel()
			checkHostUntouched(t)
			sim := simulate(t, migrationConfig(step.from, step.to))
			script, _ := splitUserData(t, rawUserData(t, sim.one(t, tInstance, "web-solo")))
			sb := newSandbox(t, sim, fake)
			sb.boot(t)
			sb.runScript(t, script, "boot")
			sb.checkApp(t, script)
			sb.checkCopy(t, script)
			if step.to != 0 {
				return // the second up deletes this server
			}
			// The second up: the same server, stopped and started with the
			// level's user-data, which removes the copy.
			final, _ := splitUserData(t, rawUserData(t, simulate(t, LevelConfig(0)).one(t, tInstance, "web-solo")))
			sb.reboot(t)
			sb.runScript(t, final, "boot after the migration")
			sb.checkApp(t, final)
			for _, p := range []string{"/etc/systemd/system/webdemo-copy.service", "/etc/webdemo/copy.env", "/run/sandbox-systemd/webdemo-copy.service",
				"/etc/systemd/system/multi-user.target.wants/webdemo-copy.service", "/etc/systemd/system/webdemo-copy.timer",
				"/run/sandbox-systemd/webdemo-copy.timer", "/etc/systemd/system/timers.target.wants/webdemo-copy.timer"} {
				if _, err := os.Lstat(sb.path(p)); err == nil {
					t.Errorf("%s is left after the migration", p)
				}
			}
			if fstab, _ := os.ReadFile(sb.path("/etc/fstab")); strings.Contains(string(fstab), filesMount) {
				t.Errorf("/etc/fstab still mounts the deleted EFS:\n%s", fstab)
			}
		})
	}
}

// checkCopy checks the migration's copy as the script left it: its unit
// and its timer written, enabled and started, and copy.env private and
// read back by the app's own loaders as the settings the program
// rendered, with the level-0 password the script made.
func (sb *sandbox) checkCopy(t *testing.T, script string) {
	t.Helper()
	const unitName, timerName = "webdemo-copy.service", "webdemo-copy.timer"
	for _, u := range []struct{ name, target string }{{unitName, "multi-user.target"}, {timerName, "timers.target"}} {
		if _, err := os.Stat(sb.path("/run/sandbox-systemd/" + u.name)); err != nil {
			t.Fatalf("the script never started %s\nstand-in calls:\n%s", u.name, sb.calls())
		}
		// Lstat: the link's target is a path inside the sandbox.
		if _, err := os.Lstat(sb.path("/etc/systemd/system/" + u.target + ".wants/" + u.name)); err != nil {
			t.Errorf("%s is not enabled: after a reboot the copy would not run again", u.name)
		}
	}
	if timer := readUnit(t, sb.path("/etc/systemd/system/"+timerName)); timer["OnUnitInactiveSec"] == "" {
		t.Errorf("%s never runs the copy again: no OnUnitInactiveSec=", timerName)
	}
	unit := readUnit(t, sb.path("/etc/systemd/system/"+unitName))
	if passwdEntry(t, sb.path("/etc/passwd"), unit["User"]) == nil {
		t.Errorf("%s runs as %q, which the script never created", unitName, unit["User"])
	}
	envFile := unit["EnvironmentFile"]
	info, err := os.Stat(sb.path(envFile))
	if err != nil {
		t.Fatalf("%s: %v", envFile, err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600: it may hold the MariaDB password", envFile, info.Mode().Perm())
	}
	env := readEnvFile(t, sb.path(envFile))
	password, err := os.ReadFile(sb.path("/etc/webdemo/mysql-password"))
	if err != nil || strings.TrimSpace(string(password)) == "" {
		t.Fatalf("no MariaDB password made on the host: %v", err)
	}
	target, err := appconfig.Load(nil, lookupIn(env), io.Discard)
	if err != nil {
		t.Fatalf("the app refuses %s's target: %v", envFile, err)
	}
	source, err := appconfig.LoadSource(target, lookupIn(env))
	if err != nil {
		t.Fatalf("the app refuses %s's source: %v", envFile, err)
	}
	local := source
	if target.MySQLHost == "127.0.0.1" {
		local = target
	}
	if local.MySQLPassword != strings.TrimSpace(string(password)) {
		t.Errorf("%s does not give the local MariaDB's password", envFile)
	}
	// As rendered, with the password the host made.
	rendered := copyEnv(t, script, local.MySQLPassword)
	wantTarget, err := appconfig.Load(nil, lookupIn(rendered), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantSource, err := appconfig.LoadSource(wantTarget, lookupIn(rendered))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(target, source) != fmt.Sprint(wantTarget, wantSource) {
		t.Errorf("%s differs from the user-data's:\n got %+v\n     %+v\nwant %+v\n     %+v", envFile, target, source, wantTarget, wantSource)
	}
}

var sandboxSimulateMu sync.Mutex

// requireSandbox skips the test where a sandbox cannot be made, or fails it
// in CI, where it must run.
func requireSandbox(t *testing.T) {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("boot sandbox unavailable in CI: "+format, args...)
		}
		t.Skipf("boot sandbox unavailable: "+format, args...)
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		unavailable("needs root on Linux (mount namespaces and overlayfs)")
	}
	for _, tool := range []string{"unshare", "nsenter", "setpriv", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable("no %s on PATH", tool)
		}
	}
	dir := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	probe := fmt.Sprintf("mount -t overlay probe -o lowerdir=%[1]s/lower,upperdir=%[1]s/upper,workdir=%[1]s/work %[1]s/merged", dir)
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", probe).CombinedOutput(); err != nil {
		unavailable("cannot mount an overlay in a mount namespace: %v: %s", err, out)
	}
}

// sandboxApp is the real app, built for this machine whatever instance type
// the level asks for: the sandbox runs it here. It is copied, and hashed
// again, because BuildApp's output path is shared with other test runs.
func sandboxApp(t *testing.T) Artifact {
	t.Helper()
	built, err := BuildApp(runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(built.Path)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "webdemo")
	if err := os.WriteFile(path, content, 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return Artifact{Path: path, SHA256: sum, GOARCH: runtime.GOARCH}
}

// bootScriptOf returns the shell script cloud-init would run from the
// level's user-data (the x-shellscript part of a MIME multipart document),
// and the cloud-config part if there is one.
func bootScriptOf(t *testing.T, sim *Simulation) (script, cloudConfig string) {
	t.Helper()
	// The raw user-data, as EC2 hands it to cloud-init (the userData helper
	// returns only the script).
	raw := ""
	for _, r := range sim.Resources {
		switch r.Type {
		case "aws:ec2/instance:Instance":
			raw = str(r, "userData")
		case "aws:ec2/launchTemplate:LaunchTemplate":
			b, err := base64.StdEncoding.DecodeString(str(r, "userData"))
			if err != nil {
				t.Fatalf("%s: user-data is not base64: %v", r.Name, err)
			}
			raw = string(b)
		}
		if raw != "" {
			break
		}
	}
	return splitUserData(t, raw)
}

// splitUserData returns the shell script and the cloud-config of raw
// user-data.
func splitUserData(t *testing.T, raw string) (script, cloudConfig string) {
	t.Helper()
	if strings.HasPrefix(raw, "#!") {
		return raw, ""
	}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("user-data is neither a script nor a MIME document: %v\n%s", err, raw)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		t.Fatalf("user-data is neither a script nor multipart (Content-Type %q)", msg.Header.Get("Content-Type"))
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := parts.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("user-data: %v", err)
		}
		var body io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, part)
		}
		content, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("user-data part: %v", err)
		}
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/x-shellscript":
			script = string(content)
		case "text/cloud-config":
			cloudConfig = string(content)
		}
	}
	if script == "" {
		t.Fatal("multipart user-data has no text/x-shellscript part")
	}
	return script, cloudConfig
}

// sandbox is one instance: its disk (overlay upper layers) outlives a
// reboot; its mount namespace lives as long as the holder process.
type sandbox struct {
	dir       string // on the host: upper/ and work/ (the disk), shared/ (/run/sandbox inside)
	fake      *fakeAWS
	mysqlPort int
	holder    *exec.Cmd
}

func newSandbox(t *testing.T, sim *Simulation, fake *fakeAWS) *sandbox {
	t.Helper()
	sb := &sandbox{dir: t.TempDir(), fake: fake, mysqlPort: sandboxPort(t)}
	shared := sb.shared()
	// The stand-ins, copied so that they are inside wherever the checkout is.
	if err := os.CopyFS(shared, os.DirFS(filepath.Join("testdata", "sandbox"))); err != nil {
		t.Fatal(err)
	}
	sandboxWrite(t, filepath.Join(shared, "config"), fmt.Sprintf("imds=%s\nmysql_port=%d\n", fake.URL, sb.mysqlPort), 0o644)
	sandboxWrite(t, filepath.Join(shared, "calls.log"), "", 0o644)

	// S3: every object the program uploads, under its bucket and key.
	for _, r := range sim.ofType("aws:s3/bucketObjectv2:BucketObjectv2") {
		source := value(r, "source")
		if !source.IsAsset() || source.AssetValue().Path == "" {
			t.Fatalf("%s: source is not a file", r.Name)
		}
		content, err := os.ReadFile(source.AssetValue().Path)
		if err != nil {
			t.Fatal(err)
		}
		sandboxWrite(t, filepath.Join(shared, "s3", str(r, "bucket"), str(r, "key")), string(content), 0o644)
	}

	// EFS: the file systems (by the ids the other EFS resources were given),
	// whether their policy refuses plain NFS, their access points, and
	// whether any role may act as root on them.
	var efs strings.Builder
	fileSystems := map[string]string{}
	for _, r := range sim.Resources {
		if id := str(r, "fileSystemId"); strings.HasPrefix(r.Type, "aws:efs/") && id != "" && fileSystems[id] == "" {
			fileSystems[id] = "tls-optional"
		}
	}
	for _, p := range sim.ofType("aws:efs/fileSystemPolicy:FileSystemPolicy") {
		if strings.Contains(str(p, "policy"), "aws:SecureTransport") {
			fileSystems[str(p, "fileSystemId")] = "tls-required"
		}
	}
	for id, tls := range fileSystems {
		fmt.Fprintf(&efs, "filesystem %s %s\n", id, tls)
	}
	for _, r := range sim.ofType("aws:efs/accessPoint:AccessPoint") {
		// "fsap-" + name is the id the mocks give an access point.
		fmt.Fprintf(&efs, "accesspoint %s %s %s %s %s %s %s\n", "fsap-"+r.Name, str(r, "fileSystemId"),
			str(r, "posixUser.uid"), str(r, "posixUser.gid"), str(r, "rootDirectory.creationInfo.ownerUid"),
			str(r, "rootDirectory.creationInfo.ownerGid"), str(r, "rootDirectory.creationInfo.permissions"))
	}
	for _, r := range sim.Resources {
		if strings.HasPrefix(r.Type, "aws:iam/") && strings.Contains(str(r, "policy"), "elasticfilesystem:ClientRootAccess") {
			efs.WriteString("clientrootaccess\n")
			break
		}
	}
	sandboxWrite(t, filepath.Join(shared, "efs"), efs.String(), 0o644)

	// The RDS CA bundle: any real CA certificate parses as the app expects.
	cas, _ := filepath.Glob("/etc/ssl/certs/*.pem")
	if len(cas) == 0 {
		t.Fatal("no CA certificate in /etc/ssl/certs to stand in for the RDS bundle")
	}
	content, err := os.ReadFile(cas[0])
	if err != nil {
		t.Fatal(err)
	}
	sandboxWrite(t, filepath.Join(shared, "rds-ca.pem"), string(content), 0o644)
	t.Cleanup(sb.shutdown)
	return sb
}

func (sb *sandbox) shared() string { return filepath.Join(sb.dir, "shared") }

// path is where the host sees a path of the running sandbox.
func (sb *sandbox) path(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", sb.holder.Process.Pid, p)
}

// command runs argv inside the sandbox's mount namespace, in directory wd
// (the namespace's / if empty).
func (sb *sandbox) command(ctx context.Context, wd string, argv ...string) *exec.Cmd {
	args := []string{"--target", strconv.Itoa(sb.holder.Process.Pid), "--mount"}
	if wd != "" {
		// nsenter opens the directory before it enters the namespace, so it
		// is named as the host sees it.
		args = append(args, "--wd="+sb.path(wd))
	}
	args = append(append(args, "--"), argv...)
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.WaitDelay = time.Second
	return cmd
}

// boot makes the namespace and mounts (sandbox.sh), then leaves the holder
// sleeping in it.
func (sb *sandbox) boot(t *testing.T) {
	t.Helper()
	holder := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", filepath.Join(sb.shared(), "sandbox.sh"), sb.dir)
	holder.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // if the test dies
	stderr := &lockedBuffer{}
	holder.Stderr = stderr
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	sb.holder = holder
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			_ = holder.Wait()
			t.Fatalf("sandbox did not boot: %s%s\nstand-in calls:\n%s", line, stderr.String(), sb.calls())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sandbox did not boot in 30 s: %s", stderr.String())
	}
}

// shutdown stops what the stand-ins started (MariaDB, by the pid they
// wrote) and then the holder, which ends the namespace and its mounts.
func (sb *sandbox) shutdown() {
	if sb.holder == nil {
		return
	}
	raw, _ := os.ReadFile(filepath.Join(sb.shared(), "pids"))
	for _, field := range strings.Fields(string(raw)) {
		if pid, err := strconv.Atoi(field); err == nil {
			stopDaemon(pid)
		}
	}
	_ = os.Remove(filepath.Join(sb.shared(), "pids"))
	_ = sb.holder.Process.Kill()
	_ = sb.holder.Wait()
	sb.holder = nil
}

// stopDaemon asks a daemon to stop and waits for it: MariaDB must close its
// files cleanly to start again on the next boot.
func stopDaemon(pid int) {
	if syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// reboot is a stop/start: a new namespace on the same disk.
func (sb *sandbox) reboot(t *testing.T) {
	t.Helper()
	sb.shutdown()
	sb.boot(t)
}

// runScript runs the user-data as cloud-init does: as root, from a file
// under /var/lib/cloud, with the stand-ins first on PATH.
func (sb *sandbox) runScript(t *testing.T, script, label string) {
	t.Helper()
	const file = "/var/lib/cloud/instance/scripts/part-001"
	sandboxWrite(t, sb.path(file), script, 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := sb.command(ctx, "", "env", "-i", "PATH=/run/sandbox/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", file)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	hint := ""
	if bytes.Contains(out, []byte("EFS squashes root")) {
		hint = "EFS: the script writes to an IAM-mounted EFS file system as root, and EFS squashes root there " +
			"(no ClientRootAccess): mount through an access point whose root directory belongs to the app user.\n"
	}
	t.Fatalf("%s: the user-data script failed (%v)\n%soutput:\n%s\nstand-in calls:\n%s", label, err, hint, out, sb.calls())
}

func (sb *sandbox) calls() string {
	raw, _ := os.ReadFile(filepath.Join(sb.shared(), "calls.log"))
	return string(raw)
}

// checkRestarted fails when a unit the script (re)installs was left running
// from boot: `systemctl enable --now` starts a stopped unit but leaves a
// running one alone, with its old binary and settings.
func (sb *sandbox) checkRestarted(t *testing.T, unit string) {
	t.Helper()
	who, err := os.ReadFile(sb.path("/run/sandbox-systemd/" + unit))
	if err != nil {
		t.Errorf("%s is not running after the script", unit)
	} else if strings.TrimSpace(string(who)) == "boot" {
		t.Errorf("second boot: %s, enabled on the first boot, was started by systemd at boot, and the script never restarted it: "+
			"the app keeps running the previous binary and settings. "+
			"Restart it (systemctl enable %[1]s && systemctl restart %[1]s).\nstand-in calls:\n%s", unit, sb.calls())
	}
}

// checkApp runs the app as the script's unit would (user, environment file,
// state directory), overriding only what must point at this machine, and
// asks GET /healthz.
func (sb *sandbox) checkApp(t *testing.T, script string) {
	t.Helper()
	const unitName = "webdemo.service"
	if _, err := os.Stat(sb.path("/run/sandbox-systemd/" + unitName)); err != nil {
		t.Fatalf("the script never started %s\nstand-in calls:\n%s", unitName, sb.calls())
	}
	unit := readUnit(t, sb.path("/etc/systemd/system/"+unitName))
	user, group := unit["User"], orDefault(unit["Group"], unit["User"])
	if user == "" {
		t.Fatalf("%s has no User=: the app would run as root", unitName)
	}
	account := passwdEntry(t, sb.path("/etc/passwd"), user)
	if account == nil {
		t.Fatalf("%s runs as %q, but the script created no such user", unitName, user)
	}

	// systemd's part: StateDirectory= is made and given to the user.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if dir := unit["StateDirectory"]; dir != "" {
		if out, err := sb.command(ctx, "", "install", "-d", "-o", user, "-g", group, "-m", "0755", "/var/lib/"+dir).CombinedOutput(); err != nil {
			t.Fatalf("StateDirectory=%s: %v: %s", dir, err, out)
		}
	}
	envFile := strings.TrimPrefix(unit["EnvironmentFile"], "-")
	env := readEnvFile(t, sb.path(envFile))

	// The environment file must give the app the settings the program
	// rendered (plus the level-0 password the script makes).
	rendered, _ := appSettings(t, script)
	got, err := appconfig.Load(nil, lookupIn(env), io.Discard)
	if err != nil {
		t.Fatalf("the app refuses %s: %v", envFile, err)
	}
	got.MySQLPassword = rendered.MySQLPassword
	if fmt.Sprint(got) != fmt.Sprint(rendered) {
		t.Errorf("%s differs from the user-data's settings:\n got %+v\nwant %+v", envFile, got, rendered)
	}

	// What systemd sets for a unit with User=.
	environ := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
		"USER=" + user, "LOGNAME=" + user, "HOME=" + account[5], "SHELL=" + account[6]}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	// The overrides, each because this machine is not the instance:
	port := sandboxPort(t)
	environ = append(environ,
		// not :80 — the unit's capability is not granted here, and the
		// port is the host's.
		fmt.Sprintf("ADDR=127.0.0.1:%d", port),
		// IMDSv2 (instance id, and the instance role's credentials) is the
		// test's fake, not 169.254.169.254.
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+sb.fake.URL,
		// SSM (the latency parameter, levels 3–4) and Secrets Manager (the
		// RDS secret, levels 1–4) are the same fake, not AWS.
		"AWS_ENDPOINT_URL_SSM="+sb.fake.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+sb.fake.URL,
	)
	// Level 0's MariaDB, when the stand-in runs a real one, listens on a
	// free port: 3306 may be this machine's own MariaDB. (RDS and
	// ElastiCache stay unreachable: /healthz does not need them.)
	_, err = os.Stat(sb.path("/run/mysqld/mysqld.sock"))
	sandboxDB := err == nil && env["MYSQL_HOST"] == "127.0.0.1"
	if sandboxDB {
		environ = append(environ, fmt.Sprintf("MYSQL_PORT=%d", sb.mysqlPort))
	}

	argv := []string{"setpriv", "--reuid=" + user, "--regid=" + group, "--init-groups", "--"}
	argv = append(argv, strings.Fields(unit["ExecStart"])...)
	cmd := sb.command(ctx, unit["WorkingDirectory"], argv...)
	cmd.Env = environ
	output := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	// StandardOutput=/StandardError= to a file: systemd opens it, as root,
	// before it starts the app. The test still reads the output.
	if f := sb.unitLogFile(t, unit["StandardOutput"]); f != nil {
		defer f.Close()
		cmd.Stdout = io.MultiWriter(f, output)
		cmd.Stderr = cmd.Stdout
	}
	if f := sb.unitLogFile(t, unit["StandardError"]); f != nil {
		defer f.Close()
		cmd.Stderr = io.MultiWriter(f, output)
	}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// No graceful stop: the app would drain for SHUTDOWN_DRAIN (20 s at the
	// levels with a load balancer), which this test is not about.
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	client := &http.Client{Timeout: time.Second}
	for healthy := false; !healthy; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the app exited (%v):\n%s", err, output.String())
		default:
		}
		if time.Since(started) > 15*time.Second {
			t.Fatalf("GET /healthz did not answer 200 within 15 s; app output:\n%s\nfake AWS calls: %v", output.String(), sb.fake.calls())
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			healthy = resp.StatusCode == http.StatusOK
		}
	}
	t.Logf("GET /healthz: 200 after %v; app output:\n%s", time.Since(started).Round(time.Millisecond), output.String())

	// The app migrates before it listens: with the sandbox's MariaDB, the
	// user and password the script made must have let it create its tables.
	if sandboxDB {
		out, err := sb.command(ctx, "", "mysql", "--user=root", "--batch", "--skip-column-names",
			"-e", "SHOW TABLES FROM `"+got.MySQLDatabase+"`").CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			t.Errorf("the app created no tables in the MariaDB the script set up (%v %s); app output:\n%s", err, out, output.String())
		}
	}

	// /healthz does not touch the upload store: check that the app's user
	// can write where it keeps uploads on disk (EFS at level 1).
	if got.Storage == appconfig.StorageDisk {
		dir := got.UploadDir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(orDefault(unit["WorkingDirectory"], "/"), dir)
		}
		probe := sb.command(ctx, "", "setpriv", "--reuid="+user, "--regid="+group, "--init-groups", "--",
			"/bin/sh", "-c", `f="$1/.sandbox-write-probe" && : >"$f" && rm "$f"`, "sh", dir)
		if out, err := probe.CombinedOutput(); err != nil {
			t.Errorf("%s cannot write to its UPLOAD_DIR %s: %v: %s", user, dir, err, out)
		}
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// unitLogFile opens the file a StandardOutput= or StandardError= of
// append:, file: or truncate: names, as systemd would: the file is created,
// its directory is not. Other settings give nil.
func (sb *sandbox) unitLogFile(t *testing.T, setting string) *os.File {
	t.Helper()
	kind, path, _ := strings.Cut(setting, ":")
	flags := map[string]int{"append": os.O_APPEND, "file": 0, "truncate": os.O_TRUNC}
	flag, ok := flags[kind]
	if !ok {
		return nil
	}
	f, err := os.OpenFile(sb.path(path), os.O_WRONLY|os.O_CREATE|flag, 0o644)
	if err != nil {
		t.Fatalf("systemd cannot open %s, so the app would not start: %v", setting, err)
	}
	return f
}

// readUnit reads a systemd unit's Key=Value lines (last one wins).
func readUnit(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no unit file: %v", err)
	}
	unit := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(line, "#") {
			unit[k] = v
		}
	}
	return unit
}

// readEnvFile reads a systemd EnvironmentFile: KEY=value, or KEY="value"
// with backslash escapes.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no environment file: %v", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(v[1 : len(v)-1])
		}
		env[k] = v
	}
	return env
}

// passwdEntry returns the fields of user's line in a passwd file.
func passwdEntry(t *testing.T, path, user string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if fields := strings.Split(line, ":"); len(fields) == 7 && fields[0] == user {
			return fields
		}
	}
	return nil
}

// checkHostUntouched fails the test if the host's copies of what the boot
// script writes changed while it ran.
func checkHostUntouched(t *testing.T) {
	t.Helper()
	paths := []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/etc/fstab", "/etc/systemd",
		"/usr/local/bin", "/etc/webdemo", "/var/log/webdemo-boot.log", "/var/lib/webdemo"}
	before := hostSnapshot(t, paths)
	t.Cleanup(func() {
		after := hostSnapshot(t, paths)
		for p, was := range before {
			if after[p] != was {
				t.Errorf("the host's %s changed (%s → %s)", p, was, after[p])
			}
		}
		for p, is := range after {
			if _, ok := before[p]; !ok {
				t.Errorf("the host gained %s (%s)", p, is)
			}
		}
	})
}

func hostSnapshot(t *testing.T, roots []string) map[string]string {
	t.Helper()
	state := map[string]string{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && p == root {
					state[p] = "absent"
					return nil
				}
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			desc := fmt.Sprintf("%v %d", info.Mode(), info.Size())
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				desc += " -> " + target
			case info.Mode().IsRegular():
				sum, err := fileSHA256(p)
				if err != nil {
					return err
				}
				desc += " " + sum[:16]
			}
			state[p] = desc
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return state
}

// fakeAWS is IMDSv2 (with the instance role's credentials), SSM
// GetParameter and Secrets Manager GetSecretValue, for the app.
type fakeAWS struct {
	*httptest.Server
	mu  sync.Mutex
	log []string
}

func newFakeAWS(t *testing.T) *fakeAWS {
	t.Helper()
	f := &fakeAWS{}
	const token, role = "sandbox-imds-token", "web-demo-app"
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		f.mu.Lock()
		f.log = append(f.log, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+target))
		f.mu.Unlock()
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
			fmt.Fprint(w, token)
		case strings.HasPrefix(r.URL.Path, "/latest/"):
			// IMDSv2 only, as the instances are configured.
			if r.Header.Get("X-Aws-Ec2-Metadata-Token") != token {
				http.Error(w, "", http.StatusUnauthorized)
				return
			}
			path := strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")
			switch {
			case path == "instance-id":
				fmt.Fprint(w, "i-0sandbox")
			case path == "local-ipv4":
				fmt.Fprint(w, "10.0.1.23")
			case strings.HasPrefix(path, "iam/security-credentials") && strings.HasSuffix(path, "/"):
				fmt.Fprint(w, role)
			case strings.HasPrefix(path, "iam/security-credentials") && strings.HasSuffix(path, "/"+role):
				_ = json.NewEncoder(w).Encode(map[string]string{"Code": "Success", "Type": "AWS-HMAC",
					"AccessKeyId": "ASIASANDBOX", "SecretAccessKey": "sandbox", "Token": "sandbox",
					"LastUpdated": time.Now().UTC().Format(time.RFC3339), "Expiration": time.Now().Add(6 * time.Hour).UTC().Format(time.RFC3339)})
			default:
				http.NotFound(w, r)
			}
		case target == "AmazonSSM.GetParameter":
			var in struct{ Name string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "String", "Value": "0", "Version": 1}})
		case target == "secretsmanager.GetSecretValue":
			var in struct{ SecretId string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": "sandbox",
				"SecretString": `{"username":"admin","password":"sandbox"}`})
		default:
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"UnknownOperationException","message":"not faked by the boot sandbox"}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAWS) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

func sandboxPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func sandboxWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
