// Command load sends GET requests to one URL at a steady rate, with vegeta
// as its engine, and shows how the site holds up: every second the rate,
// success and p50/p99 latency, and a summary at the end. It imports vegeta
// and no package of this module.
//
//	go run ./scripts/load --url "$(pulumi stack output url)" --rate 20 --duration 10m
//
// Every request goes to the URL given and nowhere else: redirects are never
// followed (a 3xx counts as a failure naming where it pointed) and proxy
// settings such as HTTPS_PROXY are ignored. Ctrl-C stops early and still
// prints the summary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		stop()
		os.Exit(exitCode(err))
	}
}

// Bounds on the flags, so a typo cannot start a flood or a day-long run.
const (
	maxRate        = 2000
	maxDuration    = time.Hour
	maxTimeout     = 5 * time.Minute
	maxConnections = 10000
	minEvery       = 100 * time.Millisecond
	maxEvery       = 10 * time.Minute
)

// userAgent names the tool in the site's logs.
const userAgent = "web-demo-load"

// options are the parsed and checked flags.
type options struct {
	target      *url.URL
	rate        int
	duration    time.Duration
	timeout     time.Duration
	connections int
	every       time.Duration
}

// usageError is a bad flag; the command exits 2 on it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitCode is 2 for bad flags, as the flag package's own errors are, and
// 1 for anything else.
func exitCode(err error) int {
	var usage usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return attack(ctx, opts, stdout, stderr)
}

func parseFlags(args []string, stdout io.Writer) (options, error) {
	flags := flag.NewFlagSet("load", flag.ContinueOnError)
	// Errors are returned as one line; usage is printed only for -h.
	flags.SetOutput(io.Discard)
	rawURL := flags.String("url", "", "the page to load, an absolute http:// or https:// URL (required)")
	rawRate := flags.String("rate", "10", fmt.Sprintf("requests per second, 1 to %d", maxRate))
	rawDuration := flags.String("duration", "30s", "how long to send, such as 30s or 10m; at most "+maxDuration.String())
	rawTimeout := flags.String("timeout", "30s", "how long one request may take before it counts as failed; at most "+maxTimeout.String())
	rawConnections := flags.String("connections", "1000", fmt.Sprintf("most requests in flight at once, 1 to %d", maxConnections))
	rawEvery := flags.String("every", "1s", "how often to print progress, "+minEvery.String()+" to "+maxEvery.String())
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: go run ./scripts/load --url URL [--rate N] [--duration D]")
			flags.SetOutput(stdout)
			flags.PrintDefaults()
			return options{}, err
		}
		return options{}, usageError{err.Error()}
	}
	if flags.NArg() > 0 {
		return options{}, usagef("unexpected argument %q: every setting is a flag, such as --url URL", flags.Arg(0))
	}

	var opts options
	var err error
	if opts.target, err = parseTarget(*rawURL); err != nil {
		return options{}, err
	}
	if opts.rate, err = boundedInt("rate", *rawRate, 1, maxRate, "requests per second"); err != nil {
		return options{}, err
	}
	if opts.duration, err = boundedDuration("duration", *rawDuration, maxDuration); err != nil {
		return options{}, err
	}
	if opts.timeout, err = boundedDuration("timeout", *rawTimeout, maxTimeout); err != nil {
		return options{}, err
	}
	if opts.connections, err = boundedInt("connections", *rawConnections, 1, maxConnections, "connections"); err != nil {
		return options{}, err
	}
	if opts.every, err = boundedDuration("every", *rawEvery, maxEvery); err != nil {
		return options{}, err
	}
	if opts.every < minEvery {
		return options{}, usagef("--every: %s is too often: at least %s", opts.every, minEvery)
	}
	return opts, nil
}

func parseTarget(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, usagef("--url is required: the page to load, such as http://localhost:8080/")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, usagef("--url: %q is not an absolute http:// or https:// URL, such as http://localhost:8080/", raw)
	}
	return u, nil
}

func boundedInt(name, raw string, low, high int, unit string) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < low || n > high {
		return 0, usagef("--%s: %q is not a whole number of %s from %d to %d", name, raw, unit, low, high)
	}
	return n, nil
}

func boundedDuration(name, raw string, high time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 || d > high {
		return 0, usagef("--%s: %q is not a duration above 0 and at most %s, such as 30s or 10m", name, raw, high)
	}
	return d, nil
}

// newClient is the HTTP client for the attack. It returns a redirect
// instead of following it and uses no proxy, so nothing but the target is
// ever sent a request.
func newClient(opts options) *http.Client {
	dialer := &net.Dialer{Timeout: opts.timeout, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: opts.timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: opts.timeout,
			MaxConnsPerHost:     opts.connections,
			MaxIdleConnsPerHost: opts.connections,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attack runs the load until its duration ends or ctx is cancelled,
// printing progress to stderr and the summary to stdout.
func attack(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	target := vegeta.Target{
		Method: http.MethodGet,
		URL:    opts.target.String(),
		Header: http.Header{"User-Agent": {userAgent}},
	}
	// Each call of the targeter is one request sent; the count tells how
	// many are still in flight if the run is stopped.
	var sent atomic.Int64
	targeter := func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		*t = target
		sent.Add(1)
		return nil
	}
	attacker := vegeta.NewAttacker(
		vegeta.Client(newClient(opts)),
		vegeta.Workers(uint64(min(opts.connections, vegeta.DefaultWorkers))),
		vegeta.MaxWorkers(uint64(opts.connections)),
		// The body is read to the end but not kept.
		vegeta.MaxBody(0),
	)

	fmt.Fprintf(stderr, "Loading GET %s at %d requests/s for %s (Ctrl-C stops early)\n", target.URL, opts.rate, opts.duration)
	progress := newProgress(stderr, opts.every)
	total := newTally(target.URL)
	interval := newTally(target.URL)
	started := time.Now()
	ticker := time.NewTicker(opts.every)
	defer ticker.Stop()

	results := attacker.Attack(targeter, vegeta.ConstantPacer{Freq: opts.rate, Per: time.Second}, opts.duration, "")
	for {
		select {
		case r, ok := <-results:
			if !ok {
				summarize(stdout, opts, total, "")
				return nil
			}
			total.add(r)
			interval.add(r)
		case <-ticker.C:
			progress.line(time.Since(started), interval, total)
			interval = newTally(target.URL)
		case <-ctx.Done():
			attacker.Stop()
			inFlight := sent.Load() - int64(total.requests())
			// Requests still in flight finish in the background, within
			// --timeout, and are not counted.
			go func() {
				for range results {
				}
			}()
			summarize(stdout, opts, total, fmt.Sprintf("Stopped early after %s; %s still in flight %s not counted.",
				roundDuration(time.Since(started)), plural(int(inFlight), "request"), isAre(int(inFlight))))
			return nil
		}
	}
}
