package memcached_test

import (
	"testing"

	"github.com/alexedwards/scs/v2"

	"webdemo/app/internal/conformance"
	"webdemo/app/internal/testenv"
	"webdemo/app/memcached"
	"webdemo/app/photo"
)

func TestCache(t *testing.T) {
	conformance.Cache(t, func(t *testing.T) photo.Cache {
		client := memcached.NewClient(testenv.MemcachedAddr(t))
		return memcached.NewCache(client, testenv.RandomName("test:")+":")
	})
}

func TestSessions(t *testing.T) {
	conformance.Sessions(t, func(t *testing.T) scs.Store {
		client := memcached.NewClient(testenv.MemcachedAddr(t))
		return memcached.NewSessions(client, testenv.RandomName("test:")+":")
	})
}
