package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"webdemo/app/disk"
	"webdemo/app/latency"
	"webdemo/app/sqldb"
)

// fuzzSite is a server over real SQLite and disk stores holding one photo,
// with a secret file beside the uploads that no request may reach, and one
// logged-in session.
type fuzzSite struct {
	srv    *Server
	key    string
	image  []byte
	secret string
	token  string
}

func newFuzzSite(t testing.TB) *fuzzSite {
	t.Helper()
	dir := t.TempDir()
	fs := &fuzzSite{key: "0123456789abcdef0123456789abcdef.png", image: []byte("\x89PNG\r\n\x1a\nnot really"), secret: "SECRET-7f3a9c"}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(fs.secret), 0o600); err != nil {
		t.Fatal(err)
	}
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
	t.Cleanup(func() { _ = meta.Close(); _ = blobs.Close() })
	if err := blobs.Put(context.Background(), fs.key, "image/png", bytes.NewReader(fs.image), int64(len(fs.image))); err != nil {
		t.Fatal(err)
	}
	fs.srv = New(Deps{
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metadata:     meta,
		Blobs:        blobs,
		SessionStore: memstore.NewWithCleanupInterval(0),
		Latency:      latency.New(0),
		Identity:     Identity{Name: "fuzz"},
	}, Options{PageSize: 10, MaxUploadBytes: 64 << 10, MaxImagePixels: 1 << 20, SessionIdleTimeout: time.Hour, SessionLifetime: 2 * time.Hour})
	login := fs.serve(t, http.MethodPost, "/login", "name=ada", "")
	for _, c := range login.Result().Cookies() {
		fs.token = c.Value
	}
	if login.Code != http.StatusSeeOther || fs.token == "" {
		t.Fatalf("fixture login = %d", login.Code)
	}
	return fs
}

// serve sends one same-origin request straight to the handler.
func (fs *fuzzSite) serve(t testing.TB, method, target, form, cookie string) *httptest.ResponseRecorder {
	t.Helper()
	req, err := http.NewRequest(method, "http://example.test"+target, strings.NewReader(form))
	if err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	req.RemoteAddr = "192.0.2.10:1234"
	w := httptest.NewRecorder()
	fs.srv.ServeHTTP(w, req)
	return w
}

// FuzzImagePath requests /images/ followed by anything: only the stored
// photo is ever served, nothing beside the store leaks, nothing fails.
func FuzzImagePath(f *testing.F) {
	for _, seed := range []string{
		"0123456789abcdef0123456789abcdef.png", "../secret.txt", "..%2fsecret.txt", "%2e%2e/secret.txt",
		"..", "", "0123456789abcdef0123456789abcdef.png/", "0123456789abcdef0123456789abcdef.png%00",
		"0123456789ABCDEF0123456789abcdef.png", "%2e%2e%2f%2e%2e%2fsecret.txt", "./0123456789abcdef0123456789abcdef.png",
	} {
		f.Add(seed)
	}
	fs := newFuzzSite(f)
	f.Fuzz(func(t *testing.T, path string) {
		req, err := http.NewRequest(http.MethodGet, "http://example.test/images/"+path, nil)
		if err != nil {
			return // not a request a client could send
		}
		w := httptest.NewRecorder()
		fs.srv.ServeHTTP(w, req)
		body := w.Body.String()
		if w.Code >= 500 {
			t.Fatalf("/images/%s = %d", path, w.Code)
		}
		if strings.Contains(body, fs.secret) {
			t.Fatalf("/images/%s leaked the file beside the store", path)
		}
		if w.Code == http.StatusOK && body != string(fs.image) {
			t.Fatalf("/images/%s = 200 with something other than the photo: %q", path, body)
		}
		if w.Code == http.StatusOK && req.URL.Path != "/images/"+fs.key {
			t.Fatalf("/images/%s (path %q) served the photo under another name", path, req.URL.Path)
		}
	})
}

