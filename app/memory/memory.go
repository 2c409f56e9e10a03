// Package memory keeps state in the server's own memory: the front-page
// cache for a single server. Sessions in memory use scs's own memstore.
// It imports only package photo.
package memory

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"webdemo/app/photo"
)

// Cache is a photo.Cache in a map. Expired entries are dropped when read.
type Cache struct {
	mu      sync.RWMutex
	entries map[string]entry
	now     func() time.Time
}

type entry struct {
	value   []byte
	expires time.Time
}

var _ photo.Cache = (*Cache)(nil)

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{entries: map[string]entry{}, now: time.Now}
}

// GetMulti returns copies of the values, so callers cannot change what is
// cached.
func (c *Cache) GetMulti(_ context.Context, keys ...string) (map[string][]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	values := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if e, ok := c.entries[k]; ok && c.live(e) {
			values[k] = slices.Clone(e.value)
		}
	}
	return values, nil
}

// Set stores a copy of value for ttl.
func (c *Cache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if !c.live(e) {
			delete(c.entries, k)
		}
	}
	c.entries[key] = entry{value: slices.Clone(value), expires: c.now().Add(ttl)}
	return nil
}

// Incr adds 1 to the counter, keeping its expiry as memcached does; a
// counter Incr starts never expires.
func (c *Cache) Incr(_ context.Context, key string) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := entry{}
	n := uint64(c.now().UnixNano())
	if e, ok := c.entries[key]; ok && c.live(e) {
		current, err := strconv.ParseUint(string(e.value), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("memory incr: %q is not a counter", e.value)
		}
		n, next.expires = current+1, e.expires
	}
	next.value = []byte(strconv.FormatUint(n, 10))
	c.entries[key] = next
	return n, nil
}

// live reports whether e has not expired; a zero expiry never does.
func (c *Cache) live(e entry) bool { return e.expires.IsZero() || c.now().Before(e.expires) }
