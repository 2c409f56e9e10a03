package stack

// The rule functions and the rules table, checked on their own against
// known mistakes, so that a rule that stopped catching anything would be
// noticed even once the program itself is clean.

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// TestAWSRuleFunctions checks each predicate on a value AWS refuses and on
// one it accepts.
func TestAWSRuleFunctions(t *testing.T) {
	cases := []struct {
		name  string
		ok    func(string) bool
		value string
		want  bool
	}{
		// The description that failed the first real `pulumi up`.
		{"rule description with an apostrophe", ec2DescriptionOK, "AWS APIs, packages, and the VPC's own services", false},
		{"the same description without it", ec2DescriptionOK, "AWS APIs, packages and services inside the VPC", true},
		{"description with a curly apostrophe", ec2DescriptionOK, "the VPC’s own services", false},
		{"description with a double quote", ec2DescriptionOK, `the "app" servers`, false},
		{"description with accents", ec2DescriptionOK, "café", false},
		{"description of 255 characters", ec2DescriptionOK, strings.Repeat("a", 255), true},
		{"description of 256 characters", ec2DescriptionOK, strings.Repeat("a", 256), false},
		{"every allowed symbol", ec2DescriptionOK, "a-z A-Z 0-9 ._-:/()#,@[]+=&;{}!$*", true},
		{"group-pair description with &", ec2GroupPairDescriptionOK, "app & workers", false},
		{"group-pair description with an apostrophe", ec2GroupPairDescriptionOK, "the app's servers", false},
		{"group name starting sg-", securityGroupNameOK, "sg-web", false},
		{"group name auto-named", securityGroupNameOK, "network-app-0a1b2c3", true},

		{"load balancer name of 33", loadBalancerNameOK, strings.Repeat("a", 33), false},
		{"load balancer name of 32", loadBalancerNameOK, strings.Repeat("a", 32), true},
		{"load balancer name internal-", loadBalancerNameOK, "internal-web", false},
		{"load balancer name ending -", loadBalancerNameOK, "web-", false},
		{"load balancer name starting -", loadBalancerNameOK, "-web", false},
		{"load balancer name with _", loadBalancerNameOK, "web_lb", false},
		{"target group name internal- (allowed)", targetGroupNameOK, "internal-web", true},
		{"target group name of 33", targetGroupNameOK, strings.Repeat("a", 33), false},
		{"matcher 200", httpMatcherOK, "200", true},
		{"matcher 200-299", httpMatcherOK, "200-299", true},
		{"matcher 200,302", httpMatcherOK, "200,302", true},
		{"matcher 500", httpMatcherOK, "500", false},

		{"bucket upper case", s3BucketNameOK, "Storage-Uploads", false},
		{"bucket underscore", s3BucketNameOK, "storage_uploads", false},
		{"bucket of 2", s3BucketNameOK, "ab", false},
		{"bucket of 64", s3BucketNameOK, strings.Repeat("a", 64), false},
		{"bucket IP address", s3BucketNameOK, "192.168.5.4", false},
		{"bucket with ..", s3BucketNameOK, "web..demo", false},
		{"bucket ending -", s3BucketNameOK, "web-demo-", false},
		{"bucket xn--", s3BucketNameOK, "xn--web", false},
		{"bucket sthree-", s3BucketNameOK, "sthree-web", false},
		{"bucket -s3alias", s3BucketNameOK, "web-s3alias", false},
		{"bucket --x-s3", s3BucketNameOK, "web--x-s3", false},
		{"bucket auto-named", s3BucketNameOK, "storage-uploads-0a1b2c3", true},

		{"RDS identifier starting with a digit", rdsIdentifierOK, "1database", false},
		{"RDS identifier with --", rdsIdentifierOK, "web--db", false},
		{"RDS identifier ending -", rdsIdentifierOK, "web-db-", false},
		{"RDS identifier of 64", rdsIdentifierOK, "d" + strings.Repeat("b", 63), false},
		{"RDS identifier auto-named", rdsIdentifierOK, "database0a1b2c3", true},
		{"parameter group name with a period", rdsParameterGroupNameOK, "mysql8.4-web", false},
		{"parameter group auto-named", rdsParameterGroupNameOK, "database-0a1b2c3", true},
		{"DB subnet group upper case", rdsSubnetGroupNameOK, "Database-0a1b2c3", false},
		{"DB subnet group default", rdsSubnetGroupNameOK, "default", false},
		{"DB subnet group auto-named", rdsSubnetGroupNameOK, "database-0a1b2c3", true},
		{"cache cluster id upper case", cacheClusterIDOK, "Cache-1", false},
		{"cache cluster id of 51", cacheClusterIDOK, "c" + strings.Repeat("a", 50), false},
		{"cache cluster id auto-named", cacheClusterIDOK, "cache-0a1b2c3", true},
		{"cache subnet group upper case", cacheSubnetGroupNameOK, "Cache", false},

		{"IAM role name of 65", iamNameOK(64), strings.Repeat("a", 65), false},
		{"IAM role name with a space", iamNameOK(64), "app role", false},
		{"IAM role name auto-named", iamNameOK(64), "app-0a1b2c3", true},
		{"role description with a curly apostrophe", roleDescriptionOK, "web-demo’s servers", false},
		{"role description with an apostrophe", roleDescriptionOK, "web-demo's servers", true},
		{"policy text with an emoji", iamPolicyCharsOK, `{"Sid":"📷"}`, false},

		{"SSM name starting aws", ssmParameterNameOK, "aws-latency", false},
		{"SSM name starting /SSM", ssmParameterNameOK, "/SSM/latency", false},
		{"SSM name with a space", ssmParameterNameOK, "web latency", false},
		{"SSM hierarchy without a leading /", ssmParameterNameOK, "web/latency", false},
		{"SSM name of 16 levels", ssmParameterNameOK, strings.Repeat("/a", 16), false},
		{"SSM name auto-named", ssmParameterNameOK, "latency-0a1b2c3", true},

		{"launch template name of 2", launchTemplateNameOK, "ab", false},
		{"launch template name with a space", launchTemplateNameOK, "web template", false},
		{"launch template auto-named", launchTemplateNameOK, "web-0a1b2c3", true},
		{"AutoScaling group name with a colon", asgNameOK, "web:1", false},
		{"AutoScaling group name with a space", asgNameOK, "web group", false},

		{"access point path of 5 levels", efsAccessPointPathOK, "/a/b/c/d/e", false},
		{"access point path with $", efsAccessPointPathOK, "/photo$", false},
		{"access point path /photos", efsAccessPointPathOK, "/photos", true},

		{"CIDR with host bits", cidrCanonical, "10.0.0.1/16", false},
		{"CIDR network address", cidrCanonical, "10.0.0.0/16", true},
		{"VPC /29", cidrPrefixBetween(16, 28), "10.0.0.0/29", false},
		{"VPC /15", cidrPrefixBetween(16, 28), "10.0.0.0/15", false},
	}
	for _, c := range cases {
		if got := c.ok(c.value); got != c.want {
			t.Errorf("%s: %q accepted = %v, want %v", c.name, c.value, got, c.want)
		}
	}

	for _, c := range []struct {
		version, min string
		want         bool
	}{{"1.6.22", "1.6.12", true}, {"1.6.12", "1.6.12", true}, {"1.6.6", "1.6.12", false}, {"1.5.16", "1.6.12", false}, {"1.6", "1.6.12", false}} {
		if got := versionAtLeast(c.version, c.min); got != c.want {
			t.Errorf("versionAtLeast(%q, %q) = %v, want %v", c.version, c.min, got, c.want)
		}
	}
	for version, family := range map[string]string{"8.4": "mysql8.4", "8.4.3": "mysql8.4", "8.0.39": "mysql8.0", "5.7": "mysql5.7"} {
		if got := mysqlFamily(version); got != family {
			t.Errorf("mysqlFamily(%q) = %q, want %q", version, got, family)
		}
	}
	for period, want := range map[float64]bool{10: true, 20: true, 30: true, 45: false, 60: true, 90: false, 300: true, 5: false} {
		if got := alarmPeriodOK(period); got != want {
			t.Errorf("alarmPeriodOK(%v) = %v, want %v", period, got, want)
		}
	}
}

