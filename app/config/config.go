// Package config defines every setting of the web-demo app, once. It
// imports only the standard library, so infra and the scripts can use it
// without pulling in the app.
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
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	MetricsAddr  string
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
	UploadsAtOnce   int
	Storage         string
	UploadDir       string
	S3Bucket        string
	S3Prefix        string
	S3Endpoint      string
	S3PathStyle     bool
	S3PresignExpiry time.Duration
	CDNBaseURL      string
	// OrphanSweepAfter is how old an unrecorded upload must be before the
	// sweep deletes it.
	OrphanSweepAfter time.Duration

	Sessions         string
	MemcachedServers []string
	MemcachedPrefix  string
	MemcachedTLS     bool
	CookieSecure     bool
	SessionIdle      time.Duration
	SessionLifetime  time.Duration
	LoginsPerMinute  int
	TrustedProxies   []netip.Prefix
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
	// within bounds a number or duration setting, inclusive.
	within *span
}

// span is an inclusive range of a number or a duration, and why it ends
// where it does, if that is not obvious.
type span struct {
	lo, hi int64
	why    string
}

func between[T int | int64 | time.Duration](lo, hi T) *span {
	return &span{lo: int64(lo), hi: int64(hi)}
}

func (s *span) because(why string) *span { s.why = why; return s }

