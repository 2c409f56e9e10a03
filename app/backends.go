package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/go-sql-driver/mysql"

	"webdemo/app/cloud"
	"webdemo/app/config"
	"webdemo/app/disk"
	"webdemo/app/memcached"
	"webdemo/app/memory"
	"webdemo/app/photo"
	"webdemo/app/s3blob"
	"webdemo/app/server"
	"webdemo/app/sqldb"
)

// backends are the stores chosen by configuration.
type backends struct {
	metadata      photo.Metadata
	migrate       func(context.Context) error
	blobs         photo.Blobs
	cache         photo.Cache
	sessions      scs.Store
	identity      server.Identity
	latencySource func(context.Context) (string, error)
	closers       []func() error
}

func (b *backends) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i]()
	}
}

// openBackends builds each store named by cfg. It does not wait for
// network services: they may come up after the app does.
func openBackends(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *backends, err error) {
	b := &backends{}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	awsCfg := lazyAWS(ctx, cfg)

	switch cfg.DBDriver {
	case config.DriverSQLite:
		store, err := sqldb.OpenSQLite(cfg.SQLitePath)
		if err != nil {
			return nil, fmt.Errorf("SQLITE_PATH: %w", err)
		}
		b.metadata, b.migrate = store, store.Migrate
	case config.DriverMySQL:
		opts := sqldb.MySQLOptions{
			DSN: cfg.MySQLDSN, Host: cfg.MySQLHost, Port: cfg.MySQLPort, Database: cfg.MySQLDatabase,
			User: cfg.MySQLUser, Password: cfg.MySQLPassword, TLSCAFile: cfg.MySQLTLSCAFile, MaxConns: cfg.MySQLMaxConns,
		}
		if cfg.MySQLSecretARN != "" {
			a, err := awsCfg()
			if err != nil {
				return nil, err
			}
			opts.Credentials = cloud.SecretCredentials(secretsmanager.NewFromConfig(a), cfg.MySQLSecretARN, time.Minute)
		}
		_ = mysql.SetLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
		store, err := sqldb.OpenMySQL(opts)
		if err != nil {
			return nil, err
		}
		b.metadata, b.migrate = store, store.Migrate
	}
	b.closers = append(b.closers, b.metadata.Close)

	switch cfg.Storage {
	case config.StorageDisk:
		blobs, err := disk.Open(cfg.UploadDir)
		if err != nil {
			return nil, fmt.Errorf("UPLOAD_DIR: %w", err)
		}
		b.blobs = blobs
		b.closers = append(b.closers, blobs.Close)
	case config.StorageS3:
		a, err := awsCfg()
		if err != nil {
			return nil, err
		}
		client := s3.NewFromConfig(a, func(o *s3.Options) {
			if cfg.S3Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.S3Endpoint)
			}
			o.UsePathStyle = cfg.S3PathStyle
		})
		b.blobs = s3blob.New(client, s3blob.Options{
			Bucket: cfg.S3Bucket, Prefix: cfg.S3Prefix, PresignExpiry: cfg.S3PresignExpiry, CDNBaseURL: cfg.CDNBaseURL,
		})
	}

	mcOpts := memcached.Options{Logger: logger}
	if cfg.MemcachedTLS {
		// The system's trust store; the client verifies each server's
		// configured host name, which ElastiCache's certificate carries.
		mcOpts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	mc := memcached.NewClient(cfg.MemcachedServers, mcOpts)
	switch cfg.Sessions {
	case config.SessionsMemory:
		// Lives as long as the process; scs's StopCleanup is racy, so it is
		// never called.
		b.sessions = memstore.NewWithCleanupInterval(time.Minute)
	case config.SessionsMemcached:
		b.sessions = memcached.NewSessions(mc, cfg.MemcachedPrefix+"session:")
	}
	switch cfg.PageCache {
	case config.CacheMemory:
		b.cache = memory.NewCache()
	case config.CacheMemcached:
		b.cache = memcached.NewCache(mc, cfg.MemcachedPrefix+"cache:")
	}
	b.closers = append(b.closers, mc.Close)

	switch {
	case cfg.LatencyFile != "":
		b.latencySource = func(context.Context) (string, error) {
			raw, err := os.ReadFile(cfg.LatencyFile)
			return string(raw), err
		}
	case cfg.LatencySSMParam != "":
		a, err := awsCfg()
		if err != nil {
			return nil, err
		}
		b.latencySource = cloud.Parameter(ssm.NewFromConfig(a), cfg.LatencySSMParam)
	}

	b.identity = localIdentity(cfg)
	if cfg.EC2Metadata {
		idCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		id, ip, err := cloud.InstanceIdentity(idCtx, imds.New(imds.Options{}))
		if err != nil {
			logger.Warn("instance metadata unavailable; showing the host name", "err", err)
		} else {
			b.identity = server.Identity{Name: id, Detail: ip}
		}
	}
	return b, nil
}

func localIdentity(cfg config.Config) server.Identity {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	if cfg.InstanceName == "" {
		return server.Identity{Name: host}
	}
	return server.Identity{Name: cfg.InstanceName, Detail: host}
}

// lazyAWS loads the AWS SDK's configuration on first use, so the
// zero-setup default never looks for AWS credentials.
func lazyAWS(ctx context.Context, cfg config.Config) func() (aws.Config, error) {
	return sync.OnceValues(func() (aws.Config, error) {
		var opts []func(*awsconfig.LoadOptions) error
		if cfg.AWSRegion != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.AWSRegion))
		}
		loaded, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return loaded, fmt.Errorf("AWS configuration: %w", err)
		}
		return loaded, nil
	})
}
