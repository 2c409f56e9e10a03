package memcached_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"webdemo/app/internal/conformance"
	"webdemo/app/internal/testenv"
	"webdemo/app/memcached"
	"webdemo/app/photo"
)

func TestCache(t *testing.T) {
	conformance.Cache(t, func(t *testing.T) photo.Cache {
		client := memcached.NewClient([]string{testenv.MemcachedAddr(t)}, memcached.Options{})
		return memcached.NewCache(client, testenv.RandomName("test:")+":")
	})
}

func TestSessions(t *testing.T) {
	conformance.Sessions(t, func(t *testing.T) scs.Store {
		client := memcached.NewClient([]string{testenv.MemcachedAddr(t)}, memcached.Options{})
		return memcached.NewSessions(client, testenv.RandomName("test:")+":")
	})
}

// tlsServer puts a TLS proxy in front of the real memcached, as with
// ElastiCache's in-transit encryption. Its certificate names "localhost"
// only, no IP, as ElastiCache's name only DNS wildcards: the client must
// verify the name it was configured with, not the IP it dialed.
func tlsServer(t *testing.T) (string, *tls.Config) {
	cert := testenv.NewTLSCert(t, "localhost")
	proxy := testenv.TLSProxy(t, testenv.MemcachedAddr(t), cert)
	return net.JoinHostPort("localhost", proxy.Port()), cert.ClientConfig
}

func TestCacheOverTLS(t *testing.T) {
	conformance.Cache(t, func(t *testing.T) photo.Cache {
		server, config := tlsServer(t)
		client := memcached.NewClient([]string{server}, memcached.Options{TLS: config})
		return memcached.NewCache(client, testenv.RandomName("test:")+":")
	})
}

func TestSessionsOverTLS(t *testing.T) {
	conformance.Sessions(t, func(t *testing.T) scs.Store {
		server, config := tlsServer(t)
		client := memcached.NewClient([]string{server}, memcached.Options{TLS: config})
		return memcached.NewSessions(client, testenv.RandomName("test:")+":")
	})
}

// A server whose certificate the client does not trust is refused.
func TestTLSRefusesAnUntrustedServer(t *testing.T) {
	server, _ := tlsServer(t)
	client := memcached.NewClient([]string{server}, memcached.Options{TLS: &tls.Config{MinVersion: tls.VersionTLS12}})
	cache := memcached.NewCache(client, "test:")
	if _, err := cache.GetMulti(context.Background(), "k"); err == nil {
		t.Fatal("Get through an untrusted TLS server succeeded, want an error")
	}
}

// A trusted certificate for another name is refused too: verification
// checks the configured host name.
func TestTLSRefusesACertificateForAnotherName(t *testing.T) {
	cert := testenv.NewTLSCert(t, "other.webdemo.test")
	proxy := testenv.TLSProxy(t, testenv.MemcachedAddr(t), cert)
	client := memcached.NewClient([]string{net.JoinHostPort("localhost", proxy.Port())}, memcached.Options{TLS: cert.ClientConfig})
	cache := memcached.NewCache(client, "test:")
	_, err := cache.GetMulti(context.Background(), "k")
	if hostErr := (x509.HostnameError{}); !errors.As(err, &hostErr) {
		t.Fatalf("Get through a server certified for another name = %v, want a host name error", err)
	}
}

const serverName = "cache.webdemo.test"

var (
	nodeA = netip.MustParseAddr("127.0.0.1")
	nodeB = netip.MustParseAddr("127.0.0.2")
)

// At start ElastiCache's DNS record may not be published yet. The client
// fails until it is, then works, without a restart.
func TestServerNamePublishedLate(t *testing.T) {
	ctx := context.Background()
	dns := testenv.NewDNS(t)
	cert := testenv.NewTLSCert(t, serverName)
	proxy := testenv.TLSProxy(t, testenv.MemcachedAddr(t), cert)
	client := memcached.NewClient([]string{net.JoinHostPort(serverName, proxy.Port())},
		memcached.Options{TLS: cert.ClientConfig, Resolver: dns.Resolver()})
	cache := memcached.NewCache(client, testenv.RandomName("test:")+":")

	err := cache.Set(ctx, "k", []byte("v"), time.Minute)
	if dnsErr := (*net.DNSError)(nil); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("Set before the name is published = %v, want a not-found DNS error", err)
	}

	dns.Set(serverName, nodeA)
	if err := cache.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set once the name is published: %v", err)
	}
	got, err := cache.GetMulti(ctx, "k")
	if err != nil || string(got["k"]) != "v" {
		t.Fatalf("GetMulti = %q, %v; want v", got["k"], err)
	}
}

// ElastiCache replaces a failed node under the same name with a new IP.
// The client follows the name: at most one request fails, on a pooled
// connection to the dead node, which drops every idle connection to it;
// from then on connections are dialed, and the name looked up, afresh.
func TestServerNameMovesToANewNode(t *testing.T) {
	ctx := context.Background()
	dns := testenv.NewDNS(t)
	cert := testenv.NewTLSCert(t, serverName)
	proxies := testenv.TLSProxies(t, testenv.MemcachedAddr(t), cert, nodeA.String(), nodeB.String())
	oldNode, newNode := proxies[0], proxies[1]
	dns.Set(serverName, nodeA)
	client := memcached.NewClient([]string{net.JoinHostPort(serverName, oldNode.Port())},
		memcached.Options{TLS: cert.ClientConfig, Resolver: dns.Resolver()})
	cache := memcached.NewCache(client, testenv.RandomName("test:")+":")

	// Fill the pool with several connections to the old node.
	for try := 0; oldNode.Served() < 4; try++ {
		if try == 50 {
			t.Fatalf("only %d connections to the old node", oldNode.Served())
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if err := cache.Set(ctx, "k", []byte("old"), time.Minute); err != nil {
					t.Errorf("Set on the old node: %v", err)
				}
			})
		}
		wg.Wait()
	}
	if t.Failed() {
		t.FailNow()
	}

	dns.Set(serverName, nodeB)
	oldNode.SetDown(true)

	failures := 0
	for i := range 10 {
		err := cache.Set(ctx, "k", []byte("new"), time.Minute)
		if err != nil {
			failures++
			t.Logf("Set %d after the move: %v", i, err)
		}
	}
	if failures > 1 {
		t.Errorf("%d of 10 requests failed after the move, want at most 1", failures)
	}
	got, err := cache.GetMulti(ctx, "k")
	if err != nil || string(got["k"]) != "new" {
		t.Fatalf("GetMulti after the move = %q, %v; want new", got["k"], err)
	}
	if newNode.Served() == 0 {
		t.Fatal("no connection reached the new node")
	}
}
