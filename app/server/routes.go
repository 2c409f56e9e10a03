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
	r.Handle("/", s.readSession(http.HandlerFunc(s.handleIndex))).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/login", s.throttleLogins(s.loadSession(http.HandlerFunc(s.handleLogin)))).Methods(http.MethodPost)
	r.Handle("/logout", s.loadSession(http.HandlerFunc(s.handleLogout))).Methods(http.MethodPost)
	r.Handle("/upload", s.loadSession(http.HandlerFunc(s.handleUpload))).Methods(http.MethodPost)
	r.HandleFunc("/images/{key}", s.handleImage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReady).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fail(w, http.StatusNotFound, "There is no such page.")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		allowed := allowedMethods(r, req)
		// RFC 9110 §15.5.6: a 405 must say which methods would work.
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.fail(w, http.StatusMethodNotAllowed, "This address does not answer "+req.Method+" requests, only "+strings.Join(allowed, " or ")+".")
	})

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fail(w, http.StatusForbidden, "Cross-site requests are not allowed.")
	}))
	return s.timeRequests(securityHeaders(csrf.Handler(r)))
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

// securityHeaders sets headers every response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}
