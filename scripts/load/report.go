package main

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// tally adds up results. vegeta's Metrics gives the latencies, rates and
// status codes; success is counted here, because vegeta counts a 3xx as a
// success and a redirect that is not followed never reached the page.
type tally struct {
	metrics   vegeta.Metrics
	succeeded int
	failures  map[string]int
	// errPrefix is what Go puts before every transport error; the URL is
	// the same on every line, so it is cut.
	errPrefix string
}

func newTally(target string) *tally {
	return &tally{failures: map[string]int{}, errPrefix: fmt.Sprintf("Get %q: ", target)}
}

func (t *tally) add(r *vegeta.Result) {
	t.metrics.Add(r)
	if failure := t.failure(r); failure != "" {
		t.failures[failure]++
		return
	}
	t.succeeded++
}

// failure says why a result failed, or is empty when it succeeded: a 2xx.
func (t *tally) failure(r *vegeta.Result) string {
	switch {
	case r.Code >= 200 && r.Code < 300 && r.Error == "":
		return ""
	case r.Code >= 300 && r.Code < 400:
		where := r.Headers.Get("Location")
		if where == "" {
			where = "nowhere (no Location header)"
		}
		return fmt.Sprintf("%d %s to %s: not followed; load that URL instead", r.Code, http.StatusText(int(r.Code)), where)
	case r.Error != "":
		return strings.TrimPrefix(r.Error, t.errPrefix)
	default:
		return fmt.Sprintf("%d %s", r.Code, http.StatusText(int(r.Code)))
	}
}

func (t *tally) requests() int { return int(t.metrics.Requests) }

// successPercent is the share of requests answered with a 2xx.
func (t *tally) successPercent() float64 {
	if t.requests() == 0 {
		return 0
	}
	return 100 * float64(t.succeeded) / float64(t.requests())
}

// progress prints one line per interval: the responses that arrived in
// it, then everything so far.
type progress struct {
	w      io.Writer
	every  time.Duration
	header bool
}

func newProgress(w io.Writer, every time.Duration) *progress {
	return &progress{w: w, every: every}
}

const progressFormat = "%8s %9s %8s %9s %9s │ %9s %8s %9s %9s\n"

func (p *progress) line(elapsed time.Duration, interval, total *tally) {
	if !p.header {
		fmt.Fprintf(p.w, "%-47s │ %s\n", "", "overall")
		fmt.Fprintf(p.w, progressFormat, "elapsed", "resp/s", "success", "p50", "p99", "responses", "success", "p50", "p99")
		p.header = true
	}
	interval.metrics.Close()
	total.metrics.Close()
	rate := float64(interval.requests()) / p.every.Seconds()
	fmt.Fprintf(p.w, progressFormat,
		elapsed.Round(min(p.every, time.Second)).String(), strconv.FormatFloat(rate, 'f', 1, 64),
		percent(interval), quantile(interval, 0.50), quantile(interval, 0.99),
		strconv.Itoa(total.requests()), percent(total), quantile(total, 0.50), quantile(total, 0.99))
}

func percent(t *tally) string {
	if t.requests() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", t.successPercent())
}

func quantile(t *tally, q float64) string {
	if t.requests() == 0 {
		return "-"
	}
	return roundDuration(t.metrics.Latencies.Quantile(q))
}

// maxFailureKinds is how many kinds of failure the summary lists.
const maxFailureKinds = 5

// summarize prints the run's totals; stopped, when not empty, says why
// the run ended early.
func summarize(w io.Writer, opts options, t *tally, stopped string) {
	t.metrics.Close()
	m := &t.metrics
	fmt.Fprintf(w, "\nSummary: GET %s at %d requests/s for %s\n", opts.target, opts.rate, opts.duration)
	if stopped != "" {
		fmt.Fprintf(w, "  %s\n", stopped)
	}
	if t.requests() == 0 {
		fmt.Fprintln(w, "  No response arrived.")
		return
	}
	throughput := float64(t.succeeded)
	if span := (m.Duration + m.Wait).Seconds(); span > 0 {
		throughput /= span
	}
	fmt.Fprintf(w, "  Requests      %d, sent at %.1f/s over %s\n", m.Requests, m.Rate, roundDuration(m.Duration))
	fmt.Fprintf(w, "  Throughput    %.1f successful responses/s\n", throughput)
	fmt.Fprintf(w, "  Success       %.1f%% (%d of %d answered 2xx)\n", t.successPercent(), t.succeeded, m.Requests)
	fmt.Fprintf(w, "  Status codes  %s\n", statusCodes(m.StatusCodes))
	fmt.Fprintf(w, "  Latency       p50 %s, p90 %s, p99 %s, max %s\n",
		roundDuration(m.Latencies.P50), roundDuration(m.Latencies.P90), roundDuration(m.Latencies.P99), roundDuration(m.Latencies.Max))
	if len(t.failures) == 0 {
		return
	}
	kinds := make([]string, 0, len(t.failures))
	for kind := range t.failures {
		kinds = append(kinds, kind)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		return cmp.Or(cmp.Compare(t.failures[b], t.failures[a]), strings.Compare(a, b))
	})
	fmt.Fprintln(w, "  Failures")
	for _, kind := range kinds[:min(len(kinds), maxFailureKinds)] {
		fmt.Fprintf(w, "    %6d × %s\n", t.failures[kind], kind)
	}
	if more := len(kinds) - maxFailureKinds; more > 0 {
		fmt.Fprintf(w, "    … and %s\n", plural(more, "other kind"))
	}
}

// statusCodes lists the counts by code, lowest first; code 0 is a request
// that got no response at all.
func statusCodes(counts map[string]int) string {
	codes := make([]string, 0, len(counts))
	for code := range counts {
		codes = append(codes, code)
	}
	slices.SortFunc(codes, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return cmp.Compare(x, y)
	})
	parts := make([]string, len(codes))
	for i, code := range codes {
		name := code
		if code == "0" {
			name = "no response"
		}
		parts[i] = fmt.Sprintf("%s × %d", name, counts[code])
	}
	return strings.Join(parts, ", ")
}

// roundDuration keeps three significant figures or so: 1.503s, 12.3ms.
func roundDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
