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
	"github.com/prometheus/client_golang/prometheus"

	"webdemo/app/cloud"
	"webdemo/app/config"
	"webdemo/app/disk"
	"webdemo/app/memcached"
	"webdemo/app/memory"
	"webdemo/app/photo"
	"webdemo/app/s3blob"
	"webdemo/app/servable"
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
	// collectors are the backends' own Prometheus series.
	collectors []prometheus.Collector
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

	_ = mysql.SetLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	store, err := openMetadata(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	b.metadata, b.migrate = store, store.Migrate
	b.closers = append(b.closers, b.metadata.Close)

	blobs, closeBlobs, err := openBlobs(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	b.blobs = blobs
	b.closers = append(b.closers, closeBlobs)
	// Never list a photo whose image cannot be served, such as one a
	// level step has not copied yet.
	listed := servable.New(b.metadata, blobs, logger)
	b.metadata, b.collectors = listed, append(b.collectors, listed)

	mc := memcached.NewClient(cfg.MemcachedServers, memcachedOptions(cfg, logger))
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

	if b.latencySource, err = latencySource(cfg, awsCfg); err != nil {
		return nil, err
	}

	b.identity = localIdentity(cfg)
	if cfg.EC2Metadata {
		idCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		id, ip, err := cloud.InstanceIdentity(idCtx, instanceMetadata())
		if err != nil {
			logger.Warn("instance metadata unavailable; showing the host name", "err", err)
		} else {
			b.identity = server.Identity{Name: id, Detail: ip}
		}
	}
	return b, nil
}

// awsLoader loads the AWS SDK's configuration once, on first use.
type awsLoader func() (aws.Config, error)

// mysqlOptions says how to reach MySQL; with MYSQL_SECRET_ARN its
// Credentials read the login from Secrets Manager.
func mysqlOptions(cfg config.Config, awsCfg awsLoader) (sqldb.MySQLOptions, error) {
	opts := sqldb.MySQLOptions{
		DSN: cfg.MySQLDSN, Host: cfg.MySQLHost, Port: cfg.MySQLPort, Database: cfg.MySQLDatabase,
		User: cfg.MySQLUser, Password: cfg.MySQLPassword, TLSCAFile: cfg.MySQLTLSCAFile, MaxConns: cfg.MySQLMaxConns,
	}
	if cfg.MySQLSecretARN != "" {
		a, err := awsCfg()
		if err != nil {
			return opts, err
		}
		opts.Credentials = cloud.SecretCredentials(secretsmanager.NewFromConfig(a), cfg.MySQLSecretARN, time.Minute)
	}
	return opts, nil
}

// openMetadata opens the photo records' store; it does not connect.
func openMetadata(cfg config.Config, awsCfg awsLoader) (*sqldb.Store, error) {
	if cfg.DBDriver == config.DriverSQLite {
		store, err := sqldb.OpenSQLite(cfg.SQLitePath)
		if err != nil {
			return nil, fmt.Errorf("SQLITE_PATH: %w", err)
		}
		return store, nil
	}
	opts, err := mysqlOptions(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	return sqldb.OpenMySQL(opts)
}

// openBlobs opens the upload store, and returns what closes it.
func openBlobs(cfg config.Config, awsCfg awsLoader) (photo.Blobs, func() error, error) {
	if cfg.Storage == config.StorageDisk {
		blobs, err := disk.Open(cfg.UploadDir)
		if err != nil {
			return nil, nil, fmt.Errorf("UPLOAD_DIR: %w", err)
		}
		return blobs, blobs.Close, nil
	}
	a, err := awsCfg()
	if err != nil {
		return nil, nil, err
	}
	client := s3.NewFromConfig(a, func(o *s3.Options) {
		if cfg.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.S3Endpoint)
		}
		o.UsePathStyle = cfg.S3PathStyle
	})
	return s3blob.New(client, s3blob.Options{
		Bucket: cfg.S3Bucket, Prefix: cfg.S3Prefix, PresignExpiry: cfg.S3PresignExpiry, CDNBaseURL: cfg.CDNBaseURL,
	}), func() error { return nil }, nil
}

// memcachedOptions are the memcached client's options beyond its servers.
func memcachedOptions(cfg config.Config, logger *slog.Logger) memcached.Options {
	opts := memcached.Options{Logger: logger}
	if cfg.MemcachedTLS {
		// The system's trust store; the client verifies each server's
		// configured host name, which ElastiCache's certificate carries.
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return opts
}

// latencySource reads the simulated latency from LATENCY_FILE or
// LATENCY_SSM_PARAMETER; nil when neither is set.
func latencySource(cfg config.Config, awsCfg awsLoader) (func(context.Context) (string, error), error) {
	switch {
	case cfg.LatencyFile != "":
		return func(context.Context) (string, error) {
			raw, err := os.ReadFile(cfg.LatencyFile)
			return string(raw), err
		}, nil
	case cfg.LatencySSMParam != "":
		a, err := awsCfg()
		if err != nil {
			return nil, err
		}
		return cloud.Parameter(ssm.NewFromConfig(a), cfg.LatencySSMParam), nil
	}
	return nil, nil
}

// instanceMetadata is an IMDS client; it fetches the IMDSv2 token itself.
func instanceMetadata() *imds.Client {
	return imds.New(imds.Options{})
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
func lazyAWS(ctx context.Context, cfg config.Config) awsLoader {
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
