package stack

import (
	"fmt"
	"slices"
	"strings"
	"testing"
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
