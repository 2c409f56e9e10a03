package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"
)

const (
	sessionUserKey = "user"
	// sessionRefreshedKey holds when the session's idle deadline was last
	// pushed forward, in Unix seconds.
	sessionRefreshedKey = "refreshed"
	maxNameLength       = 64
)

// viewer is who is looking at a page, read without touching the session
// store for anonymous visitors.
type viewer struct {
	User        string
	Fingerprint string
	SessionDown bool
}

type viewerKey struct{}

// fingerprint is a short, non-secret digest of a session token: enough to
// see whether two servers share a session, useless for hijacking it.
func fingerprint(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("web-demo session fingerprint\x00" + token))
	return hex.EncodeToString(sum[:4])
}

// readSession puts the viewer in the request context. Visitors without a
// cookie cost nothing; if the session store is down the page still renders,
// logged out, with a notice.
func (s *Server) readSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := w.Header(); h["Vary"] == nil {
			h["Vary"] = varyCookie
		} else {
			h.Add("Vary", "Cookie")
		}
		c, err := r.Cookie(s.sessions.Cookie.Name)
		if err != nil || c.Value == "" {
			// An anonymous visitor: the zero viewer, as the context
			// reads without one.
			next.ServeHTTP(w, r)
			return
		}
		var v viewer
		ctx, err := s.sessions.Load(r.Context(), c.Value)
		if err != nil {
			s.Logger.Warn("session store unavailable; serving logged out", "err", err)
			v.SessionDown = true
		} else if user := s.sessions.GetString(ctx, sessionUserKey); user != "" {
			v.User = user
			if err := s.keepAlive(ctx, w); err != nil {
				s.Logger.Warn("session store unavailable; session not extended", "err", err)
			}
			v.Fingerprint = fingerprint(s.sessions.Token(ctx))
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	})
}

// varyCookie is the Vary header of pages that depend on the session,
// shared by every response.
var varyCookie = []string{"Cookie"}

// loadSession loads the visitor's session for routes that act on it. If
// the store is down the request fails with a clear message.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Add("Vary", "Cookie")
		var token string
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err == nil && s.sessions.GetString(ctx, sessionUserKey) != "" {
			err = s.keepAlive(ctx, w)
		}
		if err != nil {
			return sessionsDown(err)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
		return nil
	})
}

// saveSession stores a changed session and sets or clears its cookie. It
// runs before anything is written, so a store error can still become a
// clean 503.
func (s *Server) saveSession(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	switch s.sessions.Status(ctx) {
	case scs.Modified:
		token, expiry, err := s.sessions.Commit(ctx)
		if err != nil {
			return err
		}
		s.sessions.WriteSessionCookie(ctx, w, token, expiry)
	case scs.Destroyed:
		s.sessions.WriteSessionCookie(ctx, w, "", time.Time{})
	}
	return nil
}

// keepAlive pushes a logged-in session's idle deadline forward and resends
// its cookie, whose expiry follows. It writes at most once per
// refreshInterval, so a busy visitor costs a store write a minute, not one
// a page: a session ends between IdleTimeout−refreshInterval and
// IdleTimeout after its last request, and never after its Lifetime.
func (s *Server) keepAlive(ctx context.Context, w http.ResponseWriter) error {
	idle := s.sessions.IdleTimeout
	if idle <= 0 {
		return nil
	}
	now := time.Now()
	last := time.Unix(s.sessions.GetInt64(ctx, sessionRefreshedKey), 0)
	if now.Sub(last) < refreshInterval(idle) {
		return nil
	}
	s.sessions.Put(ctx, sessionRefreshedKey, now.Unix())
	token, expiry, err := s.sessions.Commit(ctx)
	if err != nil {
		return err
	}
	s.sessions.WriteSessionCookie(ctx, w, token, expiry)
	return nil
}

// refreshInterval is how stale a session's idle deadline may get: a tenth
// of the idle timeout, at most a minute.
func refreshInterval(idle time.Duration) time.Duration {
	return min(idle/10, time.Minute)
}

// validName applies the login rules: 1 to 64 characters, none of them
// control characters or text-direction controls, which would make the
// name, and the text shown after it, read other than it is.
func validName(name string) error {
	switch {
	case name == "":
		return errors.New("Please enter a name.")
	case !utf8.ValidString(name):
		return errors.New("The name is not valid text.")
	case utf8.RuneCountInString(name) > maxNameLength:
		return fmt.Errorf("The name is longer than %d characters.", maxNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("The name may not contain control characters.")
	case strings.IndexFunc(name, isBidiControl) >= 0:
		return errors.New("The name may not contain text-direction controls.")
	}
	return nil
}

func isBidiControl(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }

// handleLogin starts a session for the name given.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return reject(http.StatusBadRequest, "The login form could not be read.")
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if err := validName(name); err != nil {
		return reject(http.StatusBadRequest, "%s", err)
	}
	// A new token on login stops session fixation.
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		return sessionsDown(err)
	}
	s.sessions.Put(r.Context(), sessionUserKey, name)
	s.sessions.Put(r.Context(), sessionRefreshedKey, time.Now().Unix())
	if err := s.saveSession(w, r); err != nil {
		return sessionsDown(err)
	}
	s.Metrics.session("login")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// handleLogout ends the session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		return sessionsDown(err)
	}
	if err := s.saveSession(w, r); err != nil {
		return sessionsDown(err)
	}
	s.Metrics.session("logout")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// sessionsDown is a request the session store failed, for cause.
func sessionsDown(cause error) error {
	return failed(http.StatusServiceUnavailable,
		"Sessions are unavailable right now, so logging in, out and uploading cannot work. Please try again shortly.",
		fmt.Errorf("session store: %w", cause))
}
