package stack

// Which input changes make the provider replace a resource instead of
// updating it, for every resource type the program registers.
//
// pulumi-aws v6 bridges the Terraform AWS provider (v5): Pulumi replaces a
// resource when an input changes whose Terraform schema says ForceNew
// ("Forces new resource" in the provider's documentation), or when the
// provider's CustomizeDiff or ModifyPlan asks for a replacement. Each entry
// cites the provider's page for the type and, where the rule is not plain
// ForceNew, the source that decides it. The rules are checked against the
// pulumi-aws input names by TestForceNewRulesNameRealInputs.

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// forceNew is one resource type's replacement rules.
type forceNew struct {
	// doc is the provider's page for the type (and any source consulted).
	doc string
	// paths are inputs whose change replaces the resource: a top-level
	// input, or a dotted path into an object input (list indices dropped).
	paths []string
	// conditions are replacements that depend on the values involved.
	conditions []forceNewIf
	// notes say what an in-place update of an input does, where that is
	// more than an API call.
	notes map[string]string
}

// forceNewIf is a replacement that depends on the values: the provider's
// CustomizeDiff or ModifyPlan, rather than a plain ForceNew.
type forceNewIf struct {
	// paths are the inputs whose change is tested.
	paths []string
	// forces reports whether changing paths from the old inputs to the new
	// ones replaces the resource, and why.
	forces func(old, new resource.PropertyMap) (why string, replace bool)
}

const (
	tfResourceDocs = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/"
	tfSource       = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/"
)

