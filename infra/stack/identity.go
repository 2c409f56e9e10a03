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

// Grants are the ARNs the app may use; unset ones grant nothing.
type Grants struct {
	ArtifactObjectArn pulumi.StringInput
	LatencyParamArn   pulumi.StringInput
	DBSecretArn       pulumi.StringInput
	UploadsBucketArn  pulumi.StringInput
	FileSystemArn     pulumi.StringInput
	// AccessPointArn is the only way in to FileSystemArn.
	AccessPointArn pulumi.StringInput
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
	app, err := iam.NewRolePolicy(ctx, name+"-app", &iam.RolePolicyArgs{
		Role:   id.Role.ID(),
		Policy: grants.document(),
	}, parent)
	if err != nil {
		return nil, err
	}
	id.Policies = []pulumi.Resource{ssm, app}
	id.Profile, err = iam.NewInstanceProfile(ctx, name, &iam.InstanceProfileArgs{Role: id.Role.Name}, parent)
	if err != nil {
		return nil, err
	}
	return id, ctx.RegisterResourceOutputs(id, pulumi.Map{"roleArn": id.Role.Arn})
}

// document renders the least-privilege policy once every ARN is known.
func (g Grants) document() pulumi.StringOutput {
	optional := func(in pulumi.StringInput) pulumi.StringOutput {
		if in == nil {
			return pulumi.String("").ToStringOutput()
		}
		return in.ToStringOutput()
	}
	return pulumi.All(optional(g.ArtifactObjectArn), optional(g.LatencyParamArn), optional(g.DBSecretArn),
		optional(g.UploadsBucketArn), optional(g.FileSystemArn), optional(g.AccessPointArn)).ApplyT(func(arns []any) (string, error) {
		resolved := make([]string, len(arns))
		for i, arn := range arns {
			resolved[i] = arn.(string)
		}
		return grantedARNs{
			artifact: resolved[0], latencyParam: resolved[1], dbSecret: resolved[2],
			uploadsBucket: resolved[3], fileSystem: resolved[4], accessPoint: resolved[5],
		}.document()
	}).(pulumi.StringOutput)
}

// grantedARNs are Grants once resolved; empty ones grant nothing.
type grantedARNs struct {
	artifact, latencyParam, dbSecret, uploadsBucket, fileSystem, accessPoint string
}

func (g grantedARNs) document() (string, error) {
	statements := []statement{{Sid: "ReadAppArtifact", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{g.artifact}}}
	if g.latencyParam != "" {
		statements = append(statements, statement{Sid: "ReadLatency", Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: []string{g.latencyParam}})
	}
	if g.dbSecret != "" {
		statements = append(statements, statement{Sid: "ReadDatabaseSecret", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{g.dbSecret}})
	}
	if g.uploadsBucket != "" {
		statements = append(statements,
			statement{Sid: "ReadWriteUploads", Effect: "Allow",
				Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: []string{g.uploadsBucket + "/" + uploadsPrefix + "*"}},
			// Without ListBucket, S3 answers a missing key with 403
			// AccessDenied instead of 404 NoSuchKey (GetObject in the S3 API
			// reference). The bucket holds only this app's uploads.
			statement{Sid: "TellMissingUploads", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{g.uploadsBucket}})
	}
	if g.fileSystem != "" {
		statements = append(statements, statement{Sid: "MountSharedUploads", Effect: "Allow",
			Action:    []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"},
			Resource:  []string{g.fileSystem},
			Condition: map[string]map[string]string{"StringEquals": {"elasticfilesystem:AccessPointArn": g.accessPoint}}})
	}
	doc, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: statements})
	return string(doc), err
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
