package doctor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"webdemo/app/cloud"
	"webdemo/app/config"
	"webdemo/app/photo"
)

// Database says how to reach the photo records' store.
type Database struct {
	// Open opens the store without connecting.
	Open func() (photo.Metadata, error)
	// ReadSecret, when set, reads the login from Secrets Manager first.
	ReadSecret func(ctx context.Context) error
	// Address, when set, is dialed first, so that a network that drops the
	// packets is told apart from a server that does not answer.
	Address string
	// Resolver looks Address up; nil means the system's.
	Resolver *net.Resolver
	// TLS says the store connects only over TLS verified against a CA, so
	// a connection proves the handshake.
	TLS bool
}

// Check reads the secret, connects, pings and reads the photos table.
func (d Database) Check(target string, dep Dependency) Check {
	return Check{Name: "database", Target: target, Dependency: dep, Probe: d.probe}
}

func (d Database) probe(ctx context.Context) (string, error) {
	store, err := d.Open()
	if err != nil {
		return "", err
	}
	defer store.Close()
	var notes []string
	if d.ReadSecret != nil {
		if err := d.ReadSecret(ctx); err != nil {
			return "", in(DatabaseSecret, err)
		}
		notes = append(notes, "secret read")
	}
	if d.Address != "" {
		if err := reach(ctx, d.Resolver, d.Address); err != nil {
			return "", err
		}
	}
	if err := store.Ping(ctx); err != nil {
		return "", d.afterConnect(err)
	}
	if d.TLS {
		notes = append(notes, "TLS verified")
	}
	if _, err := store.Latest(ctx, 1); Classify(err) == NoTable {
		notes = append(notes, "no photos table yet (the app creates it when it starts)")
	} else if err != nil {
		return "", d.afterConnect(err)
	} else {
		notes = append(notes, "photos table read")
	}
	return strings.Join(notes, ", "), nil
}

func (d Database) afterConnect(err error) error {
	if d.Address == "" {
		return err
	}
	return afterConnect(err)
}

// MemcachedServer checks one memcached server: a TCP connection, then a set, get
// and delete of a probe key under prefix. client must reach only server.
func MemcachedServer(server string, client Memcache, resolver *net.Resolver, prefix string) Check {
	return Check{Name: "memcached", Target: server, Dependency: Memcached, Probe: func(ctx context.Context) (string, error) {
		if err := reach(ctx, resolver, server); err != nil {
			return "", err
		}
		key, value := prefix+"doctor:"+photo.NewUploadToken(), []byte(photo.NewUploadToken())
		if err := client.Set(&memcache.Item{Key: key, Value: value, Expiration: 60}); err != nil {
			return "", afterConnect(fmt.Errorf("set %s: %w", key, err))
		}
		item, err := client.Get(key)
		if err != nil {
			return "", afterConnect(fmt.Errorf("get %s: %w", key, err))
		}
		if !bytes.Equal(item.Value, value) {
			return "", fmt.Errorf("get %s: read back %q, not the value set", key, item.Value)
		}
		if err := client.Delete(key); err != nil {
			return "", afterConnect(fmt.Errorf("delete %s: %w", key, err))
		}
		return "set, get and delete of " + key, nil
	}}
}

// Memcache is the part of a memcached client the probe uses.
type Memcache interface {
	Set(item *memcache.Item) error
	Get(key string) (*memcache.Item, error)
	Delete(key string) error
}

// Uploads checks an upload store: a write, read and delete of a probe
// object, named like an upload. open gives the store; a store that is an
// io.Closer is closed after.
func Uploads(target string, dep Dependency, open func() (photo.Blobs, error)) Check {
	return Check{Name: "uploads", Target: target, Dependency: dep, Probe: func(ctx context.Context) (string, error) {
		store, err := open()
		if err != nil {
			return "", err
		}
		if c, ok := store.(io.Closer); ok {
			defer c.Close()
		}
		key, err := photo.NewKey("image/png")
		if err != nil {
			return "", err
		}
		content := []byte("web-demo doctor probe " + time.Now().UTC().Format(time.RFC3339))
		if err := store.Put(ctx, key, "image/png", bytes.NewReader(content), int64(len(content))); err != nil {
			return "", err
		}
		readErr := readBack(ctx, store, key, content)
		// Delete even when the read failed: no probe is left behind.
		if err := store.Delete(ctx, key); err != nil && readErr == nil {
			return "", err
		}
		if readErr != nil {
			return "", readErr
		}
		return "write, read and delete of " + key, nil
	}}
}

func readBack(ctx context.Context, store photo.Blobs, key string, want []byte) error {
	r, _, err := store.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer r.Close()
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("read %s: %d bytes back, not the %d written", key, len(got), len(want))
	}
	return nil
}

// Latency checks the simulated latency's source: it must be readable and
// hold a duration.
func Latency(target string, dep Dependency, read func(context.Context) (string, error)) Check {
	return Check{Name: "latency", Target: target, Dependency: dep, Probe: func(ctx context.Context) (string, error) {
		raw, err := read(ctx)
		if err != nil {
			return "", err
		}
		d, err := config.ParseDuration(raw)
		if err != nil {
			return "", &badValueError{err}
		}
		return "delay " + d.String(), nil
	}}
}

// InstanceIdentity checks EC2's instance metadata: an IMDSv2 token, then
// the instance id and private IP the page header shows.
func InstanceIdentity(client cloud.MetadataGetter) Check {
	return Check{Name: "metadata", Target: "IMDSv2", Dependency: InstanceMetadata, Probe: func(ctx context.Context) (string, error) {
		id, ip, err := cloud.InstanceIdentity(ctx, client)
		if err != nil {
			return "", err
		}
		return id + " " + ip, nil
	}}
}

// reach opens and closes a connection to address ("host:port", or a path
// for a Unix socket).
func reach(ctx context.Context, resolver *net.Resolver, address string) error {
	network := "tcp"
	if strings.Contains(address, "/") {
		network = "unix"
	}
	conn, err := (&net.Dialer{Resolver: resolver}).DialContext(ctx, network, address)
	if err != nil {
		return err
	}
	return conn.Close()
}

// afterConnect marks a timeout on a connection that was made: the packets
// got through, so the server, or the protocol spoken to it, is at fault.
func afterConnect(err error) error {
	if Classify(err) != Timeout {
		return err
	}
	return fmt.Errorf("%w: %w", errNoAnswer, err)
}
