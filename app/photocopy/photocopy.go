// Package photocopy copies every photo, its record and its image, from one
// pair of stores to another: `webdemo copy`, which carries the photos over
// when a tutorial level moves them to a new database or upload store.
//
// A copy only reads the source. It is idempotent, resumes where a killed
// copy stopped, and two copies may run at once against one target: the
// target's unique key on the photo decides. It imports only package photo.
package photocopy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"webdemo/app/photo"
)

// ExitIncomplete is the exit status of `webdemo copy` when it went through
// every photo but left some behind: running it again at once would fail
// the same way, so the systemd unit that runs it does not restart on it.
const ExitIncomplete = 3

// Stores are one side of a copy.
type Stores struct {
	Metadata photo.Metadata
	Blobs    photo.Blobs
}

// Result counts what a copy did with each source photo.
type Result struct {
	// Copied photos are now in the target, record and image.
	Copied int
	// Skipped photos were in the target already.
	Skipped int
	// Failed photos could not be copied; each is named in a progress line.
	Failed int
}

// String is the copy's final line.
func (r Result) String() string {
	return fmt.Sprintf("copied %d, skipped %d already present, %d failed", r.Copied, r.Skipped, r.Failed)
}

// pageSize is how many source records one query reads.
const pageSize = 100

// maxImageBytes bounds an image held in memory, well above the largest
// upload the app accepts (MAX_UPLOAD_BYTES).
const maxImageBytes = 256 << 20

// progressEvery is the least time between two progress lines.
const progressEvery = time.Second

// Copy copies every photo in from that to lacks, oldest first. For each
// source record: a photo the target has, record and image, is skipped;
// otherwise the image is stored in the target (unless it holds the same
// bytes already), read back and compared by SHA-256 with the source's, and
// only then is the record added, keeping its user, time and upload token.
//
// A photo that cannot be copied, such as one whose image is missing from
// the source, is counted as failed and named on progress; the copy goes
// on. Copy stops with an error when a store fails or ctx ends; running it
// again resumes. It writes a progress line at most about once a second.
func Copy(ctx context.Context, from, to Stores, progress io.Writer) (Result, error) {
	c := copier{from: from, to: to, progress: progress, lastLine: time.Now()}
	var after photo.Photo
	for {
		page, err := from.Metadata.OldestAfter(ctx, after, pageSize)
		if err != nil {
			return c.result, fmt.Errorf("source: %w", err)
		}
		if len(page) == 0 {
			return c.result, nil
		}
		if err := c.copyPage(ctx, page); err != nil {
			return c.result, err
		}
		after = page[len(page)-1]
	}
}

type copier struct {
	from, to Stores
	progress io.Writer
	result   Result
	lastLine time.Time
}

func (c *copier) copyPage(ctx context.Context, page []photo.Photo) error {
	keys := make([]string, len(page))
	for i, p := range page {
		keys[i] = p.Key
	}
	recorded, err := c.to.Metadata.Recorded(ctx, keys)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for _, p := range page {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.copyPhoto(ctx, p, recorded[p.Key]); err != nil {
			return err
		}
		c.report()
	}
	return nil
}

// failure is a photo that cannot be copied; the copy goes on without it.
type failure struct{ reason string }

func (f failure) Error() string { return f.reason }

// copyPhoto copies one photo, counting it. Only a store's failure is
// returned.
func (c *copier) copyPhoto(ctx context.Context, p photo.Photo, recorded bool) error {
	outcome, err := c.copyOne(ctx, p, recorded)
	var failed failure
	switch {
	case errors.As(err, &failed):
		c.result.Failed++
		fmt.Fprintf(c.progress, "failed %s (uploaded by %q at %s): %s\n", p.Key, p.Username, p.CreatedAt.UTC().Format(time.RFC3339), failed.reason)
		return nil
	case err != nil:
		return err
	case outcome == copied:
		c.result.Copied++
	default:
		c.result.Skipped++
	}
	return nil
}

type outcome int

const (
	skipped outcome = iota
	copied
)

func (c *copier) copyOne(ctx context.Context, p photo.Photo, recorded bool) (outcome, error) {
	if !photo.ValidKey(p.Key) {
		return 0, failure{"not a key the app makes"}
	}
	hasImage, err := c.to.Blobs.Exists(ctx, p.Key)
	if err != nil {
		return 0, fmt.Errorf("target: %w", err)
	}
	if recorded && hasImage {
		return skipped, nil
	}
	data, err := readAll(ctx, c.from.Blobs, p.Key)
	if errors.Is(err, photo.ErrNotFound) {
		return 0, failure{"its image is missing from the source"}
	}
	if errors.As(err, new(failure)) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	sum := sha256.Sum256(data)
	if err := c.storeImage(ctx, p.Key, data, sum, hasImage); err != nil {
		return 0, err
	}
	// A record already there is the source's own (both sides share one
	// database), or a copy running beside this one: the image was all
	// that was missing.
	if recorded {
		return copied, nil
	}
	_, err = c.to.Metadata.Import(ctx, p)
	switch {
	case errors.Is(err, photo.ErrAlreadyRecorded):
		return skipped, nil // another copy recorded it first
	case errors.Is(err, photo.ErrUploadTokenUsed):
		return 0, failure{"the target records its upload token under another photo"}
	case err != nil:
		return 0, fmt.Errorf("target: %w", err)
	}
	// An orphan sweep in the target may have deleted an old identical
	// image before the record was added: put it back.
	if hasImage {
		if ok, err := c.to.Blobs.Exists(ctx, p.Key); err != nil {
			return 0, fmt.Errorf("target: %w", err)
		} else if !ok {
			return copied, c.storeImage(ctx, p.Key, data, sum, false)
		}
	}
	return copied, nil
}

// storeImage puts data under key in the target, unless the target holds
// the same bytes already, and reads it back to compare.
func (c *copier) storeImage(ctx context.Context, key string, data []byte, sum [sha256.Size]byte, hasImage bool) error {
	if hasImage {
		held, err := readAll(ctx, c.to.Blobs, key)
		if err != nil && !errors.Is(err, photo.ErrNotFound) {
			return fmt.Errorf("target: %w", err)
		}
		if err == nil && sha256.Sum256(held) == sum {
			return nil
		}
	}
	if err := c.to.Blobs.Put(ctx, key, photo.ContentTypeOf(key), bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	back, err := readAll(ctx, c.to.Blobs, key)
	if errors.As(err, new(failure)) {
		return err
	}
	if err != nil {
		return fmt.Errorf("target: read back %s: %w", key, err)
	}
	if sha256.Sum256(back) != sum {
		return failure{"the image read back from the target differs from the source's"}
	}
	return nil
}

func readAll(ctx context.Context, blobs photo.Blobs, key string) ([]byte, error) {
	body, _, err := blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxImageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImageBytes {
		return nil, failure{fmt.Sprintf("its image is larger than %d bytes", maxImageBytes)}
	}
	return data, nil
}

// report writes a progress line if a second has passed since the last.
func (c *copier) report() {
	if time.Since(c.lastLine) < progressEvery {
		return
	}
	c.lastLine = time.Now()
	fmt.Fprintf(c.progress, "so far: %s\n", c.result)
}
