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

// Every server ships its app log and boot log to the stack's log group,
// which the stack deletes with itself and keeps for logRetentionDays.
func TestLogsGoToTheStacksLogGroup(t *testing.T) {
	for n := range 5 {
		sim := simulate(t, n)
		group := sim.one(t, "aws:cloudwatch/logGroup:LogGroup", "logs")
		name := group.State["name"].StringValue()
		if str(group, "retentionInDays") != "7" || str(group, "skipDestroy") == "true" {
			t.Errorf("level %d: log group retention %s, skipDestroy %s", n, str(group, "retentionInDays"), str(group, "skipDestroy"))
		}
		if sim.Outputs["logGroup"] != name {
			t.Errorf("level %d: logGroup output %v", n, sim.Outputs["logGroup"])
		}
		servers := append(sim.ofType(tInstance), sim.ofType(tTemplate)...)
		script := userData(t, servers[0])
		_, rest, _ := strings.Cut(script, "<<'AGENT'\n")
		config, _, _ := strings.Cut(rest, "\nAGENT\n")
		var agent struct {
			Logs struct {
				LogsCollected struct {
					Files struct {
						CollectList []struct {
							FilePath      string `json:"file_path"`
							LogGroupName  string `json:"log_group_name"`
							LogStreamName string `json:"log_stream_name"`
						} `json:"collect_list"`
					} `json:"files"`
				} `json:"logs_collected"`
			} `json:"logs"`
		}
		if err := json.Unmarshal([]byte(config), &agent); err != nil {
			t.Fatalf("level %d: agent config is not JSON: %v\n%s", n, err, config)
		}
		var files []string
		for _, f := range agent.Logs.LogsCollected.Files.CollectList {
			files = append(files, f.FilePath)
			if f.LogGroupName != name || !strings.HasPrefix(f.LogStreamName, "{instance_id}/") {
				t.Errorf("level %d: %s goes to %s/%s", n, f.FilePath, f.LogGroupName, f.LogStreamName)
			}
		}
		if !slices.Equal(files, []string{appLog, bootLog}) {
			t.Errorf("level %d: the agent ships %v", n, files)
		}
		for _, step := range []string{"amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s", "StandardOutput=append:" + appLog, "/etc/logrotate.d/webdemo"} {
			if !strings.Contains(script, step) {
				t.Errorf("level %d: the boot script lacks %q", n, step)
			}
		}
	}
	sim := simulateWith(t, map[string]string{"level": "2", "logRetentionDays": "30"})
	if got := str(sim.one(t, "aws:cloudwatch/logGroup:LogGroup", "logs"), "retentionInDays"); got != "30" {
		t.Errorf("logRetentionDays 30 gives %s", got)
	}
	if _, err := Simulate(map[string]string{"level": "0", "logRetentionDays": "8"}, Options{BuildApp: StandInArtifact}); err == nil ||
		!strings.Contains(err.Error(), "web-demo:logRetentionDays: 8 is not a retention CloudWatch Logs offers") {
		t.Errorf("logRetentionDays 8: %v", err)
	}
}
