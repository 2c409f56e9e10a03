package server

import (
	"context"
	"testing"
	"time"

	"webdemo/app/memory"
	"webdemo/app/photo"
)

// A list read before an upload and stored after it (a slow server racing
// an upload on another) must never be served.
func TestLateStoreOfAStaleListIsNeverServed(t *testing.T) {
	ctx := context.Background()
	pages := newPageCache(memory.NewCache(), 10, time.Minute)

	_, before, hit, err := pages.lookup(ctx)
	if err != nil || hit {
		t.Fatalf("lookup on an empty cache: hit %v, %v", hit, err)
	}
	// Another server records an upload and invalidates…
	if err := pages.invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	// …then the slow server stores the list it read before the upload.
	if err := pages.store(ctx, before, []byte("stale list")); err != nil {
		t.Fatal(err)
	}
	if list, _, hit, _ := pages.lookup(ctx); hit {
		t.Fatalf("served %q, a list from before the upload", list)
	}

	_, now, _, _ := pages.lookup(ctx)
	if err := pages.store(ctx, now, []byte("fresh list")); err != nil {
		t.Fatal(err)
	}
	if list, _, hit, _ := pages.lookup(ctx); !hit || string(list) != "fresh list" {
		t.Fatalf("lookup = %q, %v; want the fresh list", list, hit)
	}
}

// The last known list is for database outages only: keeping it never turns
// a miss into a hit, so normal reads still honour the generation.
func TestLastGoodListIsNeverAHit(t *testing.T) {
	ctx := context.Background()
	pages := newPageCache(memory.NewCache(), 10, time.Minute)
	if _, ok, err := pages.lastGood(ctx); ok || err != nil {
		t.Fatalf("lastGood on an empty cache: %v, %v", ok, err)
	}
	kept := []photo.Photo{{Username: "ada", Key: "0123456789abcdef0123456789abcdef.png",
		CreatedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}}
	if err := pages.keepLastGood(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if list, _, hit, _ := pages.lookup(ctx); hit {
		t.Fatalf("lookup served %q from the last known list", list)
	}
	got, ok, err := pages.lastGood(ctx)
	if err != nil || !ok || len(got) != 1 || got[0] != kept[0] {
		t.Fatalf("lastGood = %+v, %v, %v; want %+v", got, ok, err, kept)
	}
}
