// Package stack is the web-demo Pulumi program: one component per file
// (network, storage, database, cache, identity, load balancer, fleet,
// alarms), assembled here for the level in the stack's configuration.
package stack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"webdemo/infra/level"
)

// Options are the program's seams.
type Options struct {
	// BuildApp builds the app for a GOARCH. Tests pass a stand-in so they
	// need not cross-compile.
	BuildApp func(goarch string) (Artifact, error)
	// WaitHealthy holds a `pulumi up` until new servers behind the load
	// balancer pass health checks (levels 1–2). Nil skips the wait.
	WaitHealthy func(context.Context, HealthCheck) error
}

// Program returns the Pulumi program.
func Program(opts Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		outputs, err := Build(ctx, opts)
		if err != nil {
			return err
		}
		for name, value := range outputs {
			ctx.Export(name, value)
		}
		return nil
	}
}

// shutdownDrain is how long a stopping app fails its health check before
// closing: two 10 s health checks' worth, so the ALB has stopped sending.
const shutdownDrain = 20 * time.Second

// Build creates the configured level's resources and returns the stack's
// outputs.
func Build(ctx *pulumi.Context, opts Options) (pulumi.Map, error) {
	s, err := LoadSettings(ctx)
	if err != nil {
		return nil, err
	}
	f := s.Features
	_, goarch := s.Arch()
	artifact, err := opts.BuildApp(goarch)
	if err != nil {
		return nil, err
	}
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return nil, err
	}

	network, err := newNetwork(ctx, "network", s)
	if err != nil {
		return nil, err
	}
	storage, err := newStorage(ctx, "storage", s, network, artifact)
	if err != nil {
		return nil, err
	}
	// One parameter sets the simulated latency for the whole fleet; the app
	// polls it, so a change needs no redeploy.
	latency, err := ssm.NewParameter(ctx, "latency", &ssm.ParameterArgs{
		Type:        pulumi.String("String"),
		Value:       pulumi.String(s.Latency.String()),
		Description: pulumi.String("web-demo: simulated front-page delay, polled by every server"),
	})
	if err != nil {
		return nil, err
	}
	logs, err := newLogs(ctx, "logs", LogsArgs{RetentionDays: s.LogRetentionDays})
	if err != nil {
		return nil, err
	}
	grants := Grants{
		ArtifactObjectArn: pulumi.Sprintf("%s/%s", storage.ArtifactBucket.Arn, artifact.Key()),
		LatencyParamArn:   latency.Arn,
		LogGroupArn:       logs.Group.Arn,
	}
	outputs := pulumi.Map{
		"level":            pulumi.Int(s.Level),
		"artifactBucket":   storage.ArtifactBucket.Bucket,
		"latencyParameter": latency.Name,
		"logGroup":         logs.Group.Name,
	}

	var database *Database
	if f.ManagedDatabase {
		if database, err = newDatabase(ctx, "database", s, network); err != nil {
			return nil, err
		}
		grants.DBSecretArn = database.SecretArn
		outputs["dbEndpoint"] = database.Instance.Endpoint
		outputs["dbSecretArn"] = database.SecretArn
	}
	var cache *Cache
	if f.UsesCache() {
		if cache, err = newCache(ctx, "cache", s, network); err != nil {
			return nil, err
		}
		outputs["cacheEndpoint"] = cache.Endpoint
	}
	if storage.Uploads != nil {
		grants.UploadsBucketArn = storage.Uploads.Arn
		outputs["uploadsBucket"] = storage.Uploads.Bucket
	}
	if storage.Files != nil {
		grants.FileSystemArn, grants.AccessPointArn = storage.Files.Arn, storage.FilesAccess.Arn
		outputs["fileSystemId"] = storage.Files.ID()
	}
	identity, err := newIdentity(ctx, "app", grants)
	if err != nil {
		return nil, err
	}

	var balancer *LoadBalancer
	if f.LoadBalancer {
		if balancer, err = newLoadBalancer(ctx, "web", s, network); err != nil {
			return nil, err
		}
		outputs["url"] = balancer.URL
	}

	userData := bootScript(s, region.Name, artifact, storage, latency, logs, database, cache)
	fleet, err := newFleet(ctx, "web", s, FleetInputs{
		Network: network, Identity: identity, UserData: userData, LoadBalancer: balancer,
		Needs: append([]pulumi.Resource{storage.Artifact}, storage.MountTargets...),
	})
	if err != nil {
		return nil, err
	}
	var alarms *Alarms
	if f.AutoScaling {
		if alarms, err = newAlarms(ctx, "scaling", s, fleet, balancer); err != nil {
			return nil, err
		}
		outputs["autoScalingGroup"] = fleet.Group.Name
		outputs["alarms"] = pulumi.StringArray{alarms.HighLatency.Name, alarms.LowLatency.Name}
	} else {
		ids := pulumi.StringArray{}
		for _, instance := range fleet.Instances {
			ids = append(ids, instance.ID().ToStringOutput())
		}
		outputs["instanceIds"] = ids
		if balancer != nil && opts.WaitHealthy != nil && !ctx.DryRun() {
			outputs["instanceIds"] = healthGate(ctx, opts.WaitHealthy, region.Name, balancer, fleet)
		}
		outputs["sessionManager"] = pulumi.Sprintf("aws ssm start-session --target %s", fleet.Instances[0].ID())
		if balancer == nil {
			outputs["url"] = pulumi.Sprintf("http://%s", fleet.Address.PublicDns)
		}
	}
	dashboard, err := newDashboard(ctx, "dashboard", DashboardArgs{
		Region: region.Name, LoadBalancer: balancer, Fleet: fleet, Alarms: alarms, Database: database, Cache: cache,
	})
	if err != nil {
		return nil, err
	}
	outputs["dashboardUrl"] = dashboard.URL
	return outputs, nil
}

