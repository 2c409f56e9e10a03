package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"webdemo/app/disk"
	"webdemo/app/photo"
	"webdemo/app/photocopy"
	"webdemo/app/sqldb"
)

// seedLevel records count photos with images in a SQLite file and an
// upload directory, as a level-0-like app leaves them, and returns their
// keys.
func seedLevel(t *testing.T, dbPath, uploadDir string, count int) []string {
	t.Helper()
	ctx := context.Background()
	store, err := sqldb.OpenSQLite(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.Open(uploadDir)
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	var keys []string
	for i := range count {
		key, _ := photo.NewKey("image/png")
		if err := blobs.Put(ctx, key, "image/png", strings.NewReader("png "+key), int64(len("png "+key))); err != nil {
			t.Fatal(err)
		}
		_, err := store.Add(ctx, photo.Photo{Username: "ada", Key: key, ContentType: "image/png",
			CreatedAt: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC), UploadToken: photo.NewUploadToken()})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	return keys
}

func runCopyWith(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), append([]string{"copy"}, args...), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out)
	t.Logf("webdemo copy: %v\n%s", err, out.String())
	return out.String(), err
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func TestCopyCommand(t *testing.T) {
	from, to := t.TempDir(), t.TempDir()
	keys := seedLevel(t, filepath.Join(from, "webdemo.db"), filepath.Join(from, "uploads"), 3)
	env := map[string]string{
		"SQLITE_PATH":      filepath.Join(to, "webdemo.db"),
		"UPLOAD_DIR":       filepath.Join(to, "uploads"),
		"FROM_SQLITE_PATH": filepath.Join(from, "webdemo.db"),
		"FROM_UPLOAD_DIR":  filepath.Join(from, "uploads"),
	}

	out, err := runCopyWith(t, env)
	if err != nil || lastLine(out) != "copy complete: copied 3, skipped 0 already present, 0 failed" {
		t.Fatalf("first copy: %v, last line %q", err, lastLine(out))
	}
	for _, key := range keys {
		data, err := os.ReadFile(filepath.Join(to, "uploads", key))
		if err != nil || string(data) != "png "+key {
			t.Errorf("the target's image %s = %q, %v", key, data, err)
		}
	}

	out, err = runCopyWith(t, env)
	if err != nil || lastLine(out) != "copy complete: copied 0, skipped 3 already present, 0 failed" {
		t.Fatalf("second copy: %v, last line %q", err, lastLine(out))
	}

	// A new photo whose image is gone from the source fails, alone.
	lost := seedLevel(t, filepath.Join(from, "webdemo.db"), filepath.Join(from, "uploads"), 1)[0]
	if err := os.Remove(filepath.Join(from, "uploads", lost)); err != nil {
		t.Fatal(err)
	}
	out, err = runCopyWith(t, env)
	if err == nil || lastLine(out) != "copy incomplete: copied 0, skipped 3 already present, 1 failed" {
		t.Fatalf("copy with a lost image: %v, last line %q; want an error and 1 failed", err, lastLine(out))
	}
	if status := exitStatus(err); status != photocopy.ExitIncomplete {
		t.Errorf("an incomplete copy exits %d, want %d (the unit does not restart on it)", status, photocopy.ExitIncomplete)
	}
	if !strings.Contains(out, "failed "+lost) {
		t.Errorf("the output does not name %s", lost)
	}
}

// A copy that stops on a store's failure says so in its last line, which
// never starts "copy complete", the line the stack's migration output
// looks for.
func TestCopyCommandSaysWhenItStopped(t *testing.T) {
	dir := t.TempDir()
	// A source database with no tables: reading its photos fails.
	source := filepath.Join(dir, "source.db")
	if err := os.WriteFile(source, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "source-uploads"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runCopyWith(t, map[string]string{
		"SQLITE_PATH": filepath.Join(dir, "target.db"), "UPLOAD_DIR": filepath.Join(dir, "uploads"),
		"FROM_SQLITE_PATH": source, "FROM_UPLOAD_DIR": filepath.Join(dir, "source-uploads"),
	})
	if err == nil || lastLine(out) != "copy stopped: copied 0, skipped 0 already present, 0 failed" {
		t.Fatalf("copy from a broken source: %v, last line %q; want an error and a line starting \"copy stopped: \"", err, lastLine(out))
	}
	if strings.Contains(out, "copy complete") {
		t.Errorf("a stopped copy printed a \"copy complete\" line:\n%s", out)
	}
}

func TestCopyCommandRefusesABadSource(t *testing.T) {
	dir := t.TempDir()
	base := map[string]string{"SQLITE_PATH": filepath.Join(dir, "target.db"), "UPLOAD_DIR": filepath.Join(dir, "uploads")}
	source := filepath.Join(dir, "source.db")
	if err := os.WriteFile(source, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"FROM_STORAGE": "floppy"}, "FROM_STORAGE: "},
		{map[string]string{"FROM_SQLITE_PATH": filepath.Join(dir, "typo.db")}, "FROM_SQLITE_PATH: "},
		{map[string]string{"FROM_SQLITE_PATH": source, "FROM_UPLOAD_DIR": filepath.Join(dir, "no-such-dir")}, "FROM_UPLOAD_DIR: "},
		// Set to empty is empty, not the target's value.
		{map[string]string{"FROM_SQLITE_PATH": ""}, "FROM_SQLITE_PATH: required"},
		{map[string]string{"FROM_SQLITE_PATH": source, "FROM_MAX_UPLOAD_BYTES": ""}, "FROM_MAX_UPLOAD_BYTES: empty"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tc.env {
			env[k] = v
		}
		_, err := runCopyWith(t, env)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("copy with %v = %v; want an error starting %q", tc.env, err, tc.want)
		}
	}
	for _, name := range []string{"typo.db", "no-such-dir", "target.db", "uploads"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("a refused copy created %s", name)
		}
	}
}

func TestCopyHelpExplainsSourceAndTarget(t *testing.T) {
	out, err := runCopyWith(t, nil, "-help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SOURCE", "TARGET", "FROM_", "-upload-dir"} {
		if !strings.Contains(out, want) {
			t.Errorf("copy -help lacks %q", want)
		}
	}
}
