package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Behind the load balancer (levels 1–2), the update waits for the new
// servers to pass health checks before it ends and deletes the old ones.
func TestUpdateWaitsForHealthyServers(t *testing.T) {
	for n := range 5 {
		var mu sync.Mutex
		var checks []HealthCheck
		wait := func(_ context.Context, c HealthCheck) error {
			mu.Lock()
			defer mu.Unlock()
			checks = append(checks, c)
			return nil
		}
		if _, err := Simulate(LevelConfig(n), Options{BuildApp: StandInArtifact, WaitHealthy: wait}); err != nil {
			t.Fatal(err)
		}
		standalone := n == 1 || n == 2
		if !standalone {
			if len(checks) != 0 {
				t.Errorf("level %d waited on %v", n, checks)
			}
			continue
		}
		if len(checks) != 1 {
			t.Fatalf("level %d: %d health waits", n, len(checks))
		}
		c := checks[0]
		if c.Region != MockRegion || c.TargetGroupArn != "arn:aws:lb:us-east-1:123456789012:web" || !slices.Equal(c.Targets, []string{"i-web-0", "i-web-1"}) {
			t.Errorf("level %d waits on %+v", n, c)
		}
	}
	failing := func(context.Context, HealthCheck) error { return errors.New("i-web-1 unhealthy") }
	if _, err := Simulate(LevelConfig(1), Options{BuildApp: StandInArtifact, WaitHealthy: failing}); err == nil ||
		!strings.Contains(err.Error(), "i-web-1 unhealthy") {
		t.Errorf("a failed health wait must fail the update (keeping the old servers): %v", err)
	}
	noCredentials := func(context.Context, HealthCheck) error { return fmt.Errorf("%w: none found", ErrNoCredentials) }
	if _, err := Simulate(LevelConfig(1), Options{BuildApp: StandInArtifact, WaitHealthy: noCredentials}); err != nil {
		t.Errorf("without credentials the wait is skipped with a warning, not an error: %v", err)
	}
}

// fakeELB answers DescribeTargetHealth with the states it is given, one
// answer per call, repeating the last.
func fakeELB(t *testing.T, answers ...map[string]string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "DescribeTargetHealth" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		states := answers[min(calls, len(answers)-1)]
		calls++
		mu.Unlock()
		var members strings.Builder
		for id, state := range states {
			fmt.Fprintf(&members, "<member><Target><Id>%s</Id><Port>80</Port></Target><TargetHealth><State>%s</State></TargetHealth></member>", id, state)
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
<DescribeTargetHealthResult><TargetHealthDescriptions>%s</TargetHealthDescriptions></DescribeTargetHealthResult>
<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`, members.String())
	}))
	t.Cleanup(server.Close)
	return server, &calls
}

func TestWaitHealthy(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	check := func(endpoint string) HealthCheck {
		return HealthCheck{Region: MockRegion, TargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1",
			Targets: []string{"i-1", "i-2"}, Endpoint: endpoint, Interval: 10 * time.Millisecond, Timeout: 2 * time.Second}
	}

	server, calls := fakeELB(t,
		map[string]string{"i-1": "initial", "i-2": "initial"},
		map[string]string{"i-1": "healthy", "i-2": "initial"},
		map[string]string{"i-1": "healthy", "i-2": "healthy"})
	if err := WaitHealthy(context.Background(), check(server.URL)); err != nil {
		t.Fatalf("targets became healthy, but: %v", err)
	}
	if *calls != 3 {
		t.Errorf("returned after %d polls, want 3", *calls)
	}

	stuck, _ := fakeELB(t, map[string]string{"i-1": "healthy", "i-2": "unhealthy"})
	c := check(stuck.URL)
	c.Timeout = 200 * time.Millisecond
	err := WaitHealthy(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "i-2 unhealthy") || !strings.Contains(err.Error(), "the old servers are kept") {
		t.Errorf("an unhealthy target must fail the wait and say which: %v", err)
	}

	missing, _ := fakeELB(t, map[string]string{"i-1": "healthy"})
	c = check(missing.URL)
	c.Timeout = 200 * time.Millisecond
	if err := WaitHealthy(context.Background(), c); err == nil || !strings.Contains(err.Error(), "i-2 not registered") {
		t.Errorf("an unregistered target must fail the wait: %v", err)
	}
}

// With no credentials of its own (say the provider's come from stack
// config the program cannot see), the wait reports so at once rather than
// failing the update after 15 minutes.
func TestWaitHealthyWithoutCredentials(t *testing.T) {
	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(name, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	server, calls := fakeELB(t, map[string]string{"i-1": "healthy"})
	start := time.Now()
	err := WaitHealthy(context.Background(), HealthCheck{Region: MockRegion, TargetGroupArn: "tg", Targets: []string{"i-1"}, Endpoint: server.URL})
	if !errors.Is(err, ErrNoCredentials) || *calls != 0 {
		t.Errorf("err = %v after %d calls, want ErrNoCredentials before any call", err, *calls)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s to notice", time.Since(start))
	}
	// Static keys from stack config are enough.
	err = WaitHealthy(context.Background(), HealthCheck{Region: MockRegion, TargetGroupArn: "tg", Targets: []string{"i-1"}, Endpoint: server.URL,
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"})
	if err != nil {
		t.Errorf("with static keys: %v", err)
	}
}
