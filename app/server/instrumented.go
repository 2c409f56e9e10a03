package server

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/alexedwards/scs/v2"

	"webdemo/app/photo"
)

// done records a call that started at start: in the request's
// Server-Timing and, with metrics, in the operation's series. A missing
// key or a replayed form is an answer, not a failure.
func (o *backendOp) done(ctx context.Context, start time.Time, err error) {
	d := time.Since(start)
	addTiming(ctx, o.stage, d)
	if o.duration == nil {
		return
	}
	o.duration.Observe(d.Seconds())
	if err != nil && !errors.Is(err, photo.ErrNotFound) && !errors.Is(err, photo.ErrUploadTokenUsed) {
		o.errors.Inc()
	}
}

// timedMetadata times every call to a photo.Metadata.
type timedMetadata struct {
	next                                       photo.Metadata
	add, byUploadToken, latest, recorded, ping *backendOp
}

func newTimedMetadata(next photo.Metadata, m *Metrics) *timedMetadata {
	return &timedMetadata{next: next,
		add: m.op(stageDB, "db", "add"), byUploadToken: m.op(stageDB, "db", "by_upload_token"),
		latest: m.op(stageDB, "db", "latest"), recorded: m.op(stageDB, "db", "recorded"), ping: m.op(stageDB, "db", "ping")}
}

// Add implements photo.Metadata.
func (t *timedMetadata) Add(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	start := time.Now()
	p, err := t.next.Add(ctx, p)
	t.add.done(ctx, start, err)
	return p, err
}

// ByUploadToken implements photo.Metadata.
func (t *timedMetadata) ByUploadToken(ctx context.Context, token string) (photo.Photo, error) {
	start := time.Now()
	p, err := t.next.ByUploadToken(ctx, token)
	t.byUploadToken.done(ctx, start, err)
	return p, err
}

// Latest implements photo.Metadata.
func (t *timedMetadata) Latest(ctx context.Context, n int) ([]photo.Photo, error) {
	start := time.Now()
	photos, err := t.next.Latest(ctx, n)
	t.latest.done(ctx, start, err)
	return photos, err
}

// OldestAfter implements photo.Metadata; only the copy calls it, so it is
// passed through untimed.
func (t *timedMetadata) OldestAfter(ctx context.Context, after photo.Photo, n int) ([]photo.Photo, error) {
	return t.next.OldestAfter(ctx, after, n)
}

// Import implements photo.Metadata; only the copy calls it, untimed.
func (t *timedMetadata) Import(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	return t.next.Import(ctx, p)
}

// Recorded implements photo.Metadata.
func (t *timedMetadata) Recorded(ctx context.Context, keys []string) (map[string]bool, error) {
	start := time.Now()
	found, err := t.next.Recorded(ctx, keys)
	t.recorded.done(ctx, start, err)
	return found, err
}

// Ping implements photo.Metadata.
func (t *timedMetadata) Ping(ctx context.Context) error {
	start := time.Now()
	err := t.next.Ping(ctx)
	t.ping.done(ctx, start, err)
	return err
}

// Close implements photo.Metadata.
func (t *timedMetadata) Close() error { return t.next.Close() }

// timedBlobs times every call to a photo.Blobs; URL counts as presigning.
type timedBlobs struct {
	next                         photo.Blobs
	put, open, remove, url, list *backendOp
}

func newTimedBlobs(next photo.Blobs, m *Metrics) *timedBlobs {
	return &timedBlobs{next: next,
		put: m.op(stageBlob, "blob", "put"), open: m.op(stageBlob, "blob", "open"), remove: m.op(stageBlob, "blob", "delete"),
		url: m.op(stagePresign, "blob", "url"), list: m.op(stageBlob, "blob", "list")}
}

// Put implements photo.Blobs.
func (t *timedBlobs) Put(ctx context.Context, key, contentType string, r io.Reader, size int64) error {
	start := time.Now()
	err := t.next.Put(ctx, key, contentType, r, size)
	t.put.done(ctx, start, err)
	return err
}

