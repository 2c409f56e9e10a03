// Package scripts tests the shell scripts that set up the tests and the
// local cluster. It imports only apptest.
package scripts

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"webdemo/app/apptest"
)

// A daemon that services.sh starts keeps none of its caller's descriptors:
// one that inherited a caller's lock file held the lock for good.
func TestServicesStartsDaemonsWithoutTheCallersDescriptors(t *testing.T) {
	if os.Geteuid() != 0 {
		apptest.Missing(t, "services.sh sets up MariaDB as root")
	}
	if err := exec.Command("mariadb-admin", "--user=root", "ping").Run(); err != nil {
		apptest.Missing(t, "MariaDB (scripts/services.sh starts it): %v", err)
	}
	if _, err := exec.LookPath("memcached"); err != nil {
		apptest.Missing(t, "memcached: %v", err)
	}
	port := freePort(t)
	lockPath := filepath.Join(t.TempDir(), "caller.lock")
	lock, err := os.Create(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("./services.sh")
	cmd.Env = append(os.Environ(), fmt.Sprintf("MEMCACHED_ADDR=127.0.0.1:%d", port), "TMPDIR="+t.TempDir())
	cmd.ExtraFiles = []*os.File{lock}
	cmd.WaitDelay = 10 * time.Second // a daemon holding the output pipe would hang Wait
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("services.sh: %v\n%s", err, out)
	}
	pid := memcachedOnPort(t, port)
	if pid == 0 {
		t.Fatalf("no memcached listens on port %d after services.sh:\n%s", port, out)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGTERM) })

	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, entry.Name()))
		if target == lockPath {
			t.Errorf("memcached holds the caller's lock file as descriptor %s", entry.Name())
		}
	}
	lock.Close()
	again, err := os.Open(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := syscall.Flock(int(again.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Errorf("the caller's lock is still held after the caller closed it: %v", err)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// memcachedOnPort finds the memcached process started for port, or 0.
func memcachedOnPort(t *testing.T, port int) int {
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range dirs {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if filepath.Base(args[0]) != "memcached" {
			continue
		}
		for i := range len(args) - 1 {
			if args[i] == "-p" && args[i+1] == fmt.Sprint(port) {
				var pid int
				fmt.Sscan(filepath.Base(filepath.Dir(path)), &pid)
				return pid
			}
		}
	}
	return 0
}
