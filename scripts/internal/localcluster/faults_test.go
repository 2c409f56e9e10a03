package localcluster

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"webdemo/app/apptest"
	"webdemo/app/config"
)

// outageProxy forwards TCP connections to a backing service. Cut resets
// every open connection and refuses new ones, as a stopped service would,
// while the service itself keeps running; HoldReplies lets requests reach
// the service but holds its answers, as a service that does the work and
// answers late would; Restore lets everything through again.
type outageProxy struct {
	addr, target string
	mu           sync.Mutex
	flowing      *sync.Cond // signalled when replies may flow again
	down         bool
	holding      bool
	conns        map[net.Conn]struct{}
}

func newOutageProxy(t *testing.T, target string) *outageProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &outageProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.flowing = sync.NewCond(&p.mu)
	t.Cleanup(func() { _ = ln.Close(); p.Cut() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(client)
		}
	}()
	return p
}

// Cut starts the outage.
func (p *outageProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	p.flowing.Broadcast()
	for conn := range p.conns {
		reset(conn)
	}
	clear(p.conns)
}

// HoldReplies holds what the service sends, on every connection.
func (p *outageProxy) HoldReplies() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holding = true
}

// Restore ends the outage.
func (p *outageProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.holding = false, false
	p.flowing.Broadcast()
}