// FuzzRequest sends any method to any path: nothing fails, and a 405 says
// which methods work, each of which then does.
func FuzzRequest(f *testing.F) {
	for _, seed := range []struct{ method, target string }{
		{"GET", "/"}, {"DELETE", "/"}, {"GET", "/login"}, {"PUT", "/upload"}, {"POST", "/images/0123456789abcdef0123456789abcdef.png"},
		{"OPTIONS", "/healthz"}, {"PROPFIND", "/readyz"}, {"GET", "/nowhere"}, {"HEAD", "/logout"}, {"GET", "//login"},
		{"GET", "/images/../login"}, {"POST", "/login/"}, {"get", "/"},
	} {
		f.Add(seed.method, seed.target)
	}
	fs := newFuzzSite(f)
	f.Fuzz(func(t *testing.T, method, target string) {
		if _, err := http.NewRequest(method, "http://example.test"+target, nil); err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		w := fs.serve(t, method, target, "", "")
		if w.Code >= 500 {
			t.Fatalf("%s %s = %d", method, target, w.Code)
		}
		if w.Code != http.StatusMethodNotAllowed {
			return
		}
		allow := w.Header().Get("Allow")
		if allow == "" {
			t.Fatalf("%s %s = 405 without Allow", method, target)
		}
		for _, m := range strings.Split(allow, ", ") {
			if again := fs.serve(t, m, target, "", ""); again.Code == http.StatusMethodNotAllowed {
				t.Fatalf("%s %s: Allow lists %s, which answers 405 too", method, target, m)
			}
		}
	})
}

var userOnPage = regexp.MustCompile(`<strong id="user">([^<]*)</strong>`)

// FuzzSessionCookie sends any Cookie header: a forged or mangled cookie
// never logs anyone in, never fails a request, and never creates a session
// for an anonymous visit.
func FuzzSessionCookie(f *testing.F) {
	for _, seed := range []string{
		"webdemo_session=", "webdemo_session=abc", "webdemo_session=" + strings.Repeat("A", 43),
		"webdemo_session=\"quoted\"", "webdemo_session=a; webdemo_session=b", "other=1", "webdemo_session=../../etc",
		"webdemo_session=" + strings.Repeat("x", 300), "webdemo_session=%00", ";;;=",
	} {
		f.Add(seed)
	}
	fs := newFuzzSite(f)
	f.Fuzz(func(t *testing.T, cookie string) {
		if strings.Contains(cookie, fs.token) {
			return // the real session, which may log in
		}
		page := fs.serve(t, http.MethodGet, "/", "", cookie)
		if page.Code != http.StatusOK {
			t.Fatalf("GET / with Cookie %q = %d", cookie, page.Code)
		}
		if m := userOnPage.FindStringSubmatch(page.Body.String()); m != nil {
			t.Fatalf("Cookie %q logged in as %q", cookie, m[1])
		}
		if c := page.Header().Get("Set-Cookie"); c != "" {
			t.Fatalf("an anonymous visit with Cookie %q set %q", cookie, c)
		}
		if up := fs.serve(t, http.MethodPost, "/upload", "", cookie); up.Code != http.StatusUnauthorized {
			t.Fatalf("upload with Cookie %q = %d, want 401", cookie, up.Code)
		}
		if out := fs.serve(t, http.MethodPost, "/logout", "", cookie); out.Code != http.StatusSeeOther {
			t.Fatalf("logout with Cookie %q = %d", cookie, out.Code)
		}
	})
}

// FuzzFingerprint: the shown fingerprint is always 8 hex digits, the same
// for the same token, and empty only without a token.
func FuzzFingerprint(f *testing.F) {
	for _, seed := range []string{"", "a", strings.Repeat("A", 43), "\x00", "é"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		fp := fingerprint(token)
		if token == "" {
			if fp != "" {
				t.Fatalf("fingerprint of no token = %q", fp)
			}
			return
		}
		if _, err := hex.DecodeString(fp); err != nil || len(fp) != 8 || fp != fingerprint(token) {
			t.Fatalf("fingerprint(%q) = %q", token, fp)
		}
	})
}

