package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
)

// routes lists every route in one place. Routes that act on the session
// load it; the front page only reads it, and only when the visitor has a
// cookie. Every POST passes cross-origin (CSRF) protection.
func (s *Server) routes() http.Handler {
	// SkipClean: a path such as /images/../x must not be redirected
	// elsewhere; it simply matches no route.
	r := mux.NewRouter().SkipClean(true)
	r.Use(nameRoute)
	index := s.readSession(s.handle(s.handleIndex))
	r.Handle("/", index).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/login", s.throttleLogins(s.loadSession(s.handle(s.handleLogin)))).Methods(http.MethodPost)
	r.Handle("/logout", s.loadSession(s.handle(s.handleLogout))).Methods(http.MethodPost)
	r.Handle("/upload", s.loadSession(s.handle(s.lingerOnRefusal(s.handleUpload)))).Methods(http.MethodPost)
	r.Handle("/images/{key}", s.handle(s.handleImage)).Methods(http.MethodGet, http.MethodHead)
	// Health checks answer load balancers in plain text, not pages.
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReady).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = s.handle(func(http.ResponseWriter, *http.Request) error {
		return reject(http.StatusNotFound, "There is no such page.")
	})
	r.MethodNotAllowedHandler = s.handle(func(w http.ResponseWriter, req *http.Request) error {
		allowed := allowedMethods(r, req)
		// RFC 9110 §15.5.6: a 405 must say which methods would work.
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return reject(http.StatusMethodNotAllowed, "This address does not answer %s requests, only %s.", req.Method, strings.Join(allowed, " or "))
	})

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(s.handle(func(http.ResponseWriter, *http.Request) error {
		return reject(http.StatusForbidden, "Cross-site requests are not allowed.")
	}))
	return s.timeRequests(securityHeaders(csrf.Handler(frontPageFirst(index, r))))
}

// allowedMethods lists the methods of every route whose path matches req,
// in the order the routes declare them.
func allowedMethods(router *mux.Router, req *http.Request) []string {
	var allowed []string
	_ = router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a route without a method restriction
		}
		for _, m := range methods {
			probe := *req
			probe.Method = m
			if !slices.Contains(allowed, m) && route.Match(&probe, &mux.RouteMatch{}) {
				allowed = append(allowed, m)
			}
		}
		return nil
	})
	return allowed
}

// frontPageFirst sends GET and HEAD / straight to the front page, the
// busiest route, sparing it the router's matching; the router would send
// them to the same handler.
func frontPageFirst(index, router http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			if t := timingsFrom(r.Context()); t != nil {
				t.route = "/"
			}
			index.ServeHTTP(w, r)
			return
		}
		router.ServeHTTP(w, r)
	})
}

// The security headers' values, shared by every response: header values
// are replaced, never changed in place.
var (
	nosniff       = []string{"nosniff"}
	sameOrigin    = []string{"same-origin"}
	contentPolicy = []string{"default-src 'none'; img-src * data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}
)

// securityHeaders sets headers every response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = sameOrigin
		h["Content-Security-Policy"] = contentPolicy
		next.ServeHTTP(w, r)
	})
}
