// Package s3blob stores uploads in an S3 bucket under a prefix, the
// tutorial's level 2. Browsers fetch images straight from S3 through
// presigned URLs, or from a CDN when one is configured.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
}

var _ photo.Blobs = (*Blobs)(nil)

// New returns a store using client, which carries region, credentials and
// any custom endpoint.
func New(client *s3.Client, opts Options) *Blobs {
	return &Blobs{client: client, presign: s3.NewPresignClient(client), opts: opts}
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
// was changed in the bucket is served as the image it is.
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
	if creds.CanExpire {
		if left := time.Until(creds.Expires).Truncate(time.Second); left < expiry {
			expiry = max(left, time.Second)
		}
	}
	return expiry, nil
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
