// Package conformance holds one test suite per store interface. Every
// implementation runs the same suite, so the disk and cloud versions of a
// store behave alike. It imports package photo and scs; only tests import
// it.
package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/alexedwards/scs/v2"

	"webdemo/app/photo"
)

func newKey(t *testing.T, contentType string) string {
	t.Helper()
	key, err := photo.NewKey(contentType)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Metadata tests a photo.Metadata. open returns an empty store.
func Metadata(t *testing.T, open func(t *testing.T) photo.Metadata) {
	ctx := context.Background()
	t.Run("empty store lists nothing", func(t *testing.T) {
		got, err := open(t).Latest(ctx, 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("Latest = %v, %v; want none", got, err)
		}
	})
	t.Run("round trip keeps every field", func(t *testing.T) {
		store := open(t)
		when := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("x", 3600))
		in := photo.Photo{Username: "Zoë <b>&", Key: newKey(t, "image/png"), ContentType: "image/png", CreatedAt: when,
			UploadToken: photo.NewUploadToken()}
		added, err := store.Add(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if added.ID == 0 {
			t.Fatal("Add returned no ID")
		}
		got, err := store.Latest(ctx, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("Latest = %v, %v", got, err)
		}
		want := in
		want.ID = added.ID
		want.CreatedAt = when.UTC().Truncate(time.Microsecond)
		if got[0] != want {
			t.Fatalf("got %+v\nwant %+v", got[0], want)
		}
	})
	t.Run("latest is newest first and limited", func(t *testing.T) {
		store := open(t)
		var keys []string
		for i := range 5 {
			key := newKey(t, "image/jpeg")
			keys = append(keys, key)
			_, err := store.Add(ctx, photo.Photo{Username: fmt.Sprint("user", i), Key: key, ContentType: "image/jpeg"})
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := store.Latest(ctx, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("Latest(3) = %d photos, %v", len(got), err)
		}
		for i, p := range got {
			if want := keys[4-i]; p.Key != want {
				t.Errorf("photo %d = %s, want %s", i, p.Key, want)
			}
		}
	})
	t.Run("a duplicate key is refused", func(t *testing.T) {
		store := open(t)
		p := photo.Photo{Username: "a", Key: newKey(t, "image/gif"), ContentType: "image/gif"}
		if _, err := store.Add(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Add(ctx, p); err == nil {
			t.Fatal("second Add of the same key succeeded")
		}
	})
	t.Run("an invalid key is refused", func(t *testing.T) {
		store := open(t)
		if _, err := store.Add(ctx, photo.Photo{Username: "a", Key: "../../etc/passwd", ContentType: "image/png"}); err == nil {
			t.Fatal("Add accepted a path as a key")
		}
		if got, _ := store.Latest(ctx, 10); len(got) != 0 {
			t.Fatalf("store holds %v after a refused Add", got)
		}
	})
	t.Run("an upload token is recorded once", func(t *testing.T) {
		store := open(t)
		token := photo.NewUploadToken()
		first, err := store.Add(ctx, photo.Photo{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png", UploadToken: token})
		if err != nil {
			t.Fatal(err)
		}
		found, err := store.ByUploadToken(ctx, token)
		if err != nil || found.ID != first.ID || found.Key != first.Key || found.UploadToken != token {
			t.Fatalf("ByUploadToken = %+v, %v; want %+v", found, err, first)
		}
		replay, err := store.Add(ctx, photo.Photo{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png", UploadToken: token})
		if !errors.Is(err, photo.ErrUploadTokenUsed) {
			t.Fatalf("second Add with the token = %v; want ErrUploadTokenUsed", err)
		}
		if replay.ID != first.ID || replay.Key != first.Key {
			t.Fatalf("second Add returned %+v; want the first photo %+v", replay, first)
		}
		if got, err := store.Latest(ctx, 10); err != nil || len(got) != 1 {
			t.Fatalf("Latest = %v, %v; want only the first photo", got, err)
		}
	})
	t.Run("photos without a token never clash", func(t *testing.T) {
		store := open(t)
		for range 3 {
			if _, err := store.Add(ctx, photo.Photo{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := store.ByUploadToken(ctx, ""); !errors.Is(err, photo.ErrNotFound) {
			t.Fatalf("ByUploadToken(\"\") = %v; want ErrNotFound", err)
		}
	})
	t.Run("unknown and invalid tokens are not found", func(t *testing.T) {
		store := open(t)
		for _, token := range []string{photo.NewUploadToken(), "' OR 1=1 --", strings.Repeat("a", 100)} {
			if _, err := store.ByUploadToken(ctx, token); !errors.Is(err, photo.ErrNotFound) {
				t.Errorf("ByUploadToken(%q) = %v; want ErrNotFound", token, err)
			}
		}
	})
	t.Run("an invalid token is refused", func(t *testing.T) {
		store := open(t)
		_, err := store.Add(ctx, photo.Photo{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png", UploadToken: "not a token"})
		if err == nil {
			t.Fatal("Add accepted an invalid upload token")
		}
		if got, _ := store.Latest(ctx, 10); len(got) != 0 {
			t.Fatalf("store holds %v after a refused Add", got)
		}
	})
	t.Run("concurrent adds with one token record one photo", func(t *testing.T) {
		store := open(t)
		token := photo.NewUploadToken()
		keys := make([]string, 8)
		for i := range keys {
			keys[i] = newKey(t, "image/jpeg")
		}
		oneWins(t, store, "Add", photo.ErrUploadTokenUsed, len(keys), func(i int) error {
			_, err := store.Add(ctx, photo.Photo{Username: "a", Key: keys[i], ContentType: "image/jpeg", UploadToken: token})
			return err
		})
	})
	t.Run("recorded tells which keys have photos", func(t *testing.T) {
		store := open(t)
		if got, err := store.Recorded(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("Recorded(nil) = %v, %v; want none", got, err)
		}
		var recorded []string
		for range 2 {
			key := newKey(t, "image/png")
			if _, err := store.Add(ctx, photo.Photo{Username: "a", Key: key, ContentType: "image/png"}); err != nil {
				t.Fatal(err)
			}
			recorded = append(recorded, key)
		}
		// More keys than one query asks about, so every batch is read.
		var asked []string
		for range 1200 {
			asked = append(asked, newKey(t, "image/png"))
		}
		asked = append(asked, "../../etc/passwd", "' OR 1=1 --")
		asked = append(slices.Insert(asked, 700, recorded[0]), recorded[1])
		got, err := store.Recorded(ctx, asked)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[recorded[0]] || !got[recorded[1]] {
			t.Fatalf("Recorded = %v; want just %v", got, recorded)
		}
	})
	t.Run("ping", func(t *testing.T) {
		if err := open(t).Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
	importing(t, open)
}

// importing tests Latest's order by time, OldestAfter and Import: what
// copying photos between stores relies on.
func importing(t *testing.T, open func(t *testing.T) photo.Metadata) {
	ctx := context.Background()
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	// Recorded out of time order, with two photos sharing a time, as
	// uploads and copies from another store mix.
	offsets := []time.Duration{5, 1, 3, 3, 0, 4, 2}
	fill := func(t *testing.T, store photo.Metadata) []photo.Photo {
		t.Helper()
		var added []photo.Photo
		for i, minutes := range offsets {
			p, err := store.Import(ctx, photo.Photo{Username: fmt.Sprint("user", i), Key: newKey(t, "image/png"),
				ContentType: "image/png", CreatedAt: base.Add(minutes * time.Minute), UploadToken: photo.NewUploadToken()})
			if err != nil {
				t.Fatal(err)
			}
			added = append(added, p)
		}
		// Oldest first: by time, then ID.
		slices.SortStableFunc(added, func(a, b photo.Photo) int {
			if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		return added
	}
	keysOf := func(photos []photo.Photo) []string {
		var keys []string
		for _, p := range photos {
			keys = append(keys, p.Key)
		}
		return keys
	}
	t.Run("latest is newest first by time, then id", func(t *testing.T) {
		store := open(t)
		oldestFirst := fill(t, store)
		got, err := store.Latest(ctx, len(offsets))
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(oldestFirst)
		slices.Reverse(want)
		if !slices.Equal(keysOf(got), keysOf(want)) {
			t.Fatalf("Latest = %v\nwant %v", keysOf(got), keysOf(want))
		}
	})
	t.Run("oldest after walks every photo once, oldest first", func(t *testing.T) {
		store := open(t)
		want := fill(t, store)
		for _, size := range []int{1, 3, len(offsets), 100} {
			var got []photo.Photo
			var after photo.Photo
			for range len(offsets) + 2 {
				page, err := store.OldestAfter(ctx, after, size)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > size {
					t.Fatalf("OldestAfter(%d) returned %d photos", size, len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1]
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pages of %d = %v\nwant %v", size, got, want)
			}
		}
	})
	t.Run("import keeps every field", func(t *testing.T) {
		store := open(t)
		when := time.Date(2019, 7, 8, 9, 10, 11, 123456789, time.UTC)
		in := photo.Photo{ID: 999, Username: "Zoë", Key: newKey(t, "image/webp"), ContentType: "image/webp", CreatedAt: when,
			UploadToken: photo.NewUploadToken()}
		got, err := store.Import(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		listed, err := store.Latest(ctx, 10)
		if err != nil || len(listed) != 1 {
			t.Fatalf("Latest = %v, %v", listed, err)
		}
		want := in
		want.ID = listed[0].ID
		want.CreatedAt = when.Truncate(time.Microsecond)
		if listed[0] != want || got != want {
			t.Fatalf("Import returned %+v, Latest lists %+v; want %+v", got, listed[0], want)
		}
		if found, err := store.ByUploadToken(ctx, in.UploadToken); err != nil || found != want {
			t.Fatalf("ByUploadToken = %+v, %v; want %+v", found, err, want)
		}
	})
	t.Run("import of a recorded key records nothing", func(t *testing.T) {
		store := open(t)
		added, err := store.Add(ctx, photo.Photo{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png", UploadToken: photo.NewUploadToken()})
		if err != nil {
			t.Fatal(err)
		}
		for _, copied := range []photo.Photo{
			{Username: "a", Key: added.Key, ContentType: "image/png", CreatedAt: added.CreatedAt, UploadToken: added.UploadToken},
			{Username: "b", Key: added.Key, ContentType: "image/png", CreatedAt: base},
		} {
			if _, err := store.Import(ctx, copied); !errors.Is(err, photo.ErrAlreadyRecorded) {
				t.Errorf("Import of a recorded key = %v; want ErrAlreadyRecorded", err)
			}
		}
		if got, err := store.Latest(ctx, 10); err != nil || len(got) != 1 || got[0].Username != "a" {
			t.Fatalf("Latest = %v, %v; want only the first photo", got, err)
		}
	})
	t.Run("import of a used token under another key records nothing", func(t *testing.T) {
		store := open(t)
		token := photo.NewUploadToken()
		if _, err := store.Add(ctx, photo.Photo{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png", UploadToken: token}); err != nil {
			t.Fatal(err)
		}
		_, err := store.Import(ctx, photo.Photo{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png", CreatedAt: base, UploadToken: token})
		if !errors.Is(err, photo.ErrUploadTokenUsed) || errors.Is(err, photo.ErrAlreadyRecorded) {
			t.Fatalf("Import with a used token = %v; want ErrUploadTokenUsed", err)
		}
		if got, _ := store.Latest(ctx, 10); len(got) != 1 {
			t.Fatalf("store holds %d photos; want 1", len(got))
		}
	})
	t.Run("import refuses an invalid key or a missing time", func(t *testing.T) {
		store := open(t)
		for _, p := range []photo.Photo{
			{Username: "a", Key: "../../etc/passwd", ContentType: "image/png", CreatedAt: base},
			{Username: "a", Key: newKey(t, "image/png"), ContentType: "image/png"},
		} {
			if _, err := store.Import(ctx, p); err == nil || errors.Is(err, photo.ErrAlreadyRecorded) {
				t.Errorf("Import(%+v) = %v; want a refusal", p, err)
			}
		}
		if got, _ := store.Latest(ctx, 10); len(got) != 0 {
			t.Fatalf("store holds %v after refused Imports", got)
		}
	})
	t.Run("concurrent imports of one photo record it once", func(t *testing.T) {
		store := open(t)
		p := photo.Photo{Username: "a", Key: newKey(t, "image/jpeg"), ContentType: "image/jpeg", CreatedAt: base, UploadToken: photo.NewUploadToken()}
		oneWins(t, store, "Import", photo.ErrAlreadyRecorded, 8, func(int) error {
			_, err := store.Import(ctx, p)
			return err
		})
	})
}

// oneWins runs n calls of op at once and checks that exactly one succeeds,
// the others fail with lost, and store then holds exactly one photo.
func oneWins(t *testing.T, store photo.Metadata, op string, lost error, n int, call func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- call(i) })
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, lost):
			t.Errorf("%s = %v; want nil or %v", op, err, lost)
		}
	}
	if got, err := store.Latest(context.Background(), 10); won != 1 || err != nil || len(got) != 1 {
		t.Fatalf("%d %ss succeeded and the store holds %d photos (%v); want 1 and 1", won, op, len(got), err)
	}
}

// Blobs tests a photo.Blobs. open returns an empty store.
func Blobs(t *testing.T, open func(t *testing.T) photo.Blobs) {
	ctx := context.Background()
	t.Run("round trip", func(t *testing.T) {
		store := open(t)
		key := newKey(t, "image/webp")
		data := bytes.Repeat([]byte("webp"), 1000)
		if err := store.Put(ctx, key, "image/webp", bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		body, contentType, err := store.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		got, err := io.ReadAll(body)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %d bytes, %v; want %d bytes", len(got), err, len(data))
		}
		if contentType != "image/webp" {
			t.Fatalf("content type %q, want image/webp", contentType)
		}
		url, err := store.URL(ctx, key)
		if err != nil || !strings.Contains(url, key) {
			t.Fatalf("URL = %q, %v; want a URL naming the key", url, err)
		}
	})
	t.Run("missing and invalid keys are not found", func(t *testing.T) {
		store := open(t)
		for _, key := range []string{newKey(t, "image/png"), "../secret", "..%2fsecret", "", "x.png", "/etc/passwd"} {
			if _, _, err := store.Open(ctx, key); !errors.Is(err, photo.ErrNotFound) {
				t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
			}
		}
	})
	t.Run("an invalid key cannot be written", func(t *testing.T) {
		store := open(t)
		if err := store.Put(ctx, "../escape.png", "image/png", strings.NewReader("x"), 1); err == nil {
			t.Fatal("Put accepted a path as a key")
		}
	})
	t.Run("a failed put leaves nothing", func(t *testing.T) {
		store := open(t)
		key := newKey(t, "image/png")
		broken := io.MultiReader(strings.NewReader("half an image"), iotest.ErrReader(errors.New("connection reset")))
		if err := store.Put(ctx, key, "image/png", broken, 100); err == nil {
			t.Fatal("Put succeeded with a failing reader")
		}
		if _, _, err := store.Open(ctx, key); !errors.Is(err, photo.ErrNotFound) {
			t.Fatalf("after a failed Put, Open = %v; want ErrNotFound", err)
		}
	})
	t.Run("exists tells stored keys", func(t *testing.T) {
		store := open(t)
		key := newKey(t, "image/png")
		for _, missing := range []string{key, "../secret", "", "x.png"} {
			if ok, err := store.Exists(ctx, missing); ok || err != nil {
				t.Errorf("Exists(%q) on an empty store = %t, %v; want false", missing, ok, err)
			}
		}
		if err := store.Put(ctx, key, "image/png", strings.NewReader("png"), 3); err != nil {
			t.Fatal(err)
		}
		if ok, err := store.Exists(ctx, key); !ok || err != nil {
			t.Fatalf("Exists after Put = %t, %v; want true", ok, err)
		}
		if err := store.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if ok, err := store.Exists(ctx, key); ok || err != nil {
			t.Fatalf("Exists after Delete = %t, %v; want false", ok, err)
		}
	})
	t.Run("delete is idempotent", func(t *testing.T) {
		store := open(t)
		key := newKey(t, "image/gif")
		if err := store.Put(ctx, key, "image/gif", strings.NewReader("GIF89a"), 6); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := store.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := store.Open(ctx, key); !errors.Is(err, photo.ErrNotFound) {
			t.Fatalf("after Delete, Open = %v; want ErrNotFound", err)
		}
	})
	t.Run("list shows each stored key with its time", func(t *testing.T) {
		store := open(t)
		if got := listed(t, store); len(got) != 0 {
			t.Fatalf("empty store lists %v", got)
		}
		// Stores keep times to the second, or coarser.
		before := time.Now().Add(-2 * time.Second)
		keys := []string{newKey(t, "image/png"), newKey(t, "image/jpeg")}
		for _, key := range keys {
			if err := store.Put(ctx, key, photo.ContentTypeOf(key), strings.NewReader("bytes"), 5); err != nil {
				t.Fatal(err)
			}
		}
		after := time.Now().Add(2 * time.Second)
		got := listed(t, store)
		if len(got) != len(keys) {
			t.Fatalf("List = %v; want %v", got, keys)
		}
		for _, key := range keys {
			if when, ok := got[key]; !ok || when.Before(before) || when.After(after) {
				t.Errorf("List has %s at %v (listed: %t); want a time between %v and %v", key, when, ok, before, after)
			}
		}
		if err := store.Delete(ctx, keys[0]); err != nil {
			t.Fatal(err)
		}
		if got := listed(t, store); len(got) != 1 || got[keys[1]].IsZero() {
			t.Fatalf("after deleting %s, List = %v; want only %s", keys[0], got, keys[1])
		}
	})
}

// listed returns the store's keys and their modification times.
func listed(t *testing.T, store photo.Blobs) map[string]time.Time {
	t.Helper()
	stored, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, blob := range stored {
		out[blob.Key] = blob.ModTime
	}
	return out
}

// Cache tests a photo.Cache. open returns an empty cache.
func Cache(t *testing.T, open func(t *testing.T) photo.Cache) {
	ctx := context.Background()
	get := func(t *testing.T, cache photo.Cache, keys ...string) map[string]string {
		t.Helper()
		values, err := cache.GetMulti(ctx, keys...)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for k, v := range values {
			out[k] = string(v)
		}
		return out
	}
	t.Run("miss, set, overwrite, get several", func(t *testing.T) {
		cache := open(t)
		if got := get(t, cache, "a", "b"); len(got) != 0 {
			t.Fatalf("empty cache returned %v", got)
		}
		for _, kv := range [][2]string{{"a", "<li>v</li>"}, {"b", "x"}, {"a", "v2"}} {
			if err := cache.Set(ctx, kv[0], []byte(kv[1]), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if got := get(t, cache, "a", "b", "c"); len(got) != 2 || got["a"] != "v2" || got["b"] != "x" {
			t.Fatalf("GetMulti = %v, want a=v2 b=x and no c", got)
		}
	})
	t.Run("entries expire", func(t *testing.T) {
		cache := open(t)
		if err := cache.Set(ctx, "short", []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond)
		if got := get(t, cache, "short"); len(got) != 0 {
			t.Fatalf("GetMulti after the TTL = %v, want a miss", got)
		}
	})
	t.Run("counters start at the time and count every increment", func(t *testing.T) {
		cache := open(t)
		before := uint64(time.Now().UnixNano())
		first, err := cache.Incr(ctx, "gen")
		if err != nil || first < before || first > uint64(time.Now().UnixNano()) {
			t.Fatalf("first Incr = %d, %v; want the time in nanoseconds, from %d", first, err, before)
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := cache.Incr(ctx, "gen"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := get(t, cache, "gen"); got["gen"] != strconv.FormatUint(first+20, 10) {
			t.Fatalf("counter = %q after 21 increments from %d", got["gen"], first)
		}
	})
	t.Run("a lost counter starts above every value it held", func(t *testing.T) {
		cache := open(t)
		if err := cache.Set(ctx, "lost", []byte("99"), time.Second); err != nil {
			t.Fatal(err)
		}
		if n, err := cache.Incr(ctx, "lost"); err != nil || n != 100 {
			t.Fatalf("Incr = %d, %v; want 100", n, err)
		}
		time.Sleep(2100 * time.Millisecond) // the counter expires, as when lost
		if n, err := cache.Incr(ctx, "lost"); err != nil || n <= 100 {
			t.Fatalf("Incr of the lost counter = %d, %v; want above 100", n, err)
		}
	})
	t.Run("concurrent first increments", func(t *testing.T) {
		cache := open(t)
		var wg sync.WaitGroup
		seen := make(chan uint64, 10)
		for range 10 {
			wg.Go(func() {
				n, err := cache.Incr(ctx, "fresh")
				if err != nil {
					t.Error(err)
				}
				seen <- n
			})
		}
		wg.Wait()
		close(seen)
		distinct := map[uint64]bool{}
		for n := range seen {
			distinct[n] = true
		}
		if len(distinct) != 10 {
			t.Fatalf("10 increments of a missing counter returned %v", distinct)
		}
	})
}

// Sessions tests an scs.Store. open returns an empty store.
func Sessions(t *testing.T, open func(t *testing.T) scs.Store) {
	t.Run("find, commit, overwrite, delete", func(t *testing.T) {
		store := open(t)
		if _, found, err := store.Find("token-a"); found || err != nil {
			t.Fatalf("Find on empty store = %v, %v", found, err)
		}
		expiry := time.Now().Add(time.Hour)
		for _, value := range []string{"one", "two"} {
			if err := store.Commit("token-a", []byte(value), expiry); err != nil {
				t.Fatal(err)
			}
			if got, found, err := store.Find("token-a"); !found || err != nil || string(got) != value {
				t.Fatalf("Find = %q, %v, %v; want %q", got, found, err, value)
			}
		}
		for range 2 {
			if err := store.Delete("token-a"); err != nil {
				t.Fatal(err)
			}
		}
		if _, found, _ := store.Find("token-a"); found {
			t.Fatal("session found after Delete")
		}
	})
	t.Run("long lifetimes are kept", func(t *testing.T) {
		// memcached reads expirations over 30 days as Unix times; a store
		// that passed 60 days through would lose the session at once.
		store := open(t)
		if err := store.Commit("token-long", []byte("v"), time.Now().Add(60*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, found, err := store.Find("token-long"); !found || err != nil {
			t.Fatalf("Find = %v, %v; want found", found, err)
		}
	})
	t.Run("expired sessions are gone", func(t *testing.T) {
		store := open(t)
		if err := store.Commit("token-old", []byte("v"), time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := store.Find("token-old"); found {
			t.Fatal("expired session found")
		}
	})
}
