package stack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/efs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"webdemo/infra/level"
)

const tRouteTableAssociation = "aws:ec2/routeTableAssociation:RouteTableAssociation"

// changeOf finds the change to one resource.
func changeOf(changes []Change, typ, name string) (Change, bool) {
	for _, c := range changes {
		if c.Resource.Type == typ && c.Resource.Name == name {
			return c, true
		}
	}
	return Change{}, false
}

// built is a resource as the mocks record it: id, inputs, and state with
// the ARN and name derived from its logical name.
func built(typ, name string, inputs map[string]any, ignore ...string) Resource {
	r := Resource{Type: typ, Name: name, Inputs: resource.NewPropertyMapFromMap(inputs), IgnoreChanges: ignore}
	r.ID = r.physicalID()
	r.State = r.Inputs.Copy()
	r.State["arn"] = resource.NewStringProperty("arn:aws:test:us-east-1:123456789012:" + name)
	if _, ok := r.State["name"]; !ok {
		r.State["name"] = resource.NewStringProperty(name + "-name")
	}
	return r
}

func simsOf(resources ...[]Resource) []*Simulation {
	var out []*Simulation
	for _, rs := range resources {
		out = append(out, &Simulation{Resources: rs})
	}
	return out
}

// TestLevelOneToTwoReplacesTheServers: the new user-data replaces both
// servers (userDataReplaceOnChange), and with them their target group
// attachments, whose targetId forces replacement. Nothing else is replaced.
func TestLevelOneToTwoReplacesTheServers(t *testing.T) {
	changes := Compare(simulate(t, 1), simulate(t, 2))
	for _, name := range []string{"web-0", "web-1"} {
		c, ok := changeOf(changes, tInstance, name)
		if !ok || c.Op != OpReplace || !strings.Contains(c.Reason, "userData changes and userDataReplaceOnChange is true") {
			t.Errorf("instance %s: %v %q, want a replace for userData", name, c.Op, c.Reason)
		}
		c, ok = changeOf(changes, tAttachment, name)
		if !ok || c.Op != OpReplace || c.Reason != "targetId: instance "+name+" is replaced" {
			t.Errorf("attachment %s: %v %q, want a replace because instance %s is", name, c.Op, c.Reason, name)
		}
	}
	for _, c := range changes {
		if c.Op == OpReplace && c.Resource.Type != tInstance && c.Resource.Type != tAttachment {
			t.Errorf("%s %s is replaced: %s", c.Resource.Type, c.Resource.Name, c.Reason)
		}
		if c.Op == OpUpdate && (c.Resource.Type == tInstance || c.Resource.Type == tAttachment) {
			t.Errorf("%s %s shows as an update: %s", c.Resource.Type, c.Resource.Name, c.Reason)
		}
	}
}

// standInBuild is a stand-in app whose content, and so whose hash, key and
// user-data, is the given text.
func standInBuild(t *testing.T, content string) func(string) (Artifact, error) {
	return func(goarch string) (Artifact, error) {
		path := filepath.Join(t.TempDir(), "app-"+goarch)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return Artifact{}, err
		}
		sum := sha256.Sum256([]byte(content))
		return Artifact{Path: path, SHA256: hex.EncodeToString(sum[:]), GOARCH: goarch}, nil
	}
}

