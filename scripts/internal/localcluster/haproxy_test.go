package localcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"webdemo/app/apptest"
)

// The rendered configuration names every instance and both ports, and
// HAProxy itself accepts it.
func TestHAProxyConfigRenders(t *testing.T) {
	instances := []*Instance{{Name: "web-1", URL: "http://127.0.0.1:9001"}, {Name: "web-2", URL: "http://127.0.0.1:9002"}}
	config, err := renderHAProxy(8080, 8404, instances)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"bind 127.0.0.1:8080\n", "bind 127.0.0.1:8404\n",
		"server web-1 127.0.0.1:9001 check\n", "server web-2 127.0.0.1:9002 check\n",
		"http-request set-header X-Forwarded-For %[src]\n",
	} {
		if !strings.Contains(string(config), want) {
			t.Errorf("haproxy.cfg lacks %q:\n%s", want, config)
		}
	}
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		apptest.Missing(t, "haproxy: %v", err)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, config, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, config)
	}
}
