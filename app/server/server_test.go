package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"webdemo/app/internal/testimage"
	"webdemo/app/memory"
	"webdemo/app/photo"
	"webdemo/app/server"
)

func TestFrontPageAnonymous(t *testing.T) {
	s := newSite(t, nil)
	r := s.get("/")
	if r.status != http.StatusOK {
		t.Fatalf("GET / = %d", r.status)
	}
	for _, want := range []string{"Served by <strong>web-test</strong> (test-host)", `id="login-form"`, "Fetched 0 records from the database.", `<span id="session">none</span>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("front page lacks %q", want)
		}
	}
	if strings.Contains(r.body, `id="upload-form"`) {
		t.Error("anonymous visitor sees the upload form")
	}
	if c := r.header.Get("Set-Cookie"); c != "" {
		t.Errorf("anonymous visit created a session: Set-Cookie %q", c)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Content-Security-Policy") == "" {
		t.Errorf("security headers missing: %v", r.header)
	}
}

var imgSrc = regexp.MustCompile(`<img src="([^"]+)"`)

func TestLoginUploadServeLogout(t *testing.T) {
	s := newSite(t, nil)
	if r := s.login("ada"); r.status != http.StatusSeeOther {
		t.Fatalf("login = %d %s", r.status, r.body)
	}
	page := s.get("/").body
	if !strings.Contains(page, `<strong id="user">ada</strong>`) || !strings.Contains(page, `id="upload-form"`) {
		t.Fatal("logged-in page lacks the user or the upload form")
	}
	if regexp.MustCompile(`<span id="session">[0-9a-f]{8}</span>`).FindString(page) == "" {
		t.Fatal("logged-in page lacks the session fingerprint")
	}

	img := pngImage(t, 64, 48)
	if r := s.upload("holiday.png", img); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("upload = %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	photos := s.latest()
	if len(photos) != 1 || photos[0].Username != "ada" || photos[0].ContentType != "image/png" || !strings.HasSuffix(photos[0].Key, ".png") {
		t.Fatalf("stored %+v", photos)
	}

	page = s.get("/").body
	if !strings.Contains(page, "Fetched 1 record from the database.") {
		t.Error("page lacks the database line")
	}
	m := imgSrc.FindStringSubmatch(page)
	if m == nil || m[1] != "/images/"+photos[0].Key {
		t.Fatalf("page does not show the upload: %v", m)
	}
	r := s.get(m[1])
	if r.status != http.StatusOK || r.body != string(img) {
		t.Fatalf("GET image = %d, %d bytes", r.status, len(r.body))
	}
	if r.header.Get("Content-Type") != "image/png" || r.header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("image headers %v", r.header)
	}

	if r := s.post("/logout", "application/x-www-form-urlencoded", nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout = %d", r.status)
	}
	page = s.get("/").body
	if strings.Contains(page, `id="upload-form"`) || !strings.Contains(page, `id="login-form"`) {
		t.Fatal("after logout the upload form is still shown")
	}
}

func sessionCookie(t *testing.T, s *site) *http.Cookie {
	t.Helper()
	for _, c := range s.client.Jar.Cookies(mustURL(s.URL)) {
		if c.Name == "webdemo_session" {
			return c
		}
	}
	return nil
}

func TestSessionCookieAndRenewal(t *testing.T) {
	s := newSite(t, func(_ *server.Deps, o *server.Options) { o.CookieSecure = false })
	r := s.login("ada")
	set := r.header.Get("Set-Cookie")
	for _, want := range []string{"webdemo_session=", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	first := sessionCookie(t, s).Value
	s.login("grace")
	second := sessionCookie(t, s).Value
	if first == second {
		t.Fatal("login did not renew the session token")
	}
	s.post("/logout", "application/x-www-form-urlencoded", nil)
	if c := sessionCookie(t, s); c != nil {
		t.Fatalf("logout left cookie %v", c)
	}
	// The old token is dead: replaying it shows a logged-out page.
	replay := s.newClient()
	replay.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "webdemo_session", Value: second}})
	s.client = replay
	if page := s.get("/").body; strings.Contains(page, "grace") {
		t.Fatal("a destroyed session still logs in")
	}
}

func TestSecureCookieOption(t *testing.T) {
	s := newSite(t, func(_ *server.Deps, o *server.Options) { o.CookieSecure = true })
	if set := s.login("ada").header.Get("Set-Cookie"); !strings.Contains(set, "Secure") {
		t.Fatalf("cookie %q is not Secure", set)
	}
}

