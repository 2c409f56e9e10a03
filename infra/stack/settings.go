package stack

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	appconfig "webdemo/app/config"
	"webdemo/infra/level"
)

// Settings is the stack's configuration (namespace web-demo), with defaults
// filled in and every value checked.
type Settings struct {
	Level    int
	Features level.Features
	// MigrateFrom is the level whose photo stores are kept and copied from
	// while stepping to Level; nil when not migrating.
	MigrateFrom *int
	// Source is MigrateFrom's features; nil when not migrating.
	Source *level.Features

	InstanceType    string
	DBInstanceClass string
	CacheNodeType   string
	MinSize         int
	DesiredSize     int
	MaxSize         int
	WebCount        int

	Latency          time.Duration
	ScaleOutLatency  float64
	ScaleInLatency   float64
	ScaleOutCooldown int
	ScaleInCooldown  int

	AllowedCidr    string
	SSHKeyName     string
	SSHCidr        string
	CertificateArn string

	LogRetentionDays int

	MultiAz            bool
	DeletionProtection bool
	UnsharedState      bool
}

// Defaults are the cheapest sensible Graviton sizes and the tutorial's
// scaling thresholds.
var Defaults = Settings{
	InstanceType:     "t4g.micro",
	DBInstanceClass:  "db.t4g.micro",
	CacheNodeType:    "cache.t4g.micro",
	MinSize:          2,
	DesiredSize:      2,
	MaxSize:          4,
	WebCount:         2,
	ScaleOutLatency:  1,
	ScaleInLatency:   0.5,
	ScaleOutCooldown: 300,
	ScaleInCooldown:  300,
	AllowedCidr:      "0.0.0.0/0",
	LogRetentionDays: 7,
}

// settingError names the key and what is allowed, in one line.
func settingError(key, format string, args ...any) error {
	return fmt.Errorf("web-demo:%s: %s", key, fmt.Sprintf(format, args...))
}

// settingKind is how a stack setting's text is read.
type settingKind int

const (
	kindText settingKind = iota
	kindWhole
	kindSeconds // a number of seconds > 0, such as 0.5
	kindBool
	kindDelay // a delay ≥ 0 the app understands, such as 1.5 or 200ms
	kindLevel // a tutorial level, or unset
)

// what says what a kind of value is, for errors.
func (k settingKind) what() string {
	return [...]string{"text", "a whole number", "a number of seconds > 0", "true or false", "a delay ≥ 0 such as 0, 1.5 or 200ms",
		fmt.Sprintf("a level, 0 to %d", level.Max)}[k]
}

// pulumiType is the kind's type in Pulumi.yaml's config block.
func (k settingKind) pulumiType() string {
	switch k {
	case kindWhole:
		return "integer"
	case kindBool:
		return "boolean"
	}
	// kindLevel too: a key typed integer must have an integer default, and
	// migrateFrom's default is unset.
	return "string"
}

// StackSetting is one key of the stack's configuration, in namespace
// web-demo. StackSettings is the one definition: LoadSettings reads it,
// and Pulumi.yaml, Pulumi.dev.yaml and the README's table are rendered
// from it (see settingfiles.go).
type StackSetting struct {
	Key    string
	Kind   settingKind
	Group  string
	Levels string
	Doc    string
	// Example is shown in Pulumi.dev.yaml for a setting with no default.
	Example string
	field   func(*Settings) any
}

