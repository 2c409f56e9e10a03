package stack

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

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

// Without ListBucket, S3 answers a missing key with 403, which the app
// must treat as an error; with it, 404.
func TestMissingUploadsAnswerNotFound(t *testing.T) {
	for n := 2; n <= 4; n++ {
		found := false
		for _, s := range roleStatements(t, simulate(t, n)) {
			if slices.Equal(s.Action, []string{"s3:ListBucket"}) && slices.Equal(s.Resource, []string{"arn:aws:s3:::storage-uploads-bucket"}) {
				found = true
			}
		}
		if !found {
			t.Errorf("level %d: no s3:ListBucket on the uploads bucket", n)
		}
	}
}
