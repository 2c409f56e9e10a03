// Package server is the web-demo HTTP server: the front page, login,
// upload and image serving, over whichever stores it is given.
package server

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"

	"webdemo/app/latency"
	"webdemo/app/photo"
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
	CacheTTL       time.Duration
	CookieSecure   bool
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
}

// Server serves the app. Create it with New.
type Server struct {
	Deps
	opts     Options
	sessions *scs.SessionManager
	// pages caches the photo list; nil without a cache.
	pages    *pageCache
	draining atomic.Bool
	handler  http.Handler
}

// New returns a server over deps.
func New(deps Deps, opts Options) *Server {
	s := &Server{Deps: deps, opts: opts}
	s.sessions = scs.New()
	s.sessions.Store = deps.SessionStore
	s.sessions.Lifetime = 24 * time.Hour
	s.sessions.Cookie.Name = "webdemo_session"
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteLaxMode
	s.sessions.Cookie.Secure = opts.CookieSecure
	if deps.Cache != nil {
		s.pages = newPageCache(deps.Cache, opts.PageSize, opts.CacheTTL)
	}
	s.handler = s.routes()
	return s
}

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
	if err := templates.ExecuteTemplate(buf, name, data); err != nil {
		s.Logger.Error("render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail answers with a readable error page.
func (s *Server) fail(w http.ResponseWriter, status int, message string) {
	s.render(w, status, "error", struct {
		Title, Message string
		Server         Identity
	}{http.StatusText(status), message, s.Identity})
}

// detached returns a context for clean-up work that must finish even when
// the client has gone away.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}
