package stack

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Database is RDS MySQL in the isolated subnets: encrypted, private, backed
// up for 7 days, TLS required, and with its master password generated and
// kept by RDS in Secrets Manager, so it never appears in state, config or
// user-data.
type Database struct {
	pulumi.ResourceState

	Instance  *rds.Instance
	Address   pulumi.StringOutput
	Port      pulumi.IntOutput
	SecretArn pulumi.StringOutput
}

// databaseName is the schema the app uses.
const databaseName = "webdemo"

// MySQL 8.4 is the LTS release in RDS standard support. 8.0 left standard
// support on 2026-07-31: a new 8.0 instance is enrolled in Extended
// Support, billed per vCPU-hour. The parameter group family must match the
// major version.
const (
	mysqlEngineVersion  = "8.4"
	mysqlParameterGroup = "mysql8.4"
	// noExtendedSupport refuses paid Extended Support, so the instance is
	// upgraded (or refused) at the end of standard support instead of billed.
	noExtendedSupport = "open-source-rds-extended-support-disabled"
)

// DatabaseArgs are the database's inputs.
type DatabaseArgs struct {
	// Subnets are isolated ones, in two zones as an RDS subnet group
	// requires: the database has no route out.
	Subnets pulumi.StringArrayInput
	// SecurityGroup lets only the app servers in.
	SecurityGroup *ec2.SecurityGroup
	// InstanceClass is the RDS instance class, such as db.t4g.micro.
	InstanceClass string
	// MultiAz keeps a standby in the other zone, at twice the price.
	MultiAz bool
	// DeletionProtection makes RDS refuse to delete the instance.
	DeletionProtection bool
}

func newDatabase(ctx *pulumi.Context, name string, args DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	db := &Database{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Database", name, db, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(db)
	subnets, err := rds.NewSubnetGroup(ctx, name, &rds.SubnetGroupArgs{
		SubnetIds: args.Subnets, Description: pulumi.String("web-demo database, private subnets"),
	}, parent)
	if err != nil {
		return nil, err
	}
	params, err := rds.NewParameterGroup(ctx, name, &rds.ParameterGroupArgs{
		Family:      pulumi.String(mysqlParameterGroup),
		Description: pulumi.String("web-demo: TLS required"),
		Parameters: rds.ParameterGroupParameterArray{
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("require_secure_transport"), Value: pulumi.String("1")},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	db.Instance, err = rds.NewInstance(ctx, name, &rds.InstanceArgs{
		Engine:                   pulumi.String("mysql"),
		EngineVersion:            pulumi.String(mysqlEngineVersion),
		EngineLifecycleSupport:   pulumi.String(noExtendedSupport),
		InstanceClass:            pulumi.String(args.InstanceClass),
		AllocatedStorage:         pulumi.Int(20),
		StorageType:              pulumi.String("gp3"),
		StorageEncrypted:         pulumi.Bool(true),
		DbName:                   pulumi.String(databaseName),
		Username:                 pulumi.String("webdemo_admin"),
		ManageMasterUserPassword: pulumi.Bool(true),
		DbSubnetGroupName:        subnets.Name,
		ParameterGroupName:       params.Name,
		VpcSecurityGroupIds:      pulumi.StringArray{args.SecurityGroup.ID()},
		PubliclyAccessible:       pulumi.Bool(false),
		MultiAz:                  pulumi.Bool(args.MultiAz),
		BackupRetentionPeriod:    pulumi.Int(7),
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		CopyTagsToSnapshot:       pulumi.Bool(true),
		DeletionProtection:       pulumi.Bool(args.DeletionProtection),
		// Read from state at destroy time, so it must be set at up time.
		SkipFinalSnapshot: pulumi.Bool(true),
		ApplyImmediately:  pulumi.Bool(true),
		Tags:              nameTag(ctx, "db"),
	}, parent)
	if err != nil {
		return nil, err
	}
	db.Address = db.Instance.Address
	db.Port = db.Instance.Port
	db.SecretArn = db.Instance.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()
	return db, ctx.RegisterResourceOutputs(db, pulumi.Map{"address": db.Address, "secretArn": db.SecretArn})
}