func TestBadNames(t *testing.T) {
	s := newSite(t, nil)
	for name, value := range map[string]string{
		"empty":    "",
		"spaces":   "   ",
		"too long": strings.Repeat("é", 65),
		"control":  "ada\x07",
		"newline":  "ada\nroot",
	} {
		t.Run(name, func(t *testing.T) {
			r := s.login(value)
			if r.status != http.StatusBadRequest {
				t.Fatalf("login(%q) = %d, want 400", value, r.status)
			}
			if r.header.Get("Set-Cookie") != "" || sessionCookie(t, s) != nil {
				t.Fatal("a refused login set a cookie")
			}
		})
	}
	if r := s.login(strings.Repeat("é", 64)); r.status != http.StatusSeeOther {
		t.Fatalf("a 64-character name was refused: %d", r.status)
	}
}

func TestNameIsEscaped(t *testing.T) {
	s := newSite(t, nil)
	s.login(`<script>alert("x")</script>`)
	s.upload("a.png", pngImage(t, 2, 2))
	page := s.get("/").body
	if strings.Contains(page, "<script>") {
		t.Fatal("the name reached the page unescaped")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatal("the escaped name is missing")
	}
}

func TestUploadRejections(t *testing.T) {
	small := pngImage(t, 8, 8)
	jpg := testimage.JPEG(16, 16)
	for _, tc := range []struct {
		name   string
		send   func(s *site) response
		status int
		says   string
	}{
		{"logged out", func(s *site) response {
			s.post("/logout", "application/x-www-form-urlencoded", nil)
			return s.upload("a.png", small)
		}, http.StatusUnauthorized, "Log in"},
		{"missing file field", func(s *site) response {
			body, ct := multipartFile("other", "a.png", small)
			return s.post("/upload", ct, body)
		}, http.StatusBadRequest, "Choose a photo"},
		{"empty file", func(s *site) response { return s.upload("a.png", nil) }, http.StatusBadRequest, "empty"},
		{"over the size cap", func(s *site) response {
			return s.upload("big.png", testimage.NoisePNG(300, 300, 1))
		}, http.StatusRequestEntityTooLarge, "larger than"},
		{"body far over the cap", func(s *site) response {
			return s.upload("big.png", make([]byte, 4*testOptions.MaxUploadBytes))
		}, http.StatusRequestEntityTooLarge, "larger than"},
		{"text named .png", func(s *site) response { return s.upload("a.png", []byte("just some text, honestly")) },
			http.StatusUnsupportedMediaType, "Only JPEG, PNG, GIF and WebP"},
		{"HTML named .jpg", func(s *site) response {
			return s.upload("a.jpg", []byte("<html><script>alert(1)</script></html>"))
		}, http.StatusUnsupportedMediaType, "Only JPEG, PNG, GIF and WebP"},
		{"wrong type, refused before the rest is sent", func(s *site) response {
			return s.uploadUnfinished("a.png", []byte("<html>"+strings.Repeat("<p>", 300)))
		}, http.StatusUnsupportedMediaType, "Only JPEG, PNG, GIF and WebP"},
		{"PNG signature, garbage after", func(s *site) response {
			return s.upload("a.png", append([]byte("\x89PNG\r\n\x1a\n"), "garbage"...))
		}, http.StatusUnsupportedMediaType, "cut short"},
		{"PNG, data after IEND", func(s *site) response {
			return s.upload("a.png", slices.Concat(small, []byte("<script>alert(1)</script>")))
		}, http.StatusUnsupportedMediaType, "data after the end of the image"},
		{"JPEG, data after EOI", func(s *site) response {
			return s.upload("a.jpg", slices.Concat(jpg, []byte("PK\x03\x04 a zip file")))
		}, http.StatusUnsupportedMediaType, "data after the end of the image"},
		{"GIF, data after the trailer", func(s *site) response {
			return s.upload("a.gif", slices.Concat(testimage.GIF(8, 8, 1), []byte("junk")))
		}, http.StatusUnsupportedMediaType, "data after the end of the image"},
		{"WebP, longer than its RIFF size", func(s *site) response {
			return s.upload("a.webp", slices.Concat(testimage.WebP(8, 8), []byte("junk")))
		}, http.StatusUnsupportedMediaType, "data after the end of the image"},
		{"truncated PNG", func(s *site) response { return s.upload("a.png", small[:len(small)-20]) },
			http.StatusUnsupportedMediaType, "cut short"},
		{"truncated JPEG", func(s *site) response { return s.upload("a.jpg", jpg[:len(jpg)/2]) },
			http.StatusUnsupportedMediaType, "cut short"},
		{"sound header, pixels that do not decode", func(s *site) response {
			return s.upload("a.png", testimage.PNGWithBadPixels(64, 64))
		}, http.StatusUnsupportedMediaType, "damaged"},
		{"animated WebP", func(s *site) response { return s.upload("a.webp", testimage.AnimatedWebP()) },
			http.StatusUnsupportedMediaType, "Animated WebP"},
		{"decompression bomb", func(s *site) response { return s.upload("bomb.png", pngBomb(t, 100_000, 100_000)) },
			http.StatusUnprocessableEntity, "the limit is 4000000 pixels"},
		{"just over the pixel cap", func(s *site) response { return s.upload("big.png", pngImage(t, 2001, 2000)) },
			http.StatusUnprocessableEntity, "2001×2000 pixels"},
		{"WebP bomb", func(s *site) response { return s.upload("bomb.webp", testimage.WebP(16000, 16000)) },
			http.StatusUnprocessableEntity, "16000×16000 pixels"},
		{"animation over the pixel cap", func(s *site) response { return s.upload("a.gif", testimage.GIF(1000, 1000, 5)) },
			http.StatusUnprocessableEntity, "5 frames hold 5000000 pixels"},
		{"progressive JPEG too deep to decode", func(s *site) response { return s.upload("a.jpg", testimage.ProgressiveBomb(2000, 2000)) },
			http.StatusUnprocessableEntity, "of memory to check"},
		{"GIF of many frames", func(s *site) response { return s.upload("a.gif", testimage.TinyFramesGIF(1000)) },
			http.StatusUnprocessableEntity, "of memory to check"},
		{"every upload slot taken", func(s *site) response {
			release := s.holdUploadSlots(testOptions.MaxConcurrentUploads)
			defer release()
			r := s.uploadUnfinished("a.png", small)
			if r.header.Get("Retry-After") != "5" {
				s.t.Errorf("Retry-After %q; want 5", r.header.Get("Retry-After"))
			}
			return r
		}, http.StatusServiceUnavailable, "busy with other uploads"},
		{"upload token reused for another photo", func(s *site) response {
			token := s.uploadToken()
			s.uploadWithToken(token, small)
			s.storedSoFar()
			return s.uploadWithToken(token, jpg)
		}, http.StatusConflict, "already used"},
		{"upload token reused by another user", func(s *site) response {
			token := s.uploadToken()
			s.uploadWithToken(token, small)
			s.login("grace")
			s.storedSoFar()
			return s.uploadWithToken(token, small)
		}, http.StatusConflict, "already used"},
		{"malformed upload token", func(s *site) response {
			return s.uploadForm(map[string]string{"upload_token": "../../etc"}, "a.png", small)
		}, http.StatusBadRequest, "out of date"},
		{"two photos", func(s *site) response {
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			for _, name := range []string{"a.png", "b.png"} {
				part, _ := w.CreateFormFile("photo", name)
				_, _ = part.Write(small)
			}
			_ = w.Close()
			return s.post("/upload", w.FormDataContentType(), &body)
		}, http.StatusBadRequest, "one photo at a time"},
		{"too many fields", func(s *site) response {
			fields := map[string]string{}
			for i := range 20 {
				fields[fmt.Sprint("field", i)] = "x"
			}
			return s.uploadForm(fields, "a.png", small)
		}, http.StatusBadRequest, "too many fields"},
		{"a large field besides the photo", func(s *site) response {
			return s.uploadForm(map[string]string{"comment": strings.Repeat("x", 100<<10)}, "a.png", small)
		}, http.StatusRequestEntityTooLarge, "too much besides the photo"},
		{"not multipart", func(s *site) response {
			return s.post("/upload", "application/x-www-form-urlencoded", strings.NewReader("photo=abc"))
		}, http.StatusBadRequest, "multipart form"},
		{"truncated multipart", func(s *site) response {
			body, ct := multipartFile("photo", "a.png", small)
			return s.post("/upload", ct, bytes.NewReader(body.Bytes()[:body.Len()/2]))
		}, http.StatusBadRequest, "malformed or cut short"},
		{"malformed multipart", func(s *site) response {
			return s.post("/upload", "multipart/form-data; boundary=xyz", strings.NewReader("this is not multipart at all"))
		}, http.StatusBadRequest, "malformed or cut short"},
		{"no boundary", func(s *site) response {
			return s.post("/upload", "multipart/form-data", strings.NewReader("--x\r\n"))
		}, http.StatusBadRequest, "multipart form"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, nil)
			s.login("ada")
			r := tc.send(s)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if !strings.Contains(r.body, `<p id="error">`) || !strings.Contains(r.body, tc.says) {
				t.Errorf("the message does not say %q: %q", tc.says, r.body)
			}
			rows, files := len(s.latest()), countFiles(t, s.uploadDir)
			if rows != s.stored[0] || files != s.stored[1] {
				t.Fatalf("a rejected upload left %d rows and %d files; the test stored %d and %d", rows, files, s.stored[0], s.stored[1])
			}
			assertNoTemporaryFiles(t, s)
		})
	}
}

