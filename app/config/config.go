// Package config defines every setting of the web-demo app, once.
//
// The app reads settings from the environment (and mirrored flags); the
// Pulumi program and the local cluster render the same settings back into an
// environment file with Environ. A setting's name lives only in this file, so
// renaming one breaks the build of every caller, not the boot of a server.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metadata store drivers.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// Upload stores. "disk" is the tutorial's "hd".
const (
	StorageDisk = "disk"
	StorageS3   = "s3"
)

// Session stores.
const (
	SessionsMemory    = "memory"
	SessionsMemcached = "memcached"
)

// Front-page caches.
const (
	CacheOff       = "off"
	CacheMemory    = "memory"
	CacheMemcached = "memcached"
)

// Config is the app's whole configuration. The zero value is not useful;
// start from Default.
type Config struct {
	Addr         string
	InstanceName string
	EC2Metadata  bool

	DBDriver        string
	SQLitePath      string
	MySQLDSN        string
	MySQLHost       string
	MySQLPort       int
	MySQLDatabase   string
	MySQLUser       string
	MySQLPassword   string
	MySQLSecretARN  string
	MySQLTLSCAFile  string
	MySQLMaxConns   int
	AWSRegion       string
	PageSize        int
	MaxUploadBytes  int64
	MaxImagePixels  int
	Storage         string
	UploadDir       string
	S3Bucket        string
	S3Prefix        string
	S3Endpoint      string
	S3PathStyle     bool
	S3PresignExpiry time.Duration
	CDNBaseURL      string

	Sessions         string
	MemcachedServers []string
	MemcachedPrefix  string
	MemcachedTLS     bool
	CookieSecure     bool
	PageCache        string
	PageCacheTTL     time.Duration

	Latency         time.Duration
	LatencyFile     string
	LatencySSMParam string
	LatencyPoll     time.Duration
	ShutdownDrain   time.Duration
	ShutdownTimeout time.Duration
}

// Setting describes one environment variable.
type Setting struct {
	// Name is the environment variable.
	Name string
	// Levels says which tutorial levels set it, for the README.
	Levels string
	// Doc is one line for the README and -help.
	Doc string

	field   func(*Config) any
	allowed []string
}

