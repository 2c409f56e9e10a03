package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-sql-driver/mysql"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"webdemo/infra/level"
)

// Options say which level to run and how.
type Options struct {
	Level     int
	Instances int
	// Port is where the site answers: HAProxy's front end, or the single
	// instance at level 0.
	Port     int
	Unshared bool
	Latency  time.Duration
	// AppBinary is a built app; empty builds one.
	AppBinary string
	// Log receives progress lines.
	Log io.Writer
	// Interpose, when set, is given each backing service's address as it
	// starts ("database", "memcached" or "s3") and returns the address the
	// instances dial instead: a proxy that a test cuts to stage an outage.
	Interpose func(service, addr string) string
	// S3ClockBehind makes the local S3 date every object this much in the
	// past, so a test sees what the instances do with old objects (the
	// orphan sweep) without waiting for them to age.
	S3ClockBehind time.Duration
}

// Cluster is a level running on loopback.
type Cluster struct {
	URL       string
	StatsURL  string
	Features  level.Features
	Instances []*Instance
	// MySQLDSN reaches the level's database, when it has one.
	MySQLDSN string
	// S3Endpoint and Bucket hold the uploads at levels 2 to 4.
	S3Endpoint, Bucket string
	// LatencyFile changes every instance's simulated delay when rewritten.
	LatencyFile string
	Services    []string

	opts     Options
	dir      string
	children []*exec.Cmd
	s3       *http.Server
	stopOnce sync.Once
}

// Instance is one app server.
type Instance struct {
	Name    string
	URL     string
	LogPath string
	// MetricsURL serves the instance's Prometheus metrics, on a port of
	// its own that HAProxy never forwards to.
	MetricsURL string

	binary string
	env    []string
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
}

// Fake keys for the local S3 endpoint, which checks none; no real key
// belongs here.
const localAccessKey = "web-demo-local"

