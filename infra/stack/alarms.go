package stack

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Alarms scale the group on the ALB's average target response time, as the
// tutorial does: above scaleOutLatency for a minute adds an instance, then
// waits scaleOutCooldown; below scaleInLatency for a minute removes one,
// then waits scaleInCooldown.
type Alarms struct {
	pulumi.ResourceState

	ScaleOut, ScaleIn       *autoscaling.Policy
	HighLatency, LowLatency *cloudwatch.MetricAlarm
}

// AlarmsArgs are the alarms' inputs: the group they scale, the load
// balancer whose latency they watch, and the thresholds.
type AlarmsArgs struct {
	GroupName pulumi.StringInput
	// LoadBalancerArnSuffix is the ALB's CloudWatch dimension.
	LoadBalancerArnSuffix pulumi.StringInput
	// ScaleOutLatency and ScaleInLatency are average response times in
	// seconds.
	ScaleOutLatency, ScaleInLatency float64
	// ScaleOutCooldown and ScaleInCooldown are seconds.
	ScaleOutCooldown, ScaleInCooldown int
}

const alarmPeriodSeconds = 60

func newAlarms(ctx *pulumi.Context, name string, args AlarmsArgs, opts ...pulumi.ResourceOption) (*Alarms, error) {
	a := &Alarms{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Alarms", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	policy := func(suffix string, change, cooldown int) (*autoscaling.Policy, error) {
		return autoscaling.NewPolicy(ctx, name+"-"+suffix, &autoscaling.PolicyArgs{
			AutoscalingGroupName: args.GroupName,
			PolicyType:           pulumi.String("SimpleScaling"),
			AdjustmentType:       pulumi.String("ChangeInCapacity"),
			ScalingAdjustment:    pulumi.Int(change),
			Cooldown:             pulumi.Int(cooldown),
		}, parent)
	}
	alarm := func(suffix, comparison string, threshold float64, missing string, action *autoscaling.Policy, description string) (*cloudwatch.MetricAlarm, error) {
		return cloudwatch.NewMetricAlarm(ctx, name+"-"+suffix, &cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String(description),
			Namespace:          pulumi.String("AWS/ApplicationELB"),
			MetricName:         pulumi.String("TargetResponseTime"),
			Dimensions:         pulumi.StringMap{"LoadBalancer": args.LoadBalancerArnSuffix},
			Statistic:          pulumi.String("Average"),
			Period:             pulumi.Int(alarmPeriodSeconds),
			EvaluationPeriods:  pulumi.Int(1),
			Threshold:          pulumi.Float64(threshold),
			ComparisonOperator: pulumi.String(comparison),
			TreatMissingData:   pulumi.String(missing),
			AlarmActions:       pulumi.Array{action.Arn},
		}, parent)
	}
	var err error
	if a.ScaleOut, err = policy("scale-out", 1, args.ScaleOutCooldown); err != nil {
		return nil, err
	}
	if a.ScaleIn, err = policy("scale-in", -1, args.ScaleInCooldown); err != nil {
		return nil, err
	}
	if a.HighLatency, err = alarm("high-latency", "GreaterThanThreshold", args.ScaleOutLatency, "notBreaching", a.ScaleOut,
		"web-demo: the site is slow; add an instance"); err != nil {
		return nil, err
	}
	// No requests means no latency data: an idle site counts as fast, so
	// the group shrinks back to minSize.
	if a.LowLatency, err = alarm("low-latency", "LessThanThreshold", args.ScaleInLatency, "breaching", a.ScaleIn,
		"web-demo: the site is fast; remove an instance"); err != nil {
		return nil, err
	}
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{"highLatency": a.HighLatency.Name, "lowLatency": a.LowLatency.Name})
}
