package stack

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Dashboard is a CloudWatch dashboard of the level's own parts: the load
// balancer's traffic, latency, errors and healthy hosts; the group's size
// and its alarms; the database's CPU and connections; the cache's hits,
// misses and evictions; at level 0, the instance's CPU.
type Dashboard struct {
	pulumi.ResourceState

	Dashboard *cloudwatch.Dashboard
	// URL opens it in the console.
	URL pulumi.StringOutput
}

// DashboardArgs are the resources the dashboard shows; nil ones are not
// at this level and get no widget.
type DashboardArgs struct {
	Region       string
	LoadBalancer *LoadBalancer
	Fleet        *Fleet
	Alarms       *Alarms
	Database     *Database
	Cache        *Cache
}

// dashboardNameUnsafe are characters a dashboard name may not hold: only
// A-Z, a-z, 0-9, "-" and "_" (PutDashboard in the CloudWatch API reference).
var dashboardNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func newDashboard(ctx *pulumi.Context, name string, args DashboardArgs, opts ...pulumi.ResourceOption) (*Dashboard, error) {
	d := &Dashboard{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Dashboard", name, d, opts...); err != nil {
		return nil, err
	}
	dashboardName := dashboardNameUnsafe.ReplaceAllString(fmt.Sprintf("web-demo-%s", ctx.Stack()), "-")
	var err error
	d.Dashboard, err = cloudwatch.NewDashboard(ctx, name, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(dashboardName),
		DashboardBody: args.body(),
	}, pulumi.Parent(d))
	if err != nil {
		return nil, err
	}
	d.URL = pulumi.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards/dashboard/%s", args.Region, args.Region, d.Dashboard.DashboardName)
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"url": d.URL})
}

// dimensionValues are the resource identifiers the dashboard's metrics
// name, resolved.
type dimensionValues struct {
	loadBalancer, targetGroup, group, database, cache string
	instances, alarms                                 []string
}

// body renders the dashboard once every identifier is known.
func (a DashboardArgs) body() pulumi.StringOutput {
	// Named, so that no reordering can swap two values.
	resolved := pulumi.Map{"instances": pulumi.StringArray{}, "alarms": pulumi.StringArray{}}
	if a.LoadBalancer != nil {
		resolved["loadBalancer"], resolved["targetGroup"] = a.LoadBalancer.ALB.ArnSuffix, a.LoadBalancer.TargetGroup.ArnSuffix
	}
	if a.Fleet.Group != nil {
		resolved["group"] = a.Fleet.Group.Name
	}
	instances := pulumi.StringArray{}
	for _, instance := range a.Fleet.Instances {
		instances = append(instances, instance.ID().ToStringOutput())
	}
	resolved["instances"] = instances
	if a.Alarms != nil {
		resolved["alarms"] = pulumi.StringArray{a.Alarms.HighLatency.Arn, a.Alarms.LowLatency.Arn}
	}
	if a.Database != nil {
		resolved["database"] = a.Database.Instance.Identifier
	}
	if a.Cache != nil {
		resolved["cache"] = a.Cache.Cluster.ClusterId
	}
	return resolved.ToMapOutput().ApplyT(func(v map[string]any) (string, error) {
		text := func(key string) string { s, _ := v[key].(string); return s }
		list := func(key string) []string { l, _ := v[key].([]string); return l }
		return a.render(dimensionValues{
			loadBalancer: text("loadBalancer"), targetGroup: text("targetGroup"), group: text("group"),
			database: text("database"), cache: text("cache"), instances: list("instances"), alarms: list("alarms"),
		})
	}).(pulumi.StringOutput)
}

// widget is one dashboard widget, in the dashboard body's JSON shape
// ("Dashboard body structure and syntax" in the CloudWatch guide).
type widget struct {
	Type       string           `json:"type"`
	X          int              `json:"x"`
	Y          int              `json:"y"`
	Width      int              `json:"width"`
	Height     int              `json:"height"`
	Properties widgetProperties `json:"properties"`
}

