package s3blob_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"webdemo/app/internal/conformance"
	"webdemo/app/internal/testenv"
	"webdemo/app/photo"
	"webdemo/app/s3blob"
)

func TestBlobs(t *testing.T) {
	conformance.Blobs(t, func(t *testing.T) photo.Blobs {
		fake := testenv.FakeS3(t)
		return s3blob.New(fake.Client, s3blob.Options{Bucket: fake.Bucket, Prefix: "uploads/", PresignExpiry: time.Hour})
	})
}

// Objects land under the prefix with their content type, and the presigned
// URL fetches them with no credentials.
func TestPrefixContentTypeAndPresignedURL(t *testing.T) {
	ctx := context.Background()
	fake := testenv.FakeS3(t)
	store := s3blob.New(fake.Client, s3blob.Options{Bucket: fake.Bucket, Prefix: "uploads/", PresignExpiry: time.Hour})
	key, _ := photo.NewKey("image/png")
	if err := store.Put(ctx, key, "image/png", strings.NewReader("png bytes"), 9); err != nil {
		t.Fatal(err)
	}
	head, err := fake.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(fake.Bucket), Key: aws.String("uploads/" + key)})
	if err != nil {
		t.Fatalf("object not under the prefix: %v", err)
	}
	if got := aws.ToString(head.ContentType); got != "image/png" {
		t.Fatalf("stored content type %q, want image/png", got)
	}
	url, err := store.URL(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "X-Amz-Signature=") || !strings.Contains(url, "X-Amz-Expires=3600") {
		t.Fatalf("URL %q is not presigned for an hour", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned URL: %s", resp.Status)
	}
}

// The presigned URL pins the Content-Type to the key's, whatever the
// object's metadata says; Put refuses a type the key does not name.
func TestPresignedURLPinsTheContentType(t *testing.T) {
	ctx := context.Background()
	fake := testenv.FakeS3(t)
	store := s3blob.New(fake.Client, s3blob.Options{Bucket: fake.Bucket, Prefix: "uploads/", PresignExpiry: time.Hour})
	key, _ := photo.NewKey("image/png")
	if err := store.Put(ctx, key, "text/html", strings.NewReader("<script>"), 8); err == nil {
		t.Fatal("Put stored a .png key as text/html")
	}
	// An object whose metadata says HTML, as if changed in the bucket.
	_, err := fake.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(fake.Bucket), Key: aws.String("uploads/" + key),
		Body: strings.NewReader("png bytes"), ContentType: aws.String("text/html")})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := store.URL(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Query().Get("response-content-type") != "image/png" {
		t.Fatalf("URL %q does not pin the content type", raw)
	}
	resp, err := http.Get(raw)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET presigned URL: %s, Content-Type %q; want image/png", resp.Status, resp.Header.Get("Content-Type"))
	}
	if _, err := store.URL(ctx, "../secret.png"); err == nil {
		t.Fatal("URL signed a path that is not a key")
	}
}

func TestCDNBaseURL(t *testing.T) {
	store := s3blob.New(testenv.NewS3Client("http://127.0.0.1:1"), s3blob.Options{Bucket: "b", Prefix: "uploads/", CDNBaseURL: "https://cdn.example.com/"})
	got, err := store.URL(context.Background(), "0123456789abcdef0123456789abcdef.jpg")
	if want := "https://cdn.example.com/uploads/0123456789abcdef0123456789abcdef.jpg"; err != nil || got != want {
		t.Fatalf("URL = %q, %v; want %q", got, err, want)
	}
}

// An unreachable endpoint is an error, not a panic or a silent success.
func TestUnreachableEndpoint(t *testing.T) {
	store := s3blob.New(testenv.NewS3Client("http://127.0.0.1:1"), s3blob.Options{Bucket: "b"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key, _ := photo.NewKey("image/png")
	if err := store.Put(ctx, key, "image/png", strings.NewReader("x"), 1); err == nil {
		t.Fatal("Put to an unreachable endpoint succeeded")
	}
}

// expiringCredentials are temporary credentials, as an instance role's.
type expiringCredentials struct{ expires time.Time }

func (c expiringCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "token",
		CanExpire: true, Expires: c.expires}, nil
}

// A URL signed with temporary credentials dies with them, so it must not
// claim a longer life than they have left.
func TestPresignedURLLivesNoLongerThanItsCredentials(t *testing.T) {
	for _, tc := range []struct {
		name        string
		credsLeft   time.Duration
		wantAtMost  time.Duration
		wantAtLeast time.Duration
	}{
		{"credentials outlive the expiry", 6 * time.Hour, time.Hour, time.Hour},
		{"credentials expire first", 10 * time.Minute, 10 * time.Minute, 9 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := s3.New(s3.Options{Region: "us-east-1", Credentials: expiringCredentials{time.Now().Add(tc.credsLeft)}})
			store := s3blob.New(client, s3blob.Options{Bucket: "uploads-bucket", Prefix: "uploads/", PresignExpiry: time.Hour})
			key, _ := photo.NewKey("image/png")
			raw, err := store.URL(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			seconds, err := strconv.Atoi(u.Query().Get("X-Amz-Expires"))
			if err != nil {
				t.Fatalf("no X-Amz-Expires in %s", raw)
			}
			got := time.Duration(seconds) * time.Second
			if got > tc.wantAtMost || got < tc.wantAtLeast {
				t.Fatalf("URL lives %s; want between %s and %s", got, tc.wantAtLeast, tc.wantAtMost)
			}
		})
	}
}
