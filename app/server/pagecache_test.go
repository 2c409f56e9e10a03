package server

import (
	"context"
	"testing"
	"time"

	"webdemo/app/memory"
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
