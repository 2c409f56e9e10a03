package server_test

import (
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"webdemo/app/server"
)

// Every route answers a method it does not serve with 405, an Allow header
// listing the methods it does serve (RFC 9110 §15.5.6), and the error page.
func TestMethodNotAllowedSaysWhatIsAllowed(t *testing.T) {
	s := newSite(t, nil)
	routes := []struct {
		path  string
		allow []string
	}{
		{"/", []string{"GET", "HEAD"}},
		{"/login", []string{"POST"}},
		{"/logout", []string{"POST"}},
		{"/upload", []string{"POST"}},
		{"/images/0123456789abcdef0123456789abcdef.png", []string{"GET", "HEAD"}},
		{"/healthz", []string{"GET", "HEAD"}},
		{"/readyz", []string{"GET", "HEAD"}},
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"}
	for _, route := range routes {
		for _, method := range methods {
			req, _ := http.NewRequest(method, s.URL+route.path, nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			r := s.do(req)
			if slices.Contains(route.allow, method) {
				if r.status == http.StatusMethodNotAllowed {
					t.Errorf("%s %s = 405, but the route serves it", method, route.path)
				}
				continue
			}
			if r.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s = %d, want 405", method, route.path, r.status)
				continue
			}
			if got, want := r.header.Get("Allow"), strings.Join(route.allow, ", "); got != want {
				t.Errorf("%s %s: Allow %q, want %q", method, route.path, got, want)
			}
			if method == http.MethodHead {
				continue // no body, by definition
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
				!strings.Contains(r.body, "Method Not Allowed") || !strings.Contains(r.body, "only "+strings.Join(route.allow, " or ")) {
				t.Errorf("%s %s: body is not the error page naming the methods: %q", method, route.path, r.body)
			}
		}
	}
}

// loginFrom posts a login as a client behind a proxy that sent
// X-Forwarded-For (empty: no header).
func (s *site) loginFrom(name, forwardedFor string) response {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader(url.Values{"name": {name}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	return s.do(req)
}

func throttled(perMinute int, trusted ...string) func(*server.Deps, *server.Options) {
	return func(_ *server.Deps, o *server.Options) {
		o.LoginsPerMinute = perMinute
		for _, p := range trusted {
			o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(p))
		}
	}
}

func wantThrottled(t *testing.T, r response, perMinute int) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("login over the limit = %d, want 429", r.status)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 60/perMinute+1 {
		t.Fatalf("Retry-After %q, want whole seconds up to one refill (%d s)", r.header.Get("Retry-After"), 60/perMinute)
	}
	if !strings.Contains(r.body, "Too many login attempts") {
		t.Fatalf("429 body is not the error page: %q", r.body)
	}
	if r.header.Get("Set-Cookie") != "" {
		t.Fatal("a throttled login set a cookie")
	}
}

func TestLoginsAreThrottledPerClient(t *testing.T) {
	s := newSite(t, throttled(3))
	for i := range 3 {
		if r := s.loginFrom("ada", ""); r.status != http.StatusSeeOther {
			t.Fatalf("login %d = %d", i+1, r.status)
		}
	}
	wantThrottled(t, s.loginFrom("ada", ""), 3)
	// Bad names count too: the throttle runs before anything else.
	wantThrottled(t, s.loginFrom("", ""), 3)
	// Without trusted proxies X-Forwarded-For is the client's own claim.
	wantThrottled(t, s.loginFrom("ada", "198.51.100.7"), 3)
	// The rest of the site is not throttled.
	if r := s.get("/"); r.status != http.StatusOK {
		t.Fatalf("front page after throttling = %d", r.status)
	}
}

func TestThrottleReadsClientsBehindTrustedProxies(t *testing.T) {
	// httptest's server is on 127.0.0.1: it plays the load balancer.
	s := newSite(t, throttled(2, "127.0.0.1/32"))
	for range 2 {
		if r := s.loginFrom("ada", "203.0.113.5"); r.status != http.StatusSeeOther {
			t.Fatalf("login = %d", r.status)
		}
	}
	wantThrottled(t, s.loginFrom("ada", "203.0.113.5"), 2)
	// A forged address to the left of the proxy's entry changes nothing.
	wantThrottled(t, s.loginFrom("ada", "192.0.2.1, 203.0.113.5"), 2)
	// Another client behind the same proxy has its own allowance.
	if r := s.loginFrom("grace", "203.0.113.6"); r.status != http.StatusSeeOther {
		t.Fatalf("another client's login = %d", r.status)
	}
	// One IPv6 /64 is one client.
	s.loginFrom("ada", "2001:db8:1:2::1")
	s.loginFrom("ada", "2001:db8:1:2::2")
	wantThrottled(t, s.loginFrom("ada", "2001:db8:1:2:ffff::3"), 2)
}

// replay fetches the front page with a session token, as a client that
// ignores cookie expiry would, and reports the logged-in user.
func (s *site) replay(token string) string {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/", nil)
	req.Header.Set("Cookie", "webdemo_session="+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if m := userPattern.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

var userPattern = regexp.MustCompile(`<strong id="user">([^<]*)</strong>`)

func TestIdleSessionEnds(t *testing.T) {
	s := newSite(t, func(_ *server.Deps, o *server.Options) {
		o.SessionIdleTimeout = time.Second
		o.SessionLifetime = time.Hour
	})
	s.login("ada")
	token := sessionCookie(t, s).Value
	// Busy for twice the idle timeout: each request extends the session.
	for range 5 {
		time.Sleep(400 * time.Millisecond)
		if user := s.replay(token); user != "ada" {
			t.Fatalf("an active session ended (user %q)", user)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	if user := s.replay(token); user != "" {
		t.Fatalf("a session idle for longer than its timeout still logs in as %q", user)
	}
}

func TestSessionLifetimeEndsEvenABusySession(t *testing.T) {
	s := newSite(t, func(_ *server.Deps, o *server.Options) {
		o.SessionIdleTimeout = time.Second
		o.SessionLifetime = 1500 * time.Millisecond
	})
	s.login("ada")
	token := sessionCookie(t, s).Value
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline.Add(-300 * time.Millisecond)) {
		if user := s.replay(token); user != "ada" {
			t.Fatalf("the session ended before its lifetime (user %q)", user)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Until(deadline) + 200*time.Millisecond)
	if user := s.replay(token); user != "" {
		t.Fatalf("a busy session outlived its lifetime as %q", user)
	}
}

// The session cookie's expiry follows the idle deadline, so a browser drops
// it when the server would.
func TestSessionCookieExpiryFollowsIdleTimeout(t *testing.T) {
	s := newSite(t, func(_ *server.Deps, o *server.Options) {
		o.SessionIdleTimeout = 10 * time.Minute
		o.SessionLifetime = 12 * time.Hour
	})
	r := s.login("ada")
	resp := http.Response{Header: r.header}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies", len(cookies))
	}
	if left := time.Until(cookies[0].Expires); left < 9*time.Minute || left > 11*time.Minute {
		t.Fatalf("cookie expires in %v, want about the 10-minute idle timeout", left)
	}
}
