package stack

import (
	"strings"
	"testing"
)

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
