// Package memory keeps state in the server's own memory: the front-page
// cache for a single server. Sessions in memory use scs's own memstore.
package memory

import (
	"context"
	"slices"
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

// Get returns a copy of the value, so callers cannot change what is cached.
func (c *Cache) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, photo.ErrNotFound
	}
	return slices.Clone(e.value), nil
}

// Set stores a copy of value for ttl.
func (c *Cache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if !c.now().Before(e.expires) {
			delete(c.entries, k)
		}
	}
	c.entries[key] = entry{value: slices.Clone(value), expires: c.now().Add(ttl)}
	return nil
}

// Delete removes key.
func (c *Cache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
	return nil
}
