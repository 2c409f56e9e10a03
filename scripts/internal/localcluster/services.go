package localcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-sql-driver/mysql"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Fake keys for the local S3 endpoint, which checks none; no real key
// belongs here.
const localAccessKey = "web-demo-local"

// localBucket is the uploads bucket on the local S3 endpoint.
const localBucket = "web-demo-uploads"

// localDSN reaches the local MariaDB, which checks no passwords.
func localDSN(addr string) string { return fmt.Sprintf("webdemo@tcp(%s)/webdemo", addr) }

// startMariaDB runs MariaDB on a loopback port, standing in for RDS, and
// returns its address. It has no passwords (skip-grant-tables); its data
// lives in datadir, made on first use.
func (c *Cluster) startMariaDB(ctx context.Context, datadir string) (*exec.Cmd, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	if err := installMariaDB(ctx, datadir); err != nil {
		return nil, "", err
	}
	// A cluster killed outright leaves these behind in its temporary
	// directory, never in datadir, so a kept database restarts cleanly.
	cmd, err := c.spawn("mariadbd", "--no-defaults", "--datadir="+datadir, "--socket="+filepath.Join(c.dir, "mariadb.sock"),
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--skip-grant-tables", "--user="+currentUser(),
		"--pid-file="+filepath.Join(c.dir, "mariadb.pid"), "--log-error="+filepath.Join(c.dir, "mariadb.err"))
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitTCP(ctx, addr); err != nil {
		errLog, _ := os.ReadFile(filepath.Join(c.dir, "mariadb.err"))
		return nil, "", fmt.Errorf("MariaDB did not start: %w\n%s", err, lastLines(string(errLog), 5))
	}
	if err := createDatabase(ctx, addr); err != nil {
		return nil, "", err
	}
	return cmd, addr, nil
}

// installMariaDB makes MariaDB's system tables in datadir unless they are
// there. It installs beside datadir and renames, so an interrupted install
// leaves no half-made directory that a later run would take as whole.
func installMariaDB(ctx context.Context, datadir string) error {
	if _, err := os.Stat(filepath.Join(datadir, "mysql")); err == nil {
		return nil
	}
	staging := datadir + ".installing"
	if err := os.RemoveAll(staging); err != nil {
		return err
	}
	install := exec.CommandContext(ctx, "mariadb-install-db", "--no-defaults", "--datadir="+staging,
		"--auth-root-authentication-method=socket", "--skip-test-db", "--user="+currentUser())
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n%s", err, lastLines(string(out), 5))
	}
	if err := os.RemoveAll(datadir); err != nil { // an empty or partial leftover
		return err
	}
	return os.Rename(staging, datadir)
}

func createDatabase(ctx context.Context, addr string) error {
	db, err := sql.Open("mysql", fmt.Sprintf("webdemo@tcp(%s)/", addr))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS webdemo"); err != nil {
		return fmt.Errorf("create the local database: %w", err)
	}
	return nil
}

// startMemcached runs memcached, the ElastiCache stand-in, and returns its
// address. It keeps nothing between runs, as a cache need not.
func (c *Cluster) startMemcached(ctx context.Context) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	// memcached refuses to run as root.
	var runAs *syscall.Credential
	if os.Geteuid() == 0 {
		if runAs, err = nobody(); err != nil {
			return "", err
		}
	}
	if _, err := c.spawnAs(runAs, "memcached", "-l", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "0", "-m", "64"); err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitTCP(ctx, addr); err != nil {
		return "", fmt.Errorf("memcached did not start: %w", err)
	}
	return addr, nil
}

// nobody is the unprivileged user memcached runs as when started by root.
func nobody() (*syscall.Credential, error) {
	account, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("memcached runs as the user nobody when started by root: %w", err)
	}
	uid, uidErr := strconv.ParseUint(account.Uid, 10, 32)
	gid, gidErr := strconv.ParseUint(account.Gid, 10, 32)
	if uidErr != nil || gidErr != nil {
		return nil, fmt.Errorf("user nobody has uid %q, gid %q: not numbers", account.Uid, account.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// s3Endpoint is the S3 stand-in: gofakes3 served on loopback.
type s3Endpoint struct {
	// addr is where it listens; dial is where the instances reach it
	// (Options.Interpose).
	addr, dial string
	// file keeps the objects; empty keeps them in memory.
	file   string
	server *http.Server
	close  func() error // releases the backend's file, if it has one
}

func (e *s3Endpoint) stop() {
	_ = e.server.Close()
	if e.close != nil {
		_ = e.close()
	}
}

// startS3 serves an S3-compatible endpoint (gofakes3) holding the uploads
// bucket, in memory or in the file at path, and returns its address.
func (c *Cluster) startS3(path string) (*s3Endpoint, string, error) {
	var (
		backend gofakes3.Backend
		closer  func() error
	)
	if path == "" {
		backend = s3mem.New(s3mem.WithTimeSource(clockBehind(c.opts.S3ClockBehind)))
	} else {
		var err error
		if backend, closer, err = openS3File(path, clockBehind(c.opts.S3ClockBehind)); err != nil {
			return nil, "", err
		}
	}
	endpoint := &s3Endpoint{file: path, close: closer}
	exists, err := backend.BucketExists(localBucket)
	if err == nil && !exists {
		err = backend.CreateBucket(localBucket)
	}
	if err != nil {
		if closer != nil {
			_ = closer()
		}
		return nil, "", fmt.Errorf("create the local bucket: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if closer != nil {
			_ = closer()
		}
		return nil, "", err
	}
	endpoint.server = &http.Server{Handler: gofakes3.New(backend).Server(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := endpoint.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(c.opts.Log, "local S3 endpoint:", err)
		}
	}()
	return endpoint, ln.Addr().String(), nil
}

// clockBehind is a gofakes3.TimeSource running behind the real clock.
type clockBehind time.Duration

func (c clockBehind) Now() time.Time                  { return time.Now().Add(-time.Duration(c)) }
func (c clockBehind) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// LocalS3Client reaches the local S3 endpoint with its fake keys.
func LocalS3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(localAccessKey, localAccessKey, ""),
	})
}
