package photo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// sweepBatch is how many keys one Recorded call asks about.
const sweepBatch = 500

// SweepOrphans deletes the blobs stored before cutoff that no photo
// records: the images of uploads whose server died after storing the
// image and before recording it. cutoff must be older than any upload in
// flight can be, or a blob whose row is still on its way would go. Several
// servers may sweep at once: deleting a deleted blob is no error. It
// returns how many blobs it deleted.
func SweepOrphans(ctx context.Context, blobs Blobs, metadata Metadata, cutoff time.Time, logger *slog.Logger) (int, error) {
	// An empty database beside stored images is far likelier a wrong
	// setting than a store full of orphans: delete nothing.
	if latest, err := metadata.Latest(ctx, 1); err != nil {
		return 0, fmt.Errorf("list photos: %w", err)
	} else if len(latest) == 0 {
		return 0, nil
	}
	stored, err := blobs.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list blobs: %w", err)
	}
	var old []StoredBlob
	for _, blob := range stored {
		if blob.ModTime.Before(cutoff) {
			old = append(old, blob)
		}
	}
	deleted := 0
	for batch := range slices.Chunk(old, sweepBatch) {
		keys := make([]string, len(batch))
		for i, blob := range batch {
			keys[i] = blob.Key
		}
		recorded, err := metadata.Recorded(ctx, keys)
		if err != nil {
			return deleted, fmt.Errorf("find recorded photos: %w", err)
		}
		for _, blob := range batch {
			if recorded[blob.Key] {
				continue
			}
			if err := blobs.Delete(ctx, blob.Key); err != nil {
				return deleted, fmt.Errorf("delete orphaned upload %s: %w", blob.Key, err)
			}
			logger.Info("deleted orphaned upload", "key", blob.Key, "stored", blob.ModTime.UTC().Format(time.RFC3339))
			deleted++
		}
	}
	return deleted, nil
}