// forceNewRules is keyed by the type tokens the program registers; every
// aws: type it registers has an entry (TestForceNewRulesCoverEveryType).
var forceNewRules = map[string]forceNew{
	// ec2 / VPC

	"aws:ec2/vpc:Vpc": {
		doc:   tfResourceDocs + "vpc; " + tfSource + "ec2/vpc_.go",
		paths: []string{"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
	},
	"aws:ec2/subnet:Subnet": {
		doc: tfResourceDocs + "subnet; " + tfSource + "ec2/vpc_subnet.go",
		// (The provider's newer IPAM arguments, also ForceNew, are not
		// inputs in pulumi-aws v6.)
		paths: []string{"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId", "ipv6Native", "outpostArn"},
		conditions: []forceNewIf{{
			// CustomizeDiff: ForceNewIf("ipv6_cidr_block") when the subnet was
			// created with assign_ipv6_address_on_creation.
			paths: []string{"ipv6CidrBlock"},
			forces: func(old, _ resource.PropertyMap) (string, bool) {
				if boolInput(old, "assignIpv6AddressOnCreation") && stringInput(old, "ipv6CidrBlock") != "" {
					return "ipv6CidrBlock changes on a subnet that assigns IPv6 addresses on creation", true
				}
				return "", false
			},
		}},
	},
	"aws:ec2/internetGateway:InternetGateway": {
		// vpc_id is Optional+Computed without ForceNew: Update detaches the
		// gateway and attaches it to the new VPC.
		doc:   tfResourceDocs + "internet_gateway; " + tfSource + "ec2/vpc_internet_gateway.go",
		notes: map[string]string{"vpcId": "the gateway is detached from the old VPC and attached to the new one"},
	},
	"aws:ec2/routeTable:RouteTable": {
		doc:   tfResourceDocs + "route_table; " + tfSource + "ec2/vpc_route_table.go",
		paths: []string{"vpcId"},
	},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {
		// route_table_id is updated with ReplaceRouteTableAssociation.
		doc:   tfResourceDocs + "route_table_association; " + tfSource + "ec2/vpc_route_table_association.go",
		paths: []string{"subnetId", "gatewayId"},
	},
	"aws:ec2/securityGroup:SecurityGroup": {
		// ingress and egress are updated rule by rule.
		doc:   tfResourceDocs + "security_group; " + tfSource + "ec2/vpc_security_group.go",
		paths: []string{"name", "namePrefix", "description", "vpcId"},
	},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
		// security_group_id has RequiresReplace. Everything else is updated
		// with ModifySecurityGroupRules, except that ModifyPlan requires a
		// replacement when the source type changes ("When you modify a
		// rule, you cannot change the rule's source type."): cidr_ipv4 to
		// referenced_security_group_id, for example.
		doc:        tfResourceDocs + "vpc_security_group_ingress_rule; " + tfSource + "ec2/vpc_security_group_rule.go (ModifyPlan)",
		paths:      []string{"securityGroupId"},
		conditions: []forceNewIf{ruleSourceType},
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
		// The same resource code as the ingress rule.
		doc:        tfResourceDocs + "vpc_security_group_egress_rule; " + tfSource + "ec2/vpc_security_group_rule.go (ModifyPlan)",
		paths:      []string{"securityGroupId"},
		conditions: []forceNewIf{ruleSourceType},
	},

	// ec2 / instances

	"aws:ec2/instance:Instance": {
		// user_data is not ForceNew: CustomizeDiff ForceNewIf("user_data")
		// when the planned user_data_replace_on_change is true; otherwise
		// Update stops the instance, modifies the attribute and starts it
		// ("Updates to this field will trigger a stop/start of the EC2
		// instance by default"). The root volume's size and type are
		// modified in place; its encryption and key are ForceNew.
		doc: tfResourceDocs + "instance; " + tfSource + "ec2/ec2_instance.go",
		paths: []string{"ami", "associatePublicIpAddress", "availabilityZone", "cpuCoreCount", "cpuThreadsPerCore",
			"cpuOptions.amdSevSnp", "cpuOptions.coreCount", "cpuOptions.threadsPerCore",
			"ebsBlockDevices.deleteOnTermination", "ebsBlockDevices.deviceName", "ebsBlockDevices.encrypted",
			"ebsBlockDevices.iops", "ebsBlockDevices.kmsKeyId", "ebsBlockDevices.snapshotId",
			"ebsBlockDevices.throughput", "ebsBlockDevices.volumeSize", "ebsBlockDevices.volumeType",
			"ebsOptimized", "enclaveOptions.enabled", "ephemeralBlockDevices", "hibernation", "hostId",
			"ipv6AddressCount", "ipv6Addresses", "keyName", "launchTemplate", "networkInterfaces",
			"placementGroup", "placementPartitionNumber", "privateDnsNameOptions", "privateIp",
			"rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId", "securityGroups", "subnetId", "tenancy"},
		conditions: []forceNewIf{
			replaceOnChange("userData"), replaceOnChange("userDataBase64"),
			{
				// "Disabling enablePrimaryIpv6 after it has been enabled forces
				// recreation of the instance."
				paths: []string{"enablePrimaryIpv6"},
				forces: func(old, new resource.PropertyMap) (string, bool) {
					if boolInput(old, "enablePrimaryIpv6") && !boolInput(new, "enablePrimaryIpv6") {
						return "enablePrimaryIpv6 is disabled after being enabled", true
					}
					return "", false
				},
			},
		},
		notes: map[string]string{
			"userData":       userDataStopStart,
			"userDataBase64": userDataStopStart,
			"instanceType":   "EC2 stops the instance, changes its type and starts it",
		},
	},
	"aws:ec2/launchTemplate:LaunchTemplate": {
		// Only the name is ForceNew; any other change makes a new version.
		doc:   tfResourceDocs + "launch_template; " + tfSource + "ec2/ec2_launch_template.go",
		paths: []string{"name", "namePrefix"},
		notes: map[string]string{
			"userData": "a new template version, which the group's instance refresh rolls out",
		},
	},
	"aws:ec2/eip:Eip": {
		// instance and network_interface are re-associated in place.
		doc:   tfResourceDocs + "eip; " + tfSource + "ec2/ec2_eip.go",
		paths: []string{"address", "domain", "ipamPoolId", "networkBorderGroup", "publicIpv4Pool", "vpc"},
		notes: map[string]string{"instance": "the address is disassociated and associated with the new instance"},
	},

	// Load balancing

	"aws:lb/loadBalancer:LoadBalancer": {
		// CustomizeDiff customizeDiffLoadBalancerNLB: a network load
		// balancer cannot have subnets removed, nor security groups added
		// where it had none or all removed. An ALB updates both in place.
		doc:   tfResourceDocs + "lb; " + tfSource + "elbv2/load_balancer.go",
		paths: []string{"name", "namePrefix", "internal", "loadBalancerType", "customerOwnedIpv4Pool"},
		conditions: []forceNewIf{
			{
				paths: []string{"subnets"},
				forces: func(old, new resource.PropertyMap) (string, bool) {
					if stringInput(new, "loadBalancerType") != "network" {
						return "", false
					}
					kept := map[string]bool{}
					for _, s := range stringsInput(new, "subnets") {
						kept[s] = true
					}
					for _, s := range stringsInput(old, "subnets") {
						if !kept[s] {
							return "subnets are removed from a network load balancer", true
						}
					}
					return "", false
				},
			},
			{
				paths: []string{"securityGroups"},
				forces: func(old, new resource.PropertyMap) (string, bool) {
					if stringInput(new, "loadBalancerType") == "network" &&
						(len(stringsInput(old, "securityGroups")) == 0) != (len(stringsInput(new, "securityGroups")) == 0) {
						return "a network load balancer gains its first or loses its last security group", true
					}
					return "", false
				},
			},
		},
	},
	"aws:lb/targetGroup:TargetGroup": {
		doc: tfResourceDocs + "lb_target_group",
		paths: []string{"name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId",
			"ipAddressType"},
	},
	"aws:lb/listener:Listener": {
		doc:   tfResourceDocs + "lb_listener",
		paths: []string{"loadBalancerArn"},
	},
	"aws:lb/targetGroupAttachment:TargetGroupAttachment": {
		// No Update at all: every argument is ForceNew.
		doc:   tfResourceDocs + "lb_target_group_attachment; " + tfSource + "elbv2/target_group_attachment.go",
		paths: []string{"targetGroupArn", "targetId", "port", "availabilityZone"},
	},

	// Database and cache

	"aws:rds/instance:Instance": {
		// identifier and identifier_prefix no longer force a new instance
		// (hashicorp/terraform-provider-aws#32687).
		doc: tfResourceDocs + "db_instance; " + tfSource + "rds/instance.go",
		paths: []string{"availabilityZone", "characterSetName", "customIamInstanceProfile", "dbName", "engine",
			"kmsKeyId", "ncharCharacterSetName", "restoreToPointInTime", "s3Import", "snapshotIdentifier",
			"storageEncrypted", "timezone", "username"},
	},
	"aws:rds/parameterGroup:ParameterGroup": {
		doc:   tfResourceDocs + "db_parameter_group",
		paths: []string{"name", "namePrefix", "family", "description"},
	},
	"aws:rds/subnetGroup:SubnetGroup": {
		doc:   tfResourceDocs + "db_subnet_group",
		paths: []string{"name", "namePrefix"},
	},
	"aws:elasticache/cluster:Cluster": {
		// CustomizeDiff: clusterForceNewOnMemcachedNodeTypeChange and
		// customizeDiffEngineVersionForceNewOnDowngrade.
		doc: tfResourceDocs + "elasticache_cluster; " + tfSource + "elasticache/cluster.go",
		paths: []string{"clusterId", "engine", "availabilityZone", "networkType", "outpostMode", "port",
			"preferredOutpostArn", "replicationGroupId", "snapshotArns", "snapshotName", "subnetGroupName",
			"transitEncryptionEnabled"},
		conditions: []forceNewIf{
			{
				paths: []string{"nodeType"},
				forces: func(_, new resource.PropertyMap) (string, bool) {
					if stringInput(new, "engine") == "memcached" {
						return "nodeType changes on a memcached cluster", true
					}
					return "", false
				},
			},
			{
				paths: []string{"engineVersion"},
				forces: func(old, new resource.PropertyMap) (string, bool) {
					o, n := stringInput(old, "engineVersion"), stringInput(new, "engineVersion")
					if o != "" && n != "" && versionBelow(n, o) {
						return fmt.Sprintf("engineVersion goes down from %s to %s", o, n), true
					}
					return "", false
				},
			},
		},
	},
	"aws:elasticache/subnetGroup:SubnetGroup": {
		doc:   tfResourceDocs + "elasticache_subnet_group",
		paths: []string{"name"},
	},

	// EFS

	"aws:efs/fileSystem:FileSystem": {
		doc:   tfResourceDocs + "efs_file_system",
		paths: []string{"availabilityZoneName", "creationToken", "encrypted", "kmsKeyId", "performanceMode"},
	},
	"aws:efs/mountTarget:MountTarget": {
		// security_groups is modified in place.
		doc:   tfResourceDocs + "efs_mount_target; " + tfSource + "efs/mount_target.go",
		paths: []string{"fileSystemId", "subnetId", "ipAddress"},
	},
	"aws:efs/accessPoint:AccessPoint": {
		doc:   tfResourceDocs + "efs_access_point",
		paths: []string{"fileSystemId", "posixUser", "rootDirectory"},
	},
	"aws:efs/fileSystemPolicy:FileSystemPolicy": {
		doc:   tfResourceDocs + "efs_file_system_policy",
		paths: []string{"fileSystemId"},
	},

	// S3

	"aws:s3/bucketV2:BucketV2": {
		doc:   tfResourceDocs + "s3_bucket",
		paths: []string{"bucket", "bucketPrefix", "objectLockEnabled"},
	},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
		doc:   tfResourceDocs + "s3_bucket_public_access_block",
		paths: []string{"bucket"},
	},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
		doc:   tfResourceDocs + "s3_bucket_ownership_controls",
		paths: []string{"bucket"},
	},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {
		doc:   tfResourceDocs + "s3_bucket_server_side_encryption_configuration",
		paths: []string{"bucket", "expectedBucketOwner"},
	},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": {
		doc:   tfResourceDocs + "s3_bucket_lifecycle_configuration",
		paths: []string{"bucket", "expectedBucketOwner"},
	},
	"aws:s3/bucketPolicy:BucketPolicy": {
		doc:   tfResourceDocs + "s3_bucket_policy",
		paths: []string{"bucket"},
	},
	"aws:s3/bucketObjectv2:BucketObjectv2": {
		// The program's key carries the build's hash, so a new build is a
		// new object.
		doc:   tfResourceDocs + "s3_object",
		paths: []string{"bucket", "key"},
	},

	// IAM, SSM

	"aws:iam/role:Role": {
		doc:   tfResourceDocs + "iam_role; " + tfSource + "iam/role.go",
		paths: []string{"name", "namePrefix", "path"},
	},
	"aws:iam/rolePolicy:RolePolicy": {
		doc:   tfResourceDocs + "iam_role_policy",
		paths: []string{"name", "namePrefix", "role"},
	},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
		// No Update: both arguments are ForceNew.
		doc:   tfResourceDocs + "iam_role_policy_attachment",
		paths: []string{"role", "policyArn"},
	},
	"aws:iam/instanceProfile:InstanceProfile": {
		// role is changed in place (remove and add the role).
		doc:   tfResourceDocs + "iam_instance_profile",
		paths: []string{"name", "namePrefix", "path"},
	},
	"aws:cloudwatch/logGroup:LogGroup": {
		// retentionInDays and tags are updated in place.
		doc:   tfResourceDocs + "cloudwatch_log_group",
		paths: []string{"name", "namePrefix", "kmsKeyId", "logGroupClass"},
	},
	"aws:cloudwatch/dashboard:Dashboard": {
		// PutDashboard replaces the body of a dashboard of the same name.
		doc:   tfResourceDocs + "cloudwatch_dashboard",
		paths: []string{"dashboardName"},
	},
	"aws:ssm/parameter:Parameter": {
		// type and value are put again in place; CustomizeDiff
		// ForceNewIfChange("tier") from Advanced to Standard.
		doc:   tfResourceDocs + "ssm_parameter; " + tfSource + "ssm/parameter.go",
		paths: []string{"name", "dataType"},
		conditions: []forceNewIf{{
			paths: []string{"tier"},
			forces: func(old, new resource.PropertyMap) (string, bool) {
				if stringInput(old, "tier") == "Advanced" && stringInput(new, "tier") == "Standard" {
					return "tier goes down from Advanced to Standard", true
				}
				return "", false
			},
		}},
	},

	// AutoScaling, CloudWatch

	"aws:autoscaling/group:Group": {
		doc:   tfResourceDocs + "autoscaling_group",
		paths: []string{"name", "namePrefix"},
		notes: map[string]string{"launchTemplate": "the group's instance refresh replaces its servers"},
	},
	"aws:autoscaling/policy:Policy": {
		doc:   tfResourceDocs + "autoscaling_policy",
		paths: []string{"name", "autoscalingGroupName"},
	},
	"aws:cloudwatch/metricAlarm:MetricAlarm": {
		// alarm_name is Pulumi's name.
		doc:   tfResourceDocs + "cloudwatch_metric_alarm",
		paths: []string{"name"},
	},
}

