package memcached_test

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/alexedwards/scs/v2"

	"webdemo/app/internal/conformance"
	"webdemo/app/internal/testenv"
	"webdemo/app/memcached"
	"webdemo/app/photo"
)

func TestCache(t *testing.T) {
	conformance.Cache(t, func(t *testing.T) photo.Cache {
		client := memcached.NewClient([]string{testenv.MemcachedAddr(t)}, nil)
		return memcached.NewCache(client, testenv.RandomName("test:")+":")
	})
}

func TestSessions(t *testing.T) {
	conformance.Sessions(t, func(t *testing.T) scs.Store {
		client := memcached.NewClient([]string{testenv.MemcachedAddr(t)}, nil)
		return memcached.NewSessions(client, testenv.RandomName("test:")+":")
	})
}

// Over TLS, as with ElastiCache's in-transit encryption: a TLS proxy with
// its own certificate stands in front of the real memcached.
func TestCacheOverTLS(t *testing.T) {
	conformance.Cache(t, func(t *testing.T) photo.Cache {
		addr, config := testenv.TLSProxy(t, testenv.MemcachedAddr(t))
		return memcached.NewCache(memcached.NewClient([]string{addr}, config), testenv.RandomName("test:")+":")
	})
}

func TestSessionsOverTLS(t *testing.T) {
	conformance.Sessions(t, func(t *testing.T) scs.Store {
		addr, config := testenv.TLSProxy(t, testenv.MemcachedAddr(t))
		return memcached.NewSessions(memcached.NewClient([]string{addr}, config), testenv.RandomName("test:")+":")
	})
}

// A server whose certificate the client does not trust is refused.
func TestTLSRefusesAnUntrustedServer(t *testing.T) {
	addr, _ := testenv.TLSProxy(t, testenv.MemcachedAddr(t))
	cache := memcached.NewCache(memcached.NewClient([]string{addr}, &tls.Config{MinVersion: tls.VersionTLS12}), "test:")
	if _, err := cache.GetMulti(context.Background(), "k"); err == nil {
		t.Fatalf("Get through an untrusted TLS server = %v, want an error", err)
	}
}