// assertNoBlobs checks that the upload directory holds no files, not even
// temporary ones, and that no upload is left in the temporary directory.
func assertNoBlobs(t *testing.T, s *site) {
	t.Helper()
	for _, dir := range []string{s.uploadDir, s.tempDir} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Fatalf("%s holds %d files", filepath.Base(dir), len(entries))
		}
	}
}

func TestImageByContentNotName(t *testing.T) {
	s := newSite(t, nil)
	s.login("ada")
	if r := s.upload("notes.txt", pngImage(t, 3, 3)); r.status != http.StatusSeeOther {
		t.Fatalf("a PNG named .txt was refused: %d %s", r.status, r.body)
	}
	if got := s.latest(); len(got) != 1 || !strings.HasSuffix(got[0].Key, ".png") {
		t.Fatalf("stored %+v, want one .png", got)
	}
}

func TestImagePathsStayInTheStore(t *testing.T) {
	s := newSite(t, nil)
	for _, path := range []string{
		"/images/../../../etc/passwd",
		"/images/..%2f..%2fetc%2fpasswd",
		"/images/%2e%2e",
		"/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/images/..",
		"/images/0123456789abcdef0123456789abcdef.png",
		"/images/test.db",
		"/images/",
	} {
		req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
		req.URL.Opaque = path // send the path exactly as written
		r := s.do(req)
		if r.status != http.StatusNotFound && r.status != http.StatusBadRequest {
			t.Errorf("GET %s = %d, want 404 or 400", path, r.status)
		}
		if strings.Contains(r.body, "root:") || strings.Contains(r.body, "SQLite") {
			t.Errorf("GET %s leaked a file", path)
		}
	}
}

