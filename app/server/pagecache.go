package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"webdemo/app/photo"
)

// pageCache keeps the front page's rendered photo list in the shared cache,
// tagged with the generation it was read at; every upload bumps the
// generation. A list is served only for the generation it is tagged with,
// so a list read before an upload is never served after this server has
// seen the upload's generation, whichever server wrote it and however late.
//
// Each server keeps the current list, and the anonymous front page built
// around it, in its own memory, and reads the shared generation at most
// every generationCheckEvery for anonymous visitors, who thus see an upload
// within maxGenerationAge. Logged-in visitors read it on every page, so an
// uploader sees their photo on the very next page, on any server.
//
// Beside it, under a key of its own and without the generation check, the
// cache keeps the last photos read from the database, for the front page to
// fall back on only while the database cannot be read.
type pageCache struct {
	cache       photo.Cache
	listKey     string
	genKey      string
	lastGoodKey string
	// maxAge bounds how long a list is served after it was rendered, so the
	// image URLs in it stay valid.
	maxAge time.Duration
	// build makes the anonymous front page around a list, once per list,
	// and its Content-Length; nil if it cannot.
	build func(list template.HTML) (page []byte, length []string)
	now   func() time.Time

	gen        atomic.Pointer[generation]
	refreshing atomic.Bool
	local      atomic.Pointer[localList]
	// unbumped counts this server's uploads whose generation bump has not
	// reached the shared cache yet: while there are any, no list is served
	// from the cache here.
	unbumped atomic.Int32
}

// generation is the shared generation as this server last read it.
type generation struct {
	n uint64
	// checked is when the read was sent: every upload acknowledged before
	// it is at or below n.
	checked time.Time
}

// localList is the current list kept in this server's memory.
type localList struct {
	gen     uint64
	list    template.HTML
	expires time.Time
	// page is the whole anonymous front page, and length its
	// Content-Length header value.
	page   []byte
	length []string
}

const (
	// generationCheckEvery is how often a server rereads the shared
	// generation for anonymous visitors.
	generationCheckEvery = 250 * time.Millisecond
	// maxGenerationAge is the oldest generation an anonymous page is ever
	// served with: while one request rereads it, others keep the one they
	// have up to this age. It bounds how late anonymous visitors see an
	// upload, with room for a slow cache round trip below one second.
	maxGenerationAge = 750 * time.Millisecond
	// maxListAge bounds how long a rendered list is served whatever
	// PAGE_CACHE_TTL says: presigned image URLs are signed for a window of
	// at most 5 minutes and live an hour, so a page never carries a URL
	// with less than 50 minutes left.
	maxListAge = 5 * time.Minute
)

// lastGoodTTL is how long the last photos read from the database stay
// available for an outage: far longer than any outage should last.
const lastGoodTTL = 24 * time.Hour

func newPageCache(cache photo.Cache, pageSize int, ttl time.Duration, build func(template.HTML) ([]byte, []string)) *pageCache {
	if ttl <= 0 || ttl > maxListAge {
		ttl = maxListAge
	}
	return &pageCache{
		cache:       cache,
		listKey:     "front-page:" + strconv.Itoa(pageSize),
		genKey:      "front-page:generation",
		lastGoodKey: "front-page:last-good:" + strconv.Itoa(pageSize),
		maxAge:      ttl,
		build:       build,
		now:         time.Now,
	}
}

// cachedList answers a front page: the list for the current generation on
// a hit, or on a miss the generation to tag a freshly read list with.
// fresh reads the shared generation now; otherwise a copy up to
// generationCheckEvery old (maxGenerationAge while another request rereads
// it) will do.
func (p *pageCache) cachedList(ctx context.Context, fresh bool) (list *localList, gen uint64, err error) {
	if p.unbumped.Load() > 0 {
		_, gen, err := p.fetch(ctx)
		return nil, gen, err
	}
	now := p.now()
	if !fresh {
		if st := p.gen.Load(); st != nil {
			if l := p.localFor(st.n, now); l != nil {
				age := now.Sub(st.checked)
				if age < generationCheckEvery {
					return l, st.n, nil
				}
				if age < maxGenerationAge {
					if !p.refreshing.CompareAndSwap(false, true) {
						return l, st.n, nil // another request is rereading it
					}
					defer p.refreshing.Store(false)
				}
			}
		}
	}
	return p.fetch(ctx)
}

// fetch reads the shared generation and list in one round trip.
func (p *pageCache) fetch(ctx context.Context) (*localList, uint64, error) {
	sent := p.now()
	values, err := p.cache.GetMulti(ctx, p.genKey, p.listKey)
	if err != nil {
		return nil, 0, err
	}
	v, ok := values[p.genKey]
	if !ok {
		// A new cache, or one that restarted or evicted the counter: start
		// it, at a value it never held, so no list kept from before, here
		// or on another server, is taken for current.
		gen, err := p.cache.Incr(ctx, p.genKey)
		if err != nil {
			return nil, 0, err
		}
		p.sawGeneration(gen, sent, false)
		return nil, gen, nil
	}
	gen, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("page cache generation %q is not a counter", v)
	}
	p.sawGeneration(gen, sent, false)
	now := p.now()
	if l := p.localFor(gen, now); l != nil {
		return l, gen, nil
	}
	tag, renderedAt, list, ok := parseTagged(values[p.listKey])
	if !ok || tag != gen || !now.Before(renderedAt.Add(p.maxAge)) {
		return nil, gen, nil
	}
	return p.keep(gen, template.HTML(list), renderedAt), gen, nil
}

