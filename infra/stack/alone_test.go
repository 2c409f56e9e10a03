package stack

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
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

// strs joins a list input's strings with spaces.
func strs(r Resource, path string) string {
	var out []string
	for _, v := range value(r, path).ArrayValue() {
		out = append(out, v.StringValue())
	}
	return strings.Join(out, " ")
}
