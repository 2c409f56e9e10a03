package stack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	appconfig "webdemo/app/config"
)

const (
	tVPC          = "aws:ec2/vpc:Vpc"
	tSubnet       = "aws:ec2/subnet:Subnet"
	tRouteTable   = "aws:ec2/routeTable:RouteTable"
	tNatGateway   = "aws:ec2/natGateway:NatGateway"
	tSG           = "aws:ec2/securityGroup:SecurityGroup"
	tIngress      = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress       = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tInstance     = "aws:ec2/instance:Instance"
	tTemplate     = "aws:ec2/launchTemplate:LaunchTemplate"
	tGroup        = "aws:autoscaling/group:Group"
	tPolicy       = "aws:autoscaling/policy:Policy"
	tAlarm        = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tALB          = "aws:lb/loadBalancer:LoadBalancer"
	tTargetGroup  = "aws:lb/targetGroup:TargetGroup"
	tListener     = "aws:lb/listener:Listener"
	tAttachment   = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
	tRDS          = "aws:rds/instance:Instance"
	tParamGroup   = "aws:rds/parameterGroup:ParameterGroup"
	tCache        = "aws:elasticache/cluster:Cluster"
	tEFS          = "aws:efs/fileSystem:FileSystem"
	tMountTarget  = "aws:efs/mountTarget:MountTarget"
	tBucket       = "aws:s3/bucketV2:BucketV2"
	tAccessBlock  = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tBucketPolicy = "aws:s3/bucketPolicy:BucketPolicy"
	tEncryption   = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tLifecycle    = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	tRolePolicy   = "aws:iam/rolePolicy:RolePolicy"
	tAttachPolicy = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tParameter    = "aws:ssm/parameter:Parameter"
	tEIP          = "aws:ec2/eip:Eip"
	tAccessPoint  = "aws:efs/accessPoint:AccessPoint"
)

// TestInventory pins what each level builds, type by type.
func TestInventory(t *testing.T) {
	want := map[string][5]int{
		tVPC:         {1, 1, 1, 1, 1},
		tSubnet:      {4, 4, 4, 4, 4},
		tRouteTable:  {2, 2, 2, 2, 2},
		tNatGateway:  {0, 0, 0, 0, 0},
		tSG:          {1, 5, 4, 4, 4},
		tInstance:    {1, 2, 2, 0, 0},
		tTemplate:    {0, 0, 0, 1, 1},
		tGroup:       {0, 0, 0, 1, 1},
		tPolicy:      {0, 0, 0, 2, 2},
		tAlarm:       {0, 0, 0, 2, 2},
		tALB:         {0, 1, 1, 1, 1},
		tTargetGroup: {0, 1, 1, 1, 1},
		tListener:    {0, 1, 1, 1, 1},
		tAttachment:  {0, 2, 2, 0, 0},
		tRDS:         {0, 1, 1, 1, 1},
		tCache:       {0, 1, 1, 1, 1},
		tEFS:         {0, 1, 0, 0, 0},
		tMountTarget: {0, 2, 0, 0, 0},
		tAccessPoint: {0, 1, 0, 0, 0},
		tEIP:         {1, 0, 0, 0, 0},
		tBucket:      {1, 1, 2, 2, 2},
		tParameter:   {1, 1, 1, 1, 1},
	}
	for n := range 5 {
		sim := simulate(t, n)
		for typ, counts := range want {
			if got := len(sim.ofType(typ)); got != counts[n] {
				t.Errorf("level %d: %d × %s, want %d", n, got, typ, counts[n])
			}
		}
	}
}

// Every AWS resource sits inside a component, so `pulumi preview` shows
// the tutorial's parts as a tree.
func TestEveryResourceHasAComponent(t *testing.T) {
	for n := range 5 {
		for _, r := range simulate(t, n).Resources {
			isComponent := strings.HasPrefix(r.Type, "web-demo:infra:")
			if isComponent != (r.Parent == "") && r.Type != tParameter {
				t.Errorf("level %d: %s %s has parent %q", n, r.Type, r.Name, r.Parent)
			}
		}
	}
}