// Settings lists every setting in the order the README shows them.
var Settings = []Setting{
	{Name: "ADDR", Levels: "all", Doc: "Address the HTTP server listens on.",
		field: func(c *Config) any { return &c.Addr }},
	{Name: "METRICS_ADDR", Levels: "all", Doc: "Address of a separate listener serving Prometheus metrics at /metrics; empty serves none. Keep it off the load balancer.",
		field: func(c *Config) any { return &c.MetricsAddr }},
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
		field: func(c *Config) any { return &c.MySQLPort }, within: between(1, 65535)},
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
		field: func(c *Config) any { return &c.MySQLMaxConns }, within: between(1, 1000)},
	{Name: "AWS_REGION", Levels: "1–4", Doc: "Region for Secrets Manager, S3 and SSM (the AWS SDK's own variable).",
		field: func(c *Config) any { return &c.AWSRegion }},

	{Name: "PAGE_SIZE", Levels: "all", Doc: "How many of the latest photos the front page lists.",
		field: func(c *Config) any { return &c.PageSize }, within: between(1, 100)},
	{Name: "MAX_UPLOAD_BYTES", Levels: "all", Doc: "Largest accepted upload, in bytes.",
		field: func(c *Config) any { return &c.MaxUploadBytes }, within: between[int64](1<<10, 100<<20).because("uploads are held in memory")},
	{Name: "MAX_IMAGE_PIXELS", Levels: "all", Doc: "Largest accepted width × height, against decompression bombs.",
		field: func(c *Config) any { return &c.MaxImagePixels }, within: between(1, 500_000_000)},
	{Name: "MAX_CONCURRENT_UPLOADS", Levels: "all", Doc: "Uploads one server takes at once; more are answered 503 with Retry-After straight away, before their body is read.",
		field: func(c *Config) any { return &c.UploadsAtOnce }, within: between(1, 256)},
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
	{Name: "S3_PRESIGN_EXPIRY", Levels: "2–4", Doc: "Lifetime of presigned image URLs; cut to the signing credentials' own lifetime, since a URL dies with them.",
		field: func(c *Config) any { return &c.S3PresignExpiry }, within: between(time.Minute, time.Hour).because("a URL copied out of a page should work for an hour at most")},
	{Name: "CDN_BASE_URL", Levels: "2–4", Doc: "Optional CDN base URL; image URLs become base + key instead of presigned URLs.",
		field: func(c *Config) any { return &c.CDNBaseURL }},
	{Name: "ORPHAN_SWEEP_AFTER", Levels: "all", Doc: "Stored images that no photo records (their server died before recording them) are deleted once this old; each server sweeps at start and then this often.",
		field: func(c *Config) any { return &c.OrphanSweepAfter }, within: between(5*time.Minute, 7*24*time.Hour).because("an upload has 2 minutes to store and record its photo")},

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
	{Name: "SESSION_IDLE_TIMEOUT", Levels: "all", Doc: "A session ends after this long without a request.",
		field: func(c *Config) any { return &c.SessionIdle }, within: between(time.Minute, 24*time.Hour)},
	{Name: "SESSION_LIFETIME", Levels: "all", Doc: "A session ends this long after login, however busy.",
		field: func(c *Config) any { return &c.SessionLifetime }, within: between(time.Minute, 30*24*time.Hour).because("memcached's longest relative expiry")},
	{Name: "LOGIN_ATTEMPTS_PER_MINUTE", Levels: "all", Doc: "Login attempts one client may make a minute on each server; more are answered 429 with Retry-After.",
		field: func(c *Config) any { return &c.LoginsPerMinute }, within: between(1, 1000)},
	{Name: "TRUSTED_PROXIES", Levels: "1–4", Doc: "Comma-separated CIDRs of the load balancers whose X-Forwarded-For names the client; empty trusts none.",
		field: func(c *Config) any { return &c.TrustedProxies }},
	{Name: "PAGE_CACHE", Levels: "4", Doc: "Front-page cache: off, memory (one server) or memcached (shared).",
		field: func(c *Config) any { return &c.PageCache }, allowed: []string{CacheOff, CacheMemory, CacheMemcached}},
	{Name: "PAGE_CACHE_TTL", Levels: "4", Doc: "How long a rendered photo list is served, at most 5m and, with presigned URLs, a quarter of S3_PRESIGN_EXPIRY, so its image URLs stay valid.",
		field: func(c *Config) any { return &c.PageCacheTTL }, within: between(time.Second, 24*time.Hour)},

	{Name: "LATENCY", Levels: "3–4", Doc: "Simulated delay on the front page, the tutorial's $latency.",
		field: func(c *Config) any { return &c.Latency }, within: between(0, MaxLatency).because("half the load balancer's 60s idle timeout")},
	{Name: "LATENCY_FILE", Levels: "local", Doc: "File holding a duration (\"1.5s\"), polled to change the delay while running.",
		field: func(c *Config) any { return &c.LatencyFile }},
	{Name: "LATENCY_SSM_PARAMETER", Levels: "3–4", Doc: "SSM parameter holding a duration, polled so one setting changes the whole fleet.",
		field: func(c *Config) any { return &c.LatencySSMParam }},
	{Name: "LATENCY_POLL", Levels: "3–4", Doc: "How often LATENCY_FILE or LATENCY_SSM_PARAMETER is read.",
		field: func(c *Config) any { return &c.LatencyPoll }, within: between(time.Second, time.Hour)},
	{Name: "SHUTDOWN_DRAIN", Levels: "1–4", Doc: "On SIGTERM, how long to fail health checks before closing, so the load balancer stops sending.",
		field: func(c *Config) any { return &c.ShutdownDrain }, within: between(0, 5*time.Minute)},
	{Name: "SHUTDOWN_TIMEOUT", Levels: "all", Doc: "How long in-flight requests get to finish on shutdown.",
		field: func(c *Config) any { return &c.ShutdownTimeout }, within: between(time.Second, 10*time.Minute)},
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
		UploadsAtOnce:   8,
		Storage:         StorageDisk,
		UploadDir:       "data/uploads",
		S3Prefix:        "uploads/",
		S3PresignExpiry: time.Hour,
		Sessions:        SessionsMemory,
		MemcachedPrefix: "webdemo:",
		SessionIdle:     time.Hour,
		SessionLifetime: 12 * time.Hour,
		LoginsPerMinute: 10,
		PageCache:       CacheOff,
		PageCacheTTL:    time.Minute,
		LatencyPoll:     10 * time.Second,
		ShutdownTimeout: 20 * time.Second,

		OrphanSweepAfter: 10 * time.Minute,
	}
}

