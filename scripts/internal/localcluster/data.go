package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"webdemo/infra/level"
)

// dataDir is where --data keeps a cluster's stores between runs, each under
// the name of the AWS store it stands in for, so that moving between levels
// moves the photos between stores as on AWS:
//
//	level      the level that last ran here
//	lock       held while a cluster runs on the directory
//	host/      level 0's database (SQLite: the instance's own) and uploads
//	rds/       levels 1 to 4's database (MariaDB's data directory)
//	efs/       level 1's shared uploads
//	s3.bolt    levels 2 to 4's uploads bucket (gofakes3's bolt file)
//
// memcached is left out: a cache need not survive.
type dataDir struct {
	path string
	lock *os.File
	// last is the level that last ran here; -1 for a new directory.
	last int
}

// dataEntries are the names a data directory may hold.
var dataEntries = []string{"level", "level.new", "lock", "host", "rds", "rds.installing", "efs", "s3.bolt", "copy.log"}

func (d *dataDir) host() string      { return filepath.Join(d.path, "host") }
func (d *dataDir) rds() string       { return filepath.Join(d.path, "rds") }
func (d *dataDir) efs() string       { return filepath.Join(d.path, "efs") }
func (d *dataDir) s3File() string    { return filepath.Join(d.path, "s3.bolt") }
func (d *dataDir) copyLog() string   { return filepath.Join(d.path, "copy.log") }
func (d *dataDir) levelFile() string { return filepath.Join(d.path, "level") }

// openData makes or reopens a data directory and locks it. It refuses a
// directory holding anything a cluster did not put there, so a mistyped
// --data never writes into someone's files.
func openData(path string) (*dataDir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("--data %s: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	for _, e := range entries {
		if !slices.Contains(dataEntries, e.Name()) {
			return nil, fmt.Errorf("--data %s holds %s, which no local cluster made: pass a new or empty directory, or one an earlier --data run made", path, e.Name())
		}
	}
	d := &dataDir{path: abs, last: -1}
	if d.lock, err = os.OpenFile(filepath.Join(abs, "lock"), os.O_CREATE|os.O_RDWR, 0o644); err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	if err := syscall.Flock(int(d.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("--data %s is in use by another local cluster: stop it first", path)
		}
		return nil, fmt.Errorf("--data %s: lock: %w", path, err)
	}
	raw, err := os.ReadFile(d.levelFile())
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		d.close()
		return nil, fmt.Errorf("--data: %w", err)
	default:
		n, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || n < 0 || n > level.Max {
			d.close()
			return nil, fmt.Errorf("--data %s: its level file holds %q, not a level from 0 to %d; it records which level last ran there", path, strings.TrimSpace(string(raw)), level.Max)
		}
		d.last = n
	}
	return d, nil
}

// record notes that level n now owns the photos. The file is replaced
// whole, so a crash leaves the old level or the new, never neither.
func (d *dataDir) record(n int) error {
	tmp := d.levelFile() + ".new"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, d.levelFile()); err != nil {
		return err
	}
	d.last = n
	return nil
}

func (d *dataDir) close() {
	if d != nil && d.lock != nil {
		_ = d.lock.Close() // releases the lock
	}
}
