package server

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"webdemo/app/photo"
)

// pageCache keeps the front page's rendered photo list in the shared cache,
// tagged with the generation it was read at; every upload bumps the
// generation. A hit needs the list and the generation, fetched together in
// one round trip, to agree, so a list read before an upload is never served
// after it, whichever server wrote it and however late.
type pageCache struct {
	cache   photo.Cache
	listKey string
	genKey  string
	ttl     time.Duration
}

func newPageCache(cache photo.Cache, pageSize int, ttl time.Duration) *pageCache {
	return &pageCache{
		cache:   cache,
		listKey: "front-page:" + strconv.Itoa(pageSize),
		genKey:  "front-page:generation",
		ttl:     ttl,
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

// invalidate makes every cached list stale, on every server.
func (p *pageCache) invalidate(ctx context.Context) error {
	_, err := p.cache.Incr(ctx, p.genKey)
	return err
}
