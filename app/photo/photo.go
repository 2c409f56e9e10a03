// Package photo holds the web-demo domain: a photo's record and the
// interfaces of the stores behind it. Each backend lives in a package of its
// own and satisfies these interfaces; package conformance tests them all
// alike. It imports only the standard library, so every package may import
// it.
package photo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"time"
)

// ErrNotFound is returned when a key or record does not exist.
var ErrNotFound = errors.New("not found")

// ErrUploadTokenUsed is returned by Metadata.Add when a photo with the same
// upload token is already recorded: the upload is a replay.
var ErrUploadTokenUsed = errors.New("upload token already used")

// ErrAlreadyRecorded is returned by Metadata.Import when a photo is
// already recorded under the key: the copy is there already.
var ErrAlreadyRecorded = errors.New("photo already recorded")

// Photo is one uploaded image's record, a row of upload_images.
type Photo struct {
	ID          int64
	Username    string
	Key         string
	ContentType string
	CreatedAt   time.Time
	// UploadToken is the one-time token of the form that sent the photo,
	// or empty. A store records each token at most once, so a retried
	// upload cannot add the photo twice.
	UploadToken string
}

// Metadata stores photo records.
type Metadata interface {
	// Add stores p and returns it with its ID set. If p.UploadToken is
	// already recorded, Add stores nothing and returns the photo recorded
	// with it and an error wrapping ErrUploadTokenUsed.
	Add(ctx context.Context, p Photo) (Photo, error)
	// ByUploadToken returns the photo recorded with token, or ErrNotFound.
	ByUploadToken(ctx context.Context, token string) (Photo, error)
	// Latest returns up to n photos, newest first: by CreatedAt, then ID,
	// so photos copied in from another store fall in among the others by
	// when they were uploaded.
	Latest(ctx context.Context, n int) ([]Photo, error)
	// OldestAfter returns up to n photos that come after the photo after,
	// oldest first (by CreatedAt, then ID). Starting from the zero Photo
	// and then after the last photo of each page walks every photo once.
	OldestAfter(ctx context.Context, after Photo, n int) ([]Photo, error)
	// Import records a photo copied from another store as it is: its
	// Username, Key, ContentType, CreatedAt and UploadToken are kept, and
	// it gets an ID of its own. If a photo is already recorded under p.Key,
	// Import records nothing and returns an error wrapping
	// ErrAlreadyRecorded; if only p.UploadToken is, one wrapping
	// ErrUploadTokenUsed.
	Import(ctx context.Context, p Photo) (Photo, error)
	// Recorded returns which of keys have a photo recorded under them.
	// Invalid keys are never recorded.
	Recorded(ctx context.Context, keys []string) (map[string]bool, error)
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// Blobs stores uploaded image bytes under keys made by NewKey.
type Blobs interface {
	// Put stores the bytes under key. A failed Put leaves nothing behind.
	Put(ctx context.Context, key, contentType string, r io.Reader, size int64) error
	// Open returns the bytes and content type stored under key, or
	// ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, string, error)
	// Exists reports whether key is stored, without reading its bytes.
	// Invalid keys are never stored.
	Exists(ctx context.Context, key string) (bool, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL is where a browser fetches key: an app path or a presigned URL.
	URL(ctx context.Context, key string) (string, error)
	// List returns every stored key with its modification time. Anything
	// else in the store, such as a half-written temporary file or a key
	// NewKey could not have made, is left out.
	List(ctx context.Context) ([]StoredBlob, error)
}

// StoredBlob is one key in a Blobs store.
type StoredBlob struct {
	Key     string
	ModTime time.Time
}

// Cache holds rendered fragments, such as the front page's photo list, and
// the counters that version them.
type Cache interface {
	// GetMulti returns the values stored under keys, leaving out misses,
	// in one round trip.
	GetMulti(ctx context.Context, keys ...string) (map[string][]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Incr adds 1 to the decimal counter under key and returns the new
	// value. A missing counter starts at the current time in nanoseconds,
	// so a counter lost with a restarted or evicting cache never takes a
	// value it held before.
	Incr(ctx context.Context, key string) (uint64, error)
}

// Extensions maps each accepted image content type to its file extension.
var Extensions = map[string]string{
	"image/jpeg": ".jpg",
	"image/png":  ".png",
	"image/gif":  ".gif",
	"image/webp": ".webp",
}

// ContentTypeOf returns the content type implied by a valid key's extension.
func ContentTypeOf(key string) string {
	for ct, ext := range Extensions {
		if len(key) > len(ext) && key[len(key)-len(ext):] == ext {
			return ct
		}
	}
	return "application/octet-stream"
}

var keyPattern = regexp.MustCompile(`^[0-9a-f]{32}\.(jpg|png|gif|webp)$`)

// ValidKey reports whether key has the shape NewKey makes. Stores and
// handlers check it first, so no other string ever reaches a file system or
// a bucket.
func ValidKey(key string) bool { return keyPattern.MatchString(key) }

var uploadTokenPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidUploadToken reports whether token has the shape NewUploadToken makes.
func ValidUploadToken(token string) bool { return uploadTokenPattern.MatchString(token) }

// NewUploadToken returns a random one-time token for an upload form.
func NewUploadToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// NewKey returns a random key whose extension comes from the sniffed
// content type, never from the client's file name.
func NewKey(contentType string) (string, error) {
	ext, ok := Extensions[contentType]
	if !ok {
		return "", errors.New("photo: unsupported content type " + contentType)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]) + ext, nil
}
