package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus series. A nil *Metrics records
// nothing, so servers without a metrics listener pay nothing for them.
type Metrics struct {
	requests        *prometheus.HistogramVec
	backendDuration *prometheus.HistogramVec
	backendErrors   *prometheus.CounterVec
	pageCache       *prometheus.CounterVec
	uploads         *prometheus.CounterVec
	sessions        *prometheus.CounterVec
	errors          *prometheus.CounterVec
}

// NewMetrics creates the server's series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "webdemo_http_request_duration_seconds",
			Help:    "Time to answer a request, by route template and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "status"}),
		backendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "webdemo_backend_call_duration_seconds",
			Help: "Time of each call to a backend (db, cache, blob, session), by operation.",
			// Backend calls are far shorter than pages.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"backend", "op"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webdemo_backend_call_errors_total",
			Help: "Backend calls that failed, by operation; a missing key or record is not a failure.",
		}, []string{"backend", "op"}),
		pageCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webdemo_page_cache_lookups_total",
			Help: "Front-page cache lookups, by result: hit, miss or error.",
		}, []string{"result"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webdemo_uploads_total",
			Help: "Uploads answered, by result: stored (or replayed) or rejected.",
		}, []string{"result"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webdemo_sessions_total",
			Help: "Sessions started by a login and ended by a logout.",
		}, []string{"event"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webdemo_http_errors_total",
			Help: "Requests answered with the error page, by status code.",
		}, []string{"status"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.backendDuration, m.backendErrors, m.pageCache, m.uploads, m.sessions, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Series that exist from the start read 0, not "no data".
	for _, r := range []string{"hit", "miss", "error"} {
		m.pageCache.WithLabelValues(r)
	}
	for _, r := range []string{"stored", "rejected"} {
		m.uploads.WithLabelValues(r)
	}
	for _, e := range []string{"login", "logout"} {
		m.sessions.WithLabelValues(e)
	}
	return m, nil
}

// observeRequest records one answered request. An unmatched path counts
// under "unmatched", so scanners cannot create series.
func (m *Metrics) observeRequest(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, statusLabel(status)).Observe(d.Seconds())
}

// statusLabel avoids formatting the common codes on every request.
func statusLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 303:
		return "303"
	case 304:
		return "304"
	case 404:
		return "404"
	}
	return strconv.Itoa(code)
}

// pageCacheLookup counts a front-page cache lookup.
func (m *Metrics) pageCacheLookup(result string) {
	if m != nil {
		m.pageCache.WithLabelValues(result).Inc()
	}
}

// upload counts an answered upload.
func (m *Metrics) upload(result string) {
	if m != nil {
		m.uploads.WithLabelValues(result).Inc()
	}
}

// session counts a login or logout.
func (m *Metrics) session(event string) {
	if m != nil {
		m.sessions.WithLabelValues(event).Inc()
	}
}

// httpError counts a request answered with the error page.
func (m *Metrics) httpError(status int) {
	if m != nil {
		m.errors.WithLabelValues(statusLabel(status)).Inc()
	}
}

// backendOp is one backend operation's series, resolved once so a call
// costs no label lookups.
type backendOp struct {
	stage    stage
	duration prometheus.Observer
	errors   prometheus.Counter
}

// op resolves the series of one backend operation; nil metrics give an op
// that only feeds Server-Timing.
func (m *Metrics) op(st stage, backend, name string) *backendOp {
	o := &backendOp{stage: st}
	if m != nil {
		o.duration = m.backendDuration.WithLabelValues(backend, name)
		o.errors = m.backendErrors.WithLabelValues(backend, name)
	}
	return o
}
