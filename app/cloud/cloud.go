// Package cloud reads what the app needs from AWS at run time: database
// credentials from Secrets Manager, the simulated latency from SSM, and the
// instance's identity from IMDSv2. Nothing here is needed off AWS. It
// imports the AWS SDK and no package of the app.
package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SecretGetter is the part of the Secrets Manager client used here.
type SecretGetter interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretCredentials returns a function that reads a {"username","password"}
// secret, such as the RDS-managed master secret. A value is reused for ttl,
// so filling a connection pool costs one call, and a rotated password is
// picked up within ttl.
func SecretCredentials(client SecretGetter, secretARN string, ttl time.Duration) func(context.Context) (string, string, error) {
	var (
		mu             sync.Mutex
		user, password string
		fetched        time.Time
	)
	return func(ctx context.Context) (string, string, error) {
		mu.Lock()
		defer mu.Unlock()
		if !fetched.IsZero() && time.Since(fetched) < ttl {
			return user, password, nil
		}
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)})
		if err != nil {
			return "", "", fmt.Errorf("read secret: %w", err)
		}
		var secret struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &secret); err != nil {
			return "", "", fmt.Errorf("secret is not {\"username\",\"password\"} JSON: %w", err)
		}
		if secret.Username == "" || secret.Password == "" {
			return "", "", errors.New("secret lacks username or password")
		}
		user, password, fetched = secret.Username, secret.Password, time.Now()
		return user, password, nil
	}
}

// ParameterGetter is the part of the SSM client used here.
type ParameterGetter interface {
	GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Parameter returns a function that reads one SSM parameter's value.
func Parameter(client ParameterGetter, name string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("read parameter %s: %w", name, err)
		}
		return aws.ToString(out.Parameter.Value), nil
	}
}

// MetadataGetter is the part of the IMDS client used here.
type MetadataGetter interface {
	GetMetadata(context.Context, *imds.GetMetadataInput, ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// InstanceIdentity returns the instance id and private IPv4 address. The
// IMDS client fetches the IMDSv2 session token itself.
func InstanceIdentity(ctx context.Context, client MetadataGetter) (id, privateIP string, err error) {
	get := func(path string) (string, error) {
		out, err := client.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
		if err != nil {
			return "", fmt.Errorf("instance metadata %s: %w", path, err)
		}
		defer out.Content.Close()
		b, err := io.ReadAll(io.LimitReader(out.Content, 256))
		return strings.TrimSpace(string(b)), err
	}
	if id, err = get("instance-id"); err != nil {
		return "", "", err
	}
	if privateIP, err = get("local-ipv4"); err != nil {
		return "", "", err
	}
	return id, privateIP, nil
}
