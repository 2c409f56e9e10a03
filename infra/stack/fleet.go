package stack

import (
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Fleet runs the app: one instance (level 0), webCount instances behind the
// load balancer (levels 1–2), or a launch template and an AutoScaling group
// (levels 3–4). Every instance requires IMDSv2, has an encrypted root
// volume, and is reached through Session Manager rather than SSH.
type Fleet struct {
	pulumi.ResourceState

	Instances []*ec2.Instance
	// Attachments register Instances with the load balancer (levels 1–2).
	Attachments []*lb.TargetGroupAttachment
	// Address is the level-0 instance's Elastic IP, kept across updates.
	Address *ec2.Eip
	// Kept is the level-0 server kept beside a level-1–4 fleet while its
	// photos are copied (migrateFrom 0), else nil.
	Kept     *ec2.Instance
	Template *ec2.LaunchTemplate
	Group    *autoscaling.Group
}

// FleetArgs are the fleet's inputs: what its servers run, where, and how
// many.
type FleetArgs struct {
	// Arch is the AMI's architecture, arm64 or x86_64: the instance type's,
	// which the app build matches.
	Arch string
	// InstanceType is the servers' EC2 instance type.
	InstanceType string
	// KeyName is an EC2 key pair for SSH; "" for none (Session Manager).
	KeyName string
	// Subnets are public ones; fixed servers go round them in turn.
	Subnets pulumi.StringArray
	// SecurityGroup is the app servers' group.
	SecurityGroup *ec2.SecurityGroup
	// Profile carries the app's role.
	Profile *iam.InstanceProfile
	// Policies are the role's grants: no server boots before its
	// permissions exist.
	Policies []pulumi.Resource
	// InternetPath is the gateway and public routes: servers fetch the app
	// over it, and an Elastic IP needs it.
	InternetPath []pulumi.Resource
	// UserData is the rendered boot script.
	UserData pulumi.StringOutput
	// Needs are resources the servers use at boot, such as the app's
	// artifact and EFS mount targets, created first.
	Needs []pulumi.Resource
	// TargetGroupArn is the load balancer's target group the servers
	// register with. Nil: one server, reached at an Elastic IP.
	TargetGroupArn pulumi.StringInput
	// Count is how many fixed servers register with TargetGroupArn.
	Count int
	// Group, when set, runs the servers behind TargetGroupArn from a launch
	// template in an AutoScaling group of this size instead.
	Group *GroupSize
	// KeptUserData, when set, keeps the lone server (with this user-data)
	// beside the servers behind TargetGroupArn: stepping up with
	// migrateFrom 0, it pushes its photos to the new stores.
	KeptUserData *pulumi.StringOutput
}

// GroupSize bounds an AutoScaling group.
type GroupSize struct {
	// Min is also how many servers must pass health checks before the
	// group's creation completes.
	Min int
	// Desired is the starting size; scaling's changes to it are kept.
	Desired int
	// Max caps scaling out, and so the bill.
	Max int
}

// amiParameter is AWS's public SSM parameter for the latest Amazon Linux 2023.
func amiParameter(arch string) string {
	return "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + arch
}

const rootVolumeGiB = 8

func newFleet(ctx *pulumi.Context, name string, args FleetArgs, opts ...pulumi.ResourceOption) (*Fleet, error) {
	switch balanced := args.TargetGroupArn != nil; {
	case !balanced && (args.Group != nil || args.KeptUserData != nil):
		return nil, fmt.Errorf("fleet %s: an AutoScaling group or a kept lone server needs a target group", name)
	case balanced && args.Group == nil && args.Count < 1:
		return nil, fmt.Errorf("fleet %s: %d servers behind the load balancer: at least 1", name, args.Count)
	}
	f := &Fleet{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Fleet", name, f, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(f)
	ami, err := ssm.LookupParameter(ctx, &ssm.LookupParameterArgs{Name: amiParameter(args.Arch)}, pulumi.Parent(f))
	if err != nil {
		return nil, fmt.Errorf("look up the Amazon Linux 2023 AMI: %w", err)
	}
	var keyName pulumi.StringPtrInput
	if args.KeyName != "" {
		keyName = pulumi.String(args.KeyName)
	}
	if args.Group != nil {
		err = f.autoScaled(ctx, name, args, ami.Value, keyName, parent)
	} else {
		err = f.instances(ctx, name, args, ami.Value, keyName, parent)
	}
	if err != nil {
		return nil, err
	}
	if args.KeptUserData != nil {
		if f.Kept, f.Address, err = soloServer(ctx, name, args, *args.KeptUserData, ami.Value, keyName, parent, nil); err != nil {
			return nil, err
		}
	}
	return f, ctx.RegisterResourceOutputs(f, pulumi.Map{})
}

// instances creates the lone level-0 server, or Count servers behind the
// load balancer, spread over both zones. A new AMI does not replace them
// (its id is ignored after creation).
//
// New user-data (a new app build or new settings) replaces the servers
// behind the load balancer: the new ones are created first, and the
// program holds the old ones until the new pass health checks (see
// Options.WaitHealthy). The level-0 server is updated in place instead
// (see soloServer).
func (f *Fleet) instances(ctx *pulumi.Context, name string, args FleetArgs, ami string, keyName pulumi.StringPtrInput, parent pulumi.ResourceOption) error {
	if args.TargetGroupArn == nil {
		// Stacks made before the level-0 server had a name of its own
		// hold it as "-0": the alias makes that the same server, updated
		// in place, not replaced with an empty one. Never while another
		// server is named "-0" (stepping up with migrateFrom 0).
		renamed := pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(name + "-0")}})
		instance, address, err := soloServer(ctx, name, args, args.UserData, ami, keyName, parent, renamed)
		if err != nil {
			return err
		}
		f.Instances, f.Address = []*ec2.Instance{instance}, address
		return nil
	}
	for i := range args.Count {
		instanceName := fmt.Sprintf("%s-%d", name, i)
		instance, err := ec2.NewInstance(ctx, instanceName, instanceArgs(ctx, args, args.UserData, i, ami, keyName, true, fmt.Sprintf("web-%d", i)),
			parent, pulumi.IgnoreChanges([]string{"ami"}), pulumi.DependsOn(args.needs()))
		if err != nil {
			return err
		}
		f.Instances = append(f.Instances, instance)
		attachment, err := lb.NewTargetGroupAttachment(ctx, instanceName, &lb.TargetGroupAttachmentArgs{
			TargetGroupArn: args.TargetGroupArn,
			TargetId:       instance.ID(),
			Port:           pulumi.Int(httpPort),
		}, parent)
		if err != nil {
			return err
		}
		f.Attachments = append(f.Attachments, attachment)
	}
	return nil
}

