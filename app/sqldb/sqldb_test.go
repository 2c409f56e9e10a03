package sqldb_test

import (
	"context"
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
