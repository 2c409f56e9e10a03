package stack

import (
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

var updateStackFiles = flag.Bool("update-stack-files", false, "rewrite Pulumi.yaml, Pulumi.dev.yaml and the README's stack settings table from StackSettings")

// Pulumi.yaml, Pulumi.dev.yaml and the README's table are rendered from
// StackSettings; none may drift from it.
func TestStackSettingFilesAreCurrent(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(readme), readmeTableBegin+"\n")
	_, after, ok2 := strings.Cut(rest, readmeTableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md lacks the %s … %s markers", readmeTableBegin, readmeTableEnd)
	}
	files := map[string]string{
		"../../Pulumi.yaml":     ProjectYAML(),
		"../../Pulumi.dev.yaml": ExampleStackYAML(),
		"../../README.md":       before + readmeTableBegin + "\n" + MarkdownTable() + readmeTableEnd + after,
	}
	for path, want := range files {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == want {
			continue
		}
		if *updateStackFiles {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is stale: run go test ./infra/stack -run StackSettingFiles -update-stack-files", path)
	}
}

// Every field of Settings that the stack can set has exactly one entry in
// StackSettings, and every entry is declared in Pulumi.yaml.
func TestEveryStackSettingIsDeclaredOnce(t *testing.T) {
	var s Settings
	claimed := map[uintptr]string{}
	for _, setting := range StackSettings {
		addr := reflect.ValueOf(setting.field(&s)).Pointer()
		if other, dup := claimed[addr]; dup {
			t.Errorf("%s and %s set the same field", setting.Key, other)
		}
		claimed[addr] = setting.Key
	}
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Features" || name == "Source" { // derived from level and migrateFrom
			continue
		}
		if _, ok := claimed[v.Field(i).Addr().Pointer()]; !ok {
			t.Errorf("Settings.%s has no stack setting", name)
		}
	}
	project, err := workspace.LoadProject("../../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, setting := range StackSettings {
		declared, ok := project.Config["web-demo:"+setting.Key]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare web-demo:%s", setting.Key)
			continue
		}
		if declared.Type == nil || *declared.Type != setting.Kind.pulumiType() {
			t.Errorf("web-demo:%s is declared with type %v, want %s", setting.Key, declared.Type, setting.Kind.pulumiType())
		}
	}
}
