package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter is a test server that counts what it is sent.
type counter struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD path?query user-agent", in arrival order
}

func newCounter(t *testing.T, answer http.HandlerFunc) *counter {
	t.Helper()
	c := &counter{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.requests = append(c.requests, r.Method+" "+r.URL.RequestURI()+" "+r.UserAgent())
		c.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *counter) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.requests...)
}

// hello answers 200 with a short body.
func hello(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello") }

// load runs the command to completion and returns its stdout and stderr.
func load(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, &out, &errs); err != nil {
		t.Fatalf("run %q: %v", args, err)
	}
	return out.String(), errs.String()
}

// summaryField is the rest of the summary line that starts with name.
func summaryField(t *testing.T, summary, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +(.*)$`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("summary has no %q line:\n%s", name, summary)
	}
	return m[1]
}

func TestLoadSendsTheRateToTheURLOnly(t *testing.T) {
	t.Parallel()
	site := newCounter(t, hello)
	stdout, stderr := load(t, "--url", site.URL+"/photos?page=2", "--rate", "50", "--duration", "1s", "--every", "200ms")

	seen := site.seen()
	// vegeta's pacer sends rate × duration requests; allow a little slack.
	if len(seen) < 45 || len(seen) > 55 {
		t.Errorf("the server got %d requests; want about 50 (rate 50 for 1s)", len(seen))
	}
	for _, request := range seen {
		if request != "GET /photos?page=2 "+userAgent {
			t.Fatalf("the server got %q; want only GET /photos?page=2 from %s", request, userAgent)
		}
	}
	if got, want := summaryField(t, stdout, "Requests"), strconv.Itoa(len(seen))+","; !strings.HasPrefix(got, want) {
		t.Errorf("summary Requests = %q; want it to start with %q, what the server counted", got, want)
	}
	if got := summaryField(t, stdout, "Success"); !strings.HasPrefix(got, "100.0% ") {
		t.Errorf("summary Success = %q; want 100.0%%", got)
	}
	if got, want := summaryField(t, stdout, "Status codes"), fmt.Sprintf("200 × %d", len(seen)); got != want {
		t.Errorf("summary Status codes = %q; want %q", got, want)
	}
	// One progress line every 200ms of a 1s run: at least 4 of them, each
	// with a rate, a success share and two latencies.
	progressLine := regexp.MustCompile(`(?m)^ +[0-9.]+m?s +[0-9.]+ +[0-9.]+% +\S+s +\S+s │ +\d+ +[0-9.]+% +\S+s +\S+s$`)
	if lines := progressLine.FindAllString(stderr, -1); len(lines) < 4 {
		t.Errorf("stderr has %d progress lines; want at least 4:\n%s", len(lines), stderr)
	}
}

func TestSummaryCountsServerErrorsAsFailures(t *testing.T) {
	t.Parallel()
	var n, failed atomic.Int64
	site := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%4 == 0 {
			failed.Add(1)
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		hello(w, r)
	})
	stdout, _ := load(t, "--url", site.URL, "--rate", "40", "--duration", "1s")

	total, bad := int(n.Load()), int(failed.Load())
	if bad == 0 {
		t.Fatalf("the server answered no 500 in %d requests; the test needs some", total)
	}
	good := total - bad
	wantSuccess := fmt.Sprintf("%.1f%% (%d of %d answered 2xx)", 100*float64(good)/float64(total), good, total)
	if got := summaryField(t, stdout, "Success"); got != wantSuccess {
		t.Errorf("summary Success = %q; want %q", got, wantSuccess)
	}
	if got, want := summaryField(t, stdout, "Status codes"), fmt.Sprintf("200 × %d, 500 × %d", good, bad); got != want {
		t.Errorf("summary Status codes = %q; want %q", got, want)
	}
	if want := fmt.Sprintf("%d × 500 Internal Server Error\n", bad); !strings.Contains(stdout, want) {
		t.Errorf("summary does not list the failures as %q:\n%s", want, stdout)
	}
}

func TestRedirectToAnotherHostIsNotFollowed(t *testing.T) {
	t.Parallel()
	elsewhere := newCounter(t, hello)
	site := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/landing", http.StatusFound)
	})
	stdout, _ := load(t, "--url", site.URL, "--rate", "20", "--duration", "500ms")

	if got := elsewhere.seen(); len(got) != 0 {
		t.Errorf("the redirect's target got %d requests; want none: %q", len(got), got)
	}
	if len(site.seen()) == 0 {
		t.Fatal("the site got no request")
	}
	if got := summaryField(t, stdout, "Success"); !strings.HasPrefix(got, "0.0% ") {
		t.Errorf("summary Success = %q; want 0.0%%: a redirect not followed never reached the page", got)
	}
	if want := "302 Found to " + elsewhere.URL + "/landing: not followed; load that URL instead"; !strings.Contains(stdout, want) {
		t.Errorf("summary does not name the redirect as %q:\n%s", want, stdout)
	}
}

func TestInterruptStopsEarlyAndStillSummarizes(t *testing.T) {
	t.Parallel()
	const answered = 5
	release := make(chan struct{})
	busy := make(chan struct{})
	var n atomic.Int64
	site := newCounter(t, func(w http.ResponseWriter, r *http.Request) {
		switch got := n.Add(1); {
		case got <= answered:
			hello(w, r)
			return
		case got == answered+3:
			close(busy)
		}
		// Later requests hang until the test ends: in flight at Ctrl-C.
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes

	ctx, interrupt := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--url", site.URL, "--rate", "50", "--duration", "1m"}, &stdout, &stderr)
	}()
	select {
	case <-busy:
	case <-time.After(30 * time.Second):
		t.Fatal("the server never got its hanging requests")
	}
	interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after the interrupt")
	}

	summary := stdout.String()
	if got, want := summaryField(t, summary, "Requests"), strconv.Itoa(answered)+","; !strings.HasPrefix(got, want) {
		t.Errorf("summary Requests = %q; want the %d answered before the interrupt", got, answered)
	}
	inFlight := regexp.MustCompile(`(?m)^  Stopped early after \S+; (\d+) requests? still in flight (is|are) not counted\.$`).FindStringSubmatch(summary)
	if inFlight == nil {
		t.Fatalf("summary does not say the run stopped early:\n%s", summary)
	}
	if count, _ := strconv.Atoi(inFlight[1]); count < 3 {
		t.Errorf("summary counts %d requests in flight; want at least the 3 hanging", count)
	}
}

func TestBadFlagsGiveOneLineAndExitCode2(t *testing.T) {
	t.Parallel()
	site := newCounter(t, hello)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--url is required"},
		{[]string{"--url", "localhost:8080"}, `--url: "localhost:8080" is not an absolute http:// or https:// URL`},
		{[]string{"--url", "ftp://example.com/"}, `--url: "ftp://example.com/" is not an absolute`},
		{[]string{"--url", "http:///photos"}, `--url: "http:///photos" is not an absolute`},
		{[]string{"--url", site.URL, "--rate", "0"}, `--rate: "0" is not a whole number of requests per second from 1 to 2000`},
		{[]string{"--url", site.URL, "--rate", "2001"}, `--rate: "2001" is not a whole number`},
		{[]string{"--url", site.URL, "--rate", "1.5"}, `--rate: "1.5" is not a whole number`},
		{[]string{"--url", site.URL, "--duration", "0s"}, `--duration: "0s" is not a duration above 0 and at most 1h0m0s`},
		{[]string{"--url", site.URL, "--duration", "2h"}, `--duration: "2h" is not a duration`},
		{[]string{"--url", site.URL, "--duration", "10"}, `--duration: "10" is not a duration`},
		{[]string{"--url", site.URL, "--timeout", "6m"}, `--timeout: "6m" is not a duration above 0 and at most 5m0s`},
		{[]string{"--url", site.URL, "--connections", "0"}, `--connections: "0" is not a whole number of connections from 1 to 10000`},
		{[]string{"--url", site.URL, "--every", "10ms"}, "--every: 10ms is too often: at least 100ms"},
		{[]string{"--url", site.URL, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--url", site.URL, "extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		switch {
		case err == nil:
			t.Errorf("run %q succeeded; want an error containing %q", tc.args, tc.want)
		case !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n"):
			t.Errorf("run %q: error %q; want one line containing %q", tc.args, err, tc.want)
		case exitCode(err) != 2:
			t.Errorf("run %q: exit code %d; want 2", tc.args, exitCode(err))
		}
		if stdout.Len()+stderr.Len() > 0 {
			t.Errorf("run %q printed %q and %q; want nothing but the error", tc.args, stdout.String(), stderr.String())
		}
	}
	if got := site.seen(); len(got) != 0 {
		t.Errorf("bad flags sent %d requests; want none", len(got))
	}
}
