package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/aws/smithy-go"
	"github.com/bradfitz/gomemcache/memcache"
	"github.com/go-sql-driver/mysql"
)

// Class is what kind of failure an error shows, whatever the backend.
type Class string

// The classes Classify tells apart.
const (
	Refused         Class = "connection refused"
	Timeout         Class = "timeout"
	NoAnswer        Class = "connected, no answer"
	Closed          Class = "connection closed"
	DNS             Class = "name not found"
	TLS             Class = "TLS"
	Denied          Class = "access denied"
	Unauthorized    Class = "unauthorized"
	NoCredentials   Class = "no AWS credentials"
	Login           Class = "login refused"
	UnknownDatabase Class = "unknown database"
	NoTable         Class = "no table"
	NoBucket        Class = "no such bucket"
	WrongRegion     Class = "wrong region"
	NotFound        Class = "not found"
	NoFile          Class = "no such file"
	Permission      Class = "permission denied"
	BadValue        Class = "bad value"
	Other           Class = "other"
)

// errNoAnswer marks a timeout after the TCP connection was made: the
// network let the packets through, so a security group is not the cause.
var errNoAnswer = errors.New("connected, but no answer")

// badValueError is a value that was read but makes no sense.
type badValueError struct{ err error }

func (e *badValueError) Error() string { return e.err.Error() }
func (e *badValueError) Unwrap() error { return e.err }

// MySQL server error numbers ("Server Error Message Reference").
const (
	mysqlAccessDenied        = 1045 // wrong user or password
	mysqlDatabaseDenied      = 1044 // the user may not use that database
	mysqlUnknownDatabase     = 1049
	mysqlNoSuchTable         = 1146
	mysqlInsecureTransport   = 3159 // require_secure_transport=ON and no TLS
	mariadbInsecureTransport = 4151 // MariaDB's number for the same
)

// Classify says what kind of failure err is. The order matters: an AWS
// credentials failure wraps the metadata service's timeout, and a MySQL
// login error is also an "access denied".
func Classify(err error) Class {
	if err == nil {
		return ""
	}
	var (
		mysqlErr  *mysql.MySQLError
		apiErr    smithy.APIError
		httpErr   interface{ HTTPStatusCode() int }
		dnsErr    *net.DNSError
		netErr    net.Error
		mcTimeout *memcache.ConnectTimeoutError
		unknownCA x509.UnknownAuthorityError
		badName   x509.HostnameError
		badCert   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
	)
	switch {
	case errors.Is(err, errNoAnswer):
		return NoAnswer
	case errors.As(err, new(*badValueError)):
		return BadValue
	case errors.As(err, &mysqlErr):
		switch mysqlErr.Number {
		case mysqlAccessDenied, mysqlDatabaseDenied:
			return Login
		case mysqlUnknownDatabase:
			return UnknownDatabase
		case mysqlNoSuchTable:
			return NoTable
		case mysqlInsecureTransport, mariadbInsecureTransport:
			return TLS
		}
		return Other
	case errors.Is(err, mysql.ErrNoTLS),
		errors.As(err, &unknownCA), errors.As(err, &badName), errors.As(err, &badCert),
		errors.As(err, &verifyErr), errors.As(err, &recordErr), errors.As(err, &alertErr):
		return TLS
	case isCredentialsError(err):
		return NoCredentials
	case errors.As(err, &apiErr):
		if c := apiClass(apiErr.ErrorCode()); c != "" {
			return c
		}
	}
	status := 0
	if errors.As(err, &httpErr) {
		status = httpErr.HTTPStatusCode()
	} else if strings.Contains(err.Error(), "StatusCode: 401,") {
		// The IMDS client hides a 401 behind an error that does not unwrap.
		status = 401
	}
	switch status {
	case 401:
		return Unauthorized
	case 403:
		return Denied
	case 404:
		return NotFound
	}
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return DNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &mcTimeout), errors.As(err, &netErr) && netErr.Timeout():
		return Timeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, driver.ErrBadConn):
		return Closed
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return Permission
	case errors.Is(err, fs.ErrNotExist):
		return NoFile
	case isNoSuchTable(err):
		return NoTable
	}
	return Other
}

// apiClass maps an AWS error code; "" when the code says nothing useful.
func apiClass(code string) Class {
	switch code {
	case "AccessDenied", "AccessDeniedException", "Forbidden", "UnauthorizedOperation",
		"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "UnrecognizedClientException":
		return Denied
	case "NoSuchBucket":
		return NoBucket
	case "ParameterNotFound", "ResourceNotFoundException":
		return NotFound
	case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
		return WrongRegion
	}
	return ""
}

// isCredentialsError reports the AWS SDK failing to find credentials. The
// SDK has no error type for it, only these wrappers' words.
func isCredentialsError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "failed to refresh cached credentials") ||
		strings.Contains(msg, "get identity: get credentials")
}

// isNoSuchTable reports SQLite's missing table, which has no error number
// of its own (SQLITE_ERROR covers every SQL error).
func isNoSuchTable(err error) bool {
	return strings.Contains(err.Error(), "no such table")
}
