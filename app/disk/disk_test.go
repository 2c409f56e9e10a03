package disk_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webdemo/app/disk"
	"webdemo/app/internal/conformance"
	"webdemo/app/photo"
)

func TestBlobs(t *testing.T) {
	conformance.Blobs(t, func(t *testing.T) photo.Blobs {
		store, err := disk.Open(filepath.Join(t.TempDir(), "uploads"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		return store
	})
}

// A symlink planted in the upload directory must not lead outside it.
func TestSymlinkOutsideIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.png")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	uploads := filepath.Join(dir, "uploads")
	store, err := disk.Open(uploads)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, _ := photo.NewKey("image/png")
	if err := os.Symlink(secret, filepath.Join(uploads, key)); err != nil {
		t.Fatal(err)
	}
	if body, _, err := store.Open(context.Background(), key); err == nil {
		body.Close()
		t.Fatal("Open followed a symlink out of the upload directory")
	}
}

func TestNoTemporaryFilesLeft(t *testing.T) {
	dir := t.TempDir()
	store, err := disk.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, _ := photo.NewKey("image/png")
	if err := store.Put(context.Background(), key, "image/png", strings.NewReader("png"), 3); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != key {
		t.Fatalf("directory holds %v, want only %s", entries, key)
	}
}
