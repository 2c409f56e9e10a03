package stack

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The files below are rendered from StackSettings; a test fails when one
// of them drifts, and `go test ./infra/stack -update-stack-files` rewrites
// them.

// projectHeader is Pulumi.yaml above its config block.
const projectHeader = `name: web-demo
description: A scalable photo-sharing site on AWS, built one tutorial level at a time.
runtime: go
main: infra/
`

// ProjectYAML is Pulumi.yaml: the project, and every stack setting with its
// type, default and meaning, as Pulumi's own templates declare them.
func ProjectYAML() string {
	var b strings.Builder
	b.WriteString(projectHeader)
	b.WriteString("config:\n  aws:region:\n    value: us-east-1\n")
	for _, s := range StackSettings {
		fmt.Fprintf(&b, "  web-demo:%s:\n    type: %s\n", s.Key, s.Kind.pulumiType())
		// A key declared without a default would be required.
		switch def := s.Default(); s.Kind {
		case kindWhole, kindBool:
			fmt.Fprintf(&b, "    default: %s\n", def)
		default:
			fmt.Fprintf(&b, "    default: %s\n", yamlString(def))
		}
		fmt.Fprintf(&b, "    description: %s\n", yamlString(s.Doc+" (levels "+s.Levels+")"))
	}
	return b.String()
}

// yamlString quotes text for YAML: a JSON string is a YAML double-quoted
// scalar.
func yamlString(text string) string {
	quoted, _ := json.Marshal(text)
	return string(quoted)
}

// ExampleStackYAML is Pulumi.dev.yaml: level 0 in us-east-1, and every other
// setting commented out at its default (or an example), grouped.
func ExampleStackYAML() string {
	var b strings.Builder
	b.WriteString(`# An example stack. Make your own with ` + "`pulumi stack init dev`" + `, then climb
# the tutorial one level at a time:
#
#   pulumi config set web-demo:level 1 && pulumi preview --diff && pulumi up
#
# Every key below is optional; the values shown are the defaults. This file
# is rendered from infra/stack/settings.go.
config:
  aws:region: us-east-1
  web-demo:level: "0"
`)
	group := ""
	for _, s := range StackSettings {
		if s.Key == "level" {
			continue
		}
		if s.Group != group {
			group = s.Group
			fmt.Fprintf(&b, "\n  # %s\n", group)
		}
		value := s.Default()
		if value == "" {
			value = s.Example
		}
		line := fmt.Sprintf("  # web-demo:%s: %s", s.Key, yamlString(value))
		fmt.Fprintf(&b, "%-60s # %s\n", line, s.Doc)
	}
	return b.String()
}

// Markers around the README's stack settings table.
const (
	readmeTableBegin = "<!-- stack-settings:begin -->"
	readmeTableEnd   = "<!-- stack-settings:end -->"
)

// MarkdownTable is the README's stack settings table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Key | Default | Levels | Meaning |\n|---|---|---|---|\n")
	for _, s := range StackSettings {
		def := "—"
		if d := s.Default(); d != "" {
			def = "`" + d + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Key, def, s.Levels, strings.ReplaceAll(s.Doc, "|", `\|`))
	}
	return b.String()
}
