package localcluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
)

// openS3File is the S3 stand-in's backend kept in one file (gofakes3's
// bolt backend), so the objects outlive the cluster. The file is locked
// while open; a second cluster on it fails at once instead of waiting.
func openS3File(path string, clock gofakes3.TimeSource) (gofakes3.Backend, func() error, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, nil, fmt.Errorf("%s is in use by another local cluster", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open the local S3 objects: %w", err)
	}
	return s3bolt.New(db, s3bolt.WithTimeSource(clock)), db.Close, nil
}
