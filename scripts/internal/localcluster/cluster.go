// Package localcluster runs a tutorial level on this machine, on loopback
// only: the same app binary as on AWS, configured by the same code that
// renders the AWS user-data (infra/level), with a stand-in for each AWS
// service: HAProxy for the ALB, MariaDB for RDS, memcached for ElastiCache,
// a directory for EFS and gofakes3 for S3. It owns those processes, from
// start to stop, and the files they keep. It may import the app's config
// and infra/level, never the app's internals: it drives the app as a
// separate binary, as EC2 does.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"webdemo/infra/level"
)

// Options say which level to run and how.
type Options struct {
	Level     int
	Instances int
	// Port is where the site answers: HAProxy's front end, or the single
	// instance at level 0.
	Port     int
	Unshared bool
	Latency  time.Duration
	// AppBinary is a built app; empty builds one.
	AppBinary string
	// Log receives progress lines.
	Log io.Writer
	// Interpose, when set, is given each backing service's address as it
	// starts ("database", "memcached" or "s3") and returns the address the
	// instances dial instead: a proxy that a test cuts to stage an outage.
	Interpose func(service, addr string) string
	// Data keeps the level's stores in this directory between runs, and
	// moves the photos when the level changes; empty keeps nothing.
	Data string
	// S3ClockBehind makes the local S3 date every object this much in the
	// past, so a test sees what the instances do with old objects (the
	// orphan sweep) without waiting for them to age.
	S3ClockBehind time.Duration
}

// Cluster is a level running on loopback.
type Cluster struct {
	URL       string
	StatsURL  string
	Features  level.Features
	Instances []*Instance
	// MySQLDSN reaches the level's database, when it has one.
	MySQLDSN string
	// S3Endpoint and Bucket hold the uploads at levels 2 to 4.
	S3Endpoint, Bucket string
	// LatencyFile changes every instance's simulated delay when rewritten.
	LatencyFile string
	// Services describes each stand-in, for the learner.
	Services []string
	// DataDir keeps the stores between runs; empty when nothing is kept.
	DataDir string

	opts     Options
	dir      string
	data     *dataDir
	children []*exec.Cmd
	db       *mariaDB
	s3       *s3Endpoint
	stopOnce sync.Once
}