// Load reads the configuration from args (flags such as -db-driver=mysql)
// and the environment, in that order of precedence, over Default. The error
// names the offending setting in one line. lookupEnv is os.LookupEnv or a
// stand-in: a variable set to empty (or blank) text is a value, the empty
// text, not a return to the default, which only an unset one gives.
func Load(args []string, lookupEnv func(string) (string, bool), usage io.Writer) (Config, error) {
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
			raw, ok = lookupEnv(s.Name)
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

// maxValueBytes bounds every text setting; no path, DSN or ARN comes near.
const maxValueBytes = 1024

func (s Setting) parse(cfg *Config, raw string) error {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxValueBytes {
		return fmt.Errorf("%d bytes is longer than %d", len(raw), maxValueBytes)
	}
	// A control character would break the environment file the value is
	// rendered into, or smuggle in a second setting.
	if strings.ContainsFunc(raw, unicode.IsControl) {
		return fmt.Errorf("%q contains a control character", raw)
	}
	if !utf8.ValidString(raw) {
		return fmt.Errorf("%q is not valid UTF-8", raw)
	}
	if raw == "" {
		return s.parseEmpty(cfg)
	}
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
		v, err := parseWhole(raw)
		if err != nil {
			return err
		}
		*p = int(v)
	case *int64:
		v, err := parseWhole(raw)
		if err != nil {
			return err
		}
		*p = v
	case *time.Duration:
		v, err := ParseDuration(raw)
		if err != nil {
			return err
		}
		*p = v
	case *[]string:
		*p = splitList(raw)
		if len(*p) > maxListItems {
			return fmt.Errorf("%d entries are more than %d", len(*p), maxListItems)
		}
	case *[]netip.Prefix:
		parts := splitList(raw)
		if len(parts) > maxListItems {
			return fmt.Errorf("%d entries are more than %d", len(parts), maxListItems)
		}
		*p = nil
		for _, part := range parts {
			prefix, err := parsePrefix(part)
			if err != nil {
				return err
			}
			*p = append(*p, prefix)
		}
	default:
		panic(fmt.Sprintf("config: setting %s has unsupported type %T", s.Name, p))
	}
	return nil
}

// parseEmpty sets a setting given as empty text: text and lists become
// empty; a number, duration, switch or choice has no empty value, so the
// error says what it takes, and that unsetting it gives the default.
func (s Setting) parseEmpty(cfg *Config) error {
	var want string
	switch p := s.field(cfg).(type) {
	case *string:
		if s.allowed == nil {
			*p = ""
			return nil
		}
		want = "one of " + strings.Join(s.allowed, ", ")
	case *[]string:
		*p = nil
		return nil
	case *[]netip.Prefix:
		*p = nil
		return nil
	case *bool:
		want = "true or false"
	case *int, *int64:
		want = "a whole number"
	case *time.Duration:
		want = "a duration such as 1.5s"
	default:
		panic(fmt.Sprintf("config: setting %s has unsupported type %T", s.Name, p))
	}
	return fmt.Errorf("empty, but it takes %s; unset it for the default, %s", want, s.Default())
}

// maxListItems bounds a comma-separated setting.
const maxListItems = 32

func splitList(raw string) []string {
	var list []string
	for _, part := range strings.Split(raw, ",") {
		if part = strings.TrimSpace(part); part != "" {
			list = append(list, part)
		}
	}
	return list
}

// parseWhole parses a decimal whole number ≥ 0 that fits in 64 bits.
func parseWhole(raw string) (int64, error) {
	v, err := strconv.ParseInt(raw, 10, 64)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(raw, "-") {
		return 0, fmt.Errorf("%q is far too large", raw)
	}
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a whole number ≥ 0", raw)
	}
	return v, nil
}