// Start brings the level up. On error everything already started is
// stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	features, err := level.For(opts.Level, opts.Unshared)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Instances < 1 || opts.Instances > 10:
		return nil, fmt.Errorf("--instances %d: use 1 to 10", opts.Instances)
	case !features.LoadBalancer && opts.Instances != 1:
		return nil, fmt.Errorf("--instances %d: level 0 is one server; levels 1 to 4 put several behind a load balancer", opts.Instances)
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if err := requireTools(features); err != nil {
		return nil, err
	}
	if err := portFree(opts.Port); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, Features: features}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if c.dir, err = os.MkdirTemp("", "web-demo-cluster-"); err != nil {
		return nil, err
	}
	binary := opts.AppBinary
	if binary == "" {
		fmt.Fprintln(opts.Log, "Building the app…")
		if binary, err = buildApp(c.dir); err != nil {
			return nil, err
		}
	}

	endpoints := level.Endpoints{Region: "us-east-1", Latency: opts.Latency}
	c.LatencyFile = filepath.Join(c.dir, "latency")
	if err := os.WriteFile(c.LatencyFile, []byte(opts.Latency.String()+"\n"), 0o644); err != nil {
		return nil, err
	}
	endpoints.LatencyFile = c.LatencyFile
	if features.LoadBalancer {
		// HAProxy checks every second and gives up after two failures.
		endpoints.ShutdownDrain = 2500 * time.Millisecond
		// HAProxy forwards the client's address from loopback.
		endpoints.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	if features.ManagedDatabase {
		addr, err := c.startMariaDB(ctx)
		if err != nil {
			return nil, err
		}
		c.MySQLDSN = localDSN(addr)
		endpoints.MySQLDSN = localDSN(c.interpose("database", addr))
	}
	if features.UsesCache() {
		addr, err := c.startMemcached(ctx)
		if err != nil {
			return nil, err
		}
		endpoints.MemcachedServers = []string{c.interpose("memcached", addr)}
	}
	if features.ObjectStorage {
		addr, err := c.startS3(ctx)
		if err != nil {
			return nil, err
		}
		c.S3Endpoint, c.Bucket = "http://"+addr, localBucket
		endpoints.S3Endpoint, endpoints.Bucket = "http://"+c.interpose("s3", addr), localBucket
	}
	if features.SharedFiles {
		endpoints.UploadDir = filepath.Join(c.dir, "efs")
		c.Services = append(c.Services, "shared uploads (EFS stand-in): "+endpoints.UploadDir)
	}

	for i := 1; i <= opts.Instances; i++ {
		instance, err := c.newInstance(i, binary, features, endpoints)
		if err != nil {
			return nil, err
		}
		if err := instance.start(ctx); err != nil {
			return nil, err
		}
		c.Instances = append(c.Instances, instance)
	}
	if !features.LoadBalancer {
		c.URL = c.Instances[0].URL
		return c, nil
	}
	if err := c.startHAProxy(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) interpose(service, addr string) string {
	if c.opts.Interpose == nil {
		return addr
	}
	return c.opts.Interpose(service, addr)
}

// localDSN reaches the throwaway MariaDB, which checks no passwords.
func localDSN(addr string) string { return fmt.Sprintf("webdemo@tcp(%s)/webdemo", addr) }

// newInstance configures instance i with the same code that renders the
// AWS user-data: level.AppConfig.
func (c *Cluster) newInstance(i int, binary string, f level.Features, e level.Endpoints) (*Instance, error) {
	name := fmt.Sprintf("web-%d", i)
	own := filepath.Join(c.dir, name)
	if err := os.MkdirAll(own, 0o755); err != nil {
		return nil, err
	}
	port := c.opts.Port
	if f.LoadBalancer {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	e.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	e.InstanceName = name
	e.SQLitePath = filepath.Join(own, "webdemo.db")
	if e.UploadDir == "" {
		e.UploadDir = filepath.Join(own, "uploads")
	}
	cfg, err := level.AppConfig(f, e)
	if err != nil {
		return nil, fmt.Errorf("%s settings: %w", name, err)
	}
	// On AWS METRICS_ADDR stays unset; here every instance shows its
	// metrics.
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg.MetricsAddr = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	env := append(cfg.Environ(),
		"PATH="+os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID="+localAccessKey,
		"AWS_SECRET_ACCESS_KEY="+localAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	return &Instance{
		Name: name, URL: "http://" + e.Addr, LogPath: filepath.Join(own, "app.log"),
		MetricsURL: "http://" + cfg.MetricsAddr + "/metrics",
		binary:     binary, env: env,
	}, nil
}

// start runs the instance and waits until it answers /healthz.
func (in *Instance) start(ctx context.Context) error {
	logFile, err := os.OpenFile(in.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(in.binary)
	cmd.Env = in.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	in.mu.Lock()
	in.cmd, in.done = cmd, done
	in.mu.Unlock()
	if err := waitHTTP(ctx, in.URL+"/healthz", done); err != nil {
		log, _ := os.ReadFile(in.LogPath)
		return fmt.Errorf("%s did not start: %w\n%s", in.Name, err, lastLines(string(log), 5))
	}
	return nil
}

// Restart starts a stopped or killed instance again.
func (in *Instance) Restart(ctx context.Context) error { return in.start(ctx) }

// Kill ends the instance at once, as a crash would.
func (in *Instance) Kill() { in.signal(syscall.SIGKILL, 0) }

// Terminate sends SIGTERM, as a scale-in or a rolling update does, and waits
// for the graceful shutdown.
func (in *Instance) Terminate() { in.signal(syscall.SIGTERM, 30*time.Second) }

func (in *Instance) signal(sig syscall.Signal, grace time.Duration) {
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// PIDs lists the processes the cluster runs: its instances and helpers.
func (c *Cluster) PIDs() []int {
	var pids []int
	for _, in := range c.Instances {
		in.mu.Lock()
		if in.cmd != nil {
			pids = append(pids, in.cmd.Process.Pid)
		}
		in.mu.Unlock()
	}
	for _, cmd := range c.children {
		pids = append(pids, cmd.Process.Pid)
	}
	return pids
}

// Dir is the cluster's temporary directory, removed by Stop.
func (c *Cluster) Dir() string { return c.dir }

// Stop ends every process the cluster started and removes its files.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		var wg sync.WaitGroup
		for _, in := range c.Instances {
			wg.Go(in.Terminate)
		}
		wg.Wait()
		for i := len(c.children) - 1; i >= 0; i-- {
			_ = c.children[i].Process.Signal(syscall.SIGTERM)
			waitExit(c.children[i], 10*time.Second)
		}
		if c.s3 != nil {
			_ = c.s3.Close()
		}
		if c.dir != "" {
			_ = os.RemoveAll(c.dir)
		}
	})
}

// spawn starts a helper process that dies with this one.
func (c *Cluster) spawn(name string, args ...string) (*exec.Cmd, error) {
	return c.spawnAs(nil, name, args...)
}

// spawnAs is spawn as another user (nil: this one). The parent-death
// signal is set after the switch; a helper that switched by itself
// (memcached -u) would lose it and outlive a killed command.
func (c *Cluster) spawnAs(user *syscall.Credential, name string, args ...string) (*exec.Cmd, error) {
	logPath := filepath.Join(c.dir, filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: user}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.children = append(c.children, cmd)
	go func() { _ = cmd.Wait(); logFile.Close() }()
	return cmd, nil
}

func waitExit(cmd *exec.Cmd, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil || cmd.Process.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}

// startMariaDB runs a throwaway MariaDB on a loopback port, standing in for
// RDS, and returns its address. It has no passwords (skip-grant-tables) and
// lives in the cluster's temporary directory.
func (c *Cluster) startMariaDB(ctx context.Context) (string, error) {
	data := filepath.Join(c.dir, "mariadb")
	port, err := freePort()
	if err != nil {
		return "", err
	}
	install := exec.CommandContext(ctx, "mariadb-install-db", "--no-defaults", "--datadir="+data,
		"--auth-root-authentication-method=socket", "--skip-test-db", "--user="+currentUser())
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("mariadb-install-db: %w\n%s", err, lastLines(string(out), 5))
	}
	if _, err := c.spawn("mariadbd", "--no-defaults", "--datadir="+data, "--socket="+filepath.Join(c.dir, "mariadb.sock"),
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--skip-grant-tables", "--user="+currentUser(),
		"--pid-file="+filepath.Join(c.dir, "mariadb.pid"), "--log-error="+filepath.Join(c.dir, "mariadb.err")); err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitTCP(ctx, addr); err != nil {
		return "", fmt.Errorf("MariaDB did not start: %w", err)
	}
	if err := createDatabase(ctx, addr); err != nil {
		return "", err
	}
	c.Services = append(c.Services, "MariaDB (RDS stand-in): "+addr+", database webdemo")
	return addr, nil
}

func (c *Cluster) startMemcached(ctx context.Context) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	// memcached refuses to run as root.
	var runAs *syscall.Credential
	if os.Geteuid() == 0 {
		if runAs, err = nobody(); err != nil {
			return "", err
		}
	}
	if _, err := c.spawnAs(runAs, "memcached", "-l", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "0", "-m", "64"); err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitTCP(ctx, addr); err != nil {
		return "", fmt.Errorf("memcached did not start: %w", err)
	}
	c.Services = append(c.Services, "memcached (ElastiCache stand-in): "+addr)
	return addr, nil
}