// soloName is the level-0 server's name suffix. It is not "-0", level 1's
// first server: stepping up with migrateFrom 0 keeps the level-0 server
// beside the new fleet, so the two must never share a URN.
const soloName = "solo"

// soloServer is the level-0 server and its Elastic IP. It holds the
// database and the uploads on its disk, so new user-data updates it in
// place: EC2 stops it, swaps the user-data and starts it, and the boot
// script, which runs at every boot, installs the new app. The Elastic IP
// keeps the address. Kept while stepping up with migrateFrom 0, it has the
// same inputs but for its user-data, so that step too is an update.
func soloServer(ctx *pulumi.Context, name string, args FleetArgs, userData pulumi.StringOutput, ami string, keyName pulumi.StringPtrInput,
	parent, renamed pulumi.ResourceOption) (*ec2.Instance, *ec2.Eip, error) {
	soloResource := name + "-" + soloName
	opts := []pulumi.ResourceOption{parent, pulumi.IgnoreChanges([]string{"ami"}), pulumi.DependsOn(args.needs())}
	if renamed != nil {
		opts = append(opts, renamed)
	}
	instance, err := ec2.NewInstance(ctx, soloResource, instanceArgs(ctx, args, userData, 0, ami, keyName, false, soloResource), opts...)
	if err != nil {
		return nil, nil, err
	}
	// Associating an Elastic IP releases the instance's automatic public
	// address, so this costs no more than that one did.
	address, err := ec2.NewEip(ctx, name, &ec2.EipArgs{
		Domain:   pulumi.String("vpc"),
		Instance: instance.ID(),
		Tags:     nameTag(ctx, "web"),
	}, parent, pulumi.DependsOn(args.InternetPath))
	return instance, address, err
}

// needs are what an instance waits for: what it uses at boot, its grants
// and the internet path.
func (args FleetArgs) needs() []pulumi.Resource {
	return append(append(append([]pulumi.Resource{}, args.Needs...), args.Policies...), args.InternetPath...)
}

// instanceArgs are one server's inputs: IMDSv2 only, an encrypted root
// volume, the app's group and role, in public subnet i (of two).
func instanceArgs(ctx *pulumi.Context, args FleetArgs, userData pulumi.StringOutput, i int, ami string, keyName pulumi.StringPtrInput,
	replaceOnNewUserData bool, role string) *ec2.InstanceArgs {
	return &ec2.InstanceArgs{
		Ami:                     pulumi.String(ami),
		InstanceType:            pulumi.String(args.InstanceType),
		SubnetId:                args.Subnets[i%len(args.Subnets)],
		VpcSecurityGroupIds:     pulumi.StringArray{args.SecurityGroup.ID()},
		IamInstanceProfile:      args.Profile.Name,
		KeyName:                 keyName,
		UserData:                userData,
		UserDataReplaceOnChange: pulumi.Bool(replaceOnNewUserData),
		Monitoring:              pulumi.Bool(true),
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			Encrypted:  pulumi.Bool(true),
			VolumeType: pulumi.String("gp3"),
			VolumeSize: pulumi.Int(rootVolumeGiB),
		},
		Tags: nameTag(ctx, role),
	}
}