// mockResource is a resource as the mocks would record it, with the name
// they answer for it.
func mockResource(typ, name string, inputs map[string]any) Resource {
	return Resource{Type: typ, Name: name, Inputs: resource.NewPropertyMapFromMap(inputs),
		State: resource.NewPropertyMapFromMap(map[string]any{"name": name + "-name"})}
}

// TestAWSRulesCatchKnownMistakes runs the whole table on resources AWS
// would refuse: each must break the named field's rule.
func TestAWSRulesCatchKnownMistakes(t *testing.T) {
	policy := func(statements string) string { return `{"Version":"2012-10-17","Statement":[` + statements + `]}` }
	longPolicy := policy(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/` + strings.Repeat("k", 6000) + `"}`)
	subnet := func(name, cidr, zone string) Resource {
		return mockResource(tSubnet, name, map[string]any{"vpcId": "vpc-id", "cidrBlock": cidr, "availabilityZone": zone})
	}
	cases := []struct {
		name   string
		r      Resource
		others []Resource // the rest of the stack
		field  string     // whose rule must break
	}{
		{"the apostrophe of the first pulumi up", mockResource(tEgress, "network-app-out", map[string]any{
			"securityGroupId": "network-app-id", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0",
			"description": "AWS APIs, packages, and the VPC's own services"}), nil, "description"},
		{"an apostrophe in an ingress rule", mockResource(tIngress, "network-db-3306", map[string]any{
			"ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306, "referencedSecurityGroupId": "network-app-id",
			"description": "MySQL from the app's servers"}), nil, "description"},
		{"& in a rule from a group", mockResource(tIngress, "network-db-3306", map[string]any{
			"ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306, "referencedSecurityGroupId": "network-app-id",
			"description": "MySQL & more"}), nil, "description"},
		{"an apostrophe in a group's description", mockResource(tSG, "network-app", map[string]any{"description": "web-demo's app servers"}), nil, "description"},
		{"a rule with a CIDR and a group", mockResource(tIngress, "network-app-80", map[string]any{
			"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "0.0.0.0/0", "referencedSecurityGroupId": "network-lb-id"}), nil, "cidrIpv4"},
		{"a CIDR with host bits", mockResource(tIngress, "network-app-22", map[string]any{
			"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "203.0.113.7/24"}), nil, "cidrIpv4"},
		{"a port past 65535", mockResource(tIngress, "network-app-x", map[string]any{
			"ipProtocol": "tcp", "fromPort": 0, "toPort": 70000, "cidrIpv4": "10.0.0.0/16"}), nil, "ipProtocol"},
		{"overlapping subnets", subnet("network-public-1", "10.0.0.0/25", "us-east-1b"),
			[]Resource{subnet("network-public-0", "10.0.0.0/24", "us-east-1a")}, "cidrBlock"},
		{"a subnet outside its VPC", subnet("network-public-0", "10.1.0.0/24", "us-east-1a"),
			[]Resource{mockResource(tVPC, "vpc", map[string]any{"cidrBlock": "10.0.0.0/16"})}, "cidrBlock"},
		{"an Elastic IP domain", mockResource("aws:ec2/eip:Eip", "web", map[string]any{"domain": "vpc1"}), nil, "domain"},

		{"a 33-character load balancer name", mockResource(tALB, "web", map[string]any{"name": strings.Repeat("w", 33)}), nil, "name"},
		{"an internal- load balancer name", mockResource(tALB, "web", map[string]any{"name": "internal-web"}), nil, "name"},
		{"a logical name too long to auto-name a load balancer", mockResource(tALB, "the-load-balancer-for-the-site", nil), nil, "name"},
		{"a load balancer in one zone", mockResource(tALB, "web", map[string]any{"loadBalancerType": "application", "subnets": []any{"a-id", "b-id"}}),
			[]Resource{subnet("a", "10.0.0.0/24", "us-east-1a"), subnet("b", "10.0.1.0/24", "us-east-1a")}, "subnets"},
		{"an idle timeout of 4001", mockResource(tALB, "web", map[string]any{"idleTimeout": 4001}), nil, "idleTimeout"},
		{"a health check timeout not below its interval", mockResource(tTargetGroup, "web", map[string]any{
			"healthCheck": map[string]any{"interval": 10, "timeout": 10}}), nil, "healthCheck.timeout"},
		{"a health check interval of 301", mockResource(tTargetGroup, "web", map[string]any{"healthCheck": map[string]any{"interval": 301}}), nil, "healthCheck.interval"},
		{"a healthy threshold of 11", mockResource(tTargetGroup, "web", map[string]any{"healthCheck": map[string]any{"healthyThreshold": 11}}), nil, "healthCheck.healthyThreshold"},
		{"an HTTPS listener without a certificate", mockResource(tListener, "web-https", map[string]any{"port": 443, "protocol": "HTTPS"}), nil, "certificateArn"},
		{"a redirect with status 308", mockResource(tListener, "web-http", map[string]any{"port": 80, "protocol": "HTTP",
			"defaultActions": []any{map[string]any{"type": "redirect", "redirect": map[string]any{"statusCode": "HTTP_308"}}}}), nil, "defaultActions.redirect.statusCode"},

		{"an upper-case bucket", mockResource(tBucket, "uploads", map[string]any{"bucket": "Web_Uploads"}), nil, "bucket"},
		{"a logical name too long to auto-name a bucket", mockResource(tBucket, strings.Repeat("b", 60), nil), nil, "bucket"},
		{"an object key past 1,024 bytes", mockResource("aws:s3/bucketObjectv2:BucketObjectv2", "app", map[string]any{"key": strings.Repeat("k", 1025)}), nil, "key"},
		{"a public bucket policy behind a public-access block",
			mockResource(tAccessBlock, "uploads", map[string]any{"bucket": "uploads-bucket", "blockPublicPolicy": true}),
			[]Resource{mockResource(tBucketPolicy, "uploads", map[string]any{"bucket": "uploads-bucket",
				"policy": policy(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::uploads-bucket/*"}`)})}, "blockPublicPolicy"},
		{"a bucket policy without a principal", mockResource(tBucketPolicy, "uploads", map[string]any{
			"policy": policy(`{"Effect":"Deny","Action":"s3:*","Resource":"*"}`)}), nil, "policy"},

		{"MySQL 8.4 with a mysql8.0 parameter group", mockResource(tRDS, "database", map[string]any{
			"engine": "mysql", "engineVersion": "8.4", "parameterGroupName": "database-name"}),
			[]Resource{mockResource(tParamGroup, "database", map[string]any{"family": "mysql8.0"})}, "parameterGroupName"},
		{"MySQL 8.0 with a mysql8.4 parameter group", mockResource(tRDS, "database", map[string]any{
			"engine": "mysql", "engineVersion": "8.0.39", "parameterGroupName": "database-name"}),
			[]Resource{mockResource(tParamGroup, "database", map[string]any{"family": "mysql8.4"})}, "parameterGroupName"},
		{"MySQL 8.0 without Extended Support after 2026-07-31", mockResource(tRDS, "database", map[string]any{
			"engine": "mysql", "engineVersion": "8.0", "engineLifecycleSupport": "open-source-rds-extended-support-disabled"}), nil, "engineLifecycleSupport"},
		{"an unknown parameter group family", mockResource(tParamGroup, "database", map[string]any{"family": "mysql9"}), nil, "family"},
		{"10 GiB of gp3", mockResource(tRDS, "database", map[string]any{"storageType": "gp3", "allocatedStorage": 10}), nil, "allocatedStorage"},
		{"36 days of backups", mockResource(tRDS, "database", map[string]any{"backupRetentionPeriod": 36}), nil, "backupRetentionPeriod"},
		{"an RDS identifier starting with a digit", mockResource(tRDS, "database", map[string]any{"identifier": "1database"}), nil, "identifier"},
		{"a master user name with a hyphen", mockResource(tRDS, "database", map[string]any{"username": "webdemo-admin"}), nil, "username"},
		{"memcached TLS before 1.6.12", mockResource(tCache, "cache", map[string]any{
			"engine": "memcached", "engineVersion": "1.6.6", "transitEncryptionEnabled": true}), nil, "transitEncryptionEnabled"},
		{"an upper-case cluster id", mockResource(tCache, "cache", map[string]any{"clusterId": "Cache_1"}), nil, "clusterId"},
		{"41 memcached nodes", mockResource(tCache, "cache", map[string]any{"engine": "memcached", "numCacheNodes": 41}), nil, "numCacheNodes"},

		{"s3:* in a role policy", mockResource(tRolePolicy, "app-app", map[string]any{"role": "app-id",
			"policy": policy(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)}), nil, "policy"},
		{"* in a role policy", mockResource(tRolePolicy, "app-app", map[string]any{"role": "app-id",
			"policy": policy(`{"Effect":"Allow","Action":["*"],"Resource":"*"}`)}), nil, "policy"},
		{"a role policy that is not JSON", mockResource(tRolePolicy, "app-app", map[string]any{"role": "app-id", "policy": "{Version: 2012-10-17}"}), nil, "policy"},
		{"a role policy of the 2008 version", mockResource(tRolePolicy, "app-app", map[string]any{"role": "app-id",
			"policy": `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`}), nil, "policy"},
		{"a role policy with a principal", mockResource(tRolePolicy, "app-app", map[string]any{"role": "app-id",
			"policy": policy(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}`)}), nil, "policy"},
		{"inline policies over 10,240 characters together", mockResource(tRolePolicy, "app-a", map[string]any{"role": "app-id", "policy": longPolicy}),
			[]Resource{mockResource(tRolePolicy, "app-b", map[string]any{"role": "app-id", "policy": longPolicy})}, "policy"},
		{"a curly apostrophe in a role description", mockResource("aws:iam/role:Role", "app", map[string]any{"description": "web-demo’s servers"}), nil, "description"},
		{"a trust policy without a principal", mockResource("aws:iam/role:Role", "app", map[string]any{
			"assumeRolePolicy": policy(`{"Effect":"Allow","Action":"sts:AssumeRole"}`)}), nil, "assumeRolePolicy"},

		{"an alarm period of 45 s", mockResource(tAlarm, "scaling-high-latency", map[string]any{"period": 45, "evaluationPeriods": 1}), nil, "period"},
		{"an alarm over more than a day", mockResource(tAlarm, "scaling-high-latency", map[string]any{"period": 60, "evaluationPeriods": 1441}), nil, "evaluationPeriods"},
		{"six alarm actions", mockResource(tAlarm, "scaling-high-latency", map[string]any{"alarmActions": []any{"a", "b", "c", "d", "e", "f"}}), nil, "alarmActions"},
		{"a cooldown on step scaling", mockResource(tPolicy, "scaling-scale-out", map[string]any{"policyType": "StepScaling", "cooldown": 300}), nil, "cooldown"},
		{"minSize above maxSize", mockResource(tGroup, "web", map[string]any{"minSize": 3, "maxSize": 2}), nil, "desiredCapacity"},

		{"17 KB of user-data", mockResource(tInstance, "web-0", map[string]any{"userData": strings.Repeat("#", 17*1024)}), nil, "userData"},
		{"user-data over 16 KB once decoded", mockResource(tTemplate, "web", map[string]any{"userData": base64.StdEncoding.EncodeToString([]byte(strings.Repeat("#", 17*1024)))}), nil, "userData"},
		{"a launch template's user-data not in base64", mockResource(tTemplate, "web", map[string]any{"userData": "#!/bin/bash\necho hi\n"}), nil, "userData"},
		{"a hop limit of 65", mockResource(tTemplate, "web", map[string]any{"metadataOptions": map[string]any{"httpPutResponseHopLimit": 65}}), nil, "metadataOptions.httpPutResponseHopLimit"},
		{"a tag key with the aws: prefix", mockResource(tVPC, "network", map[string]any{"tags": map[string]any{"AWS:owner": "me"}}), nil, "tags"},
		{"a tag value of 257", mockResource(tVPC, "network", map[string]any{"tags": map[string]any{"Name": strings.Repeat("v", 257)}}), nil, "tags"},
		{"a tag with an apostrophe", mockResource(tVPC, "network", map[string]any{"tags": map[string]any{"Name": "web-demo's VPC"}}), nil, "tags"},
		{"an SSM name starting with aws", mockResource(tParameter, "latency", map[string]any{"name": "aws-latency"}), nil, "name"},
		{"access point permissions 999", mockResource("aws:efs/accessPoint:AccessPoint", "storage-uploads", map[string]any{
			"rootDirectory": map[string]any{"path": "/photos", "creationInfo": map[string]any{"ownerUid": 2000, "ownerGid": 2000, "permissions": "999"}}}), nil, "rootDirectory.creationInfo.permissions"},
	}
	for _, c := range cases {
		sim := &Simulation{Resources: append([]Resource{c.r}, c.others...)}
		lines := checkAWSResource(c.r, sim)
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, ": "+c.field+" = ") }) {
			t.Errorf("%s: no rule on %s caught it; got %q", c.name, c.field, lines)
		}
	}
}

// TestAWSRulesPassTheFixedDescription guards against rules that refuse
// everything: the egress rule as now written passes every rule.
func TestAWSRulesPassTheFixedDescription(t *testing.T) {
	r := mockResource(tEgress, "network-app-out", map[string]any{
		"securityGroupId": "network-app-id", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0",
		"description": "AWS APIs, packages and services inside the VPC"})
	if lines := checkAWSResource(r, &Simulation{Resources: []Resource{r}}); len(lines) > 0 {
		t.Errorf("a valid rule breaks: %q", lines)
	}
}

// TestAWSRulesRefuseUnknownTypes: a type without rules fails, and
// component resources are exempt.
func TestAWSRulesRefuseUnknownTypes(t *testing.T) {
	nat := mockResource("aws:ec2/natGateway:NatGateway", "nat", nil)
	lines := checkAWSResource(nat, &Simulation{})
	if len(lines) != 1 || !strings.Contains(lines[0], "no AWS rules for aws:ec2/natGateway:NatGateway: add them with their documentation pages") {
		t.Errorf("a type without rules: got %q", lines)
	}
	if lines := checkAWSResource(mockResource("web-demo:infra:Network", "network", nil), &Simulation{}); len(lines) != 0 {
		t.Errorf("a component resource: got %q", lines)
	}
}
