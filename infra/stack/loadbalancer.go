package stack

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LoadBalancer is an internet-facing ALB in the public subnets, with one
// target group health-checking the app's /healthz. With a certificate it
// serves HTTPS (TLS 1.2+) and redirects HTTP there.
type LoadBalancer struct {
	pulumi.ResourceState

	ALB         *lb.LoadBalancer
	TargetGroup *lb.TargetGroup
	URL         pulumi.StringOutput
}

// LoadBalancerArgs are the load balancer's inputs.
type LoadBalancerArgs struct {
	VpcID         pulumi.IDOutput
	Subnets       pulumi.StringArrayInput
	SecurityGroup *ec2.SecurityGroup
	// InternetPath must exist first: an internet-facing ALB fails to create
	// in a VPC whose gateway is not attached yet.
	InternetPath       []pulumi.Resource
	DeletionProtection bool
	// CertificateArn, when set, serves HTTPS and redirects HTTP there.
	CertificateArn string
}

// tlsPolicy allows TLS 1.2 and 1.3 only.
const tlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

func newLoadBalancer(ctx *pulumi.Context, name string, args LoadBalancerArgs, opts ...pulumi.ResourceOption) (*LoadBalancer, error) {
	l := &LoadBalancer{}
	if err := ctx.RegisterComponentResource("web-demo:infra:LoadBalancer", name, l, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(l)
	var err error
	// Names are left to Pulumi: fixed names break replacements ("in use by
	// a listener") and hit the 32-character limit.
	l.ALB, err = lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType:        pulumi.String("application"),
		Internal:                pulumi.Bool(false),
		Subnets:                 args.Subnets,
		SecurityGroups:          pulumi.StringArray{args.SecurityGroup.ID()},
		DropInvalidHeaderFields: pulumi.Bool(true),
		// Only RFC 7230-compliant requests reach the app, against request
		// smuggling: AWS's ELB best practices recommend strictest, and the
		// site's clients are browsers.
		DesyncMitigationMode:     pulumi.String("strictest"),
		EnableDeletionProtection: pulumi.Bool(args.DeletionProtection),
		IdleTimeout:              pulumi.Int(60),
		Tags:                     nameTag(ctx, "alb"),
	}, parent, pulumi.DependsOn(args.InternetPath))
	if err != nil {
		return nil, err
	}
	l.TargetGroup, err = lb.NewTargetGroup(ctx, name, &lb.TargetGroupArgs{
		Port:       pulumi.Int(httpPort),
		Protocol:   pulumi.String("HTTP"),
		TargetType: pulumi.String("instance"),
		VpcId:      args.VpcID,
		// The app fails /healthz as it drains, so 30 s is plenty.
		DeregistrationDelay: pulumi.Int(30),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Path:               pulumi.String("/healthz"),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(10),
			Timeout:            pulumi.Int(5),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(2),
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	forward := lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: l.TargetGroup.Arn}}
	httpAction := forward
	l.URL = pulumi.Sprintf("http://%s", l.ALB.DnsName)
	if args.CertificateArn != "" {
		if _, err := lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
			LoadBalancerArn: l.ALB.Arn, Port: pulumi.Int(httpsPort), Protocol: pulumi.String("HTTPS"),
			SslPolicy: pulumi.String(tlsPolicy), CertificateArn: pulumi.String(args.CertificateArn),
			DefaultActions: forward,
		}, parent); err != nil {
			return nil, err
		}
		httpAction = lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
			},
		}}
		l.URL = pulumi.Sprintf("https://%s", l.ALB.DnsName)
	}
	if _, err := lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
		LoadBalancerArn: l.ALB.Arn, Port: pulumi.Int(httpPort), Protocol: pulumi.String("HTTP"),
		DefaultActions: httpAction,
	}, parent); err != nil {
		return nil, err
	}
	return l, ctx.RegisterResourceOutputs(l, pulumi.Map{"url": l.URL})
}