const userDataStopStart = "EC2 stops the instance, swaps the user-data and starts it (userDataReplaceOnChange is false)"

// replaceOnChange is aws_instance's CustomizeDiff for user-data: a change
// replaces the instance when the new inputs set userDataReplaceOnChange.
func replaceOnChange(input string) forceNewIf {
	return forceNewIf{
		paths: []string{input},
		forces: func(_, new resource.PropertyMap) (string, bool) {
			if boolInput(new, "userDataReplaceOnChange") {
				return input + " changes and userDataReplaceOnChange is true", true
			}
			return "", false
		},
	}
}

// ruleSourceType is the vpc security group rules' ModifyPlan: a rule's
// source (cidr_ipv4, cidr_ipv6, prefix_list_id or
// referenced_security_group_id) cannot change type in place.
var ruleSourceType = forceNewIf{
	paths: ruleSources,
	forces: func(old, new resource.PropertyMap) (string, bool) {
		if o, n := ruleSource(old), ruleSource(new); o != n {
			return fmt.Sprintf("the source changes from %s to %s, and a rule's source type cannot change in place", o, n), true
		}
		return "", false
	},
}

// ruleSources are a vpc security group rule's exclusive sources.
var ruleSources = []string{"cidrIpv4", "cidrIpv6", "prefixListId", "referencedSecurityGroupId"}

