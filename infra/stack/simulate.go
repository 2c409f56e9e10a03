package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one resource the program registered under Simulate.
type Resource struct {
	Type   string
	Name   string
	Parent string // the parent's logical name; empty for the stack
	// ID is the id the mock provider gave it ("i-"+name for an instance).
	ID     string
	Inputs resource.PropertyMap
	// IgnoreChanges are the inputs Pulumi leaves alone after creation.
	IgnoreChanges []string
	// DependsOn are the URNs of explicit dependencies.
	DependsOn []string
	// Aliases are the names or URNs Pulumi also knows it by in the state.
	Aliases []string
	// State is what the mock provider answered: inputs plus computed
	// outputs such as ARNs.
	State resource.PropertyMap
}

// Key identifies a resource across runs, as Pulumi's URN does.
func (r Resource) Key() string { return r.Type + "::" + r.Parent + "/" + r.Name }

// Simulation is one run of the program under mocks: no cloud, no CLI.
type Simulation struct {
	Resources []Resource
	Outputs   map[string]any
}

// Simulate runs the program with stack config (keys without the web-demo:
// namespace) under Pulumi's mocks. AWS answers are stand-ins: two zones in
// us-east-1, a fixed AMI id, and computed fields derived from names.
func Simulate(stackConfig map[string]string, opts Options) (*Simulation, error) {
	return simulateRun(stackConfig, func(ctx *pulumi.Context) (pulumi.Map, error) { return Build(ctx, opts) })
}

// simulateRun runs build under the mocks, so a test can build one
// component alone.
func simulateRun(stackConfig map[string]string, build func(*pulumi.Context) (pulumi.Map, error)) (*Simulation, error) {
	m := &mocks{}
	config := map[string]string{}
	for k, v := range stackConfig {
		config["web-demo:"+k] = v
	}
	sim := &Simulation{}
	var outputsMu sync.Mutex
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		outputs, err := build(ctx)
		if err != nil {
			return err
		}
		for name, value := range outputs {
			ctx.Export(name, value)
		}
		outputs.ToMapOutput().ApplyT(func(resolved map[string]any) error {
			outputsMu.Lock()
			sim.Outputs = resolved
			outputsMu.Unlock()
			return nil
		})
		return nil
	}, pulumi.WithMocks("web-demo", "dev", m), func(info *pulumi.RunInfo) { info.Config = config })
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sim.Resources = append(sim.Resources, m.resources...)
	sort.Slice(sim.Resources, func(i, j int) bool { return sim.Resources[i].Key() < sim.Resources[j].Key() })
	return sim, nil
}

// StandInArtifact is a small file standing in for the app binary, so a
// simulation need not cross-compile. Its hash is real.
func StandInArtifact(goarch string) (Artifact, error) {
	path := filepath.Join(os.TempDir(), "web-demo-stand-in-"+goarch)
	content := []byte("web-demo app stand-in for " + goarch + "\n")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return Artifact{}, err
	}
	sum := sha256.Sum256(content)
	return Artifact{Path: path, SHA256: hex.EncodeToString(sum[:]), GOARCH: goarch}, nil
}

// Region and zones the mocks report.
const (
	MockRegion = "us-east-1"
	MockAMI    = "ami-0123456789abcdef0"
)

type mocks struct {
	mu        sync.Mutex
	resources []Resource
}

