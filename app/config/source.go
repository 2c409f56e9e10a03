package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// SourcePrefix marks the settings of the store `webdemo copy` reads from:
// FROM_STORAGE=disk is the source's STORAGE. The unprefixed settings are
// the target's, as the server reads them.
const SourcePrefix = "FROM_"

// SourceEmpty names the settings, comma-separated, that the source leaves
// empty although the target sets them, such as MYSQL_SECRET_ARN when the
// source is level 0's MariaDB with a password: a blank FROM_ value means
// "as the target", so emptiness needs saying apart.
const SourceEmpty = SourcePrefix + "EMPTY"

// LoadSource returns target overlaid with the FROM_ settings in the
// environment. A FROM_ setting left unset keeps the target's value. The
// result is validated, and every error names the FROM_ variable.
func LoadSource(target Config, getenv func(string) string) (Config, error) {
	src := target
	cleared := map[string]bool{}
	for _, name := range splitList(getenv(SourceEmpty)) {
		s, ok := settingNamed(name)
		if !ok {
			return src, fmt.Errorf("%s: %q is not a setting", SourceEmpty, name)
		}
		if !canBeEmpty(s) {
			return src, fmt.Errorf("%s: %s cannot be empty", SourceEmpty, name)
		}
		cleared[name] = true
	}
	for _, s := range Settings {
		raw := getenv(SourcePrefix + s.Name)
		blank := strings.TrimSpace(raw) == ""
		switch {
		case cleared[s.Name] && !blank:
			return src, fmt.Errorf("%s%s: set, but %s says it is empty", SourcePrefix, s.Name, SourceEmpty)
		case cleared[s.Name]:
			setEmpty(s.field(&src))
		case !blank:
			if err := s.parse(&src, raw); err != nil {
				return src, fmt.Errorf("%s%s: %w", SourcePrefix, s.Name, err)
			}
		}
	}
	// Validate's errors start with the setting's name.
	if err := src.Validate(); err != nil {
		return src, fmt.Errorf("%s%w", SourcePrefix, err)
	}
	return src, nil
}

// EnvironFrom renders, as FROM_KEY=value lines sorted as in Settings, each
// setting where c differs from target, and a FROM_EMPTY line for those c
// leaves empty. LoadSource(target, env of the result) gives back c.
func (c Config) EnvironFrom(target Config) []string {
	var out, empty []string
	for _, s := range Settings {
		v := format(s.field(&c))
		if v == format(s.field(&target)) {
			continue
		}
		if v == "" {
			empty = append(empty, s.Name)
			continue
		}
		out = append(out, SourcePrefix+s.Name+"="+v)
	}
	if len(empty) > 0 {
		out = append(out, SourceEmpty+"="+strings.Join(empty, ","))
	}
	return out
}

func settingNamed(name string) (Setting, bool) {
	i := slices.IndexFunc(Settings, func(s Setting) bool { return s.Name == name })
	if i < 0 {
		return Setting{}, false
	}
	return Settings[i], true
}

// canBeEmpty reports whether the setting's value can be empty text: a
// free string or a list, not a choice, number, switch or duration.
func canBeEmpty(s Setting) bool {
	if s.allowed != nil {
		return false
	}
	var c Config
	switch s.field(&c).(type) {
	case *string, *[]string, *[]netip.Prefix:
		return true
	}
	return false
}

// setEmpty empties a string or list field.
func setEmpty(field any) {
	switch p := field.(type) {
	case *string:
		*p = ""
	case *[]string:
		*p = nil
	case *[]netip.Prefix:
		*p = nil
	}
}
