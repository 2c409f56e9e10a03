package config_test

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"webdemo/app/config"
)

// FuzzLoad sets one setting to any text. Whatever it is, Load answers
// with one line naming the setting, or with a configuration that passes
// Validate and survives a trip through an environment file.
func FuzzLoad(f *testing.F) {
	for i, s := range config.Settings {
		f.Add(uint8(i), s.Default())
	}
	for _, seed := range []struct {
		name, value string
	}{
		{"MAX_UPLOAD_BYTES", "9223372036854775807"},
		{"ADDR", "[::1]:0"},
		{"ADDR", "127.0.0.1:99999"},
		{"TRUSTED_PROXIES", "10.0.0.0/16,::ffff:127.0.0.1"},
		{"MEMCACHED_SERVERS", "a:1, b:2,,"},
		{"LATENCY", "1e300"},
		{"MYSQL_PASSWORD", "pw\nMYSQL_HOST=evil"},
		{"S3_PRESIGN_EXPIRY", "169h"},
		{"S3_PREFIX", ""},
		{"PAGE_SIZE", " "},
	} {
		f.Add(uint8(index(seed.name)), seed.value)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		s := config.Settings[int(which)%len(config.Settings)]
		cfg, err := config.Load(nil, env(s.Name+"="+value), io.Discard)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("%s=%q: error spans lines: %q", s.Name, value, msg)
			}
			if name, _, ok := strings.Cut(msg, ": "); !ok || index(name) < 0 {
				t.Fatalf("%s=%q: error names no setting: %q", s.Name, value, msg)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s=%q: loaded, then Validate says %v", s.Name, value, err)
		}
		// Render as an environment file, read it back line by line.
		file := strings.Join(cfg.Environ(), "\n")
		var lines []string
		for line := range strings.SplitSeq(file, "\n") {
			if line != "" {
				lines = append(lines, line)
			}
		}
		again, err := config.Load(nil, env(lines...), io.Discard)
		if err != nil {
			t.Fatalf("%s=%q: its environment file %q does not load: %v", s.Name, value, file, err)
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("%s=%q: changed on the way through %q:\n%+v\n%+v", s.Name, value, file, cfg, again)
		}
	})
}

// FuzzParseDuration reads any text as a latency file or SSM parameter might
// hold it.
func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{"1.5s", "200ms", "2", "0.25", "-1s", "soon", "1e300", "NaN", "Inf", " 3h ", "9223372036.854775807"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := config.ParseDuration(raw)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") && !strings.ContainsAny(raw, "\r\n") {
				t.Fatalf("%q: error spans lines: %v", raw, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed as %v, below zero", raw, d)
		}
	})
}

func index(name string) int {
	for i, s := range config.Settings {
		if s.Name == name {
			return i
		}
	}
	return -1
}
