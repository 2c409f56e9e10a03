package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"webdemo/app/apptest"
	"webdemo/app/internal/testimage"
	"webdemo/app/photo"
	"webdemo/app/server"
)

// TestErrorAnswers pins every way a request can fail: its status, the page
// title, the exact message the user reads, and the headers that tell a
// client what to do next. It was written against the handlers before they
// returned errors, so it proves the refactor changed none of them.
func TestErrorAnswers(t *testing.T) {
	small := pngImage(t, 8, 8)
	loggedIn := func(change func(*server.Deps, *server.Options)) func(t *testing.T) *site {
		return func(t *testing.T) *site {
			s := newSite(t, change)
			if r := s.login("ada"); r.status != http.StatusSeeOther {
				t.Fatalf("login = %d", r.status)
			}
			return s
		}
	}
	anonymous := func(change func(*server.Deps, *server.Options)) func(t *testing.T) *site {
		return func(t *testing.T) *site { return newSite(t, change) }
	}
	const (
		sessionsDown = "Sessions are unavailable right now, so logging in, out and uploading cannot work. Please try again shortly."
		noPhoto      = "There is no such photo."
	)
	// A refused upload is answered with Connection: close, as its body
	// may not have been read.
	closes := map[string]string{"Connection": "close"}

	for _, tc := range []struct {
		name    string
		site    func(t *testing.T) *site
		send    func(s *site) response
		status  int
		message string // {Retry-After} stands for that header's value
		// header values the answer must carry; "+" is any whole number.
		header map[string]string
		// plain answers are text for load balancers, not a page.
		plain bool
	}{
		// Routing.
		{name: "no such page", site: anonymous(nil), send: func(s *site) response { return s.get("/nope") },
			status: 404, message: "There is no such page."},
		{name: "POST to the front page", site: anonymous(nil),
			send:   func(s *site) response { return s.post("/", "text/plain", nil) },
			status: 405, message: "This address does not answer POST requests, only GET or HEAD.", header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "GET the login form's target", site: anonymous(nil), send: func(s *site) response { return s.get("/login") },
			status: 405, message: "This address does not answer GET requests, only POST.", header: map[string]string{"Allow": "POST"}},
		{name: "DELETE an image", site: anonymous(nil), send: func(s *site) response {
			req, _ := http.NewRequest(http.MethodDelete, s.URL+"/images/abc.png", nil)
			return s.do(req)
		}, status: 405, message: "This address does not answer DELETE requests, only GET or HEAD.", header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "cross-site POST", site: anonymous(nil), send: func(s *site) response {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader("name=ada"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			return s.do(req)
		}, status: 403, message: "Cross-site requests are not allowed."},

		// Login and logout.
		{name: "login form too large", site: anonymous(nil), send: func(s *site) response {
			return s.post("/login", "application/x-www-form-urlencoded", strings.NewReader("name="+strings.Repeat("a", 8<<10)))
		}, status: 400, message: "The login form could not be read."},
		{name: "empty name", site: anonymous(nil), send: func(s *site) response { return s.login("  ") },
			status: 400, message: "Please enter a name."},
		{name: "name not UTF-8", site: anonymous(nil), send: func(s *site) response { return s.login("a\xffb") },
			status: 400, message: "The name is not valid text."},
		{name: "name too long", site: anonymous(nil), send: func(s *site) response { return s.login(strings.Repeat("a", 65)) },
			status: 400, message: "The name is longer than 64 characters."},
		{name: "name with a control character", site: anonymous(nil), send: func(s *site) response { return s.login("a\x07b") },
			status: 400, message: "The name may not contain control characters."},
		{name: "name with a direction control", site: anonymous(nil), send: func(s *site) response { return s.login("a\u202eb") },
			status: 400, message: "The name may not contain text-direction controls."},
		{name: "login throttled", site: anonymous(throttled(1)), send: func(s *site) response {
			s.login("ada")
			return s.login("ada")
		}, status: 429, message: "Too many login attempts from your address. Please wait {Retry-After} seconds and try again.",
			header: map[string]string{"Retry-After": "+"}},
		{name: "login with sessions down", site: anonymous(func(d *server.Deps, _ *server.Options) { d.SessionStore = failingStore{} }),
			send: func(s *site) response { return s.login("ada") }, status: 503, message: sessionsDown},
		{name: "logout with sessions down", site: anonymous(func(d *server.Deps, _ *server.Options) { d.SessionStore = failingStore{} }),
			send: func(s *site) response {
				return s.post("/logout", "application/x-www-form-urlencoded", nil)
			}, status: 503, message: sessionsDown},

		// Images.
		{name: "image key malformed", site: anonymous(nil), send: func(s *site) response { return s.get("/images/not-a-key") },
			status: 404, message: noPhoto},
		{name: "image missing", site: anonymous(nil), send: func(s *site) response {
			return s.get("/images/" + strings.Repeat("a", 32) + ".png")
		}, status: 404, message: noPhoto},
		{name: "image store down", site: anonymous(func(d *server.Deps, _ *server.Options) { d.Blobs = unopenableBlobs{d.Blobs} }),
			send:   func(s *site) response { return s.get("/images/" + strings.Repeat("a", 32) + ".png") },
			status: 502, message: "The photo store is unavailable right now."},

		// The front page.
		{name: "front page with the database down", site: anonymous(nil), send: func(s *site) response {
			_ = s.metadata.Close()
			return s.get("/")
		}, status: 503, message: "The photo database is unavailable right now. This page will work again by itself once it is back."},

		// Health checks answer load balancers in plain text.
		{name: "healthz while draining", site: anonymous(nil), send: func(s *site) response {
			s.app.Drain()
			return s.get("/healthz")
		}, status: 503, message: "draining", plain: true},
		{name: "readyz while draining", site: anonymous(nil), send: func(s *site) response {
			s.app.Drain()
			return s.get("/readyz")
		}, status: 503, message: "draining", plain: true},
		{name: "readyz with the database down", site: anonymous(nil), send: func(s *site) response {
			_ = s.metadata.Close()
			return s.get("/readyz")
		}, status: 503, message: "database unreachable", plain: true},

		// Uploads.
		{name: "upload logged out", site: anonymous(nil), send: func(s *site) response { return s.upload("a.png", small) },
			status: 401, message: "Log in to upload photos.", header: closes},
		{name: "upload with sessions down", site: anonymous(func(d *server.Deps, _ *server.Options) { d.SessionStore = failingStore{} }),
			send: func(s *site) response {
				s.client.Jar.SetCookies(mustURL(s.URL), []*http.Cookie{{Name: "webdemo_session", Value: "stale-token"}})
				return s.upload("a.png", small)
			}, status: 503, message: sessionsDown},
		{name: "upload with every slot taken", site: loggedIn(nil), send: func(s *site) response {
			release := s.holdUploadSlots(testOptions.MaxConcurrentUploads)
			defer release()
			return s.uploadUnfinished("a.png", small)
		}, status: 503, message: "The server is busy with other uploads. Please try again in a few seconds.",
			header: map[string]string{"Retry-After": "5", "Connection": "close"}},
		{name: "upload over the cap", site: loggedIn(nil), send: func(s *site) response {
			return s.upload("big.png", testimage.NoisePNG(300, 300, 1))
		}, status: 413, message: "The file is larger than 1 MiB.", header: closes},
		{name: "upload form too large besides the photo", site: loggedIn(nil), send: func(s *site) response {
			return s.uploadForm(map[string]string{"comment": strings.Repeat("x", 100<<10)}, "a.png", small)
		}, status: 413, message: "The upload form carries too much besides the photo.", header: closes},
		{name: "upload not multipart", site: loggedIn(nil), send: func(s *site) response {
			return s.post("/upload", "application/x-www-form-urlencoded", strings.NewReader("photo=abc"))
		}, status: 400, message: "Send the photo as a multipart form.", header: closes},
		{name: "upload malformed", site: loggedIn(nil), send: func(s *site) response {
			return s.post("/upload", "multipart/form-data; boundary=xyz", strings.NewReader("this is not multipart at all"))
		}, status: 400, message: "The upload was malformed or cut short.", header: closes},
		{name: "upload without a photo", site: loggedIn(nil), send: func(s *site) response {
			body, ct := multipartFile("other", "a.png", small)
			return s.post("/upload", ct, body)
		}, status: 400, message: "Choose a photo to upload.", header: closes},
		{name: "upload of an empty file", site: loggedIn(nil), send: func(s *site) response { return s.upload("a.png", nil) },
			status: 400, message: "The file is empty.", header: closes},
		{name: "upload token malformed", site: loggedIn(nil), send: func(s *site) response {
			return s.uploadForm(map[string]string{"upload_token": "../../etc"}, "a.png", small)
		}, status: 400, message: "The upload form is out of date. Reload the page and try again.", header: closes},
		{name: "upload of text", site: loggedIn(nil), send: func(s *site) response { return s.upload("a.png", []byte("just some text")) },
			status: 415, message: "Only JPEG, PNG, GIF and WebP images are accepted.", header: closes},
		{name: "upload cut short", site: loggedIn(nil), send: func(s *site) response { return s.upload("a.png", small[:len(small)-20]) },
			status: 415, message: "The image is cut short: the file ends before the image does.", header: closes},
		{name: "upload with trailing data", site: loggedIn(nil), send: func(s *site) response {
			return s.upload("a.png", append(append([]byte{}, small...), "junk"...))
		}, status: 415, message: "The file has data after the end of the image.", header: closes},
		{name: "upload of an animated WebP", site: loggedIn(nil), send: func(s *site) response { return s.upload("a.webp", testimage.AnimatedWebP()) },
			status: 415, message: "Animated WebP images are not accepted.", header: closes},
		{name: "upload with pixels that do not decode", site: loggedIn(nil), send: func(s *site) response {
			return s.upload("a.png", testimage.PNGWithBadPixels(64, 64))
		}, status: 415, message: "The image is damaged: its pixels do not decode.", header: closes},
		{name: "upload over the pixel cap", site: loggedIn(nil), send: func(s *site) response { return s.upload("big.png", pngImage(t, 2001, 2000)) },
			status: 422, message: "The image is 2001×2000 pixels; the limit is 4000000 pixels in all.", header: closes},
		{name: "upload of an animation over the pixel cap", site: loggedIn(nil), send: func(s *site) response { return s.upload("a.gif", testimage.GIF(1000, 1000, 5)) },
			status: 422, message: "The animation's 5 frames hold 5000000 pixels; the limit is 4000000 pixels in all.", header: closes},
		{name: "upload too deep to decode", site: loggedIn(nil), send: func(s *site) response { return s.upload("a.gif", testimage.TinyFramesGIF(1000)) },
			status: 422, message: "The image would take 62 MB of memory to check; the limit is 30 MB.", header: closes},
		{name: "upload form replayed with another photo", site: loggedIn(nil), send: func(s *site) response {
			token := s.uploadToken()
			s.uploadWithToken(token, small)
			return s.uploadWithToken(token, pngImage(t, 9, 9))
		}, status: 409, message: "This upload form was already used for another photo. Reload the page and try again.", header: closes},
		{name: "upload replayed with the store down", site: loggedIn(func(d *server.Deps, _ *server.Options) { d.Blobs = unopenableBlobs{d.Blobs} }),
			send: func(s *site) response {
				token := s.uploadToken()
				s.uploadWithToken(token, small)
				return s.uploadWithToken(token, small)
			}, status: 502, message: "The photo store is unavailable right now. Please try again.", header: closes},
		{name: "upload with the store down", site: loggedIn(func(d *server.Deps, _ *server.Options) { d.Blobs = brokenBlobs{d.Blobs} }),
			send:   func(s *site) response { return s.upload("a.png", small) },
			status: 502, message: "The photo store is unavailable, so the photo was not saved. Please try again.", header: closes},
		{name: "upload with the database down", site: loggedIn(func(d *server.Deps, _ *server.Options) { d.Metadata = brokenMetadata{d.Metadata} }),
			send:   func(s *site) response { return s.upload("a.png", small) },
			status: 503, message: "The photo database is unavailable, so the photo was not saved. Please try again.", header: closes},
		{name: "upload with its token unreadable", site: loggedIn(func(d *server.Deps, _ *server.Options) { d.Metadata = tokenlessMetadata{d.Metadata} }),
			send:   func(s *site) response { return s.uploadWithToken(s.uploadToken(), small) },
			status: 503, message: "The photo database is unavailable, so the photo was not saved. Please try again.", header: closes},
		{name: "upload with no room for temporary files", site: loggedIn(nil), send: func(s *site) response {
			if err := os.Remove(s.tempDir); err != nil {
				s.t.Fatal(err)
			}
			return s.upload("a.png", small)
		}, status: 500, message: "The photo could not be saved.", header: closes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.site(t)
			r := tc.send(s)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			for name, want := range tc.header {
				got := r.header.Get(name)
				if name == "Connection" && r.closed {
					got = "close"
				}
				if want == "+" && !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(got) || want != "+" && got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			want := strings.ReplaceAll(tc.message, "{Retry-After}", r.header.Get("Retry-After"))
			if tc.plain {
				if got := strings.TrimSpace(r.body); got != want {
					t.Errorf("body %q, want %q", got, want)
				}
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q, want the error page", ct)
			}
			if got := pageText(`<h1>(.*?)</h1>`, r.body); got != http.StatusText(tc.status) {
				t.Errorf("title %q, want %q", got, http.StatusText(tc.status))
			}
			if got := pageText(`<p id="error">(.*?)</p>`, r.body); got != want {
				t.Errorf("message %q,\n want %q", got, want)
			}
		})
	}
}

// pageText is the unescaped text the pattern's group matches in page.
func pageText(pattern, page string) string {
	m := regexp.MustCompile(`(?s)` + pattern).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// unopenableBlobs cannot read anything back, as S3 when it is unreachable.
type unopenableBlobs struct{ photo.Blobs }

func (unopenableBlobs) Open(context.Context, string) (io.ReadCloser, string, error) {
	return nil, "", errors.New("s3: connection reset")
}

// tokenlessMetadata cannot look up upload tokens.
type tokenlessMetadata struct{ photo.Metadata }

func (tokenlessMetadata) ByUploadToken(context.Context, string) (photo.Photo, error) {
	return photo.Photo{}, errors.New("database is down")
}

// Every error page is logged once, at a level that says whose fault it is,
// and counted by status.
func TestErrorsAreLoggedAndCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := server.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var logs apptest.Output
	s := newSite(t, func(d *server.Deps, _ *server.Options) {
		d.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		d.Metrics = metrics
		d.Blobs = unopenableBlobs{d.Blobs}
	})
	s.get("/nope")
	s.get("/nope")
	s.get("/images/" + strings.Repeat("a", 32) + ".png")

	for status, want := range map[string]float64{"404": 2, "502": 1} {
		if got := sampleCount(t, reg, "webdemo_http_errors_total", map[string]string{"status": status}); got != want {
			t.Errorf("errors counted with status %s: %v, want %v", status, got, want)
		}
	}
	var lines []map[string]any
	for line := range strings.Lines(logs.String()) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, entry)
	}
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want one a request: %s", len(lines), logs.String())
	}
	refused, failed := lines[0], lines[2]
	if refused["level"] != "INFO" || refused["status"] != float64(404) || refused["reason"] != "There is no such page." || refused["err"] != nil {
		t.Errorf("a 404 is logged as %v; want INFO with the reason and no error", refused)
	}
	if failed["level"] != "ERROR" || failed["status"] != float64(502) || !strings.Contains(fmt.Sprint(failed["err"]), "s3: connection reset") {
		t.Errorf("a 502 is logged as %v; want ERROR with its cause", failed)
	}
}