// StackSettings lists every stack setting, in the order the files show them.
var StackSettings = []StackSetting{
	{Key: "level", Kind: kindWhole, Group: "Level", Levels: "all", Doc: "Tutorial level, 0 to 4: 0 one instance; 1 ALB, RDS, memcached, EFS; 2 S3 uploads; 3 AutoScaling; 4 page cache.",
		field: func(s *Settings) any { return &s.Level }},

	{Key: "migrateFrom", Kind: kindLevel, Group: "Level", Levels: "all", Example: "0",
		Doc:   "Level the photos are on while stepping to level: keeps its stores beside the new ones and copies every photo across; once the migration output shows a \"copy complete\" line logged after that up finished, remove it and pulumi up again to delete the old stores.",
		field: func(s *Settings) any { return &s.MigrateFrom }},

	{Key: "instanceType", Kind: kindText, Group: "Sizes", Levels: "all", Doc: "EC2 instance type of the app servers; Graviton types get an arm64 build.",
		field: func(s *Settings) any { return &s.InstanceType }},
	{Key: "dbInstanceClass", Kind: kindText, Group: "Sizes", Levels: "1–4", Doc: "RDS instance class.",
		field: func(s *Settings) any { return &s.DBInstanceClass }},
	{Key: "cacheNodeType", Kind: kindText, Group: "Sizes", Levels: "1–4", Doc: "ElastiCache node type.",
		field: func(s *Settings) any { return &s.CacheNodeType }},
	{Key: "webCount", Kind: kindWhole, Group: "Sizes", Levels: "1–2", Doc: "Instances behind the load balancer, 1 to 10.",
		field: func(s *Settings) any { return &s.WebCount }},
	{Key: "minSize", Kind: kindWhole, Group: "Sizes", Levels: "3–4", Doc: "Smallest AutoScaling group.",
		field: func(s *Settings) any { return &s.MinSize }},
	{Key: "desiredSize", Kind: kindWhole, Group: "Sizes", Levels: "3–4", Doc: "Starting AutoScaling group size; scaling's own changes to it are kept.",
		field: func(s *Settings) any { return &s.DesiredSize }},
	{Key: "maxSize", Kind: kindWhole, Group: "Sizes", Levels: "3–4", Doc: "Largest AutoScaling group, at most 20.",
		field: func(s *Settings) any { return &s.MaxSize }},

	{Key: "latency", Kind: kindDelay, Group: "Load", Levels: "all", Doc: "Simulated front-page delay (1.5, 200ms), kept in an SSM parameter every server polls: changing it replaces nothing.",
		field: func(s *Settings) any { return &s.Latency }},
	{Key: "scaleOutLatency", Kind: kindSeconds, Group: "Load", Levels: "3–4", Doc: "ALB average response time over 1 minute above which an instance is added.",
		field: func(s *Settings) any { return &s.ScaleOutLatency }},
	{Key: "scaleInLatency", Kind: kindSeconds, Group: "Load", Levels: "3–4", Doc: "ALB average response time over 1 minute below which an instance is removed.",
		field: func(s *Settings) any { return &s.ScaleInLatency }},
	{Key: "scaleOutCooldown", Kind: kindWhole, Group: "Load", Levels: "3–4", Doc: "Seconds after adding an instance before the group scales again, so the new one takes load first.",
		field: func(s *Settings) any { return &s.ScaleOutCooldown }},
	{Key: "scaleInCooldown", Kind: kindWhole, Group: "Load", Levels: "3–4", Doc: "Seconds after removing an instance before the group scales again.",
		field: func(s *Settings) any { return &s.ScaleInCooldown }},

	{Key: "allowedCidr", Kind: kindText, Group: "Access", Levels: "all", Doc: "Who may reach the site (an IPv4 CIDR block).",
		field: func(s *Settings) any { return &s.AllowedCidr }},
	{Key: "sshKeyName", Kind: kindText, Group: "Access", Levels: "all", Doc: "EC2 key pair; with sshCidr it turns SSH on. Use Session Manager instead.", Example: "my-key",
		field: func(s *Settings) any { return &s.SSHKeyName }},
	{Key: "sshCidr", Kind: kindText, Group: "Access", Levels: "all", Doc: "Who may SSH, with sshKeyName.", Example: "203.0.113.7/32",
		field: func(s *Settings) any { return &s.SSHCidr }},
	{Key: "certificateArn", Kind: kindText, Group: "Access", Levels: "1–4", Doc: "ACM certificate: HTTPS (TLS 1.2+) and an HTTP redirect.",
		Example: "arn:aws:acm:us-east-1:123456789012:certificate/example",
		field:   func(s *Settings) any { return &s.CertificateArn }},

	{Key: "logRetentionDays", Kind: kindWhole, Group: "Observability", Levels: "all", Doc: "Days CloudWatch Logs keeps the app and boot logs: 1, 3, 5, 7, 14, 30, 60, 90 and so on.",
		field: func(s *Settings) any { return &s.LogRetentionDays }},

	{Key: "multiAz", Kind: kindBool, Group: "Options", Levels: "1–4", Doc: "RDS Multi-AZ: a standby in the other zone, at twice the price.",
		field: func(s *Settings) any { return &s.MultiAz }},
	{Key: "deletionProtection", Kind: kindBool, Group: "Options", Levels: "1–4", Doc: "Deletion protection on RDS and the ALB; turn it off before going down to level 0 or destroying.",
		field: func(s *Settings) any { return &s.DeletionProtection }},
	{Key: "unsharedState", Kind: kindBool, Group: "Options", Levels: "1", Doc: "Level 1 before the tutorial's fix: sessions and uploads on each server, so logins and images come and go.",
		field: func(s *Settings) any { return &s.UnsharedState }},
}

