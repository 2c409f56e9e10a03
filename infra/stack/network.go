package stack

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Network is a VPC across two availability zones: public subnets for the
// load balancer and instances, isolated subnets (no route out) for the
// database, cache and EFS, and no NAT gateways to pay for. It also holds
// the security groups, so every allowed path is listed in this file.
type Network struct {
	pulumi.ResourceState

	VpcID            pulumi.IDOutput
	PublicSubnetIDs  pulumi.StringArray
	PrivateSubnetIDs pulumi.StringArray
	// Zones are the two availability zones used, both offering the
	// instance type.
	Zones []string
	// InternetPath is the gateway and the public routes. Whatever needs the
	// internet (the load balancer, instances, the group, an Elastic IP)
	// depends on it: an internet-facing ALB created before the gateway is
	// attached fails, and on destroy the gateway must outlive the public
	// addresses.
	InternetPath []pulumi.Resource

	// Security groups; nil where the level does not need them.
	LoadBalancerSG *ec2.SecurityGroup
	AppSG          *ec2.SecurityGroup
	DatabaseSG     *ec2.SecurityGroup
	CacheSG        *ec2.SecurityGroup
	FilesSG        *ec2.SecurityGroup
}

const (
	httpPort      = 80
	httpsPort     = 443
	sshPort       = 22
	mysqlPort     = 3306
	memcachedPort = 11211
	nfsPort       = 2049
)

// vpcCIDR is the VPC's address range; the load balancer's nodes are in it.
const vpcCIDR = "10.0.0.0/16"

// NetworkArgs are the network's inputs: where the instances can run, and
// which paths between the tiers to open.
type NetworkArgs struct {
	// InstanceType picks the zones: both must offer it.
	InstanceType string
	// AllowedCidr may reach the site: the load balancer, or the lone server
	// when there is none.
	AllowedCidr string
	// LoadBalancer adds the load balancer's group; the app servers then
	// take HTTP only from it.
	LoadBalancer bool
	// HTTPS opens 443 on the load balancer, which holds a certificate.
	HTTPS bool
	// SSHCidr, when set, may SSH to the app servers (they have a key pair).
	SSHCidr string
	// Database, Cache and SharedFiles each add that store's group, open to
	// the app servers' group only.
	Database, Cache, SharedFiles bool
}

func newNetwork(ctx *pulumi.Context, name string, args NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)

	zones, err := zonesOffering(ctx, args.InstanceType, pulumi.Parent(n))
	if err != nil {
		return nil, err
	}
	n.Zones = zones

	vpcRes, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(vpcCIDR),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               nameTag(ctx, "vpc"),
	}, parent)
	if err != nil {
		return nil, err
	}
	n.VpcID = vpcRes.ID()
	igw, err := ec2.NewInternetGateway(ctx, name, &ec2.InternetGatewayArgs{VpcId: vpcRes.ID(), Tags: nameTag(ctx, "igw")}, parent)
	if err != nil {
		return nil, err
	}
	public, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId:  vpcRes.ID(),
		Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}},
		Tags:   nameTag(ctx, "public"),
	}, parent)
	if err != nil {
		return nil, err
	}
	// The private route table has no route out: only the VPC is reachable.
	private, err := ec2.NewRouteTable(ctx, name+"-private", &ec2.RouteTableArgs{VpcId: vpcRes.ID(), Tags: nameTag(ctx, "private")}, parent)
	if err != nil {
		return nil, err
	}
	n.InternetPath = append(n.InternetPath, igw, public)
	for i, zone := range zones {
		for _, tier := range []struct {
			kind     string
			cidr     string
			publicIP bool
			table    *ec2.RouteTable
			ids      *pulumi.StringArray
		}{
			{"public", fmt.Sprintf("10.0.%d.0/24", i), true, public, &n.PublicSubnetIDs},
			{"private", fmt.Sprintf("10.0.%d.0/24", 10+i), false, private, &n.PrivateSubnetIDs},
		} {
			subnetName := fmt.Sprintf("%s-%s-%d", name, tier.kind, i)
			subnet, err := ec2.NewSubnet(ctx, subnetName, &ec2.SubnetArgs{
				VpcId:               vpcRes.ID(),
				CidrBlock:           pulumi.String(tier.cidr),
				AvailabilityZone:    pulumi.String(zone),
				MapPublicIpOnLaunch: pulumi.Bool(tier.publicIP),
				Tags:                nameTag(ctx, fmt.Sprintf("%s-%s", tier.kind, zone)),
			}, parent)
			if err != nil {
				return nil, err
			}
			association, err := ec2.NewRouteTableAssociation(ctx, subnetName, &ec2.RouteTableAssociationArgs{
				SubnetId: subnet.ID(), RouteTableId: tier.table.ID(),
			}, parent)
			if err != nil {
				return nil, err
			}
			if tier.publicIP {
				n.InternetPath = append(n.InternetPath, association)
			}
			*tier.ids = append(*tier.ids, subnet.ID().ToStringOutput())
		}
	}

	if err := n.securityGroups(ctx, name, args, vpcRes.ID(), parent); err != nil {
		return nil, err
	}
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{"vpcId": vpcRes.ID()})
}

