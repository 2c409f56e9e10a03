package localcluster

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"webdemo/app/apptest"
)

// Every instance serves its own metrics on a port of its own; the load
// balancer's address has none.
func TestEveryInstanceServesMetrics(t *testing.T) {
	c := startCluster(t, Options{Level: 2, Instances: 2})
	client := apptest.NewClient(t)
	for range 6 {
		if status, _ := client.Get(c.URL + "/"); status != http.StatusOK {
			t.Fatalf("GET / = %d", status)
		}
	}
	if status, _ := client.Get(c.URL + "/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics through HAProxy = %d, want 404", status)
	}
	seen := map[string]bool{}
	for _, in := range c.Instances {
		if in.MetricsURL == "" || strings.HasPrefix(in.MetricsURL, in.URL) {
			t.Fatalf("%s metrics URL %q is not on a port of its own", in.Name, in.MetricsURL)
		}
		status, body := client.Get(in.MetricsURL)
		if status != http.StatusOK {
			t.Fatalf("%s: GET %s = %d", in.Name, in.MetricsURL, status)
		}
		if !strings.Contains(body, `webdemo_http_request_duration_seconds_count{route="/healthz",status="200"}`) {
			t.Errorf("%s: no health-check requests in its metrics:\n%s", in.Name, body)
		}
		seen[in.Name] = strings.Contains(body, `webdemo_http_request_duration_seconds_count{route="/",status="200"}`)
	}
	if fmt.Sprint(seen) != "map[web-1:true web-2:true]" {
		t.Errorf("front pages counted by instance: %v; want both, HAProxy balances them", seen)
	}
}
