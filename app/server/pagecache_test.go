package server

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"webdemo/app/memory"
	"webdemo/app/photo"
)

// clock is a settable time for page caches under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// newTestPageCache is one server's page cache over a shared cache, with
// the anonymous page being the list itself.
func newTestPageCache(shared photo.Cache, c *clock) *pageCache {
	p := newPageCache(shared, 10, time.Minute, func(list template.HTML) ([]byte, []string) {
		return []byte(list), []string{"0"}
	})
	if c != nil {
		p.now = c.now
	}
	return p
}

// A list read before an upload and stored after it (a slow server racing
// an upload on another) must never be served to a visitor who asks for
// the current generation, on either server.
func TestLateStoreOfAStaleListIsNeverServed(t *testing.T) {
	ctx := context.Background()
	shared := memory.NewCache()
	slow, other := newTestPageCache(shared, nil), newTestPageCache(shared, nil)

	list, before, err := slow.cachedList(ctx, true)
	if err != nil || list != nil {
		t.Fatalf("lookup on an empty cache: %v, %v", list, err)
	}
	// Another server records an upload and invalidates…
	if err := other.invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	// …then the slow server stores the list it read before the upload.
	if _, err := slow.store(ctx, before, "stale list", time.Now()); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*pageCache{"slow": slow, "other": other} {
		if list, _, _ := p.cachedList(ctx, true); list != nil {
			t.Fatalf("%s server served %q, a list from before the upload", name, list.list)
		}
	}

	_, now, _ := other.cachedList(ctx, true)
	if _, err := other.store(ctx, now, "fresh list", time.Now()); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*pageCache{"slow": slow, "other": other} {
		if list, _, _ := p.cachedList(ctx, true); list == nil || list.list != "fresh list" || string(list.page) != "fresh list" {
			t.Fatalf("%s server: lookup = %v; want the fresh list", name, list)
		}
	}
}

// Anonymous visitors may get a list up to generationCheckEvery behind
// another server's upload, never more; the server that took the upload
// drops its list at once.
func TestAnonymousPagesSeeAnUploadWithinTheBound(t *testing.T) {
	ctx := context.Background()
	shared := memory.NewCache()
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	reader, uploader := newTestPageCache(shared, c), newTestPageCache(shared, c)

	_, gen, err := reader.cachedList(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.store(ctx, gen, "old list", c.t); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := uploader.cachedList(ctx, false); list == nil {
		t.Fatal("the uploader's server did not find the stored list")
	}
	if err := uploader.invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := uploader.cachedList(ctx, false); list != nil {
		t.Fatalf("the server that took the upload still serves %q", list.list)
	}
	if list, _, _ := reader.cachedList(ctx, true); list != nil {
		t.Fatalf("a fresh lookup elsewhere still serves %q", list.list)
	}

	// A server that has not looked since the upload may lag, but only
	// until its copy of the generation is generationCheckEvery old.
	reader2 := newTestPageCache(shared, c)
	reader2.sawGeneration(gen, c.t, false)
	reader2.keep(gen, "old list", c.t)
	c.t = c.t.Add(generationCheckEvery - time.Millisecond)
	if list, _, _ := reader2.cachedList(ctx, false); list == nil {
		t.Fatal("within generationCheckEvery the kept list should still serve")
	}
	c.t = c.t.Add(time.Millisecond)
	if list, _, _ := reader2.cachedList(ctx, false); list != nil {
		t.Fatalf("after generationCheckEvery the server still serves %q from before the upload", list.list)
	}
}

// While one request rereads the generation, others keep the one they have,
// but never beyond maxGenerationAge.
func TestGenerationIsNeverOlderThanMaxGenerationAge(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	p := newTestPageCache(memory.NewCache(), c)
	p.sawGeneration(0, c.t, false)
	p.keep(0, "list", c.t)
	p.refreshing.Store(true) // another request is rereading it
	c.t = c.t.Add(maxGenerationAge - time.Millisecond)
	if list, _, _ := p.cachedList(ctx, false); list == nil {
		t.Fatal("during a reread the kept list should serve")
	}
	if err := newTestPageCache(p.cache, c).invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Millisecond)
	if list, _, _ := p.cachedList(ctx, false); list != nil {
		t.Fatal("a generation older than maxGenerationAge was trusted")
	}
}

// A rendered list is served for at most its maximum age, however long
// PAGE_CACHE_TTL is, so the image URLs in it stay valid.
func TestListsExpireSoTheirImageURLsStayValid(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	p := newPageCache(memory.NewCache(), 10, 24*time.Hour, func(list template.HTML) ([]byte, []string) { return []byte(list), nil })
	p.now = c.now
	if p.maxAge != maxListAge {
		t.Fatalf("maxAge = %v with a 24h TTL, want %v", p.maxAge, maxListAge)
	}
	_, gen, _ := p.cachedList(ctx, true)
	if _, err := p.store(ctx, gen, "list", c.t); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(maxListAge - time.Second)
	if list, _, _ := p.cachedList(ctx, true); list == nil {
		t.Fatal("a young list was not served")
	}
	c.t = c.t.Add(time.Second)
	if list, _, _ := p.cachedList(ctx, true); list != nil {
		t.Fatal("a list older than maxListAge was served")
	}
}

