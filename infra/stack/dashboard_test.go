package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// dashboardMetric is one metric line of the dashboard: namespace, name and
// dimensions.
type dashboardMetric struct {
	namespace, name string
	dimensions      map[string]string
}

func dashboardOf(t *testing.T, sim *Simulation) (metrics []dashboardMetric, alarms []string) {
	t.Helper()
	var body struct {
		Widgets []struct {
			Type       string
			Properties struct {
				Metrics [][]any
				Alarms  []string
			}
		}
	}
	if err := json.Unmarshal([]byte(str(sim.one(t, "aws:cloudwatch/dashboard:Dashboard", "dashboard"), "dashboardBody")), &body); err != nil {
		t.Fatalf("dashboard body: %v", err)
	}
	for _, w := range body.Widgets {
		alarms = append(alarms, w.Properties.Alarms...)
		for _, line := range w.Properties.Metrics {
			var parts []string
			for _, v := range line {
				if s, ok := v.(string); ok {
					parts = append(parts, s)
				}
			}
			m := dashboardMetric{namespace: parts[0], name: parts[1], dimensions: map[string]string{}}
			for i := 2; i+1 < len(parts); i += 2 {
				m.dimensions[parts[i]] = parts[i+1]
			}
			metrics = append(metrics, m)
		}
	}
	return metrics, alarms
}

// The dashboard shows each level's own parts, and every metric it names
// is one of a resource the level really has, with that resource's
// identifier as CloudWatch publishes it.
func TestDashboardNamesOnlyTheLevelsResources(t *testing.T) {
	for n := range 5 {
		sim := simulate(t, n)
		// The identifiers each namespace's metrics may carry, per dimension.
		real := map[string]map[string][]string{
			"AWS/ApplicationELB": {"LoadBalancer": nil, "TargetGroup": nil},
			"AWS/AutoScaling":    {"AutoScalingGroupName": nil},
			"AWS/EC2":            {"InstanceId": nil},
			"AWS/RDS":            {"DBInstanceIdentifier": nil},
			"AWS/ElastiCache":    {"CacheClusterId": nil},
		}
		for _, r := range sim.ofType(tALB) {
			real["AWS/ApplicationELB"]["LoadBalancer"] = append(real["AWS/ApplicationELB"]["LoadBalancer"], r.State["arnSuffix"].StringValue())
		}
		for _, r := range sim.ofType(tTargetGroup) {
			real["AWS/ApplicationELB"]["TargetGroup"] = append(real["AWS/ApplicationELB"]["TargetGroup"], r.State["arnSuffix"].StringValue())
		}
		for _, r := range sim.ofType(tGroup) {
			real["AWS/AutoScaling"]["AutoScalingGroupName"] = append(real["AWS/AutoScaling"]["AutoScalingGroupName"], r.State["name"].StringValue())
		}
		for _, r := range sim.ofType(tInstance) {
			real["AWS/EC2"]["InstanceId"] = append(real["AWS/EC2"]["InstanceId"], r.ID)
		}
		for _, r := range sim.ofType(tRDS) {
			real["AWS/RDS"]["DBInstanceIdentifier"] = append(real["AWS/RDS"]["DBInstanceIdentifier"], r.State["identifier"].StringValue())
		}
		for _, r := range sim.ofType(tCache) {
			real["AWS/ElastiCache"]["CacheClusterId"] = append(real["AWS/ElastiCache"]["CacheClusterId"], r.State["clusterId"].StringValue())
		}
		metrics, alarms := dashboardOf(t, sim)
		shown := map[string]bool{}
		for _, m := range metrics {
			shown[m.namespace+" "+m.name] = true
			if len(m.dimensions) == 0 {
				t.Errorf("level %d: %s %s has no dimensions", n, m.namespace, m.name)
			}
			for dim, value := range m.dimensions {
				if !slices.Contains(real[m.namespace][dim], value) {
					t.Errorf("level %d: %s %s names %s=%q, which is no resource of this level", n, m.namespace, m.name, dim, value)
				}
			}
		}
		want := map[int][]string{
			0: {"AWS/EC2 CPUUtilization"},
			1: {"AWS/ApplicationELB RequestCount", "AWS/ApplicationELB TargetResponseTime", "AWS/ApplicationELB HTTPCode_Target_5XX_Count",
				"AWS/ApplicationELB HTTPCode_ELB_5XX_Count", "AWS/ApplicationELB HealthyHostCount", "AWS/RDS CPUUtilization",
				"AWS/RDS DatabaseConnections", "AWS/ElastiCache GetHits", "AWS/ElastiCache GetMisses", "AWS/ElastiCache Evictions"},
		}
		want[2] = want[1]
		want[3] = append(slices.Clone(want[1]), "AWS/AutoScaling GroupDesiredCapacity", "AWS/AutoScaling GroupInServiceInstances")
		want[4] = want[3]
		for _, m := range want[n] {
			if !shown[m] {
				t.Errorf("level %d: the dashboard lacks %s", n, m)
			}
		}
		var alarmArns []string
		for _, a := range sim.ofType(tAlarm) {
			alarmArns = append(alarmArns, a.State["arn"].StringValue())
		}
		if !slices.Equal(alarms, alarmArns) {
			t.Errorf("level %d: the dashboard shows alarms %v, the level has %v", n, alarms, alarmArns)
		}
		if url, _ := sim.Outputs["dashboardUrl"].(string); !strings.HasPrefix(url, "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/web-demo-dev") {
			t.Errorf("level %d: dashboardUrl %q", n, url)
		}
	}
	// The group publishes the size metrics the dashboard shows.
	group := simulate(t, 3).one(t, tGroup, "web")
	var enabled []string
	for _, v := range group.Inputs["enabledMetrics"].ArrayValue() {
		enabled = append(enabled, v.StringValue())
	}
	if !slices.Contains(enabled, "GroupDesiredCapacity") || !slices.Contains(enabled, "GroupInServiceInstances") || str(group, "metricsGranularity") != "1Minute" {
		t.Errorf("the group does not publish its size: %v", enabled)
	}
}
