package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ErrNoCredentials means the program found no AWS credentials of its own
// (the provider may have them from stack config): the wait is skipped.
var ErrNoCredentials = errors.New("health gate: no AWS credentials in the environment or profile")

// HealthCheck asks whether every target is healthy in a target group.
type HealthCheck struct {
	// Region, Profile and the static keys are the deploying account's, as
	// Pulumi's aws provider has them (aws:region, aws:profile,
	// aws:accessKey, aws:secretKey, aws:token); unset ones fall back to the
	// SDK's default chain.
	Region                                     string
	Profile                                    string
	AccessKeyID, SecretAccessKey, SessionToken string
	// TargetGroupArn is the group the targets are registered in.
	TargetGroupArn string
	// Targets are instance ids.
	Targets []string
	// Endpoint replaces AWS's ELB endpoint (tests).
	Endpoint string
	// Interval and Timeout pace the wait; zero means 10 s and 15 minutes.
	Interval, Timeout time.Duration
}

// WaitHealthy polls the load balancer until every target passes its health
// checks. The program waits on it before a `pulumi up` ends: Pulumi deletes
// replaced resources only at the end of an update (pulumi/pulumi#9979), so
// the old servers keep serving until the new ones do. If the wait fails,
// the update fails and the old servers stay.
func WaitHealthy(ctx context.Context, check HealthCheck) error {
	interval, timeout := check.Interval, check.Timeout
	if interval == 0 {
		interval = 10 * time.Second
	}
	if timeout == 0 {
		timeout = 15 * time.Minute
	}
	options := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(check.Region), awsconfig.WithSharedConfigProfile(check.Profile)}
	if check.AccessKeyID != "" {
		options = append(options, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(check.AccessKeyID, check.SecretAccessKey, check.SessionToken)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, options...)
	if err != nil {
		return fmt.Errorf("health gate: AWS configuration: %w", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrNoCredentials, err)
	}
	client := elbv2.NewFromConfig(cfg, func(o *elbv2.Options) {
		if check.Endpoint != "" {
			o.BaseEndpoint = aws.String(check.Endpoint)
		}
	})
	targets := make([]elbv2types.TargetDescription, len(check.Targets))
	for i, id := range check.Targets {
		targets[i] = elbv2types.TargetDescription{Id: aws.String(id)}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no answer yet"
	for {
		out, err := client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{
			TargetGroupArn: aws.String(check.TargetGroupArn), Targets: targets,
		})
		if err == nil {
			unhealthy := notHealthy(out.TargetHealthDescriptions, check.Targets)
			if len(unhealthy) == 0 {
				return nil
			}
			last = strings.Join(unhealthy, ", ")
		} else if ctx.Err() == nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("health gate: the new servers did not pass the load balancer's health checks within %s (%s); the old servers are kept: see each instance's console log (/var/log/webdemo-boot.log)",
				timeout, last)
		case <-time.After(interval):
		}
	}
}

// notHealthy describes each wanted target that is not healthy yet.
func notHealthy(descriptions []elbv2types.TargetHealthDescription, wanted []string) []string {
	state := map[string]string{}
	for _, d := range descriptions {
		if d.Target == nil || d.TargetHealth == nil {
			continue
		}
		state[aws.ToString(d.Target.Id)] = string(d.TargetHealth.State)
	}
	var out []string
	for _, id := range wanted {
		if s := state[id]; s != string(elbv2types.TargetHealthStateEnumHealthy) {
			if s == "" {
				s = "not registered"
			}
			out = append(out, id+" "+s)
		}
	}
	slices.Sort(out)
	return out
}