func ruleSource(inputs resource.PropertyMap) string {
	for _, k := range ruleSources {
		if stringInput(inputs, k) != "" {
			return k
		}
	}
	return "no source"
}

func stringInput(inputs resource.PropertyMap, key string) string {
	if v := unwrapValue(inputs[resource.PropertyKey(key)]); v.IsString() {
		return v.StringValue()
	}
	return ""
}

func boolInput(inputs resource.PropertyMap, key string) bool {
	v := unwrapValue(inputs[resource.PropertyKey(key)])
	return v.IsBool() && v.BoolValue()
}

func stringsInput(inputs resource.PropertyMap, key string) []string {
	var out []string
	if v := unwrapValue(inputs[resource.PropertyKey(key)]); v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e = unwrapValue(e); e.IsString() {
				out = append(out, e.StringValue())
			}
		}
	}
	return out
}

// versionBelow compares dotted versions numerically: "1.6.6" < "1.6.22".
func versionBelow(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// unwrapValue sees through secrets and known outputs.
func unwrapValue(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput() && v.OutputValue().Known:
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

// splitInputPath turns a property path ("rootBlockDevice.encrypted",
// "ingress[0].cidrBlocks", `tags["Name"]`) into its names, list indices
// dropped.
func splitInputPath(p string) []string {
	var segs []string
	for _, part := range strings.Split(p, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				segs = append(segs, part)
				break
			}
			if i > 0 {
				segs = append(segs, part[:i])
			}
			j := strings.IndexByte(part[i:], ']')
			if j < 0 {
				break
			}
			if key := strings.Trim(part[i+1:i+j], `"`); key != "" && key != "*" {
				if _, err := strconv.Atoi(key); err != nil {
					segs = append(segs, key)
				}
			}
			part = part[i+j+1:]
		}
	}
	return segs
}

