package stack

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Identity is the instances' IAM role and profile. It grants Session
// Manager, reading the app's own artifact, its database secret and latency
// parameter, mounting its file system, and Get/Put/Delete under the uploads
// prefix: each scoped to that one resource's ARN.
type Identity struct {
	pulumi.ResourceState

	Role    *iam.Role
	Profile *iam.InstanceProfile
	// Policies are the role's grants. Instances and templates depend on
	// them, not only on the profile, so no server boots before its
	// permissions exist.
	Policies []pulumi.Resource
}

// Grants are the ARNs the app may use; unset (nil) ones grant nothing.
type Grants struct {
	ArtifactObjectArn pulumi.StringInput
	LatencyParamArn   pulumi.StringInput
	DBSecretArn       pulumi.StringInput
	UploadsBucketArn  pulumi.StringInput
	FileSystemArn     pulumi.StringInput
	// AccessPointArn is the only way in to FileSystemArn.
	AccessPointArn pulumi.StringInput
	// LogGroupArn is where the CloudWatch agent ships the server's logs.
	LogGroupArn pulumi.StringInput
}

// ssmCorePolicy is AWS's managed policy for Session Manager, which
// replaces SSH.
const ssmCorePolicy = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"

func newIdentity(ctx *pulumi.Context, name string, grants Grants, opts ...pulumi.ResourceOption) (*Identity, error) {
	id := &Identity{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Identity", name, id, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(id)
	assume, err := json.Marshal(policyDocument{
		Version: "2012-10-17",
		Statement: []statement{{
			Effect: "Allow", Principal: map[string]string{"Service": "ec2.amazonaws.com"}, Action: []string{"sts:AssumeRole"},
		}},
	})
	if err != nil {
		return nil, err
	}
	id.Role, err = iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assume),
		Description:      pulumi.String("web-demo app servers"),
	}, parent)
	if err != nil {
		return nil, err
	}
	ssm, err := iam.NewRolePolicyAttachment(ctx, name+"-ssm", &iam.RolePolicyAttachmentArgs{
		Role: id.Role.Name, PolicyArn: pulumi.String(ssmCorePolicy),
	}, parent)
	if err != nil {
		return nil, err
	}
	id.Policies = append(id.Policies, ssm)
	// One inline policy per grant: on a level change a grant that goes away
	// is a deleted resource, and Pulumi deletes it at the end of the update,
	// after the servers that depend on it. Expand first, contract after.
	for _, g := range grants.policies() {
		policy, err := iam.NewRolePolicy(ctx, name+"-"+g.suffix, &iam.RolePolicyArgs{
			Role: id.Role.ID(),
			Policy: g.arns.ToStringMapOutput().ApplyT(func(arns map[string]string) (string, error) {
				doc, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: g.statements(arns)})
				return string(doc), err
			}).(pulumi.StringOutput),
		}, parent)
		if err != nil {
			return nil, err
		}
		id.Policies = append(id.Policies, policy)
	}
	id.Profile, err = iam.NewInstanceProfile(ctx, name, &iam.InstanceProfileArgs{Role: id.Role.Name}, parent)
	if err != nil {
		return nil, err
	}
	return id, ctx.RegisterResourceOutputs(id, pulumi.Map{"roleArn": id.Role.Arn})
}

// grantPolicy is one inline policy: its name suffix, the ARNs it needs by
// name, and its statements once they are known.
type grantPolicy struct {
	suffix     string
	arns       pulumi.StringMap
	statements func(arns map[string]string) []statement
}

// policies are the least-privilege grants for the ARNs that are set.
func (g Grants) policies() []grantPolicy {
	policies := []grantPolicy{{
		suffix: "app", arns: pulumi.StringMap{"artifact": g.ArtifactObjectArn, "latency": g.LatencyParamArn},
		statements: func(arns map[string]string) []statement {
			artifact, latency := arns["artifact"], arns["latency"]
			return []statement{
				{Sid: "ReadAppArtifact", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{artifact}},
				{Sid: "ReadLatency", Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: []string{latency}},
			}
		},
	}}
	if g.LogGroupArn != nil {
		policies = append(policies, grantPolicy{
			suffix: "logs", arns: pulumi.StringMap{"group": g.LogGroupArn},
			statements: func(arns map[string]string) []statement {
				group := arns["group"]
				// The agent makes a stream per server and file in the group
				// the stack owns; it never creates groups.
				return []statement{{Sid: "ShipLogs", Effect: "Allow",
					Action:   []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
					Resource: []string{group, group + ":log-stream:*"}}}
			},
		})
	}
	if g.DBSecretArn != nil {
		policies = append(policies, grantPolicy{
			suffix: "database", arns: pulumi.StringMap{"secret": g.DBSecretArn},
			statements: func(arns map[string]string) []statement {
				secret := arns["secret"]
				return []statement{{Sid: "ReadDatabaseSecret", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{secret}}}
			},
		})
	}
	if g.UploadsBucketArn != nil {
		policies = append(policies, grantPolicy{
			suffix: "uploads", arns: pulumi.StringMap{"bucket": g.UploadsBucketArn},
			statements: func(arns map[string]string) []statement {
				bucket := arns["bucket"]
				return []statement{
					{Sid: "ReadWriteUploads", Effect: "Allow",
						Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: []string{bucket + "/" + uploadsPrefix + "*"}},
					// Listing finds images left without a row (the app's
					// orphan sweep), and without ListBucket S3 answers a
					// missing key with 403 AccessDenied instead of 404
					// NoSuchKey (GetObject in the S3 API reference). The
					// bucket holds only this app's uploads.
					{Sid: "TellMissingUploads", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{bucket}},
				}
			},
		})
	}
	if g.FileSystemArn != nil {
		policies = append(policies, grantPolicy{
			suffix: "files", arns: pulumi.StringMap{"fileSystem": g.FileSystemArn, "accessPoint": g.AccessPointArn},
			statements: func(arns map[string]string) []statement {
				fileSystem, accessPoint := arns["fileSystem"], arns["accessPoint"]
				return []statement{{Sid: "MountSharedUploads", Effect: "Allow",
					Action:    []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"},
					Resource:  []string{fileSystem},
					Condition: map[string]map[string]string{"StringEquals": {"elasticfilesystem:AccessPointArn": accessPoint}}}}
			},
		})
	}
	return policies
}

// policyDocument is an IAM policy in its JSON shape.
type policyDocument struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}
