package memory_test

import (
	"testing"
	"time"

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
		store := memstore.NewWithCleanupInterval(time.Minute)
		t.Cleanup(store.StopCleanup)
		return store
	})
}
