package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"webdemo/app/internal/testimage"
	"webdemo/app/memory"
	"webdemo/app/photo"
	"webdemo/app/server"
)

// uploadForm sends fields, then the photo, as one multipart form.
func (s *site) uploadForm(fields map[string]string, filename string, data []byte) response {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for name, value := range fields {
		_ = w.WriteField(name, value)
	}
	part, _ := w.CreateFormFile("photo", filename)
	_, _ = part.Write(data)
	_ = w.Close()
	return s.post("/upload", w.FormDataContentType(), &body)
}

// uploadWithToken sends the photo with the upload form's token.
func (s *site) uploadWithToken(token string, data []byte) response {
	return s.uploadForm(map[string]string{"upload_token": token}, "photo.png", data)
}

var tokenField = regexp.MustCompile(`<input type="hidden" name="upload_token" value="([0-9a-f]{32})">`)

// uploadToken reads the token from the front page's upload form.
func (s *site) uploadToken() string {
	s.t.Helper()
	m := tokenField.FindStringSubmatch(s.get("/").body)
	if m == nil {
		s.t.Fatal("the upload form carries no token")
	}
	return m[1]
}

// uploadUnfinished sends an upload whose photo stops after head: the
// server must answer from what it has. Should it wait for the rest, the
// body is abandoned after a while, so the test fails instead of hanging.
func (s *site) uploadUnfinished(filename string, head []byte) response {
	body, contentType, answered := s.unfinishedBody(filename, head)
	r := s.post("/upload", contentType, body)
	if !answered() {
		s.t.Error("the server answered only once the body was abandoned: it waited for the rest")
	}
	return r
}

// unfinishedBody is a multipart body that sends head and then nothing
// until answered is called, or for ten seconds. answered reports whether
// it came first.
func (s *site) unfinishedBody(filename string, head []byte) (body io.Reader, contentType string, answered func() bool) {
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		part, _ := w.CreateFormFile("photo", filename)
		_, _ = part.Write(head)
	}()
	done := make(chan struct{})
	var abandoned atomic.Bool
	go func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			abandoned.Store(true)
			_ = pw.CloseWithError(errors.New("body abandoned"))
		}
	}()
	s.t.Cleanup(func() { _ = pw.CloseWithError(errors.New("the test is over")) })
	return pr, w.FormDataContentType(), sync.OnceValue(func() bool {
		close(done)
		return !abandoned.Load()
	})
}

// storedSoFar notes what the site holds now, before the request a test
// checks, so the check can tell what that request added.
func (s *site) storedSoFar() {
	s.stored = [2]int{len(s.latest()), countFiles(s.t.(*testing.T), s.uploadDir)}
}

// holdUploadSlots starts n uploads that send a PNG's first bytes and then
// wait, holding n upload slots, until release, which returns once the
// server has let go of them.
func (s *site) holdUploadSlots(n int) (release func()) {
	s.t.Helper()
	head := testimage.NoisePNG(200, 200, 1)[:4096]
	var holders sync.WaitGroup
	var stops []func()
	for range n {
		pr, pw := io.Pipe()
		w := multipart.NewWriter(pw)
		go func() {
			part, _ := w.CreateFormFile("photo", "slow.png")
			_, _ = part.Write(head)
		}()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/upload", pr)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		holders.Go(func() {
			if resp, err := s.client.Do(req); err == nil {
				resp.Body.Close()
			}
		})
		stops = append(stops, func() { _ = pw.CloseWithError(errors.New("gave up")) })
	}
	s.t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
	})
	// Each holder has a temporary file once its type is sniffed.
	t := s.t.(*testing.T)
	for deadline := time.Now().Add(10 * time.Second); countFiles(t, s.tempDir) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the %d slow uploads never started", n)
		}
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
		holders.Wait()
		for deadline := time.Now().Add(10 * time.Second); countFiles(t, s.tempDir) > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the slow uploads' temporary files stayed")
			}
		}
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// The front page's form carries a fresh token; sending it twice stores one
// photo and answers both alike, even after the server restarts. Reusing it
// for another photo, or by another user, is refused.
func TestReplayedUploadAddsNoSecondPhoto(t *testing.T) {
	s := newSite(t, nil)
	s.login("ada")
	token := s.uploadToken()
	if again := s.uploadToken(); again == token {
		t.Fatal("two page views gave the same token")
	}
	img := pngImage(t, 32, 24)
	for i := range 2 {
		r := s.uploadWithToken(token, img)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("upload %d = %d %q %s", i+1, r.status, r.header.Get("Location"), r.body)
		}
	}
	if got := s.latest(); len(got) != 1 || got[0].UploadToken != token {
		t.Fatalf("after a replay the store holds %+v; want one photo with the token", got)
	}

	// A restarted server over the same stores knows the token too.
	restarted := newSite(t, func(d *server.Deps, _ *server.Options) { d.Metadata, d.Blobs = s.metadata, s.blobs })
	restarted.login("ada")
	if r := restarted.uploadWithToken(token, img); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("replay after a restart = %d %s", r.status, r.body)
	}

	if r := s.uploadWithToken(token, pngImage(t, 33, 24)); r.status != http.StatusConflict || !strings.Contains(r.body, "already used") {
		t.Fatalf("the token reused for another photo = %d %s", r.status, r.body)
	}
	grace := newSite(t, func(d *server.Deps, _ *server.Options) { d.Metadata, d.Blobs = s.metadata, s.blobs })
	grace.login("grace")
	if r := grace.uploadWithToken(token, img); r.status != http.StatusConflict {
		t.Fatalf("the token reused by another user = %d %s", r.status, r.body)
	}
	if got := s.latest(); len(got) != 1 || countFiles(t, s.uploadDir) != 1 {
		t.Fatalf("the store holds %d photos and %d files; want 1 and 1", len(got), countFiles(t, s.uploadDir))
	}
	assertNoTemporaryFiles(t, s, restarted, grace)
}

