package localcluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"webdemo/app/apptest"
	"webdemo/infra/level"
)

// clusterChildEnv makes the test binary run a cluster with the app binary
// it names, print its processes and wait to be killed.
const clusterChildEnv = "WEB_DEMO_CLUSTER_CHILD"

// runClusterChild starts a level-1 cluster, which has every kind of helper
// (HAProxy, MariaDB, memcached), prints "dir DIR" and "pids PID…", and
// waits forever.
func runClusterChild(appBinary string) {
	port, err := freePort()
	if err == nil {
		var c *Cluster
		if c, err = Start(context.Background(), Options{Level: 1, Instances: 1, Port: port, AppBinary: appBinary}); err == nil {
			fmt.Printf("dir %s\n", c.Dir())
			fmt.Printf("pids %s\n", strings.Trim(fmt.Sprint(c.PIDs()), "[]"))
			select {}
		}
	}
	fmt.Fprintln(os.Stderr, "cluster child:", err)
	os.Exit(1)
}

// The command killed outright (kill -9, a closed terminal) takes every
// process of its cluster with it, including memcached, which runs as
// another user when started as root.
func TestKilledCommandLeavesNothingRunning(t *testing.T) {
	if err := RequireTools(level.Table[1]); err != nil {
		apptest.Missing(t, "%v", err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), clusterChildEnv+"="+appBinary)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		scanner := bufio.NewScanner(out)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
	}()
	var pids []int
	for pids == nil {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the cluster did not start")
			}
			if dir, found := strings.CutPrefix(line, "dir "); found {
				t.Cleanup(func() { _ = os.RemoveAll(dir) }) // its files stay: nothing could remove them
			}
			if list, found := strings.CutPrefix(line, "pids "); found {
				for field := range strings.FieldsSeq(list) {
					pid, _ := strconv.Atoi(field)
					pids = append(pids, pid)
				}
			}
		case <-time.After(60 * time.Second):
			_ = child.Process.Kill()
			t.Fatal("no cluster after 60 s")
		}
	}
	if len(pids) != 4 { // the instance, MariaDB, memcached, HAProxy
		t.Fatalf("cluster runs %v, want 4 processes", pids)
	}
	_ = child.Process.Kill()
	_ = child.Wait()

	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for running(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if running(pid) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Errorf("process %d (%s) outlived the killed command", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// running reports whether pid is a live process, not a zombie.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