// Start brings the level up. On error everything already started is
// stopped again.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	features, err := level.For(opts.Level, opts.Unshared)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Instances < 1 || opts.Instances > 10:
		return nil, fmt.Errorf("--instances %d: use 1 to 10", opts.Instances)
	case !features.LoadBalancer && opts.Instances != 1:
		return nil, fmt.Errorf("--instances %d: level 0 is one server; levels 1 to 4 put several behind a load balancer", opts.Instances)
	case opts.Unshared && opts.Data != "":
		return nil, errors.New("--unshared keeps each server's uploads apart, which --data cannot carry to another level: use one or the other")
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if err := RequireTools(features); err != nil {
		return nil, err
	}
	if err := portFree(opts.Port); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, Features: features}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	// The stores the photos move from, when the level changes.
	var from *level.Features
	if opts.Data != "" {
		if c.data, err = openData(opts.Data); err != nil {
			return nil, err
		}
		c.DataDir = c.data.path
		if c.data.last >= 0 && c.data.last != opts.Level {
			if old := level.Table[c.data.last]; !old.SameStores(features) {
				if err := RequireTools(old); err != nil {
					return nil, fmt.Errorf("moving the photos from level %d: %w", c.data.last, err)
				}
				from = &old
			}
		}
	}
	if c.dir, err = os.MkdirTemp("", "web-demo-cluster-"); err != nil {
		return nil, err
	}
	binary := opts.AppBinary
	if binary == "" {
		fmt.Fprintln(opts.Log, "Building the app…")
		if binary, err = buildApp(c.dir); err != nil {
			return nil, err
		}
	}

	base := level.Endpoints{Region: "us-east-1", Latency: opts.Latency}
	c.LatencyFile = filepath.Join(c.dir, "latency")
	if err := os.WriteFile(c.LatencyFile, []byte(opts.Latency.String()+"\n"), 0o644); err != nil {
		return nil, err
	}
	base.LatencyFile = c.LatencyFile
	if features.LoadBalancer {
		// HAProxy checks every second and gives up after two failures.
		base.ShutdownDrain = 2500 * time.Millisecond
		// HAProxy forwards the client's address from loopback.
		base.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	// A level being left may need a store the new one does not: MariaDB
	// when going down to 0, S3 when going down to 1.
	if err := c.startStores(ctx, features.ManagedDatabase || from != nil && from.ManagedDatabase,
		features.ObjectStorage || from != nil && from.ObjectStorage); err != nil {
		return nil, err
	}
	if features.UsesCache() {
		addr, err := c.startMemcached(ctx)
		if err != nil {
			return nil, err
		}
		base.MemcachedServers = []string{c.interpose("memcached", addr)}
		c.Services = append(c.Services, "memcached (ElastiCache stand-in): "+addr)
	}
	if from != nil {
		if err := c.movePhotos(ctx, binary, c.data.last, *from, base); err != nil {
			return nil, err
		}
	}
	c.stopStoresNotIn(features)
	if c.data != nil && c.data.last != opts.Level {
		if err := c.data.record(opts.Level); err != nil {
			return nil, err
		}
	}
	endpoints := c.storeEndpoints(features, base, true)
	if features.ManagedDatabase {
		c.MySQLDSN = localDSN(c.db.addr)
		c.Services = append(c.Services, "MariaDB (RDS stand-in): "+c.db.addr+", database webdemo"+c.keptIn(c.db.datadir))
	}
	if features.ObjectStorage {
		c.S3Endpoint, c.Bucket = "http://"+c.s3.addr, localBucket
		c.Services = append(c.Services, "S3-compatible endpoint: "+c.S3Endpoint+", bucket "+localBucket+c.keptIn(c.s3.file))
	}
	if features.SharedFiles {
		c.Services = append(c.Services, "shared uploads (EFS stand-in): "+endpoints.UploadDir)
	}
	if c.data != nil && !features.ManagedDatabase {
		c.Services = append(c.Services, "database and uploads on the host: "+c.data.host())
	}

	for i := 1; i <= opts.Instances; i++ {
		instance, err := c.newInstance(i, binary, features, endpoints)
		if err != nil {
			return nil, err
		}
		if err := instance.start(ctx); err != nil {
			return nil, err
		}
		c.Instances = append(c.Instances, instance)
	}
	if !features.LoadBalancer {
		c.URL = c.Instances[0].URL
		return c, nil
	}
	if err := c.startHAProxy(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// keptIn says where a store persists, when it does.
func (c *Cluster) keptIn(path string) string {
	if c.data == nil {
		return ""
	}
	return ", kept in " + path
}

func (c *Cluster) interpose(service, addr string) string {
	if c.opts.Interpose == nil {
		return addr
	}
	return c.opts.Interpose(service, addr)
}

// Dir is the cluster's temporary directory, removed by Stop. What --data
// keeps is elsewhere, in DataDir.
func (c *Cluster) Dir() string { return c.dir }

// Stop ends every process the cluster started and removes its temporary
// files.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		var wg sync.WaitGroup
		for _, in := range c.Instances {
			wg.Go(in.Terminate)
		}
		wg.Wait()
		for i := len(c.children) - 1; i >= 0; i-- {
			_ = c.children[i].Process.Signal(syscall.SIGTERM)
			waitExit(c.children[i], 10*time.Second)
		}
		if c.s3 != nil {
			c.s3.stop()
		}
		c.data.close()
		if c.dir != "" {
			_ = os.RemoveAll(c.dir)
		}
	})
}

// RequireTools names the stand-ins a level needs that are not installed.
func RequireTools(f level.Features) error {
	need := map[string]bool{}
	if f.LoadBalancer {
		need["haproxy"] = true
	}
	if f.ManagedDatabase {
		need["mariadbd"], need["mariadb-install-db"] = true, true
	}
	if f.UsesCache() {
		need["memcached"] = true
	}
	var missing []string
	for tool := range need {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run scripts/local-cluster.sh, which installs haproxy, mariadb-server and memcached with apt-get (as root)", strings.Join(missing, ", "))
	}
	return nil
}

func portFree(port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("port %d is taken: stop whatever uses it, or pass --port", port)
	}
	return ln.Close()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
