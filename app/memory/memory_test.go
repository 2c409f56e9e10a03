package memory_test

import (
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"webdemo/app/internal/conformance"
	"webdemo/app/memory"
	"webdemo/app/photo"
)

func TestCache(t *testing.T) {
	conformance.Cache(t, func(t *testing.T) photo.Cache { return memory.NewCache() })
}

// Sessions in memory are scs's own memstore; it passes the same suite as
// the memcached store.
func TestSessions(t *testing.T) {
	conformance.Sessions(t, func(t *testing.T) scs.Store {
		// Without the cleanup goroutine: scs's StopCleanup races with its
		// start. Find checks expiry either way.
		return memstore.NewWithCleanupInterval(0)
	})
}
