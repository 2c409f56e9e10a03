package doctor

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/go-sql-driver/mysql"

	"webdemo/app/disk"
	"webdemo/app/internal/testenv"
	"webdemo/app/memcached"
	"webdemo/app/photo"
	"webdemo/app/sqldb"
)

// hintCase makes one failure for real, on this machine, and names the hint
// it must bring.
type hintCase struct {
	name  string
	dep   Dependency
	class Class
	// timeout bounds the check; 1 s when zero.
	timeout time.Duration
	check   func(t *testing.T) Check
}

func hintCases() []hintCase {
	database := func(dep Dependency, addr string, change func(*sqldb.MySQLOptions)) func(t *testing.T) Check {
		return func(t *testing.T) Check {
			return Database{Address: addr, Open: mysqlAt(addr, change)}.Check(addr, dep)
		}
	}
	onMariaDB := func(dep Dependency, change func(*sqldb.MySQLOptions)) func(t *testing.T) Check {
		return func(t *testing.T) Check { return withMariaDB(t, change).Check("mariadb", dep) }
	}
	wrongPassword := func(o *sqldb.MySQLOptions) { o.Password = "not-the-password" }
	missingDatabase := func(o *sqldb.MySQLOptions) { o.Database = testenv.RandomName("webdemo_test_missing_") }
	secret := func(endpoint func(t *testing.T) awsAt) func(t *testing.T) Check {
		return func(t *testing.T) Check {
			addr := refusedAddr(t)
			return Database{ReadSecret: endpoint(t).secret(), Address: addr, Open: mysqlAt(addr, nil)}.Check(addr, RDS)
		}
	}
	bucket := func(endpoint func(t *testing.T) awsAt) func(t *testing.T) Check {
		return func(t *testing.T) Check { return Uploads("s3", S3, endpoint(t).uploads("webdemo-uploads")) }
	}
	parameter := func(endpoint func(t *testing.T) awsAt) func(t *testing.T) Check {
		return func(t *testing.T) Check { return Latency("ssm", LatencyParameter, endpoint(t).parameter()) }
	}
	memcachedAt := func(addr func(t *testing.T) string, opts func(t *testing.T) memcached.Options) func(t *testing.T) Check {
		return func(t *testing.T) Check {
			server, o := addr(t), memcached.Options{}
			if opts != nil {
				o = opts(t)
			}
			o.Logger = slog.New(slog.DiscardHandler)
			return MemcachedServer(server, memcached.NewClient([]string{server}, o), o.Resolver, "webdemo:")
		}
	}
	metadataAt := func(endpoint func(t *testing.T) string) func(t *testing.T) Check {
		return func(t *testing.T) Check { return InstanceIdentity(imds.New(imds.Options{Endpoint: endpoint(t)})) }
	}
	httpURL := func(addr func(t *testing.T) string) func(t *testing.T) string {
		return func(t *testing.T) string { return "http://" + addr(t) }
	}
	at := func(endpoint func(t *testing.T) string) func(t *testing.T) awsAt {
		return func(t *testing.T) awsAt { return awsAt{endpoint: endpoint(t)} }
	}
	jsonError := func(errorType string) func(t *testing.T) string {
		return func(t *testing.T) string { return jsonAPIError(t, errorType) }
	}
	withoutRole := func(t *testing.T) awsAt { return awsAt{endpoint: refusedURL(t), creds: noRole(t)} }
	unresolvable := func(t *testing.T) awsAt {
		return awsAt{endpoint: "http://api.doctor-test.invalid", resolver: testenv.NewDNS(t).Resolver()}
	}
	unresolvableName := func(t *testing.T) string { return "cache.doctor-test.invalid:11211" }
	status := func(code int) func(t *testing.T) string {
		return func(t *testing.T) string { return answer(t, code, nil, "") }
	}

	return []hintCase{
		{name: "RDS dropped by its security group", dep: RDS, class: Timeout,
			check: func(t *testing.T) Check { return database(RDS, blackholeAddr(t), nil)(t) }},
		{name: "RDS refused", dep: RDS, class: Refused,
			check: func(t *testing.T) Check { return database(RDS, refusedAddr(t), nil)(t) }},
		{name: "RDS silent", dep: RDS, class: NoAnswer,
			check: func(t *testing.T) Check { return database(RDS, silentAddr(t), nil)(t) }},
		{name: "RDS host unknown", dep: RDS, class: DNS,
			check: func(t *testing.T) Check {
				addr := "db.doctor-test.invalid:3306"
				return Database{Address: addr, Resolver: testenv.NewDNS(t).Resolver(), Open: mysqlAt(addr, nil)}.Check(addr, RDS)
			}},
		{name: "RDS without TLS", dep: RDS, class: TLS,
			check: func(t *testing.T) Check {
				ca := untrustedCAFile(t)
				return onMariaDB(RDS, func(o *sqldb.MySQLOptions) { o.TLSCAFile = ca })(t)
			}},
		{name: "RDS CA bundle missing", dep: RDS, class: NoFile,
			check: func(t *testing.T) Check {
				missing := filepath.Join(t.TempDir(), "rds-ca.pem")
				return database(RDS, refusedAddr(t), func(o *sqldb.MySQLOptions) { o.TLSCAFile = missing })(t)
			}},
		{name: "RDS wrong password", dep: RDS, class: Login, check: onMariaDB(RDS, wrongPassword)},
		{name: "RDS database missing", dep: RDS, class: UnknownDatabase, check: onMariaDB(RDS, missingDatabase)},
		{name: "MariaDB on the host stopped", dep: LocalMySQL, class: Refused,
			check: func(t *testing.T) Check { return database(LocalMySQL, refusedAddr(t), nil)(t) }},
		{name: "MariaDB on the host, wrong password", dep: LocalMySQL, class: Login, check: onMariaDB(LocalMySQL, wrongPassword)},
		{name: "MariaDB on the host, database missing", dep: LocalMySQL, class: UnknownDatabase, check: onMariaDB(LocalMySQL, missingDatabase)},
		{name: "database secret denied", dep: DatabaseSecret, class: Denied, check: secret(at(jsonError("AccessDeniedException")))},
		{name: "database secret missing", dep: DatabaseSecret, class: NotFound, check: secret(at(jsonError("ResourceNotFoundException")))},

		{name: "S3 without a role", dep: S3, class: NoCredentials, check: bucket(withoutRole)},
		{name: "database secret without a role", dep: DatabaseSecret, class: NoCredentials, check: secret(withoutRole)},
		{name: "SSM without a role", dep: LatencyParameter, class: NoCredentials, check: parameter(withoutRole)},
		{name: "S3 unreachable", dep: S3, class: Timeout, check: bucket(at(httpURL(blackholeAddr)))},
		{name: "Secrets Manager unreachable", dep: DatabaseSecret, class: Timeout, check: secret(at(httpURL(blackholeAddr)))},
		{name: "SSM unreachable", dep: LatencyParameter, class: Timeout, check: parameter(at(httpURL(blackholeAddr)))},
		{name: "S3 endpoint unknown", dep: S3, class: DNS, check: bucket(unresolvable)},
		{name: "Secrets Manager endpoint unknown", dep: DatabaseSecret, class: DNS, check: secret(unresolvable)},
		{name: "SSM endpoint unknown", dep: LatencyParameter, class: DNS, check: parameter(unresolvable)},

		{name: "memcached dropped by its security group", dep: Memcached, class: Timeout, check: memcachedAt(blackholeAddr, nil)},
		{name: "memcached refused", dep: Memcached, class: Refused, check: memcachedAt(refusedAddr, nil)},
		{name: "memcached name unknown", dep: Memcached, class: DNS, check: memcachedAt(unresolvableName,
			func(t *testing.T) memcached.Options { return memcached.Options{Resolver: testenv.NewDNS(t).Resolver()} })},
		{name: "memcached certificate untrusted", dep: Memcached, class: TLS, check: memcachedAt(tlsNode,
			func(*testing.T) memcached.Options {
				return memcached.Options{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
			})},
		{name: "memcached over TLS to a plain node", dep: Memcached, class: NoAnswer, check: memcachedAt(silentAddr,
			func(*testing.T) memcached.Options {
				return memcached.Options{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
			})},
		{name: "memcached plain to an encrypting node", dep: Memcached, class: Closed, check: memcachedAt(tlsNode, nil)},

		{name: "S3 denied", dep: S3, class: Denied,
			check: bucket(at(func(t *testing.T) string { return s3Error(t, http.StatusForbidden, "AccessDenied") }))},
		{name: "S3 bucket missing", dep: S3, class: NoBucket,
			check: bucket(at(func(t *testing.T) string { return testenv.FakeS3(t).Endpoint }))},
		{name: "S3 bucket in another region", dep: S3, class: WrongRegion,
			check: bucket(at(func(t *testing.T) string { return s3Error(t, http.StatusBadRequest, "AuthorizationHeaderMalformed") }))},
		{name: "S3-compatible server down", dep: S3, class: Refused, check: bucket(at(refusedURL))},
		{name: "upload directory not writable", dep: UploadDir, class: Permission,
			check: func(t *testing.T) Check {
				return Uploads("/sys", UploadDir, func() (photo.Blobs, error) {
					// Even root may not make directories in sysfs.
					b, err := disk.Open("/sys/webdemo-doctor-test/uploads")
					return b, err
				})
			}},
		{name: "upload directory hangs", dep: UploadDir, class: Timeout, timeout: 300 * time.Millisecond,
			check: func(t *testing.T) Check {
				store := hung(t)
				return Uploads("/mnt/uploads", UploadDir, func() (photo.Blobs, error) { return store, nil })
			}},

		{name: "latency file missing", dep: LatencyFile, class: NoFile,
			check: func(t *testing.T) Check {
				return Latency("file", LatencyFile, fileReader(filepath.Join(t.TempDir(), "latency")))
			}},
		{name: "latency file not a duration", dep: LatencyFile, class: BadValue,
			check: func(t *testing.T) Check {
				return Latency("file", LatencyFile, fileReader(writeFile(t, "latency", "fast")))
			}},
		{name: "latency parameter denied", dep: LatencyParameter, class: Denied, check: parameter(at(jsonError("AccessDeniedException")))},
		{name: "latency parameter missing", dep: LatencyParameter, class: NotFound, check: parameter(at(jsonError("ParameterNotFound")))},
		{name: "latency parameter not a duration", dep: LatencyParameter, class: BadValue,
			check: parameter(at(func(t *testing.T) string {
				return answer(t, http.StatusOK, map[string]string{"Content-Type": "application/x-amz-json-1.1"},
					`{"Parameter":{"Name":"/web-demo/latency","Type":"String","Value":"fast"}}`)
			}))},

		{name: "metadata dropped", dep: InstanceMetadata, class: Timeout, check: metadataAt(httpURL(blackholeAddr))},
		// The IMDS client retries a 401 with a new token, with back-off.
		{name: "metadata wants a token", dep: InstanceMetadata, class: Unauthorized, timeout: 10 * time.Second,
			check: metadataAt(status(http.StatusUnauthorized))},
		{name: "metadata endpoint disabled", dep: InstanceMetadata, class: Denied, check: metadataAt(status(http.StatusForbidden))},
	}
}

// TestEveryHint makes each failure the doctor has a hint for, and checks
// that the doctor names its class and gives that hint.
func TestEveryHint(t *testing.T) {
	for _, c := range hintCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			timeout := c.timeout
			if timeout == 0 {
				timeout = time.Second
			}
			r := Probe(context.Background(), c.check(t), timeout)
			if r.OK() {
				t.Fatalf("check passed (%s); want a %q failure", r.Detail, c.class)
			}
			if r.Class != c.class {
				t.Fatalf("class = %q, want %q; error: %v", r.Class, c.class, r.Err)
			}
			want := Hint(c.dep, c.class)
			if want == "" || r.Hint != want {
				t.Fatalf("hint = %q, want %q (the table's hint for %s, %s)", r.Hint, want, c.dep, c.class)
			}
		})
	}
}