// Default is the setting's default value as stack config text; "" for
// none.
func (d StackSetting) Default() string {
	s := Defaults
	switch v := d.field(&s).(type) {
	case *int:
		return strconv.Itoa(*v)
	case *float64:
		return strconv.FormatFloat(*v, 'f', -1, 64)
	case *bool:
		return strconv.FormatBool(*v)
	case *time.Duration:
		if *v == 0 {
			return "0"
		}
		return v.String()
	case *string:
		return *v
	case **int:
		if *v == nil {
			return ""
		}
		return strconv.Itoa(**v)
	}
	panic(fmt.Sprintf("stack setting %s: unsupported field type", d.Key))
}

// parse reads raw into the setting's field of s.
func (d StackSetting) parse(s *Settings, raw string) error {
	bad := settingError(d.Key, "%q is not %s", raw, d.Kind.what())
	switch v := d.field(s).(type) {
	case *string:
		*v = raw
	case *int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return bad
		}
		*v = n
	case *float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || f <= 0 {
			return bad
		}
		*v = f
	case *bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return bad
		}
		*v = b
	case *time.Duration:
		latency, err := appconfig.ParseDuration(raw)
		if err != nil {
			return bad
		}
		*v = latency
	case **int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return bad
		}
		*v = &n
	}
	return nil
}

// LoadSettings reads and checks the stack's configuration.
func LoadSettings(ctx *pulumi.Context) (Settings, error) {
	cfg := config.New(ctx, "web-demo")
	s := Defaults
	for _, setting := range StackSettings {
		if raw := cfg.Get(setting.Key); raw != "" {
			if err := setting.parse(&s, raw); err != nil {
				return s, err
			}
		}
	}
	return s, s.check()
}

