package sqldb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQLOptions says how to reach MySQL. DSN, when set, wins over the parts.
type MySQLOptions struct {
	DSN      string
	Host     string
	Port     int
	Database string
	User     string
	Password string
	// TLSCAFile, when set, requires TLS verified against this PEM bundle
	// (the RDS CA bundle on AWS).
	TLSCAFile string
	MaxConns  int
	// Credentials, when set, is asked for the user and password before
	// every new connection, so a rotated secret is picked up by itself.
	Credentials func(context.Context) (user, password string, err error)
}

// OpenMySQL returns a Store on a MySQL pool. It does not connect: the
// database may come up after the app, and the pool reconnects by itself.
func OpenMySQL(o MySQLOptions) (*Store, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxLifetime(5 * time.Minute)
	db.SetConnMaxIdleTime(time.Minute)
	return NewMySQL(db), nil
}

func (o MySQLOptions) config() (*mysql.Config, error) {
	var cfg *mysql.Config
	if o.DSN != "" {
		parsed, err := mysql.ParseDSN(o.DSN)
		if err != nil {
			return nil, fmt.Errorf("MYSQL_DSN: %w", err)
		}
		cfg = parsed
	} else {
		cfg = mysql.NewConfig()
		cfg.Net = "tcp"
		cfg.Addr = net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
		cfg.DBName = o.Database
		cfg.User = o.User
		cfg.Passwd = o.Password
	}
	// One round trip per query instead of prepare, execute and close.
	cfg.InterpolateParams = true
	cfg.Timeout = 3 * time.Second
	cfg.ReadTimeout = 10 * time.Second
	cfg.WriteTimeout = 10 * time.Second
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("MYSQL_TLS_CA_FILE: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, errors.New("MYSQL_TLS_CA_FILE: no PEM certificates in " + o.TLSCAFile)
		}
		host, _, _ := net.SplitHostPort(cfg.Addr)
		cfg.TLS = &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if o.Credentials != nil {
		err := cfg.Apply(mysql.BeforeConnect(func(ctx context.Context, c *mysql.Config) error {
			user, password, err := o.Credentials(ctx)
			if err != nil {
				return fmt.Errorf("mysql credentials: %w", err)
			}
			c.User, c.Passwd = user, password
			return nil
		}))
		if err != nil {
			return nil, fmt.Errorf("mysql: %w", err)
		}
	}
	return cfg, nil
}
