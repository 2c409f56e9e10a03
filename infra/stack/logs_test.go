package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

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