// ingressRules describes every ingress rule as "group:port<-source".
func ingressRules(sim *Simulation) []string {
	var rules []string
	for _, r := range sim.ofType(tIngress) {
		on, _ := sim.byID(str(r, "securityGroupId"))
		from := str(r, "cidrIpv4")
		if ref := str(r, "referencedSecurityGroupId"); ref != "" {
			group, _ := sim.byID(ref)
			from = group.Name
		}
		rules = append(rules, fmt.Sprintf("%s:%s<-%s", on.Name, str(r, "fromPort"), from))
		if str(r, "fromPort") != str(r, "toPort") || str(r, "ipProtocol") != "tcp" {
			rules = append(rules, "not a single TCP port: "+r.Name)
		}
	}
	sort.Strings(rules)
	return rules
}

func TestSecurityGroupRules(t *testing.T) {
	lbTier := []string{"network-app:80<-network-lb", "network-cache:11211<-network-app", "network-db:3306<-network-app", "network-lb:80<-0.0.0.0/0"}
	want := map[int][]string{
		0: {"network-app:80<-0.0.0.0/0"},
		1: append([]string{"network-efs:2049<-network-app"}, lbTier...),
		2: lbTier, 3: lbTier, 4: lbTier,
	}
	for n := range 5 {
		got := ingressRules(simulate(t, n))
		exp := slices.Clone(want[n])
		sort.Strings(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("level %d ingress:\n got %v\nwant %v", n, got, exp)
		}
	}
	// Options open exactly what they name.
	sim := simulateWith(t, map[string]string{"level": "2", "allowedCidr": "198.51.100.0/24",
		"sshKeyName": "learner", "sshCidr": "203.0.113.7/32",
		"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"})
	got := ingressRules(sim)
	for _, rule := range []string{"network-lb:80<-198.51.100.0/24", "network-lb:443<-198.51.100.0/24", "network-app:22<-203.0.113.7/32"} {
		if !slices.Contains(got, rule) {
			t.Errorf("with options, missing %s in %v", rule, got)
		}
	}
	for _, rule := range got {
		if strings.HasSuffix(rule, "<-0.0.0.0/0") {
			t.Errorf("with allowedCidr set, %s is still open to the world", rule)
		}
	}
}

func TestNoSSHByDefault(t *testing.T) {
	for n := range 5 {
		sim := simulate(t, n)
		for _, r := range sim.ofType(tIngress) {
			if str(r, "fromPort") == "22" {
				t.Errorf("level %d opens SSH by default", n)
			}
		}
		for _, r := range append(sim.ofType(tInstance), sim.ofType(tTemplate)...) {
			if str(r, "keyName") != "" {
				t.Errorf("level %d: %s has a key pair by default", n, r.Name)
			}
		}
	}
}

func TestDatabase(t *testing.T) {
	for n := 1; n <= 4; n++ {
		sim := simulate(t, n)
		db := sim.one(t, tRDS, "database")
		for path, want := range map[string]string{
			"publiclyAccessible": "false", "storageEncrypted": "true", "manageMasterUserPassword": "true",
			"skipFinalSnapshot": "true", "backupRetentionPeriod": "7", "autoMinorVersionUpgrade": "true",
			"deletionProtection": "false", "multiAz": "false", "engine": "mysql",
			"engineVersion": "8.4", "engineLifecycleSupport": "open-source-rds-extended-support-disabled",
		} {
			if got := str(db, path); got != want {
				t.Errorf("level %d: RDS %s = %q, want %q", n, path, got, want)
			}
		}
		if str(db, "password") != "" {
			t.Errorf("level %d: a master password is in the program", n)
		}
		params := sim.one(t, tParamGroup, "database")
		if str(params, "family") != "mysql8.4" {
			t.Errorf("level %d: parameter group family %s does not match MySQL 8.4", n, str(params, "family"))
		}
		if str(params, "parameters.name") != "require_secure_transport" || str(params, "parameters.value") != "1" {
			t.Errorf("level %d: the parameter group does not require TLS", n)
		}
	}
	sim := simulateWith(t, map[string]string{"level": "1", "multiAz": "true", "deletionProtection": "true"})
	db := sim.one(t, tRDS, "database")
	if str(db, "multiAz") != "true" || str(db, "deletionProtection") != "true" {
		t.Error("multiAz and deletionProtection options are not applied")
	}
	if str(sim.one(t, tALB, "web"), "enableDeletionProtection") != "true" {
		t.Error("deletionProtection does not reach the ALB")
	}
}

