// Package latency holds the simulated front-page delay, the tutorial's
// $latency, and keeps it current while the server runs. It imports only
// package config, for the duration syntax and the longest delay.
package latency

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"webdemo/app/config"
)

// Value is the current delay. It is safe for concurrent use.
type Value struct{ d atomic.Int64 }

// New returns a Value starting at d.
func New(d time.Duration) *Value {
	v := &Value{}
	v.Set(d)
	return v
}

// Get returns the current delay.
func (v *Value) Get() time.Duration { return time.Duration(v.d.Load()) }

// Set changes the delay.
func (v *Value) Set(d time.Duration) { v.d.Store(int64(d)) }

// Sleep waits for the current delay, or until ctx ends.
func (v *Value) Sleep(ctx context.Context) {
	d := v.Get()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Poll refreshes the delay with read every interval until ctx ends.
func (v *Value) Poll(ctx context.Context, every time.Duration, read func(context.Context) (string, error), logger *slog.Logger) {
	var lastErr string
	v.Refresh(ctx, read, logger, &lastErr)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			v.Refresh(ctx, read, logger, &lastErr)
		}
	}
}

// Refresh reads the delay once. A failed read or a bad value keeps the last
// good delay; it is logged once until the error changes (lastErr remembers
// it between calls).
func (v *Value) Refresh(ctx context.Context, read func(context.Context) (string, error), logger *slog.Logger, lastErr *string) {
	raw, err := read(ctx)
	var d time.Duration
	if err == nil {
		d, err = config.ParseDuration(raw)
	}
	if err == nil && d > config.MaxLatency {
		err = fmt.Errorf("%s is longer than the most allowed, %s", d, config.MaxLatency)
	}
	if err != nil {
		if err.Error() != *lastErr {
			logger.Warn("latency source unreadable; keeping the last delay", "delay", v.Get(), "err", err)
			*lastErr = err.Error()
		}
		return
	}
	*lastErr = ""
	if old := v.Get(); old != d {
		v.Set(d)
		logger.Info("latency changed", "from", old, "to", d)
	}
}