func TestCrossSitePostIsForbidden(t *testing.T) {
	s := newSite(t, nil)
	for _, header := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader("name=mallory"))
		req.Header = header.Clone()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if r := s.do(req); r.status != http.StatusForbidden {
			t.Errorf("cross-site POST with %v = %d, want 403", header, r.status)
		}
	}
	if sessionCookie(t, s) != nil {
		t.Fatal("a cross-site login set a cookie")
	}
}

func TestWrongMethod(t *testing.T) {
	s := newSite(t, nil)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/login"}, {http.MethodGet, "/logout"}, {http.MethodGet, "/upload"},
		{http.MethodDelete, "/"}, {http.MethodPut, "/upload"}, {http.MethodPost, "/images/0123456789abcdef0123456789abcdef.png"},
	} {
		req, _ := http.NewRequest(tc.method, s.URL+tc.path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if r := s.do(req); r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s = %d, want 405", tc.method, tc.path, r.status)
		}
	}
}

func TestFrontPageCache(t *testing.T) {
	cache := memory.NewCache()
	s := newSite(t, func(d *server.Deps, _ *server.Options) { d.Cache = cache })
	if page := s.get("/").body; !strings.Contains(page, "Fetched 0 records") {
		t.Fatal("first visit did not read the database")
	}
	if page := s.get("/").body; strings.Contains(page, `id="db-line"`) {
		t.Fatal("second visit read the database despite the cache")
	}
	s.login("ada")
	s.upload("a.png", pngImage(t, 4, 4))
	page := s.get("/").body
	if !strings.Contains(page, "Fetched 1 record") || imgSrc.FindString(page) == "" {
		t.Fatal("the upload did not invalidate the cache")
	}
	if page := s.get("/").body; strings.Contains(page, `id="db-line"`) || imgSrc.FindString(page) == "" {
		t.Fatal("the refreshed list was not cached")
	}
}