// NewResource records the resource and answers with its inputs plus the
// computed outputs the program reads.
func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	state := args.Inputs.Copy()
	id := args.Name + "-id"
	set := func(key string, v any) { state[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }
	setDefault := func(key string, v any) {
		if _, ok := state[resource.PropertyKey(key)]; !ok {
			set(key, v)
		}
	}
	_, kind, _ := strings.Cut(args.TypeToken, ":")
	setDefault("arn", fmt.Sprintf("arn:aws:%s:%s:123456789012:%s", strings.Split(kind, "/")[0], MockRegion, args.Name))
	switch args.TypeToken {
	case "aws:s3/bucketV2:BucketV2":
		set("bucket", args.Name+"-bucket")
		set("arn", "arn:aws:s3:::"+args.Name+"-bucket")
		id = args.Name + "-bucket"
	case "aws:lb/targetGroup:TargetGroup":
		set("arnSuffix", "targetgroup/"+args.Name+"/0123456789abcdef")
	case "aws:rds/instance:Instance":
		set("identifier", args.Name+"abc1234")
		address := args.Name + ".abc123." + MockRegion + ".rds.amazonaws.com"
		set("address", address)
		set("port", 3306)
		set("endpoint", address+":3306")
		set("masterUserSecrets", []any{map[string]any{
			"secretArn": "arn:aws:secretsmanager:" + MockRegion + ":123456789012:secret:rds!db-" + args.Name, "secretStatus": "active",
		}})
	case "aws:elasticache/cluster:Cluster":
		set("clusterId", args.Name+"-abc1234")
		set("cacheNodes", []any{map[string]any{"address": args.Name + ".abc123.0001.use1.cache.amazonaws.com", "port": 11211, "id": "0001"}})
	case "aws:lb/loadBalancer:LoadBalancer":
		set("dnsName", args.Name+"-123456.us-east-1.elb.amazonaws.com")
		set("arnSuffix", "app/"+args.Name+"/0123456789abcdef")
	case "aws:ec2/launchTemplate:LaunchTemplate":
		set("latestVersion", 1)
	case "aws:ec2/instance:Instance":
		id = "i-" + args.Name
		set("publicDns", "ec2-"+args.Name+".compute-1.amazonaws.com")
	case "aws:cloudwatch/logGroup:LogGroup":
		name := args.Inputs["namePrefix"].StringValue() + "abc1234"
		set("name", name)
		set("arn", "arn:aws:logs:"+MockRegion+":123456789012:log-group:"+name)
	case "aws:ec2/eip:Eip":
		id = "eipalloc-" + args.Name
		set("publicIp", "198.51.100.10")
		set("publicDns", "ec2-198-51-100-10.compute-1.amazonaws.com")
	case "aws:efs/accessPoint:AccessPoint":
		id = "fsap-" + args.Name
	}
	setDefault("name", args.Name+"-name")
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resources = append(m.resources, Resource{
		Type: args.TypeToken, Name: args.Name, Parent: parentName(args), ID: id, Inputs: args.Inputs, State: state,
		IgnoreChanges: args.RegisterRPC.GetIgnoreChanges(),
		DependsOn:     args.RegisterRPC.GetDependencies(),
		Aliases:       aliases(args),
	})
	return id, state, nil
}

// aliases lists a resource's aliases as the SDK sent them: full URNs, or
// specs of which only the name is kept.
func aliases(args pulumi.MockResourceArgs) []string {
	names := args.RegisterRPC.GetAliasURNs()
	for _, a := range args.RegisterRPC.GetAliases() {
		if urn := a.GetUrn(); urn != "" {
			names = append(names, urn)
		} else if spec := a.GetSpec(); spec != nil {
			names = append(names, spec.GetName())
		}
	}
	return names
}

func parentName(args pulumi.MockResourceArgs) string {
	if args.RegisterRPC == nil {
		return ""
	}
	urn := args.RegisterRPC.GetParent()
	if i := strings.LastIndex(urn, "::"); i >= 0 && !strings.HasSuffix(urn, "pulumi:pulumi:Stack::web-demo-dev") {
		return urn[i+2:]
	}
	return ""
}

// MockZonesOffering are the mock zones that offer every instance type: the
// second available zone lacks them, as use1-az3 lacks newer types.
var MockZonesOffering = []string{"us-east-1a", "us-east-1c"}

// Call answers the program's invokes: zones, instance type offerings,
// region and the AMI parameter.
func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return resource.NewPropertyMapFromMap(map[string]any{
			"names": []any{"us-east-1a", "us-east-1b", "us-east-1c"}, "zoneIds": []any{"use1-az1", "use1-az2", "use1-az4"},
		}), nil
	case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
		locations := []any{}
		for _, zone := range MockZonesOffering {
			locations = append(locations, zone)
		}
		return resource.NewPropertyMapFromMap(map[string]any{"locations": locations, "instanceTypes": []any{"t4g.micro", "t4g.micro"}}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"name": MockRegion, "id": MockRegion}), nil
	case "aws:ssm/getParameter:getParameter":
		name := args.Args["name"].StringValue()
		return resource.NewPropertyMapFromMap(map[string]any{"name": name, "value": MockAMI, "type": "String"}), nil
	}
	return nil, fmt.Errorf("mocks: no answer for %s", args.Token)
}

// LevelConfig is the stack config for a level with everything else default.
func LevelConfig(n int) map[string]string { return map[string]string{"level": strconv.Itoa(n)} }