func hasPathPrefix(path, prefix []string) bool {
	if len(prefix) > len(path) {
		return false
	}
	for i := range prefix {
		if path[i] != prefix[i] {
			return false
		}
	}
	return true
}

// ignoredInputs are a resource's IgnoreChanges, as paths.
type ignoredInputs [][]string

func ignoredOf(r Resource) ignoredInputs {
	var ig ignoredInputs
	for _, p := range r.IgnoreChanges {
		if segs := splitInputPath(p); len(segs) > 0 {
			ig = append(ig, segs)
		}
	}
	return ig
}

// covers reports whether path is ignored: it is, or is inside, an
// ignored input.
func (ig ignoredInputs) covers(path []string) bool {
	for _, p := range ig {
		if hasPathPrefix(path, p) {
			return true
		}
	}
	return false
}

// inside reports whether some ignored input lies strictly inside path.
func (ig ignoredInputs) inside(path []string) bool {
	for _, p := range ig {
		if len(p) > len(path) && hasPathPrefix(p, path) {
			return true
		}
	}
	return false
}

// inputDiffers compares an input's old and new values, leaving out what
// ignoreChanges covers.
func inputDiffers(old, new resource.PropertyValue, path []string, ig ignoredInputs) bool {
	if ig.covers(path) {
		return false
	}
	if !ig.inside(path) {
		return !old.DeepEquals(new)
	}
	old, new = unwrapValue(old), unwrapValue(new)
	switch {
	case old.IsObject() && new.IsObject():
		o, n := old.ObjectValue(), new.ObjectValue()
		for k := range mergeMapKeys(o, n) {
			if inputDiffers(o[k], n[k], append(append([]string{}, path...), string(k)), ig) {
				return true
			}
		}
		return false
	case old.IsArray() && new.IsArray():
		o, n := old.ArrayValue(), new.ArrayValue()
		if len(o) != len(n) {
			return true
		}
		for i := range o {
			if inputDiffers(o[i], n[i], path, ig) {
				return true
			}
		}
		return false
	}
	return !old.DeepEquals(new)
}

