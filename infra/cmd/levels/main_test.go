package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestLevelOneToTwo(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"1", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"Level 1: ", "Level 2: ", "Level 1 → 2: ",
		"- aws:efs/fileSystem:FileSystem",
		"+ aws:s3/bucketV2:BucketV2",
		"~ aws:iam/rolePolicy:RolePolicy",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// EFS goes and the bucket comes in the diff section, not just anywhere.
	_, diff, _ := strings.Cut(text, "Level 1 → 2")
	if !strings.Contains(diff, "storage-uploads (in storage)") {
		t.Errorf("diff does not name the uploads store:\n%s", diff)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"1"}, {"1", "9"}, {"x", "2"}, {"1", "2", "3"}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}
