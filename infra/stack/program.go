// Package stack is the web-demo Pulumi program: one component per file
// (network, storage, database, cache, identity, load balancer, fleet,
// alarms), assembled here for the level in the stack's configuration. It
// imports the Pulumi SDKs, packages level and config (the app's settings,
// which it renders into user-data), and the AWS SDK for the one call the
// program makes itself: waiting for healthy targets (healthgate.go).
package stack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	appconfig "webdemo/app/config"
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
	// While migrating, the old level's stores are kept beside the new
	// ones, reachable from the app's group where the copy runs.
	stores := s.Stores()
	amiArch, goarch := s.Arch()
	artifact, err := opts.BuildApp(goarch)
	if err != nil {
		return nil, err
	}
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return nil, err
	}

	networkArgs := NetworkArgs{
		InstanceType: s.InstanceType, AllowedCidr: s.AllowedCidr,
		LoadBalancer: f.LoadBalancer, HTTPS: s.CertificateArn != "",
		Database: stores.ManagedDatabase, Cache: f.UsesCache(), SharedFiles: stores.SharedFiles,
	}
	if s.SSHKeyName != "" {
		networkArgs.SSHCidr = s.SSHCidr
	}
	network, err := newNetwork(ctx, "network", networkArgs)
	if err != nil {
		return nil, err
	}
	storageArgs := StorageArgs{Artifact: artifact, Uploads: stores.ObjectStorage}
	if stores.SharedFiles {
		storageArgs.SharedFiles = &SharedFilesArgs{Subnets: network.PrivateSubnetIDs, SecurityGroup: network.FilesSG}
	}
	storage, err := newStorage(ctx, "storage", storageArgs)
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
	// While migrating from or to level 0, RDS is the other side's store.
	if stores.ManagedDatabase {
		if database, err = newDatabase(ctx, "database", DatabaseArgs{
			Subnets: network.PrivateSubnetIDs, SecurityGroup: network.DatabaseSG,
			InstanceClass: s.DBInstanceClass, MultiAz: s.MultiAz, DeletionProtection: s.DeletionProtection,
		}); err != nil {
			return nil, err
		}
		grants.DBSecretArn = database.SecretArn
		outputs["dbEndpoint"] = database.Instance.Endpoint
		outputs["dbSecretArn"] = database.SecretArn
	}
	var cache *Cache
	if f.UsesCache() {
		if cache, err = newCache(ctx, "cache", CacheArgs{
			Subnets: network.PrivateSubnetIDs, SecurityGroup: network.CacheSG, NodeType: s.CacheNodeType,
		}); err != nil {
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
		if balancer, err = newLoadBalancer(ctx, "web", LoadBalancerArgs{
			VpcID: network.VpcID, Subnets: network.PublicSubnetIDs, SecurityGroup: network.LoadBalancerSG,
			InternetPath: network.InternetPath, DeletionProtection: s.DeletionProtection, CertificateArn: s.CertificateArn,
		}); err != nil {
			return nil, err
		}
		outputs["url"] = balancer.URL
	}

	levelServers, kept := migrationServers(s)
	fleetArgs := FleetArgs{
		Arch: amiArch, InstanceType: s.InstanceType, KeyName: s.SSHKeyName,
		Subnets: network.PublicSubnetIDs, SecurityGroup: network.AppSG,
		Profile: identity.Profile, Policies: identity.Policies, InternetPath: network.InternetPath,
		UserData: bootScript(levelServers, region.Name, artifact, storage, latency, logs, database, cache),
		Needs:    append([]pulumi.Resource{storage.Artifact}, storage.MountTargets...),
	}
	if balancer != nil {
		fleetArgs.TargetGroupArn = balancer.TargetGroup.Arn
		if f.AutoScaling {
			fleetArgs.Group = &GroupSize{Min: s.MinSize, Desired: s.DesiredSize, Max: s.MaxSize}
		} else {
			fleetArgs.Count = s.WebCount
		}
	}
	if kept != nil {
		keptUserData := bootScript(*kept, region.Name, artifact, storage, latency, logs, database, cache)
		fleetArgs.KeptUserData = &keptUserData
	}
	if s.MigrateFrom != nil {
		// How to read the complete copies' final lines of the last hour, each
		// with its time and server: the second up waits for one logged
		// after the first up finished.
		outputs["migration"] = pulumi.Sprintf("aws logs tail %s --region %s --since 1h --filter-pattern %s",
			logs.Group.Name, region.Name, copyDonePattern)
	}
	fleet, err := newFleet(ctx, "web", fleetArgs)
	if err != nil {
		return nil, err
	}
	var alarms *Alarms
	if f.AutoScaling {
		if alarms, err = newAlarms(ctx, "scaling", AlarmsArgs{
			GroupName: fleet.Group.Name, LoadBalancerArnSuffix: balancer.ALB.ArnSuffix,
			ScaleOutLatency: s.ScaleOutLatency, ScaleInLatency: s.ScaleInLatency,
			ScaleOutCooldown: s.ScaleOutCooldown, ScaleInCooldown: s.ScaleInCooldown,
		}); err != nil {
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
	if fleet.Kept != nil {
		// The level-0 server kept while its photos are pushed up: where the
		// copy runs, and where to run it again.
		outputs["migrationServer"] = pulumi.Sprintf("aws ssm start-session --target %s", fleet.Kept.ID())
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
	// registered is waited for, not read: health exists only once the
	// targets are registered.
	gate := pulumi.Map{"targetGroup": balancer.TargetGroup.Arn, "instances": ids, "registered": registered}
	return gate.ToMapOutput().ApplyTWithContext(ctx.Context(),
		func(c context.Context, v map[string]any) ([]string, error) {
			targetGroup, instances := v["targetGroup"].(string), v["instances"].([]string)
			check.TargetGroupArn, check.Targets = targetGroup, instances
			err := wait(c, check)
			if errors.Is(err, ErrNoCredentials) {
				_ = ctx.Log.Warn(fmt.Sprintf("not waiting for the new servers to pass health checks: %v", err), nil)
				return instances, nil
			}
			return instances, err
		}).(pulumi.StringArrayOutput)
}

// server says whose user-data a boot script is: a level's servers, or the
// level-0 server kept to push its photos, and the copy it runs if any.
type server struct {
	level    int
	features level.Features
	// https is a certificate on the load balancer: cookies are Secure.
	https bool
	copy  *copyPlan
}

// copyPlan is a migration: every photo from level from to level to.
type copyPlan struct {
	from, to server
	// push: the copying server is the source's (the level-0 server).
	push bool
}

// migrationServers are the level's servers, and while stepping up from
// level 0 the level-0 server kept to push its photos (nil otherwise).
// Otherwise the level's servers pull. The copy's source is the target
// with the old level's stores, so the two differ only where photos are.
func migrationServers(s Settings) (levelServers server, kept *server) {
	levelServers = server{level: s.Level, features: s.Features, https: s.CertificateArn != ""}
	if s.MigrateFrom == nil {
		return levelServers, nil
	}
	source := levelServers
	source.level, source.features = *s.MigrateFrom, s.Features.WithStoresOf(*s.Source)
	plan := &copyPlan{from: source, to: levelServers}
	if source.level == 0 {
		plan.push = true
		return levelServers, &server{level: 0, features: level.Table[0], copy: plan}
	}
	levelServers.copy = plan
	return levelServers, nil
}

// bootScript renders a server's user-data once every endpoint is known.
// The app's settings, and the copy's, come from level.AppConfig, the same
// code the local cluster uses.
func bootScript(srv server, region string, artifact Artifact, storage *Storage, latency *ssm.Parameter, logs *Logs,
	database *Database, cache *Cache) pulumi.StringOutput {
	// Named, so that no reordering can swap two values.
	resolved := pulumi.StringMap{
		"artifactBucket": storage.ArtifactBucket.Bucket,
		"latencyParam":   latency.Name,
		"logGroup":       logs.Group.Name,
	}
	if database != nil {
		resolved["dbHost"], resolved["dbSecret"] = database.Address, database.SecretArn
		resolved["dbPort"] = pulumi.Sprintf("%d", database.Port)
	}
	if cache != nil {
		resolved["memcached"] = cache.Endpoint
	}
	if storage.Uploads != nil {
		resolved["uploads"] = storage.Uploads.Bucket
	}
	if storage.Files != nil {
		resolved["fileSystem"], resolved["accessPoint"] = storage.Files.ID().ToStringOutput(), storage.FilesAccess.ID().ToStringOutput()
	}
	return resolved.ToStringMapOutput().
		ApplyT(func(v map[string]string) (string, error) {
			app, err := appConfigAt(srv, region, v)
			if err != nil {
				return "", err
			}
			boot := Boot{
				Level:          srv.level,
				Region:         region,
				ArtifactBucket: v["artifactBucket"],
				ArtifactKey:    artifact.Key(),
				ArtifactSHA256: artifact.SHA256,
				App:            app,
				LocalDatabase:  srv.features.LocalDatabase,
				LogGroup:       v["logGroup"],
			}
			// Stores this server reaches: its own, and both sides of its copy.
			usesFiles, usesRDS := srv.features.SharedFiles, srv.features.ManagedDatabase
			if plan := srv.copy; plan != nil {
				copyJob := &Copy{FromLevel: plan.from.level, ToLevel: plan.to.level, Push: plan.push}
				if copyJob.Target, err = appConfigAt(plan.to, region, v); err != nil {
					return "", err
				}
				if copyJob.Source, err = appConfigAt(plan.from, region, v); err != nil {
					return "", err
				}
				boot.Copy = copyJob
				usesFiles = usesFiles || plan.from.features.SharedFiles || plan.to.features.SharedFiles
				usesRDS = usesRDS || plan.from.features.ManagedDatabase || plan.to.features.ManagedDatabase
			}
			if usesFiles {
				boot.FileSystemID, boot.FileSystemAccessPoint = v["fileSystem"], v["accessPoint"]
			}
			boot.RDSCABundle = usesRDS
			return boot.Render()
		}).(pulumi.StringOutput)
}

// appConfigAt is the app's configuration for a server at the endpoints
// resolved (see bootScript).
func appConfigAt(srv server, region string, v map[string]string) (appconfig.Config, error) {
	port := 0
	if v["dbPort"] != "" {
		var err error
		if port, err = strconv.Atoi(v["dbPort"]); err != nil {
			return appconfig.Config{}, fmt.Errorf("database port %q: %w", v["dbPort"], err)
		}
	}
	f := srv.features
	endpoints := level.Endpoints{
		Addr:         fmt.Sprintf(":%d", httpPort),
		EC2:          true,
		Region:       region,
		LatencyParam: v["latencyParam"],
		CookieSecure: srv.https,
		Bucket:       v["uploads"],
		UploadDir:    localUploadDir,
		MySQLPort:    3306,
	}
	if f.LoadBalancer {
		endpoints.ShutdownDrain = shutdownDrain
		// The ALB's nodes have addresses in the VPC.
		endpoints.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(vpcCIDR)}
	}
	if f.SharedFiles {
		endpoints.UploadDir = filesUploadDir
	}
	if memcached := v["memcached"]; memcached != "" && f.UsesCache() {
		endpoints.MemcachedServers, endpoints.MemcachedTLS = []string{memcached}, true
	}
	if f.LocalDatabase {
		endpoints.MySQLHost, endpoints.MySQLUser = "127.0.0.1", "webdemo"
	} else {
		endpoints.MySQLHost, endpoints.MySQLPort = v["dbHost"], port
		endpoints.MySQLSecretARN, endpoints.MySQLTLSCAFile = v["dbSecret"], rdsCAPath
	}
	app, err := level.AppConfig(f, endpoints)
	if err != nil {
		return app, fmt.Errorf("app settings for level %d: %w", srv.level, err)
	}
	app.S3Prefix = uploadsPrefix
	return app, nil
}

// nameTag gives a resource a console name that says which stack owns it.
func nameTag(ctx *pulumi.Context, role string) pulumi.StringMap {
	return pulumi.StringMap{"Name": pulumi.String(fmt.Sprintf("web-demo-%s-%s", ctx.Stack(), role))}
}
