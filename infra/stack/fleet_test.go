package stack

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestInstancesRequireIMDSv2AndEncryptRoot(t *testing.T) {
	for n := range 5 {
		sim := simulate(t, n)
		for _, r := range sim.ofType(tInstance) {
			if str(r, "metadataOptions.httpTokens") != "required" || str(r, "metadataOptions.httpPutResponseHopLimit") != "1" {
				t.Errorf("level %d: %s does not require IMDSv2 with hop limit 1", n, r.Name)
			}
			if str(r, "rootBlockDevice.encrypted") != "true" || str(r, "rootBlockDevice.volumeType") != "gp3" {
				t.Errorf("level %d: %s root volume is not encrypted gp3", n, r.Name)
			}
			// Level 0 keeps its disk (database and uploads) across user-data
			// changes; servers behind the load balancer are replaced.
			if str(r, "userDataReplaceOnChange") != fmt.Sprint(n > 0) || !slices.Contains(r.IgnoreChanges, "ami") {
				t.Errorf("level %d: %s: userDataReplaceOnChange = %s, and AMI updates must not replace it", n, r.Name, str(r, "userDataReplaceOnChange"))
			}
		}
		for _, r := range sim.ofType(tTemplate) {
			if str(r, "metadataOptions.httpTokens") != "required" || str(r, "metadataOptions.httpPutResponseHopLimit") != "1" {
				t.Errorf("level %d: launch template does not require IMDSv2", n)
			}
			if str(r, "blockDeviceMappings.ebs.encrypted") != "true" || str(r, "blockDeviceMappings.ebs.volumeType") != "gp3" {
				t.Errorf("level %d: launch template root volume is not encrypted gp3", n)
			}
			if str(r, "imageId") != MockAMI || !slices.Contains(r.IgnoreChanges, "imageId") {
				t.Errorf("level %d: launch template AMI is not the SSM one, pinned", n)
			}
		}
	}
}

func TestAutoScalingGroup(t *testing.T) {
	for _, n := range []int{3, 4} {
		sim := simulate(t, n)
		group := sim.one(t, tGroup, "web")
		if v := str(group, "launchTemplate.version"); v != "1" {
			t.Errorf("level %d: launch template version %q, want the template's latestVersion", n, v)
		}
		if str(group, "healthCheckType") != "ELB" || str(group, "healthCheckGracePeriod") != "300" || str(group, "defaultInstanceWarmup") == "" {
			t.Errorf("level %d: health check %s/%s", n, str(group, "healthCheckType"), str(group, "healthCheckGracePeriod"))
		}
		if zones := group.Inputs["vpcZoneIdentifiers"].ArrayValue(); len(zones) != 2 {
			t.Errorf("level %d: group spans %d subnets", n, len(zones))
		}
		if str(group, "minSize") != "2" || str(group, "desiredCapacity") != "2" || str(group, "maxSize") != "4" {
			t.Errorf("level %d: sizes %s/%s/%s", n, str(group, "minSize"), str(group, "desiredCapacity"), str(group, "maxSize"))
		}
		if str(group, "instanceRefresh.strategy") != "Rolling" || !slices.Contains(group.IgnoreChanges, "desiredCapacity") {
			t.Errorf("level %d: no rolling refresh, or desired capacity drift is undone", n)
		}
	}
}

// A server must not boot before its role grants what the boot uses, nor
// before the app it downloads is uploaded. Each grant is its own policy,
// so a step down deletes a grant only after the servers that use it (Pulumi
// deletes in reverse dependency order at the end of an update).
func TestServersWaitForTheirGrantsAndTheApp(t *testing.T) {
	grants := map[int][]string{
		0: {"app-app", "app-logs"},
		1: {"app-app", "app-database", "app-files", "app-logs"},
		2: {"app-app", "app-database", "app-logs", "app-uploads"},
	}
	grants[3], grants[4] = grants[2], grants[2]
	for n := range 5 {
		sim := simulate(t, n)
		var names []string
		for _, p := range sim.ofType(tRolePolicy) {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, grants[n]) {
			t.Errorf("level %d: inline policies %v, want one per grant %v", n, names, grants[n])
		}
		for _, r := range append(sim.ofType(tInstance), sim.ofType(tTemplate)...) {
			for _, policy := range grants[n] {
				if !dependsOn(r, tRolePolicy, policy) {
					t.Errorf("level %d: %s %s does not wait for %s: %v", n, r.Type, r.Name, policy, r.DependsOn)
				}
			}
			if !dependsOn(r, tAttachPolicy, "app-ssm") {
				t.Errorf("level %d: %s %s does not wait for Session Manager's policy", n, r.Type, r.Name)
			}
		}
		for _, r := range sim.ofType(tInstance) {
			if !dependsOn(r, "aws:s3/bucketObjectv2:BucketObjectv2", "storage-app") {
				t.Errorf("level %d: %s boots before the app is uploaded", n, r.Name)
			}
		}
	}
}