func TestPrivateTiersUsePrivateSubnets(t *testing.T) {
	sim := simulate(t, 1)
	for _, r := range sim.ofType(tSubnet) {
		public := strings.Contains(r.Name, "public")
		if got := str(r, "mapPublicIpOnLaunch"); got != fmt.Sprint(public) {
			t.Errorf("subnet %s mapPublicIpOnLaunch = %s", r.Name, got)
		}
	}
	for _, typ := range []string{"aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup"} {
		group := sim.ofType(typ)[0]
		for _, id := range group.Inputs["subnetIds"].ArrayValue() {
			subnet, _ := sim.byID(id.StringValue())
			if !strings.Contains(subnet.Name, "private") {
				t.Errorf("%s uses subnet %s", typ, subnet.Name)
			}
		}
	}
	private := sim.one(t, tRouteTable, "network-private")
	if routes := value(private, "routes"); routes.IsArray() && len(routes.ArrayValue()) > 0 {
		t.Error("the private route table has a route out")
	}
}

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

func TestBucketsArePrivateEncryptedAndTLSOnly(t *testing.T) {
	sim := simulate(t, 2)
	buckets := sim.ofType(tBucket)
	if len(buckets) != 2 {
		t.Fatalf("%d buckets", len(buckets))
	}
	for _, b := range buckets {
		if str(b, "forceDestroy") != "true" {
			t.Errorf("%s: destroy would fail on a non-empty bucket", b.Name)
		}
		block := sim.one(t, tAccessBlock, b.Name)
		for _, flag := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if str(block, flag) != "true" {
				t.Errorf("%s: %s is off", b.Name, flag)
			}
		}
		if str(sim.one(t, tEncryption, b.Name), "rules.applyServerSideEncryptionByDefault.sseAlgorithm") != "AES256" {
			t.Errorf("%s is not encrypted", b.Name)
		}
		if str(sim.one(t, tLifecycle, b.Name), "rules.abortIncompleteMultipartUpload.daysAfterInitiation") != "1" {
			t.Errorf("%s keeps stray multipart uploads", b.Name)
		}
		policy := policyStatements(t, str(sim.one(t, tBucketPolicy, b.Name), "policy"))
		arn := "arn:aws:s3:::" + b.Name + "-bucket"
		if len(policy) != 1 || policy[0].Effect != "Deny" || policy[0].Condition["Bool"]["aws:SecureTransport"] != "false" ||
			!slices.Equal(policy[0].Resource, []string{arn, arn + "/*"}) {
			t.Errorf("%s policy is not TLS-only: %+v", b.Name, policy)
		}
	}
}

