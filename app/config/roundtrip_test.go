package config

import (
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// lookupOf is an environment of KEY=value lines, as os.LookupEnv reads one.
func lookupOf(lines ...string) func(string) (string, bool) {
	m := map[string]string{}
	for _, line := range lines {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// cloud is a valid configuration far from Default, where settings that
// Default requires (SQLITE_PATH, UPLOAD_DIR) may be empty and memcached
// may be chosen.
func cloud() Config {
	c := Default()
	c.DBDriver, c.MySQLHost = DriverMySQL, "db.internal"
	c.Storage, c.S3Bucket = StorageS3, "photos"
	c.MemcachedServers = []string{"cache.internal:11211"}
	return c
}

// textCandidates are tried in turn as a text setting's non-default value:
// the first that differs from the default and passes Validate is used. They
// cover the shapes settings check: plain text with a space, host:port, URL,
// region, host name.
var textCandidates = []string{"two words", "127.0.0.1:9", "https://example.com/base", "eu-west-2", "example"}

// variants are values of s's type other than its value in base, each set
// on a copy of base: every other choice, the far ends of a range, the
// other truth value, text and lists from the candidates.
func variants(s Setting, base Config) []Config {
	var out []Config
	add := func(set func(field any)) {
		c := base
		c.TrustedProxies = append([]netip.Prefix(nil), base.TrustedProxies...)
		c.MemcachedServers = append([]string(nil), base.MemcachedServers...)
		set(s.field(&c))
		if format(s.field(&c)) != format(s.field(&base)) {
			out = append(out, c)
		}
	}
	bounds := func(deflt int64) []int64 {
		if s.within == nil {
			return []int64{deflt + 1}
		}
		return []int64{s.within.lo, s.within.hi}
	}
	switch p := s.field(&base).(type) {
	case *string:
		values := textCandidates
		if s.allowed != nil {
			values = s.allowed
		}
		for _, v := range values {
			add(func(f any) { *f.(*string) = v })
		}
	case *bool:
		add(func(f any) { *f.(*bool) = !*p })
	case *int:
		for _, v := range bounds(int64(*p)) {
			add(func(f any) { *f.(*int) = int(v) })
		}
	case *int64:
		for _, v := range bounds(*p) {
			add(func(f any) { *f.(*int64) = v })
		}
	case *time.Duration:
		for _, v := range bounds(int64(*p)) {
			add(func(f any) { *f.(*time.Duration) = time.Duration(v) })
		}
	case *[]string:
		add(func(f any) { *f.(*[]string) = []string{"a.internal:11211", "10.0.0.2:11212"} })
	case *[]netip.Prefix:
		add(func(f any) {
			*f.(*[]netip.Prefix) = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("2001:db8::/32")}
		})
	default:
		panic(fmt.Sprintf("setting %s: no variants of %T", s.Name, p))
	}
	return out
}

// Every setting, given any valid value other than its default, comes back
// unchanged through Environ and Load: the promise infra and the local
// cluster rely on when they render a server's environment file.
func TestEverySettingRoundTrips(t *testing.T) {
	for _, s := range Settings {
		t.Run(s.Name, func(t *testing.T) {
			tried := 0
			for _, base := range []Config{Default(), cloud()} {
				for _, want := range variants(s, base) {
					if want.Validate() != nil {
						continue // a value this setting refuses, such as text for ADDR
					}
					tried++
					roundTrip(t, want)
				}
			}
			if tried == 0 {
				t.Fatalf("no valid value other than the default %q: add a candidate", s.Default())
			}
		})
	}
}

// An empty text setting is a value, the empty text, even where the default
// is not empty: S3_PREFIX= loads back as "", not as uploads/. Where empty
// fails validation (ADDR=), Load says so, naming the setting, rather than
// quietly using the default.
func TestEmptyTextIsAValue(t *testing.T) {
	texts := 0
	for _, s := range Settings {
		if !emptiable(s) {
			continue
		}
		texts++
		t.Run(s.Name, func(t *testing.T) {
			valid := 0
			for _, base := range []Config{Default(), cloud()} {
				want := base
				switch p := s.field(&want).(type) {
				case *string:
					*p = ""
				case *[]string:
					*p = nil
				case *[]netip.Prefix:
					*p = nil
				}
				if err := want.Validate(); err != nil {
					lines := want.Environ()
					_, loadErr := Load(nil, lookupOf(lines...), io.Discard)
					if loadErr == nil || loadErr.Error() != err.Error() {
						t.Errorf("Load(%q) = %v; want the empty value refused: %v", lines, loadErr, err)
					}
					continue
				}
				valid++
				roundTrip(t, want)
				if s.Default() != "" && !strings.Contains(strings.Join(want.Environ(), "\n"), s.Name+"=") {
					t.Errorf("Environ of an empty %s, whose default is %q, leaves it out", s.Name, s.Default())
				}
			}
			if valid == 0 && s.Name != "ADDR" {
				t.Errorf("%s can never be empty; the test expects only ADDR to be so", s.Name)
			}
		})
	}
	if texts < 20 {
		t.Fatalf("only %d text settings found", texts)
	}
}

// Blank is empty: spaces around a value are trimmed.
func TestBlankTextIsEmpty(t *testing.T) {
	got, err := Load(nil, lookupOf("S3_PREFIX=   ", "MEMCACHED_PREFIX="), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got.S3Prefix != "" || got.MemcachedPrefix != "" {
		t.Fatalf("S3_PREFIX %q, MEMCACHED_PREFIX %q; want both empty", got.S3Prefix, got.MemcachedPrefix)
	}
	unset, err := Load(nil, lookupOf(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if unset.S3Prefix != "uploads/" || unset.MemcachedPrefix != "webdemo:" {
		t.Fatalf("unset prefixes load as %q and %q; want the defaults", unset.S3Prefix, unset.MemcachedPrefix)
	}
}

// A number, duration, switch or choice has no empty value: set to empty or
// blank, by variable or flag, it is an error naming the setting and what it
// takes, never the default in disguise.
func TestEmptyIsAnErrorWhereTextIsNot(t *testing.T) {
	refused := 0
	for _, s := range Settings {
		if emptiable(s) {
			continue
		}
		refused++
		for _, raw := range []string{"", "  "} {
			for how, load := range map[string]func() error{
				"variable": func() error { _, err := Load(nil, lookupOf(s.Name+"="+raw), io.Discard); return err },
				"flag": func() error {
					_, err := Load([]string{"-" + s.FlagName() + "=" + raw}, lookupOf(), io.Discard)
					return err
				},
			} {
				err := load()
				want := s.Name + ": empty, but it takes "
				if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "unset it for the default, "+s.Default()) {
					t.Errorf("%s %s=%q: err = %v; want %q… naming the default", how, s.Name, raw, err, want)
				}
			}
		}
	}
	if refused < 20 {
		t.Fatalf("only %d settings without an empty value found", refused)
	}
}

// emptiable reports whether empty text is a value of s: free text or a
// list.
func emptiable(s Setting) bool {
	var c Config
	switch s.field(&c).(type) {
	case *string:
		return s.allowed == nil
	case *[]string, *[]netip.Prefix:
		return true
	}
	return false
}

// roundTrip checks that want comes back unchanged through Environ and Load.
func roundTrip(t *testing.T, want Config) {
	t.Helper()
	lines := want.Environ()
	got, err := Load(nil, lookupOf(lines...), io.Discard)
	if err != nil {
		t.Errorf("Load(%q): %v", lines, err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changed on the way through %q:\ngot  %+v\nwant %+v", lines, got, want)
	}
}
