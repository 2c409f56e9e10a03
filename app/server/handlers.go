package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"image"
	_ "image/gif" // image decoders for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/mux"
	_ "golang.org/x/image/webp"

	"webdemo/app/photo"
)

// readSession puts the viewer in the request context. Visitors without a
// cookie cost nothing; if the session store is down the page still renders,
// logged out, with a notice.
func (s *Server) readSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		var v viewer
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil && c.Value != "" {
			ctx, err := s.sessions.Load(r.Context(), c.Value)
			if err != nil {
				s.Logger.Warn("session store unavailable; serving logged out", "err", err)
				v.SessionDown = true
			} else if user := s.sessions.GetString(ctx, sessionUserKey); user != "" {
				v.User = user
				v.Fingerprint = fingerprint(s.sessions.Token(ctx))
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	})
}

// loadSession loads the visitor's session for routes that act on it. If
// the store is down the request fails with a clear message.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		var token string
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err != nil {
			s.sessionError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
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

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.Latency.Sleep(r.Context())
	list, fromDB, count, err := s.photoList(r.Context())
	if err != nil {
		s.Logger.Error("front page", "err", err)
		s.fail(w, http.StatusServiceUnavailable, "The photo database is unavailable right now. This page will work again by itself once it is back.")
		return
	}
	v, _ := r.Context().Value(viewerKey{}).(viewer)
	s.render(w, http.StatusOK, "index", &indexPage{
		User: v.User, Fingerprint: v.Fingerprint, SessionDown: v.SessionDown,
		Server: s.Identity, Photos: list, FromDB: fromDB, Count: count,
	})
}

// indexPage is the front page's data. A flat, named struct keeps the
// template's field lookups cheap.
type indexPage struct {
	User        string
	Fingerprint string
	SessionDown bool
	Server      Identity
	Photos      template.HTML
	FromDB      bool
	Count       int
}

// photoList returns the rendered list of the latest photos. With a cache it
// costs one round trip on a hit; a cache that fails is skipped, not fatal.
func (s *Server) photoList(ctx context.Context) (list template.HTML, fromDB bool, count int, err error) {
	var generation string
	if s.pages != nil {
		cached, gen, hit, err := s.pages.lookup(ctx)
		switch {
		case err != nil:
			s.Logger.Warn("page cache unavailable; reading the database", "err", err)
		case hit:
			return template.HTML(cached), false, 0, nil
		default:
			generation = gen
		}
	}
	photos, err := s.Metadata.Latest(ctx, s.opts.PageSize)
	if err != nil {
		return "", false, 0, err
	}
	items := make([]photoItem, len(photos))
	for i, p := range photos {
		url, err := s.Blobs.URL(ctx, p.Key)
		if err != nil {
			return "", false, 0, err
		}
		items[i] = photoItem{URL: url, Username: p.Username,
			Time: p.CreatedAt.Format(time.RFC3339), ShownTime: p.CreatedAt.Format("2 Jan 2006 15:04 UTC")}
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, "photos", items); err != nil {
		return "", false, 0, err
	}
	if generation != "" {
		if err := s.pages.store(ctx, generation, buf.Bytes()); err != nil {
			s.Logger.Warn("page cache set", "err", err)
		}
	}
	return template.HTML(buf.String()), true, len(photos), nil
}

// photoItem is one photo as the list shows it, formatted up front so the
// template only copies strings.
type photoItem struct {
	URL, Username, Time, ShownTime string
}