func TestSharedFilesAreEncryptedAndTLSOnly(t *testing.T) {
	sim := simulate(t, 1)
	if str(sim.one(t, tEFS, "storage-uploads"), "encrypted") != "true" {
		t.Error("EFS is not encrypted")
	}
	policy := policyStatements(t, str(sim.one(t, "aws:efs/fileSystemPolicy:FileSystemPolicy", "storage-uploads"), "policy"))
	if len(policy) != 1 || policy[0].Effect != "Deny" || policy[0].Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("EFS policy is not TLS-only: %+v", policy)
	}
	for _, mt := range sim.ofType(tMountTarget) {
		subnet, _ := sim.byID(str(mt, "subnetId"))
		if !strings.Contains(subnet.Name, "private") {
			t.Errorf("mount target %s in %s", mt.Name, subnet.Name)
		}
	}
	for _, instance := range sim.ofType(tInstance) {
		script := userData(t, instance)
		if !strings.Contains(script, "efs _netdev,noresvport,tls,iam,accesspoint=fsap-storage-uploads ") {
			t.Error("EFS is not mounted with TLS through the access point")
		}
		mounts := 0
		for _, urn := range instance.DependsOn {
			if strings.Contains(urn, "aws:efs/mountTarget:MountTarget") {
				mounts++
			}
		}
		if mounts != 2 {
			t.Errorf("%s boots before its EFS mount targets exist (depends on %v)", instance.Name, instance.DependsOn)
		}
	}
}

func TestRolePolicyIsLeastPrivilege(t *testing.T) {
	wantSids := map[int][]string{
		0: {"ReadAppArtifact", "ReadLatency", "ShipLogs"},
		1: {"MountSharedUploads", "ReadAppArtifact", "ReadDatabaseSecret", "ReadLatency", "ShipLogs"},
		2: {"ReadAppArtifact", "ReadDatabaseSecret", "ReadLatency", "ReadWriteUploads", "ShipLogs", "TellMissingUploads"},
	}
	wantSids[3], wantSids[4] = wantSids[2], wantSids[2]
	for n := range 5 {
		sim := simulate(t, n)
		statements := roleStatements(t, sim)
		var sids []string
		for _, s := range statements {
			sids = append(sids, s.Sid)
			if s.Effect != "Allow" {
				t.Errorf("level %d: unexpected %s statement", n, s.Effect)
			}
			for _, action := range s.Action {
				if strings.Contains(action, "*") {
					t.Errorf("level %d: %s allows %s", n, s.Sid, action)
				}
			}
			for _, res := range s.Resource {
				scoped := strings.HasSuffix(res, "-bucket/uploads/*") || strings.HasSuffix(res, ":log-group:/web-demo/dev/abc1234:log-stream:*")
				if !strings.HasPrefix(res, "arn:aws:") || (strings.Contains(res, "*") && !scoped) {
					t.Errorf("level %d: %s is not scoped: %s", n, s.Sid, res)
				}
			}
			switch s.Sid {
			case "ReadAppArtifact":
				if !strings.HasPrefix(s.Resource[0], "arn:aws:s3:::storage-artifacts-bucket/app/webdemo-linux-arm64-") {
					t.Errorf("level %d: artifact grant is %s", n, s.Resource[0])
				}
			case "ReadWriteUploads":
				if !slices.Equal(s.Action, []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}) ||
					s.Resource[0] != "arn:aws:s3:::storage-uploads-bucket/uploads/*" {
					t.Errorf("level %d: uploads grant %v on %v", n, s.Action, s.Resource)
				}
			case "ReadDatabaseSecret":
				if !strings.Contains(s.Resource[0], ":secret:rds!db-database") {
					t.Errorf("level %d: secret grant on %s", n, s.Resource[0])
				}
			}
		}
		sort.Strings(sids)
		if !slices.Equal(sids, wantSids[n]) {
			t.Errorf("level %d statements %v, want %v", n, sids, wantSids[n])
		}
		attach := sim.one(t, tAttachPolicy, "app-ssm")
		if str(attach, "policyArn") != ssmCorePolicy {
			t.Errorf("level %d: Session Manager policy missing", n)
		}
		for _, r := range sim.ofType(tAttachPolicy) {
			if strings.Contains(str(r, "policyArn"), "FullAccess") {
				t.Errorf("level %d attaches %s", n, str(r, "policyArn"))
			}
		}
	}
}

