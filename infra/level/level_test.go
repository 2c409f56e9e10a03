package level

import (
	"strings"
	"testing"

	"webdemo/app/config"
)

func endpoints() Endpoints {
	return Endpoints{
		Addr: "127.0.0.1:8081", SQLitePath: "data/x.db", MySQLHost: "db", MySQLPort: 3306,
		MemcachedServers: []string{"127.0.0.1:11211"}, UploadDir: "data/uploads", Bucket: "photos",
		S3Endpoint: "http://127.0.0.1:9000", Region: "us-east-1",
	}
}

func TestEveryLevelGivesAValidAppConfig(t *testing.T) {
	want := []struct{ storage, sessions, cache string }{
		{config.StorageDisk, config.SessionsMemory, config.CacheOff},
		{config.StorageDisk, config.SessionsMemcached, config.CacheOff},
		{config.StorageS3, config.SessionsMemcached, config.CacheOff},
		{config.StorageS3, config.SessionsMemcached, config.CacheOff},
		{config.StorageS3, config.SessionsMemcached, config.CacheMemcached},
	}
	for n := 0; n <= Max; n++ {
		f, err := For(n, false)
		if err != nil {
			t.Fatal(err)
		}
		c, err := AppConfig(f, endpoints())
		if err != nil {
			t.Fatalf("level %d: %v", n, err)
		}
		if c.Storage != want[n].storage || c.Sessions != want[n].sessions || c.PageCache != want[n].cache {
			t.Errorf("level %d: %s/%s/%s, want %v", n, c.Storage, c.Sessions, c.PageCache, want[n])
		}
		if c.DBDriver != config.DriverMySQL {
			t.Errorf("level %d uses %s", n, c.DBDriver)
		}
		if f.ObjectStorage && !c.S3PathStyle {
			t.Errorf("level %d: a custom S3 endpoint needs path-style addressing", n)
		}
	}
}

func TestUnsharedOnlyAtLevelOne(t *testing.T) {
	f, err := For(1, true)
	if err != nil || f.SharedSessions || f.SharedFiles || !f.LoadBalancer || !f.ManagedDatabase {
		t.Fatalf("unshared level 1 = %+v, %v", f, err)
	}
	c, _ := AppConfig(f, endpoints())
	if c.Sessions != config.SessionsMemory || c.Storage != config.StorageDisk || len(c.MemcachedServers) != 0 {
		t.Errorf("unshared level 1 app config %+v", c)
	}
	for _, n := range []int{0, 2, 3, 4} {
		if _, err := For(n, true); err == nil || !strings.Contains(err.Error(), "only at level 1") {
			t.Errorf("unshared at level %d: %v", n, err)
		}
	}
	for _, n := range []int{-1, 5} {
		if _, err := For(n, false); err == nil {
			t.Errorf("level %d accepted", n)
		}
	}
}

// Only the photo stores decide whether a step between levels copies.
func TestSameStores(t *testing.T) {
	for _, tc := range []struct {
		a, b int
		same bool
	}{
		{0, 1, false}, {1, 2, false}, {0, 2, false}, {2, 3, true}, {2, 4, true}, {3, 4, true}, {1, 1, true},
	} {
		if got := Table[tc.a].SameStores(Table[tc.b]); got != tc.same {
			t.Errorf("levels %d and %d: SameStores = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	// A copy from level 0 into level 4 reads the host's stores, keeping
	// level 4's cache settings.
	got := Table[4].WithStoresOf(Table[0])
	want := Features{LocalDatabase: true, LoadBalancer: true, SharedSessions: true, AutoScaling: true, PageCache: true}
	if got != want {
		t.Errorf("level 4 with level 0's stores = %+v, want %+v", got, want)
	}
}
