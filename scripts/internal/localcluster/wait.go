package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// startTimeout bounds each wait for a process or service to come up.
const startTimeout = 20 * time.Second

// waitTCP waits until addr accepts connections.
func waitTCP(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitHTTP waits until url answers 200, giving up early when exited is
// closed: a process that died will never answer.
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("the process exited")
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitState waits until HAProxy reports the instance in state.
func (c *Cluster) WaitState(ctx context.Context, name, state string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		states, err := c.ServerStates(ctx)
		if err == nil && states[name] == state {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("HAProxy never saw %s %s (states %v, err %v)", name, state, states, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitExit waits for a signalled helper to end, and kills it after grace.
func waitExit(cmd *exec.Cmd, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if cmd.ProcessState != nil || cmd.Process.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}
