package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/go-sql-driver/mysql"

	"webdemo/app/config"
	"webdemo/app/photocopy"
)

// copyHelp is the top of `webdemo copy -help`; the settings follow.
const copyHelp = `Usage: webdemo copy [flags]

Copies every photo, record and image, from a SOURCE to a TARGET, oldest
first, and exits. The TARGET is the app's own settings: the environment and
the flags below, as the server reads them. The SOURCE is the same settings
in the environment with the prefix ` + config.SourcePrefix + ` (FROM_DB_DRIVER, FROM_STORAGE,
FROM_UPLOAD_DIR, ...); one left unset is the target's, and one set to
empty is empty, as for the target's own settings.
The source is only read. Photos the target has are skipped, so running it
again resumes. The last line is "copy complete: copied N, skipped M
already present, 0 failed" only when every photo was copied; otherwise it
starts "copy stopped:" (a store failed: run it again to resume) or "copy
incomplete:" (some photos failed, each named on a line starting "failed"),
and the exit status is not 0.

`

// runCopy copies every photo from the FROM_ settings' stores to the
// app's own: `webdemo copy`, run once when a level moves the photos.
func runCopy(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout io.Writer) error {
	var usage bytes.Buffer
	target, err := config.Load(args, lookupEnv, &usage)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = io.WriteString(stdout, copyHelp)
		_, err = usage.WriteTo(stdout)
		return err
	}
	if err != nil {
		_, _ = usage.WriteTo(stdout)
		return err
	}
	source, err := config.LoadSource(target, lookupEnv)
	if err != nil {
		return err
	}
	if err := sourceExists(source); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	_ = mysql.SetLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))

	from, closeFrom, err := openCopyStores(ctx, source)
	if err != nil {
		return fmt.Errorf("source (%s settings): %w", config.SourcePrefix, err)
	}
	defer closeFrom()
	to, closeTo, err := openCopyStores(ctx, target)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer closeTo()
	// A new level's database may have no table yet; the source's is never
	// touched.
	if err := to.migrate(ctx); err != nil {
		return fmt.Errorf("target database: %w", err)
	}

	logger.Info("copying photos", "from_db", describeDB(source), "from_storage", describeStorage(source),
		"to_db", describeDB(target), "to_storage", describeStorage(target))
	result, err := photocopy.Copy(ctx, from.Stores, to.Stores, stdout)
	fmt.Fprintln(stdout, finalLine(result, err))
	if err != nil {
		return fmt.Errorf("copy stopped; run it again to resume: %w", err)
	}
	if result.Failed > 0 {
		return incompleteCopy{fmt.Errorf("%d of the photos could not be copied; see the lines starting \"failed\"", result.Failed)}
	}
	return nil
}

// incompleteCopy is a copy that went through every photo but left some
// behind: it exits with photocopy.ExitIncomplete.
type incompleteCopy struct{ error }

// ExitStatus is the status main exits with.
func (incompleteCopy) ExitStatus() int { return photocopy.ExitIncomplete }

// Final-line prefixes. Only copyComplete says every photo is in the
// target: the stack's migration output searches the logs for it, so no
// other line, progress ("so far: ...") or a failed run's last, holds it.
const (
	copyComplete   = "copy complete: "
	copyStopped    = "copy stopped: "
	copyIncomplete = "copy incomplete: "
)

// finalLine is the copy's last line: its counts, after a prefix that says
// whether it finished, stopped on err, or left photos behind.
func finalLine(result photocopy.Result, err error) string {
	switch {
	case err != nil:
		return copyStopped + result.String()
	case result.Failed > 0:
		return copyIncomplete + result.String()
	}
	return copyComplete + result.String()
}

// copyStores are one side of a copy, opened as the app opens them.
type copyStores struct {
	photocopy.Stores
	migrate func(context.Context) error
}

func openCopyStores(ctx context.Context, cfg config.Config) (copyStores, func(), error) {
	awsCfg := lazyAWS(ctx, cfg)
	metadata, err := openMetadata(cfg, awsCfg)
	if err != nil {
		return copyStores{}, nil, err
	}
	blobs, closeBlobs, err := openBlobs(cfg, awsCfg)
	if err != nil {
		_ = metadata.Close()
		return copyStores{}, nil, err
	}
	closeAll := func() { _ = closeBlobs(); _ = metadata.Close() }
	return copyStores{Stores: photocopy.Stores{Metadata: metadata, Blobs: blobs}, migrate: metadata.Migrate}, closeAll, nil
}

// sourceExists refuses a source SQLite file or upload directory that is
// not there: opening them would create them, and a mistyped path would
// copy nothing and say all is well.
func sourceExists(source config.Config) error {
	if source.DBDriver == config.DriverSQLite {
		if _, err := os.Stat(source.SQLitePath); err != nil {
			return fmt.Errorf("%sSQLITE_PATH: %w", config.SourcePrefix, err)
		}
	}
	if source.Storage == config.StorageDisk {
		if info, err := os.Stat(source.UploadDir); err != nil {
			return fmt.Errorf("%sUPLOAD_DIR: %w", config.SourcePrefix, err)
		} else if !info.IsDir() {
			return fmt.Errorf("%sUPLOAD_DIR: %s is not a directory", config.SourcePrefix, source.UploadDir)
		}
	}
	return nil
}

func describeDB(cfg config.Config) string {
	if cfg.DBDriver == config.DriverSQLite {
		return "sqlite:" + cfg.SQLitePath
	}
	if cfg.MySQLDSN != "" {
		if dsn, err := mysql.ParseDSN(cfg.MySQLDSN); err == nil {
			return "mysql:" + dsn.Addr + "/" + dsn.DBName
		}
	}
	return fmt.Sprintf("mysql:%s:%d/%s", cfg.MySQLHost, cfg.MySQLPort, cfg.MySQLDatabase)
}

func describeStorage(cfg config.Config) string {
	if cfg.Storage == config.StorageDisk {
		return "disk:" + cfg.UploadDir
	}
	return "s3://" + cfg.S3Bucket + "/" + cfg.S3Prefix
}
