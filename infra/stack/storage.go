package stack

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/efs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Storage holds the app's artifact bucket, and the level's shared uploads:
// EFS at level 1, an S3 bucket from level 2; while migrating, both levels'.
type Storage struct {
	pulumi.ResourceState

	ArtifactBucket *s3.BucketV2
	Artifact       *s3.BucketObjectv2

	// Uploads is the S3 uploads bucket (ObjectStorage), else nil.
	Uploads *s3.BucketV2
	// Files is the EFS file system (SharedFiles), else nil.
	Files *efs.FileSystem
	// FilesAccess is the access point the instances mount Files through.
	FilesAccess *efs.AccessPoint
	// MountTargets must exist before an instance can mount Files.
	MountTargets []pulumi.Resource
}

// uploadsPrefix is where the app writes in the uploads bucket; the role may
// touch nothing else.
const uploadsPrefix = "uploads/"

// StorageArgs are the storage's inputs: the app build, and which photo
// stores to create.
type StorageArgs struct {
	// Artifact is the app build, uploaded for the servers to fetch at boot.
	Artifact Artifact
	// Uploads adds the S3 uploads bucket.
	Uploads bool
	// SharedFiles, when set, adds the EFS file system, placed as it says.
	SharedFiles *SharedFilesArgs
}

// SharedFilesArgs place the EFS file system.
type SharedFilesArgs struct {
	// Subnets get one mount target each; isolated ones, since only the app
	// servers mount it.
	Subnets pulumi.StringArray
	// SecurityGroup holds the mount targets and lets only the app in.
	SecurityGroup *ec2.SecurityGroup
}

func newStorage(ctx *pulumi.Context, name string, args StorageArgs, opts ...pulumi.ResourceOption) (*Storage, error) {
	st := &Storage{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Storage", name, st, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(st)
	var err error
	if st.ArtifactBucket, err = privateBucket(ctx, name+"-artifacts", parent); err != nil {
		return nil, err
	}
	// The key carries the hash, so a new build is a new object and a new
	// user-data, which rolls the instances.
	st.Artifact, err = s3.NewBucketObjectv2(ctx, name+"-app", &s3.BucketObjectv2Args{
		Bucket:      st.ArtifactBucket.ID(),
		Key:         pulumi.String(args.Artifact.Key()),
		Source:      pulumi.NewFileAsset(args.Artifact.Path),
		ContentType: pulumi.String("application/octet-stream"),
	}, parent)
	if err != nil {
		return nil, err
	}

	if args.Uploads {
		if st.Uploads, err = privateBucket(ctx, name+"-uploads", parent); err != nil {
			return nil, err
		}
	}
	if args.SharedFiles != nil {
		if err := st.sharedFiles(ctx, name, *args.SharedFiles, parent); err != nil {
			return nil, err
		}
	}
	outputs := pulumi.Map{"artifactBucket": st.ArtifactBucket.Bucket}
	if st.Uploads != nil {
		outputs["uploadsBucket"] = st.Uploads.Bucket
	}
	return st, ctx.RegisterResourceOutputs(st, outputs)
}

// privateBucket is a bucket with every default a checker asks for: all four
// public-access blocks, owner-enforced objects, server-side encryption, a
// TLS-only policy and an abort rule for stray multipart uploads. It is
// force-destroyed so that `pulumi destroy` never stops at a full bucket.
func privateBucket(ctx *pulumi.Context, name string, parent pulumi.ResourceOption) (*s3.BucketV2, error) {
	bucket, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{ForceDestroy: pulumi.Bool(true), Tags: nameTag(ctx, name)}, parent)
	if err != nil {
		return nil, err
	}
	block, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{&s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:     pulumi.String("abort-incomplete-multipart-uploads"),
			Status: pulumi.String("Enabled"),
			Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(1),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	// The policy waits for the public-access block: S3 refuses some
	// policies while the block is being applied.
	if _, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: bucket.Arn.ApplyT(func(arn string) (string, error) {
			return denyInsecureTransport("s3", arn, arn+"/*")
		}).(pulumi.StringOutput),
	}, parent, pulumi.DependsOn([]pulumi.Resource{block})); err != nil {
		return nil, err
	}
	return bucket, nil
}

// denyInsecureTransport is a resource policy refusing every request to
// resources that does not arrive over TLS.
func denyInsecureTransport(service string, resources ...string) (string, error) {
	doc, err := json.Marshal(policyDocument{
		Version: "2012-10-17",
		Statement: []statement{{
			Sid:       "DenyInsecureTransport",
			Effect:    "Deny",
			Principal: "*",
			Action:    []string{service + ":*"},
			Resource:  resources,
			Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
		}},
	})
	return string(doc), err
}

// sharedFiles is an encrypted EFS file system with a mount target in each
// private subnet, reachable only from the app's group and only over TLS.
// Instances mount it through an access point that acts as the app's user
// and creates the uploads directory owned by it: with IAM mounts, root is
// squashed unless granted ClientRootAccess, so root on the instance could
// not create or chown anything there ("Prevent root access by default" in
// the EFS guide).
func (st *Storage) sharedFiles(ctx *pulumi.Context, name string, args SharedFilesArgs, parent pulumi.ResourceOption) error {
	var err error
	st.Files, err = efs.NewFileSystem(ctx, name+"-uploads", &efs.FileSystemArgs{
		Encrypted:       pulumi.Bool(true),
		PerformanceMode: pulumi.String("generalPurpose"),
		ThroughputMode:  pulumi.String("elastic"),
		Tags:            nameTag(ctx, "uploads"),
	}, parent)
	if err != nil {
		return err
	}
	for i, subnet := range args.Subnets {
		target, err := efs.NewMountTarget(ctx, fmt.Sprintf("%s-uploads-%d", name, i), &efs.MountTargetArgs{
			FileSystemId:   st.Files.ID(),
			SubnetId:       subnet,
			SecurityGroups: pulumi.StringArray{args.SecurityGroup.ID()},
		}, parent)
		if err != nil {
			return err
		}
		st.MountTargets = append(st.MountTargets, target)
	}
	st.FilesAccess, err = efs.NewAccessPoint(ctx, name+"-uploads", &efs.AccessPointArgs{
		FileSystemId: st.Files.ID(),
		PosixUser:    &efs.AccessPointPosixUserArgs{Uid: pulumi.Int(appUserID), Gid: pulumi.Int(appUserID)},
		RootDirectory: &efs.AccessPointRootDirectoryArgs{
			Path: pulumi.String("/photos"),
			CreationInfo: &efs.AccessPointRootDirectoryCreationInfoArgs{
				OwnerUid: pulumi.Int(appUserID), OwnerGid: pulumi.Int(appUserID), Permissions: pulumi.String("0750"),
			},
		},
		Tags: nameTag(ctx, "uploads"),
	}, parent)
	if err != nil {
		return err
	}
	_, err = efs.NewFileSystemPolicy(ctx, name+"-uploads", &efs.FileSystemPolicyArgs{
		FileSystemId: st.Files.ID(),
		Policy: st.Files.Arn.ApplyT(func(arn string) (string, error) {
			return denyInsecureTransport("elasticfilesystem", arn)
		}).(pulumi.StringOutput),
	}, parent)
	return err
}
