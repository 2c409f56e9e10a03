package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"webdemo/app/apptest"
	"webdemo/infra/level"
	"webdemo/scripts/internal/localcluster"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitPrinted waits until out holds want, failing if run returns first.
func waitPrinted(t *testing.T, out *apptest.Output, want string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-done:
			t.Fatalf("run returned %v before printing %q:\n%s", err, want, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not printed:\n%s", want, out.String())
		}
	}
}

// The command prints the URL and the level, serves, and stops cleanly when
// its context ends, as on Ctrl-C.
func TestCommandRunsUntilInterrupted(t *testing.T) {
	if err := localcluster.RequireTools(level.Table[2]); err != nil {
		apptest.Missing(t, "%v", err)
	}
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &apptest.Output{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--level", "2", "--port", fmt.Sprint(port)}, out) }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitPrinted(t, out, "is running at "+url, done)
	if !strings.Contains(out.String(), "web-demo level 2 is running") {
		t.Fatalf("the level is not printed:\n%s", out.String())
	}
	if status, _ := apptest.NewClient(t).Get(url + "/"); status != http.StatusOK {
		t.Fatalf("GET / = %d", status)
	}
	metricsURLs := regexp.MustCompile(`metrics: (http://127\.0\.0\.1:\d+/metrics)`).FindAllStringSubmatch(out.String(), -1)
	if len(metricsURLs) != 2 {
		t.Fatalf("want both instances' metrics URLs printed:\n%s", out.String())
	}
	for _, m := range metricsURLs {
		if status, _ := apptest.NewClient(t).Get(m[1]); status != http.StatusOK {
			t.Errorf("GET %s = %d", m[1], status)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Stopped; nothing is left running.") {
		t.Fatalf("no stop message:\n%s", out.String())
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal("the port is still in use after stopping")
	}
	ln.Close()
}

func TestCommandRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{{}, {"--level", "9"}, {"--level", "2", "--latency", "-1s"}, {"--level", "0", "--instances", "3"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}

// --data reaches the cluster: the run says where the photos stay, and the
// directory records the level for the next run.
func TestCommandKeepsDataWhereAsked(t *testing.T) {
	port := freePort(t)
	data := filepath.Join(t.TempDir(), "photos")
	ctx, cancel := context.WithCancel(context.Background())
	out := &apptest.Output{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--level", "0", "--port", fmt.Sprint(port), "--data", data}, out) }()
	waitPrinted(t, out, "The photos stay in "+data, done)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recorded, err := os.ReadFile(filepath.Join(data, "level"))
	if err != nil || string(recorded) != "0\n" {
		t.Fatalf("%s/level = %q, %v; want level 0 recorded", data, recorded, err)
	}
}
