package main

import (
	"bytes"
	"regexp"
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
	// New user-data replaces the servers behind the load balancer, and with
	// them their target group attachments; each line says why.
	if !regexp.MustCompile(`^: \d+ to create, 4 to replace, \d+ to delete \(\d+ changes\)\n`).MatchString(diff) {
		t.Errorf("diff header: %q", strings.SplitN(diff, "\n", 2)[0])
	}
	for _, name := range []string{"web-0", "web-1"} {
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`(?m)^  \+- aws:ec2/instance:Instance +` + name + ` \(in web\) — userData changes and userDataReplaceOnChange is true$`),
			regexp.MustCompile(`(?m)^  \+- aws:lb/targetGroupAttachment:TargetGroupAttachment +` + name + ` \(in web\) — targetId: instance ` + name + ` is replaced$`),
		} {
			if !want.MatchString(diff) {
				t.Errorf("diff lacks a line matching %s:\n%s", want, diff)
			}
		}
	}
	if strings.Contains(diff, "~ aws:ec2/instance:Instance") {
		t.Errorf("a replaced server shows as an update:\n%s", diff)
	}
}

// TestLevelZeroToOne: the level-0 rule from allowedCidr becomes a rule from
// the load balancer's group, a new source type, so it is replaced.
func TestLevelZeroToOne(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"0", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	_, diff, _ := strings.Cut(out.String(), "Level 0 → 1")
	want := regexp.MustCompile(`(?m)^  \+- aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule +network-app-80 \(in network\) — the source changes from cidrIpv4 to referencedSecurityGroupId`)
	if !want.MatchString(diff) {
		t.Errorf("diff lacks a line matching %s:\n%s", want, diff)
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{{"1"}, {"1", "9"}, {"x", "2"}, {"1", "2", "3"}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}

// TestMigrationSteps: a step between levels with different photo stores is
// shown as its two updates, with migrateFrom and then without; the level-0
// server is updated in place by the first and deleted by the second.
func TestMigrationSteps(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"0", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	_, first, _ := strings.Cut(out.String(), "Level 0 → 1 (migrateFrom 0): ")
	first, second, ok := strings.Cut(first, "Level 1 (migrateFrom 0) → 1: ")
	if !ok {
		t.Fatalf("no two-step migration in:\n%s", out.String())
	}
	if !regexp.MustCompile(`(?m)^   ~ aws:ec2/instance:Instance +web-solo \(in web\) — userData changes in place`).MatchString(first) {
		t.Errorf("the first update does not update the level-0 server in place:\n%s", first)
	}
	if strings.Contains(first, "   - ") || strings.Contains(first, "+- aws:ec2/instance") {
		t.Errorf("the first update deletes or replaces something a server stands on:\n%s", first)
	}
	if !strings.HasPrefix(second, "2 to delete (2 changes)\n") || !strings.Contains(second, "- aws:ec2/instance:Instance") {
		t.Errorf("the second update should delete the level-0 server and its address:\n%s", second)
	}
}

// TestNoMigrationBetweenTheSameStores: levels 2 and 4 keep photos in the
// same stores, so the tool says to step without migrateFrom.
func TestNoMigrationBetweenTheSameStores(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"2", "4"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Level 2 → 4: the photos stay where they are (RDS and S3): step without migrateFrom") {
		t.Errorf("output:\n%s", out.String())
	}
}
