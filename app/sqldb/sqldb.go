// Package sqldb stores photo records in SQL: an embedded SQLite file for the
// zero-setup default, or MySQL (MariaDB, RDS) for the tutorial's levels.
// Both speak the same queries; only the schema's dialect differs. It
// imports package photo and the two SQL drivers, nothing else of the app.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"webdemo/app/photo"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a photo.Metadata backed by database/sql.
type Store struct {
	db      *sql.DB
	dialect dialect
	// latest is the front page's query, prepared once the schema exists.
	latest atomic.Pointer[sql.Stmt]
}

// dialect holds the statements that differ between SQLite and MySQL.
type dialect struct {
	schema string
	// hasColumn and hasIndex count the columns or indexes of upload_images
	// with a given name.
	hasColumn, hasIndex string
	// addTokenColumn and addTokenIndex bring a table made before upload
	// tokens up to date.
	addTokenColumn, addTokenIndex string
	// addTimelineIndex lets Latest and OldestAfter walk photos by time
	// without sorting the table.
	addTimelineIndex string
}

var sqliteDialect = dialect{
	schema:         sqliteSchema,
	hasColumn:      `SELECT COUNT(*) FROM pragma_table_info('upload_images') WHERE name = ?`,
	hasIndex:       `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'upload_images' AND name = ?`,
	addTokenColumn: `ALTER TABLE upload_images ADD COLUMN upload_token TEXT`,
	addTokenIndex:  `CREATE UNIQUE INDEX IF NOT EXISTS upload_images_upload_token ON upload_images (upload_token)`,

	addTimelineIndex: `CREATE INDEX IF NOT EXISTS upload_images_timeline ON upload_images (timeline, id)`,
}

var mysqlDialect = dialect{
	schema: mysqlSchema,
	hasColumn: `SELECT COUNT(*) FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'upload_images' AND COLUMN_NAME = ?`,
	hasIndex: `SELECT COUNT(*) FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'upload_images' AND INDEX_NAME = ?`,
	// MySQL 8 has no ADD COLUMN IF NOT EXISTS (MariaDB does): Migrate
	// checks first, and accepts losing the race to another server.
	addTokenColumn: `ALTER TABLE upload_images ADD COLUMN upload_token VARCHAR(64) NULL`,
	addTokenIndex:  `ALTER TABLE upload_images ADD UNIQUE KEY upload_images_upload_token (upload_token)`,

	addTimelineIndex: `ALTER TABLE upload_images ADD KEY upload_images_timeline (timeline, id)`,
}

var _ photo.Metadata = (*Store)(nil)

// The schema is created in one statement; later columns are added by
// migrations, so a table made by an older version catches up on start.
const sqliteSchema = `CREATE TABLE IF NOT EXISTS upload_images (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	username     TEXT    NOT NULL,
	filename     TEXT    NOT NULL UNIQUE,
	content_type TEXT    NOT NULL,
	timeline     INTEGER NOT NULL,
	upload_token TEXT
)`

// MySQL creates the table and its indexes in one idempotent statement, so
// several servers starting at once cannot race each other.
const mysqlSchema = `CREATE TABLE IF NOT EXISTS upload_images (
	id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
	username     VARCHAR(64) NOT NULL,
	filename     VARCHAR(64) NOT NULL,
	content_type VARCHAR(32) NOT NULL,
	timeline     BIGINT      NOT NULL,
	upload_token VARCHAR(64) NULL,
	UNIQUE KEY upload_images_filename (filename),
	UNIQUE KEY upload_images_upload_token (upload_token),
	KEY upload_images_timeline (timeline, id)
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
	return &Store{db: db, dialect: sqliteDialect}, nil
}

// NewMySQL wraps an open MySQL pool; OpenMySQL opens one from settings.
func NewMySQL(db *sql.DB) *Store {
	return &Store{db: db, dialect: mysqlDialect}
}

// Migrate creates the schema if it is missing and brings a table made by an
// older version up to date. It is idempotent, and safe to run on every start
// from several servers at once.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.dialect.schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if err := s.ensure(ctx, s.dialect.hasColumn, "upload_token", s.dialect.addTokenColumn); err != nil {
		return fmt.Errorf("add upload_token: %w", err)
	}
	if err := s.ensure(ctx, s.dialect.hasIndex, "upload_images_upload_token", s.dialect.addTokenIndex); err != nil {
		return fmt.Errorf("index upload_token: %w", err)
	}
	if err := s.ensure(ctx, s.dialect.hasIndex, "upload_images_timeline", s.dialect.addTimelineIndex); err != nil {
		return fmt.Errorf("index timeline: %w", err)
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

// ensure runs create unless the column or index called name exists. When
// create fails because another server created it meanwhile, that is success.
func (s *Store) ensure(ctx context.Context, exists, name, create string) error {
	has := func() (bool, error) {
		var n int
		err := s.db.QueryRowContext(ctx, exists, name).Scan(&n)
		return n > 0, err
	}
	if ok, err := has(); err != nil || ok {
		return err
	}
	if _, err := s.db.ExecContext(ctx, create); err != nil {
		if ok, _ := has(); ok {
			return nil
		}
		return err
	}
	return nil
}

const photoColumns = `id, username, filename, content_type, timeline, upload_token`

// latestQuery orders by upload time, so a photo copied in later still
// falls in its place; the timeline index serves it without a sort.
const latestQuery = `SELECT ` + photoColumns + ` FROM upload_images ORDER BY timeline DESC, id DESC LIMIT ?`

const oldestAfterQuery = `SELECT ` + photoColumns + ` FROM upload_images
	WHERE timeline > ? OR (timeline = ? AND id > ?) ORDER BY timeline, id LIMIT ?`

// Add inserts p. CreatedAt is kept with microsecond precision in UTC. A
// photo whose upload token is already recorded is not inserted: Add returns
// the first one and photo.ErrUploadTokenUsed.
func (s *Store) Add(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	p, err := s.insert(ctx, p)
	if err != nil {
		// The unique index refused the token, whichever driver's words
		// say so: the first photo is there to be found.
		if p.UploadToken != "" {
			if first, findErr := s.ByUploadToken(ctx, p.UploadToken); findErr == nil {
				return first, fmt.Errorf("insert photo: %w", photo.ErrUploadTokenUsed)
			}
		}
		return p, fmt.Errorf("insert photo: %w", err)
	}
	return p, nil
}

// Import inserts a photo copied from another store, keeping its time. The
// unique index on the key decides between copies racing each other.
func (s *Store) Import(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	if p.CreatedAt.IsZero() {
		return p, errors.New("sqldb: import of a photo without a time")
	}
	p, err := s.insert(ctx, p)
	if err == nil {
		return p, nil
	}
	if recorded, findErr := s.Recorded(ctx, []string{p.Key}); findErr == nil && recorded[p.Key] {
		return p, fmt.Errorf("import photo %s: %w", p.Key, photo.ErrAlreadyRecorded)
	}
	if p.UploadToken != "" {
		if _, findErr := s.ByUploadToken(ctx, p.UploadToken); findErr == nil {
			return p, fmt.Errorf("import photo %s: %w", p.Key, photo.ErrUploadTokenUsed)
		}
	}
	return p, fmt.Errorf("import photo %s: %w", p.Key, err)
}

// insert checks p and inserts it as it is, with CreatedAt kept to the
// microsecond in UTC.
func (s *Store) insert(ctx context.Context, p photo.Photo) (photo.Photo, error) {
	if !photo.ValidKey(p.Key) {
		return p, errors.New("sqldb: invalid key " + p.Key)
	}
	if p.UploadToken != "" && !photo.ValidUploadToken(p.UploadToken) {
		return p, errors.New("sqldb: invalid upload token " + p.UploadToken)
	}
	p.CreatedAt = p.CreatedAt.UTC().Truncate(time.Microsecond)
	token := sql.NullString{String: p.UploadToken, Valid: p.UploadToken != ""}
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO upload_images (username, filename, content_type, timeline, upload_token) VALUES (?, ?, ?, ?, ?)`,
		p.Username, p.Key, p.ContentType, p.CreatedAt.UnixMicro(), token)
	if err != nil {
		return p, err
	}
	if p.ID, err = res.LastInsertId(); err != nil {
		return p, err
	}
	return p, nil
}

