package photocopy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"webdemo/app/disk"
	"webdemo/app/internal/testenv"
	"webdemo/app/photo"
	"webdemo/app/photocopy"
	"webdemo/app/s3blob"
	"webdemo/app/sqldb"
)

// Backends that hold real data: each opener returns an empty store.

func openSQLite(t testing.TB) *sqldb.Store {
	store, err := sqldb.OpenSQLite(filepath.Join(t.TempDir(), "photos.db"))
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, store)
}

func openMariaDB(t testing.TB) *sqldb.Store {
	store, err := sqldb.OpenMySQL(sqldb.MySQLOptions{DSN: testenv.MySQLDatabase(t).FormatDSN(), MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, store)
}

func migrated(t testing.TB, store *sqldb.Store) *sqldb.Store {
	t.Helper()
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

func openDisk(t testing.TB) photo.Blobs {
	store, err := disk.Open(filepath.Join(t.TempDir(), "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// openS3 is gofakes3 over HTTP through the real aws-sdk-go-v2 client.
func openS3(t testing.TB) photo.Blobs {
	fake := testenv.FakeS3(t)
	return s3blob.New(fake.Client, s3blob.Options{Bucket: fake.Bucket, Prefix: "uploads/", PresignExpiry: time.Hour})
}

// pairs are the level steps a copy makes, between every real backend.
var pairs = []struct {
	name string
	open func(t testing.TB) (from, to photocopy.Stores)
	// sharedDatabase: source and target are one database, and only the
	// images move, as from level 1's EFS to level 2's S3.
	sharedDatabase bool
}{
	{name: "SQLite and disk to MariaDB and S3", open: func(t testing.TB) (photocopy.Stores, photocopy.Stores) {
		return photocopy.Stores{Metadata: openSQLite(t), Blobs: openDisk(t)}, photocopy.Stores{Metadata: openMariaDB(t), Blobs: openS3(t)}
	}},
	{name: "MariaDB and S3 to SQLite and disk", open: func(t testing.TB) (photocopy.Stores, photocopy.Stores) {
		return photocopy.Stores{Metadata: openMariaDB(t), Blobs: openS3(t)}, photocopy.Stores{Metadata: openSQLite(t), Blobs: openDisk(t)}
	}},
	{name: "one MariaDB database, disk to S3", sharedDatabase: true, open: func(t testing.TB) (photocopy.Stores, photocopy.Stores) {
		dsn := testenv.MySQLDatabase(t).FormatDSN()
		var stores [2]*sqldb.Store
		for i := range stores {
			store, err := sqldb.OpenMySQL(sqldb.MySQLOptions{DSN: dsn, MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			stores[i] = migrated(t, store)
		}
		return photocopy.Stores{Metadata: stores[0], Blobs: openDisk(t)}, photocopy.Stores{Metadata: stores[1], Blobs: openS3(t)}
	}},
}

const photos = 7

// seed records photos with images in s, at times out of recording order,
// and returns them oldest first with their bytes.
func seed(t *testing.T, s photocopy.Stores) ([]photo.Photo, map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	base := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	types := []string{"image/jpeg", "image/png", "image/gif", "image/webp"}
	images := map[string][]byte{}
	for i, minutes := range []int{6, 0, 3, 3, 1, 5, 2} {
		key, err := photo.NewKey(types[i%len(types)])
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, 1000+i*40_000)
		_, _ = rand.Read(data)
		if err := s.Blobs.Put(ctx, key, photo.ContentTypeOf(key), bytes.NewReader(data), int64(len(data))); err != nil {
			t.Fatal(err)
		}
		images[key] = data
		p := photo.Photo{Username: fmt.Sprintf("Zoë %d <b>", i), Key: key, ContentType: photo.ContentTypeOf(key),
			CreatedAt: base.Add(time.Duration(minutes) * time.Minute)}
		if i%3 != 0 {
			p.UploadToken = photo.NewUploadToken()
		}
		if _, err := s.Metadata.Import(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return all(t, s.Metadata), images
}

// all walks every record, oldest first.
func all(t *testing.T, m photo.Metadata) []photo.Photo {
	t.Helper()
	var out []photo.Photo
	var after photo.Photo
	for {
		page, err := m.OldestAfter(context.Background(), after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1]
	}
}

func read(t *testing.T, blobs photo.Blobs, key string) ([]byte, bool) {
	t.Helper()
	body, _, err := blobs.Open(context.Background(), key)
	if errors.Is(err, photo.ErrNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// snapshot is everything a store holds, to show the source is untouched.
type snapshot struct {
	rows   []photo.Photo
	images map[string]string
}

func snap(t *testing.T, s photocopy.Stores) snapshot {
	t.Helper()
	stored, err := s.Blobs.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]string{}
	for _, b := range stored {
		data, _ := read(t, s.Blobs, b.Key)
		images[b.Key] = b.ModTime.String() + " " + string(data)
	}
	return snapshot{rows: all(t, s.Metadata), images: images}
}

// checkTarget checks the target holds each of want once, with its fields
// and its image byte for byte, and nothing of the photos in missing.
func checkTarget(t *testing.T, to photocopy.Stores, want []photo.Photo, images map[string][]byte, missing ...string) {
	t.Helper()
	got := all(t, to.Metadata)
	seen := map[string]bool{}
	var rows []photo.Photo
	for _, p := range got {
		if seen[p.Key] {
			t.Errorf("the target records %s twice", p.Key)
		}
		seen[p.Key] = true
		if !contains(missing, p.Key) {
			rows = append(rows, p)
		}
	}
	var wantRows []photo.Photo
	for _, p := range want {
		if !contains(missing, p.Key) {
			wantRows = append(wantRows, p)
		}
	}
	if len(rows) != len(wantRows) {
		t.Fatalf("the target records %d photos; want %d", len(rows), len(wantRows))
	}
	for i := range rows {
		g, w := rows[i], wantRows[i]
		g.ID, w.ID = 0, 0
		if g != w {
			t.Errorf("photo %d in the target = %+v\nwant %+v", i, g, w)
		}
		if data, ok := read(t, to.Blobs, w.Key); !ok || !bytes.Equal(data, images[w.Key]) {
			t.Errorf("the target's image %s: %d bytes (stored: %t); want the source's %d bytes", w.Key, len(data), ok, len(images[w.Key]))
		}
	}
	for _, key := range missing {
		if _, ok := read(t, to.Blobs, key); ok {
			t.Errorf("the target holds an image for %s, which the source lacks", key)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// failingBlobs fails every Put after the first k, as a target that fills
// up or goes away would.
type failingBlobs struct {
	photo.Blobs
	mu   sync.Mutex
	puts int
	k    int
}

func (f *failingBlobs) Put(ctx context.Context, key, contentType string, r io.Reader, size int64) error {
	f.mu.Lock()
	f.puts++
	n := f.puts
	f.mu.Unlock()
	if n > f.k {
		return errors.New("no space left on device")
	}
	return f.Blobs.Put(ctx, key, contentType, r, size)
}

// killingBlobs ends the copy's context right after its k-th Put, before
// the image is read back or recorded: a copy killed at the worst moment.
type killingBlobs struct {
	photo.Blobs
	puts   int
	k      int
	cancel context.CancelFunc
}

func (f *killingBlobs) Put(ctx context.Context, key, contentType string, r io.Reader, size int64) error {
	err := f.Blobs.Put(ctx, key, contentType, r, size)
	if f.puts++; f.puts == f.k {
		f.cancel()
	}
	return err
}

func TestCopy(t *testing.T) {
	ctx := context.Background()
	for _, pair := range pairs {
		t.Run(pair.name, func(t *testing.T) {
			t.Run("copies every photo as it is, and leaves the source alone", func(t *testing.T) {
				from, to := pair.open(t)
				want, images := seed(t, from)
				before := snap(t, from)
				var progress bytes.Buffer
				got, err := photocopy.Copy(ctx, from, to, &progress)
				if err != nil || got != (photocopy.Result{Copied: photos}) {
					t.Fatalf("Copy = %+v, %v; want %d copied\n%s", got, err, photos, &progress)
				}
				checkTarget(t, to, want, images)
				if after := snap(t, from); !reflect.DeepEqual(before, after) {
					t.Fatal("the copy changed the source")
				}
			})
			t.Run("a second copy skips every photo", func(t *testing.T) {
				from, to := pair.open(t)
				want, images := seed(t, from)
				if _, err := photocopy.Copy(ctx, from, to, io.Discard); err != nil {
					t.Fatal(err)
				}
				got, err := photocopy.Copy(ctx, from, to, io.Discard)
				if err != nil || got != (photocopy.Result{Skipped: photos}) {
					t.Fatalf("second Copy = %+v, %v; want %d skipped", got, err, photos)
				}
				checkTarget(t, to, want, images)
			})
			t.Run("a copy cut short by a failing target resumes", func(t *testing.T) {
				from, to := pair.open(t)
				want, images := seed(t, from)
				const k = 3
				broken := to
				broken.Blobs = &failingBlobs{Blobs: to.Blobs, k: k}
				got, err := photocopy.Copy(ctx, from, broken, io.Discard)
				if err == nil || !strings.Contains(err.Error(), "no space left") || got != (photocopy.Result{Copied: k}) {
					t.Fatalf("Copy to a failing target = %+v, %v; want %d copied and the target's error", got, err, k)
				}
				got, err = photocopy.Copy(ctx, from, to, io.Discard)
				if err != nil || got != (photocopy.Result{Copied: photos - k, Skipped: k}) {
					t.Fatalf("resumed Copy = %+v, %v; want %d copied, %d skipped", got, err, photos-k, k)
				}
				checkTarget(t, to, want, images)
			})
			t.Run("a copy killed between storing an image and recording it resumes", func(t *testing.T) {
				from, to := pair.open(t)
				want, images := seed(t, from)
				const k = 4
				killed, cancel := context.WithCancel(ctx)
				defer cancel()
				dying := to
				dying.Blobs = &killingBlobs{Blobs: to.Blobs, k: k, cancel: cancel}
				got, err := photocopy.Copy(killed, from, dying, io.Discard)
				if !errors.Is(err, context.Canceled) || got.Copied != k-1 || got.Failed != 0 {
					t.Fatalf("killed Copy = %+v, %v; want %d copied and context.Canceled", got, err, k-1)
				}
				got, err = photocopy.Copy(ctx, from, to, io.Discard)
				if err != nil || got.Failed != 0 || got.Copied+got.Skipped != photos || got.Copied < photos-k {
					t.Fatalf("resumed Copy = %+v, %v; want the other %d copied and nothing failed", got, err, photos-k+1)
				}
				checkTarget(t, to, want, images)
			})
			t.Run("two copies at once record each photo once", func(t *testing.T) {
				from, to := pair.open(t)
				want, images := seed(t, from)
				var wg sync.WaitGroup
				results := make([]photocopy.Result, 2)
				errs := make([]error, 2)
				for i := range results {
					wg.Go(func() { results[i], errs[i] = photocopy.Copy(ctx, from, to, io.Discard) })
				}
				wg.Wait()
				for i := range results {
					if errs[i] != nil || results[i].Failed != 0 || results[i].Copied+results[i].Skipped != photos {
						t.Errorf("copy %d = %+v, %v; want every photo copied or skipped", i, results[i], errs[i])
					}
				}
				if total := results[0].Copied + results[1].Copied; !pair.sharedDatabase && total != photos {
					t.Errorf("the copies copied %d photos between them; want each of %d once", total, photos)
				}
				checkTarget(t, to, want, images)
			})
			t.Run("a photo missing its image fails alone", func(t *testing.T) {
				from, to := pair.open(t)
				want, images := seed(t, from)
				lost := want[2].Key
				if err := from.Blobs.Delete(ctx, lost); err != nil {
					t.Fatal(err)
				}
				before := snap(t, from)
				var progress bytes.Buffer
				got, err := photocopy.Copy(ctx, from, to, &progress)
				if err != nil || got != (photocopy.Result{Copied: photos - 1, Failed: 1}) {
					t.Fatalf("Copy = %+v, %v; want %d copied, 1 failed", got, err, photos-1)
				}
				if !strings.Contains(progress.String(), "failed "+lost) {
					t.Errorf("progress does not name the failed photo %s:\n%s", lost, &progress)
				}
				checkTarget(t, to, want, images, lost)
				if recorded, err := to.Metadata.Recorded(ctx, []string{lost}); err != nil || recorded[lost] != pair.sharedDatabase {
					t.Errorf("the target records the failed photo: %t, %v; want %t (only a shared database has it)", recorded[lost], err, pair.sharedDatabase)
				}
				if after := snap(t, from); !reflect.DeepEqual(before, after) {
					t.Fatal("the copy changed the source")
				}
			})
		})
	}
}

func TestResultLine(t *testing.T) {
	got := photocopy.Result{Copied: 3, Skipped: 2, Failed: 1}.String()
	if want := "copied 3, skipped 2 already present, 1 failed"; got != want {
		t.Fatalf("Result.String() = %q, want %q", got, want)
	}
}

// BenchmarkCopy copies 100 photos of 50 KB between each pair of real
// backends and reports photos per second, each copied image read back and
// checked.
func BenchmarkCopy(b *testing.B) {
	const n, size = 100, 50 << 10
	ctx := context.Background()
	for _, pair := range pairs {
		b.Run(pair.name, func(b *testing.B) {
			var copied int
			for b.Loop() {
				b.StopTimer()
				from, to := pair.open(b)
				for range n {
					key, err := photo.NewKey("image/jpeg")
					if err != nil {
						b.Fatal(err)
					}
					data := make([]byte, size)
					_, _ = rand.Read(data)
					if err := from.Blobs.Put(ctx, key, "image/jpeg", bytes.NewReader(data), size); err != nil {
						b.Fatal(err)
					}
					if _, err := from.Metadata.Import(ctx, photo.Photo{Username: "bench", Key: key, ContentType: "image/jpeg", CreatedAt: time.Now()}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				result, err := photocopy.Copy(ctx, from, to, io.Discard)
				if err != nil || result.Copied != n && !pair.sharedDatabase {
					b.Fatalf("Copy = %+v, %v", result, err)
				}
				copied += n
			}
			b.ReportMetric(float64(copied)/b.Elapsed().Seconds(), "photos/s")
		})
	}
}
