package cloud_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"webdemo/app/cloud"
)

type fakeSecrets struct {
	value string
	err   error
	calls int
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if aws.ToString(in.SecretId) != "arn:secret" {
		return nil, errors.New("wrong secret id " + aws.ToString(in.SecretId))
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.value)}, f.err
}

func TestSecretCredentials(t *testing.T) {
	fake := &fakeSecrets{value: `{"username":"admin","password":"s3cret","engine":"mysql"}`}
	get := cloud.SecretCredentials(fake, "arn:secret", time.Hour)
	for range 3 {
		user, password, err := get(context.Background())
		if err != nil || user != "admin" || password != "s3cret" {
			t.Fatalf("got %q %q %v", user, password, err)
		}
	}
	if fake.calls != 1 {
		t.Fatalf("secret read %d times within its TTL, want 1", fake.calls)
	}
}

func TestSecretCredentialsRefreshAfterTTL(t *testing.T) {
	fake := &fakeSecrets{value: `{"username":"admin","password":"old"}`}
	get := cloud.SecretCredentials(fake, "arn:secret", time.Nanosecond)
	get(context.Background())
	fake.value = `{"username":"admin","password":"rotated"}`
	time.Sleep(time.Millisecond)
	if _, password, _ := get(context.Background()); password != "rotated" {
		t.Fatalf("password %q after rotation", password)
	}
}

func TestSecretCredentialsBadSecrets(t *testing.T) {
	for _, value := range []string{"not json", `{"username":"admin"}`, `{}`} {
		get := cloud.SecretCredentials(&fakeSecrets{value: value}, "arn:secret", time.Hour)
		if _, _, err := get(context.Background()); err == nil {
			t.Errorf("secret %q accepted", value)
		}
	}
	get := cloud.SecretCredentials(&fakeSecrets{err: errors.New("AccessDenied")}, "arn:secret", time.Hour)
	if _, _, err := get(context.Background()); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v", err)
	}
}

type fakeParameters map[string]string

func (f fakeParameters) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	v, ok := f[aws.ToString(in.Name)]
	if !ok {
		return nil, errors.New("ParameterNotFound")
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(v)}}, nil
}

func TestParameter(t *testing.T) {
	read := cloud.Parameter(fakeParameters{"/web-demo/latency": "1.5s"}, "/web-demo/latency")
	if v, err := read(context.Background()); err != nil || v != "1.5s" {
		t.Fatalf("got %q, %v", v, err)
	}
	if _, err := cloud.Parameter(fakeParameters{}, "/missing")(context.Background()); err == nil {
		t.Fatal("a missing parameter read without error")
	}
}

type fakeMetadata map[string]string

func (f fakeMetadata) GetMetadata(_ context.Context, in *imds.GetMetadataInput, _ ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	v, ok := f[in.Path]
	if !ok {
		return nil, errors.New("404")
	}
	return &imds.GetMetadataOutput{Content: io.NopCloser(strings.NewReader(v + "\n"))}, nil
}

func TestInstanceIdentity(t *testing.T) {
	id, ip, err := cloud.InstanceIdentity(context.Background(), fakeMetadata{"instance-id": "i-0abc", "local-ipv4": "10.0.1.5"})
	if err != nil || id != "i-0abc" || ip != "10.0.1.5" {
		t.Fatalf("got %q %q %v", id, ip, err)
	}
	if _, _, err := cloud.InstanceIdentity(context.Background(), fakeMetadata{"instance-id": "i-0abc"}); err == nil {
		t.Fatal("missing local-ipv4 not reported")
	}
}