// ByUploadToken returns the photo recorded with token.
func (s *Store) ByUploadToken(ctx context.Context, token string) (photo.Photo, error) {
	if !photo.ValidUploadToken(token) {
		return photo.Photo{}, photo.ErrNotFound
	}
	p, err := scanPhoto(s.db.QueryRowContext(ctx, `SELECT `+photoColumns+` FROM upload_images WHERE upload_token = ?`, token))
	if errors.Is(err, sql.ErrNoRows) {
		return photo.Photo{}, photo.ErrNotFound
	}
	if err != nil {
		return photo.Photo{}, fmt.Errorf("find upload token: %w", err)
	}
	return p, nil
}

// recordedBatch is how many keys one query of Recorded asks about, well
// under SQLite's and MySQL's limits on placeholders.
const recordedBatch = 500

// Recorded returns which of keys name a recorded photo.
func (s *Store) Recorded(ctx context.Context, keys []string) (map[string]bool, error) {
	valid := slices.DeleteFunc(slices.Clone(keys), func(key string) bool { return !photo.ValidKey(key) })
	recorded := make(map[string]bool, len(valid))
	for batch := range slices.Chunk(valid, recordedBatch) {
		args := make([]any, len(batch))
		for i, key := range batch {
			args[i] = key
		}
		placeholders := strings.Repeat("?, ", len(batch)-1) + "?"
		rows, err := s.db.QueryContext(ctx, `SELECT filename FROM upload_images WHERE filename IN (`+placeholders+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("find recorded photos: %w", err)
		}
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find recorded photos: %w", err)
			}
			recorded[key] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("find recorded photos: %w", err)
		}
	}
	return recorded, nil
}

// scanPhoto reads one row of photoColumns.
func scanPhoto(row interface{ Scan(...any) error }) (photo.Photo, error) {
	var p photo.Photo
	var micros int64
	var token sql.NullString
	if err := row.Scan(&p.ID, &p.Username, &p.Key, &p.ContentType, &micros, &token); err != nil {
		return p, err
	}
	p.CreatedAt = time.UnixMicro(micros).UTC()
	p.UploadToken = token.String
	return p, nil
}

// Latest returns up to n photos, newest first by upload time, then ID.
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
	return scanPhotos(rows, n)
}

// OldestAfter returns up to n photos after the given one, oldest first.
func (s *Store) OldestAfter(ctx context.Context, after photo.Photo, n int) ([]photo.Photo, error) {
	micros := after.CreatedAt.UTC().Truncate(time.Microsecond).UnixMicro()
	rows, err := s.db.QueryContext(ctx, oldestAfterQuery, micros, micros, after.ID, n)
	if err != nil {
		return nil, fmt.Errorf("list photos: %w", err)
	}
	return scanPhotos(rows, n)
}

// scanPhotos reads and closes rows of photoColumns, expecting up to n.
func scanPhotos(rows *sql.Rows, n int) ([]photo.Photo, error) {
	defer rows.Close()
	photos := make([]photo.Photo, 0, n)
	for rows.Next() {
		p, err := scanPhoto(rows)
		if err != nil {
			return nil, fmt.Errorf("list photos: %w", err)
		}
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
