package localcluster

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed haproxy.cfg.tmpl
var haproxyTemplateText string

// haproxyTemplate is parsed once; a mistake in it fails every start at
// once rather than one day.
var haproxyTemplate = template.Must(template.New("haproxy.cfg").Option("missingkey=error").Parse(haproxyTemplateText))

// haproxyConfig is what the template needs.
type haproxyConfig struct {
	Port, StatsPort int
	Servers         []haproxyServer
}

type haproxyServer struct{ Name, Addr string }

// renderHAProxy writes HAProxy's configuration for the instances.
func renderHAProxy(port, statsPort int, instances []*Instance) ([]byte, error) {
	cfg := haproxyConfig{Port: port, StatsPort: statsPort}
	for _, in := range instances {
		cfg.Servers = append(cfg.Servers, haproxyServer{Name: in.Name, Addr: strings.TrimPrefix(in.URL, "http://")})
	}
	var out bytes.Buffer
	if err := haproxyTemplate.Execute(&out, cfg); err != nil {
		return nil, fmt.Errorf("render haproxy.cfg: %w", err)
	}
	return out.Bytes(), nil
}

// startHAProxy puts the instances behind HAProxy, the ALB stand-in, and
// waits until it sees every one of them UP.
func (c *Cluster) startHAProxy(ctx context.Context) error {
	statsPort, err := freePort()
	if err != nil {
		return err
	}
	config, err := renderHAProxy(c.opts.Port, statsPort, c.Instances)
	if err != nil {
		return err
	}
	path := filepath.Join(c.dir, "haproxy.cfg")
	if err := os.WriteFile(path, config, 0o644); err != nil {
		return err
	}
	if _, err := c.spawn("haproxy", "-db", "-f", path); err != nil {
		return err
	}
	c.URL = fmt.Sprintf("http://127.0.0.1:%d", c.opts.Port)
	c.StatsURL = fmt.Sprintf("http://127.0.0.1:%d/stats", statsPort)
	for _, in := range c.Instances {
		if err := c.WaitState(ctx, in.Name, "UP"); err != nil {
			return err
		}
	}
	return nil
}

// ServerStates reads HAProxy's view of each instance: UP, DOWN, …
func (c *Cluster) ServerStates(ctx context.Context) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.StatsURL+";csv", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		fields := strings.Split(line, ",")
		// pxname,svname,…; the status is the 18th column.
		if len(fields) > 17 && fields[0] == "app" && strings.HasPrefix(fields[1], "web-") {
			states[fields[1]] = strings.Fields(fields[17] + " ")[0]
		}
	}
	return states, nil
}