func assertNoTemporaryFiles(t *testing.T, sites ...*site) {
	t.Helper()
	for _, s := range sites {
		if n := countFiles(t, s.tempDir); n != 0 {
			t.Fatalf("%d temporary files left behind", n)
		}
	}
}

// The same form sent several times at once stores one photo and leaves no
// orphaned file, whichever request wins.
func TestConcurrentReplaysStoreOnePhoto(t *testing.T) {
	s := newSite(t, nil)
	s.login("ada")
	token := s.uploadToken()
	img := testimage.JPEG(64, 64)
	var wg sync.WaitGroup
	statuses := make(chan int, 4)
	for range 4 {
		wg.Go(func() { statuses <- s.uploadForm(map[string]string{"upload_token": token}, "a.jpg", img).status })
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		if status != http.StatusSeeOther {
			t.Errorf("a concurrent replay answered %d", status)
		}
	}
	if got := s.latest(); len(got) != 1 || countFiles(t, s.uploadDir) != 1 {
		t.Fatalf("the store holds %d photos and %d files; want 1 and 1", len(got), countFiles(t, s.uploadDir))
	}
}

// lostAnswer is a database whose next insert commits but whose answer is
// lost, as when a connection drops mid-request; with lookupFails, the
// lookup right after fails too, as when the database itself went away.
type lostAnswer struct {
	photo.Metadata
	lostAdds    atomic.Int32
	lookupFails bool
	failLookup  atomic.Bool
}

func (m *lostAnswer) Add(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	if m.lostAdds.Add(-1) < 0 {
		return m.Metadata.Add(ctx, p)
	}
	if _, err := m.Metadata.Add(ctx, p); err != nil {
		return p, err
	}
	m.failLookup.Store(m.lookupFails)
	return p, errors.New("read tcp: connection reset by peer")
}

func (m *lostAnswer) ByUploadToken(ctx context.Context, token string) (photo.Photo, error) {
	if m.failLookup.CompareAndSwap(true, false) {
		return photo.Photo{}, errors.New("dial tcp: connection refused")
	}
	return m.Metadata.ByUploadToken(ctx, token)
}

func lostAnswerSite(t *testing.T, lookupFails bool) (*site, *lostAnswer) {
	db := &lostAnswer{lookupFails: lookupFails}
	s := newSite(t, func(d *server.Deps, _ *server.Options) {
		db.Metadata = d.Metadata
		d.Metadata = db
		d.Cache = memory.NewCache()
	})
	s.login("ada")
	s.get("/") // the photo list is now cached
	db.lostAdds.Store(1)
	return s, db
}

