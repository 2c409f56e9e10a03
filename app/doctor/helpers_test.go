package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"webdemo/app/cloud"
	"webdemo/app/internal/testenv"
	"webdemo/app/photo"
	"webdemo/app/s3blob"
	"webdemo/app/sqldb"
)

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// silentAddr accepts connections and never says a word, like a server
// that waits for a protocol the client does not speak.
func silentAddr(t *testing.T) string {
	return serveTCP(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// closingAddr accepts connections and hangs up at once.
func closingAddr(t *testing.T) string {
	return serveTCP(t, func(c net.Conn) { _ = c.Close() })
}

func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// blackholeAddr drops new connections' packets, as a security group does
// that does not allow the sender: a listener with a backlog of one that
// never accepts, and whose backlog is already full.
func blackholeAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 4 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // the backlog is full: this one's SYN was dropped
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Fatalf("a listener with a backlog of 0 at %s keeps completing connections", addr)
	return ""
}

// answer serves every request with status, headers and body.
func answer(t *testing.T, status int, headers map[string]string, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// s3Error answers as S3 does when it refuses a request.
func s3Error(t *testing.T, status int, code string) string {
	return answer(t, status, map[string]string{"Content-Type": "application/xml"},
		`<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>`+code+`</Message><RequestId>doctor-test</RequestId></Error>`)
}

// jsonAPIError answers as Secrets Manager and SSM (AWS JSON 1.1) do.
func jsonAPIError(t *testing.T, errorType string) string {
	return answer(t, http.StatusBadRequest, map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amzn-ErrorType": errorType},
		`{"__type":"`+errorType+`","message":"`+errorType+` from the doctor's test"}`)
}

var fakeKeys = credentials.NewStaticCredentialsProvider("doctor-test", "doctor-test", "")

// noRole is the credentials of an instance without an instance profile:
// the metadata service has no role to give.
func noRole(t *testing.T) aws.CredentialsProvider {
	endpoint := answer(t, http.StatusNotFound, nil, "")
	return ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: endpoint})
	})
}

// awsAt is how a test reaches an AWS API: its endpoint, the credentials,
// and a resolver for the endpoint's name (nil: the system's).
type awsAt struct {
	endpoint string
	creds    aws.CredentialsProvider
	resolver *net.Resolver
}

func (a awsAt) httpClient() aws.HTTPClient {
	if a.resolver == nil {
		return awshttp.NewBuildableClient()
	}
	return awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) { d.Resolver = a.resolver })
}

func (a awsAt) credentials() aws.CredentialsProvider {
	if a.creds == nil {
		return fakeKeys
	}
	return a.creds
}

// uploads is the S3 upload store in bucket.
func (a awsAt) uploads(bucket string) func() (photo.Blobs, error) {
	return func() (photo.Blobs, error) {
		client := s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(a.endpoint), UsePathStyle: true,
			Credentials: a.credentials(), HTTPClient: a.httpClient(),
		})
		return s3blob.New(client, s3blob.Options{Bucket: bucket, Prefix: "uploads/", PresignExpiry: time.Hour}), nil
	}
}

// secret reads a database secret from Secrets Manager.
func (a awsAt) secret() func(context.Context) error {
	client := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(a.endpoint), Credentials: a.credentials(), HTTPClient: a.httpClient(),
	})
	read := cloud.SecretCredentials(client, "arn:aws:secretsmanager:us-east-1:123456789012:secret:doctor-test", time.Minute)
	return func(ctx context.Context) error {
		_, _, err := read(ctx)
		return err
	}
}

// parameter reads the latency parameter from SSM.
func (a awsAt) parameter() func(context.Context) (string, error) {
	client := ssm.New(ssm.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(a.endpoint), Credentials: a.credentials(), HTTPClient: a.httpClient(),
	})
	return cloud.Parameter(client, "/web-demo/latency")
}

// mysqlAt opens a MySQL store that connects to addr as the test user.
func mysqlAt(addr string, change func(*sqldb.MySQLOptions)) func() (photo.Metadata, error) {
	return func() (photo.Metadata, error) {
		host, port, _ := net.SplitHostPort(addr)
		portNumber, _ := strconv.Atoi(port)
		opts := sqldb.MySQLOptions{Host: host, Port: portNumber, Database: "webdemo", User: "webdemo", Password: "webdemo", MaxConns: 2}
		if change != nil {
			change(&opts)
		}
		return sqldb.OpenMySQL(opts)
	}
}

// withMariaDB is mysqlAt on a fresh database in the test MariaDB, with its
// login, then change. It skips the test (fails it under CI) without one.
func withMariaDB(t *testing.T, change func(*sqldb.MySQLOptions)) Database {
	t.Helper()
	cfg := testenv.MySQLDatabase(t)
	return Database{Address: cfg.Addr, Open: mysqlAt(cfg.Addr, func(o *sqldb.MySQLOptions) {
		o.User, o.Password, o.Database = cfg.User, cfg.Passwd, cfg.DBName
		change(o)
	})}
}

// writeFile writes content to a new file in a test directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hungBlobs is an upload store on a mount that no longer answers, as EFS
// does when its security group drops NFS: a write waits, ignoring its
// context as file system calls do, until the test ends.
type hungBlobs struct {
	photo.Blobs
	released chan struct{}
}

func hung(t *testing.T) hungBlobs {
	h := hungBlobs{released: make(chan struct{})}
	t.Cleanup(func() { close(h.released) })
	return h
}

func (h hungBlobs) Put(context.Context, string, string, io.Reader, int64) error {
	<-h.released
	return errors.New("released")
}
