package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"webdemo/app/apptest"
	"webdemo/app/config"
	"webdemo/infra/level"
)

// walkImages are real photos in the formats the app takes, one per step
// of the walk.
var walkImages = []string{
	"video-001.q50.420.progressive.jpeg", "triangle-001.gif", "blue-purple-pink.lossy.webp",
	"video-005.gray.q50.jpeg", "gopher-doc.1bpp.lossless.webp", "video-001.interlaced.gif",
	"yellow_rose.lossy-with-alpha.webp",
}

// The learner's ladder, up and down, with --data: a photo uploaded at each
// level is still listed, and served byte for byte, at every later level,
// each time from that level's own stores.
func TestPhotosSurviveTheLevelWalk(t *testing.T) {
	walk := []int{0, 1, 2, 4, 2, 1, 0}
	for _, n := range walk {
		if err := RequireTools(level.Table[n]); err != nil {
			apptest.Missing(t, "%v", err)
		}
	}
	data := filepath.Join(t.TempDir(), "data")
	stored := map[string][]byte{} // key → the bytes served right after its upload
	for step, n := range walk {
		instances := 2
		if n == 0 {
			instances = 1
		}
		log := &apptest.Output{}
		c := startCluster(t, Options{Level: n, Instances: instances, Data: data, Log: log})
		moved := strings.Contains(log.String(), "Moving the photos")
		if wantMove := step > 0 && !level.Table[walk[step-1]].SameStores(level.Table[n]); moved != wantMove {
			t.Fatalf("step %d, level %d: moved the photos = %v, want %v:\n%s", step, n, moved, wantMove, log.String())
		}
		if moved && !strings.Contains(log.String(), "copy complete: ") {
			t.Fatalf("level %d: the copy's final line is missing:\n%s", n, log.String())
		}
		t.Logf("level %d:\n%s", n, log.String())
		checkPhotos(t, c, data, stored)

		img, err := os.ReadFile(filepath.Join("..", "..", "..", "app", "imagefile", "testdata", walkImages[step]))
		if err != nil {
			t.Fatal(err)
		}
		client := apptest.NewClient(t)
		if status := client.Login(c.URL, fmt.Sprintf("walker%d", step)); status != http.StatusSeeOther {
			t.Fatalf("level %d: login = %d", n, status)
		}
		if status, body := client.Upload(c.URL, img); status != http.StatusSeeOther {
			t.Fatalf("level %d: uploading %s = %d: %s", n, walkImages[step], status, body)
		}
		_, page := client.Get(c.URL + "/")
		var added []string
		for _, key := range apptest.ParsePage(page).Keys {
			if _, ok := stored[key]; !ok && !slices.Contains(added, key) {
				added = append(added, key)
			}
		}
		if len(added) != 1 {
			t.Fatalf("level %d: after one upload the page shows new photos %v", n, added)
		}
		status, body := client.Get(c.URL + "/images/" + added[0])
		if status != http.StatusOK || len(body) == 0 {
			t.Fatalf("level %d: the new photo is served with %d, %d bytes", n, status, len(body))
		}
		stored[added[0]] = []byte(body)
		c.Stop()
	}
	if len(stored) != len(walk) {
		t.Fatalf("%d photos stored, want %d", len(stored), len(walk))
	}
	// Back at the start: every photo, from every level.
	c := startCluster(t, Options{Level: walk[len(walk)-1], Instances: 1, Data: data})
	checkPhotos(t, c, data, stored)
}

// checkPhotos checks that the front page lists every photo in want, that
// each is served with the same bytes, and that each is in the level's own
// blob store, not only in one it left behind.
func checkPhotos(t *testing.T, c *Cluster, data string, want map[string][]byte) {
	t.Helper()
	client := apptest.NewClient(t)
	_, page := client.Get(c.URL + "/")
	listed := apptest.ParsePage(page).Keys
	for key, bytesWanted := range want {
		if !slices.Contains(listed, key) {
			t.Errorf("level %d does not list %s (lists %v)", c.opts.Level, key, listed)
			continue
		}
		status, body := client.Get(c.URL + "/images/" + key)
		if status != http.StatusOK || !bytes.Equal([]byte(body), bytesWanted) {
			t.Errorf("level %d serves %s with %d, %d bytes; want the %d bytes first served", c.opts.Level, key, status, len(body), len(bytesWanted))
		}
		if err := inOwnStore(c, data, key); err != nil {
			t.Errorf("level %d: %v", c.opts.Level, err)
		}
	}
}

