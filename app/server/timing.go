package server

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
)

// stage is one kind of work a request waits on, named in its
// Server-Timing header.
type stage uint8

const (
	stageDB stage = iota
	stageCache
	stageBlob
	stagePresign
	stageSession
	stageLatency
	stageRender
	stageCount
)

// stageNames are the Server-Timing metric names, in header order.
var stageNames = [stageCount]string{"db", "cache", "blob", "presign", "session", "latency", "render"}

// cacheResult is what the page cache said, for the header's cache entry.
type cacheResult uint32

const (
	cacheUnasked cacheResult = iota
	cacheHit
	cacheMiss
)

// requestTimings adds up, stage by stage, where one request's time went.
// Atomics keep it safe should a handler ever fan out; a request normally
// touches it from one goroutine, so they cost next to nothing.
type requestTimings struct {
	spent [stageCount]atomic.Int64 // nanoseconds
	calls [stageCount]atomic.Int32
	cache atomic.Uint32 // a cacheResult
	// route is the matched route's template, set by the router; empty
	// when no route matched.
	route string
}

type timingsKey struct{}

// timingsFrom returns the request's recorder, or nil outside a request.
func timingsFrom(ctx context.Context) *requestTimings {
	t, _ := ctx.Value(timingsKey{}).(*requestTimings)
	return t
}

// addTiming records that the request spent d in st; outside a request it
// does nothing.
func addTiming(ctx context.Context, st stage, d time.Duration) {
	if t := timingsFrom(ctx); t != nil {
		t.add(st, d)
	}
}

// add records that the request spent d in st.
func (t *requestTimings) add(st stage, d time.Duration) {
	t.spent[st].Add(int64(d))
	t.calls[st].Add(1)
}

// noteCache records whether the page cache answered the request.
func noteCache(ctx context.Context, hit bool) {
	if t := timingsFrom(ctx); t != nil {
		r := cacheMiss
		if hit {
			r = cacheHit
		}
		t.cache.Store(uint32(r))
	}
}

// header renders the Server-Timing value (W3C Server Timing): one entry
// per stage the request used, then total, the time until the headers.
func (t *requestTimings) header(total time.Duration) string {
	var buf [256]byte
	b := buf[:0]
	for st := range stageCount {
		if t.calls[st].Load() == 0 {
			continue
		}
		b = appendEntry(b, stageNames[st], time.Duration(t.spent[st].Load()))
		if st == stageCache {
			switch cacheResult(t.cache.Load()) {
			case cacheHit:
				b = append(b, `;desc="hit"`...)
			case cacheMiss:
				b = append(b, `;desc="miss"`...)
			}
		}
		b = append(b, ", "...)
	}
	b = appendEntry(b, "total", total)
	return string(b)
}

// appendEntry appends name;dur=milliseconds, to a microsecond.
func appendEntry(b []byte, name string, d time.Duration) []byte {
	b = append(b, name...)
	b = append(b, ";dur="...)
	return strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', -1, 64)
}

// timedWriter puts the Server-Timing header on the response just before
// its headers leave, and remembers the status for the metrics.
type timedWriter struct {
	http.ResponseWriter
	timings requestTimings
	start   time.Time
	status  int
}

// WriteHeader adds the Server-Timing header to the final response.
func (w *timedWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		w.Header()["Server-Timing"] = []string{w.timings.header(time.Since(w.start))}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends the headers first if the handler has not.
func (w *timedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps the underlying writer's fast path (sendfile) for images
// served from files.
func (w *timedWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *timedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// timeRequests records each request's timings, for its Server-Timing
// header and, with metrics, its route's duration histogram.
func (s *Server) timeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &timedWriter{ResponseWriter: w, start: time.Now()}
		next.ServeHTTP(tw, r.WithContext(context.WithValue(r.Context(), timingsKey{}, &tw.timings)))
		if tw.status == 0 {
			// Nothing written: net/http sends a bare 200.
			tw.WriteHeader(http.StatusOK)
		}
		s.Metrics.observeRequest(tw.timings.route, tw.status, time.Since(tw.start))
	})
}

// nameRoute tells the request's recorder which route matched, so metrics
// are labelled by route template, never by raw path.
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := timingsFrom(r.Context()); t != nil {
			if route := mux.CurrentRoute(r); route != nil {
				t.route, _ = route.GetPathTemplate()
			}
		}
		next.ServeHTTP(w, r)
	})
}
