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

// LoadSettings reads and checks the stack's configuration.
func LoadSettings(ctx *pulumi.Context) (Settings, error) {
	cfg := config.New(ctx, "web-demo")
	s := Defaults
	var err error
	// field parses key into a setting when the stack sets it, keeping the
	// first error.
	field := func(key string, parse func(raw string) bool, want string) {
		if raw := cfg.Get(key); raw != "" && err == nil && !parse(raw) {
			err = settingError(key, "%q is not %s", raw, want)
		}
	}
	const wholeNumber, seconds, trueOrFalse = "a whole number", "a number of seconds > 0", "true or false"
	field("level", intInto(&s.Level), wholeNumber)
	field("instanceType", textInto(&s.InstanceType), "")
	field("dbInstanceClass", textInto(&s.DBInstanceClass), "")
	field("cacheNodeType", textInto(&s.CacheNodeType), "")
	field("minSize", intInto(&s.MinSize), wholeNumber)
	field("desiredSize", intInto(&s.DesiredSize), wholeNumber)
	field("maxSize", intInto(&s.MaxSize), wholeNumber)
	field("webCount", intInto(&s.WebCount), wholeNumber)
	field("scaleOutLatency", secondsInto(&s.ScaleOutLatency), seconds)
	field("scaleInLatency", secondsInto(&s.ScaleInLatency), seconds)
	field("scaleOutCooldown", intInto(&s.ScaleOutCooldown), wholeNumber)
	field("scaleInCooldown", intInto(&s.ScaleInCooldown), wholeNumber)
	field("logRetentionDays", intInto(&s.LogRetentionDays), wholeNumber)
	field("allowedCidr", textInto(&s.AllowedCidr), "")
	field("sshKeyName", textInto(&s.SSHKeyName), "")
	field("sshCidr", textInto(&s.SSHCidr), "")
	field("certificateArn", textInto(&s.CertificateArn), "")
	field("multiAz", boolInto(&s.MultiAz), trueOrFalse)
	field("deletionProtection", boolInto(&s.DeletionProtection), trueOrFalse)
	field("unsharedState", boolInto(&s.UnsharedState), trueOrFalse)
	if err != nil {
		return s, err
	}
	if raw := cfg.Get("latency"); raw != "" {
		if s.Latency, err = appconfig.ParseDuration(raw); err != nil {
			return s, settingError("latency", "%q is not a delay ≥ 0 such as 0, 1.5 or 200ms", raw)
		}
	}
	return s, s.check()
}

func textInto(p *string) func(string) bool { return func(raw string) bool { *p = raw; return true } }

func intInto(p *int) func(string) bool {
	return func(raw string) bool {
		n, err := strconv.Atoi(raw)
		*p = n
		return err == nil
	}
}

func boolInto(p *bool) func(string) bool {
	return func(raw string) bool {
		b, err := strconv.ParseBool(raw)
		*p = b
		return err == nil
	}
}

func secondsInto(p *float64) func(string) bool {
	return func(raw string) bool {
		f, err := strconv.ParseFloat(raw, 64)
		*p = f
		return err == nil && f > 0
	}
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
