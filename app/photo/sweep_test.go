package photo_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"webdemo/app/disk"
	"webdemo/app/photo"
	"webdemo/app/sqldb"
)

// sweepStores is a disk store and an SQLite database in a fresh directory.
func sweepStores(t *testing.T) (string, *disk.Blobs, *sqldb.Store) {
	t.Helper()
	dir := t.TempDir()
	blobs, err := disk.Open(filepath.Join(dir, "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close() })
	metadata, err := sqldb.OpenSQLite(filepath.Join(dir, "webdemo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = metadata.Close() })
	if err := metadata.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "uploads"), blobs, metadata
}

// storeBlob puts a blob stored age ago, and records its photo if asked.
func storeBlob(t *testing.T, dir string, blobs *disk.Blobs, metadata *sqldb.Store, age time.Duration, record bool) string {
	t.Helper()
	ctx := context.Background()
	key, _ := photo.NewKey("image/png")
	if err := blobs.Put(ctx, key, "image/png", strings.NewReader("png"), 3); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(filepath.Join(dir, key), when, when); err != nil {
		t.Fatal(err)
	}
	if record {
		if _, err := metadata.Add(ctx, photo.Photo{Username: "a", Key: key, ContentType: "image/png"}); err != nil {
			t.Fatal(err)
		}
	}
	return key
}

func exists(t *testing.T, blobs photo.Blobs, key string) bool {
	t.Helper()
	body, _, err := blobs.Open(context.Background(), key)
	if err != nil {
		return false
	}
	_ = body.Close()
	return true
}

// Only old blobs without a photo go: recorded photos keep their images,
// and a young blob may belong to an upload still recording its photo.
// Sweeps running at once on several servers all succeed.
func TestSweepOrphansDeletesOnlyOldUnrecordedBlobs(t *testing.T) {
	dir, blobs, metadata := sweepStores(t)
	recordedOld := storeBlob(t, dir, blobs, metadata, time.Hour, true)
	orphan := storeBlob(t, dir, blobs, metadata, time.Hour, false)
	inFlight := storeBlob(t, dir, blobs, metadata, time.Second, false)

	var log bytes.Buffer // slog's handler serializes its writes
	logger := slog.New(slog.NewTextHandler(&log, nil))
	cutoff := time.Now().Add(-10 * time.Minute)
	var wg sync.WaitGroup
	total := make(chan int, 3)
	for range 3 {
		wg.Go(func() {
			deleted, err := photo.SweepOrphans(context.Background(), blobs, metadata, cutoff, logger)
			if err != nil {
				t.Error(err)
			}
			total <- deleted
		})
	}
	wg.Wait()
	close(total)
	sum := 0
	for n := range total {
		sum += n
	}
	if sum < 1 {
		t.Errorf("the sweeps reported %d deletions; want at least 1", sum)
	}
	if exists(t, blobs, orphan) {
		t.Error("the old orphan survived the sweep")
	}
	if !exists(t, blobs, recordedOld) {
		t.Error("the sweep deleted a recorded photo's image")
	}
	if !exists(t, blobs, inFlight) {
		t.Error("the sweep deleted a young blob whose photo may still be on its way")
	}
	if !strings.Contains(log.String(), orphan) {
		t.Errorf("the deletion of %s was not logged:\n%s", orphan, log.String())
	}
}

// With no photo recorded at all, the database is likelier the wrong one
// than every image an orphan: nothing is deleted.
func TestSweepOrphansSparesEverythingBesideAnEmptyDatabase(t *testing.T) {
	dir, blobs, metadata := sweepStores(t)
	orphan := storeBlob(t, dir, blobs, metadata, time.Hour, false)
	deleted, err := photo.SweepOrphans(context.Background(), blobs, metadata, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil || deleted != 0 || !exists(t, blobs, orphan) {
		t.Fatalf("SweepOrphans = %d, %v (blob kept: %t); want 0 deleted and the blob kept", deleted, err, exists(t, blobs, orphan))
	}
}
