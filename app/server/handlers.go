package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"webdemo/app/photo"
)

// handleIndex serves the front page, after the simulated latency. An
// anonymous visitor's page is bytes built once per list: on a cache hit,
// or while the database returns the same photos, nothing is rendered.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	slept := time.Now()
	s.Latency.Sleep(ctx)
	addTiming(ctx, stageLatency, time.Since(slept))
	v, _ := ctx.Value(viewerKey{}).(viewer)
	anonymous := v == viewer{}
	list, err := s.photoList(ctx, !anonymous)
	if err != nil {
		return failed(http.StatusServiceUnavailable, "The photo database is unavailable right now. This page will work again by itself once it is back.", fmt.Errorf("front page: %w", err))
	}
	if anonymous && list.page != nil {
		writePage(w, r, list.page, list.length)
		return nil
	}
	s.render(w, http.StatusOK, "index", &indexPage{
		User: v.User, Fingerprint: v.Fingerprint, SessionDown: v.SessionDown,
		Server: s.Identity, Photos: list.HTML, FromDB: list.FromDB, Count: list.Count, Stale: list.Stale,
		UploadToken: uploadToken(v.User),
	})
	return nil
}

// htmlContentType is shared by every prebuilt page's headers; nothing
// changes a header value in place.
var htmlContentType = []string{"text/html; charset=utf-8"}

// writePage sends a prebuilt page.
func writePage(w http.ResponseWriter, r *http.Request, page []byte, length []string) {
	h := w.Header()
	h["Content-Type"] = htmlContentType
	h["Content-Length"] = length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(page)
	}
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
	// page, when set, is the whole front page an anonymous visitor gets
	// with this list, and length its Content-Length.
	page   []byte
	length []string
}

// photoList returns the rendered list of the latest photos. With a cache,
// a hit costs at most one round trip, and for anonymous visitors (fresh
// false) usually none; a cache that fails is skipped, not fatal. When the
// database cannot be read, the last photos read from it, kept in the
// cache, stand in, marked Stale.
func (s *Server) photoList(ctx context.Context, fresh bool) (photoListing, error) {
	var generation uint64
	cacheUp := false
	if s.pages != nil {
		cached, gen, err := s.pages.cachedList(ctx, fresh)
		switch {
		case err != nil:
			s.Metrics.pageCacheLookup("error")
			s.Logger.Warn("page cache unavailable; reading the database", "err", err)
		case cached != nil:
			// A hit from this server's memory made no round trip; the
			// entry still says the cache answered.
			addTiming(ctx, stageCache, 0)
			noteCache(ctx, true)
			s.Metrics.pageCacheLookup("hit")
			return photoListing{HTML: cached.list, page: cached.page, length: cached.length}, nil
		default:
			noteCache(ctx, false)
			s.Metrics.pageCacheLookup("miss")
			generation, cacheUp = gen, true
		}
	}
	photos, err := s.Metadata.Latest(ctx, s.opts.PageSize)
	if err != nil {
		return s.lastGoodList(ctx, err)
	}
	rendered, err := s.renderedFor(ctx, photos)
	if err != nil {
		return photoListing{}, err
	}
	if cacheUp {
		if _, err := s.pages.store(ctx, generation, rendered.list, rendered.at); err != nil {
			s.Logger.Warn("page cache set", "err", err)
		}
		if err := s.pages.keepLastGood(ctx, photos); err != nil {
			s.Logger.Warn("keep last known photo list", "err", err)
		}
	}
	return photoListing{HTML: rendered.list, FromDB: true, Count: len(photos),
		page: rendered.page, length: rendered.length}, nil
}

// renderedList is a photo list as rendered from the database, with the
// anonymous page that shows it and says it was fetched from there.
type renderedList struct {
	photos []photo.Photo
	list   template.HTML
	at     time.Time
	page   []byte
	length []string
}

// renderedFor renders photos, or reuses the last rendering while the
// database keeps returning the same photos: every page still reads the
// database, but only a change costs rendering. A rendering is reused for
// at most the page cache's list age, so its image URLs stay valid.
func (s *Server) renderedFor(ctx context.Context, photos []photo.Photo) (*renderedList, error) {
	now := time.Now()
	if last := s.lastRendered.Load(); last != nil && now.Sub(last.at) < s.listMaxAge() && samePhotos(last.photos, photos) {
		return last, nil
	}
	list, err := s.renderPhotos(ctx, photos)
	if err != nil {
		return nil, err
	}
	rendered := &renderedList{photos: photos, list: list, at: now}
	rendered.page, rendered.length = s.anonymousPage(list, true, len(photos))
	s.lastRendered.Store(rendered)
	return rendered, nil
}

// listMaxAge is how long a rendered list may be served.
func (s *Server) listMaxAge() time.Duration {
	if s.pages != nil {
		return s.pages.maxAge
	}
	if s.opts.CacheTTL > 0 {
		return min(maxListAge, s.opts.CacheTTL)
	}
	return maxListAge
}

// samePhotos reports whether two lists show the same photos.
func samePhotos(a, b []photo.Photo) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Username != b[i].Username || !a[i].CreatedAt.Equal(b[i].CreatedAt) {
			return false
		}
	}
	return true
}

// anonymousPage renders the whole front page a visitor without a session
// gets with list, once, so serving it is a copy. On an error it returns
// nil, and each page is rendered as it is served.
func (s *Server) anonymousPage(list template.HTML, fromDB bool, count int) ([]byte, []string) {
	var buf bytes.Buffer
	err := templates.ExecuteTemplate(&buf, "index", &indexPage{Server: s.Identity, Photos: list, FromDB: fromDB, Count: count})
	if err != nil {
		s.Logger.Error("render", "template", "index", "err", err)
		return nil, nil
	}
	return buf.Bytes(), []string{strconv.Itoa(buf.Len())}
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
func (s *Server) handleImage(w http.ResponseWriter, r *http.Request) error {
	key := mux.Vars(r)["key"]
	if !photo.ValidKey(key) {
		return reject(http.StatusNotFound, "There is no such photo.")
	}
	body, contentType, err := s.Blobs.Open(r.Context(), key)
	if errors.Is(err, photo.ErrNotFound) {
		return reject(http.StatusNotFound, "There is no such photo.")
	}
	if err != nil {
		return failed(http.StatusBadGateway, "The photo store is unavailable right now.", fmt.Errorf("open upload %s: %w", key, err))
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if rs, ok := body.(io.ReadSeeker); ok {
		// Files get ranges and conditional requests for free.
		http.ServeContent(w, r, key, time.Time{}, rs)
		return nil
	}
	if r.Method == http.MethodHead {
		return nil
	}
	// Once the body has started, a failure can only be logged.
	if _, err := io.Copy(w, body); err != nil {
		s.Logger.Warn("send upload", "key", key, "err", err)
	}
	return nil
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