// Settings lists every setting in the order the README shows them.
var Settings = []Setting{
	{Name: "ADDR", Levels: "all", Doc: "Address the HTTP server listens on.",
		field: func(c *Config) any { return &c.Addr }},
	{Name: "INSTANCE_NAME", Levels: "all", Doc: "Name shown in the page header to tell servers apart; empty shows the host name.",
		field: func(c *Config) any { return &c.InstanceName }},
	{Name: "EC2_METADATA", Levels: "0–4 on AWS", Doc: "Read the instance id and private IP from IMDSv2 for the header.",
		field: func(c *Config) any { return &c.EC2Metadata }},

	{Name: "DB_DRIVER", Levels: "all", Doc: "Metadata store: sqlite (embedded file) or mysql.",
		field: func(c *Config) any { return &c.DBDriver }, allowed: []string{DriverSQLite, DriverMySQL}},
	{Name: "SQLITE_PATH", Levels: "local", Doc: "SQLite database file.",
		field: func(c *Config) any { return &c.SQLitePath }},
	{Name: "MYSQL_DSN", Levels: "local", Doc: "Full go-sql-driver DSN; overrides the MYSQL_* parts below.",
		field: func(c *Config) any { return &c.MySQLDSN }},
	{Name: "MYSQL_HOST", Levels: "0–4", Doc: "MySQL host.",
		field: func(c *Config) any { return &c.MySQLHost }},
	{Name: "MYSQL_PORT", Levels: "0–4", Doc: "MySQL port.",
		field: func(c *Config) any { return &c.MySQLPort }},
	{Name: "MYSQL_DATABASE", Levels: "0–4", Doc: "MySQL database name.",
		field: func(c *Config) any { return &c.MySQLDatabase }},
	{Name: "MYSQL_USER", Levels: "0", Doc: "MySQL user (ignored when MYSQL_SECRET_ARN is set).",
		field: func(c *Config) any { return &c.MySQLUser }},
	{Name: "MYSQL_PASSWORD", Levels: "0", Doc: "MySQL password; kept in a 0600 environment file, never in user-data.",
		field: func(c *Config) any { return &c.MySQLPassword }},
	{Name: "MYSQL_SECRET_ARN", Levels: "1–4", Doc: "Secrets Manager secret holding {\"username\",\"password\"} (the RDS-managed master secret); re-read on every new connection, so rotation just works.",
		field: func(c *Config) any { return &c.MySQLSecretARN }},
	{Name: "MYSQL_TLS_CA_FILE", Levels: "1–4", Doc: "PEM bundle that verifies the server certificate; set to require TLS.",
		field: func(c *Config) any { return &c.MySQLTLSCAFile }},
	{Name: "MYSQL_MAX_CONNS", Levels: "all", Doc: "Connection pool size.",
		field: func(c *Config) any { return &c.MySQLMaxConns }},
	{Name: "AWS_REGION", Levels: "1–4", Doc: "Region for Secrets Manager, S3 and SSM (the AWS SDK's own variable).",
		field: func(c *Config) any { return &c.AWSRegion }},

	{Name: "PAGE_SIZE", Levels: "all", Doc: "How many of the latest photos the front page lists.",
		field: func(c *Config) any { return &c.PageSize }},
	{Name: "MAX_UPLOAD_BYTES", Levels: "all", Doc: "Largest accepted upload, in bytes.",
		field: func(c *Config) any { return &c.MaxUploadBytes }},
	{Name: "MAX_IMAGE_PIXELS", Levels: "all", Doc: "Largest accepted width × height, against decompression bombs.",
		field: func(c *Config) any { return &c.MaxImagePixels }},
	{Name: "STORAGE", Levels: "all", Doc: "Upload store: disk (a directory, EFS at level 1) or s3.",
		field: func(c *Config) any { return &c.Storage }, allowed: []string{StorageDisk, StorageS3}},
	{Name: "UPLOAD_DIR", Levels: "0–1", Doc: "Directory for uploads when STORAGE=disk.",
		field: func(c *Config) any { return &c.UploadDir }},
	{Name: "S3_BUCKET", Levels: "2–4", Doc: "Uploads bucket when STORAGE=s3.",
		field: func(c *Config) any { return &c.S3Bucket }},
	{Name: "S3_PREFIX", Levels: "2–4", Doc: "Key prefix for uploads in the bucket.",
		field: func(c *Config) any { return &c.S3Prefix }},
	{Name: "S3_ENDPOINT", Levels: "local", Doc: "Endpoint of an S3-compatible server; empty means AWS.",
		field: func(c *Config) any { return &c.S3Endpoint }},
	{Name: "S3_PATH_STYLE", Levels: "local", Doc: "Use path-style bucket addressing (S3-compatible servers).",
		field: func(c *Config) any { return &c.S3PathStyle }},
	{Name: "S3_PRESIGN_EXPIRY", Levels: "2–4", Doc: "Lifetime of presigned image URLs (at most 7 days); cut to the signing credentials' own lifetime, since a URL dies with them.",
		field: func(c *Config) any { return &c.S3PresignExpiry }},
	{Name: "CDN_BASE_URL", Levels: "2–4", Doc: "Optional CDN base URL; image URLs become base + key instead of presigned URLs.",
		field: func(c *Config) any { return &c.CDNBaseURL }},

	{Name: "SESSIONS", Levels: "all", Doc: "Session store: memory (per server) or memcached (shared).",
		field: func(c *Config) any { return &c.Sessions }, allowed: []string{SessionsMemory, SessionsMemcached}},
	{Name: "MEMCACHED_SERVERS", Levels: "1–4", Doc: "Comma-separated host:port list for sessions and the page cache.",
		field: func(c *Config) any { return &c.MemcachedServers }},
	{Name: "MEMCACHED_TLS", Levels: "1–4", Doc: "Connect to memcached over TLS (ElastiCache in-transit encryption), verifying the configured host name against the system's trust store.",
		field: func(c *Config) any { return &c.MemcachedTLS }},
	{Name: "MEMCACHED_PREFIX", Levels: "1–4", Doc: "Prefix of every memcached key, so several sites can share one cluster.",
		field: func(c *Config) any { return &c.MemcachedPrefix }},
	{Name: "COOKIE_SECURE", Levels: "HTTPS", Doc: "Mark the session cookie Secure; set when the site is served over HTTPS.",
		field: func(c *Config) any { return &c.CookieSecure }},
	{Name: "PAGE_CACHE", Levels: "4", Doc: "Front-page cache: off, memory (one server) or memcached (shared).",
		field: func(c *Config) any { return &c.PageCache }, allowed: []string{CacheOff, CacheMemory, CacheMemcached}},
	{Name: "PAGE_CACHE_TTL", Levels: "4", Doc: "How long a cached photo list may live, bounding staleness.",
		field: func(c *Config) any { return &c.PageCacheTTL }},

	{Name: "LATENCY", Levels: "3–4", Doc: "Simulated delay on the front page, the tutorial's $latency.",
		field: func(c *Config) any { return &c.Latency }},
	{Name: "LATENCY_FILE", Levels: "local", Doc: "File holding a duration (\"1.5s\"), polled to change the delay while running.",
		field: func(c *Config) any { return &c.LatencyFile }},
	{Name: "LATENCY_SSM_PARAMETER", Levels: "3–4", Doc: "SSM parameter holding a duration, polled so one setting changes the whole fleet.",
		field: func(c *Config) any { return &c.LatencySSMParam }},
	{Name: "LATENCY_POLL", Levels: "3–4", Doc: "How often LATENCY_FILE or LATENCY_SSM_PARAMETER is read.",
		field: func(c *Config) any { return &c.LatencyPoll }},
	{Name: "SHUTDOWN_DRAIN", Levels: "1–4", Doc: "On SIGTERM, how long to fail health checks before closing, so the load balancer stops sending.",
		field: func(c *Config) any { return &c.ShutdownDrain }},
	{Name: "SHUTDOWN_TIMEOUT", Levels: "all", Doc: "How long in-flight requests get to finish on shutdown.",
		field: func(c *Config) any { return &c.ShutdownTimeout }},
}