// FuzzLoginName logs in with any name: a name the rules accept logs in and
// is shown exactly as typed (trimmed); any other is refused with 400; no
// name fails the server.
func FuzzLoginName(f *testing.F) {
	for _, seed := range []string{
		"ada", "", "   ", "ada\x07", "ada\nroot", strings.Repeat("é", 64), strings.Repeat("é", 65),
		`<script>alert("x")</script>`, "\u202eevil", "\xff\xfe", "a\u200db", " ada ", "&amp;", "{{.User}}",
	} {
		f.Add(seed)
	}
	fs := newFuzzSite(f)
	f.Fuzz(func(t *testing.T, name string) {
		form := url.Values{"name": {name}}.Encode()
		trimmed := strings.TrimSpace(name)
		verdict := validName(trimmed)
		if verdict == nil && (trimmed == "" || len([]rune(trimmed)) > maxNameLength) {
			t.Fatalf("validName accepts %q", trimmed)
		}
		login := fs.serve(t, http.MethodPost, "/login", form, "")
		switch {
		case len(form) > 4<<10 || verdict != nil:
			if login.Code != http.StatusBadRequest {
				t.Fatalf("login %q = %d, want 400 (%v)", name, login.Code, verdict)
			}
			return
		case login.Code != http.StatusSeeOther:
			t.Fatalf("login %q = %d, want 303", name, login.Code)
		}
		var cookie string
		for _, c := range login.Result().Cookies() {
			cookie = c.Name + "=" + c.Value
		}
		page := fs.serve(t, http.MethodGet, "/", "", cookie)
		m := userOnPage.FindStringSubmatch(page.Body.String())
		if m == nil || html.UnescapeString(m[1]) != trimmed {
			t.Fatalf("login %q: page shows %v, want %q", name, m, trimmed)
		}
		fs.serve(t, http.MethodPost, "/logout", "", cookie) // keeps the store small
	})
}

// FuzzClientAddr reads any RemoteAddr and X-Forwarded-For: the client is
// the peer itself unless the peer is a trusted proxy, always an address
// somebody in the chain named, and no forged entry to the left of the
// proxies' own changes who it is.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range []struct{ remote, xff string }{
		{"10.0.3.4:5555", "203.0.113.5"}, {"10.0.3.4:5555", "192.0.2.1, 203.0.113.5"}, {"198.51.100.2:80", "203.0.113.5"},
		{"127.0.0.1:9", "10.0.0.9, 127.0.0.1"}, {"[::1]:80", "2001:db8::1"}, {"10.0.0.1:1", "garbage, 10.0.0.2"},
		{"10.0.0.1:1", ""}, {"nonsense", "203.0.113.5"}, {"[::ffff:10.0.0.1]:80", "::ffff:203.0.113.9"},
		{"10.0.0.1:1", "203.0.113.5:4444"}, {"10.0.0.1:1", "[2001:db8::5]:443"}, {"10.0.0.1:1", "fe80::1%eth0"},
	} {
		f.Add(seed.remote, seed.xff)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		got := clientAddr(r, trusted)
		peer := parseHop(remote)
		switch {
		case !peer.IsValid():
			if got.IsValid() {
				t.Fatalf("unreadable RemoteAddr %q gave %v", remote, got)
			}
			return
		case !isTrusted(peer, trusted):
			if got != peer {
				t.Fatalf("untrusted peer %q: client %v, want the peer", remote, got)
			}
			return
		}
		named := got == peer
		for hop := range strings.SplitSeq(xff, ",") {
			named = named || parseHop(strings.TrimSpace(hop)) == got
		}
		if !named || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("%q via %q: client %v is nobody in the chain, or not in its plain form", xff, remote, got)
		}
		if !isTrusted(got, trusted) {
			r.Header.Set("X-Forwarded-For", "198.51.100.99, "+xff)
			if forged := clientAddr(r, trusted); forged != got {
				t.Fatalf("%q via %q: a forged left entry moved the client from %v to %v", xff, remote, got, forged)
			}
		}
	})
}