// localFor returns the list kept in memory if it is for gen and fresh.
func (p *pageCache) localFor(gen uint64, now time.Time) *localList {
	if l := p.local.Load(); l != nil && l.gen == gen && now.Before(l.expires) {
		return l
	}
	return nil
}

// sawGeneration records a generation read (or, after an upload, bumped)
// at sent. A read replaces any older read, even with a lower number, since
// the counter starts again when the cache restarts; a bump only raises it.
func (p *pageCache) sawGeneration(gen uint64, sent time.Time, bump bool) {
	for {
		old := p.gen.Load()
		next := &generation{n: gen, checked: sent}
		switch {
		case old == nil:
		case bump && gen > old.n:
			// A read sent after the bump may have been answered before
			// it; the bump is newer all the same.
			next.checked = later(sent, old.checked)
		case bump || sent.Before(old.checked):
			return
		}
		if p.gen.CompareAndSwap(old, next) {
			return
		}
	}
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// keep makes list this server's current list for gen, with the anonymous
// page built around it once.
func (p *pageCache) keep(gen uint64, list template.HTML, renderedAt time.Time) *localList {
	l := &localList{gen: gen, list: list, expires: renderedAt.Add(p.maxAge)}
	l.page, l.length = p.build(list)
	if st := p.gen.Load(); st == nil || st.n == gen {
		p.local.Store(l)
	}
	return l
}

// store caches a list read from the database, rendered at renderedAt,
// after cachedList returned gen, here and in the shared cache.
func (p *pageCache) store(ctx context.Context, gen uint64, list template.HTML, renderedAt time.Time) (*localList, error) {
	l := p.keep(gen, list, renderedAt)
	tagged := strconv.AppendUint(nil, gen, 10)
	tagged = append(tagged, '\n')
	tagged = strconv.AppendInt(tagged, renderedAt.UnixNano(), 10)
	tagged = append(append(tagged, '\n'), list...)
	return l, p.cache.Set(ctx, p.listKey, tagged, p.maxAge)
}

// parseTagged splits a cached list into its generation, rendering time and
// bytes.
func parseTagged(v []byte) (gen uint64, renderedAt time.Time, list []byte, ok bool) {
	tag, rest, ok1 := bytes.Cut(v, []byte("\n"))
	at, list, ok2 := bytes.Cut(rest, []byte("\n"))
	if !ok1 || !ok2 {
		return 0, time.Time{}, nil, false
	}
	gen, err1 := strconv.ParseUint(string(tag), 10, 64)
	nanos, err2 := strconv.ParseInt(string(at), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, nil, false
	}
	return gen, time.Unix(0, nanos), list, true
}

// keepLastGood stores the photos just read from the database for lastGood.
// It keeps the records, not the rendered list, so the fallback page gets
// image URLs signed when it is served rather than hours before.
func (p *pageCache) keepLastGood(ctx context.Context, photos []photo.Photo) error {
	kept := make([]keptPhoto, len(photos))
	for i, ph := range photos {
		kept[i] = keptPhoto{Key: ph.Key, Username: ph.Username, CreatedAt: ph.CreatedAt}
	}
	encoded, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	return p.cache.Set(ctx, p.lastGoodKey, encoded, lastGoodTTL)
}

// keptPhoto is what the list shows of a photo, and all that is kept of it.
type keptPhoto struct {
	Key       string    `json:"key"`
	Username  string    `json:"user"`
	CreatedAt time.Time `json:"created"`
}

// lastGood returns the photos keepLastGood stored last, whatever uploads
// came since: only for when the database cannot be read. ok is false when
// none are kept.
func (p *pageCache) lastGood(ctx context.Context) (photos []photo.Photo, ok bool, err error) {
	values, err := p.cache.GetMulti(ctx, p.lastGoodKey)
	if err != nil {
		return nil, false, err
	}
	encoded, ok := values[p.lastGoodKey]
	if !ok {
		return nil, false, nil
	}
	var kept []keptPhoto
	if err := json.Unmarshal(encoded, &kept); err != nil {
		return nil, false, fmt.Errorf("last known photo list: %w", err)
	}
	photos = make([]photo.Photo, len(kept))
	for i, k := range kept {
		photos[i] = photo.Photo{Key: k.Key, Username: k.Username, CreatedAt: k.CreatedAt}
	}
	return photos, true, nil
}

// bumpRetryEvery is how often a failed generation bump is tried again.
const bumpRetryEvery = 250 * time.Millisecond

// invalidateLater retries a failed invalidate until it lands, or until
// maxAge has passed and every list from before the upload has expired
// anyway. Meanwhile this server serves no list from the cache, so the
// uploader sees the photo here; other servers see it once the bump lands.
// done, if not nil, runs when it stops trying.
func (p *pageCache) invalidateLater(logger *slog.Logger, done func()) {
	p.unbumped.Add(1)
	go func() {
		defer func() {
			p.unbumped.Add(-1)
			if done != nil {
				done()
			}
		}()
		for giveUp := time.Now().Add(p.maxAge); time.Now().Before(giveUp); {
			time.Sleep(bumpRetryEvery)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := p.invalidate(ctx)
			cancel()
			if err == nil {
				logger.Info("page cache invalidated after a retry")
				return
			}
		}
		logger.Warn("page cache not invalidated; lists from before the upload have expired by now")
	}()
}

// invalidate makes every cached list stale, on every server: this one at
// once, the others within maxGenerationAge for anonymous visitors and at
// once for logged-in ones.
func (p *pageCache) invalidate(ctx context.Context) error {
	sent := p.now()
	n, err := p.cache.Incr(ctx, p.genKey)
	if err != nil {
		return err
	}
	p.sawGeneration(n, sent, true)
	return nil
}
