package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"webdemo/app/disk"
	"webdemo/app/latency"
	"webdemo/app/photo"
	"webdemo/app/server"
	"webdemo/app/sqldb"
)

// site is a server over real SQLite and disk stores, with a browser-like
// client that keeps cookies and does not follow redirects.
type site struct {
	*httptest.Server
	t         testing.TB
	client    *http.Client
	metadata  photo.Metadata
	blobs     photo.Blobs
	uploadDir string
	tempDir   string
	app       *server.Server
	// stored counts the rows and upload files a test made on purpose
	// before the request it checks; see storedSoFar.
	stored [2]int
}

var testOptions = server.Options{PageSize: 10, MaxUploadBytes: 256 << 10, MaxImagePixels: 4_000_000, CacheTTL: time.Minute,
	MaxConcurrentUploads: 8}

func newSite(t testing.TB, change func(*server.Deps, *server.Options)) *site {
	t.Helper()
	dir := t.TempDir()
	meta, err := sqldb.OpenSQLite(filepath.Join(dir, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := meta.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.Open(filepath.Join(dir, "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	sessions := memstore.NewWithCleanupInterval(0) // no goroutine: StopCleanup races in scs
	t.Cleanup(func() { _ = meta.Close(); _ = blobs.Close() })
	deps := server.Deps{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metadata:     meta,
		Blobs:        blobs,
		SessionStore: sessions,
		Latency:      latency.New(0),
		Identity:     server.Identity{Name: "web-test", Detail: "test-host"},
	}
	opts := testOptions
	opts.TempDir = filepath.Join(dir, "tmp")
	if err := os.Mkdir(opts.TempDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(&deps, &opts)
	}
	app := server.New(deps, opts)
	s := &site{Server: httptest.NewServer(app), t: t, metadata: deps.Metadata, blobs: deps.Blobs, uploadDir: filepath.Join(dir, "uploads"), tempDir: opts.TempDir, app: app}
	t.Cleanup(s.Close)
	s.client = s.newClient()
	return s
}

func (s *site) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// response is a finished request: status, headers and body.
type response struct {
	status int
	header http.Header
	body   string
	// closed is set when the server said it closes the connection
	// (Connection: close, which the client takes out of header).
	closed bool
}

func (s *site) do(req *http.Request) response {
	s.t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(body), resp.Close}
}

func (s *site) get(path string) response {
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(req)
}

// post sends a same-origin form POST, as a browser would.
func (s *site) post(path, contentType string, body io.Reader) response {
	req, err := http.NewRequest(http.MethodPost, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return s.do(req)
}

func (s *site) login(name string) response {
	return s.post("/login", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"name": {name}}.Encode()))
}

func (s *site) upload(filename string, data []byte) response {
	body, contentType := multipartFile("photo", filename, data)
	return s.post("/upload", contentType, body)
}

// latest lists the metadata store directly, to check what a request changed.
func (s *site) latest() []photo.Photo {
	s.t.Helper()
	photos, err := s.metadata.Latest(context.Background(), 100)
	if err != nil {
		s.t.Fatal(err)
	}
	return photos
}

func multipartFile(field, filename string, data []byte) (*bytes.Buffer, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile(field, filename)
	_, _ = part.Write(data)
	_ = w.Close()
	return &body, w.FormDataContentType()
}

// pngImage encodes a w×h PNG.
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, G: uint8(x), B: 40, A: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngBomb is a tiny PNG whose header claims w×h pixels: decoding it would
// allocate gigabytes.
func pngBomb(t testing.TB, w, h uint32) []byte {
	data := pngImage(t, 1, 1)
	// The IHDR chunk's data starts at byte 16: width, height; CRC at 29.
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

func mustURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}
