// Package disk stores uploads in a local directory: the instance's disk at
// level 0 and the shared EFS mount at level 1. It imports only package
// photo.
package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"webdemo/app/photo"
)

// Blobs is a photo.Blobs in a directory. Every access goes through os.Root,
// so no key can name a file outside it, even through a symlink.
type Blobs struct {
	root *os.Root
}

var _ photo.Blobs = (*Blobs)(nil)

// Open creates dir if needed and returns a store in it.
func Open(dir string) (*Blobs, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("upload dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("upload dir: %w", err)
	}
	return &Blobs{root: root}, nil
}

// Close releases the directory.
func (b *Blobs) Close() error { return b.root.Close() }

// Put writes to a temporary file, syncs it, then renames it into place, so
// readers on any server see a whole file or none.
func (b *Blobs) Put(_ context.Context, key, _ string, r io.Reader, _ int64) error {
	if !photo.ValidKey(key) {
		return fmt.Errorf("disk: invalid key %q", key)
	}
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	tmp := ".tmp-" + hex.EncodeToString(suffix[:]) + "-" + key
	f, err := b.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = b.root.Rename(tmp, key)
	}
	if err != nil {
		_ = b.root.Remove(tmp)
		return fmt.Errorf("disk: %w", err)
	}
	return nil
}

// Open returns the file for key and the content type its extension implies.
func (b *Blobs) Open(_ context.Context, key string) (io.ReadCloser, string, error) {
	if !photo.ValidKey(key) {
		return nil, "", photo.ErrNotFound
	}
	f, err := b.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", photo.ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("disk: %w", err)
	}
	return f, photo.ContentTypeOf(key), nil
}

// Exists reports whether a regular file is stored under key, as Put
// leaves it; a symlink planted there does not count.
func (b *Blobs) Exists(_ context.Context, key string) (bool, error) {
	if !photo.ValidKey(key) {
		return false, nil
	}
	info, err := b.root.Lstat(key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("disk: %w", err)
	}
	return info.Mode().IsRegular(), nil
}

// Delete removes key.
func (b *Blobs) Delete(_ context.Context, key string) error {
	if !photo.ValidKey(key) {
		return nil
	}
	if err := b.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("disk: %w", err)
	}
	return nil
}

// URL is the app's own image path.
func (b *Blobs) URL(_ context.Context, key string) (string, error) {
	return "/images/" + key, nil
}

// List reads the directory. Temporary files of Puts in progress, or of
// Puts a crash cut short, are left out.
func (b *Blobs) List(_ context.Context) ([]photo.StoredBlob, error) {
	dir, err := b.root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	defer dir.Close()
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	var stored []photo.StoredBlob
	for _, entry := range entries {
		if !entry.Type().IsRegular() || !photo.ValidKey(entry.Name()) {
			continue
		}
		info, err := entry.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("disk: %w", err)
		}
		stored = append(stored, photo.StoredBlob{Key: entry.Name(), ModTime: info.ModTime()})
	}
	return stored, nil
}
