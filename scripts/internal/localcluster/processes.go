package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"webdemo/infra/level"
)

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
	if e.SQLitePath == "" {
		e.SQLitePath = filepath.Join(own, "webdemo.db")
	}
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
	return &Instance{
		Name: name, URL: "http://" + e.Addr, LogPath: filepath.Join(own, "app.log"),
		MetricsURL: "http://" + cfg.MetricsAddr + "/metrics",
		binary:     binary, env: append(cfg.Environ(), processEnv()...),
	}, nil
}

// processEnv is what every app process gets besides its settings: the
// local S3 endpoint's fake keys, and no EC2 metadata to look for.
func processEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=" + localAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + localAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
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

// stopChild ends one helper and forgets it.
func (c *Cluster) stopChild(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	waitExit(cmd, 10*time.Second)
	for i, child := range c.children {
		if child == cmd {
			c.children = append(c.children[:i], c.children[i+1:]...)
			break
		}
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

// buildApp builds the app binary into dir.
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