// Default returns the zero-setup configuration: SQLite and uploads under
// ./data, sessions in memory, no cache.
func Default() Config {
	return Config{
		Addr:            "localhost:8080",
		DBDriver:        DriverSQLite,
		SQLitePath:      "data/webdemo.db",
		MySQLPort:       3306,
		MySQLDatabase:   "webdemo",
		MySQLMaxConns:   20,
		PageSize:        10,
		MaxUploadBytes:  10 << 20,
		MaxImagePixels:  40_000_000,
		Storage:         StorageDisk,
		UploadDir:       "data/uploads",
		S3Prefix:        "uploads/",
		S3PresignExpiry: time.Hour,
		Sessions:        SessionsMemory,
		MemcachedPrefix: "webdemo:",
		PageCache:       CacheOff,
		PageCacheTTL:    time.Minute,
		LatencyPoll:     10 * time.Second,
		ShutdownTimeout: 20 * time.Second,
	}
}

// Load reads the configuration from args (flags such as -db-driver=mysql)
// and the environment, in that order of precedence, over Default. The error
// names the offending setting in one line.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	cfg := Default()
	flags := flag.NewFlagSet("webdemo", flag.ContinueOnError)
	flags.SetOutput(usage)
	fromFlags := map[string]*string{}
	for _, s := range Settings {
		fromFlags[s.Name] = flags.String(s.FlagName(), "", s.Doc+" (env "+s.Name+")")
	}
	if err := flags.Parse(args); err != nil {
		return cfg, err
	}
	if flags.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range Settings {
		raw, ok := *fromFlags[s.Name], set[s.FlagName()]
		if !ok {
			raw, ok = getenv(s.Name), getenv(s.Name) != ""
		}
		if !ok {
			continue
		}
		if err := s.parse(&cfg, raw); err != nil {
			return cfg, fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return cfg, cfg.Validate()
}

// FlagName is the command-line flag that mirrors the setting.
func (s Setting) FlagName() string {
	return strings.ReplaceAll(strings.ToLower(s.Name), "_", "-")
}

// Default is the setting's default value, rendered as text.
func (s Setting) Default() string {
	d := Default()
	return format(s.field(&d))
}

func (s Setting) parse(cfg *Config, raw string) error {
	raw = strings.TrimSpace(raw)
	if s.allowed != nil && !slices.Contains(s.allowed, raw) {
		return fmt.Errorf("%q is not one of %s", raw, strings.Join(s.allowed, ", "))
	}
	switch p := s.field(cfg).(type) {
	case *string:
		*p = raw
	case *bool:
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		*p = v
	case *int:
		v, err := strconv.Atoi(raw)
		if err != nil || v < 0 {
			return fmt.Errorf("%q is not a whole number ≥ 0", raw)
		}
		*p = v
	case *int64:
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("%q is not a whole number ≥ 0", raw)
		}
		*p = v
	case *time.Duration:
		v, err := ParseDuration(raw)
		if err != nil {
			return err
		}
		*p = v
	case *[]string:
		*p = nil
		for _, part := range strings.Split(raw, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*p = append(*p, part)
			}
		}
	default:
		panic(fmt.Sprintf("config: setting %s has unsupported type %T", s.Name, p))
	}
	return nil
}

