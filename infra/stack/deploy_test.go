package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// dependsOn reports whether r was registered with an explicit dependency on
// a resource of type typ named name.
func dependsOn(r Resource, typ, name string) bool {
	return slices.ContainsFunc(r.DependsOn, func(urn string) bool {
		return strings.Contains(urn, typ) && strings.HasSuffix(urn, "::"+name)
	})
}

// Zone names map to different physical zones in each account, and some
// lack newer instance types: subnets go only where the type is offered.
func TestZonesOfferTheInstanceType(t *testing.T) {
	for n := range 5 {
		for _, subnet := range simulate(t, n).ofType(tSubnet) {
			if zone := str(subnet, "availabilityZone"); !slices.Contains(MockZonesOffering, zone) {
				t.Errorf("level %d: subnet %s in %s, which lacks the instance type", n, subnet.Name, zone)
			}
		}
	}
}

// An internet-facing ALB created before the gateway is attached fails, and
// instances boot by fetching the app over the gateway.
func TestInternetPathPrecedesWhatNeedsIt(t *testing.T) {
	path := []struct{ typ, name string }{
		{"aws:ec2/internetGateway:InternetGateway", "network"},
		{tRouteTable, "network-public"},
		{"aws:ec2/routeTableAssociation:RouteTableAssociation", "network-public-0"},
		{"aws:ec2/routeTableAssociation:RouteTableAssociation", "network-public-1"},
	}
	for n := range 5 {
		sim := simulate(t, n)
		var needers []Resource
		for _, typ := range []string{tALB, tInstance, tGroup, tEIP} {
			needers = append(needers, sim.ofType(typ)...)
		}
		if len(needers) == 0 {
			t.Fatalf("level %d has nothing that needs the internet", n)
		}
		for _, r := range needers {
			for _, p := range path {
				if !dependsOn(r, p.typ, p.name) {
					t.Errorf("level %d: %s %s does not wait for %s", n, r.Type, r.Name, p.name)
				}
			}
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
	instance := sim.one(t, tInstance, "web-0")
	if str(instance, "userDataReplaceOnChange") != "false" {
		t.Error("a new user-data would replace the level-0 server and lose its data")
	}
	eip := sim.one(t, tEIP, "web")
	if str(eip, "instance") != "i-web-0" || str(eip, "domain") != "vpc" {
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

// EFS mounted with IAM squashes root, so the instances reach it through an
// access point that writes as the app's pinned user.
func TestSharedFilesThroughAnAccessPoint(t *testing.T) {
	sim := simulate(t, 1)
	ap := sim.one(t, tAccessPoint, "storage-uploads")
	uid := fmt.Sprint(appUserID)
	for path, want := range map[string]string{
		"fileSystemId": "storage-uploads-id", "posixUser.uid": uid, "posixUser.gid": uid,
		"rootDirectory.creationInfo.ownerUid": uid, "rootDirectory.creationInfo.ownerGid": uid,
		"rootDirectory.creationInfo.permissions": "0750",
	} {
		if got := str(ap, path); got != want {
			t.Errorf("access point %s = %q, want %q", path, got, want)
		}
	}
	script := userData(t, sim.ofType(tInstance)[0])
	if !strings.Contains(script, "useradd --system --uid "+uid+" ") || !strings.Contains(script, "groupadd --system --gid "+uid+" ") {
		t.Error("the app user's uid is not pinned to the access point's")
	}
	if strings.Contains(script, "install -d -o webdemo") {
		t.Error("root writes to the shared mount, where it is squashed")
	}
	for _, s := range roleStatements(t, sim) {
		if s.Sid == "MountSharedUploads" && s.Condition["StringEquals"]["elasticfilesystem:AccessPointArn"] != "arn:aws:efs:us-east-1:123456789012:storage-uploads" {
			t.Errorf("mounting is not limited to the access point: %v", s.Condition)
		}
	}
}

// Without ListBucket, S3 answers a missing key with 403, which the app
// must treat as an error; with it, 404.
func TestMissingUploadsAnswerNotFound(t *testing.T) {
	for n := 2; n <= 4; n++ {
		found := false
		for _, s := range roleStatements(t, simulate(t, n)) {
			if slices.Equal(s.Action, []string{"s3:ListBucket"}) && slices.Equal(s.Resource, []string{"arn:aws:s3:::storage-uploads-bucket"}) {
				found = true
			}
		}
		if !found {
			t.Errorf("level %d: no s3:ListBucket on the uploads bucket", n)
		}
	}
}

// BucketKeyEnabled only applies to SSE-KMS; with SSE-S3 it is noise.
func TestNoBucketKeyWithS3ManagedKeys(t *testing.T) {
	for _, r := range simulate(t, 2).ofType(tEncryption) {
		if got := str(r, "rules.bucketKeyEnabled"); got != "" {
			t.Errorf("%s sets bucketKeyEnabled = %s with AES256", r.Name, got)
		}
	}
}

func TestScaleInHasItsOwnCooldown(t *testing.T) {
	sim := simulateWith(t, map[string]string{"level": "3", "scaleInCooldown": "60"})
	if got := str(sim.one(t, tPolicy, "scaling-scale-in"), "cooldown"); got != "60" {
		t.Errorf("scale-in cooldown %s, want 60", got)
	}
	if got := str(sim.one(t, tPolicy, "scaling-scale-out"), "cooldown"); got != "300" {
		t.Errorf("scale-out cooldown %s, want 300", got)
	}
	if _, err := Simulate(map[string]string{"level": "3", "scaleInCooldown": "-1"}, Options{BuildApp: StandInArtifact}); err == nil ||
		!strings.Contains(err.Error(), "web-demo:scaleInCooldown: -1 is not allowed") {
		t.Errorf("a negative scaleInCooldown: %v", err)
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

// Behind the load balancer (levels 1–2), the update waits for the new
// servers to pass health checks before it ends and deletes the old ones.
func TestUpdateWaitsForHealthyServers(t *testing.T) {
	for n := range 5 {
		var mu sync.Mutex
		var checks []HealthCheck
		wait := func(_ context.Context, c HealthCheck) error {
			mu.Lock()
			defer mu.Unlock()
			checks = append(checks, c)
			return nil
		}
		if _, err := Simulate(LevelConfig(n), Options{BuildApp: StandInArtifact, WaitHealthy: wait}); err != nil {
			t.Fatal(err)
		}
		standalone := n == 1 || n == 2
		if !standalone {
			if len(checks) != 0 {
				t.Errorf("level %d waited on %v", n, checks)
			}
			continue
		}
		if len(checks) != 1 {
			t.Fatalf("level %d: %d health waits", n, len(checks))
		}
		c := checks[0]
		if c.Region != MockRegion || c.TargetGroupArn != "arn:aws:lb:us-east-1:123456789012:web" || !slices.Equal(c.Targets, []string{"i-web-0", "i-web-1"}) {
			t.Errorf("level %d waits on %+v", n, c)
		}
	}
	failing := func(context.Context, HealthCheck) error { return errors.New("i-web-1 unhealthy") }
	if _, err := Simulate(LevelConfig(1), Options{BuildApp: StandInArtifact, WaitHealthy: failing}); err == nil ||
		!strings.Contains(err.Error(), "i-web-1 unhealthy") {
		t.Errorf("a failed health wait must fail the update (keeping the old servers): %v", err)
	}
	noCredentials := func(context.Context, HealthCheck) error { return fmt.Errorf("%w: none found", ErrNoCredentials) }
	if _, err := Simulate(LevelConfig(1), Options{BuildApp: StandInArtifact, WaitHealthy: noCredentials}); err != nil {
		t.Errorf("without credentials the wait is skipped with a warning, not an error: %v", err)
	}
}

// fakeELB answers DescribeTargetHealth with the states it is given, one
// answer per call, repeating the last.
func fakeELB(t *testing.T, answers ...map[string]string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "DescribeTargetHealth" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		states := answers[min(calls, len(answers)-1)]
		calls++
		mu.Unlock()
		var members strings.Builder
		for id, state := range states {
			fmt.Fprintf(&members, "<member><Target><Id>%s</Id><Port>80</Port></Target><TargetHealth><State>%s</State></TargetHealth></member>", id, state)
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
<DescribeTargetHealthResult><TargetHealthDescriptions>%s</TargetHealthDescriptions></DescribeTargetHealthResult>
<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`, members.String())
	}))
	t.Cleanup(server.Close)
	return server, &calls
}

func TestWaitHealthy(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	check := func(endpoint string) HealthCheck {
		return HealthCheck{Region: MockRegion, TargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1",
			Targets: []string{"i-1", "i-2"}, Endpoint: endpoint, Interval: 10 * time.Millisecond, Timeout: 2 * time.Second}
	}

	server, calls := fakeELB(t,
		map[string]string{"i-1": "initial", "i-2": "initial"},
		map[string]string{"i-1": "healthy", "i-2": "initial"},
		map[string]string{"i-1": "healthy", "i-2": "healthy"})
	if err := WaitHealthy(context.Background(), check(server.URL)); err != nil {
		t.Fatalf("targets became healthy, but: %v", err)
	}
	if *calls != 3 {
		t.Errorf("returned after %d polls, want 3", *calls)
	}

	stuck, _ := fakeELB(t, map[string]string{"i-1": "healthy", "i-2": "unhealthy"})
	c := check(stuck.URL)
	c.Timeout = 200 * time.Millisecond
	err := WaitHealthy(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "i-2 unhealthy") || !strings.Contains(err.Error(), "the old servers are kept") {
		t.Errorf("an unhealthy target must fail the wait and say which: %v", err)
	}

	missing, _ := fakeELB(t, map[string]string{"i-1": "healthy"})
	c = check(missing.URL)
	c.Timeout = 200 * time.Millisecond
	if err := WaitHealthy(context.Background(), c); err == nil || !strings.Contains(err.Error(), "i-2 not registered") {
		t.Errorf("an unregistered target must fail the wait: %v", err)
	}
}

// With no credentials of its own (say the provider's come from stack
// config the program cannot see), the wait reports so at once rather than
// failing the update after 15 minutes.
func TestWaitHealthyWithoutCredentials(t *testing.T) {
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	server, calls := fakeELB(t, map[string]string{"i-1": "healthy"})
	start := time.Now()
	err := WaitHealthy(context.Background(), HealthCheck{Region: MockRegion, TargetGroupArn: "tg", Targets: []string{"i-1"}, Endpoint: server.URL})
	if !errors.Is(err, ErrNoCredentials) || *calls != 0 {
		t.Errorf("err = %v after %d calls, want ErrNoCredentials before any call", err, *calls)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to notice", time.Since(start))
	}
	// Static keys from stack config are enough.
	err = WaitHealthy(context.Background(), HealthCheck{Region: MockRegion, TargetGroupArn: "tg", Targets: []string{"i-1"}, Endpoint: server.URL,
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})
	if err != nil {
		t.Errorf("with static keys: %v", err)
	}
}