func TestLoadBalancer(t *testing.T) {
	sim := simulate(t, 1)
	alb := sim.one(t, tALB, "web")
	if str(alb, "dropInvalidHeaderFields") != "true" || str(alb, "internal") != "false" || str(alb, "name") != "" {
		t.Error("ALB must drop invalid headers, face the internet and be auto-named")
	}
	if str(alb, "desyncMitigationMode") != "strictest" {
		t.Errorf("ALB desync mitigation mode %q, want strictest", str(alb, "desyncMitigationMode"))
	}
	tg := sim.one(t, tTargetGroup, "web")
	if str(tg, "healthCheck.path") != "/healthz" || str(tg, "deregistrationDelay") != "30" {
		t.Errorf("target group health check %q, deregistration %q", str(tg, "healthCheck.path"), str(tg, "deregistrationDelay"))
	}
	if str(sim.one(t, tListener, "web-http"), "defaultActions.type") != "forward" {
		t.Error("without a certificate HTTP must forward")
	}
	https := simulateWith(t, map[string]string{"level": "3", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"})
	if str(https.one(t, tListener, "web-http"), "defaultActions.redirect.protocol") != "HTTPS" {
		t.Error("with a certificate HTTP must redirect to HTTPS")
	}
	listener := https.one(t, tListener, "web-https")
	if str(listener, "sslPolicy") != tlsPolicy || str(listener, "protocol") != "HTTPS" {
		t.Error("HTTPS listener lacks the TLS 1.2+ policy")
	}
	cfg, _ := appSettings(t, userData(t, https.ofType(tTemplate)[0]))
	if !cfg.CookieSecure {
		t.Error("behind HTTPS the session cookie must be Secure")
	}
	if https.Outputs["url"] != "https://web-123456.us-east-1.elb.amazonaws.com" {
		t.Errorf("url = %v", https.Outputs["url"])
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

func TestScalingAlarms(t *testing.T) {
	sim := simulate(t, 3)
	policyArn := map[string]string{}
	for _, p := range sim.ofType(tPolicy) {
		policyArn[p.Name] = p.State["arn"].StringValue()
		if str(p, "policyType") != "SimpleScaling" || str(p, "adjustmentType") != "ChangeInCapacity" || str(p, "cooldown") != "300" {
			t.Errorf("policy %s: %s %s cooldown %s", p.Name, str(p, "policyType"), str(p, "adjustmentType"), str(p, "cooldown"))
		}
	}
	if str(sim.one(t, tPolicy, "scaling-scale-out"), "scalingAdjustment") != "1" || str(sim.one(t, tPolicy, "scaling-scale-in"), "scalingAdjustment") != "-1" {
		t.Error("scale out must add 1 and scale in remove 1")
	}
	for name, want := range map[string][3]string{
		"scaling-high-latency": {"GreaterThanThreshold", "1", "scaling-scale-out"},
		"scaling-low-latency":  {"LessThanThreshold", "0.5", "scaling-scale-in"},
	} {
		a := sim.one(t, tAlarm, name)
		if str(a, "namespace") != "AWS/ApplicationELB" || str(a, "metricName") != "TargetResponseTime" ||
			str(a, "statistic") != "Average" || str(a, "period") != "60" || str(a, "evaluationPeriods") != "1" {
			t.Errorf("%s watches the wrong metric", name)
		}
		if str(a, "comparisonOperator") != want[0] || str(a, "threshold") != want[1] {
			t.Errorf("%s: %s %s, want %s %s", name, str(a, "comparisonOperator"), str(a, "threshold"), want[0], want[1])
		}
		actions := value(a, "alarmActions").ArrayValue()
		if got := actions[0].StringValue(); len(actions) != 1 || got != policyArn[want[2]] {
			t.Errorf("%s triggers %s, want %s", name, got, want[2])
		}
		if str(a, "dimensions.LoadBalancer") != "app/web/0123456789abcdef" {
			t.Errorf("%s is not on the ALB", name)
		}
	}
	custom := simulateWith(t, map[string]string{"level": "4", "scaleOutLatency": "2", "scaleInLatency": "0.25", "scaleOutCooldown": "120"})
	if str(custom.one(t, tAlarm, "scaling-high-latency"), "threshold") != "2" || str(custom.one(t, tAlarm, "scaling-low-latency"), "threshold") != "0.25" ||
		str(custom.one(t, tPolicy, "scaling-scale-out"), "cooldown") != "120" {
		t.Error("scaling settings are not applied")
	}
}

// TestUserData checks each level's boot script: size, the app's settings
// (parsed by the app's own loader), and the setup steps.
func TestUserData(t *testing.T) {
	type expect struct {
		driver, storage, sessions, cache string
		steps                            []string
		absent                           []string
	}
	want := map[int]expect{
		0: {"mysql", "disk", "memory", "off", []string{"mariadb105-server", "MYSQL_PASSWORD=$password"}, []string{"amazon-efs-utils", "rds-ca.pem"}},
		1: {"mysql", "disk", "memcached", "off", []string{"amazon-efs-utils", rdsCAURL}, []string{"mariadb105-server"}},
		2: {"mysql", "s3", "memcached", "off", []string{rdsCAURL}, []string{"amazon-efs-utils", "mariadb105-server"}},
		3: {"mysql", "s3", "memcached", "off", []string{rdsCAURL}, nil},
		4: {"mysql", "s3", "memcached", "memcached", []string{rdsCAURL}, nil},
	}
	for n := range 5 {
		sim := simulate(t, n)
		hosts := append(sim.ofType(tInstance), sim.ofType(tTemplate)...)
		script := userData(t, hosts[0])
		if len(script) >= maxUserData {
			t.Errorf("level %d user-data is %d bytes", n, len(script))
		}
		cfg, env := appSettings(t, script)
		w := want[n]
		if cfg.DBDriver != w.driver || cfg.Storage != w.storage || cfg.Sessions != w.sessions || cfg.PageCache != w.cache {
			t.Errorf("level %d app runs %s/%s/%s/%s, want %v", n, cfg.DBDriver, cfg.Storage, cfg.Sessions, cfg.PageCache, w)
		}
		if !cfg.EC2Metadata || cfg.Addr != ":80" || cfg.LatencySSMParam != "latency-name" || cfg.AWSRegion != MockRegion {
			t.Errorf("level %d: EC2 identity, port 80, latency parameter and region must be set: %v", n, env)
		}
		for _, step := range append(w.steps, "sha256sum --check", "NoNewPrivileges=yes", "ProtectSystem=strict", "CAP_NET_BIND_SERVICE") {
			if !strings.Contains(script, step) {
				t.Errorf("level %d user-data lacks %q", n, step)
			}
		}
		for _, step := range w.absent {
			if strings.Contains(script, step) {
				t.Errorf("level %d user-data has %q", n, step)
			}
		}
		for _, secret := range []string{"MYSQL_PASSWORD=", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"} {
			if _, ok := env[secret]; ok || (secret != "MYSQL_PASSWORD=" && strings.Contains(script, secret)) {
				t.Errorf("level %d user-data carries %s", n, secret)
			}
		}
		switch {
		case n == 0:
			if cfg.MySQLHost != "127.0.0.1" || cfg.MySQLUser != "webdemo" || cfg.UploadDir != localUploadDir {
				t.Errorf("level 0 settings %v", env)
			}
		case n == 1:
			if cfg.UploadDir != filesUploadDir || cfg.MemcachedServers[0] != "cache.abc123.0001.use1.cache.amazonaws.com:11211" {
				t.Errorf("level 1 settings %v", env)
			}
		default:
			if cfg.S3Bucket != "storage-uploads-bucket" || cfg.S3Prefix != uploadsPrefix || cfg.S3Endpoint != "" {
				t.Errorf("level %d S3 settings %v", n, env)
			}
		}
		if n >= 1 && (!cfg.MemcachedTLS || str(sim.one(t, tCache, "cache"), "transitEncryptionEnabled") != "true") {
			t.Errorf("level %d: memcached traffic is not encrypted in transit", n)
		}
		if n >= 1 && (cfg.MySQLHost != "database.abc123.us-east-1.rds.amazonaws.com" || cfg.MySQLTLSCAFile != rdsCAPath ||
			!strings.HasPrefix(cfg.MySQLSecretARN, "arn:aws:secretsmanager:") || cfg.ShutdownDrain != shutdownDrain) {
			t.Errorf("level %d database settings %v", n, env)
		}
		// Behind the ALB the client's address is in X-Forwarded-For, which
		// only the VPC's addresses may set; at level 0 nobody may.
		if trusted := fmt.Sprint(cfg.TrustedProxies); (n == 0 && trusted != "[]") || (n >= 1 && trusted != "["+vpcCIDR+"]") {
			t.Errorf("level %d trusts X-Forwarded-For from %s", n, trusted)
		}
		shellcheck(t, n, script)
	}
}

func TestUnsharedStateReproducesTheBrokenStep(t *testing.T) {
	sim := simulateWith(t, map[string]string{"level": "1", "unsharedState": "true"})
	cfg, _ := appSettings(t, userData(t, sim.ofType(tInstance)[0]))
	if cfg.Sessions != appconfig.SessionsMemory || cfg.Storage != appconfig.StorageDisk || cfg.UploadDir != localUploadDir {
		t.Errorf("unshared level 1 runs sessions=%s storage=%s dir=%s", cfg.Sessions, cfg.Storage, cfg.UploadDir)
	}
	if len(sim.ofType(tEFS)) != 0 || len(sim.ofType(tCache)) != 0 {
		t.Error("unshared level 1 still builds EFS or memcached")
	}
}

func shellcheck(t *testing.T, n int, script string) {
	t.Helper()
	if _, err := exec.LookPath("shellcheck"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and shellcheck is missing")
		}
		t.Log("shellcheck missing; skipping the lint of user-data")
		return
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("user-data-%d.sh", n))
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("shellcheck", "--shell=bash", path).CombinedOutput(); err != nil {
		t.Errorf("level %d user-data fails shellcheck:\n%s", n, out)
	}
}

func TestOutputs(t *testing.T) {
	for n, want := range map[int][]string{
		0: {"url", "level", "instanceIds", "sessionManager", "artifactBucket", "latencyParameter"},
		1: {"url", "level", "instanceIds", "dbEndpoint", "dbSecretArn", "cacheEndpoint", "fileSystemId"},
		2: {"url", "instanceIds", "dbEndpoint", "cacheEndpoint", "uploadsBucket"},
		3: {"url", "autoScalingGroup", "alarms", "dbEndpoint", "cacheEndpoint", "uploadsBucket"},
		4: {"url", "autoScalingGroup", "alarms"},
	} {
		outputs := simulate(t, n).Outputs
		for _, key := range want {
			if outputs[key] == nil || outputs[key] == "" {
				t.Errorf("level %d lacks output %s: %v", n, key, outputs)
			}
		}
		if fmt.Sprint(outputs["level"]) != fmt.Sprint(n) {
			t.Errorf("level output %v", outputs["level"])
		}
	}
	if got := simulate(t, 0).Outputs["url"]; got != "http://ec2-198-51-100-10.compute-1.amazonaws.com" {
		t.Errorf("level 0 url %v", got)
	}
}

func TestBadConfigFailsWithOneLine(t *testing.T) {
	for _, tc := range []struct {
		config map[string]string
		want   string
	}{
		{map[string]string{"level": "5"}, "web-demo:level: 5 is not allowed: use 0 to 4"},
		{map[string]string{"level": "-1"}, "web-demo:level: -1 is not allowed: use 0 to 4"},
		{map[string]string{"level": "two"}, `web-demo:level: "two" is not a whole number`},
		{map[string]string{"level": "3", "minSize": "5", "maxSize": "3"}, "web-demo:minSize: 5 is above maxSize 3"},
		{map[string]string{"level": "3", "desiredSize": "9"}, "web-demo:desiredSize: 9 is outside minSize..maxSize (2..4)"},
		{map[string]string{"level": "0", "allowedCidr": "10.0.0.0/33"}, `web-demo:allowedCidr: "10.0.0.0/33" is not an IPv4 CIDR block`},
		{map[string]string{"level": "0", "allowedCidr": "everyone"}, `web-demo:allowedCidr: "everyone" is not an IPv4 CIDR block`},
		{map[string]string{"level": "0", "latency": "-2s"}, `web-demo:latency: "-2s" is not a delay ≥ 0`},
		{map[string]string{"level": "2", "unsharedState": "true"}, "web-demo:unsharedState: applies only at level 1, not level 2"},
		{map[string]string{"level": "1", "sshKeyName": "k"}, "web-demo:sshCidr: is required with sshKeyName"},
		{map[string]string{"level": "0", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}, "web-demo:certificateArn: needs a load balancer"},
		{map[string]string{"level": "1", "scaleInLatency": "2"}, "web-demo:scaleInLatency: 2 s must be below scaleOutLatency 1 s"},
		{map[string]string{"level": "1", "multiAz": "sometimes"}, `web-demo:multiAz: "sometimes" is not true or false`},
		{map[string]string{"level": "1", "instanceType": "big"}, `web-demo:instanceType: "big" is not an instance type`},
	} {
		_, err := Simulate(tc.config, Options{BuildApp: StandInArtifact})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.config, err, tc.want)
			continue
		}
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(err.Error()), "1 error occurred:\n\t* "))
		if strings.Contains(msg, "\n") {
			t.Errorf("%v: message spans lines: %q", tc.config, msg)
		}
	}
}