// Level 0 keeps MariaDB and the uploads on the instance's disk, so a new
// app or setting updates it in place (stop, new user-data, start) and an
// Elastic IP keeps its address.
func TestLevelZeroUpdatesInPlace(t *testing.T) {
	sim := simulate(t, 0)
	instance := sim.one(t, tInstance, "web-solo")
	if str(instance, "userDataReplaceOnChange") != "false" {
		t.Error("a new user-data would replace the level-0 server and lose its data")
	}
	eip := sim.one(t, tEIP, "web")
	if str(eip, "instance") != "i-web-solo" || str(eip, "domain") != "vpc" {
		t.Errorf("the Elastic IP is not on the server: %v", eip.Inputs)
	}
	if sim.Outputs["url"] != "http://ec2-198-51-100-10.compute-1.amazonaws.com" {
		t.Errorf("url %v is not the Elastic IP's", sim.Outputs["url"])
	}
	// The script runs at every boot, or the new app would never start.
	parts := userDataParts(t, instance)
	if !strings.Contains(parts["text/cloud-config"], "- [scripts-user, always]") {
		t.Errorf("cloud-config does not run the script at every boot:\n%s", parts["text/cloud-config"])
	}
	script := parts["text/x-shellscript"]
	for _, idempotent := range []string{
		"systemctl restart webdemo.service", // the previous app is already running
		"if [ ! -s /etc/webdemo/mysql-password ]",
		"CREATE DATABASE IF NOT EXISTS",
		"id webdemo >/dev/null 2>&1 ||",
	} {
		if !strings.Contains(script, idempotent) {
			t.Errorf("the level-0 script lacks %q, so a second boot would break", idempotent)
		}
	}
}

// The group's creation waits for healthy capacity, so a step up to level
// 3 removes the old servers only once the group serves.
func TestGroupWaitsForHealthyCapacity(t *testing.T) {
	group := simulateWith(t, map[string]string{"level": "3", "minSize": "3", "desiredSize": "3"}).one(t, tGroup, "web")
	if str(group, "minElbCapacity") != "3" || str(group, "waitForCapacityTimeout") != capacityTimeout {
		t.Errorf("minElbCapacity %s, timeout %s", str(group, "minElbCapacity"), str(group, "waitForCapacityTimeout"))
	}
}

// The level-0 server was named web-0 before it had a name of its own: the
// alias keeps such a stack's server, with its database and uploads, instead
// of replacing it with an empty one. Beside level 1's own web-0 it would
// clash (https://github.com/pulumi/pulumi/pull/11212), so a kept server has
// none.
func TestLoneLevelZeroServerAnswersToItsOldName(t *testing.T) {
	named := func(aliases []string, name string) bool {
		for _, a := range aliases {
			if a == name || strings.HasSuffix(a, "::"+name) {
				return true
			}
		}
		return false
	}
	if solo := simulate(t, 0).one(t, tInstance, "web-solo"); !named(solo.Aliases, "web-0") {
		t.Errorf("level 0's server has aliases %v, want web-0", solo.Aliases)
	}
	kept := simulateWith(t, migrationConfig(0, 1)).one(t, tInstance, "web-solo")
	if len(kept.Aliases) != 0 {
		t.Errorf("the server kept beside level 1's web-0 has aliases %v, want none", kept.Aliases)
	}
}