// nobody is the unprivileged user memcached runs as when started by root.
func nobody() (*syscall.Credential, error) {
	account, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("memcached runs as the user nobody when started by root: %w", err)
	}
	uid, uidErr := strconv.ParseUint(account.Uid, 10, 32)
	gid, gidErr := strconv.ParseUint(account.Gid, 10, 32)
	if uidErr != nil || gidErr != nil {
		return nil, fmt.Errorf("user nobody has uid %q, gid %q: not numbers", account.Uid, account.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// localBucket is the uploads bucket on the local S3 endpoint.
const localBucket = "web-demo-uploads"

// startS3 serves an in-memory S3-compatible endpoint (gofakes3), makes the
// uploads bucket in it and returns its address.
func (c *Cluster) startS3(ctx context.Context) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	backend := s3mem.New(s3mem.WithTimeSource(clockBehind(c.opts.S3ClockBehind)))
	c.s3 = &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = c.s3.Serve(ln) }()
	addr := ln.Addr().String()
	if _, err := LocalS3Client("http://"+addr).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(localBucket)}); err != nil {
		return "", fmt.Errorf("create the local bucket: %w", err)
	}
	c.Services = append(c.Services, "S3-compatible endpoint: http://"+addr+", bucket "+localBucket)
	return addr, nil
}