// parsePrefix reads a CIDR such as 10.0.0.0/16, or one address, as the
// network it names: 10.0.0.7/16 is 10.0.0.0/16.
func parsePrefix(raw string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(raw); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(raw)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/16 or an address", raw)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		// Clients' mapped addresses are unmapped before they are checked.
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// ParseDuration parses a non-negative duration such as "1.5s" or "200ms". A
// bare number counts as seconds, as the tutorial's $latency did.
func ParseDuration(raw string) (time.Duration, error) {
	raw = strings.TrimSpace(raw)
	seconds := raw
	if secs, err := strconv.ParseFloat(raw, 64); err == nil {
		seconds = strconv.FormatFloat(secs, 'f', -1, 64) + "s"
	}
	d, err := time.ParseDuration(seconds)
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
	case *[]netip.Prefix:
		parts := make([]string, len(*v))
		for i, p := range *v {
			parts[i] = p.String()
		}
		return strings.Join(parts, ",")
	}
	panic(fmt.Sprintf("config: unsupported type %T", field))
}

// MaxLatency is the longest simulated delay, from settings or while
// running.
const MaxLatency = 30 * time.Second

// check reports a number or duration outside the setting's bounds.
func (s Setting) check(c *Config) error {
	if s.within == nil {
		return nil
	}
	var v int64
	show := func(n int64) string { return strconv.FormatInt(n, 10) }
	switch p := s.field(c).(type) {
	case *int:
		v = int64(*p)
	case *int64:
		v = *p
	case *time.Duration:
		v, show = int64(*p), func(n int64) string { return shortDuration(time.Duration(n)) }
	default:
		panic(fmt.Sprintf("config: setting %s has bounds but type %T", s.Name, p))
	}
	if v >= s.within.lo && v <= s.within.hi {
		return nil
	}
	msg := fmt.Sprintf("%s: %s is not between %s and %s", s.Name, show(v), show(s.within.lo), show(s.within.hi))
	if s.within.why != "" {
		msg += ", " + s.within.why
	}
	return errors.New(msg)
}

// Range describes a number or duration setting's bounds, or is empty.
func (s Setting) Range() string {
	if s.within == nil {
		return ""
	}
	var c Config
	if _, ok := s.field(&c).(*time.Duration); ok {
		return shortDuration(time.Duration(s.within.lo)) + " to " + shortDuration(time.Duration(s.within.hi))
	}
	return strconv.FormatInt(s.within.lo, 10) + " to " + strconv.FormatInt(s.within.hi, 10)
}

