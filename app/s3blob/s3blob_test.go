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

// urlLife returns when a presigned URL was signed and when it expires.
func urlLife(t *testing.T, raw string) (signed, expires time.Time) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	signed, err = time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("no X-Amz-Date in %s", raw)
	}
	seconds, err := strconv.Atoi(u.Query().Get("X-Amz-Expires"))
	if err != nil {
		t.Fatalf("no X-Amz-Expires in %s", raw)
	}
	return signed, signed.Add(time.Duration(seconds) * time.Second)
}

// A URL signed with temporary credentials dies with them, so it must not
// claim a longer life than they have left.
func TestPresignedURLLivesNoLongerThanItsCredentials(t *testing.T) {
	for _, tc := range []struct {
		name      string
		credsLeft time.Duration
		// wantLeft bounds how long the URL is valid from now.
		wantLeftAtMost, wantLeftAtLeast time.Duration
	}{
		{"credentials outlive the expiry", 6 * time.Hour, time.Hour, 55 * time.Minute},
		{"credentials expire first", 10 * time.Minute, 10 * time.Minute, 9 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			client := s3.New(s3.Options{Region: "us-east-1", Credentials: expiringCredentials{now.Add(tc.credsLeft)}})
			store := s3blob.New(client, s3blob.Options{Bucket: "uploads-bucket", Prefix: "uploads/", PresignExpiry: time.Hour})
			s3blob.SetClock(store, func() time.Time { return now })
			key, _ := photo.NewKey("image/png")
			raw, err := store.URL(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			_, expires := urlLife(t, raw)
			if left := expires.Sub(now); left > tc.wantLeftAtMost || left < tc.wantLeftAtLeast {
				t.Fatalf("URL is valid for %s more; want between %s and %s", left, tc.wantLeftAtLeast, tc.wantLeftAtMost)
			}
		})
	}
}

// A photo keeps the same URL for the whole signing window, so browsers
// cache it and a rendered page can be reused; a URL handed out at any
// moment still has at least the expiry less the window to live.
func TestPresignedURLIsStableWithinItsWindow(t *testing.T) {
	client := s3.New(s3.Options{Region: "us-east-1", Credentials: expiringCredentials{time.Now().Add(24 * time.Hour)}})
	store := s3blob.New(client, s3blob.Options{Bucket: "uploads-bucket", Prefix: "uploads/", PresignExpiry: time.Hour})
	key, _ := photo.NewKey("image/jpeg")
	at := func(now time.Time) string {
		s3blob.SetClock(store, func() time.Time { return now })
		raw, err := store.URL(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	start := time.Date(2026, 12, 1, 12, 5, 0, 0, time.UTC)
	first := at(start)
	if got := at(start.Add(4*time.Minute + 59*time.Second)); got != first {
		t.Fatalf("URL changed within the window:\n%s\n%s", first, got)
	}
	next := at(start.Add(5 * time.Minute))
	if next == first {
		t.Fatal("URL did not change in the next window")
	}
	for _, offset := range []time.Duration{0, time.Second, 2*time.Minute + 30*time.Second, 4*time.Minute + 59*time.Second} {
		now := start.Add(offset)
		signed, expires := urlLife(t, at(now))
		if signed.After(now) || expires.Sub(now) < 55*time.Minute || expires.Sub(signed) > time.Hour {
			t.Errorf("at +%s: signed %s, expires %s; want signed by now, at least 55m left, at most 1h in all", offset, signed, expires)
		}
	}
}

// roleCredentials hand out credentials as the SDK's instance role provider
// does: the first fetch has lifeFirst left, every later one lifeLater.
type roleCredentials struct {
	fetches              *int
	lifeFirst, lifeLater time.Duration
}

func (c roleCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	*c.fetches++
	life := c.lifeLater
	if *c.fetches == 1 {
		life = c.lifeFirst
	}
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "token",
		CanExpire: true, Expires: time.Now().Add(life)}, nil
}

// Cached credentials near the end of their (capped) hour are fetched
// again, so URLs keep most of their life; and not on every URL when a
// fetch brings nothing better.
func TestPresignFetchesCredentialsAgainNearTheirEnd(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		lifeFirst, lifeLater time.Duration
		wantFetches          int
		wantLeftAtLeast      time.Duration
	}{
		{"a fetch brings an hour more", 10 * time.Minute, time.Hour, 2, 54 * time.Minute},
		{"fresh credentials are not fetched again", time.Hour, time.Hour, 1, 54 * time.Minute},
		{"a fetch brings nothing better: once a minute at most", 10 * time.Minute, 10 * time.Minute, 2, 9 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fetches := 0
			cache := aws.NewCredentialsCache(roleCredentials{&fetches, tc.lifeFirst, tc.lifeLater})
			store := s3blob.New(s3.New(s3.Options{Region: "us-east-1", Credentials: cache}),
				s3blob.Options{Bucket: "uploads-bucket", Prefix: "uploads/", PresignExpiry: time.Hour})
			key, _ := photo.NewKey("image/png")
			for range 3 {
				raw, err := store.URL(context.Background(), key)
				if err != nil {
					t.Fatal(err)
				}
				if _, expires := urlLife(t, raw); time.Until(expires) < tc.wantLeftAtLeast {
					t.Fatalf("URL is valid for %s more; want at least %s", time.Until(expires).Round(time.Second), tc.wantLeftAtLeast)
				}
			}
			if fetches != tc.wantFetches {
				t.Fatalf("credentials fetched %d times for 3 URLs, want %d", fetches, tc.wantFetches)
			}
		})
	}
}