// An insert that committed though its answer was lost is found by its
// token: the upload succeeded, and its image stays.
func TestLostAnswerIsFoundByTheToken(t *testing.T) {
	s, _ := lostAnswerSite(t, false)
	if r := s.uploadWithToken(s.uploadToken(), pngImage(t, 20, 20)); r.status != http.StatusSeeOther {
		t.Fatalf("upload with the answer lost = %d %s", r.status, r.body)
	}
	if got := s.latest(); len(got) != 1 || countFiles(t, s.uploadDir) != 1 {
		t.Fatalf("%d rows, %d files; want the row and its image", len(got), countFiles(t, s.uploadDir))
	}
}

// When even the lookup fails, the client gets an error and retries with the
// same form: it is answered as a stored upload, the photo is there once,
// with its image, and the front page shows it though the first request
// never invalidated the cache.
func TestRetryAfterALostAnswer(t *testing.T) {
	s, _ := lostAnswerSite(t, true)
	token := s.uploadToken()
	img := pngImage(t, 20, 20)
	if r := s.uploadWithToken(token, img); r.status != http.StatusServiceUnavailable {
		t.Fatalf("upload with the answer and the database lost = %d %s", r.status, r.body)
	}
	stored := s.latest()
	if len(stored) != 1 || countFiles(t, s.uploadDir) != 1 {
		t.Fatalf("after the lost answer: %d rows, %d files; want the row and its image", len(stored), countFiles(t, s.uploadDir))
	}
	if page := s.get("/").body; strings.Contains(page, stored[0].Key) {
		t.Fatal("the cached page already shows the photo; the retry's invalidation would go untested")
	}
	if r := s.uploadWithToken(token, img); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("retry = %d %s", r.status, r.body)
	}
	if got := s.latest(); len(got) != 1 {
		t.Fatalf("the retry added a photo: %d", len(got))
	}
	if page := s.get("/").body; !strings.Contains(page, stored[0].Key) {
		t.Fatal("after the retry the front page still misses the photo")
	}
}

// A full server refuses the next upload at once with 503 and Retry-After,
// without waiting for its body; a freed slot takes uploads again.
func TestUploadCapAnswers503AtOnce(t *testing.T) {
	s := newSite(t, func(_ *server.Deps, o *server.Options) { o.MaxConcurrentUploads = 2 })
	s.login("ada")
	release := s.holdUploadSlots(2)
	r := s.uploadUnfinished("third.png", testimage.PNG(8, 8)[:16])
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "5" || !strings.Contains(r.body, "busy with other uploads") {
		t.Fatalf("upload with every slot taken = %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	release()
	// A holder's client may give up before the server has freed its slot.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := s.upload("next.png", pngImage(t, 8, 8))
		if r.status == http.StatusSeeOther {
			break
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("upload after the slots were freed = %d %s", r.status, r.body)
		}
	}
	if got := s.latest(); len(got) != 1 {
		t.Fatalf("the store holds %d photos; want only the last upload", len(got))
	}
	assertNoTemporaryFiles(t, s)
}

// What is stored and served is the photo without its metadata: no GPS
// position, no comments, no XMP; the orientation stays, the pixels too.
func TestUploadStoresPhotosWithoutMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"jpeg", testimage.JPEGWithMetadata(64, 48, 6)},
		{"png", testimage.PNGWithMetadata(64, 48)},
		{"gif", testimage.GIFWithMetadata(32, 24, 2)},
		{"webp", testimage.WebPWithMetadata(16, 16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, nil)
			s.login("ada")
			if r := s.upload("photo."+tc.name, tc.data); r.status != http.StatusSeeOther {
				t.Fatalf("upload = %d %s", r.status, r.body)
			}
			stored := s.latest()
			if len(stored) != 1 {
				t.Fatalf("%d photos stored", len(stored))
			}
			served := s.get("/images/" + stored[0].Key)
			if served.status != http.StatusOK || len(served.body) == 0 {
				t.Fatalf("GET image = %d", served.status)
			}
			if strings.Contains(served.body, testimage.Secret) || strings.Contains(served.body, "xmpmeta") {
				t.Fatal("the served image still carries its metadata")
			}
			if tc.name == "jpeg" && !strings.Contains(served.body, "Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06") {
				t.Fatal("the JPEG lost its orientation")
			}
			if len(served.body) >= len(tc.data) {
				t.Fatalf("served %d bytes of a %d-byte upload; the metadata should be gone", len(served.body), len(tc.data))
			}
		})
	}
}