func mergeMapKeys(a, b resource.PropertyMap) map[resource.PropertyKey]bool {
	keys := map[resource.PropertyKey]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// valuesAt is every value at path in v, lists flattened.
func valuesAt(v resource.PropertyValue, path []string) []resource.PropertyValue {
	v = unwrapValue(v)
	if v.IsArray() {
		var out []resource.PropertyValue
		for _, e := range v.ArrayValue() {
			out = append(out, valuesAt(e, path)...)
		}
		return out
	}
	if len(path) == 0 {
		if v.IsNull() {
			return nil
		}
		return []resource.PropertyValue{v}
	}
	if !v.IsObject() {
		return nil
	}
	return valuesAt(v.ObjectValue()[resource.PropertyKey(path[0])], path[1:])
}

func pathChanged(old, new resource.PropertyMap, path []string) bool {
	o := valuesAt(resource.NewObjectProperty(old), path)
	n := valuesAt(resource.NewObjectProperty(new), path)
	if len(o) != len(n) {
		return true
	}
	for i := range o {
		if !o[i].DeepEquals(n[i]) {
			return true
		}
	}
	return false
}

// inputDiff is what changes in one resource between two simulations.
type inputDiff struct {
	old, new Resource
	// fields are the top-level inputs that differ.
	fields []string
	// forces are the reasons it is replaced; updates, the in-place ones.
	forces, updates []string
	// considered are the replaced resources already checked for
	// references from this one.
	considered map[string]bool
}

func (d *inputDiff) replaced() bool { return len(d.forces) > 0 }

// diffInputs compares a resource's inputs and sorts each change into
// replacing or updating, by the type's rules.
func diffInputs(old, new Resource) *inputDiff {
	d := &inputDiff{old: old, new: new, considered: map[string]bool{}}
	ig := ignoredOf(new)
	for k := range mergeMapKeys(old.Inputs, new.Inputs) {
		if inputDiffers(old.Inputs[k], new.Inputs[k], []string{string(k)}, ig) {
			d.fields = append(d.fields, string(k))
		}
	}
	if len(d.fields) == 0 {
		return d
	}
	sort.Strings(d.fields)
	changed := map[string]bool{}
	for _, f := range d.fields {
		changed[f] = true
	}
	rule, known := forceNewRules[new.Type]
	touched := func(p string) bool {
		segs := splitInputPath(p)
		return changed[segs[0]] && !ig.covers(segs) && (len(segs) == 1 || pathChanged(old.Inputs, new.Inputs, segs))
	}
	forcing := map[string]bool{}
	var forced []string
	for _, p := range rule.paths {
		if touched(p) {
			forced = append(forced, p)
			forcing[splitInputPath(p)[0]] = true
		}
	}
	if len(forced) > 0 {
		verb := "forces"
		if len(forced) > 1 {
			verb = "force"
		}
		d.forces = append(d.forces, fmt.Sprintf("%s %s replacement", strings.Join(forced, ", "), verb))
	}
	for _, c := range rule.conditions {
		var hit []string
		for _, p := range c.paths {
			if touched(p) {
				hit = append(hit, p)
			}
		}
		if len(hit) == 0 {
			continue
		}
		if why, ok := c.forces(old.Inputs, new.Inputs); ok {
			d.forces = append(d.forces, why)
			for _, p := range hit {
				forcing[splitInputPath(p)[0]] = true
			}
		}
	}
	var plain []string
	var noted []string
	for _, f := range d.fields {
		switch note, ok := rule.notes[f]; {
		case forcing[f]:
		case ok:
			noted = append(noted, fmt.Sprintf("%s changes in place: %s", f, note))
		default:
			plain = append(plain, f)
		}
	}
	if len(plain) > 0 {
		verb := "changes"
		if len(plain) > 1 {
			verb = "change"
		}
		clause := fmt.Sprintf("%s %s in place", strings.Join(plain, ", "), verb)
		if !known && strings.HasPrefix(new.Type, "aws:") {
			clause += " (no replacement rules are known for " + new.Type + ")"
		}
		d.updates = append(d.updates, clause)
	}
	d.updates = append(d.updates, noted...)
	return d
}

// forcesAt reports whether a change at path (say, because it refers to a
// replaced resource) replaces d's resource.
func (d *inputDiff) forcesAt(path []string) bool {
	rule := forceNewRules[d.new.Type]
	for _, p := range rule.paths {
		if hasPathPrefix(path, splitInputPath(p)) {
			return true
		}
	}
	for _, c := range rule.conditions {
		for _, p := range c.paths {
			if hasPathPrefix(path, splitInputPath(p)) {
				if _, ok := c.forces(d.old.Inputs, d.new.Inputs); ok {
					return true
				}
			}
		}
	}
	return false
}

// propagateReplacements follows replacements to the resources whose inputs
// refer to them, to a fixed point. Under mocks a replaced resource keeps its
// id, so its dependents show no change of their own; in a real update its
// id, ARN and name are new, so a dependent input that forces replacement
// replaces the dependent too, and any other is updated.
func propagateReplacements(diffs []*inputDiff) {
	for {
		var replaced []*inputDiff
		for _, d := range diffs {
			if d.replaced() {
				replaced = append(replaced, d)
			}
		}
		progress := false
		for _, d := range diffs {
			if d.replaced() {
				continue
			}
			for _, a := range replaced {
				key := a.new.Key()
				if a == d || d.considered[key] {
					continue
				}
				d.considered[key] = true
				what := kindOf(a.new.Type) + " " + a.new.Name
				for _, path := range referencesTo(d.new, a) {
					segs := splitInputPath(path)
					if d.forcesAt(segs) {
						d.forces = append(d.forces, fmt.Sprintf("%s: %s is replaced", path, what))
						progress = true
						continue
					}
					clause := fmt.Sprintf("%s now refers to a new %s", path, what)
					if note, ok := forceNewRules[d.new.Type].notes[segs[0]]; ok {
						clause += ": " + note
					}
					d.updates = append(d.updates, clause)
				}
			}
		}
		if !progress {
			return
		}
	}
}

// referencesTo lists the inputs of b (as dotted paths) that hold one of the
// replaced resource's ids: its mock id, or a computed output the mocks
// derive from its name (ARN, name, address). b must depend on it, which
// tells apart resources that share a logical name.
func referencesTo(b Resource, replaced *inputDiff) []string {
	if !dependsOnResource(b, replaced.new) {
		return nil
	}
	values := identityValues(replaced.old)
	for _, v := range identityValues(replaced.new) {
		if !containsString(values, v) {
			values = append(values, v)
		}
	}
	ig := ignoredOf(b)
	found := map[string]bool{}
	for k, v := range b.Inputs {
		walkInputStrings(v, []string{string(k)}, func(path []string, s string) {
			if ig.covers(path) {
				return
			}
			for _, id := range values {
				if refersToValue(s, id) {
					found[strings.Join(path, ".")] = true
				}
			}
		})
	}
	paths := make([]string, 0, len(found))
	for p := range found {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// dependsOnResource reports whether b's dependencies (explicit, and those
// its inputs carry) include r. Resources built without dependencies, as in
// tests, depend on anything.
func dependsOnResource(b, r Resource) bool {
	if len(b.DependsOn) == 0 {
		return true
	}
	for _, urn := range b.DependsOn {
		parts := strings.Split(urn, "::")
		if len(parts) < 2 || parts[len(parts)-1] != r.Name {
			continue
		}
		typ := parts[len(parts)-2]
		if i := strings.LastIndexByte(typ, '$'); i >= 0 {
			typ = typ[i+1:]
		}
		if typ == r.Type {
			return true
		}
	}
	return false
}

// identityValues are what a replacement changes about r: the mock's id for
// it, and the computed outputs (not inputs) that carry its name.
func identityValues(r Resource) []string {
	values := []string{r.physicalID()}
	for k, v := range r.State {
		if _, input := r.Inputs[k]; input {
			continue
		}
		walkInputStrings(v, nil, func(_ []string, s string) {
			if strings.Contains(s, r.Name) && !containsString(values, s) {
				values = append(values, s)
			}
		})
	}
	sort.Strings(values)
	return values
}

// physicalID is the id the mocks gave r, derived from its name as
// simulate.go's mocks derive it when r does not record it.
func (r Resource) physicalID() string {
	if r.ID != "" {
		return r.ID
	}
	switch r.Type {
	case "aws:ec2/instance:Instance":
		return "i-" + r.Name
	case "aws:s3/bucketV2:BucketV2":
		return r.Name + "-bucket"
	case "aws:ec2/eip:Eip":
		return "eipalloc-" + r.Name
	case "aws:efs/accessPoint:AccessPoint":
		return "fsap-" + r.Name
	}
	return r.Name + "-id"
}

// walkInputStrings visits every string in v with its path (object keys;
// list indices dropped). A base64 string is visited decoded as well, as a
// launch template's user-data is.
func walkInputStrings(v resource.PropertyValue, path []string, visit func(path []string, s string)) {
	v = unwrapValue(v)
	switch {
	case v.IsString():
		s := v.StringValue()
		visit(path, s)
		if decoded, ok := decodeBase64Text(s); ok {
			visit(path, decoded)
		}
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			walkInputStrings(e, path, visit)
		}
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			walkInputStrings(e, append(append([]string{}, path...), string(k)), visit)
		}
	}
}

func decodeBase64Text(s string) (string, bool) {
	if len(s) < 16 || len(s)%4 != 0 || strings.ContainsAny(s, " \n:/") {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// refersToValue reports whether s contains id as a whole token: "i-web-0"
// is in "i-web-0" and `"i-web-0"`, not in "i-web-01"; "app-id" is not in
// "network-app-id".
func refersToValue(s, id string) bool {
	if id == "" {
		return false
	}
	for from := 0; ; {
		i := strings.Index(s[from:], id)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(id)
		if (start == 0 || !isIDByte(s[start-1])) && (end == len(s) || !isIDByte(s[end])) {
			return true
		}
		from = start + 1
	}
}

func isIDByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// kindNames are readable names where the type's own is ambiguous or terse.
var kindNames = map[string]string{
	"aws:ec2/eip:Eip":                         "Elastic IP",
	"aws:rds/instance:Instance":               "DB instance",
	"aws:rds/subnetGroup:SubnetGroup":         "DB subnet group",
	"aws:rds/parameterGroup:ParameterGroup":   "DB parameter group",
	"aws:elasticache/cluster:Cluster":         "cache cluster",
	"aws:elasticache/subnetGroup:SubnetGroup": "cache subnet group",
	"aws:efs/fileSystem:FileSystem":           "EFS file system",
	"aws:ssm/parameter:Parameter":             "SSM parameter",
	"aws:cloudwatch/logGroup:LogGroup":        "log group",
	"aws:iam/role:Role":                       "IAM role",
	"aws:autoscaling/group:Group":             "AutoScaling group",
	"aws:autoscaling/policy:Policy":           "scaling policy",
}

// kindOf names a type token for people: "aws:ec2/instance:Instance" is an
// "instance", "aws:lb/targetGroup:TargetGroup" a "target group".
func kindOf(typ string) string {
	if name, ok := kindNames[typ]; ok {
		return name
	}
	name := typ[strings.LastIndexByte(typ, ':')+1:]
	name = strings.TrimSuffix(strings.TrimSuffix(name, "V2"), "v2")
	var words []string
	start := 0
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			words = append(words, strings.ToLower(name[start:i]))
			start = i
		}
	}
	return strings.Join(append(words, strings.ToLower(name[start:])), " ")
}