// healthGate is the instance ids, known only once every instance passes
// the load balancer's health checks. As a stack output it holds the update
// open, and with it the deletion of the servers being replaced.
func healthGate(ctx *pulumi.Context, wait func(context.Context, HealthCheck) error, region string, balancer *LoadBalancer, fleet *Fleet) pulumi.StringArrayOutput {
	registered := pulumi.StringArray{}
	for _, attachment := range fleet.Attachments {
		registered = append(registered, attachment.ID().ToStringOutput())
	}
	ids := pulumi.StringArray{}
	for _, instance := range fleet.Instances {
		ids = append(ids, instance.ID().ToStringOutput())
	}
	aws := config.New(ctx, "aws")
	check := HealthCheck{Region: region, Profile: aws.Get("profile"),
		AccessKeyID: aws.Get("accessKey"), SecretAccessKey: aws.Get("secretKey"), SessionToken: aws.Get("token")}
	return pulumi.All(balancer.TargetGroup.Arn, ids, registered).ApplyTWithContext(ctx.Context(),
		func(c context.Context, v []any) ([]string, error) {
			targetGroup, instances := v[0].(string), v[1].([]string)
			check.TargetGroupArn, check.Targets = targetGroup, instances
			err := wait(c, check)
			if errors.Is(err, ErrNoCredentials) {
				_ = ctx.Log.Warn(fmt.Sprintf("not waiting for the new servers to pass health checks: %v", err), nil)
				return instances, nil
			}
			return instances, err
		}).(pulumi.StringArrayOutput)
}

// bootScript renders the user-data once every endpoint is known. The app's
// settings come from level.AppConfig, the same code the local cluster uses.
func bootScript(s Settings, region string, artifact Artifact, storage *Storage, latency *ssm.Parameter, logs *Logs,
	database *Database, cache *Cache) pulumi.StringOutput {
	empty := pulumi.String("").ToStringOutput()
	dbHost, dbSecret, cacheEndpoint, bucket, fileSystem, accessPointID := empty, empty, empty, empty, empty, empty
	dbPort := pulumi.Int(0).ToIntOutput()
	if database != nil {
		dbHost, dbPort, dbSecret = database.Address, database.Port, database.SecretArn
	}
	if cache != nil {
		cacheEndpoint = cache.Endpoint
	}
	if storage.Uploads != nil {
		bucket = storage.Uploads.Bucket
	}
	if storage.Files != nil {
		fileSystem, accessPointID = storage.Files.ID().ToStringOutput(), storage.FilesAccess.ID().ToStringOutput()
	}
	return pulumi.All(storage.ArtifactBucket.Bucket, latency.Name, dbHost, dbPort, dbSecret, cacheEndpoint, bucket, fileSystem, accessPointID, logs.Group.Name).
		ApplyT(func(v []any) (string, error) {
			artifactBucket, param, host, port, secret := v[0].(string), v[1].(string), v[2].(string), v[3].(int), v[4].(string)
			memcached, uploads, files, accessPoint, logGroup := v[5].(string), v[6].(string), v[7].(string), v[8].(string), v[9].(string)
			endpoints := level.Endpoints{
				Addr:         fmt.Sprintf(":%d", httpPort),
				EC2:          true,
				Region:       region,
				LatencyParam: param,
				CookieSecure: s.CertificateArn != "",
				Bucket:       uploads,
				UploadDir:    localUploadDir,
				MySQLPort:    3306,
			}
			if s.Features.LoadBalancer {
				endpoints.ShutdownDrain = shutdownDrain
				// The ALB's nodes have addresses in the VPC.
				endpoints.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(vpcCIDR)}
			}
			if s.Features.SharedFiles {
				endpoints.UploadDir = filesUploadDir
			}
			if memcached != "" {
				endpoints.MemcachedServers, endpoints.MemcachedTLS = []string{memcached}, true
			}
			if s.Features.LocalDatabase {
				endpoints.MySQLHost, endpoints.MySQLUser = "127.0.0.1", "webdemo"
			} else {
				endpoints.MySQLHost, endpoints.MySQLPort = host, port
				endpoints.MySQLSecretARN, endpoints.MySQLTLSCAFile = secret, rdsCAPath
			}
			app, err := level.AppConfig(s.Features, endpoints)
			if err != nil {
				return "", fmt.Errorf("app settings for level %d: %w", s.Level, err)
			}
			app.S3Prefix = uploadsPrefix
			return Boot{
				Level:                 s.Level,
				Region:                region,
				ArtifactBucket:        artifactBucket,
				ArtifactKey:           artifact.Key(),
				ArtifactSHA256:        artifact.SHA256,
				App:                   app,
				LocalDatabase:         s.Features.LocalDatabase,
				FileSystemID:          files,
				FileSystemAccessPoint: accessPoint,
				LogGroup:              logGroup,
				RDSCABundle:           s.Features.ManagedDatabase,
			}.Render()
		}).(pulumi.StringOutput)
}

// nameTag gives a resource a console name that says which stack owns it.
func nameTag(ctx *pulumi.Context, role string) pulumi.StringMap {
	return pulumi.StringMap{"Name": pulumi.String(fmt.Sprintf("web-demo-%s-%s", ctx.Stack(), role))}
}