var (
	instanceTypePattern = regexp.MustCompile(`^((db|cache)\.)?[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	// A Graviton family has a "g" after its generation: t4g, m7g, c7gn.
	gravitonPattern = regexp.MustCompile(`^[a-z]+\d+[a-z]*g[a-z]*\.`)
)

func (s *Settings) check() error {
	var err error
	if s.Features, err = level.For(s.Level, s.UnsharedState); err != nil {
		if s.UnsharedState && s.Level >= 0 && s.Level <= level.Max {
			return settingError("unsharedState", "applies only at level 1, not level %d", s.Level)
		}
		return settingError("level", "%d is not allowed: use 0 to %d", s.Level, level.Max)
	}
	if err := s.checkMigration(); err != nil {
		return err
	}
	for key, v := range map[string]string{"instanceType": s.InstanceType, "dbInstanceClass": s.DBInstanceClass, "cacheNodeType": s.CacheNodeType} {
		if !instanceTypePattern.MatchString(v) {
			return settingError(key, "%q is not an instance type such as t4g.micro", v)
		}
	}
	switch {
	case s.MinSize < 1:
		return settingError("minSize", "%d is not allowed: at least 1", s.MinSize)
	case s.MinSize > s.MaxSize:
		return settingError("minSize", "%d is above maxSize %d: minSize ≤ desiredSize ≤ maxSize", s.MinSize, s.MaxSize)
	case s.DesiredSize < s.MinSize || s.DesiredSize > s.MaxSize:
		return settingError("desiredSize", "%d is outside minSize..maxSize (%d..%d)", s.DesiredSize, s.MinSize, s.MaxSize)
	case s.MaxSize > 20:
		return settingError("maxSize", "%d is more than this tutorial needs: at most 20", s.MaxSize)
	case s.WebCount < 1 || s.WebCount > 10:
		return settingError("webCount", "%d is not allowed: 1 to 10", s.WebCount)
	case s.ScaleInLatency >= s.ScaleOutLatency:
		return settingError("scaleInLatency", "%g s must be below scaleOutLatency %g s", s.ScaleInLatency, s.ScaleOutLatency)
	case s.ScaleOutCooldown < 0:
		return settingError("scaleOutCooldown", "%d is not allowed: seconds ≥ 0", s.ScaleOutCooldown)
	case s.ScaleInCooldown < 0:
		return settingError("scaleInCooldown", "%d is not allowed: seconds ≥ 0", s.ScaleInCooldown)
	}
	if !slices.Contains(logRetentionDays, s.LogRetentionDays) {
		return settingError("logRetentionDays", "%d is not a retention CloudWatch Logs offers: one of %v", s.LogRetentionDays, logRetentionDays)
	}
	if err := checkCidr("allowedCidr", s.AllowedCidr); err != nil {
		return err
	}
	if s.SSHKeyName != "" {
		if s.SSHCidr == "" {
			return settingError("sshCidr", "is required with sshKeyName: the address range allowed to SSH, such as 203.0.113.7/32")
		}
		if err := checkCidr("sshCidr", s.SSHCidr); err != nil {
			return err
		}
	} else if s.SSHCidr != "" {
		return settingError("sshKeyName", "is required with sshCidr: SSH stays off without a key pair (use Session Manager)")
	}
	if s.CertificateArn != "" && !regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$`).MatchString(s.CertificateArn) {
		return settingError("certificateArn", "%q is not an ACM certificate ARN", s.CertificateArn)
	}
	if s.CertificateArn != "" && !s.Features.LoadBalancer {
		return settingError("certificateArn", "needs a load balancer: level 1 or above")
	}
	return nil
}

// checkMigration accepts a migrateFrom whose stores differ from the
// level's, and sets Source.
func (s *Settings) checkMigration() error {
	if s.MigrateFrom == nil {
		return nil
	}
	from := *s.MigrateFrom
	switch {
	case from < 0 || from > level.Max:
		return settingError("migrateFrom", "%d is not a level: use the level the photos are on now, 0 to %d", from, level.Max)
	case from == s.Level:
		return settingError("migrateFrom", "%d is the level itself: nothing to copy; step without it (pulumi config rm web-demo:migrateFrom)", from)
	case s.UnsharedState:
		return settingError("migrateFrom", "does not work with unsharedState: each server keeps its own uploads there, so there is no one store to copy")
	}
	source := level.Table[from]
	if source.SameStores(s.Features) {
		return settingError("migrateFrom", "levels %d and %d keep photos in the same stores (%s): step without it (pulumi config rm web-demo:migrateFrom)",
			from, s.Level, source.PhotoStores())
	}
	s.Source = &source
	return nil
}

// Stores are the features whose photo stores the program builds: the
// level's, and while migrating the source level's as well.
func (s Settings) Stores() level.Features {
	f := s.Features
	if s.Source != nil {
		f.ManagedDatabase = f.ManagedDatabase || s.Source.ManagedDatabase
		f.SharedFiles = f.SharedFiles || s.Source.SharedFiles
		f.ObjectStorage = f.ObjectStorage || s.Source.ObjectStorage
	}
	return f
}

func checkCidr(key, raw string) error {
	prefix, err := netip.ParsePrefix(raw)
	if err != nil || !prefix.Addr().Is4() || prefix.Masked() != prefix {
		return settingError(key, "%q is not an IPv4 CIDR block such as 203.0.113.0/24 or 0.0.0.0/0", raw)
	}
	return nil
}

// Arch is the instances' CPU architecture as AMIs and Go name it.
func (s Settings) Arch() (ami, goarch string) {
	if gravitonPattern.MatchString(s.InstanceType) {
		return "arm64", "arm64"
	}
	return "x86_64", "amd64"
}
