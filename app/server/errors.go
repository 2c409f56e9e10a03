package server

import (
	"errors"
	"fmt"
	"net/http"
)

// httpError is a request that failed: the status to answer with, the
// message the user reads, and, for the log only, what caused it.
type httpError struct {
	status  int
	message string
	cause   error
}

// Error returns the message and, if known, its cause.
func (e *httpError) Error() string {
	if e.cause == nil {
		return e.message
	}
	return e.message + ": " + e.cause.Error()
}

// Unwrap returns the cause.
func (e *httpError) Unwrap() error { return e.cause }

// reject is a request refused for what it asked: the user's message, with
// no cause to log beyond it.
func reject(status int, format string, args ...any) error {
	return &httpError{status: status, message: fmt.Sprintf(format, args...)}
}

// failed is a request the server could not serve because of cause, which
// is logged and never shown.
func failed(status int, message string, cause error) error {
	return &httpError{status: status, message: message, cause: cause}
}

// handler is an HTTP handler that returns its failure instead of
// answering it, so every failure is answered, logged and counted alike.
type handler func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to http.Handler: a returned error becomes the error page.
// h must not have written anything when it returns an error.
func (s *Server) handle(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.serveError(w, r, err)
		}
	})
}

// serveError answers a failed request with its status and message on the
// error page, logs it, and counts it. A refusal (4xx) is the client's doing:
// one Info line. A failure (5xx) is the server's: an Error line with its
// cause. An error that is no *httpError is an unexpected 500.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{status: http.StatusInternalServerError, message: "Something went wrong on the server.", cause: err}
	}
	if he.status >= 500 {
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", he.status, "err", err)
	} else {
		s.Logger.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", he.status, "reason", he.message)
	}
	s.Metrics.httpError(he.status)
	s.errorPage(w, he.status, he.message)
}

// errorPage renders the error page with status and message.
func (s *Server) errorPage(w http.ResponseWriter, status int, message string) {
	s.render(w, status, "error", struct {
		Title, Message string
		Server         Identity
	}{http.StatusText(status), message, s.Identity})
}
