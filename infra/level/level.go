// Package level is the tutorial's level-to-features table, and the one place
// that turns a level's features and endpoints into the app's settings. The
// Pulumi program renders user-data with it; the local cluster configures its
// instances with it, so the two cannot drift apart. It imports only the
// app's package config, never Pulumi, so the local cluster needs no cloud
// SDK.
package level

import (
	"fmt"
	"net/netip"
	"time"

	"webdemo/app/config"
)

// Max is the highest tutorial level.
const Max = 4

// Features says what a level builds.
type Features struct {
	// LocalDatabase runs MariaDB on the instance itself (level 0).
	LocalDatabase bool
	// LoadBalancer puts an ALB in front of several instances.
	LoadBalancer bool
	// ManagedDatabase is RDS MySQL.
	ManagedDatabase bool
	// SharedSessions keeps sessions in ElastiCache memcached.
	SharedSessions bool
	// SharedFiles keeps uploads on EFS, mounted by every instance.
	SharedFiles bool
	// ObjectStorage keeps uploads in S3, served by presigned URLs.
	ObjectStorage bool
	// AutoScaling runs the fleet from a launch template in an AutoScaling
	// group, scaled by latency alarms.
	AutoScaling bool
	// PageCache caches the front page's photo list in memcached.
	PageCache bool
}

// Table is the tutorial, one row per level.
var Table = [Max + 1]Features{
	0: {LocalDatabase: true},
	1: {LoadBalancer: true, ManagedDatabase: true, SharedSessions: true, SharedFiles: true},
	2: {LoadBalancer: true, ManagedDatabase: true, SharedSessions: true, ObjectStorage: true},
	3: {LoadBalancer: true, ManagedDatabase: true, SharedSessions: true, ObjectStorage: true, AutoScaling: true},
	4: {LoadBalancer: true, ManagedDatabase: true, SharedSessions: true, ObjectStorage: true, AutoScaling: true, PageCache: true},
}

// For returns level n's features. unshared reproduces the tutorial's
// level-1 step before its fix: sessions in each server's memory and uploads
// on each server's disk, so users must log in again and photos come and go
// as the load balancer switches servers.
func For(n int, unshared bool) (Features, error) {
	if n < 0 || n > Max {
		return Features{}, fmt.Errorf("level: %d is not between 0 and %d", n, Max)
	}
	f := Table[n]
	if unshared {
		if n != 1 {
			return Features{}, fmt.Errorf("unsharedState: applies only at level 1, not level %d", n)
		}
		f.SharedSessions, f.SharedFiles = false, false
	}
	return f, nil
}

// UsesCache reports whether the level needs a memcached cluster.
func (f Features) UsesCache() bool { return f.SharedSessions || f.PageCache }

// WithStoresOf returns f with g's photo stores: where g keeps photo rows
// and image bytes, and everything else as f has it. Copying photos between
// levels reads the old level's stores with the new level's other settings.
func (f Features) WithStoresOf(g Features) Features {
	f.LocalDatabase, f.ManagedDatabase = g.LocalDatabase, g.ManagedDatabase
	f.SharedFiles, f.ObjectStorage = g.SharedFiles, g.ObjectStorage
	return f
}

// SameStores reports whether f and g keep photos in the same places, so
// stepping between them copies nothing.
func (f Features) SameStores(g Features) bool { return f.WithStoresOf(g) == f }

// PhotoStores names where f keeps photo rows and images, for messages.
func (f Features) PhotoStores() string {
	rows := "MariaDB on the server"
	if f.ManagedDatabase {
		rows = "RDS"
	}
	images := "the server's disk"
	switch {
	case f.ObjectStorage:
		images = "S3"
	case f.SharedFiles:
		images = "EFS"
	}
	return rows + " and " + images
}

// Endpoints are where a level's services are, as the app must reach them.
type Endpoints struct {
	// Addr is where the app listens.
	Addr string
	// InstanceName labels the server locally; on EC2 the instance id does.
	InstanceName string
	// EC2 reads the instance's identity from IMDSv2.
	EC2 bool

	// SQLitePath is used when no MySQL is configured (local runs only).
	SQLitePath string
	MySQLHost  string
	MySQLPort  int
	// MySQLDSN replaces the host and credentials (local runs).
	MySQLDSN       string
	MySQLUser      string
	MySQLSecretARN string
	MySQLTLSCAFile string

	MemcachedServers []string
	MemcachedPrefix  string
	// MemcachedTLS dials memcached over TLS (ElastiCache in-transit
	// encryption).
	MemcachedTLS bool

	UploadDir  string
	Bucket     string
	S3Endpoint string
	Region     string

	Latency       time.Duration
	LatencyFile   string
	LatencyParam  string
	CookieSecure  bool
	ShutdownDrain time.Duration
	// TrustedProxies are the load balancer's addresses, whose
	// X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
}

// AppConfig is the app's configuration for features f at endpoints e.
func AppConfig(f Features, e Endpoints) (config.Config, error) {
	c := config.Default()
	c.Addr = e.Addr
	c.InstanceName = e.InstanceName
	c.EC2Metadata = e.EC2
	c.AWSRegion = e.Region
	c.Latency = e.Latency
	c.LatencyFile = e.LatencyFile
	c.LatencySSMParam = e.LatencyParam
	c.CookieSecure = e.CookieSecure
	c.ShutdownDrain = e.ShutdownDrain
	c.TrustedProxies = e.TrustedProxies

	switch {
	case e.MySQLDSN != "":
		c.DBDriver, c.MySQLDSN = config.DriverMySQL, e.MySQLDSN
	case e.MySQLHost != "":
		c.DBDriver = config.DriverMySQL
		c.MySQLHost, c.MySQLPort = e.MySQLHost, e.MySQLPort
		c.MySQLUser, c.MySQLSecretARN, c.MySQLTLSCAFile = e.MySQLUser, e.MySQLSecretARN, e.MySQLTLSCAFile
	default:
		c.DBDriver, c.SQLitePath = config.DriverSQLite, e.SQLitePath
	}

	if f.ObjectStorage {
		c.Storage, c.S3Bucket, c.S3Endpoint = config.StorageS3, e.Bucket, e.S3Endpoint
		c.S3PathStyle = e.S3Endpoint != ""
	} else {
		c.Storage, c.UploadDir = config.StorageDisk, e.UploadDir
	}
	if f.UsesCache() {
		c.MemcachedServers, c.MemcachedTLS = e.MemcachedServers, e.MemcachedTLS
		if e.MemcachedPrefix != "" {
			c.MemcachedPrefix = e.MemcachedPrefix
		}
	}
	if f.SharedSessions {
		c.Sessions = config.SessionsMemcached
	}
	if f.PageCache {
		c.PageCache = config.CacheMemcached
	}
	return c, c.Validate()
}