type widgetProperties struct {
	Title   string   `json:"title"`
	Region  string   `json:"region,omitempty"`
	View    string   `json:"view,omitempty"`
	Stat    string   `json:"stat,omitempty"`
	Period  int      `json:"period,omitempty"`
	Metrics [][]any  `json:"metrics,omitempty"`
	Alarms  []string `json:"alarms,omitempty"`
}

// metric is one line of a metric widget: namespace, name, dimension
// name/value pairs, then its options.
func metric(namespace, name string, dimensions []string, options map[string]any) []any {
	line := []any{namespace, name}
	for _, d := range dimensions {
		line = append(line, d)
	}
	if options != nil {
		line = append(line, options)
	}
	return line
}

func (a DashboardArgs) render(ids dimensionValues) (string, error) {
	var widgets []widget
	add := func(title, stat string, metrics ...[]any) {
		const width, height = 12, 6
		n := len(widgets)
		widgets = append(widgets, widget{Type: "metric", X: (n % 2) * width, Y: (n / 2) * height, Width: width, Height: height,
			Properties: widgetProperties{Title: title, Region: a.Region, View: "timeSeries", Stat: stat, Period: 60, Metrics: metrics}})
	}
	if ids.loadBalancer != "" {
		alb := []string{"LoadBalancer", ids.loadBalancer}
		add("Requests", "Sum", metric("AWS/ApplicationELB", "RequestCount", alb, nil))
		add("Latency (s)", "p50",
			metric("AWS/ApplicationELB", "TargetResponseTime", alb, map[string]any{"stat": "p50", "label": "p50"}),
			metric("AWS/ApplicationELB", "TargetResponseTime", alb, map[string]any{"stat": "p99", "label": "p99"}),
			metric("AWS/ApplicationELB", "TargetResponseTime", alb, map[string]any{"stat": "Average", "label": "average (the alarms' statistic)"}))
		add("5xx answers", "Sum",
			metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, map[string]any{"label": "from the app"}),
			metric("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb, map[string]any{"label": "from the load balancer"}))
		targets := []string{"TargetGroup", ids.targetGroup, "LoadBalancer", ids.loadBalancer}
		add("Servers passing health checks", "Minimum",
			metric("AWS/ApplicationELB", "HealthyHostCount", targets, map[string]any{"label": "healthy"}),
			metric("AWS/ApplicationELB", "UnHealthyHostCount", targets, map[string]any{"label": "unhealthy", "stat": "Maximum"}))
	}
	if ids.group != "" {
		group := []string{"AutoScalingGroupName", ids.group}
		add("AutoScaling group", "Average",
			metric("AWS/AutoScaling", "GroupDesiredCapacity", group, map[string]any{"label": "desired"}),
			metric("AWS/AutoScaling", "GroupInServiceInstances", group, map[string]any{"label": "in service"}))
	}
	if len(ids.alarms) > 0 {
		n := len(widgets)
		widgets = append(widgets, widget{Type: "alarm", X: (n % 2) * 12, Y: (n / 2) * 6, Width: 12, Height: 6,
			Properties: widgetProperties{Title: "Scaling alarms", Alarms: ids.alarms}})
	}
	if ids.loadBalancer == "" && len(ids.instances) > 0 {
		var cpu [][]any
		for _, id := range ids.instances {
			cpu = append(cpu, metric("AWS/EC2", "CPUUtilization", []string{"InstanceId", id}, nil))
		}
		add("Server CPU (%)", "Average", cpu...)
	}
	if ids.database != "" {
		db := []string{"DBInstanceIdentifier", ids.database}
		add("Database CPU (%)", "Average", metric("AWS/RDS", "CPUUtilization", db, nil))
		add("Database connections", "Maximum", metric("AWS/RDS", "DatabaseConnections", db, nil))
	}
	if ids.cache != "" {
		cache := []string{"CacheClusterId", ids.cache}
		add("Cache hits, misses and evictions", "Sum",
			metric("AWS/ElastiCache", "GetHits", cache, nil),
			metric("AWS/ElastiCache", "GetMisses", cache, nil),
			metric("AWS/ElastiCache", "Evictions", cache, nil))
	}
	body, err := json.Marshal(map[string]any{"widgets": widgets})
	return string(body), err
}