func (p *outageProxy) forward(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		reset(client)
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		reset(client)
		reset(server)
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go p.pipe(server, client, false)
	p.pipe(client, server, true)
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// pipe copies src to dst; replies wait while the proxy holds them.
func (p *outageProxy) pipe(dst, src net.Conn, replies bool) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for replies && p.holding && !p.down {
				p.flowing.Wait()
			}
			p.mu.Unlock()
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// reset closes conn with a TCP reset, as a dead peer's kernel answers.
func reset(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// request is one request of a load: when it started and ended, its status
// (0 for a transport error) and, when refused, why.
type request struct {
	started, ended time.Time
	status         int
	reason         string
}

// The app's error pages say why in a paragraph; HAProxy's in a heading.
var (
	appError     = regexp.MustCompile(`<p id="error">([^<]*)</p>`)
	haproxyError = regexp.MustCompile(`<h1>([^<]*)</h1>`)
)

func newRequest(started time.Time, status int, body string) request {
	r := request{started: started, ended: time.Now(), status: status}
	if status >= 400 || status == 0 {
		r.reason = body
		if m := appError.FindStringSubmatch(body); m != nil {
			r.reason = m[1]
		} else if m := haproxyError.FindStringSubmatch(body); m != nil {
			r.reason = "HAProxy: " + m[1]
		}
	}
	return r
}

// uploadLoad is a steady load through the load balancer: logged-in users
// each loading the front page and uploading a fresh photo through its form
// every 20 ms, and one more reading the front page every 50 ms. It keeps
// every request and the seed of every photo whose upload was acknowledged
// (303).
type uploadLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu           sync.Mutex
	uploads      []request
	pages        []request
	acknowledged map[int]bool
}

func startUploadLoad(t *testing.T, url string, uploaders int) *uploadLoad {
	l := &uploadLoad{stop: make(chan struct{}), acknowledged: map[int]bool{}}
	for w := range uploaders {
		client := apptest.NewClient(t)
		if status := client.Login(url, fmt.Sprintf("uploader-%d", w)); status != http.StatusSeeOther {
			t.Fatalf("login = %d", status)
		}
		l.wg.Go(func() {
			for i := 0; l.running(20 * time.Millisecond); i++ {
				seed := w*100000 + i
				began := time.Now()
				status, body := uploadThroughForm(client, url, apptest.PNG(t, seed))
				l.mu.Lock()
				l.uploads = append(l.uploads, newRequest(began, status, body))
				if status == http.StatusSeeOther {
					l.acknowledged[seed] = true
				}
				l.mu.Unlock()
			}
		})
	}
	reader := apptest.NewClient(t)
	if status := reader.Login(url, "reader"); status != http.StatusSeeOther {
		t.Fatalf("login = %d", status)
	}
	l.wg.Go(func() {
		for l.running(50 * time.Millisecond) {
			began := time.Now()
			status, body := reader.Get(url + "/")
			l.mu.Lock()
			l.pages = append(l.pages, newRequest(began, status, body))
			l.mu.Unlock()
		}
	})
	return l
}

var uploadToken = regexp.MustCompile(`name="upload_token" value="([^"]*)"`)

// uploadThroughForm does what a browser does: it loads the front page and
// sends the photo with the form's one-time token, which lets the app tell
// whether an insert whose answer was lost went through. A page without the
// form (the app degraded) gives no token, and the photo goes without one.
func uploadThroughForm(client *apptest.Client, url string, img []byte) (int, string) {
	token := ""
	if _, page := client.Get(url + "/"); uploadToken.MatchString(page) {
		token = uploadToken.FindStringSubmatch(page)[1]
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	_ = form.WriteField("upload_token", token)
	part, _ := form.CreateFormFile("photo", "photo.png")
	_, _ = part.Write(img)
	_ = form.Close()
	return client.Do(http.MethodPost, url+"/upload", form.FormDataContentType(), &body)
}

// running waits pause and reports whether the load goes on.
func (l *uploadLoad) running(pause time.Duration) bool {
	select {
	case <-l.stop:
		return false
	case <-time.After(pause):
		return true
	}
}

// finish stops the load and waits for the requests in flight.
func (l *uploadLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// share is the fraction of some requests that got status ok, and how many
// of the others got each status and reason.
type share struct {
	ok, all int
	slowest time.Duration
	failed  map[string]int
}

func (s share) String() string {
	text := fmt.Sprintf("%.0f%% of %d (slowest %s)", 100*s.fraction(), s.all, s.slowest.Round(time.Millisecond))
	for reason, n := range s.failed {
		text += fmt.Sprintf("; %d× %s", n, reason)
	}
	return text
}

func (s share) fraction() float64 { return float64(s.ok) / float64(max(s.all, 1)) }

// served is the share of the requests started in [from, to) that got ok.
func served(reqs []request, ok int, from, to time.Time) share {
	return servedIf(reqs, ok, func(r request) bool { return !r.started.Before(from) && r.started.Before(to) })
}

// servedBefore is the share of the requests ended before t that got ok.
func servedBefore(reqs []request, ok int, t time.Time) share {
	return servedIf(reqs, ok, func(r request) bool { return r.ended.Before(t) })
}

func servedIf(reqs []request, ok int, counts func(request) bool) share {
	s := share{failed: map[string]int{}}
	for _, r := range reqs {
		if counts(r) {
			s.all++
			s.slowest = max(s.slowest, r.ended.Sub(r.started))
			if r.status == ok {
				s.ok++
			} else {
				s.failed[fmt.Sprintf("%d %q", r.status, r.reason)]++
			}
		}
	}
	return s
}

// atLeast fails the test unless s reaches floor, with enough requests to
// tell.
func atLeast(t *testing.T, what string, s share, floor float64) {
	t.Helper()
	if s.all < 5 {
		t.Errorf("%s: only %d requests; the load did not run", what, s.all)
	} else if s.fraction() < floor {
		t.Errorf("%s: %s served, want at least %.0f%%", what, s, 100*floor)
	}
}

// seedOf reads back the seed of a photo made by apptest.PNG, which writes
// it into the first pixel; the pixels survive any lossless re-encoding.
func seedOf(img []byte) (int, error) {
	decoded, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		return 0, err
	}
	r, g, b, _ := decoded.At(0, 0).RGBA()
	return int(r>>8) | int(g>>8)<<8 | int(b>>8)<<16, nil
}

// auditUploads checks the rows and the images the cluster holds against
// the acknowledged uploads: none lost (each has its row and its whole
// image) and none orphaned (no row without an image, no image without a
// row). It returns how many rows there are.
func auditUploads(t *testing.T, c *Cluster, acknowledged map[int]bool) int {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("mysql", c.MySQLDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT filename FROM upload_images")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	withRow := map[string]bool{}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			t.Fatal(err)
		}
		withRow[key] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	store := LocalS3Client(c.S3Endpoint)
	prefix := config.Default().S3Prefix
	images := map[string]int{} // key → seed
	pages := s3.NewListObjectsV2Paginator(store, &s3.ListObjectsV2Input{Bucket: aws.String(c.Bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, object := range page.Contents {
			obj, err := store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Bucket), Key: object.Key})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			key := strings.TrimPrefix(aws.ToString(object.Key), prefix)
			seed, err := seedOf(body)
			if err != nil {
				t.Errorf("image %s is not whole: %v", key, err)
				continue
			}
			images[key] = seed
		}
	}

	kept := map[int]bool{}
	for key := range withRow {
		if seed, ok := images[key]; ok {
			kept[seed] = true
		} else {
			t.Errorf("orphaned row: %s has no image", key)
		}
	}
	for key := range images {
		if !withRow[key] {
			t.Errorf("orphaned image: %s has no row", key)
		}
	}
	lost := 0
	for seed := range acknowledged {
		if !kept[seed] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged uploads are lost", lost, len(acknowledged))
	}
	return len(withRow)
}

// Each dependency outage: the load runs for loadBefore, the dependency is
// cut for outageFor, and the load runs on for loadAfter.
const (
	loadBefore = 2 * time.Second
	outageFor  = 5 * time.Second
	loadAfter  = 4 * time.Second
	// recovery is how long after a dependency returns the load must be
	// served again: the app makes new connections at once.
	recovery = time.Second
)

// dependencyOutage runs a level under the upload load, cuts one backing
// service for outageFor and restores it. It checks that no upload is lost
// or orphaned, that every request is served before the outage and from
// recovery after it, and that the front page is served during it at least
// pagesFloor of the time. Uploads during the outage are only reported:
// with a dependency gone they are refused.
func dependencyOutage(t *testing.T, lvl int, service string, pagesFloor float64) {
	proxies := map[string]*outageProxy{}
	// S3's clock runs an hour behind, so the orphan sweep after the outage
	// sees every image as old enough.
	c := startCluster(t, Options{Level: lvl, Instances: 2, S3ClockBehind: time.Hour, Interpose: func(name, addr string) string {
		proxies[name] = newOutageProxy(t, addr)
		return proxies[name].addr
	}})
	proxy := proxies[service]
	if proxy == nil {
		t.Fatalf("level %d has no %s", lvl, service)
	}
	load := startUploadLoad(t, c.URL, 3)
	time.Sleep(loadBefore)
	cut := time.Now()
	proxy.Cut()
	time.Sleep(outageFor)
	restored := time.Now()
	proxy.Restore()
	time.Sleep(loadAfter)
	load.finish()
	ended := time.Now()

	// An upload whose row insert met the cut may have committed or not; the
	// app keeps its image then, and the orphan sweep removes it if no row
	// appeared. Restarting an instance runs the sweep at once.
	sweepOrphans(t, c.Instances[0])
	rows := auditUploads(t, c, load.acknowledged)
	t.Logf("%d uploads attempted, %d acknowledged, %d rows", len(load.uploads), len(load.acknowledged), rows)
	uploadsDuring := served(load.uploads, http.StatusSeeOther, cut, restored)
	pagesDuring := served(load.pages, http.StatusOK, cut, restored)
	uploadsAfter := served(load.uploads, http.StatusSeeOther, restored.Add(recovery), ended)
	pagesAfter := served(load.pages, http.StatusOK, restored.Add(recovery), ended)
	t.Logf("%s cut for %s: uploads %s; front page %s", service, outageFor, uploadsDuring, pagesDuring)
	t.Logf("from %s after it returned: uploads %s; front page %s", recovery, uploadsAfter, pagesAfter)
	atLeast(t, "uploads before the outage", servedBefore(load.uploads, http.StatusSeeOther, cut), 1)
	atLeast(t, "front page before the outage", servedBefore(load.pages, http.StatusOK, cut), 1)
	atLeast(t, "front page during the outage", pagesDuring, pagesFloor)
	atLeast(t, "uploads after the outage", uploadsAfter, 0.9)
	atLeast(t, "front page after the outage", pagesAfter, 0.9)
}

// Level 4 with the database cut: uploads are refused, none half-written,
// and the front page is still served, from the page cache.
func TestDatabaseOutageUnderUploads(t *testing.T) { dependencyOutage(t, 4, "database", 0.9) }

// Level 4 with memcached cut: sessions and the page cache are gone, so
// uploads are refused, but the front page is served from the database.
func TestMemcachedOutageUnderUploads(t *testing.T) { dependencyOutage(t, 4, "memcached", 0.9) }

// Level 2 with S3 unreachable: uploads are refused with no row written,
// and the front page is still served.
func TestS3OutageUnderUploads(t *testing.T) { dependencyOutage(t, 2, "s3", 0.9) }

// Level 2 with an instance killed (SIGKILL, as a crash) under uploads:
// only the requests on the dying instance fail, since HAProxy retries the
// connections it refuses; none is lost or half-written, and once HAProxy
// notices, everything is served.
func TestInstanceKilledUnderUploads(t *testing.T) {
	c := startCluster(t, Options{Level: 2, Instances: 3})
	load := startUploadLoad(t, c.URL, 3)
	time.Sleep(loadBefore)
	victim := c.Instances[1]
	killed := time.Now()
	victim.Kill()
	if err := c.WaitState(context.Background(), victim.Name, "DOWN"); err != nil {
		t.Fatal(err)
	}
	noticed := time.Now()
	time.Sleep(3 * time.Second)
	if err := victim.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitState(context.Background(), victim.Name, "UP"); err != nil {
		t.Fatal(err)
	}
	rejoined := time.Now()
	time.Sleep(2 * time.Second)
	load.finish()
	rows := auditUploads(t, c, load.acknowledged)
	t.Logf("%d uploads attempted, %d acknowledged, %d rows; HAProxy noticed after %s",
		len(load.uploads), len(load.acknowledged), rows, noticed.Sub(killed).Round(time.Millisecond))

	uploads := served(load.uploads, http.StatusSeeOther, killed, rejoined)
	pages := served(load.pages, http.StatusOK, killed, rejoined)
	t.Logf("from the kill until it rejoined: uploads %s, front page %s", uploads, pages)
	atLeast(t, "uploads from the kill until it rejoined", uploads, 0.9)
	atLeast(t, "front page from the kill until it rejoined", pages, 0.9)
	atLeast(t, "uploads once HAProxy noticed", served(load.uploads, http.StatusSeeOther, noticed, time.Now()), 0.98)
	atLeast(t, "front page once HAProxy noticed", served(load.pages, http.StatusOK, noticed, time.Now()), 0.98)
}

// The worst moment for a crash: an instance killed while its uploads are
// in S3 but not yet recorded, because S3 has stored them and not yet
// answered. Their images must not stay behind without rows: restarted, the
// instance sweeps them away. One instance, so the kill surely meets the
// held uploads; the local S3 dates objects an hour back, so they are old
// enough for the sweep at once.
func TestInstanceKilledBetweenStoreAndRecord(t *testing.T) {
	var store *outageProxy
	c := startCluster(t, Options{Level: 2, Instances: 1, S3ClockBehind: time.Hour, Interpose: func(name, addr string) string {
		if name != "s3" {
			return addr
		}
		store = newOutageProxy(t, addr)
		return store.addr
	}})
	load := startUploadLoad(t, c.URL, 2)
	time.Sleep(time.Second)
	store.HoldReplies()
	time.Sleep(time.Second) // every uploader now waits for S3 to answer a stored photo
	victim := c.Instances[0]
	victim.Kill()
	store.Restore()
	time.Sleep(2 * time.Second)
	load.finish()
	if len(load.uploads) == len(load.acknowledged) {
		t.Fatal("every upload was acknowledged: the kill met none in flight")
	}

	sweepOrphans(t, victim)
	rows := auditUploads(t, c, load.acknowledged)
	t.Logf("%d uploads attempted, %d acknowledged, %d rows", len(load.uploads), len(load.acknowledged), rows)
}

// sweepOrphans restarts an instance, which sweeps orphaned images at start,
// and waits for the sweep's log line.
func sweepOrphans(t *testing.T, instance *Instance) {
	t.Helper()
	logged, err := os.Stat(instance.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	instance.Kill() // nothing happens to one already down
	if err := instance.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	sweep, err := waitForLogLine(ctx, instance.LogPath, logged.Size(), `msg="orphan sweep"`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the restart: %s", sweep)
}

// waitForLogLine waits until a line containing want appears in the log
// file at path past offset, and returns it.
func waitForLogLine(ctx context.Context, path string, offset int64, want string) (string, error) {
	for {
		log, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		for _, line := range strings.Split(string(log[min(offset, int64(len(log))):]), "\n") {
			if strings.Contains(line, want) {
				return line, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no %s in %s: %w\n%s", want, path, ctx.Err(), lastLines(string(log), 5))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
