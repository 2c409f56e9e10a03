// Package doctor checks every dependency the app's settings name and, for
// each failure, names its likely cause at the tutorial level that uses it,
// so that a broken level explains itself: `webdemo doctor` on an instance,
// and once at every boot in the console log. It imports config, cloud and
// photo, and the clients of the services it checks; never the server.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Check is one dependency to probe.
type Check struct {
	// Name says what is checked: "database", "memcached", "uploads"…
	Name string
	// Target is what it reaches: host:port, bucket/prefix, a path.
	Target string
	// Dependency picks the hints for its failures.
	Dependency Dependency
	// Probe does the work and returns a short note on success. It should
	// return when ctx ends; one that does not is cut off soon after.
	Probe func(ctx context.Context) (detail string, err error)
}

// Result is one check's outcome.
type Result struct {
	Check
	Detail string
	Err    error
	Took   time.Duration
	// Class and Hint explain Err.
	Class Class
	Hint  string
}

// OK reports whether the check passed.
func (r Result) OK() bool { return r.Err == nil }

// grace is how long a probe that ignores its context's end gets before it
// is cut off, so that one that honours it reports its own error.
const grace = 500 * time.Millisecond

// Run probes every check at once, each within timeout, and prints one line
// per check in order, each as soon as it and those before it are done. It
// returns an error when any check failed.
func Run(ctx context.Context, w io.Writer, timeout time.Duration, checks []Check) error {
	results := make([]chan Result, len(checks))
	for i, c := range checks {
		results[i] = make(chan Result, 1)
		go func() { results[i] <- Probe(ctx, c, timeout) }()
	}
	nameWidth, targetWidth := 0, 0
	for _, c := range checks {
		nameWidth, targetWidth = max(nameWidth, len(c.Name)), max(targetWidth, len(c.Target))
	}
	failed := 0
	for _, ch := range results {
		r := <-ch
		if !r.OK() {
			failed++
		}
		fmt.Fprintln(w, r.line(nameWidth, targetWidth))
	}
	if failed > 0 {
		return fmt.Errorf("doctor: %d of %d checks failed", failed, len(checks))
	}
	fmt.Fprintf(w, "all %d checks passed\n", len(checks))
	return nil
}

// Probe runs one check within timeout and explains its failure.
func Probe(ctx context.Context, c Check, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type outcome struct {
		detail string
		err    error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		detail, err := c.Probe(ctx)
		done <- outcome{detail, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(timeout + grace):
		o.err = fmt.Errorf("no result within %s: %w", timeout, context.DeadlineExceeded)
	}
	r := Result{Check: c, Detail: o.detail, Err: o.err, Took: time.Since(start)}
	if r.Err != nil {
		dep := c.Dependency
		var in *dependencyError
		if errors.As(r.Err, &in) {
			dep = in.dep
		}
		r.Class = Classify(r.Err)
		r.Hint = Hint(dep, r.Class)
	}
	return r
}

// line is the result's line: status, name, target, time, then the detail,
// or the error and its hint.
func (r Result) line(nameWidth, targetWidth int) string {
	status, rest := "ok", r.Detail
	if !r.OK() {
		status, rest = "FAIL", oneLine(r.Err.Error())
		if r.Hint != "" {
			rest += "; hint: " + r.Hint
		}
	}
	return strings.TrimRight(fmt.Sprintf("%-4s  %-*s  %-*s  %8s  %s",
		status, nameWidth, r.Name, targetWidth, r.Target, formatDuration(r.Took), rest), " ")
}

// oneLine keeps a multi-line error (some servers send them) on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func formatDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// dependencyError is a failure of another dependency than the check's
// own, such as the database secret read on the way to the database.
type dependencyError struct {
	dep Dependency
	err error
}

func (e *dependencyError) Error() string { return e.err.Error() }
func (e *dependencyError) Unwrap() error { return e.err }

// in marks err as a failure of dep.
func in(dep Dependency, err error) error {
	return &dependencyError{dep: dep, err: err}
}
