package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"webdemo/app/internal/conformance"
	"webdemo/app/internal/testenv"
	"webdemo/app/photo"
	"webdemo/app/sqldb"
)

func openSQLite(t *testing.T) photo.Metadata {
	store, err := sqldb.OpenSQLite(filepath.Join(t.TempDir(), "sub", "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

func openMySQL(t *testing.T) *sqldb.Store {
	cfg := testenv.MySQLDatabase(t)
	store, err := sqldb.OpenMySQL(sqldb.MySQLOptions{DSN: cfg.FormatDSN(), MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func TestSQLite(t *testing.T) { conformance.Metadata(t, openSQLite) }

func TestMySQL(t *testing.T) {
	conformance.Metadata(t, func(t *testing.T) photo.Metadata {
		store := openMySQL(t)
		if err := store.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return store
	})
}

// Several servers start at once against one database; each migrates.
func TestMySQLConcurrentMigrate(t *testing.T) {
	cfg := testenv.MySQLDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			store, err := sqldb.OpenMySQL(sqldb.MySQLOptions{DSN: cfg.FormatDSN(), MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			defer store.Close()
			errs <- store.Migrate(context.Background())
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestMySQLCredentialsAreAskedPerConnection(t *testing.T) {
	cfg := testenv.MySQLDatabase(t)
	calls := 0
	store, err := sqldb.OpenMySQL(sqldb.MySQLOptions{
		Host: cfg.Addr[:len(cfg.Addr)-len(":3306")], Port: 3306, Database: cfg.DBName, MaxConns: 1,
		Credentials: func(context.Context) (string, string, error) {
			calls++
			return cfg.User, cfg.Passwd, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Ping(context.Background()); err != nil {
		t.Fatalf("ping with credentials from the callback: %v", err)
	}
	if calls != 1 {
		t.Fatalf("credentials asked %d times for one connection, want 1", calls)
	}
}

func TestMySQLTLSCAFileMustHoldCertificates(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "ca.pem")
	if err := writeFile(bad, "not a certificate"); err != nil {
		t.Fatal(err)
	}
	_, err := sqldb.OpenMySQL(sqldb.MySQLOptions{Host: "db", Port: 3306, TLSCAFile: bad, MaxConns: 1})
	if err == nil {
		t.Fatal("OpenMySQL accepted a CA file without certificates")
	}
}

// The tables as versions before upload tokens created them.
const (
	oldSQLiteSchema = `CREATE TABLE upload_images (
		id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL, filename TEXT NOT NULL UNIQUE,
		content_type TEXT NOT NULL, timeline INTEGER NOT NULL)`
	oldMySQLSchema = `CREATE TABLE upload_images (
		id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, username VARCHAR(64) NOT NULL, filename VARCHAR(64) NOT NULL,
		content_type VARCHAR(32) NOT NULL, timeline BIGINT NOT NULL, UNIQUE KEY upload_images_filename (filename)
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
)

// createOldTable makes the older table in db, holding one photo.
func createOldTable(t *testing.T, db *sql.DB, schema string) string {
	t.Helper()
	key, _ := photo.NewKey("image/png")
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO upload_images (username, filename, content_type, timeline) VALUES ('old', ?, 'image/png', 1)`, key); err != nil {
		t.Fatal(err)
	}
	return key
}

// migrateTogether opens n stores and migrates them all at once, as servers
// starting together do, then migrates once more, as on the next start.
func migrateTogether(t *testing.T, n int, open func() (*sqldb.Store, error)) *sqldb.Store {
	t.Helper()
	stores := make([]*sqldb.Store, n)
	for i := range stores {
		store, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		stores[i] = store
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, store := range stores {
		wg.Go(func() { errs <- store.Migrate(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	if err := stores[0].Migrate(context.Background()); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	return stores[0]
}

// checkMigrated checks that the older photo is kept and tokens now work.
func checkMigrated(t *testing.T, store *sqldb.Store, oldKey string) {
	t.Helper()
	ctx := context.Background()
	got, err := store.Latest(ctx, 10)
	if err != nil || len(got) != 1 || got[0].Key != oldKey || got[0].UploadToken != "" {
		t.Fatalf("after migrating, Latest = %+v, %v; want the older photo", got, err)
	}
	token := photo.NewUploadToken()
	for i := range 2 {
		key, _ := photo.NewKey("image/png")
		_, err := store.Add(ctx, photo.Photo{Username: "new", Key: key, ContentType: "image/png", UploadToken: token})
		if i == 0 && err != nil {
			t.Fatal(err)
		}
		if i == 1 && !errors.Is(err, photo.ErrUploadTokenUsed) {
			t.Fatalf("a replayed token after migrating: %v; want ErrUploadTokenUsed", err)
		}
	}
}

func TestSQLiteMigratesAnOlderTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldKey := createOldTable(t, db, oldSQLiteSchema)
	store := migrateTogether(t, 4, func() (*sqldb.Store, error) { return sqldb.OpenSQLite(path) })
	checkMigrated(t, store, oldKey)
	checkIndex(t, db, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'upload_images_timeline'`)
}

func TestMySQLMigratesAnOlderTable(t *testing.T) {
	cfg := testenv.MySQLDatabase(t)
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	oldKey := createOldTable(t, db, oldMySQLSchema)
	store := migrateTogether(t, 6, func() (*sqldb.Store, error) {
		return sqldb.OpenMySQL(sqldb.MySQLOptions{DSN: cfg.FormatDSN(), MaxConns: 2})
	})
	checkMigrated(t, store, oldKey)
	checkIndex(t, db, `SELECT COUNT(*) FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'upload_images' AND INDEX_NAME = 'upload_images_timeline'`)
}

// checkIndex checks that the time index Latest walks was added.
func checkIndex(t *testing.T, db *sql.DB, count string) {
	t.Helper()
	var n int
	if err := db.QueryRow(count).Scan(&n); err != nil || n == 0 {
		t.Fatalf("no upload_images_timeline index after migrating (%d, %v)", n, err)
	}
}
