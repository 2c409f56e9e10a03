// Package s3blob stores uploads in an S3 bucket under a prefix, the
// tutorial's level 2. Browsers fetch images straight from S3 through
// presigned URLs, or from a CDN when one is configured. It imports package
// photo and the AWS SDK.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"webdemo/app/photo"
)

// Options configures Blobs.
type Options struct {
	Bucket        string
	Prefix        string
	PresignExpiry time.Duration
	// CDNBaseURL, when set, makes URL return CDNBaseURL + prefix + key.
	CDNBaseURL string
}

// Blobs is a photo.Blobs in S3.
type Blobs struct {
	client  *s3.Client
	presign *s3.PresignClient
	opts    Options
	// now is the clock URLs are signed by; tests set it.
	now func() time.Time
	// refetchedAt is when freshEnough last fetched credentials again, in
	// Unix nanoseconds.
	refetchedAt atomic.Int64
}

var _ photo.Blobs = (*Blobs)(nil)

// New returns a store using client, which carries region, credentials and
// any custom endpoint.
func New(client *s3.Client, opts Options) *Blobs {
	b := &Blobs{client: client, opts: opts, now: time.Now}
	b.presign = s3.NewPresignClient(client, func(o *s3.PresignOptions) {
		// As the SDK's own presigner, but signing at the start of the window.
		o.Presigner = windowedPresigner{blobs: b, next: v4.NewSigner(func(so *v4.SignerOptions) {
			so.Logger = client.Options().Logger
			so.LogSigning = client.Options().ClientLogMode.IsSigning()
			so.DisableURIPathEscaping = true
		})}
	})
	return b
}

// presignWindow is how long one photo keeps the same presigned URL: URLs
// are signed as if at the start of the current window, so a browser caches
// the image and a rendered page can be reused. A URL is therefore valid for
// at least its expiry less the window when it is handed out.
const presignWindow = 5 * time.Minute

// window is the signing window: presignWindow, or a quarter of a shorter
// expiry, so a URL always has at least three quarters of its life left.
func (b *Blobs) window() time.Duration {
	return max(time.Second, min(presignWindow, b.opts.PresignExpiry/4))
}

// signingTime is the start of the window now falls in.
func (b *Blobs) signingTime() time.Time { return b.now().UTC().Truncate(b.window()) }

// windowedPresigner signs at the start of the signing window rather than
// now.
type windowedPresigner struct {
	blobs *Blobs
	next  s3.HTTPPresignerV4
}

// PresignHTTP implements s3.HTTPPresignerV4.
func (p windowedPresigner) PresignHTTP(ctx context.Context, credentials aws.Credentials, r *http.Request,
	payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.next.PresignHTTP(ctx, credentials, r, payloadHash, service, region, p.blobs.signingTime(), optFns...)
}

func (b *Blobs) objectKey(key string) string { return b.opts.Prefix + key }

// Put uploads the object with its content type, which must be the one its
// key's extension names: S3 serves it under that type for good. S3 writes
// are atomic: a failed Put leaves no object.
func (b *Blobs) Put(ctx context.Context, key, contentType string, r io.Reader, size int64) error {
	if !photo.ValidKey(key) {
		return fmt.Errorf("s3: invalid key %q", key)
	}
	if contentType != photo.ContentTypeOf(key) {
		return fmt.Errorf("s3: content type %q does not match key %q", contentType, key)
	}
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.opts.Bucket),
		Key:           aws.String(b.objectKey(key)),
		Body:          r,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
		CacheControl:  aws.String("public, max-age=31536000, immutable"),
	})
	if err != nil {
		return fmt.Errorf("s3 put: %w", err)
	}
	return nil
}

// Open streams the object.
func (b *Blobs) Open(ctx context.Context, key string) (io.ReadCloser, string, error) {
	if !photo.ValidKey(key) {
		return nil, "", photo.ErrNotFound
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.opts.Bucket),
		Key:    aws.String(b.objectKey(key)),
	})
	if isNotFound(err) {
		return nil, "", photo.ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("s3 get: %w", err)
	}
	return out.Body, aws.ToString(out.ContentType), nil
}

// Exists asks for the object's metadata only (HeadObject, authorized as
// s3:GetObject). Without s3:ListBucket, S3 answers a missing key with 403,
// which is an error here, not "missing".
func (b *Blobs) Exists(ctx context.Context, key string) (bool, error) {
	if !photo.ValidKey(key) {
		return false, nil
	}
	_, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(b.opts.Bucket),
		Key:    aws.String(b.objectKey(key)),
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("s3 head: %w", err)
	}
	return true, nil
}

