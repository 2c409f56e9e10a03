package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"webdemo/app/photo"
)

// pageCache keeps the front page's rendered photo list in the shared cache,
// tagged with the generation it was read at; every upload bumps the
// generation. A hit needs the list and the generation, fetched together in
// one round trip, to agree, so a list read before an upload is never served
// after it, whichever server wrote it and however late.
//
// Beside it, under a key of its own and without the generation check, the
// cache keeps the last photos read from the database, for the front page to
// fall back on only while the database cannot be read.
type pageCache struct {
	cache       photo.Cache
	listKey     string
	genKey      string
	lastGoodKey string
	ttl         time.Duration
}

// lastGoodTTL is how long the last photos read from the database stay
// available for an outage: far longer than any outage should last.
const lastGoodTTL = 24 * time.Hour

func newPageCache(cache photo.Cache, pageSize int, ttl time.Duration) *pageCache {
	return &pageCache{
		cache:       cache,
		listKey:     "front-page:" + strconv.Itoa(pageSize),
		genKey:      "front-page:generation",
		lastGoodKey: "front-page:last-good:" + strconv.Itoa(pageSize),
		ttl:         ttl,
	}
}

// lookup returns the cached list on a hit. On a miss it returns the
// generation to tag a freshly read list with.
func (p *pageCache) lookup(ctx context.Context) (list []byte, generation string, hit bool, err error) {
	values, err := p.cache.GetMulti(ctx, p.genKey, p.listKey)
	if err != nil {
		return nil, "", false, err
	}
	generation = string(values[p.genKey])
	if generation == "" {
		generation = "0"
	}
	if tag, list, ok := bytes.Cut(values[p.listKey], []byte("\n")); ok && string(tag) == generation {
		return list, generation, true, nil
	}
	return nil, generation, false, nil
}

// store caches a list read from the database after lookup returned
// generation.
func (p *pageCache) store(ctx context.Context, generation string, list []byte) error {
	tagged := make([]byte, 0, len(generation)+1+len(list))
	tagged = append(append(append(tagged, generation...), '\n'), list...)
	return p.cache.Set(ctx, p.listKey, tagged, p.ttl)
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

// invalidate makes every cached list stale, on every server.
func (p *pageCache) invalidate(ctx context.Context) error {
	_, err := p.cache.Incr(ctx, p.genKey)
	return err
}