// inOwnStore checks that the level's own blob store holds key.
func inOwnStore(c *Cluster, data, key string) error {
	if c.Features.ObjectStorage {
		_, err := LocalS3Client(c.S3Endpoint).HeadObject(context.Background(), &s3.HeadObjectInput{
			Bucket: aws.String(c.Bucket), Key: aws.String(config.Default().S3Prefix + key),
		})
		if err != nil {
			return fmt.Errorf("%s is not in S3: %w", key, err)
		}
		return nil
	}
	dir := filepath.Join(data, "host", "uploads")
	if c.Features.SharedFiles {
		dir = filepath.Join(data, "efs")
	}
	if _, err := os.Stat(filepath.Join(dir, key)); err != nil {
		return fmt.Errorf("%s is not in %s: %w", key, filepath.Base(dir), err)
	}
	return nil
}

// A data directory is refused when it holds someone else's files, when
// its level file is not a level, and while another cluster uses it; and
// --unshared, whose uploads no level could take over, is refused with it.
func TestDataDirectoryRefusals(t *testing.T) {
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	badLevel := t.TempDir()
	if err := os.WriteFile(filepath.Join(badLevel, "level"), []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, want string
	}{
		{foreign, "holds notes.txt, which no local cluster made"},
		{badLevel, `its level file holds "7", not a level from 0 to 4`},
	} {
		if d, err := openData(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			d.close()
			t.Errorf("openData(%s) = %v, want %q", filepath.Base(tc.dir), err, tc.want)
		}
	}

	busy := t.TempDir()
	first, err := openData(busy)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := openData(busy); err == nil || !strings.Contains(err.Error(), "in use by another local cluster") {
		second.close()
		t.Errorf("a second open of a busy directory: %v", err)
	}
	first.close()
	again, err := openData(busy)
	if err != nil {
		t.Fatalf("reopening after close: %v", err)
	}
	again.close()

	_, err = Start(context.Background(), Options{Level: 1, Instances: 2, Unshared: true, Data: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--unshared") {
		t.Errorf("--unshared with --data: %v", err)
	}
}

// The level file names the level that last ran, and survives reopening.
func TestDataDirectoryRecordsTheLevel(t *testing.T) {
	dir := t.TempDir()
	d, err := openData(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.last != -1 {
		t.Fatalf("a new directory has level %d", d.last)
	}
	if err := d.record(2); err != nil {
		t.Fatal(err)
	}
	d.close()
	if d, err = openData(dir); err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if d.last != 2 {
		t.Fatalf("reopened at level %d, want 2", d.last)
	}
}

// A copy that fails stops the move: Start returns its last lines, and the
// directory still names the old level, so the next run copies again.
func TestFailedCopyKeepsTheOldLevel(t *testing.T) {
	if err := RequireTools(level.Table[1]); err != nil {
		apptest.Missing(t, "%v", err)
	}
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "level"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	failing := filepath.Join(t.TempDir(), "webdemo")
	script := "#!/bin/sh\nif [ \"$1\" = copy ]; then echo 'copy incomplete: copied 1, skipped 0 already present, 2 failed'; exit 1; fi\nexec '" + appBinary + "' \"$@\"\n"
	if err := os.WriteFile(failing, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(context.Background(), Options{Level: 0, Instances: 1, Port: port, AppBinary: failing, Data: data})
	if err == nil {
		c.Stop()
		t.Fatal("Start succeeded although the copy failed")
	}
	for _, want := range []string{"moving the photos from level 1", "2 failed", "copy.log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if recorded, _ := os.ReadFile(filepath.Join(data, "level")); string(recorded) != "1\n" {
		t.Errorf("after the failed copy the level file holds %q, want level 1 still", recorded)
	}
}
