package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowHeaderFlood holds connections open by sending a request header one
// line a second and never finishing it (slowloris). A connection the server
// cuts is opened again, so the flood keeps its size until ctx ends.
type slowHeaderFlood struct {
	open   atomic.Int64 // connections holding a partial header now
	opened atomic.Int64
	// cut counts connections the server closed, and held sums how long
	// each had been open, in milliseconds.
	cut, held atomic.Int64
	wg        sync.WaitGroup
}

func floodSlowHeaders(ctx context.Context, addr string, size int) *slowHeaderFlood {
	f := &slowHeaderFlood{}
	for i := range size {
		f.wg.Go(func() {
			for ctx.Err() == nil {
				f.hold(ctx, addr, i)
			}
		})
	}
	return f
}

// hold opens one connection and feeds it header lines until the server
// cuts it or ctx ends.
func (f *slowHeaderFlood) hold(ctx context.Context, addr string, id int) {
	dialer := net.Dialer{Timeout: 2 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		// The listen queue is full or the flood is over: wait, try again.
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
		return
	}
	defer conn.Close()
	opened := time.Now()
	if _, err := fmt.Fprintf(conn, "GET /?slow=%d HTTP/1.1\r\nHost: 127.0.0.1\r\n", id); err != nil {
		return
	}
	f.opened.Add(1)
	f.open.Add(1)
	defer f.open.Add(-1)
	buf := make([]byte, 512)
	for line := 0; ; line++ {
		if _, err := fmt.Fprintf(conn, "X-Slow-%d: %d\r\n", line, id); err != nil {
			f.cut.Add(1)
			f.held.Add(time.Since(opened).Milliseconds())
			return
		}
		deadline := time.Now().Add(time.Second)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = conn.SetReadDeadline(deadline)
		_, err := conn.Read(buf)
		var timeout net.Error
		if errors.As(err, &timeout) && timeout.Timeout() {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		// An answer (HAProxy's 408) or a close: the server cut us.
		f.cut.Add(1)
		f.held.Add(time.Since(opened).Milliseconds())
		return
	}
}

// The flood: 2,100 slow-header connections, more than HAProxy's
// old maxconn of 2,048 with no header deadline, blocked a new visitor for
// a minute. Now HAProxy cuts each unfinished header and keeps room for
// visitors, who are served throughout the flood.
func TestSlowHeaderFloodDoesNotBlockVisitors(t *testing.T) {
	const (
		floodSize = 2100
		// Longer than HAProxy's 5 s header deadline, so every first
		// connection of the flood must have been cut by the end.
		floodAfterOpen = 7 * time.Second
	)
	c := startCluster(t, Options{Level: 2, Instances: 2})
	addr := strings.TrimPrefix(c.URL, "http://")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flood := floodSlowHeaders(ctx, addr, floodSize)
	defer flood.wg.Wait()
	defer cancel()
	for deadline := time.Now().Add(20 * time.Second); flood.opened.Load() < floodSize; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d slow connections opened", flood.opened.Load(), floodSize)
		}
		time.Sleep(50 * time.Millisecond)
	}
	floodEnds := time.Now().Add(floodAfterOpen)

	// A visitor opens a new connection for every request, as a new visitor
	// does: a kept-alive connection would never meet a full proxy. A visit
	// taking 4 s, near the 5 s header deadline, would mean the visitor got
	// in only as the flood's connections were cut: it counts as a failure.
	visitor := &http.Client{Timeout: 4 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var latencies []time.Duration
	var minOpen int64 = floodSize
	for time.Now().Before(floodEnds) {
		minOpen = min(minOpen, flood.open.Load())
		began := time.Now()
		resp, err := visitor.Get(c.URL + "/")
		took := time.Since(began)
		if err != nil {
			t.Fatalf("a visitor during the flood (%d slow connections open): %v after %s", flood.open.Load(), err, took.Round(time.Millisecond))
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a visitor during the flood got %d", resp.StatusCode)
		}
		latencies = append(latencies, took)
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	flood.wg.Wait()

	slices.Sort(latencies)
	cut, opened := flood.cut.Load(), flood.opened.Load()
	t.Logf("%d slow connections opened, at least %d open at once while visiting; %d cut by HAProxy after %.1f s on average",
		opened, minOpen, cut, float64(flood.held.Load())/float64(max(cut, 1))/1000)
	t.Logf("visitor: %d requests, all 200; latency median %s, max %s",
		len(latencies), latencies[len(latencies)/2].Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
	if cut < floodSize {
		t.Fatalf("HAProxy cut %d slow connections in %s; every one of the first %d should have met the header deadline", cut, floodAfterOpen, floodSize)
	}
}
