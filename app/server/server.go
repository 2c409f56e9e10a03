// Package server is the web-demo HTTP server: the front page, login,
// upload and image serving, over whichever stores it is given. It imports
// photo for the stores' interfaces, and imagefile, latency and throttle;
// never a backend, which package main picks and passes in.
package server

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	"webdemo/app/latency"
	"webdemo/app/photo"
	"webdemo/app/throttle"
)

//go:embed templates/*.html
var templateFS embed.FS

// templates are parsed once, when the package loads.
var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Identity says which server answered, for the page header.
type Identity struct {
	// Name is the instance id on EC2, or the configured instance name.
	Name string
	// Detail is the private IP on EC2, or the host name.
	Detail string
}

// Options are the server's limits.
type Options struct {
	PageSize       int
	MaxUploadBytes int64
	MaxImagePixels int
	// CacheTTL bounds how long a rendered photo list is served, from the
	// shared cache or this server's memory, so the image URLs in it stay
	// valid (at most 5 minutes whatever it says).
	CacheTTL     time.Duration
	CookieSecure bool
	// SessionLifetime ends a session this long after login, however busy;
	// zero means scs's default of 24 hours.
	SessionLifetime time.Duration
	// SessionIdleTimeout ends a session after this long without a request;
	// zero means never.
	SessionIdleTimeout time.Duration
	// LoginsPerMinute is how many login attempts one client may make a
	// minute; zero means no limit.
	LoginsPerMinute int
	// TrustedProxies are the load balancers whose X-Forwarded-For names
	// the client; requests from anywhere else are their own client.
	TrustedProxies []netip.Prefix
	// MaxConcurrentUploads is how many uploads this server reads at once;
	// more are refused at once with 503. Below 1 counts as 1.
	MaxConcurrentUploads int
	// TempDir holds uploads while they are checked; empty means the
	// system's temporary directory.
	TempDir string
}

// Deps are everything the server talks to. Cache may be nil (no cache).
type Deps struct {
	Logger       *slog.Logger
	Metadata     photo.Metadata
	Blobs        photo.Blobs
	Cache        photo.Cache
	SessionStore scs.Store
	Latency      *latency.Value
	Identity     Identity
	// Metrics records Prometheus series; nil records none.
	Metrics *Metrics
}

// Server serves the app. Create it with New.
type Server struct {
	Deps
	opts     Options
	sessions *scs.SessionManager
	// pages caches the photo list; nil without a cache.
	pages *pageCache
	// lastRendered is the last photo list rendered from the database.
	lastRendered atomic.Pointer[renderedList]
	// logins throttles login attempts per client; nil without a limit.
	logins *throttle.Limiter
	// uploads holds a slot for each upload being read.
	uploads chan struct{}
	// decodes shares memory among full image decodes.
	decodes  *memoryBudget
	draining atomic.Bool
	handler  http.Handler
}

// New returns a server over deps.
func New(deps Deps, opts Options) *Server {
	s := &Server{Deps: deps, opts: opts}
	// Every backend call is timed, for Server-Timing and the metrics.
	s.Metadata = newTimedMetadata(deps.Metadata, deps.Metrics)
	s.Blobs = newTimedBlobs(deps.Blobs, deps.Metrics)
	if deps.Cache != nil {
		s.Cache = newTimedCache(deps.Cache, deps.Metrics)
	}
	s.sessions = scs.New()
	s.sessions.Store = newTimedSessions(deps.SessionStore, deps.Metrics)
	if opts.SessionLifetime > 0 {
		s.sessions.Lifetime = opts.SessionLifetime
	}
	s.sessions.IdleTimeout = opts.SessionIdleTimeout
	s.sessions.Cookie.Name = "webdemo_session"
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteLaxMode
	s.sessions.Cookie.Secure = opts.CookieSecure
	if opts.LoginsPerMinute > 0 {
		s.logins = throttle.New(opts.LoginsPerMinute, maxThrottledClients)
	}
	s.uploads = make(chan struct{}, max(1, opts.MaxConcurrentUploads))
	s.decodes = newMemoryBudget(decodeBudget)
	if deps.Cache != nil {
		s.pages = newPageCache(s.Cache, opts.PageSize, opts.CacheTTL, func(list template.HTML) ([]byte, []string) {
			return s.anonymousPage(list, false, 0)
		})
	}
	s.handler = s.routes()
	return s
}

// maxThrottledClients bounds the login throttle's memory (a few hundred
// bytes a client); a client forgotten beyond it simply starts afresh.
const maxThrottledClients = 10_000

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Drain makes health and readiness checks fail, so load balancers stop
// sending new requests before the server shuts down.
func (s *Server) Drain() { s.draining.Store(true) }

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a template into a pooled buffer first, so a template error
// never sends half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	buf := bufferPool.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); bufferPool.Put(buf) }()
	start := time.Now()
	err := templates.ExecuteTemplate(buf, name, data)
	if tw, ok := w.(*timedWriter); ok {
		tw.timings.add(stageRender, time.Since(start))
	}
	if err != nil {
		s.Logger.Error("render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// detached returns a context for clean-up work that must finish even when
// the client has gone away.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}