func TestDefaultLevelIsZero(t *testing.T) {
	sim := simulateWith(t, map[string]string{})
	if len(sim.ofType(tInstance)) != 1 || len(sim.ofType(tALB)) != 0 {
		t.Error("with no level set the program should build level 0")
	}
}

func TestX86InstanceTypesGetAnAMD64Build(t *testing.T) {
	var built []string
	_, err := Simulate(map[string]string{"level": "3", "instanceType": "t3.micro"}, Options{BuildApp: func(goarch string) (Artifact, error) {
		built = append(built, goarch)
		return StandInArtifact(goarch)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{"amd64"}) {
		t.Errorf("built %v for t3.micro", built)
	}
}

func TestCompareLevelOneToTwo(t *testing.T) {
	var added, removed []string
	for _, c := range Compare(simulate(t, 1), simulate(t, 2)) {
		switch c.Op {
		case '+':
			added = append(added, c.Resource.Type+" "+c.Resource.Name)
		case '-':
			removed = append(removed, c.Resource.Type+" "+c.Resource.Name)
		}
	}
	if !slices.Contains(added, tBucket+" storage-uploads") || !slices.Contains(removed, tEFS+" storage-uploads") {
		t.Errorf("1 → 2 added %v, removed %v", added, removed)
	}
}

func TestProjectFilesLoad(t *testing.T) {
	project, err := workspace.LoadProject("../../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if project.Name != "web-demo" || project.Runtime.Name() != "go" || project.Main != "infra/" {
		t.Errorf("project %s runtime %s main %s", project.Name, project.Runtime.Name(), project.Main)
	}
	sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	stack, err := workspace.LoadProjectStack(sink, project, "../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for key := range stack.Config {
		keys[key.String()] = true
	}
	if !keys["web-demo:level"] || !keys["aws:region"] {
		t.Errorf("example stack config %v", keys)
	}
}