// zonesOffering picks the region's first two available zones that offer
// instanceType. Zone names map to different physical zones in each
// account, and some zones lack newer types (in us-east-1, use1-az3), so
// the first two names are not safe.
func zonesOffering(ctx *pulumi.Context, instanceType string, opts ...pulumi.InvokeOption) ([]string, error) {
	available, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")}, opts...)
	if err != nil {
		return nil, err
	}
	offerings, err := ec2.GetInstanceTypeOfferings(ctx, &ec2.GetInstanceTypeOfferingsArgs{
		LocationType: pulumi.StringRef("availability-zone"),
		Filters:      []ec2.GetInstanceTypeOfferingsFilter{{Name: "instance-type", Values: []string{instanceType}}},
	}, opts...)
	if err != nil {
		return nil, err
	}
	offered := map[string]bool{}
	for _, zone := range offerings.Locations {
		offered[zone] = true
	}
	var zones []string
	for _, zone := range available.Names {
		if offered[zone] && len(zones) < 2 {
			zones = append(zones, zone)
		}
	}
	if len(zones) < 2 {
		return nil, fmt.Errorf("network: %s is offered in %d available zone(s) of this region (%v); an ALB and a database need 2: choose another web-demo:instanceType or region",
			instanceType, len(zones), zones)
	}
	return zones, nil
}

// securityGroups opens only what args ask for. Only the load balancer (or
// the lone instance) accepts traffic from outside; the database, cache and
// file system accept only the app's group.
func (n *Network) securityGroups(ctx *pulumi.Context, name string, args NetworkArgs, vpcID pulumi.IDOutput, parent pulumi.ResourceOption) error {
	group := func(role, description string) (*ec2.SecurityGroup, error) {
		return ec2.NewSecurityGroup(ctx, name+"-"+role, &ec2.SecurityGroupArgs{
			VpcId: vpcID, Description: pulumi.String(description), Tags: nameTag(ctx, role),
		}, parent)
	}
	var err error
	if n.AppSG, err = group("app", "web-demo app servers"); err != nil {
		return err
	}
	var rules []rule
	if args.LoadBalancer {
		if n.LoadBalancerSG, err = group("lb", "web-demo load balancer"); err != nil {
			return err
		}
		rules = append(rules,
			rule{"lb", n.LoadBalancerSG, httpPort, fromCidr(args.AllowedCidr), "HTTP from allowedCidr"},
			rule{"app", n.AppSG, httpPort, fromGroup(n.LoadBalancerSG), "HTTP from the load balancer"})
		if args.HTTPS {
			rules = append(rules, rule{"lb", n.LoadBalancerSG, httpsPort, fromCidr(args.AllowedCidr), "HTTPS from allowedCidr"})
		}
		if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-lb-to-app", &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: n.LoadBalancerSG.ID(), IpProtocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(httpPort), ToPort: pulumi.Int(httpPort),
			ReferencedSecurityGroupId: n.AppSG.ID(), Description: pulumi.String("to the app servers"),
		}, parent); err != nil {
			return err
		}
	} else {
		rules = append(rules, rule{"app", n.AppSG, httpPort, fromCidr(args.AllowedCidr), "HTTP from allowedCidr"})
	}
	if args.SSHCidr != "" {
		rules = append(rules, rule{"app", n.AppSG, sshPort, fromCidr(args.SSHCidr), "SSH from sshCidr"})
	}
	// The app reaches package mirrors, AWS APIs and S3 over the internet
	// gateway, since there is no NAT gateway.
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-app-out", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: n.AppSG.ID(), IpProtocol: pulumi.String("-1"), CidrIpv4: pulumi.String("0.0.0.0/0"),
		Description: pulumi.String("AWS APIs, packages and services inside the VPC"),
	}, parent); err != nil {
		return err
	}
	if args.Database {
		if n.DatabaseSG, err = group("db", "web-demo database"); err != nil {
			return err
		}
		rules = append(rules, rule{"db", n.DatabaseSG, mysqlPort, fromGroup(n.AppSG), "MySQL from the app"})
	}
	if args.Cache {
		if n.CacheSG, err = group("cache", "web-demo memcached"); err != nil {
			return err
		}
		rules = append(rules, rule{"cache", n.CacheSG, memcachedPort, fromGroup(n.AppSG), "memcached from the app"})
	}
	if args.SharedFiles {
		if n.FilesSG, err = group("efs", "web-demo shared uploads"); err != nil {
			return err
		}
		rules = append(rules, rule{"efs", n.FilesSG, nfsPort, fromGroup(n.AppSG), "NFS from the app"})
	}
	for _, r := range rules {
		if err := r.create(ctx, fmt.Sprintf("%s-%s-%d", name, r.role, r.port), parent); err != nil {
			return err
		}
	}
	return nil
}

// rule is one TCP ingress rule: a port on a group, from a CIDR or a group.
type rule struct {
	role        string
	on          *ec2.SecurityGroup
	port        int
	from        source
	description string
}

type source struct {
	cidr  string
	group *ec2.SecurityGroup
}

func fromCidr(cidr string) source           { return source{cidr: cidr} }
func fromGroup(g *ec2.SecurityGroup) source { return source{group: g} }

func (r rule) create(ctx *pulumi.Context, name string, parent pulumi.ResourceOption) error {
	args := &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId: r.on.ID(), IpProtocol: pulumi.String("tcp"),
		FromPort: pulumi.Int(r.port), ToPort: pulumi.Int(r.port), Description: pulumi.String(r.description),
	}
	if r.from.group != nil {
		args.ReferencedSecurityGroupId = r.from.group.ID()
	} else {
		args.CidrIpv4 = pulumi.String(r.from.cidr)
	}
	_, err := vpc.NewSecurityGroupIngressRule(ctx, name, args, parent)
	return err
}
