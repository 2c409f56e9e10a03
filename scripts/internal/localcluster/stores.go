package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"webdemo/infra/level"
)

// mariaDB is the RDS stand-in.
type mariaDB struct {
	cmd *exec.Cmd
	// addr is where it listens; dial is where the instances reach it
	// (Options.Interpose).
	addr, dial string
	datadir    string
}

// startStores starts the database and the S3 endpoint when asked, kept in
// the data directory with --data and in the temporary one without.
func (c *Cluster) startStores(ctx context.Context, database, objects bool) error {
	if c.data != nil {
		if err := os.MkdirAll(filepath.Join(c.data.host(), "uploads"), 0o755); err != nil {
			return err
		}
	}
	if database {
		datadir := filepath.Join(c.dir, "mariadb")
		if c.data != nil {
			datadir = c.data.rds()
		}
		cmd, addr, err := c.startMariaDB(ctx, datadir)
		if err != nil {
			return err
		}
		c.db = &mariaDB{cmd: cmd, addr: addr, dial: c.interpose("database", addr), datadir: datadir}
	}
	if objects {
		file := ""
		if c.data != nil {
			file = c.data.s3File()
		}
		endpoint, addr, err := c.startS3(file)
		if err != nil {
			return err
		}
		endpoint.addr, endpoint.dial = addr, c.interpose("s3", addr)
		c.s3 = endpoint
	}
	return nil
}

// stopStoresNotIn stops the stores that only the level being left used.
func (c *Cluster) stopStoresNotIn(f level.Features) {
	if c.db != nil && !f.ManagedDatabase {
		c.stopChild(c.db.cmd)
		c.db = nil
	}
	if c.s3 != nil && !f.ObjectStorage {
		c.s3.stop()
		c.s3 = nil
	}
}

// storeEndpoints adds to e where level f keeps its photos: the rows and
// the image bytes. dial gives the addresses the instances use, which a
// test may interpose on; the copy between levels uses the stores' own.
func (c *Cluster) storeEndpoints(f level.Features, e level.Endpoints, dial bool) level.Endpoints {
	if f.ManagedDatabase {
		addr := c.db.addr
		if dial {
			addr = c.db.dial
		}
		e.MySQLDSN = localDSN(addr)
	} else if c.data != nil {
		e.SQLitePath = filepath.Join(c.data.host(), "webdemo.db")
	}
	switch {
	case f.ObjectStorage:
		addr := c.s3.addr
		if dial {
			addr = c.s3.dial
		}
		e.S3Endpoint, e.Bucket = "http://"+addr, localBucket
	case f.SharedFiles && c.data != nil:
		e.UploadDir = c.data.efs()
	case f.SharedFiles:
		e.UploadDir = filepath.Join(c.dir, "efs")
	case c.data != nil:
		e.UploadDir = filepath.Join(c.data.host(), "uploads")
	}
	return e
}

// movePhotos copies every photo from the stores of level last (features
// old) into this level's, before any server of this level starts, as the
// AWS stack does with migrateFrom.
func (c *Cluster) movePhotos(ctx context.Context, binary string, last int, old level.Features, base level.Endpoints) error {
	base.Addr = fmt.Sprintf("127.0.0.1:%d", c.opts.Port)
	// The source is read with this level's settings but the old stores:
	// the old level's cache and sessions are gone, and the copy needs none.
	from, err := level.AppConfig(c.Features.WithStoresOf(old), c.storeEndpoints(old, base, false))
	if err != nil {
		return fmt.Errorf("level %d's settings: %w", last, err)
	}
	to, err := level.AppConfig(c.Features, c.storeEndpoints(c.Features, base, false))
	if err != nil {
		return fmt.Errorf("level %d's settings: %w", c.opts.Level, err)
	}
	fmt.Fprintf(c.opts.Log, "Moving the photos from level %d (%s) to level %d (%s)…\n", last, old.PhotoStores(), c.opts.Level, c.Features.PhotoStores())
	line, err := copyPhotos(ctx, binary, from, to, c.data.copyLog())
	if err != nil {
		return fmt.Errorf("moving the photos from level %d: %w\nNothing was removed from level %d's stores: run again to resume, or go back with --level %d", last, err, last, last)
	}
	fmt.Fprintln(c.opts.Log, "  "+line)
	return nil
}