// failingCache is a cache whose server is down.
type failingCache struct{}

func (failingCache) GetMulti(context.Context, ...string) (map[string][]byte, error) {
	return nil, errors.New("dial: refused")
}
func (failingCache) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("dial: refused")
}
func (failingCache) Incr(context.Context, string) (uint64, error) {
	return 0, errors.New("dial: refused")
}

func TestCacheDownServesFromDatabase(t *testing.T) {
	s := newSite(t, func(d *server.Deps, _ *server.Options) { d.Cache = failingCache{} })
	s.login("ada")
	if r := s.upload("a.png", pngImage(t, 4, 4)); r.status != http.StatusSeeOther {
		t.Fatalf("upload with the cache down = %d", r.status)
	}
	r := s.get("/")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Fetched 1 record") {
		t.Fatalf("front page with the cache down = %d", r.status)
	}
}

// failingStore is a session store whose server is down.
type failingStore struct{}

func (failingStore) Find(string) ([]byte, bool, error) {
	return nil, false, errors.New("dial: refused")
}
func (failingStore) Commit(string, []byte, time.Time) error { return errors.New("dial: refused") }
func (failingStore) Delete(string) error                    { return errors.New("dial: refused") }

func TestSessionStoreDown(t *testing.T) {
	s := newSite(t, func(d *server.Deps, _ *server.Options) { d.SessionStore = failingStore{} })
	r := s.login("ada")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Sessions are unavailable") {
		t.Fatalf("login with sessions down = %d %q", r.status, r.body)
	}
	// A returning visitor with a cookie still sees the photos.
	s.client.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "webdemo_session", Value: "stale-token"}})
	r = s.get("/")
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="session-down"`) {
		t.Fatalf("front page with sessions down = %d", r.status)
	}
}

// brokenBlobs fails every write, as S3 does when it is unreachable.
type brokenBlobs struct{ photo.Blobs }

func (brokenBlobs) Put(context.Context, string, string, io.Reader, int64) error {
	return errors.New("s3: 503 Slow Down")
}

func TestBlobStoreErrorWritesNoRow(t *testing.T) {
	s := newSite(t, func(d *server.Deps, _ *server.Options) { d.Blobs = brokenBlobs{d.Blobs} })
	s.login("ada")
	r := s.upload("a.png", pngImage(t, 4, 4))
	if r.status < 500 || !strings.Contains(r.body, "not saved") {
		t.Fatalf("upload with the store down = %d %q", r.status, r.body)
	}
	if got := s.latest(); len(got) != 0 {
		t.Fatalf("rows written: %+v", got)
	}
}

// brokenMetadata fails inserts, as a database does mid-outage.
type brokenMetadata struct{ photo.Metadata }

func (brokenMetadata) Add(_ context.Context, p photo.Photo) (photo.Photo, error) {
	return p, errors.New("database is down")
}

func TestDatabaseErrorRemovesTheBlob(t *testing.T) {
	s := newSite(t, func(d *server.Deps, _ *server.Options) { d.Metadata = brokenMetadata{d.Metadata} })
	s.login("ada")
	r := s.upload("a.png", pngImage(t, 4, 4))
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("upload with the database down = %d", r.status)
	}
	assertNoBlobs(t, s)
}

func TestDatabaseDown(t *testing.T) {
	s := newSite(t, nil)
	if r := s.get("/readyz"); r.status != http.StatusOK {
		t.Fatalf("readyz = %d", r.status)
	}
	_ = s.metadata.Close()
	r := s.get("/")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "database is unavailable") {
		t.Fatalf("front page with the database down = %d %q", r.status, r.body)
	}
	if r := s.get("/readyz"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database down = %d", r.status)
	}
	if r := s.get("/healthz"); r.status != http.StatusOK {
		t.Fatalf("healthz must stay shallow, got %d", r.status)
	}
}

func TestDrainFailsHealthChecks(t *testing.T) {
	s := newSite(t, nil)
	s.app.Drain()
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := s.get(path); r.status != http.StatusServiceUnavailable {
			t.Errorf("%s while draining = %d, want 503", path, r.status)
		}
	}
	if r := s.get("/"); r.status != http.StatusOK {
		t.Errorf("pages still serve while draining, got %d", r.status)
	}
}
