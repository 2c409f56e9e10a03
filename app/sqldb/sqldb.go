// Package sqldb stores photo records in SQL: an embedded SQLite file for the
// zero-setup default, or MySQL (MariaDB, RDS) for the tutorial's levels.
// Both speak the same queries; only the schema's dialect differs.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"webdemo/app/photo"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a photo.Metadata backed by database/sql.
type Store struct {
	db     *sql.DB
	schema string
	// latest is the front page's query, prepared once the schema exists.
	latest atomic.Pointer[sql.Stmt]
}

var _ photo.Metadata = (*Store)(nil)

const sqliteSchema = `CREATE TABLE IF NOT EXISTS upload_images (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	username     TEXT    NOT NULL,
	filename     TEXT    NOT NULL UNIQUE,
	content_type TEXT    NOT NULL,
	timeline     INTEGER NOT NULL
)`

// MySQL creates the table and its indexes in one idempotent statement, so
// several servers starting at once cannot race each other.
const mysqlSchema = `CREATE TABLE IF NOT EXISTS upload_images (
	id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
	username     VARCHAR(64) NOT NULL,
	filename     VARCHAR(64) NOT NULL,
	content_type VARCHAR(32) NOT NULL,
	timeline     BIGINT      NOT NULL,
	UNIQUE KEY upload_images_filename (filename)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

// OpenSQLite opens (creating if needed) the SQLite file at path. WAL lets
// several readers run beside one writer; the busy timeout makes writers
// wait their turn instead of failing.
func OpenSQLite(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(4)
	return &Store{db: db, schema: sqliteSchema}, nil
}

// NewMySQL wraps an open MySQL pool (see package mysqlconn).
func NewMySQL(db *sql.DB) *Store {
	return &Store{db: db, schema: mysqlSchema}
}

// Migrate creates the schema if it is missing. It is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	stmt, err := s.db.PrepareContext(ctx, latestQuery)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if old := s.latest.Swap(stmt); old != nil {
		_ = old.Close()
	}
	return nil
}

const latestQuery = `SELECT id, username, filename, content_type, timeline FROM upload_images ORDER BY id DESC LIMIT ?`

// Add inserts p. CreatedAt is kept with microsecond precision in UTC.
func (s *Store) Add(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	if !photo.ValidKey(p.Key) {
		return p, errors.New("sqldb: invalid key " + p.Key)
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	p.CreatedAt = p.CreatedAt.UTC().Truncate(time.Microsecond)
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO upload_images (username, filename, content_type, timeline) VALUES (?, ?, ?, ?)`,
		p.Username, p.Key, p.ContentType, p.CreatedAt.UnixMicro())
	if err != nil {
		return p, fmt.Errorf("insert photo: %w", err)
	}
	if p.ID, err = res.LastInsertId(); err != nil {
		return p, fmt.Errorf("insert photo: %w", err)
	}
	return p, nil
}

// Latest returns up to n photos, newest first. The auto-increment id orders
// them, so the primary key serves the query without a sort.
func (s *Store) Latest(ctx context.Context, n int) ([]photo.Photo, error) {
	var rows *sql.Rows
	var err error
	if stmt := s.latest.Load(); stmt != nil {
		rows, err = stmt.QueryContext(ctx, n)
	} else {
		rows, err = s.db.QueryContext(ctx, latestQuery, n)
	}
	if err != nil {
		return nil, fmt.Errorf("list photos: %w", err)
	}
	defer rows.Close()
	photos := make([]photo.Photo, 0, n)
	for rows.Next() {
		var p photo.Photo
		var micros int64
		if err := rows.Scan(&p.ID, &p.Username, &p.Key, &p.ContentType, &micros); err != nil {
			return nil, fmt.Errorf("list photos: %w", err)
		}
		p.CreatedAt = time.UnixMicro(micros).UTC()
		photos = append(photos, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list photos: %w", err)
	}
	return photos, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the pool.
func (s *Store) Close() error {
	if stmt := s.latest.Load(); stmt != nil {
		_ = stmt.Close()
	}
	return s.db.Close()
}
