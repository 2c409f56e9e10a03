package server

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"webdemo/app/photo"
)

// handleIndex serves the front page, after the simulated latency.
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

// handleImage serves an upload from the store, for the disk store's image
// paths and for any server at any level.
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
