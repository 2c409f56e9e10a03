// Package memcached keeps shared state in memcached (ElastiCache on AWS):
// the front-page cache and the session store that lets any server answer
// any user.
package memcached

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bradfitz/gomemcache/memcache"

	"webdemo/app/photo"
)

// NewClient returns a client for servers with a pool sized for a busy web
// server (gomemcache keeps only two idle connections by default). With a
// TLS config it dials every server over TLS.
func NewClient(servers []string, tlsConfig *tls.Config) *memcache.Client {
	c := memcache.New(servers...)
	c.Timeout = 500 * time.Millisecond
	c.MaxIdleConns = 64
	if tlsConfig != nil {
		dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: c.Timeout}, Config: tlsConfig}
		c.DialContext = dialer.DialContext
	}
	return c
}

// Cache is a photo.Cache in memcached.
type Cache struct {
	client *memcache.Client
	prefix string
}

var _ photo.Cache = (*Cache)(nil)

// NewCache returns a cache whose keys all start with prefix.
func NewCache(client *memcache.Client, prefix string) *Cache {
	return &Cache{client: client, prefix: prefix}
}

// GetMulti is one round trip per server holding any of the keys: one, with
// a single node.
func (c *Cache) GetMulti(_ context.Context, keys ...string) (map[string][]byte, error) {
	prefixed := make([]string, len(keys))
	for i, k := range keys {
		prefixed[i] = c.prefix + k
	}
	items, err := c.client.GetMulti(prefixed)
	if err != nil {
		return nil, fmt.Errorf("memcached get: %w", err)
	}
	values := make(map[string][]byte, len(items))
	for _, k := range keys {
		if item, ok := items[c.prefix+k]; ok {
			values[k] = item.Value
		}
	}
	return values, nil
}

// Set stores value for ttl.
func (c *Cache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	err := c.client.Set(&memcache.Item{Key: c.prefix + key, Value: value, Expiration: seconds(ttl)})
	if err != nil {
		return fmt.Errorf("memcached set: %w", err)
	}
	return nil
}

// Incr increments atomically on the server. A missing counter is added at
// 1; if another server adds it first, the increment is retried.
func (c *Cache) Incr(_ context.Context, key string) (uint64, error) {
	for range 3 {
		n, err := c.client.Increment(c.prefix+key, 1)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, memcache.ErrCacheMiss) {
			return 0, fmt.Errorf("memcached incr: %w", err)
		}
		err = c.client.Add(&memcache.Item{Key: c.prefix + key, Value: []byte("1")})
		if err == nil {
			return 1, nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return 0, fmt.Errorf("memcached add: %w", err)
		}
	}
	return 0, errors.New("memcached incr: the counter keeps vanishing")
}

// Sessions is an scs.Store in memcached.
type Sessions struct {
	client *memcache.Client
	prefix string
}

var _ scs.Store = (*Sessions)(nil)

// NewSessions returns a session store whose keys start with prefix.
func NewSessions(client *memcache.Client, prefix string) *Sessions {
	return &Sessions{client: client, prefix: prefix}
}

// Find returns the session's encoded data.
func (s *Sessions) Find(token string) ([]byte, bool, error) {
	item, err := s.client.Get(s.prefix + token)
	if errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrMalformedKey) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("memcached session find: %w", err)
	}
	return item.Value, true, nil
}

// Commit stores the session until expiry.
func (s *Sessions) Commit(token string, b []byte, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return s.Delete(token)
	}
	err := s.client.Set(&memcache.Item{Key: s.prefix + token, Value: b, Expiration: seconds(ttl)})
	if err != nil {
		return fmt.Errorf("memcached session commit: %w", err)
	}
	return nil
}

// Delete removes the session.
func (s *Sessions) Delete(token string) error {
	err := s.client.Delete(s.prefix + token)
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) && !errors.Is(err, memcache.ErrMalformedKey) {
		return fmt.Errorf("memcached session delete: %w", err)
	}
	return nil
}

// maxRelative is memcached's limit: a larger expiration is read as a Unix
// time, so a long TTL would expire at once.
const maxRelative = 30 * 24 * time.Hour

// seconds converts a TTL to memcached's relative expiration, rounding up so
// a short TTL never becomes 0 (which means "never expires").
func seconds(ttl time.Duration) int32 {
	ttl = min(ttl, maxRelative)
	return int32(max(1, math.Ceil(ttl.Seconds())))
}
