package localcluster

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loginFrom posts a login through HAProxy from a loopback source address
// of its own, claiming to be someone else in X-Forwarded-For.
func loginFrom(t *testing.T, base, source, forged string) *http.Response {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}, Timeout: 5 * time.Second}
	client := &http.Client{
		Transport:     &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"name": {"ada"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", forged)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Behind HAProxy each client is throttled by its own address, which the
// app reads from the X-Forwarded-For HAProxy writes; an address the client
// wrote there itself changes nothing.
func TestLoginThrottleSeesClientsThroughTheProxy(t *testing.T) {
	c := startCluster(t, Options{Level: 1, Instances: 3})
	// 10 a minute on each of 3 servers, round-robin: at most 30 get in.
	throttled := false
	for i := range 40 {
		resp := loginFrom(t, c.URL, "127.0.0.2", "198.51.100."+strconv.Itoa(i))
		if resp.StatusCode == http.StatusTooManyRequests {
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
				t.Fatalf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
			}
			throttled = true
			break
		}
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %d = %d", i+1, resp.StatusCode)
		}
	}
	if !throttled {
		t.Fatal("40 logins from one client, each claiming another address, were never throttled")
	}
	// Another client behind the same proxy is not held back by the first.
	for range 3 {
		if resp := loginFrom(t, c.URL, "127.0.0.3", ""); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("another client's login = %d, want 303", resp.StatusCode)
		}
	}
}