// TestEveryHintIsTested keeps the table and its tests together: a hint
// added without a failure that brings it fails here.
func TestEveryHintIsTested(t *testing.T) {
	type pair struct {
		dep   Dependency
		class Class
	}
	var tested []pair
	for _, c := range hintCases() {
		tested = append(tested, pair{c.dep, c.class})
	}
	for _, h := range hints {
		for _, dep := range h.on {
			for _, class := range h.when {
				if !slices.Contains(tested, pair{dep, class}) {
					t.Errorf("no test makes a %q failure of %s, which has the hint %q", class, dep, h.text)
				}
			}
		}
	}
}

// refusedURL is an HTTP endpoint where nothing listens.
func refusedURL(t *testing.T) string { return "http://" + refusedAddr(t) }

// tlsNode is a memcached node with in-transit encryption, and a
// certificate no system trusts.
func tlsNode(t *testing.T) string {
	// The proxy shakes hands once it has a connection to forward to; the
	// failures tested end there.
	return testenv.TLSProxy(t, silentAddr(t), testenv.NewTLSCert(t, "cache.doctor-test")).Addr
}

// untrustedCAFile is a PEM bundle with a certificate that signed nothing
// the server holds.
func untrustedCAFile(t *testing.T) string {
	cert := testenv.NewTLSCert(t, "db.doctor-test")
	return writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate.Certificate[0]})))
}

// fileReader reads the latency from a file, as the app does.
func fileReader(path string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		raw, err := os.ReadFile(path)
		return string(raw), err
	}
}

// TestInsecureTransportIsTLS covers the server's refusal of a connection
// without TLS, which the test MariaDB cannot make without an admin's
// require_secure_transport: RDS for MySQL sends 3159, MariaDB 4151.
func TestInsecureTransportIsTLS(t *testing.T) {
	for _, number := range []uint16{3159, 4151} {
		err := fmt.Errorf("ping: %w", &mysql.MySQLError{Number: number, Message: "Connections using insecure transport are prohibited"})
		if got := Classify(err); got != TLS {
			t.Errorf("MySQL error %d is %q, want %q", number, got, TLS)
		}
	}
}
