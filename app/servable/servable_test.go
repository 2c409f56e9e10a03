package servable

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"webdemo/app/disk"
	"webdemo/app/internal/testenv"
	"webdemo/app/photo"
	"webdemo/app/s3blob"
	"webdemo/app/sqldb"
)

// The upload stores the app runs on, as the conformance suite opens them.
var blobStores = []struct {
	name string
	open func(t *testing.T) photo.Blobs
}{
	{"disk", func(t *testing.T) photo.Blobs {
		store, err := disk.Open(filepath.Join(t.TempDir(), "uploads"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		return store
	}},
	{"s3", func(t *testing.T) photo.Blobs {
		fake := testenv.FakeS3(t)
		return s3blob.New(fake.Client, s3blob.Options{Bucket: fake.Bucket, Prefix: "uploads/", PresignExpiry: time.Hour})
	}},
}

// countingBlobs counts the questions asked of the upload store, and can
// be made to fail them.
type countingBlobs struct {
	photo.Blobs
	asked atomic.Int64
	fail  atomic.Bool
}

func (c *countingBlobs) Exists(ctx context.Context, key string) (bool, error) {
	c.asked.Add(1)
	if c.fail.Load() {
		return false, errors.New("connection refused")
	}
	return c.Blobs.Exists(ctx, key)
}

type fixture struct {
	m      *Metadata
	blobs  *countingBlobs
	log    *bytes.Buffer
	clock  time.Time
	photos []photo.Photo // newest first
}

// newFixture records count photos, one a minute, with images for those
// not in missing (indexes, newest first).
func newFixture(t *testing.T, open func(t *testing.T) photo.Blobs, count int, missing ...int) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqldb.OpenSQLite(filepath.Join(t.TempDir(), "photos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{blobs: &countingBlobs{Blobs: open(t)}, log: &bytes.Buffer{}, clock: time.Now()}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range count {
		key, _ := photo.NewKey("image/png")
		p, err := store.Add(ctx, photo.Photo{Username: "ada", Key: key, ContentType: "image/png", CreatedAt: base.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		f.photos = append([]photo.Photo{p}, f.photos...)
	}
	for i, p := range f.photos {
		if !slices.Contains(missing, i) {
			f.put(t, p.Key)
		}
	}
	f.m = New(store, f.blobs, slog.New(slog.NewTextHandler(f.log, nil)))
	f.m.now = func() time.Time { return f.clock }
	return f
}

func (f *fixture) put(t *testing.T, key string) {
	t.Helper()
	if err := f.blobs.Put(context.Background(), key, "image/png", strings.NewReader("png"), 3); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) latest(t *testing.T, n int) []string {
	t.Helper()
	got, err := f.m.Latest(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range got {
		keys = append(keys, p.Key)
	}
	return keys
}

// keys returns the keys of f.photos at the indexes.
func (f *fixture) keys(indexes ...int) []string {
	var keys []string
	for _, i := range indexes {
		keys = append(keys, f.photos[i].Key)
	}
	return keys
}

func hiddenTotal(t *testing.T, m *Metadata) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	families, err := reg.Gather()
	if err != nil || len(families) != 1 || families[0].GetName() != "webdemo_photos_hidden_total" {
		t.Fatalf("gathered %v, %v; want webdemo_photos_hidden_total", families, err)
	}
	return families[0].GetMetric()[0].GetCounter().GetValue()
}

func TestLatestListsOnlyServablePhotos(t *testing.T) {
	for _, store := range blobStores {
		t.Run(store.name, func(t *testing.T) {
			t.Run("photos missing their image are left off, logged and counted", func(t *testing.T) {
				f := newFixture(t, store.open, 8, 1, 2)
				if got, want := f.latest(t, 4), f.keys(0, 3, 4, 5); !slices.Equal(got, want) {
					t.Fatalf("Latest(4) = %v; want %v", got, want)
				}
				for _, key := range f.keys(1, 2) {
					if !strings.Contains(f.log.String(), "key="+key) {
						t.Errorf("the log does not name %s:\n%s", key, f.log)
					}
				}
				if got := hiddenTotal(t, f.m); got != 2 {
					t.Fatalf("webdemo_photos_hidden_total = %v; want 2", got)
				}
			})
			t.Run("photos seen once cost no more requests", func(t *testing.T) {
				f := newFixture(t, store.open, 6, 0)
				first := f.latest(t, 5)
				asked := f.blobs.asked.Load()
				if asked == 0 {
					t.Fatal("the first listing asked nothing of the upload store")
				}
				if second := f.latest(t, 5); !slices.Equal(second, first) || f.blobs.asked.Load() != asked {
					t.Fatalf("second listing %v asked %d more questions; want %v and none", second, f.blobs.asked.Load()-asked, first)
				}
				if got := hiddenTotal(t, f.m); got != 2 {
					t.Fatalf("webdemo_photos_hidden_total = %v; want 2, one per listing", got)
				}
			})
			t.Run("a missing image that arrives is listed once asked about again", func(t *testing.T) {
				f := newFixture(t, store.open, 3, 0)
				if got, want := f.latest(t, 3), f.keys(1, 2); !slices.Equal(got, want) {
					t.Fatalf("Latest = %v; want %v", got, want)
				}
				f.put(t, f.photos[0].Key) // the copy brought it
				if got, want := f.latest(t, 3), f.keys(1, 2); !slices.Equal(got, want) {
					t.Fatalf("Latest right after = %v; want still %v", got, want)
				}
				f.clock = f.clock.Add(askAgainAfter)
				if got, want := f.latest(t, 3), f.keys(0, 1, 2); !slices.Equal(got, want) {
					t.Fatalf("Latest later = %v; want %v", got, want)
				}
			})
			t.Run("an upload store that cannot answer hides nothing", func(t *testing.T) {
				f := newFixture(t, store.open, 3, 1)
				f.blobs.fail.Store(true)
				if got, want := f.latest(t, 3), f.keys(0, 1, 2); !slices.Equal(got, want) {
					t.Fatalf("Latest = %v; want every photo %v", got, want)
				}
				f.blobs.fail.Store(false)
				if got, want := f.latest(t, 3), f.keys(0, 2); !slices.Equal(got, want) {
					t.Fatalf("Latest once it answers = %v; want %v", got, want)
				}
			})
			t.Run("more missing than extra records gives a shorter list", func(t *testing.T) {
				f := newFixture(t, store.open, 4, 0, 1, 2)
				if got, want := f.latest(t, 2), f.keys(3); !slices.Equal(got, want) {
					t.Fatalf("Latest(2) = %v; want %v", got, want)
				}
			})
		})
	}
}
