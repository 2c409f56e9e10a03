package stack

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

func TestBadConfigFailsWithOneLine(t *testing.T) {
	for _, tc := range []struct {
		config map[string]string
		want   string
	}{
		{map[string]string{"level": "5"}, "web-demo:level: 5 is not allowed: use 0 to 4"},
		{map[string]string{"level": "-1"}, "web-demo:level: -1 is not allowed: use 0 to 4"},
		{map[string]string{"level": "two"}, `web-demo:level: "two" is not a whole number`},
		{map[string]string{"level": "3", "minSize": "5", "maxSize": "3"}, "web-demo:minSize: 5 is above maxSize 3"},
		{map[string]string{"level": "3", "desiredSize": "9"}, "web-demo:desiredSize: 9 is outside minSize..maxSize (2..4)"},
		{map[string]string{"level": "0", "allowedCidr": "10.0.0.0/33"}, `web-demo:allowedCidr: "10.0.0.0/33" is not an IPv4 CIDR block`},
		{map[string]string{"level": "0", "allowedCidr": "everyone"}, `web-demo:allowedCidr: "everyone" is not an IPv4 CIDR block`},
		{map[string]string{"level": "0", "latency": "-2s"}, `web-demo:latency: "-2s" is not a delay ≥ 0`},
		{map[string]string{"level": "2", "unsharedState": "true"}, "web-demo:unsharedState: applies only at level 1, not level 2"},
		{map[string]string{"level": "1", "sshKeyName": "k"}, "web-demo:sshCidr: is required with sshKeyName"},
		{map[string]string{"level": "0", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}, "web-demo:certificateArn: needs a load balancer"},
		{map[string]string{"level": "1", "scaleInLatency": "2"}, "web-demo:scaleInLatency: 2 s must be below scaleOutLatency 1 s"},
		{map[string]string{"level": "1", "multiAz": "sometimes"}, `web-demo:multiAz: "sometimes" is not true or false`},
		{map[string]string{"level": "1", "instanceType": "big"}, `web-demo:instanceType: "big" is not an instance type`},
	} {
		wantOneLineError(t, tc.config, tc.want)
	}
}

// wantOneLineError checks that the program fails on config with a
// one-line message containing want.
func wantOneLineError(t *testing.T, config map[string]string, want string) {
	t.Helper()
	_, err := Simulate(config, Options{BuildApp: StandInArtifact})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%v: err = %v, want %q", config, err, want)
		return
	}
	msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(err.Error()), "1 error occurred:\n\t* "))
	if strings.Contains(msg, "\n") {
		t.Errorf("%v: message spans lines: %q", config, msg)
	}
}

func TestDefaultLevelIsZero(t *testing.T) {
	sim := simulateWith(t, map[string]string{})
	if len(sim.ofType(tInstance)) != 1 || len(sim.ofType(tALB)) != 0 {
		t.Error("with no level set the program should build level 0")
	}
}

func TestX86InstanceTypesGetAnAMD64Build(t *testing.T) {
	var built []string
	_, err := Simulate(map[string]string{"level": "3", "instanceType": "t3.micro"}, Options{BuildApp: func(goarch string) (Artifact, error) {
		built = append(built, goarch)
		return StandInArtifact(goarch)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(built, []string{"amd64"}) {
		t.Errorf("built %v for t3.micro", built)
	}
}

func TestProjectFilesLoad(t *testing.T) {
	project, err := workspace.LoadProject("../../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if project.Name != "web-demo" || project.Runtime.Name() != "go" || project.Main != "infra/" {
		t.Errorf("project %s runtime %s main %s", project.Name, project.Runtime.Name(), project.Main)
	}
	sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	stack, err := workspace.LoadProjectStack(sink, project, "../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for key := range stack.Config {
		keys[key.String()] = true
	}
	if !keys["web-demo:level"] || !keys["aws:region"] {
		t.Errorf("example stack config %v", keys)
	}
}
