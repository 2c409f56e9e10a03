package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"

	"webdemo/app/config"
	"webdemo/app/doctor"
	"webdemo/app/memcached"
	"webdemo/app/photo"
	"webdemo/app/sqldb"
)

// doctorTimeout bounds each check, so a security group that drops packets
// shows up as a timeout in seconds, not minutes.
const doctorTimeout = 5 * time.Second

// runDoctor checks every dependency the settings name, prints a line per
// check, and fails when any check does: `webdemo doctor`.
func runDoctor(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout io.Writer) error {
	cfg, err := config.Load(args, lookupEnv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// Each failure is on its check's line; the clients' own logs would
	// only repeat it.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	return doctor.Run(ctx, stdout, doctorTimeout, doctorChecks(ctx, cfg))
}

// doctorChecks opens each backend the way the app does, within its check,
// so that a backend that cannot even be opened fails its own line.
func doctorChecks(ctx context.Context, cfg config.Config) []doctor.Check {
	awsCfg := lazyAWS(ctx, cfg)
	quiet := slog.New(slog.DiscardHandler)
	checks := []doctor.Check{databaseCheck(cfg, awsCfg)}

	for _, server := range cfg.MemcachedServers {
		client := memcached.NewClient([]string{server}, memcachedOptions(cfg, quiet))
		checks = append(checks, doctor.MemcachedServer(server, client, nil, cfg.MemcachedPrefix))
	}

	target, dep := cfg.UploadDir, doctor.UploadDir
	if cfg.Storage == config.StorageS3 {
		target, dep = "s3://"+cfg.S3Bucket+"/"+cfg.S3Prefix, doctor.S3
	}
	checks = append(checks, doctor.Uploads(target, dep, func() (photo.Blobs, error) {
		blobs, _, err := openBlobs(cfg, awsCfg)
		return blobs, err
	}))

	if cfg.LatencyFile != "" || cfg.LatencySSMParam != "" {
		target, dep := cfg.LatencyFile, doctor.LatencyFile
		if cfg.LatencySSMParam != "" {
			target, dep = "ssm:"+cfg.LatencySSMParam, doctor.LatencyParameter
		}
		checks = append(checks, doctor.Latency(target, dep, func(ctx context.Context) (string, error) {
			read, err := latencySource(cfg, awsCfg)
			if err != nil {
				return "", err
			}
			return read(ctx)
		}))
	}

	if cfg.EC2Metadata {
		checks = append(checks, doctor.InstanceIdentity(instanceMetadata()))
	}
	return checks
}

// databaseCheck reaches the database as the app does. MySQL on this host
// is level 0's MariaDB; anywhere else it is RDS.
func databaseCheck(cfg config.Config, awsCfg awsLoader) doctor.Check {
	if cfg.DBDriver == config.DriverSQLite {
		return doctor.Database{Open: func() (photo.Metadata, error) {
			return openMetadata(cfg, awsCfg)
		}}.Check(cfg.SQLitePath, doctor.SQLite)
	}
	network, address, database := "tcp", net.JoinHostPort(cfg.MySQLHost, strconv.Itoa(cfg.MySQLPort)), cfg.MySQLDatabase
	if cfg.MySQLDSN != "" {
		if dsn, err := mysql.ParseDSN(cfg.MySQLDSN); err == nil {
			network, address, database = dsn.Net, dsn.Addr, dsn.DBName
		}
	}
	opts, optsErr := mysqlOptions(cfg, awsCfg)
	probe := doctor.Database{
		Open: func() (photo.Metadata, error) {
			if optsErr != nil {
				return nil, optsErr
			}
			return sqldb.OpenMySQL(opts)
		},
		Address: address,
		TLS:     cfg.MySQLTLSCAFile != "",
	}
	if opts.Credentials != nil {
		// The same cached reader the connection uses: one secret read.
		probe.ReadSecret = func(ctx context.Context) error {
			_, _, err := opts.Credentials(ctx)
			return err
		}
	}
	dep := doctor.RDS
	if network == "unix" || isLocalHost(address) {
		dep = doctor.LocalMySQL
	}
	return probe.Check(address+"/"+database, dep)
}

func isLocalHost(address string) bool {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && ip.IsLoopback())
}