// validName applies the login rules: 1 to 64 characters, none of them
// control characters.
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
	}
	return nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "The login form could not be read.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if err := validName(name); err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	// A new token on login stops session fixation.
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		s.sessionError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessionUserKey, name)
	if err := s.saveSession(w, r); err != nil {
		s.sessionError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.sessionError(w, r, err)
		return
	}
	if err := s.saveSession(w, r); err != nil {
		s.sessionError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// uploadError is a rejected upload: a status and a message for the user.
type uploadError struct {
	status  int
	message string
}

// Error returns the message shown to the user.
func (e *uploadError) Error() string { return e.message }

func reject(status int, format string, args ...any) error {
	return &uploadError{status, fmt.Sprintf(format, args...)}
}

// multipartOverhead allows for the form's boundaries and headers on top of
// the file itself.
const multipartOverhead = 64 << 10

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	user := s.sessions.GetString(r.Context(), sessionUserKey)
	if user == "" {
		s.fail(w, http.StatusUnauthorized, "Log in to upload photos.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes+multipartOverhead)
	data, contentType, err := s.readImage(r)
	if err != nil {
		var ue *uploadError
		if !errors.As(err, &ue) {
			ue = &uploadError{http.StatusBadRequest, "The upload could not be read."}
		}
		s.fail(w, ue.status, ue.message)
		return
	}

	key, err := photo.NewKey(contentType)
	if err != nil {
		s.Logger.Error("new key", "err", err)
		s.fail(w, http.StatusInternalServerError, "The photo could not be saved.")
		return
	}
	// Blob first, then the row: a listed photo always has its bytes.
	if err := s.Blobs.Put(r.Context(), key, contentType, bytes.NewReader(data), int64(len(data))); err != nil {
		s.Logger.Error("store upload", "key", key, "err", err)
		s.fail(w, http.StatusBadGateway, "The photo store is unavailable, so the photo was not saved. Please try again.")
		return
	}
	_, err = s.Metadata.Add(r.Context(), photo.Photo{Username: user, Key: key, ContentType: contentType, CreatedAt: time.Now()})
	if err != nil {
		s.Logger.Error("record upload", "key", key, "err", err)
		ctx, cancel := detached(r.Context())
		defer cancel()
		if delErr := s.Blobs.Delete(ctx, key); delErr != nil {
			s.Logger.Error("remove orphaned upload", "key", key, "err", delErr)
		}
		s.fail(w, http.StatusServiceUnavailable, "The photo database is unavailable, so the photo was not saved. Please try again.")
		return
	}
	if s.pages != nil {
		ctx, cancel := detached(r.Context())
		defer cancel()
		if err := s.pages.invalidate(ctx); err != nil {
			s.Logger.Warn("invalidate page cache", "err", err)
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// readImage reads the "photo" part of a multipart form and checks it is an
// accepted image by its content, never its name.
func (s *Server) readImage(r *http.Request) ([]byte, string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", reject(http.StatusBadRequest, "Send the photo as a multipart form.")
	}
	var data []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, "", reject(http.StatusBadRequest, "Choose a photo to upload.")
		}
		if err != nil {
			return nil, "", readError(err)
		}
		if part.FormName() != "photo" {
			continue
		}
		data, err = io.ReadAll(io.LimitReader(part, s.opts.MaxUploadBytes+1))
		if err != nil {
			return nil, "", readError(err)
		}
		break
	}
	if int64(len(data)) > s.opts.MaxUploadBytes {
		return nil, "", tooLarge(s.opts.MaxUploadBytes)
	}
	if len(data) == 0 {
		return nil, "", reject(http.StatusBadRequest, "The file is empty.")
	}
	contentType := http.DetectContentType(data)
	if _, ok := photo.Extensions[contentType]; !ok {
		return nil, "", reject(http.StatusUnsupportedMediaType, "Only JPEG, PNG, GIF and WebP images are accepted.")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", reject(http.StatusUnsupportedMediaType, "The file is not a readable image.")
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > int64(s.opts.MaxImagePixels) {
		return nil, "", reject(http.StatusUnprocessableEntity,
			"The image is %d×%d pixels; the limit is %d pixels in all.", cfg.Width, cfg.Height, s.opts.MaxImagePixels)
	}
	return data, contentType, nil
}

func readError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return tooLarge(tooBig.Limit - multipartOverhead)
	}
	return reject(http.StatusBadRequest, "The upload was malformed or cut short.")
}

func tooLarge(limit int64) error {
	return reject(http.StatusRequestEntityTooLarge, "The file is larger than %d MiB.", max(1, limit>>20))
}

func (s *Server) handleImage(w http.ResponseWriter, r *http.Request) {
	key := mux.Vars(r)["key"]
	if !photo.ValidKey(key) {
		s.fail(w, http.StatusNotFound, "There is no such photo.")
		return
	}
	body, contentType, err := s.Blobs.Open(r.Context(), key)
	if errors.Is(err, photo.ErrNotFound) {
		s.fail(w, http.StatusNotFound, "There is no such photo.")
		return
	}
	if err != nil {
		s.Logger.Error("open upload", "key", key, "err", err)
		s.fail(w, http.StatusBadGateway, "The photo store is unavailable right now.")
		return
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if rs, ok := body.(io.ReadSeeker); ok {
		// Files get ranges and conditional requests for free.
		http.ServeContent(w, r, key, time.Time{}, rs)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, body); err != nil {
		s.Logger.Warn("send upload", "key", key, "err", err)
	}
}

// handleHealth is the load balancer's check. It is shallow on purpose: a
// cache or database outage must not take every server out of rotation.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// handleReady reports whether this server can do real work.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Metadata.Ping(ctx); err != nil {
		s.Logger.Warn("readiness: database unreachable", "err", err)
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}
