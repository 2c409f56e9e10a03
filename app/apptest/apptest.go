// Package apptest drives a running web-demo app over HTTP the way a browser
// does, for the tests of the app and of the local cluster. It imports only
// the standard library.
package apptest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Missing skips the test, or fails it when CI=true, so CI can never pass
// by skipping.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and a required service is missing: "+format, args...)
	}
	t.Skipf("service missing (run scripts/test.sh to install it): "+format, args...)
}

// Client keeps cookies and does not follow redirects, so tests see the
// status of each step.
type Client struct {
	t    testing.TB
	http *http.Client
}

// NewClient returns a client with an empty cookie jar.
func NewClient(t testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, http: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Do sends a request as a same-origin browser form would, and returns the
// status and body. A transport error is status 0 with the error as body.
func (c *Client) Do(method, target, contentType string, body io.Reader) (int, string) {
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// Get fetches target.
func (c *Client) Get(target string) (int, string) { return c.Do(http.MethodGet, target, "", nil) }

// Login logs in by name and returns the status (303 on success).
func (c *Client) Login(base, name string) int {
	status, _ := c.Do(http.MethodPost, base+"/login", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"name": {name}}.Encode()))
	return status
}

// Logout logs out and returns the status.
func (c *Client) Logout(base string) int {
	status, _ := c.Do(http.MethodPost, base+"/logout", "application/x-www-form-urlencoded", nil)
	return status
}

// Upload sends img as the photo field and returns the status and body.
func (c *Client) Upload(base string, img []byte) (int, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("photo", "photo.png")
	_, _ = part.Write(img)
	_ = w.Close()
	return c.Do(http.MethodPost, base+"/upload", w.FormDataContentType(), &body)
}

// PNG returns a small, valid PNG whose bytes depend on seed.
func PNG(t testing.TB, seed int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(seed*31 + i)
	}
	img.Set(0, 0, color.NRGBA{R: uint8(seed), G: uint8(seed >> 8), B: uint8(seed >> 16), A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	keyPattern    = regexp.MustCompile(`[0-9a-f]{32}\.(?:png|jpg|gif|webp)`)
	serverPattern = regexp.MustCompile(`Served by <strong>([^<]+)</strong>`)
	userPattern   = regexp.MustCompile(`<strong id="user">([^<]*)</strong>`)
)

// Page is what a front page shows.
type Page struct {
	Server string
	User   string
	Keys   []string
	FromDB bool
}

// ParsePage reads a front page.
func ParsePage(body string) Page {
	var p Page
	if m := serverPattern.FindStringSubmatch(body); m != nil {
		p.Server = m[1]
	}
	if m := userPattern.FindStringSubmatch(body); m != nil {
		p.User = m[1]
	}
	p.Keys = keyPattern.FindAllString(body, -1)
	p.FromDB = strings.Contains(body, `id="db-line"`)
	return p
}

// Output collects what a server or command prints, safe for one writer and
// many readers, and lets a test wait for a line.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// WaitFor waits up to timeout for pattern and returns its last submatch
// (the whole match when it has no group). It fails the test on timeout.
func (o *Output) WaitFor(t testing.TB, pattern string, timeout time.Duration) string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(o.String()); m != nil {
			return m[len(m)-1]
		}
	}
	t.Fatalf("output never matched %q:\n%s", pattern, o.String())
	return ""
}
