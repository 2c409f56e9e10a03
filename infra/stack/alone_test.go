package stack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Each component takes exactly its inputs, so it builds alone from
// stand-ins, with no stack settings and no other component.

func buildAlone(t *testing.T, build func(ctx *pulumi.Context) error) *Simulation {
	t.Helper()
	sim, err := simulateRun(nil, func(ctx *pulumi.Context) (pulumi.Map, error) { return pulumi.Map{}, build(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

func standInGroup(ctx *pulumi.Context, name string) (*ec2.SecurityGroup, error) {
	return ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{VpcId: pulumi.String("vpc-standin"), Description: pulumi.String("stand-in")})
}

func TestLoadBalancerAlone(t *testing.T) {
	const certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"
	sim := buildAlone(t, func(ctx *pulumi.Context) error {
		group, err := standInGroup(ctx, "lb")
		if err != nil {
			return err
		}
		_, err = newLoadBalancer(ctx, "alone", LoadBalancerArgs{
			VpcID:         pulumi.ID("vpc-standin").ToIDOutput(),
			Subnets:       pulumi.StringArray{pulumi.String("subnet-a"), pulumi.String("subnet-b")},
			SecurityGroup: group, DeletionProtection: true, CertificateArn: certificate,
		})
		return err
	})
	alb := sim.one(t, tALB, "alone")
	if str(alb, "enableDeletionProtection") != "true" || strs(alb, "subnets") != "subnet-a subnet-b" || strs(alb, "securityGroups") != "lb-id" {
		t.Errorf("ALB: deletion protection %s, subnets %s, groups %s", str(alb, "enableDeletionProtection"), strs(alb, "subnets"), strs(alb, "securityGroups"))
	}
	if str(sim.one(t, tTargetGroup, "alone"), "vpcId") != "vpc-standin" {
		t.Error("target group is not in the given VPC")
	}
	if str(sim.one(t, tListener, "alone-https"), "certificateArn") != certificate {
		t.Error("the HTTPS listener does not use the given certificate")
	}
}

func TestCacheAlone(t *testing.T) {
	sim := buildAlone(t, func(ctx *pulumi.Context) error {
		group, err := standInGroup(ctx, "cache")
		if err != nil {
			return err
		}
		_, err = newCache(ctx, "alone", CacheArgs{
			Subnets:       pulumi.StringArray{pulumi.String("subnet-x"), pulumi.String("subnet-y")},
			SecurityGroup: group, NodeType: "cache.t4g.small",
		})
		return err
	})
	cluster := sim.one(t, tCache, "alone")
	if str(cluster, "nodeType") != "cache.t4g.small" || strs(cluster, "securityGroupIds") != "cache-id" {
		t.Errorf("cache node %s in groups %s", str(cluster, "nodeType"), strs(cluster, "securityGroupIds"))
	}
	if strs(sim.one(t, "aws:elasticache/subnetGroup:SubnetGroup", "alone"), "subnetIds") != "subnet-x subnet-y" {
		t.Error("cache is not in the given subnets")
	}
}

func TestAlarmsAlone(t *testing.T) {
	sim := buildAlone(t, func(ctx *pulumi.Context) error {
		_, err := newAlarms(ctx, "alone", AlarmsArgs{
			GroupName: pulumi.String("group-standin"), LoadBalancerArnSuffix: pulumi.String("app/standin/1"),
			ScaleOutLatency: 2, ScaleInLatency: 0.25, ScaleOutCooldown: 120, ScaleInCooldown: 60,
		})
		return err
	})
	for name, want := range map[string][2]string{"alone-scale-out": {"1", "120"}, "alone-scale-in": {"-1", "60"}} {
		p := sim.one(t, tPolicy, name)
		if str(p, "autoscalingGroupName") != "group-standin" || str(p, "scalingAdjustment") != want[0] || str(p, "cooldown") != want[1] {
			t.Errorf("%s: group %s, adjustment %s, cooldown %s", name, str(p, "autoscalingGroupName"), str(p, "scalingAdjustment"), str(p, "cooldown"))
		}
	}
	high, low := sim.one(t, tAlarm, "alone-high-latency"), sim.one(t, tAlarm, "alone-low-latency")
	if str(high, "threshold") != "2" || str(low, "threshold") != "0.25" || str(high, "dimensions.LoadBalancer") != "app/standin/1" {
		t.Errorf("thresholds %s/%s on %s", str(high, "threshold"), str(low, "threshold"), str(high, "dimensions.LoadBalancer"))
	}
}

func TestNetworkAlone(t *testing.T) {
	// Bare: the lone server's network, with no stores beside it.
	sim := buildAlone(t, func(ctx *pulumi.Context) error {
		_, err := newNetwork(ctx, "alone", NetworkArgs{InstanceType: "t4g.micro", AllowedCidr: "198.51.100.0/24"})
		return err
	})
	subnets := map[string]string{}
	for _, subnet := range sim.ofType(tSubnet) {
		subnets[subnet.Name] = str(subnet, "cidrBlock") + " " + str(subnet, "availabilityZone") + " public=" + str(subnet, "mapPublicIpOnLaunch")
	}
	want := map[string]string{
		"alone-public-0": "10.0.0.0/24 us-east-1a public=true", "alone-public-1": "10.0.1.0/24 us-east-1c public=true",
		"alone-private-0": "10.0.10.0/24 us-east-1a public=false", "alone-private-1": "10.0.11.0/24 us-east-1c public=false",
	}
	if fmt.Sprint(subnets) != fmt.Sprint(want) {
		t.Errorf("subnets\n got %v\nwant %v", subnets, want)
	}
	public := sim.one(t, tRouteTable, "alone-public")
	if str(public, "routes.cidrBlock") != "0.0.0.0/0" || str(public, "routes.gatewayId") != "alone-id" {
		t.Errorf("the public route table does not go out through the gateway: %v", value(public, "routes"))
	}
	if routes := value(sim.one(t, tRouteTable, "alone-private"), "routes"); routes.IsArray() && len(routes.ArrayValue()) > 0 {
		t.Error("the private route table has a route out")
	}
	if n := len(sim.ofType(tNatGateway)); n != 0 {
		t.Errorf("%d NAT gateways", n)
	}
	if got := ingressRules(sim); !slices.Equal(got, []string{"alone-app:80<-198.51.100.0/24"}) {
		t.Errorf("bare network ingress %v", got)
	}
	if n := len(sim.ofType(tSG)); n != 1 {
		t.Errorf("bare network has %d security groups, want the app's only", n)
	}

	// Every path: each store's group takes its port from the app's only.
	var network *Network
	sim = buildAlone(t, func(ctx *pulumi.Context) (err error) {
		network, err = newNetwork(ctx, "alone", NetworkArgs{
			InstanceType: "t4g.micro", AllowedCidr: "198.51.100.0/24", LoadBalancer: true, HTTPS: true,
			SSHCidr: "203.0.113.7/32", Database: true, Cache: true, SharedFiles: true,
		})
		return err
	})
	wantRules := []string{
		"alone-app:22<-203.0.113.7/32", "alone-app:80<-alone-lb", "alone-cache:11211<-alone-app", "alone-db:3306<-alone-app",
		"alone-efs:2049<-alone-app", "alone-lb:443<-198.51.100.0/24", "alone-lb:80<-198.51.100.0/24",
	}
	if got := ingressRules(sim); !slices.Equal(got, wantRules) {
		t.Errorf("full network ingress\n got %v\nwant %v", got, wantRules)
	}
	if network.LoadBalancerSG == nil || network.DatabaseSG == nil || network.CacheSG == nil || network.FilesSG == nil {
		t.Error("a requested security group is not on the Network")
	}
}

func TestStorageAlone(t *testing.T) {
	artifact, err := StandInArtifact("arm64")
	if err != nil {
		t.Fatal(err)
	}
	// Only the artifact bucket.
	var storage *Storage
	sim := buildAlone(t, func(ctx *pulumi.Context) (err error) {
		storage, err = newStorage(ctx, "alone", StorageArgs{Artifact: artifact})
		return err
	})
	if buckets := sim.ofType(tBucket); len(buckets) != 1 || buckets[0].Name != "alone-artifacts" {
		t.Errorf("buckets %v, want the artifact bucket only", buckets)
	}
	object := sim.one(t, "aws:s3/bucketObjectv2:BucketObjectv2", "alone-app")
	if str(object, "key") != artifact.Key() || str(object, "bucket") != "alone-artifacts-bucket" {
		t.Errorf("artifact object %s in %s", str(object, "key"), str(object, "bucket"))
	}
	if storage.Uploads != nil || storage.Files != nil || len(sim.ofType(tEFS)) != 0 {
		t.Error("photo stores built without being asked for")
	}

	// Both photo stores, as while migrating from level 1 to 2.
	sim = buildAlone(t, func(ctx *pulumi.Context) error {
		group, err := standInGroup(ctx, "efs")
		if err != nil {
			return err
		}
		_, err = newStorage(ctx, "alone", StorageArgs{Artifact: artifact, Uploads: true, SharedFiles: &SharedFilesArgs{
			Subnets: pulumi.StringArray{pulumi.String("subnet-x"), pulumi.String("subnet-y")}, SecurityGroup: group,
		}})
		return err
	})
	sim.one(t, tBucket, "alone-uploads")
	targets := sim.ofType(tMountTarget)
	if len(targets) != 2 {
		t.Fatalf("%d mount targets, want one per subnet", len(targets))
	}
	for i, target := range targets {
		if str(target, "subnetId") != []string{"subnet-x", "subnet-y"}[i] || strs(target, "securityGroups") != "efs-id" ||
			str(target, "fileSystemId") != "alone-uploads-id" {
			t.Errorf("mount target %s: subnet %s, groups %s", target.Name, str(target, "subnetId"), strs(target, "securityGroups"))
		}
	}
}

func TestDatabaseAlone(t *testing.T) {
	sim := buildAlone(t, func(ctx *pulumi.Context) error {
		group, err := standInGroup(ctx, "db")
		if err != nil {
			return err
		}
		_, err = newDatabase(ctx, "alone", DatabaseArgs{
			Subnets:       pulumi.StringArray{pulumi.String("subnet-x"), pulumi.String("subnet-y")},
			SecurityGroup: group, InstanceClass: "db.t4g.small", MultiAz: true, DeletionProtection: true,
		})
		return err
	})
	db := sim.one(t, tRDS, "alone")
	for path, want := range map[string]string{
		"instanceClass": "db.t4g.small", "multiAz": "true", "deletionProtection": "true",
		"dbSubnetGroupName": "alone-name", "parameterGroupName": "alone-name", "publiclyAccessible": "false",
	} {
		if got := str(db, path); got != want {
			t.Errorf("RDS %s = %q, want %q", path, got, want)
		}
	}
	if strs(db, "vpcSecurityGroupIds") != "db-id" {
		t.Errorf("RDS in groups %s", strs(db, "vpcSecurityGroupIds"))
	}
	if strs(sim.one(t, "aws:rds/subnetGroup:SubnetGroup", "alone"), "subnetIds") != "subnet-x subnet-y" {
		t.Error("the database is not in the given subnets")
	}
}

// standInFleet is a fleet's inputs from stand-ins, in two subnets.
func standInFleet(ctx *pulumi.Context) (FleetArgs, error) {
	group, err := standInGroup(ctx, "app")
	if err != nil {
		return FleetArgs{}, err
	}
	profile, err := iam.NewInstanceProfile(ctx, "app", &iam.InstanceProfileArgs{Role: pulumi.String("role-standin")})
	if err != nil {
		return FleetArgs{}, err
	}
	return FleetArgs{
		Arch: "arm64", InstanceType: "t4g.small",
		Subnets:       pulumi.StringArray{pulumi.String("subnet-a"), pulumi.String("subnet-b")},
		SecurityGroup: group, Profile: profile,
		UserData: pulumi.String("#!/bin/sh\n").ToStringOutput(),
	}, nil
}

func TestFleetAlone(t *testing.T) {
	const targetGroup = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/standin/1"
	// Three fixed servers behind a load balancer, round both subnets.
	sim := buildAlone(t, func(ctx *pulumi.Context) error {
		args, err := standInFleet(ctx)
		if err != nil {
			return err
		}
		args.TargetGroupArn, args.Count = pulumi.String(targetGroup), 3
		_, err = newFleet(ctx, "alone", args)
		return err
	})
	for i, subnet := range []string{"subnet-a", "subnet-b", "subnet-a"} {
		name := fmt.Sprintf("alone-%d", i)
		instance := sim.one(t, tInstance, name)
		if str(instance, "subnetId") != subnet || str(instance, "instanceType") != "t4g.small" || str(instance, "iamInstanceProfile") != "app-name" ||
			str(instance, "userDataReplaceOnChange") != "true" {
			t.Errorf("%s: subnet %s, type %s, profile %s, replaced on new user-data %s", name, str(instance, "subnetId"),
				str(instance, "instanceType"), str(instance, "iamInstanceProfile"), str(instance, "userDataReplaceOnChange"))
		}
		attachment := sim.one(t, tAttachment, name)
		if str(attachment, "targetGroupArn") != targetGroup || str(attachment, "targetId") != "i-"+name {
			t.Errorf("%s registers %s with %s", name, str(attachment, "targetId"), str(attachment, "targetGroupArn"))
		}
	}
	if n, eips, groups := len(sim.ofType(tInstance)), len(sim.ofType(tEIP)), len(sim.ofType(tGroup)); n != 3 || eips != 0 || groups != 0 {
		t.Errorf("%d instances, %d Elastic IPs, %d groups; want 3 instances only", n, eips, groups)
	}

	// No target group: the lone server, updated in place, at an Elastic IP.
	sim = buildAlone(t, func(ctx *pulumi.Context) error {
		args, err := standInFleet(ctx)
		if err != nil {
			return err
		}
		_, err = newFleet(ctx, "alone", args)
		return err
	})
	if instances := sim.ofType(tInstance); len(instances) != 1 || instances[0].Name != "alone-solo" || str(instances[0], "userDataReplaceOnChange") != "false" {
		t.Errorf("instances %v, want the lone server kept across new user-data", instances)
	}
	if str(sim.one(t, tEIP, "alone"), "instance") != "i-alone-solo" {
		t.Error("the Elastic IP is not on the lone server")
	}

	// A group of the given size behind the target group.
	sim = buildAlone(t, func(ctx *pulumi.Context) error {
		args, err := standInFleet(ctx)
		if err != nil {
			return err
		}
		args.TargetGroupArn, args.Group = pulumi.String(targetGroup), &GroupSize{Min: 1, Desired: 2, Max: 5}
		_, err = newFleet(ctx, "alone", args)
		return err
	})
	group := sim.one(t, tGroup, "alone")
	if str(group, "minSize") != "1" || str(group, "desiredCapacity") != "2" || str(group, "maxSize") != "5" || str(group, "minElbCapacity") != "1" ||
		strs(group, "targetGroupArns") != targetGroup || strs(group, "vpcZoneIdentifiers") != "subnet-a subnet-b" {
		t.Errorf("group %s/%s/%s, waits for %s, in %s behind %s", str(group, "minSize"), str(group, "desiredCapacity"), str(group, "maxSize"),
			str(group, "minElbCapacity"), strs(group, "vpcZoneIdentifiers"), strs(group, "targetGroupArns"))
	}
	if len(sim.ofType(tInstance)) != 0 || str(sim.one(t, tTemplate, "alone"), "instanceType") != "t4g.small" {
		t.Error("the group's servers are not from a launch template alone")
	}

	// Servers behind a load balancer need one to register with.
	_, err := simulateRun(nil, func(ctx *pulumi.Context) (pulumi.Map, error) {
		args, err := standInFleet(ctx)
		if err != nil {
			return nil, err
		}
		args.Group = &GroupSize{Min: 1, Desired: 1, Max: 1}
		_, err = newFleet(ctx, "alone", args)
		return pulumi.Map{}, err
	})
	if err == nil || !strings.Contains(err.Error(), "needs a target group") {
		t.Errorf("a group without a target group: %v", err)
	}
}

// strs joins a list input's strings with spaces.
func strs(r Resource, path string) string {
	var out []string
	for _, v := range value(r, path).ArrayValue() {
		out = append(out, v.StringValue())
	}
	return strings.Join(out, " ")
}