// Boot and warm-up times for health checks and scaling.
const (
	healthCheckGraceSeconds = 300
	instanceWarmupSeconds   = 120
	// capacityTimeout bounds the wait for healthy servers: boot takes a few
	// minutes, so 15 leaves room for slow package mirrors.
	capacityTimeout = "15m"
)

// autoScaled creates the launch template and the AutoScaling group. The
// group pins the template's real latest version (not "$Latest"), so a new
// app or config makes a new version and an instance refresh rolls the
// fleet; scaling's changes to the desired capacity are left alone.
func (f *Fleet) autoScaled(ctx *pulumi.Context, name string, args FleetArgs, ami string, keyName pulumi.StringPtrInput, parent pulumi.ResourceOption) error {
	var err error
	f.Template, err = ec2.NewLaunchTemplate(ctx, name, &ec2.LaunchTemplateArgs{
		ImageId:             pulumi.String(ami),
		InstanceType:        pulumi.String(args.InstanceType),
		KeyName:             keyName,
		VpcSecurityGroupIds: pulumi.StringArray{args.SecurityGroup.ID()},
		IamInstanceProfile:  &ec2.LaunchTemplateIamInstanceProfileArgs{Arn: args.Profile.Arn},
		// A launch template takes its user-data base64-encoded.
		UserData: args.UserData.ApplyT(func(script string) string {
			return base64.StdEncoding.EncodeToString([]byte(script))
		}).(pulumi.StringOutput),
		UpdateDefaultVersion: pulumi.Bool(true),
		Monitoring:           &ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{&ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"),
			Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				Encrypted:           pulumi.String("true"),
				VolumeType:          pulumi.String("gp3"),
				VolumeSize:          pulumi.Int(rootVolumeGiB),
				DeleteOnTermination: pulumi.String("true"),
			},
		}},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{&ec2.LaunchTemplateTagSpecificationArgs{
			ResourceType: pulumi.String("instance"), Tags: nameTag(ctx, "web"),
		}},
	}, parent, pulumi.IgnoreChanges([]string{"imageId"}), pulumi.DependsOn(args.Policies))
	if err != nil {
		return err
	}
	f.Group, err = autoscaling.NewGroup(ctx, name, &autoscaling.GroupArgs{
		MinSize:                pulumi.Int(args.Group.Min),
		MaxSize:                pulumi.Int(args.Group.Max),
		DesiredCapacity:        pulumi.Int(args.Group.Desired),
		VpcZoneIdentifiers:     args.Subnets,
		TargetGroupArns:        pulumi.StringArray{args.TargetGroupArn},
		HealthCheckType:        pulumi.String("ELB"),
		HealthCheckGracePeriod: pulumi.Int(healthCheckGraceSeconds),
		DefaultInstanceWarmup:  pulumi.Int(instanceWarmupSeconds),
		// Creation waits until minSize instances pass the load balancer's
		// health checks, so a level change deletes the old servers only
		// once the group serves.
		MinElbCapacity: pulumi.Int(args.Group.Min),
		// The dashboard shows the group's size; group metrics are free.
		MetricsGranularity:     pulumi.String("1Minute"),
		EnabledMetrics:         pulumi.StringArray{pulumi.String("GroupDesiredCapacity"), pulumi.String("GroupInServiceInstances")},
		WaitForCapacityTimeout: pulumi.String(capacityTimeout),
		LaunchTemplate: &autoscaling.GroupLaunchTemplateArgs{
			Id: f.Template.ID(),
			Version: f.Template.LatestVersion.ApplyT(func(v int) string {
				return strconv.Itoa(v)
			}).(pulumi.StringOutput),
		},
		InstanceRefresh: &autoscaling.GroupInstanceRefreshArgs{
			Strategy: pulumi.String("Rolling"),
			Preferences: &autoscaling.GroupInstanceRefreshPreferencesArgs{
				MinHealthyPercentage: pulumi.Int(50),
				InstanceWarmup:       pulumi.String(strconv.Itoa(instanceWarmupSeconds)),
			},
		},
		Tags: autoscaling.GroupTagArray{&autoscaling.GroupTagArgs{
			Key: pulumi.String("Project"), Value: pulumi.String("web-demo"), PropagateAtLaunch: pulumi.Bool(true),
		}},
	}, parent, pulumi.IgnoreChanges([]string{"desiredCapacity"}), pulumi.DependsOn(args.InternetPath))
	return err
}
