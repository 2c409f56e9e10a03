package memcached

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
)

// Keys must land on the same server as with gomemcache's own ServerList,
// or a deploy of this client would miss every key it had cached.
func TestServerListPicksAsGomemcache(t *testing.T) {
	servers := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}
	var theirs memcache.ServerList
	if err := theirs.SetServers(servers...); err != nil {
		t.Fatal(err)
	}
	ours := make(serverList, len(servers))
	for i, s := range servers {
		ours[i] = newServerAddr(s)
	}
	keys := []string{"", strings.Repeat("k", 300)}
	for i := range 1000 {
		keys = append(keys, fmt.Sprintf("webdemo:session:%d", i))
	}
	for _, key := range keys {
		want, err := theirs.PickServer(key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ours.PickServer(key)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() || got.Network() != want.Network() {
			t.Fatalf("PickServer(%.20q) = %s %s, gomemcache picks %s %s",
				key, got.Network(), got, want.Network(), want)
		}
	}
}

func TestServerListWithoutServers(t *testing.T) {
	if _, err := (serverList{}).PickServer("k"); err != memcache.ErrNoServers {
		t.Fatalf("PickServer with no servers = %v, want ErrNoServers", err)
	}
}
