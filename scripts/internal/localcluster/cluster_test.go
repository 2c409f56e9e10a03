package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"webdemo/app/apptest"
	"webdemo/infra/level"
)

// appBinary is built once for every test in this package.
var appBinary string

func TestMain(m *testing.M) {
	if binary := os.Getenv(clusterChildEnv); binary != "" {
		runClusterChild(binary)
	}
	dir, err := os.MkdirTemp("", "web-demo-cluster-test-")
	if err != nil {
		panic(err)
	}
	appBinary = filepath.Join(dir, "webdemo")
	build := exec.Command("go", "build", "-o", appBinary, "webdemo/app")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the app: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func startCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	features, err := levelFeatures(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := RequireTools(features); err != nil {
		apptest.Missing(t, "%v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	opts.Port, opts.AppBinary = port, appBinary
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Sessions survive switching servers, and uploads are visible from every
// server, at each level with a load balancer.
func TestLevelsShareSessionsAndUploads(t *testing.T) {
	for lvl := 1; lvl <= 4; lvl++ {
		t.Run(fmt.Sprintf("level %d", lvl), func(t *testing.T) {
			c := startCluster(t, Options{Level: lvl, Instances: 3})
			client := apptest.NewClient(t)
			if status := client.Login(c.URL, "ada"); status != http.StatusSeeOther {
				t.Fatalf("login = %d", status)
			}
			seen := map[string]bool{}
			for i := range 20 {
				status, body := client.Get(c.URL + "/")
				page := apptest.ParsePage(body)
				if status != http.StatusOK || page.User != "ada" {
					t.Fatalf("request %d (server %s): status %d, user %q: the session did not follow", i, page.Server, status, page.User)
				}
				seen[page.Server] = true
			}
			if len(seen) != 3 {
				t.Fatalf("20 requests reached %v; want all 3 servers", seen)
			}

			img := apptest.PNG(t, lvl)
			if status, body := client.Upload(c.URL, img); status != http.StatusSeeOther {
				t.Fatalf("upload = %d: %s", status, body)
			}
			for _, in := range c.Instances {
				_, body := client.Get(in.URL + "/")
				keys := apptest.ParsePage(body).Keys
				if len(keys) != 1 {
					t.Fatalf("%s lists %v after the upload", in.Name, keys)
				}
				if status, got := client.Get(in.URL + "/images/" + keys[0]); status != http.StatusOK || got != string(img) {
					t.Fatalf("%s serves the image: %d, %d bytes", in.Name, status, len(got))
				}
			}
		})
	}
}

// Level 4: after an upload every server's next page shows it, and a cache
// hit shows no database line.
func TestLevelFourCacheIsInvalidatedForEveryServer(t *testing.T) {
	c := startCluster(t, Options{Level: 4, Instances: 3})
	client := apptest.NewClient(t)
	client.Login(c.URL, "ada")
	client.Upload(c.URL, apptest.PNG(t, 100))
	for _, in := range c.Instances { // warm the shared cache
		client.Get(in.URL + "/")
	}
	for _, in := range c.Instances {
		if _, body := client.Get(in.URL + "/"); apptest.ParsePage(body).FromDB {
			t.Fatalf("%s read the database despite a warm cache", in.Name)
		}
	}
	client.Upload(c.URL, apptest.PNG(t, 101))
	var first []string
	for i, in := range c.Instances {
		_, body := client.Get(in.URL + "/")
		page := apptest.ParsePage(body)
		if len(page.Keys) != 2 {
			t.Fatalf("%s lists %d photos after the second upload", in.Name, len(page.Keys))
		}
		if i == 0 {
			first = page.Keys
			if !page.FromDB {
				t.Fatal("the first page after an upload must come from the database")
			}
		} else if page.FromDB || !slices.Equal(page.Keys, first) {
			t.Fatalf("%s should hit the refreshed cache", in.Name)
		}
	}
}

// The tutorial's broken level 1: each server has its own sessions and
// uploads, so the login and the images come and go.
func TestUnsharedLevelOneShowsTheProblem(t *testing.T) {
	c := startCluster(t, Options{Level: 1, Instances: 2, Unshared: true})
	client := apptest.NewClient(t)
	client.Login(c.URL, "ada")
	loggedOut := 0
	for range 20 {
		_, body := client.Get(c.URL + "/")
		if apptest.ParsePage(body).User == "" {
			loggedOut++
		}
	}
	if loggedOut == 0 {
		t.Fatal("with unshared sessions some requests must land on a server that never saw the login")
	}
	// Log in on one server directly and upload there: both read the row
	// (shared database), but only web-1 has the file, so web-2, which
	// never lists a photo it cannot serve, leaves it out.
	direct := apptest.NewClient(t)
	direct.Login(c.Instances[0].URL, "grace")
	if status, _ := direct.Upload(c.Instances[0].URL, apptest.PNG(t, 7)); status != http.StatusSeeOther {
		t.Fatalf("upload on web-1 = %d", status)
	}
	_, body := direct.Get(c.Instances[0].URL + "/")
	keys := apptest.ParsePage(body).Keys
	if len(keys) != 1 {
		t.Fatalf("web-1 lists %v, want its upload", keys)
	}
	if status, _ := direct.Get(c.Instances[1].URL + "/images/" + keys[0]); status != http.StatusNotFound {
		t.Fatalf("web-2 serves web-1's upload (%d): uploads are not per server", status)
	}
	if _, body := direct.Get(c.Instances[1].URL + "/"); len(apptest.ParsePage(body).Keys) != 0 {
		t.Fatalf("web-2 lists %v, photos whose image it does not have", apptest.ParsePage(body).Keys)
	}
}

// outcome is one request of a steady trickle.
type outcome struct {
	started time.Time
	status  int
	server  string
}

// trickle sends a GET every 20 ms until stop is closed.
func trickle(t *testing.T, url string, stop <-chan struct{}) <-chan []outcome {
	done := make(chan []outcome, 1)
	go func() {
		client := apptest.NewClient(t)
		var results []outcome
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				done <- results
				return
			case <-ticker.C:
				began := time.Now()
				status, body := client.Get(url)
				results = append(results, outcome{began, status, apptest.ParsePage(body).Server})
			}
		}
	}()
	return done
}

// A dead server is routed around, and rejoins when it comes back.
func TestInstanceFailure(t *testing.T) {
	c := startCluster(t, Options{Level: 2, Instances: 3})
	stop := make(chan struct{})
	results := trickle(t, c.URL+"/", stop)
	time.Sleep(300 * time.Millisecond)
	victim := c.Instances[1]
	victim.Kill()
	if err := c.WaitState(context.Background(), victim.Name, "DOWN"); err != nil {
		t.Fatal(err)
	}
	noticed := time.Now()
	time.Sleep(1500 * time.Millisecond)
	restarted := time.Now()
	if err := victim.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitState(context.Background(), victim.Name, "UP"); err != nil {
		t.Fatal(err)
	}
	rejoined := time.Now()
	time.Sleep(1 * time.Second)
	close(stop)

	var afterNotice, servedByVictimAfterRejoin int
	for _, r := range <-results {
		if r.started.After(noticed) && r.started.Before(restarted) {
			afterNotice++
			if r.status != http.StatusOK {
				t.Errorf("a request at %s, after HAProxy noticed, got %d", r.started.Format("15:04:05.000"), r.status)
			}
			if r.server == victim.Name {
				t.Errorf("the dead server answered")
			}
		}
		if r.started.After(rejoined) && r.server == victim.Name && r.status == http.StatusOK {
			servedByVictimAfterRejoin++
		}
	}
	if afterNotice < 20 {
		t.Fatalf("only %d requests ran while the server was down", afterNotice)
	}
	if servedByVictimAfterRejoin == 0 {
		t.Fatal("the restarted server never rejoined the rotation")
	}
}

// A rolling restart under uploads loses nothing: every upload that got a
// success answer is in the database and the store, and no row lacks its
// image nor image its row.
func TestRollingRestartKeepsEveryUpload(t *testing.T) {
	c := startCluster(t, Options{Level: 2, Instances: 3})
	load := startUploadLoad(t, c.URL, 3)
	for _, in := range c.Instances {
		in.Terminate()
		if err := c.WaitState(context.Background(), in.Name, "DOWN"); err != nil {
			t.Fatal(err)
		}
		if err := in.Restart(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitState(context.Background(), in.Name, "UP"); err != nil {
			t.Fatal(err)
		}
	}
	load.finish()
	rows := auditUploads(t, c, load.acknowledged)
	t.Logf("%d uploads attempted, %d acknowledged, %d rows", len(load.uploads), len(load.acknowledged), rows)
	if len(load.acknowledged) < 10 {
		t.Fatalf("only %d uploads succeeded during the restart", len(load.acknowledged))
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Level: 7, Instances: 2}, "level: 7 is not between 0 and 4"},
		{Options{Level: 0, Instances: 2}, "level 0 is one server"},
		{Options{Level: 2, Instances: 0}, "--instances 0: use 1 to 10"},
		{Options{Level: 2, Instances: 2, Unshared: true}, "only at level 1"},
	} {
		_, err := Start(context.Background(), tc.opts)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%+v: err = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestTakenPortIsRefused(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := listen(port)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(context.Background(), Options{Level: 0, Instances: 1, Port: port, AppBinary: appBinary})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(fmt.Sprintf("port %d is taken", port))) {
		t.Fatalf("err = %v", err)
	}
}

func levelFeatures(opts Options) (level.Features, error) { return level.For(opts.Level, opts.Unshared) }

func listen(port int) (net.Listener, error) {
	return net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

// Ctrl-C runs Stop: every process ends and the files go.
func TestStopLeavesNothingBehind(t *testing.T) {
	c := startCluster(t, Options{Level: 4, Instances: 2})
	pids := c.PIDs()
	if len(pids) != 5 { // 2 instances, MariaDB, memcached, HAProxy
		t.Fatalf("cluster runs %d processes, want 5", len(pids))
	}
	c.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Stop", c.Dir())
	}
}
