package stack

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Cache is one ElastiCache memcached node in the isolated subnets, for
// shared sessions and, at level 4, the front-page cache. Traffic to it is
// encrypted in transit (memcached has no encryption at rest).
type Cache struct {
	pulumi.ResourceState

	Cluster *elasticache.Cluster
	// Endpoint is the node's host:port.
	Endpoint pulumi.StringOutput
}

// CacheArgs are the cache's inputs.
type CacheArgs struct {
	// Subnets are isolated ones: the cache has no route out.
	Subnets       pulumi.StringArrayInput
	SecurityGroup *ec2.SecurityGroup
	NodeType      string
}

func newCache(ctx *pulumi.Context, name string, args CacheArgs, opts ...pulumi.ResourceOption) (*Cache, error) {
	c := &Cache{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Cache", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	subnets, err := elasticache.NewSubnetGroup(ctx, name, &elasticache.SubnetGroupArgs{
		SubnetIds: args.Subnets, Description: pulumi.String("web-demo cache, private subnets"),
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Cluster, err = elasticache.NewCluster(ctx, name, &elasticache.ClusterArgs{
		Engine:           pulumi.String("memcached"),
		EngineVersion:    pulumi.String("1.6.22"),
		NodeType:         pulumi.String(args.NodeType),
		NumCacheNodes:    pulumi.Int(1),
		Port:             pulumi.Int(memcachedPort),
		SubnetGroupName:  subnets.Name,
		SecurityGroupIds: pulumi.StringArray{args.SecurityGroup.ID()},
		// Only settable at creation; the app dials TLS to match.
		TransitEncryptionEnabled: pulumi.Bool(true),
		Tags:                     nameTag(ctx, "cache"),
	}, parent)
	if err != nil {
		return nil, err
	}
	// A single node's own address; the configuration endpoint is only for
	// auto-discovery clients, which gomemcache is not.
	node := c.Cluster.CacheNodes.Index(pulumi.Int(0))
	c.Endpoint = pulumi.Sprintf("%s:%d", node.Address().Elem(), node.Port().Elem())
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"endpoint": c.Endpoint})
}