// shortDuration prints 168h rather than 168h0m0s.
func shortDuration(d time.Duration) string {
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

// Validate checks every setting's bounds and the settings that depend on
// one another, so a bad value stops the start before anything is opened
// or created.
func (c Config) Validate() error {
	for _, s := range Settings {
		if err := s.check(&c); err != nil {
			return err
		}
	}
	if err := checkHostPort(c.Addr, 0); err != nil {
		return fmt.Errorf("ADDR: %w", err)
	}
	if c.MetricsAddr != "" {
		if err := checkHostPort(c.MetricsAddr, 0); err != nil {
			return fmt.Errorf("METRICS_ADDR: %w", err)
		}
	}
	if c.MySQLHost != "" && !validHost(c.MySQLHost) {
		return fmt.Errorf("MYSQL_HOST: %q is not a host name or IP address", c.MySQLHost)
	}
	if utf8.RuneCountInString(c.MySQLDatabase) > 64 {
		return fmt.Errorf("MYSQL_DATABASE: %q is longer than MySQL's 64 characters", c.MySQLDatabase)
	}
	if utf8.RuneCountInString(c.MySQLUser) > 32 {
		return fmt.Errorf("MYSQL_USER: %q is longer than MySQL's 32 characters", c.MySQLUser)
	}
	if c.AWSRegion != "" && !regionPattern.MatchString(c.AWSRegion) {
		return fmt.Errorf("AWS_REGION: %q is not a region such as eu-west-1", c.AWSRegion)
	}
	if n := utf8.RuneCountInString(c.InstanceName); n > 64 {
		return fmt.Errorf("INSTANCE_NAME: %d characters are more than 64", n)
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
	if c.S3Bucket != "" && !bucketPattern.MatchString(c.S3Bucket) {
		return fmt.Errorf("S3_BUCKET: %q is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", c.S3Bucket)
	}
	if len(c.S3Prefix) > maxS3Prefix {
		return fmt.Errorf("S3_PREFIX: %d bytes are more than %d (an S3 key is at most 1024)", len(c.S3Prefix), maxS3Prefix)
	}
	if c.S3Endpoint != "" && !httpURL(c.S3Endpoint) {
		return fmt.Errorf("S3_ENDPOINT: %q is not an absolute URL with http or https", c.S3Endpoint)
	}
	if c.CDNBaseURL != "" && !httpURL(c.CDNBaseURL) {
		return fmt.Errorf("CDN_BASE_URL: %q is not an absolute URL with http or https", c.CDNBaseURL)
	}
	needMemcached := c.Sessions == SessionsMemcached || c.PageCache == CacheMemcached
	if needMemcached && len(c.MemcachedServers) == 0 {
		return errors.New("MEMCACHED_SERVERS: required when SESSIONS or PAGE_CACHE is memcached")
	}
	if len(c.MemcachedServers) > maxListItems {
		return fmt.Errorf("MEMCACHED_SERVERS: %d servers are more than %d", len(c.MemcachedServers), maxListItems)
	}
	for _, s := range c.MemcachedServers {
		if err := checkHostPort(s, 1); err != nil || strings.HasPrefix(s, ":") {
			return fmt.Errorf("MEMCACHED_SERVERS: %q is not host:port", s)
		}
	}
	// The longest key is the prefix, "session:" and a 43-character token;
	// memcached takes 250 bytes without spaces or control characters.
	if len(c.MemcachedPrefix) > maxMemcachedPrefix || strings.ContainsFunc(c.MemcachedPrefix, unicode.IsSpace) {
		return fmt.Errorf("MEMCACHED_PREFIX: %q is not up to %d bytes without spaces", c.MemcachedPrefix, maxMemcachedPrefix)
	}
	if len(c.TrustedProxies) > maxListItems {
		return fmt.Errorf("TRUSTED_PROXIES: %d ranges are more than %d", len(c.TrustedProxies), maxListItems)
	}
	if c.SessionIdle > c.SessionLifetime {
		return fmt.Errorf("SESSION_IDLE_TIMEOUT: %s is longer than SESSION_LIFETIME %s", shortDuration(c.SessionIdle), shortDuration(c.SessionLifetime))
	}
	if c.LatencyFile != "" && c.LatencySSMParam != "" {
		return errors.New("LATENCY_FILE: set it or LATENCY_SSM_PARAMETER, not both")
	}
	return nil
}

const (
	maxS3Prefix        = 512
	maxMemcachedPrefix = 100
)

var (
	// regionPattern matches us-east-1, eu-central-2, us-gov-west-1.
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	// bucketPattern is S3's general purpose bucket naming rule.
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// labelPattern is one DNS label, letters, digits and inner hyphens.
	labelPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

// checkHostPort accepts host:port with a port from minPort to 65535 and an
// empty host (every interface), an IP address or a DNS name.
func checkHostPort(addr string, minPort int) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < minPort || n > 65535 || strings.HasPrefix(port, "+") {
		return fmt.Errorf("%q: port %q is not between %d and 65535", addr, port, minPort)
	}
	if host != "" && !validHost(host) {
		return fmt.Errorf("%q: %q is not a host name or IP address", addr, host)
	}
	return nil
}

// validHost accepts an IP address or a DNS name of at most 253 bytes.
func validHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(host, "."), ".") {
		if !labelPattern.MatchString(label) {
			return false
		}
	}
	return true
}

func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Environ renders the settings that differ from Default as KEY=value lines,
// sorted as in Settings; an empty value is a KEY= line. Load(nil, env) of
// the result gives back c.
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
		doc := s.Doc
		if r := s.Range(); r != "" {
			doc += " " + r + "."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, def, s.Levels, strings.ReplaceAll(doc, "|", `\|`))
	}
	return b.String()
}
