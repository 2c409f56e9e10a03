// Package memcached keeps shared state in memcached (ElastiCache on AWS):
// the front-page cache and the session store that lets any server answer
// any user. It imports package photo, gomemcache and scs.
package memcached

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bradfitz/gomemcache/memcache"

	"webdemo/app/photo"
)

// Options configure a client beyond its server list. The zero value dials
// plain TCP and looks names up with the system's resolver.
type Options struct {
	// TLS, if set, dials every server over TLS, verified against the
	// server's configured host name unless ServerName is set.
	TLS *tls.Config
	// Resolver looks server names up on every new connection; nil means
	// the system's. Tests inject one to publish and move names.
	Resolver *net.Resolver
	// Logger reports broken connections; nil means slog.Default().
	Logger *slog.Logger
}

// NewClient returns a client for servers ("host:port") with a pool sized
// for a busy web server (gomemcache keeps only two idle connections by
// default).
//
// gomemcache's own server list resolves each name once, at start, and
// dials the IP: TLS then checks the certificate against an IP that
// ElastiCache's certificates never name, a name not yet published at start
// is never tried again, and a replaced node (same name, new IP) is never
// found. This client hands gomemcache the names instead, so every new
// connection looks its name up and TLS verifies that name, and it drops
// its idle connections as soon as one breaks, so the next ones are dialed,
// and looked up, afresh.
func NewClient(servers []string, opts Options) *memcache.Client {
	list := make(serverList, len(servers))
	for i, s := range servers {
		list[i] = newServerAddr(s)
	}
	c := memcache.NewFromSelector(list)
	c.Timeout = 500 * time.Millisecond
	c.MaxIdleConns = 64
	d := &dialer{
		net:    &net.Dialer{Timeout: c.Timeout, Resolver: opts.Resolver},
		tls:    opts.TLS,
		logger: opts.Logger,
		client: c,
	}
	if d.logger == nil {
		d.logger = slog.Default()
	}
	c.DialContext = d.dial
	return c
}

// serverAddr is a server as configured. gomemcache dials addr.String() and
// keys its idle connections by it, so keeping the host name here, rather
// than an IP resolved once, makes each new connection resolve the name.
type serverAddr struct {
	network, address string
}

func newServerAddr(server string) serverAddr {
	// As memcache.ServerList: a path is a Unix socket.
	if strings.Contains(server, "/") {
		return serverAddr{network: "unix", address: server}
	}
	return serverAddr{network: "tcp", address: server}
}

func (a serverAddr) Network() string { return a.network }
func (a serverAddr) String() string  { return a.address }

// serverList picks a server for a key exactly as memcache.ServerList does
// (CRC32 of the key's first 256 bytes), so keys stay where they were.
type serverList []serverAddr

// PickServer returns the server that holds key.
func (l serverList) PickServer(key string) (net.Addr, error) {
	switch len(l) {
	case 0:
		return nil, memcache.ErrNoServers
	case 1:
		return l[0], nil
	}
	sum := crc32.ChecksumIEEE([]byte(key[:min(len(key), 256)]))
	return l[sum%uint32(len(l))], nil
}

// Each calls f for every server.
func (l serverList) Each(f func(net.Addr) error) error {
	for _, a := range l {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// dialer opens gomemcache's connections.
type dialer struct {
	net    *net.Dialer
	tls    *tls.Config
	logger *slog.Logger
	client *memcache.Client
}

// dial connects to a configured server; net.Dialer resolves its name now.
func (d *dialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	var nc net.Conn
	var err error
	if d.tls == nil {
		nc, err = d.net.DialContext(ctx, network, address)
	} else {
		config := d.tls.Clone()
		if host, _, splitErr := net.SplitHostPort(address); splitErr == nil && config.ServerName == "" {
			// The configured name, which the certificate carries; never the IP.
			config.ServerName = host
		}
		nc, err = (&tls.Dialer{NetDialer: d.net, Config: config}).DialContext(ctx, network, address)
	}
	if err != nil {
		return nil, err
	}
	return &conn{Conn: nc, dialer: d, address: address}, nil
}

// broken drops every idle connection once one has failed: the others most
// likely lead to the same dead node, and each would fail a request of its
// own. Connections dialed afterwards look the name up again. Timeouts count
// too, since a node that is gone for good often just stops answering.
func (d *dialer) broken(address string, err error) {
	d.logger.Warn("memcached connection failed; dropping idle connections", "server", address, "err", err)
	_ = d.client.Close() // closes idle connections only; the client stays usable
}

// conn reports its first read or write error to its dialer. gomemcache
// closes a connection that fails, but keeps its idle siblings.
type conn struct {
	net.Conn
	dialer  *dialer
	address string
	failed  atomic.Bool
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.check(err)
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.check(err)
	return n, err
}

func (c *conn) check(err error) {
	if err != nil && c.failed.CompareAndSwap(false, true) {
		c.dialer.broken(c.address, err)
	}
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
// a single node. A single key is a plain get, which spares the goroutine
// gomemcache starts for each server in a multi-get.
func (c *Cache) GetMulti(_ context.Context, keys ...string) (map[string][]byte, error) {
	if len(keys) == 1 {
		item, err := c.client.Get(c.prefix + keys[0])
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			return map[string][]byte{}, nil
		case err != nil:
			return nil, fmt.Errorf("memcached get: %w", err)
		}
		return map[string][]byte{keys[0]: item.Value}, nil
	}
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
		start := uint64(time.Now().UnixNano())
		err = c.client.Add(&memcache.Item{Key: c.prefix + key, Value: strconv.AppendUint(nil, start, 10)})
		if err == nil {
			return start, nil
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