// Open implements photo.Blobs. It times opening, not sending the bytes.
func (t *timedBlobs) Open(ctx context.Context, key string) (io.ReadCloser, string, error) {
	start := time.Now()
	body, contentType, err := t.next.Open(ctx, key)
	t.open.done(ctx, start, err)
	return body, contentType, err
}

// Exists implements photo.Blobs; the server does not call it itself, so
// it is passed through untimed.
func (t *timedBlobs) Exists(ctx context.Context, key string) (bool, error) {
	return t.next.Exists(ctx, key)
}

// Delete implements photo.Blobs.
func (t *timedBlobs) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := t.next.Delete(ctx, key)
	t.remove.done(ctx, start, err)
	return err
}

// URL implements photo.Blobs.
func (t *timedBlobs) URL(ctx context.Context, key string) (string, error) {
	start := time.Now()
	url, err := t.next.URL(ctx, key)
	t.url.done(ctx, start, err)
	return url, err
}

// List implements photo.Blobs.
func (t *timedBlobs) List(ctx context.Context) ([]photo.StoredBlob, error) {
	start := time.Now()
	blobs, err := t.next.List(ctx)
	t.list.done(ctx, start, err)
	return blobs, err
}

// timedCache times every call to a photo.Cache.
type timedCache struct {
	next                photo.Cache
	getMulti, set, incr *backendOp
}

func newTimedCache(next photo.Cache, m *Metrics) *timedCache {
	return &timedCache{next: next,
		getMulti: m.op(stageCache, "cache", "get_multi"), set: m.op(stageCache, "cache", "set"), incr: m.op(stageCache, "cache", "incr")}
}

// GetMulti implements photo.Cache.
func (t *timedCache) GetMulti(ctx context.Context, keys ...string) (map[string][]byte, error) {
	start := time.Now()
	values, err := t.next.GetMulti(ctx, keys...)
	t.getMulti.done(ctx, start, err)
	return values, err
}

// Set implements photo.Cache.
func (t *timedCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	start := time.Now()
	err := t.next.Set(ctx, key, value, ttl)
	t.set.done(ctx, start, err)
	return err
}

// Incr implements photo.Cache.
func (t *timedCache) Incr(ctx context.Context, key string) (uint64, error) {
	start := time.Now()
	n, err := t.next.Incr(ctx, key)
	t.incr.done(ctx, start, err)
	return n, err
}

// timedSessions times every call to the session store. It implements
// scs.CtxStore, so scs hands it the request's context.
type timedSessions struct {
	next                 scs.Store
	find, commit, remove *backendOp
}

func newTimedSessions(next scs.Store, m *Metrics) *timedSessions {
	return &timedSessions{next: next,
		find: m.op(stageSession, "session", "find"), commit: m.op(stageSession, "session", "commit"), remove: m.op(stageSession, "session", "delete")}
}

// Find implements scs.Store.
func (t *timedSessions) Find(token string) ([]byte, bool, error) {
	return t.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (t *timedSessions) Commit(token string, b []byte, expiry time.Time) error {
	return t.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (t *timedSessions) Delete(token string) error {
	return t.DeleteCtx(context.Background(), token)
}

// FindCtx implements scs.CtxStore.
func (t *timedSessions) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	start := time.Now()
	var (
		b     []byte
		found bool
		err   error
	)
	if c, ok := t.next.(scs.CtxStore); ok {
		b, found, err = c.FindCtx(ctx, token)
	} else {
		b, found, err = t.next.Find(token)
	}
	t.find.done(ctx, start, err)
	return b, found, err
}

// CommitCtx implements scs.CtxStore.
func (t *timedSessions) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	start := time.Now()
	var err error
	if c, ok := t.next.(scs.CtxStore); ok {
		err = c.CommitCtx(ctx, token, b, expiry)
	} else {
		err = t.next.Commit(token, b, expiry)
	}
	t.commit.done(ctx, start, err)
	return err
}

// DeleteCtx implements scs.CtxStore.
func (t *timedSessions) DeleteCtx(ctx context.Context, token string) error {
	start := time.Now()
	var err error
	if c, ok := t.next.(scs.CtxStore); ok {
		err = c.DeleteCtx(ctx, token)
	} else {
		err = t.next.Delete(token)
	}
	t.remove.done(ctx, start, err)
	return err
}