// The last known list is for database outages only: keeping it never turns
// a miss into a hit, so normal reads still honour the generation.
func TestLastGoodListIsNeverAHit(t *testing.T) {
	ctx := context.Background()
	pages := newTestPageCache(memory.NewCache(), nil)
	if _, ok, err := pages.lastGood(ctx); ok || err != nil {
		t.Fatalf("lastGood on an empty cache: %v, %v", ok, err)
	}
	kept := []photo.Photo{{Username: "ada", Key: "0123456789abcdef0123456789abcdef.png",
		CreatedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}}
	if err := pages.keepLastGood(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := pages.cachedList(ctx, true); list != nil {
		t.Fatalf("lookup served %q from the last known list", list.list)
	}
	got, ok, err := pages.lastGood(ctx)
	if err != nil || !ok || len(got) != 1 || got[0] != kept[0] {
		t.Fatalf("lastGood = %+v, %v, %v; want %+v", got, ok, err, kept)
	}
}

// memcached restarts, empty: its counter starts again at a value it never
// held, so a list a server kept from before is never taken for current,
// whether or not uploads came since, for anonymous and logged-in visitors.
func TestRestartedCacheNeverServesAListKeptFromBefore(t *testing.T) {
	ctx := context.Background()
	for _, uploads := range []int{0, 1, 2} {
		c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
		b := newTestPageCache(memory.NewCache(), c)
		_, gen, err := b.cachedList(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.store(ctx, gen, "list before the restart", c.t); err != nil {
			t.Fatal(err)
		}
		if list, _, _ := b.cachedList(ctx, true); list == nil {
			t.Fatal("the stored list is not served before the restart")
		}

		restarted := memory.NewCache()
		b.cache = restarted
		a := newTestPageCache(restarted, c)
		for range uploads {
			if err := a.invalidate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		c.t = c.t.Add(time.Millisecond)
		for _, fresh := range []bool{true, false} {
			if list, _, _ := b.cachedList(ctx, fresh); list != nil {
				t.Errorf("%d uploads after the restart, fresh %v: served %q from before it", uploads, fresh, list.list)
			}
		}
	}
}

// flakyIncr is a cache whose first failures increments fail, as during a
// short memcached cut.
type flakyIncr struct {
	photo.Cache
	failures atomic.Int32
}

func (f *flakyIncr) Incr(ctx context.Context, key string) (uint64, error) {
	if f.failures.Add(-1) >= 0 {
		return 0, errors.New("memcached incr: i/o timeout")
	}
	return f.Cache.Incr(ctx, key)
}

// An upload whose generation bump fails is not lost: the uploader's server
// serves no cached list until the bump lands, which it retries, and then
// every server drops the list from before.
func TestFailedBumpIsRetried(t *testing.T) {
	ctx := context.Background()
	shared := memory.NewCache()
	flaky := &flakyIncr{Cache: shared}
	uploader, other := newTestPageCache(flaky, nil), newTestPageCache(shared, nil)
	_, gen, err := other.cachedList(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.store(ctx, gen, "list before the upload", time.Now()); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := uploader.cachedList(ctx, true); list == nil {
		t.Fatal("the uploader's server does not find the stored list")
	}

	flaky.failures.Store(2)
	if err := uploader.invalidate(ctx); err == nil {
		t.Fatal("the flaky bump succeeded")
	}
	done := make(chan struct{})
	uploader.invalidateLater(slog.New(slog.DiscardHandler), func() { close(done) })
	for _, fresh := range []bool{true, false} {
		if list, _, _ := uploader.cachedList(ctx, fresh); list != nil {
			t.Fatalf("before the bump lands the uploader's server serves %q", list.list)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the bump was not retried")
	}
	if flaky.failures.Load() >= 0 {
		t.Fatal("the retry did not reach the cache")
	}
	for name, p := range map[string]*pageCache{"uploader": uploader, "other": other} {
		if list, _, _ := p.cachedList(ctx, true); list != nil {
			t.Errorf("after the bump the %s server serves %q", name, list.list)
		}
	}
}

// The uploader's own bump wins over a read sent after it but answered
// with the number from before.
func TestBumpBeatsAnOlderAnswerToALaterRead(t *testing.T) {
	p := newTestPageCache(memory.NewCache(), nil)
	bumpSent := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	readSent := bumpSent.Add(time.Millisecond)
	p.sawGeneration(5, readSent, false)
	p.sawGeneration(6, bumpSent, true)
	if got := p.gen.Load(); got.n != 6 || !got.checked.Equal(readSent) {
		t.Fatalf("generation %d checked %s; want 6, checked when the read was sent", got.n, got.checked)
	}
	p.sawGeneration(4, readSent.Add(time.Millisecond), true)
	if got := p.gen.Load(); got.n != 6 {
		t.Fatalf("a lower bump replaced generation 6 with %d", got.n)
	}
}
