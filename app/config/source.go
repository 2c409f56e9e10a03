package config

import "fmt"

// SourcePrefix marks the settings of the store `webdemo copy` reads from:
// FROM_STORAGE=disk is the source's STORAGE. The unprefixed settings are
// the target's, as the server reads them.
const SourcePrefix = "FROM_"

// LoadSource returns target overlaid with the FROM_ settings that
// lookupEnv finds. As in Load, a FROM_ setting left unset keeps the
// target's value, and one set to empty text is a value: empty text or an
// empty list, and an error for a number, duration, switch or choice. The
// result is validated, and every error names the FROM_ variable.
func LoadSource(target Config, lookupEnv func(string) (string, bool)) (Config, error) {
	src := target
	for _, s := range Settings {
		raw, ok := lookupEnv(SourcePrefix + s.Name)
		if !ok {
			continue
		}
		if err := s.parse(&src, raw); err != nil {
			return src, fmt.Errorf("%s%s: %w", SourcePrefix, s.Name, err)
		}
	}
	// Validate's errors start with the setting's name.
	if err := src.Validate(); err != nil {
		return src, fmt.Errorf("%s%w", SourcePrefix, err)
	}
	return src, nil
}

// EnvironFrom renders each setting where c differs from target as a
// FROM_KEY=value line, sorted as in Settings; a setting c leaves empty
// where target sets it is a FROM_KEY= line. LoadSource(target, env of the
// result) gives back c.
func (c Config) EnvironFrom(target Config) []string {
	var out []string
	for _, s := range Settings {
		if v := format(s.field(&c)); v != format(s.field(&target)) {
			out = append(out, SourcePrefix+s.Name+"="+v)
		}
	}
	return out
}
