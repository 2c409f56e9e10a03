package server_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"webdemo/app/memory"
	"webdemo/app/photo"
	"webdemo/app/server"
)

// switchableMetadata is a metadata store whose database can be taken down
// and brought back; while down, reads and writes fail as over a cut network.
type switchableMetadata struct {
	photo.Metadata
	down atomic.Bool
}

var errDatabaseDown = errors.New("dial tcp 127.0.0.1:3306: connect: connection refused")

func (m *switchableMetadata) Latest(ctx context.Context, n int) ([]photo.Photo, error) {
	if m.down.Load() {
		return nil, errDatabaseDown
	}
	return m.Metadata.Latest(ctx, n)
}

func (m *switchableMetadata) Add(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	if m.down.Load() {
		return p, errDatabaseDown
	}
	return m.Metadata.Add(ctx, p)
}

func (m *switchableMetadata) Ping(ctx context.Context) error {
	if m.down.Load() {
		return errDatabaseDown
	}
	return m.Metadata.Ping(ctx)
}

const staleNotice = `id="stale-list"`

// Level 4: while the database is down, the front page shows the last list
// read from it, says it may be out of date, and never claims a database
// read; everything that needs no database keeps working.
func TestDatabaseDownServesTheLastKnownList(t *testing.T) {
	db := &switchableMetadata{}
	s := newSite(t, func(d *server.Deps, _ *server.Options) {
		db.Metadata = d.Metadata
		d.Metadata = db
		d.Cache = memory.NewCache()
	})
	s.login("ada")
	s.upload("first.png", pngImage(t, 4, 4))
	first := s.latest()[0].Key
	if page := s.get("/").body; !strings.Contains(page, "Fetched 1 record") {
		t.Fatal("the first visit did not read the database")
	}
	// The second upload invalidates the cached list; then the database goes
	// down before any server reads it again.
	s.upload("second.png", pngImage(t, 5, 5))
	second := s.latest()[0].Key
	db.down.Store(true)

	r := s.get("/")
	if r.status != http.StatusOK {
		t.Fatalf("front page with the database down = %d, want 200 with the last list", r.status)
	}
	if !strings.Contains(r.body, staleNotice) || !strings.Contains(r.body, "may be out of date") {
		t.Error("the last list is served without saying it may be out of date")
	}
	if strings.Contains(r.body, `id="db-line"`) || strings.Contains(r.body, "from the database") {
		t.Error("a list the database did not give claims to come from it")
	}
	if !strings.Contains(r.body, `<img src="/images/`+first+`"`) || strings.Contains(r.body, second) {
		t.Error("the page does not show exactly the list last read from the database")
	}
	if r := s.get("/images/" + first); r.status != http.StatusOK {
		t.Errorf("image with the database down = %d", r.status)
	}

	// Logging in and out needs no database; uploading fails cleanly.
	if r := s.login("grace"); r.status != http.StatusSeeOther {
		t.Errorf("login with the database down = %d", r.status)
	}
	if r := s.upload("third.png", pngImage(t, 6, 6)); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "not saved") {
		t.Errorf("upload with the database down = %d %q", r.status, r.body)
	}
	if entries, err := os.ReadDir(s.uploadDir); err != nil || len(entries) != 2 {
		t.Errorf("the failed upload left a file behind: %d files, %v", len(entries), err)
	}
	if r := s.post("/logout", "application/x-www-form-urlencoded", nil); r.status != http.StatusSeeOther {
		t.Errorf("logout with the database down = %d", r.status)
	}
	if r := s.get("/readyz"); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database down = %d", r.status)
	}

	db.down.Store(false)
	r = s.get("/")
	if r.status != http.StatusOK || strings.Contains(r.body, staleNotice) || !strings.Contains(r.body, "Fetched 2 records") || !strings.Contains(r.body, second) {
		t.Fatalf("after recovery: %d, notice %v; want the current list from the database",
			r.status, strings.Contains(r.body, staleNotice))
	}
}

// With no list to fall back on, the front page fails as before: without a
// cache (levels 0–3), with a cache that has kept nothing, or with the cache
// down too.
func TestDatabaseDownWithoutALastKnownList(t *testing.T) {
	for name, cache := range map[string]photo.Cache{
		"no cache":        nil,
		"empty cache":     memory.NewCache(),
		"cache down, too": failingCache{},
	} {
		t.Run(name, func(t *testing.T) {
			db := &switchableMetadata{}
			s := newSite(t, func(d *server.Deps, _ *server.Options) {
				db.Metadata = d.Metadata
				d.Metadata = db
				d.Cache = cache
			})
			db.down.Store(true)
			r := s.get("/")
			if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "database is unavailable") {
				t.Fatalf("front page = %d %q, want 503", r.status, r.body)
			}
		})
	}
}
