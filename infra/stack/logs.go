package stack

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Logs is the CloudWatch Logs group every server ships its app log and
// boot log to, through the CloudWatch agent. It belongs to the stack, so
// `pulumi destroy` deletes it and its retention bounds the bill.
type Logs struct {
	pulumi.ResourceState

	Group *cloudwatch.LogGroup
}

// LogsArgs are the log group's inputs.
type LogsArgs struct {
	// RetentionDays is how long CloudWatch keeps each event.
	RetentionDays int
}

// logRetentionDays are the values CloudWatch Logs accepts for a group's
// retention (PutRetentionPolicy in the CloudWatch Logs API reference).
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func newLogs(ctx *pulumi.Context, name string, args LogsArgs, opts ...pulumi.ResourceOption) (*Logs, error) {
	l := &Logs{}
	if err := ctx.RegisterComponentResource("web-demo:infra:Logs", name, l, opts...); err != nil {
		return nil, err
	}
	var err error
	l.Group, err = cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		// A readable prefix; Pulumi adds a unique suffix.
		NamePrefix:      pulumi.String(fmt.Sprintf("/web-demo/%s/", ctx.Stack())),
		RetentionInDays: pulumi.Int(args.RetentionDays),
		Tags:            nameTag(ctx, "logs"),
	}, pulumi.Parent(l))
	if err != nil {
		return nil, err
	}
	return l, ctx.RegisterResourceOutputs(l, pulumi.Map{"logGroup": l.Group.Name})
}
