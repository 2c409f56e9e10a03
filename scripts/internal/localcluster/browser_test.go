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
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"webdemo/app/apptest"
)

// TestBrowser walks through the site in headless Chromium: log in, upload a
// PNG through the real file input, see it load, log out. It runs against the
// zero-setup default and a level-2 cluster, fails on any console error, and
// saves a screenshot under test-artifacts/.
func TestBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		apptest.Missing(t, "chromium (Debian package chromium): %v", err)
	}
	t.Run("zero-setup default", func(t *testing.T) {
		browse(t, chromium, startDefault(t), "default")
	})
	t.Run("level 2 cluster", func(t *testing.T) {
		browse(t, chromium, startCluster(t, Options{Level: 2, Instances: 2}).URL, "level-2")
	})
}

// startDefault runs the app with no settings but its port, in an empty
// directory, as `go run ./app` does on a fresh clone.
func startDefault(t *testing.T) string {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(appBinary, fmt.Sprintf("-addr=127.0.0.1:%d", port))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); <-exited })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHTTP(context.Background(), url+"/healthz", exited); err != nil {
		t.Fatal(err)
	}
	return url
}

func browse(t *testing.T, chromium, url, name string) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	allocator, cancelAllocator := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAllocator()
	ctx, cancel := chromedp.NewContext(allocator)
	defer cancel()

	var (
		mu       sync.Mutex
		problems []string
	)
	if err := chromedp.Listen(ctx, func(ev any) {
		var problem string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problem = "console.error: " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			problem = "exception: " + e.ExceptionDetails.Text
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				problem = fmt.Sprintf("console %s error: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		}
		if problem != "" {
			mu.Lock()
			problems = append(problems, problem)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}

	photo := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(photo, apptest.PNG(t, 42), 0o644); err != nil {
		t.Fatal(err)
	}
	steps, cancelSteps := context.WithTimeout(ctx, 60*time.Second)
	defer cancelSteps()
	err := chromedp.Do(steps,
		chromedp.Navigate(url),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#name", "Ada <Lovelace>"),
		chromedp.Click("#login"),
		chromedp.WaitVisible("#upload-form"),
		chromedp.SetUploadFiles("#photo", []string{photo}),
		chromedp.Click("#upload"),
		chromedp.WaitVisible("#photos img"),
	)
	if err != nil {
		t.Fatalf("log in and upload: %v", err)
	}
	width, err := chromedp.Run(steps, chromedp.Poll[int](
		`(() => { const img = document.querySelector("#photos img"); return img.complete && img.naturalWidth > 0 ? img.naturalWidth : 0; })()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil || width != 24 {
		t.Fatalf("the uploaded image did not load: naturalWidth %d, %v", width, err)
	}
	user, err := chromedp.Run(steps, chromedp.Evaluate[string](`document.querySelector("#user").textContent`))
	if err != nil || user != "Ada <Lovelace>" {
		t.Fatalf("logged-in name shows as %q, %v", user, err)
	}
	shot, err := chromedp.Run(steps, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, "browser-"+name+".png", shot)

	if err := chromedp.Do(steps, chromedp.Click("#logout"), chromedp.WaitVisible("#login-form")); err != nil {
		t.Fatalf("log out: %v", err)
	}
	gone, err := chromedp.Run(steps, chromedp.Evaluate[bool](`document.querySelector("#upload-form") === null`))
	if err != nil || !gone {
		t.Fatalf("after logout the upload form is still there (%v)", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser reported %s", p)
	}
}

// saveArtifact keeps a file from the test under test-artifacts/ at the
// repository root.
func saveArtifact(t *testing.T, name string, data []byte) {
	dir := filepath.Join("..", "..", "..", "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot: %s", abs)
}