// TestLevelZeroNewAppStopsAndStartsTheServer: the level-0 server keeps its
// disk, so new user-data is an update, with EC2 stopping and starting it,
// and its Elastic IP is untouched. The new build is a new object.
func TestLevelZeroNewAppStopsAndStartsTheServer(t *testing.T) {
	a, err := Simulate(LevelConfig(0), Options{BuildApp: standInBuild(t, "app build 1\n")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Simulate(LevelConfig(0), Options{BuildApp: standInBuild(t, "app build 2\n")})
	if err != nil {
		t.Fatal(err)
	}
	changes := Compare(a, b)
	c, ok := changeOf(changes, tInstance, "web-solo")
	if !ok || c.Op != OpUpdate || !strings.Contains(c.Reason, "userData changes in place: EC2 stops the instance") {
		t.Errorf("web-solo: %v %q, want an update that stops and starts it", c.Op, c.Reason)
	}
	if c, ok := changeOf(changes, tEIP, "web"); ok {
		t.Errorf("the Elastic IP changes: %v %q", c.Op, c.Reason)
	}
	c, ok = changeOf(changes, "aws:s3/bucketObjectv2:BucketObjectv2", "storage-app")
	if !ok || c.Op != OpReplace || !strings.HasPrefix(c.Reason, "key forces replacement") {
		t.Errorf("the app object: %v %q, want a replace for its key", c.Op, c.Reason)
	}
	for _, c := range changes {
		if c.Op != OpUpdate && c.Resource.Name != "storage-app" {
			t.Errorf("%s %s: %v %q, want no create, replace or delete", c.Resource.Type, c.Resource.Name, c.Op, c.Reason)
		}
	}
}

// TestRuleSourceTypeChangeReplacesTheRule: the provider modifies a rule in
// place, except that a rule's source cannot change type (cidrIpv4 to
// referencedSecurityGroupId at level 0 → 1).
func TestRuleSourceTypeChangeReplacesTheRule(t *testing.T) {
	changes := Compare(simulate(t, 0), simulate(t, 1))
	c, ok := changeOf(changes, tIngress, "network-app-80")
	if !ok || c.Op != OpReplace || !strings.Contains(c.Reason, "from cidrIpv4 to referencedSecurityGroupId") {
		t.Errorf("network-app-80 at 0 → 1: %v %q, want a replace for the source type", c.Op, c.Reason)
	}

	// Another CIDR is the same source type: an update.
	changes = Compare(simulate(t, 0), simulateWith(t, map[string]string{"level": "0", "allowedCidr": "203.0.113.0/24"}))
	c, ok = changeOf(changes, tIngress, "network-app-80")
	if !ok || c.Op != OpUpdate || c.Reason != "cidrIpv4 changes in place" {
		t.Errorf("network-app-80 with a new allowedCidr: %v %q, want an update", c.Op, c.Reason)
	}

	// Another group is too, for egress rules as for ingress.
	s := simsOf(
		[]Resource{built(tEgress, "out", map[string]any{"securityGroupId": "sg-a", "ipProtocol": "tcp", "referencedSecurityGroupId": "sg-b"})},
		[]Resource{built(tEgress, "out", map[string]any{"securityGroupId": "sg-a", "ipProtocol": "tcp", "referencedSecurityGroupId": "sg-c"})},
		[]Resource{built(tEgress, "out", map[string]any{"securityGroupId": "sg-a", "ipProtocol": "tcp", "prefixListId": "pl-1"})},
	)
	if got := Compare(s[0], s[1]); len(got) != 1 || got[0].Op != OpUpdate {
		t.Errorf("another referenced group: %+v, want an update", got)
	}
	if got := Compare(s[1], s[2]); len(got) != 1 || got[0].Op != OpReplace ||
		!strings.Contains(got[0].Reason, "from referencedSecurityGroupId to prefixListId") {
		t.Errorf("group to prefix list: %+v, want a replace", got)
	}
}

// TestIgnoredInputsAreNotChanges: inputs in ignoreChanges (a new AMI, the
// capacity scaling sets) change nothing, not even as updates.
func TestIgnoredInputsAreNotChanges(t *testing.T) {
	a := simulateWith(t, map[string]string{"level": "3"})
	b := simulateWith(t, map[string]string{"level": "3", "desiredSize": "3"})
	if g := b.one(t, tGroup, "web"); !reflect.DeepEqual(g.IgnoreChanges, []string{"desiredCapacity"}) {
		t.Fatalf("the group ignores %v", g.IgnoreChanges)
	}
	if changes := Compare(a, b); len(changes) != 0 {
		t.Errorf("a new desiredSize at level 3: %+v, want no changes", changes)
	}

	instance := func(ami string, ignore ...string) Resource {
		return built(tInstance, "web-0", map[string]any{"ami": ami, "instanceType": "t4g.micro"}, ignore...)
	}
	template := func(ami string) Resource {
		return built(tTemplate, "web", map[string]any{"imageId": ami, "instanceType": "t4g.micro"}, "imageId")
	}
	s := simsOf(
		[]Resource{instance("ami-1", "ami"), template("ami-1")},
		[]Resource{instance("ami-2", "ami"), template("ami-2")},
	)
	if changes := Compare(s[0], s[1]); len(changes) != 0 {
		t.Errorf("a new AMI, ignored: %+v, want no changes", changes)
	}
	s = simsOf([]Resource{instance("ami-1")}, []Resource{instance("ami-2")})
	if changes := Compare(s[0], s[1]); len(changes) != 1 || changes[0].Op != OpReplace || changes[0].Reason != "ami forces replacement" {
		t.Errorf("a new AMI, not ignored: %+v, want a replace", changes)
	}
	// An ignored path inside an object leaves the rest of it compared.
	tagged := func(name, owner string) Resource {
		return built(tSG, "app", map[string]any{"tags": map[string]any{"Name": name, "Owner": owner}}, `tags["Name"]`)
	}
	s = simsOf([]Resource{tagged("a", "x")}, []Resource{tagged("b", "x")}, []Resource{tagged("b", "y")})
	if changes := Compare(s[0], s[1]); len(changes) != 0 {
		t.Errorf("an ignored tag: %+v, want no changes", changes)
	}
	if changes := Compare(s[1], s[2]); len(changes) != 1 || changes[0].Op != OpUpdate {
		t.Errorf("another tag: %+v, want an update", changes)
	}
}

// TestReplacementsPropagate: a replaced subnet replaces the instance in it
// (subnetId forces), which replaces its attachment (targetId forces), a
// fixed point two steps away; the Elastic IP, whose instance input is
// updated in place, is updated.
func TestReplacementsPropagate(t *testing.T) {
	subnet := func(cidr string) Resource {
		return built(tSubnet, "network-public-0", map[string]any{"vpcId": "network-id", "cidrBlock": cidr})
	}
	others := []Resource{
		built(tInstance, "web-0", map[string]any{"subnetId": "network-public-0-id", "userData": "#!/bin/sh\n"}),
		built(tAttachment, "web-0", map[string]any{"targetGroupArn": "arn:aws:lb:us-east-1:123456789012:web", "targetId": "i-web-0"}),
		built(tEIP, "web", map[string]any{"domain": "vpc", "instance": "i-web-0"}),
		built(tRouteTableAssociation, "network-public-0", map[string]any{"subnetId": "network-public-0-id", "routeTableId": "network-public-id"}),
		// Holds "network-public-0-id" only inside a longer id: no reference.
		built(tRouteTableAssociation, "network-public-01", map[string]any{"subnetId": "network-public-01-id", "routeTableId": "network-public-id"}),
	}
	s := simsOf(append([]Resource{subnet("10.0.0.0/24")}, others...), append([]Resource{subnet("10.0.5.0/24")}, others...))
	changes := Compare(s[0], s[1])
	want := []struct {
		typ, name string
		op        Op
		reason    string
	}{
		{tSubnet, "network-public-0", OpReplace, "cidrBlock forces replacement"},
		{tInstance, "web-0", OpReplace, "subnetId: subnet network-public-0 is replaced"},
		{tAttachment, "web-0", OpReplace, "targetId: instance web-0 is replaced"},
		{tEIP, "web", OpUpdate, "instance now refers to a new instance web-0: the address is disassociated and associated with the new instance"},
		{tRouteTableAssociation, "network-public-0", OpReplace, "subnetId: subnet network-public-0 is replaced"},
	}
	if len(changes) != len(want) {
		t.Errorf("%d changes, want %d: %+v", len(changes), len(want), changes)
	}
	for _, w := range want {
		if c, ok := changeOf(changes, w.typ, w.name); !ok || c.Op != w.op || c.Reason != w.reason {
			t.Errorf("%s %s: %v %q, want %v %q", w.typ, w.name, c.Op, c.Reason, w.op, w.reason)
		}
	}

	// A replaced instance's user-data reference replaces a server that sets
	// userDataReplaceOnChange, and only updates one that does not.
	db := func(username string) Resource {
		r := built(tRDS, "database", map[string]any{"engine": "mysql", "username": username})
		r.State["address"] = resource.NewStringProperty("database.abc123.us-east-1.rds.amazonaws.com")
		return r
	}
	server := func(name string, replace bool) Resource {
		return built(tInstance, name, map[string]any{"userData": "DB_HOST=database.abc123.us-east-1.rds.amazonaws.com\n", "userDataReplaceOnChange": replace})
	}
	s = simsOf([]Resource{db("admin"), server("a", true), server("b", false)}, []Resource{db("root"), server("a", true), server("b", false)})
	changes = Compare(s[0], s[1])
	if c, _ := changeOf(changes, tInstance, "a"); c.Op != OpReplace || c.Reason != "userData: DB instance database is replaced" {
		t.Errorf("server a: %v %q", c.Op, c.Reason)
	}
	if c, _ := changeOf(changes, tInstance, "b"); c.Op != OpUpdate || !strings.Contains(c.Reason, "userData now refers to a new DB instance database: EC2 stops") {
		t.Errorf("server b: %v %q", c.Op, c.Reason)
	}
}

// TestReferencesNeedADependency: resources that share a logical name share
// mock ids ("web-id"); a reference counts only to a resource the referrer
// depends on.
func TestReferencesNeedADependency(t *testing.T) {
	urn := func(typ, name string) string {
		return "urn:pulumi:dev::web-demo::web-demo:infra:Fleet$" + typ + "::" + name
	}
	alb := func(internal bool) Resource {
		return built(tALB, "web", map[string]any{"internal": internal, "loadBalancerType": "application"})
	}
	template := built(tTemplate, "web", map[string]any{"instanceType": "t4g.micro"})
	group := built(tGroup, "web", map[string]any{"launchTemplate": map[string]any{"id": "web-id", "version": "1"}, "name": "web-group"})
	group.DependsOn = []string{urn(tTemplate, "web")}
	s := simsOf([]Resource{alb(false), template, group}, []Resource{alb(true), template, group})
	changes := Compare(s[0], s[1])
	if len(changes) != 1 || changes[0].Resource.Type != tALB || changes[0].Op != OpReplace {
		t.Errorf("%+v, want only the load balancer replaced", changes)
	}
	// The group does depend on a replaced template: it is updated in place.
	named := func(name string) Resource { return built(tTemplate, "web", map[string]any{"name": name}) }
	s = simsOf([]Resource{named("a"), group}, []Resource{named("b"), group})
	changes = Compare(s[0], s[1])
	if c, _ := changeOf(changes, tGroup, "web"); c.Op != OpUpdate ||
		c.Reason != "launchTemplate.id now refers to a new launch template web: the group's instance refresh replaces its servers" {
		t.Errorf("group: %v %q", c.Op, c.Reason)
	}
}

func TestRefersToValue(t *testing.T) {
	for _, c := range []struct {
		s, id string
		want  bool
	}{
		{"i-web-0", "i-web-0", true},
		{`{"Resource":["arn:aws:s3:::storage-uploads-bucket/uploads/*"]}`, "arn:aws:s3:::storage-uploads-bucket", true},
		{"i-web-01", "i-web-0", false},
		{"network-app-id", "app-id", false},
		{"app-id", "app-id", true},
		{"x", "", false},
	} {
		if got := refersToValue(c.s, c.id); got != c.want {
			t.Errorf("refersToValue(%q, %q) = %v", c.s, c.id, got)
		}
	}
}

// TestForceNewRulesCoverEveryType: every AWS type any level registers has
// replacement rules citing a page.
func TestForceNewRulesCoverEveryType(t *testing.T) {
	var all []*Simulation
	for n := 0; n <= level.Max; n++ {
		all = append(all, simulate(t, n))
	}
	all = append(all, simulateWith(t, map[string]string{"level": "1", "sshKeyName": "key", "sshCidr": "203.0.113.7/32",
		"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"}))
	seen := map[string]bool{}
	for _, sim := range all {
		for _, r := range sim.Resources {
			if !strings.HasPrefix(r.Type, "aws:") || seen[r.Type] {
				continue
			}
			seen[r.Type] = true
			if _, ok := forceNewRules[r.Type]; !ok {
				t.Errorf("no replacement rules for %s", r.Type)
			}
		}
	}
	for typ, rule := range forceNewRules {
		if !strings.HasPrefix(rule.doc, "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/") {
			t.Errorf("%s cites %q, not its provider page", typ, rule.doc)
		}
		if !seen[typ] {
			t.Errorf("%s has rules but no level registers it", typ)
		}
	}
}

// TestForceNewRulesNameRealInputs: every input the rules name is an input
// of that type in pulumi-aws v6, down to nested fields.
func TestForceNewRulesNameRealInputs(t *testing.T) {
	args := map[string]interface{ ElementType() reflect.Type }{
		"aws:ec2/vpc:Vpc":                                           ec2.VpcArgs{},
		"aws:ec2/subnet:Subnet":                                     ec2.SubnetArgs{},
		"aws:ec2/internetGateway:InternetGateway":                   ec2.InternetGatewayArgs{},
		"aws:ec2/routeTable:RouteTable":                             ec2.RouteTableArgs{},
		"aws:ec2/routeTableAssociation:RouteTableAssociation":       ec2.RouteTableAssociationArgs{},
		"aws:ec2/securityGroup:SecurityGroup":                       ec2.SecurityGroupArgs{},
		"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": vpc.SecurityGroupIngressRuleArgs{},
		"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   vpc.SecurityGroupEgressRuleArgs{},
		"aws:ec2/instance:Instance":                                 ec2.InstanceArgs{},
		"aws:ec2/launchTemplate:LaunchTemplate":                     ec2.LaunchTemplateArgs{},
		"aws:ec2/eip:Eip":                                           ec2.EipArgs{},
		"aws:lb/loadBalancer:LoadBalancer":                          lb.LoadBalancerArgs{},
		"aws:lb/targetGroup:TargetGroup":                            lb.TargetGroupArgs{},
		"aws:lb/listener:Listener":                                  lb.ListenerArgs{},
		"aws:lb/targetGroupAttachment:TargetGroupAttachment":        lb.TargetGroupAttachmentArgs{},
		"aws:rds/instance:Instance":                                 rds.InstanceArgs{},
		"aws:rds/parameterGroup:ParameterGroup":                     rds.ParameterGroupArgs{},
		"aws:rds/subnetGroup:SubnetGroup":                           rds.SubnetGroupArgs{},
		"aws:elasticache/cluster:Cluster":                           elasticache.ClusterArgs{},
		"aws:elasticache/subnetGroup:SubnetGroup":                   elasticache.SubnetGroupArgs{},
		"aws:efs/fileSystem:FileSystem":                             efs.FileSystemArgs{},
		"aws:efs/mountTarget:MountTarget":                           efs.MountTargetArgs{},
		"aws:efs/accessPoint:AccessPoint":                           efs.AccessPointArgs{},
		"aws:efs/fileSystemPolicy:FileSystemPolicy":                 efs.FileSystemPolicyArgs{},
		"aws:s3/bucketV2:BucketV2":                                  s3.BucketV2Args{},
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":    s3.BucketPublicAccessBlockArgs{},
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls":    s3.BucketOwnershipControlsArgs{},
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": s3.BucketServerSideEncryptionConfigurationV2Args{},
		"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       s3.BucketLifecycleConfigurationV2Args{},
		"aws:s3/bucketPolicy:BucketPolicy":                                                           s3.BucketPolicyArgs{},
		"aws:s3/bucketObjectv2:BucketObjectv2":                                                       s3.BucketObjectv2Args{},
		"aws:iam/role:Role":                                                                          iam.RoleArgs{},
		"aws:iam/rolePolicy:RolePolicy":                                                              iam.RolePolicyArgs{},
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment":                                          iam.RolePolicyAttachmentArgs{},
		"aws:iam/instanceProfile:InstanceProfile":                                                    iam.InstanceProfileArgs{},
		"aws:ssm/parameter:Parameter":                                                                ssm.ParameterArgs{},
		"aws:autoscaling/group:Group":                                                                autoscaling.GroupArgs{},
		"aws:autoscaling/policy:Policy":                                                              autoscaling.PolicyArgs{},
		"aws:cloudwatch/metricAlarm:MetricAlarm":                                                     cloudwatch.MetricAlarmArgs{},
		"aws:cloudwatch/logGroup:LogGroup":                                                           cloudwatch.LogGroupArgs{},
		"aws:cloudwatch/dashboard:Dashboard":                                                         cloudwatch.DashboardArgs{},
	}
	for typ, rule := range forceNewRules {
		a, ok := args[typ]
		if !ok {
			t.Errorf("no pulumi-aws arguments listed for %s", typ)
			continue
		}
		paths := append([]string{}, rule.paths...)
		for _, c := range rule.conditions {
			paths = append(paths, c.paths...)
		}
		for input := range rule.notes {
			paths = append(paths, input)
		}
		for _, p := range paths {
			if !hasInput(a.ElementType(), splitInputPath(p)) {
				t.Errorf("%s has no input %s", typ, p)
			}
		}
	}
}

// hasInput follows a path of pulumi tags through an arguments struct.
func hasInput(typ reflect.Type, path []string) bool {
	for _, name := range path {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return false
		}
		found := false
		for i := 0; i < typ.NumField(); i++ {
			if tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("pulumi"), ","); tag == name {
				typ, found = typ.Field(i).Type, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestWriteDiffSaysWhatAndWhy: a count of each kind, then one line per
// change with its mark, type, name, parent and reason.
func TestWriteDiffSaysWhatAndWhy(t *testing.T) {
	var out bytes.Buffer
	WriteDiff(&out, 1, 2, simulate(t, 1), simulate(t, 2))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !regexp.MustCompile(`^Level 1 → 2: \d+ to create, 4 to replace, \d+ to delete \(\d+ changes\)$`).MatchString(lines[0]) {
		t.Errorf("header %q", lines[0])
	}
	if lines[1] != "  features: -SharedFiles, +ObjectStorage" {
		t.Errorf("features line %q", lines[1])
	}
	wantLines := []string{
		"  +- aws:ec2/instance:Instance                                  web-0 (in web) — userData changes and userDataReplaceOnChange is true",
		"  +- aws:lb/targetGroupAttachment:TargetGroupAttachment         web-1 (in web) — targetId: instance web-1 is replaced",
		"   + aws:s3/bucketV2:BucketV2                                   storage-uploads (in storage) — new at level 2",
		"   - aws:efs/fileSystem:FileSystem                              storage-uploads (in storage) — not at level 2",
	}
	for _, want := range wantLines {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("no line %q in\n%s", want, out.String())
		}
	}
	for _, line := range lines[2:] {
		if strings.HasPrefix(line, "  app settings:") {
			break // the settings that change follow the resources
		}
		if !strings.Contains(line, " — ") {
			t.Errorf("line %q says no reason", line)
		}
	}

	out.Reset()
	WriteDiff(&out, 2, 2, simulate(t, 2), simulate(t, 2))
	if out.String() != "Level 2 → 2: no changes\n  app settings: no changes\n" {
		t.Errorf("no change: %q", out.String())
	}
}

func TestSummarizeChanges(t *testing.T) {
	c := func(ops ...Op) []Change {
		var out []Change
		for _, op := range ops {
			out = append(out, Change{Op: op})
		}
		return out
	}
	for _, tc := range []struct {
		changes []Change
		want    string
	}{
		{nil, "no changes"},
		{c(OpUpdate), "1 to update (1 change)"},
		{c(OpDelete, OpCreate, OpReplace, OpCreate), "2 to create, 1 to replace, 1 to delete (4 changes)"},
	} {
		if got := summarizeChanges(tc.changes); got != tc.want {
			t.Errorf("summarizeChanges = %q, want %q", got, tc.want)
		}
	}
	for op, want := range map[Op][2]string{OpCreate: {"create", "+"}, OpUpdate: {"update", "~"}, OpReplace: {"replace", "+-"}, OpDelete: {"delete", "-"}} {
		if op.String() != want[0] || op.Symbol() != want[1] {
			t.Errorf("%q: %s %s", rune(op), op, op.Symbol())
		}
	}
}