// ParseDuration parses a non-negative duration such as "1.5s" or "200ms". A
// bare number counts as seconds, as the tutorial's $latency did.
func ParseDuration(raw string) (time.Duration, error) {
	raw = strings.TrimSpace(raw)
	if secs, err := strconv.ParseFloat(raw, 64); err == nil {
		raw = strconv.FormatFloat(secs, 'f', -1, 64) + "s"
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration ≥ 0 such as 1.5s or 200ms", raw)
	}
	return d, nil
}

func format(field any) string {
	switch v := field.(type) {
	case *string:
		return *v
	case *bool:
		return strconv.FormatBool(*v)
	case *int:
		return strconv.Itoa(*v)
	case *int64:
		return strconv.FormatInt(*v, 10)
	case *time.Duration:
		return v.String()
	case *[]string:
		return strings.Join(*v, ",")
	}
	panic(fmt.Sprintf("config: unsupported type %T", field))
}

// maxPresignExpiry is Signature Version 4's limit on a presigned URL.
const maxPresignExpiry = 7 * 24 * time.Hour

// Validate checks the settings that depend on one another.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("ADDR: %q is not host:port", c.Addr)
	}
	if c.PageSize < 1 || c.PageSize > 100 {
		return fmt.Errorf("PAGE_SIZE: %d is not between 1 and 100", c.PageSize)
	}
	if c.MaxUploadBytes < 1 {
		return errors.New("MAX_UPLOAD_BYTES: must be at least 1")
	}
	if c.MaxImagePixels < 1 {
		return errors.New("MAX_IMAGE_PIXELS: must be at least 1")
	}
	if c.MySQLMaxConns < 1 {
		return errors.New("MYSQL_MAX_CONNS: must be at least 1")
	}
	if c.DBDriver == DriverMySQL && c.MySQLDSN == "" && c.MySQLHost == "" {
		return errors.New("MYSQL_HOST: required when DB_DRIVER=mysql (or set MYSQL_DSN)")
	}
	if c.DBDriver == DriverSQLite && c.SQLitePath == "" {
		return errors.New("SQLITE_PATH: required when DB_DRIVER=sqlite")
	}
	if c.Storage == StorageDisk && c.UploadDir == "" {
		return errors.New("UPLOAD_DIR: required when STORAGE=disk")
	}
	if c.Storage == StorageS3 && c.S3Bucket == "" {
		return errors.New("S3_BUCKET: required when STORAGE=s3")
	}
	if c.S3Endpoint != "" {
		if u, err := url.Parse(c.S3Endpoint); err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("S3_ENDPOINT: %q is not an absolute URL", c.S3Endpoint)
		}
	}
	if c.S3PresignExpiry < time.Second || c.S3PresignExpiry > maxPresignExpiry {
		return fmt.Errorf("S3_PRESIGN_EXPIRY: %s is not between 1s and %s, the longest S3 accepts", c.S3PresignExpiry, maxPresignExpiry)
	}
	if c.CDNBaseURL != "" {
		if u, err := url.Parse(c.CDNBaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("CDN_BASE_URL: %q is not an absolute URL", c.CDNBaseURL)
		}
	}
	needMemcached := c.Sessions == SessionsMemcached || c.PageCache == CacheMemcached
	if needMemcached && len(c.MemcachedServers) == 0 {
		return errors.New("MEMCACHED_SERVERS: required when SESSIONS or PAGE_CACHE is memcached")
	}
	for _, s := range c.MemcachedServers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("MEMCACHED_SERVERS: %q is not host:port", s)
		}
	}
	if c.LatencyFile != "" && c.LatencySSMParam != "" {
		return errors.New("LATENCY_FILE: set it or LATENCY_SSM_PARAMETER, not both")
	}
	if (c.LatencyFile != "" || c.LatencySSMParam != "") && c.LatencyPoll < time.Second {
		return errors.New("LATENCY_POLL: must be at least 1s")
	}
	return nil
}

// Environ renders the settings that differ from Default as KEY=value lines,
// sorted as in Settings. Load(nil, env) of the result gives back c.
func (c Config) Environ() []string {
	d := Default()
	var out []string
	for _, s := range Settings {
		if v := format(s.field(&c)); v != format(s.field(&d)) {
			out = append(out, s.Name+"="+v)
		}
	}
	return out
}

// MarkdownTable renders Settings as the README's table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Setting | Default | Levels | What it does |\n|---|---|---|---|\n")
	for _, s := range Settings {
		def := s.Default()
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, def, s.Levels, strings.ReplaceAll(s.Doc, "|", `\|`))
	}
	return b.String()
}
