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
	slept := time.Now()
	s.Latency.Sleep(r.Context())
	addTiming(r.Context(), stageLatency, time.Since(slept))
	list, err := s.photoList(r.Context())
	if err != nil {
		s.Logger.Error("front page", "err", err)
		s.fail(w, http.StatusServiceUnavailable, "The photo database is unavailable right now. This page will work again by itself once it is back.")
		return
	}
	v, _ := r.Context().Value(viewerKey{}).(viewer)
	s.render(w, http.StatusOK, "index", &indexPage{
		User: v.User, Fingerprint: v.Fingerprint, SessionDown: v.SessionDown,
		Server: s.Identity, Photos: list.HTML, FromDB: list.FromDB, Count: list.Count, Stale: list.Stale,
		UploadToken: uploadToken(v.User),
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
	Stale       bool
	// UploadToken makes a retried upload from this page a replay.
	UploadToken string
}

// photoListing is the rendered list of the latest photos and where it came
// from.
type photoListing struct {
	HTML template.HTML
	// FromDB is set when the list was read from the database just now, with
	// Count photos.
	FromDB bool
	Count  int
	// Stale is set when the database could not be read and the list is the
	// last one read from it, which may miss newer uploads.
	Stale bool
}

// photoList returns the rendered list of the latest photos. With a cache it
// costs one round trip on a hit; a cache that fails is skipped, not fatal.
// When the database cannot be read, the last photos read from it, kept in
// the cache, stand in, marked Stale.
func (s *Server) photoList(ctx context.Context) (photoListing, error) {
	var generation string
	if s.pages != nil {
		cached, gen, hit, err := s.pages.lookup(ctx)
		switch {
		case err != nil:
			s.Metrics.pageCacheLookup("error")
			s.Logger.Warn("page cache unavailable; reading the database", "err", err)
		case hit:
			noteCache(ctx, true)
			s.Metrics.pageCacheLookup("hit")
			return photoListing{HTML: template.HTML(cached)}, nil
		default:
			noteCache(ctx, false)
			s.Metrics.pageCacheLookup("miss")
			generation = gen
		}
	}
	photos, err := s.Metadata.Latest(ctx, s.opts.PageSize)
	if err != nil {
		return s.lastGoodList(ctx, err)
	}
	list, err := s.renderPhotos(ctx, photos)
	if err != nil {
		return photoListing{}, err
	}
	if generation != "" {
		if err := s.pages.store(ctx, generation, []byte(list)); err != nil {
			s.Logger.Warn("page cache set", "err", err)
		}
		if err := s.pages.keepLastGood(ctx, photos); err != nil {
			s.Logger.Warn("keep last known photo list", "err", err)
		}
	}
	return photoListing{HTML: list, FromDB: true, Count: len(photos)}, nil
}

// lastGoodList answers a failed database read with the last photos read
// from it, so the front page degrades instead of failing. Without a cache,
// or with nothing kept in it, the database error stands.
func (s *Server) lastGoodList(ctx context.Context, dbErr error) (photoListing, error) {
	if s.pages == nil {
		return photoListing{}, dbErr
	}
	photos, ok, err := s.pages.lastGood(ctx)
	if err != nil {
		return photoListing{}, errors.Join(dbErr, err)
	}
	if !ok {
		return photoListing{}, dbErr
	}
	list, err := s.renderPhotos(ctx, photos)
	if err != nil {
		return photoListing{}, errors.Join(dbErr, err)
	}
	s.Logger.Warn("database unavailable; serving the last known photo list", "err", dbErr)
	return photoListing{HTML: list, Stale: true}, nil
}

// renderPhotos renders the photo list, with each image's URL from the
// store.
func (s *Server) renderPhotos(ctx context.Context, photos []photo.Photo) (template.HTML, error) {
	items := make([]photoItem, len(photos))
	for i, p := range photos {
		url, err := s.Blobs.URL(ctx, p.Key)
		if err != nil {
			return "", err
		}
		items[i] = photoItem{URL: url, Username: p.Username,
			Time: p.CreatedAt.Format(time.RFC3339), ShownTime: p.CreatedAt.Format("2 Jan 2006 15:04 UTC")}
	}
	var buf bytes.Buffer
	start := time.Now()
	err := templates.ExecuteTemplate(&buf, "photos", items)
	addTiming(ctx, stageRender, time.Since(start))
	if err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
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
