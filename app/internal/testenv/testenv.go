// Package testenv connects tests to the real services that scripts/test.sh
// installs and starts: MariaDB, memcached and an S3-compatible endpoint.
// It imports apptest and the services' clients; only tests import it.
//
// A test whose service is missing is skipped on a developer's machine and
// fails when CI=true, so CI can never pass by skipping.
package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/go-sql-driver/mysql"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"webdemo/app/apptest"
)

// Missing skips the test, or fails it under CI.
var Missing = apptest.Missing

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// RandomName returns prefix plus 12 random hex digits, for databases,
// buckets and key prefixes that keep tests apart.
func RandomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// MySQLAdminDSN is the DSN of a user allowed to create webdemo_test_*
// databases. scripts/test.sh creates that user.
func MySQLAdminDSN() string {
	return getenv("TEST_MYSQL_DSN", "webdemo_test:webdemo_test@tcp(127.0.0.1:3306)/")
}

// MySQLDatabase creates a fresh, empty database, dropped when the test ends,
// and returns a DSN for it.
func MySQLDatabase(t testing.TB) *mysql.Config {
	t.Helper()
	admin, err := sql.Open("mysql", MySQLAdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Missing(t, "MariaDB at %s: %v", MySQLAdminDSN(), err)
	}
	name := RandomName("webdemo_test_")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE " + name) })
	cfg, err := mysql.ParseDSN(MySQLAdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	return cfg
}

// MemcachedAddr returns the address of a running memcached.
func MemcachedAddr(t testing.TB) string {
	t.Helper()
	addr := getenv("TEST_MEMCACHED", "127.0.0.1:11211")
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		Missing(t, "memcached at %s: %v", addr, err)
	}
	_ = conn.Close()
	return addr
}

// S3 is an S3-compatible endpoint served over HTTP, with one empty bucket.
type S3 struct {
	Endpoint string
	Bucket   string
	Client   *s3.Client
}

// Dummy keys: the fake endpoint checks nothing, and no real key may ever
// appear in this repository.
const fakeAccessKey, fakeSecretKey = "webdemo-test", "webdemo-test"

// NewS3Client returns a real aws-sdk-go-v2 client for an S3-compatible
// endpoint, with path-style addressing.
func NewS3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(fakeAccessKey, fakeSecretKey, ""),
	})
}

// FakeS3 serves gofakes3 on a loopback port for the test's lifetime and
// creates a bucket in it.
func FakeS3(t testing.TB) *S3 {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	s := &S3{Endpoint: srv.URL, Bucket: RandomName("webdemo-test-"), Client: NewS3Client(srv.URL)}
	if _, err := s.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
		t.Fatal(err)
	}
	return s
}

// Credentials returns the process environment the app's AWS SDK reads: the
// fake keys, and no instance metadata, for tests that run the whole app
// against FakeS3.
func Credentials() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":         fakeAccessKey,
		"AWS_SECRET_ACCESS_KEY":     fakeSecretKey,
		"AWS_REGION":                "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// Proxy forwards TCP connections to a target until it is taken down, to
// simulate a service outage and its recovery without touching the service.
type Proxy struct {
	Addr   string
	target string
	ln     net.Listener
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
	served int
}

// NewProxy listens on a loopback port and forwards to target.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startProxy(t, ln, target)
}

// TLSCert is a fresh self-signed server certificate and a client config
// that trusts only it.
type TLSCert struct {
	Certificate  tls.Certificate
	ClientConfig *tls.Config
}

// NewTLSCert returns a certificate for the given host names and no IP
// address, like ElastiCache's, so a client that verifies the IP it dialed
// instead of the name it was given fails.
func NewTLSCert(t testing.TB, names ...string) *TLSCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "web-demo test"},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &TLSCert{
		Certificate:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
		ClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}
}

// TLSProxy serves TLS with cert on a loopback port and forwards the
// plaintext to target.
func TLSProxy(t testing.TB, target string, cert *TLSCert) *Proxy {
	t.Helper()
	return TLSProxies(t, target, cert, "127.0.0.1")[0]
}

// TLSProxies starts a TLS proxy to target on each loopback IP, all on one
// port: a DNS name that moves from one IP to another then moves from one
// proxy to another while "name:port" stays the same, as when ElastiCache
// replaces a node.
func TLSProxies(t testing.TB, target string, cert *TLSCert, ips ...string) []*Proxy {
	t.Helper()
	serverConfig := &tls.Config{Certificates: []tls.Certificate{cert.Certificate}, MinVersion: tls.VersionTLS12}
	for range 20 {
		lns, err := listenSamePort(ips)
		if errors.Is(err, syscall.EADDRINUSE) {
			continue // the first IP's free port is taken on another; pick again
		}
		if err != nil {
			t.Fatal(err)
		}
		proxies := make([]*Proxy, len(lns))
		for i, ln := range lns {
			proxies[i] = startProxy(t, tls.NewListener(ln, serverConfig), target)
		}
		return proxies
	}
	t.Fatalf("no port free on all of %v", ips)
	return nil
}

func listenSamePort(ips []string) ([]net.Listener, error) {
	var lns []net.Listener
	port := "0"
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
		_, port, _ = net.SplitHostPort(ln.Addr().String())
	}
	return lns, nil
}

func startProxy(t testing.TB, ln net.Listener, target string) *Proxy {
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = ln.Close(); p.SetDown(true) })
	go p.serve()
	return p
}

// SetDown cuts every open connection and refuses new ones, or lets them
// through again.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

// Port is the port the proxy listens on.
func (p *Proxy) Port() string {
	_, port, _ := net.SplitHostPort(p.Addr)
	return port
}

// Served counts the connections forwarded so far.
func (p *Proxy) Served() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.served
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.served++
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			server, err := net.DialTimeout("tcp", p.target, 2*time.Second)
			if err != nil || !p.track(client, server) {
				_ = client.Close()
				if server != nil {
					_ = server.Close()
				}
				return
			}
			go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
			_, _ = io.Copy(client, server)
			_ = client.Close()
		}()
	}
}