// clockBehind is a gofakes3.TimeSource running behind the real clock.
type clockBehind time.Duration

func (c clockBehind) Now() time.Time                  { return time.Now().Add(-time.Duration(c)) }
func (c clockBehind) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// LocalS3Client reaches the local S3 endpoint with its fake keys.
func LocalS3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(localAccessKey, localAccessKey, ""),
	})
}

// startHAProxy puts the instances behind HAProxy, round-robin, checking
// /healthz every second, as the ALB's target group does.
func (c *Cluster) startHAProxy(ctx context.Context) error {
	statsPort, err := freePort()
	if err != nil {
		return err
	}
	var servers strings.Builder
	for _, in := range c.Instances {
		fmt.Fprintf(&servers, "    server %s %s check\n", in.Name, strings.TrimPrefix(in.URL, "http://"))
	}
	// A visitor's connection costs HAProxy little, so maxconn is well above
	// any honest load; a slow-header flood (slowloris) is cut by timeout
	// http-request, the whole header's deadline, and requests waiting for
	// a busy server give up after timeout queue with a 503. Idle timeouts
	// are the ALB's 60 s.
	config := fmt.Sprintf(`global
    maxconn 4096

defaults
    mode http
    maxconn 4096
    timeout connect 2s
    timeout http-request 5s
    timeout http-keep-alive 10s
    timeout queue 5s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch

frontend web
    bind 127.0.0.1:%d
    # Replaced, not appended: local clients share the proxy's address,
    # so an address they sent themselves would be trusted.
    http-request set-header X-Forwarded-For %%[src]
    default_backend app

backend app
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2 maxconn 200
%s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
`, c.opts.Port, servers.String(), statsPort)
	path := filepath.Join(c.dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return err
	}
	if _, err := c.spawn("haproxy", "-db", "-f", path); err != nil {
		return err
	}
	c.URL = fmt.Sprintf("http://127.0.0.1:%d", c.opts.Port)
	c.StatsURL = fmt.Sprintf("http://127.0.0.1:%d/stats", statsPort)
	for _, in := range c.Instances {
		if err := c.WaitState(ctx, in.Name, "UP"); err != nil {
			return err
		}
	}
	return nil
}

// ServerStates reads HAProxy's view of each instance: UP, DOWN, …
func (c *Cluster) ServerStates(ctx context.Context) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.StatsURL+";csv", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		fields := strings.Split(line, ",")
		// pxname,svname,…; the status is the 18th column.
		if len(fields) > 17 && fields[0] == "app" && strings.HasPrefix(fields[1], "web-") {
			states[fields[1]] = strings.Fields(fields[17] + " ")[0]
		}
	}
	return states, nil
}

// WaitState waits until HAProxy reports the instance in state.
func (c *Cluster) WaitState(ctx context.Context, name, state string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		states, err := c.ServerStates(ctx)
		if err == nil && states[name] == state {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("HAProxy never saw %s %s (states %v, err %v)", name, state, states, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func requireTools(f level.Features) error {
	need := map[string]bool{}
	if f.LoadBalancer {
		need["haproxy"] = true
	}
	if f.ManagedDatabase {
		need["mariadbd"], need["mariadb-install-db"] = true, true
	}
	if f.UsesCache() {
		need["memcached"] = true
	}
	var missing []string
	for tool := range need {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run scripts/local-cluster.sh, which installs haproxy, mariadb-server and memcached with apt-get (as root)", strings.Join(missing, ", "))
	}
	return nil
}

func portFree(port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("port %d is taken: stop whatever uses it, or pass --port", port)
	}
	return ln.Close()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitTCP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func buildApp(dir string) (string, error) {
	out := filepath.Join(dir, "webdemo")
	cmd := exec.Command("go", "build", "-o", out, "webdemo/app")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the app (run inside the repository): %w\n%s", err, output)
	}
	return out, nil
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if os.Geteuid() == 0 {
		return "root"
	}
	return fmt.Sprint(os.Geteuid())
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func createDatabase(ctx context.Context, addr string) error {
	db, err := sql.Open("mysql", fmt.Sprintf("webdemo@tcp(%s)/", addr))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS webdemo"); err != nil {
		return fmt.Errorf("create the local database: %w", err)
	}
	return nil
}