// Delete removes the object.
func (b *Blobs) Delete(ctx context.Context, key string) error {
	if !photo.ValidKey(key) {
		return nil
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(b.opts.Bucket),
		Key:    aws.String(b.objectKey(key)),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("s3 delete: %w", err)
	}
	return nil
}

// List pages through the objects under the prefix (s3:ListBucket).
func (b *Blobs) List(ctx context.Context) ([]photo.StoredBlob, error) {
	var stored []photo.StoredBlob
	pages := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(b.opts.Bucket),
		Prefix: aws.String(b.opts.Prefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3 list: %w", err)
		}
		for _, object := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(object.Key), b.opts.Prefix)
			if !photo.ValidKey(key) {
				continue
			}
			stored = append(stored, photo.StoredBlob{Key: key, ModTime: aws.ToTime(object.LastModified)})
		}
	}
	return stored, nil
}

// URL presigns a GET, or joins the CDN base URL. Presigning is local
// computation: no request leaves the server. The presigned URL pins the
// response's Content-Type to the key's, so even an object whose metadata
// was changed in the bucket is served as the image it is. It is signed as
// of the start of the signing window, so the same key gets the same URL
// for the whole window, and the URL is valid for at least the expiry less
// the window.
func (b *Blobs) URL(ctx context.Context, key string) (string, error) {
	if !photo.ValidKey(key) {
		return "", fmt.Errorf("s3: invalid key %q", key)
	}
	if b.opts.CDNBaseURL != "" {
		return strings.TrimSuffix(b.opts.CDNBaseURL, "/") + "/" + b.objectKey(key), nil
	}
	expiry, err := b.presignExpiry(ctx)
	if err != nil {
		return "", err
	}
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:              aws.String(b.opts.Bucket),
		Key:                 aws.String(b.objectKey(key)),
		ResponseContentType: aws.String(photo.ContentTypeOf(key)),
	}, s3.WithPresignExpires(expiry))
	if err != nil {
		return "", fmt.Errorf("s3 presign: %w", err)
	}
	return req.URL, nil
}

// presignExpiry is the configured lifetime, cut to what the signing
// credentials have left: a URL signed with temporary credentials, such as
// an instance role's, stops working when they expire, whatever it asked
// for ("Sharing objects with presigned URLs" in the S3 guide). The URL then
// says honestly how long it lives.
func (b *Blobs) presignExpiry(ctx context.Context) (time.Duration, error) {
	expiry := b.opts.PresignExpiry
	provider := b.client.Options().Credentials
	if provider == nil {
		return expiry, nil
	}
	creds, err := provider.Retrieve(ctx)
	if err != nil {
		return 0, fmt.Errorf("s3 presign: credentials: %w", err)
	}
	if creds, err = b.freshEnough(ctx, provider, creds, expiry); err != nil {
		return 0, err
	}
	if creds.CanExpire {
		// Counted from the signing time, so the URL stays the same all window.
		if left := creds.Expires.Sub(b.signingTime()).Truncate(time.Second); left < expiry {
			expiry = max(left, time.Second)
		}
	}
	return expiry, nil
}

// refetchEvery bounds how often freshEnough fetches credentials again.
const refetchEvery = time.Minute

// freshEnough returns creds, or credentials fetched again when creds have
// less than three quarters of expiry left. The SDK caches an instance
// role's credentials until they expire and caps that at an hour after each
// fetch, so near the end of the hour every URL would live only minutes,
// although the instance metadata service would hand out credentials good
// for longer. It fetches at most every refetchEvery, in case it would not.
func (b *Blobs) freshEnough(ctx context.Context, provider aws.CredentialsProvider, creds aws.Credentials, expiry time.Duration) (aws.Credentials, error) {
	cache, ok := provider.(*aws.CredentialsCache)
	now := b.now()
	if !ok || !creds.CanExpire || creds.Expires.Sub(now) >= expiry*3/4 {
		return creds, nil
	}
	last := b.refetchedAt.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < refetchEvery || !b.refetchedAt.CompareAndSwap(last, now.UnixNano()) {
		return creds, nil
	}
	cache.Invalidate()
	creds, err := cache.Retrieve(ctx)
	if err != nil {
		return creds, fmt.Errorf("s3 presign: credentials: %w", err)
	}
	return creds, nil
}

func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}
