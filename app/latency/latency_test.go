package latency_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"webdemo/app/latency"
)

func TestRefreshKeepsTheLastGoodValue(t *testing.T) {
	v := latency.New(100 * time.Millisecond)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	var lastErr string
	for _, step := range []struct {
		raw  string
		err  error
		want time.Duration
	}{
		{"2s", nil, 2 * time.Second},
		{"soon", nil, 2 * time.Second},
		{"soon", nil, 2 * time.Second},
		{"", errors.New("throttled"), 2 * time.Second},
		{"0.25", nil, 250 * time.Millisecond},
		{"-1s", nil, 250 * time.Millisecond},
		{"30s", nil, 30 * time.Second},
		{"1h", nil, 30 * time.Second},
	} {
		v.Refresh(context.Background(), func(context.Context) (string, error) { return step.raw, step.err }, logger, &lastErr)
		if got := v.Get(); got != step.want {
			t.Fatalf("after %q/%v delay = %v, want %v", step.raw, step.err, got, step.want)
		}
	}
	if n := strings.Count(logs.String(), "latency source unreadable"); n != 4 {
		t.Fatalf("logged %d warnings, want 4 (a repeated error is logged once):\n%s", n, logs.String())
	}
}

func TestPollReadsUntilCancelled(t *testing.T) {
	v := latency.New(0)
	reads := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		v.Poll(ctx, time.Millisecond, func(context.Context) (string, error) {
			reads <- struct{}{}
			return "300ms", nil
		}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(stopped)
	}()
	<-reads
	<-reads
	cancel()
	<-stopped
	if v.Get() != 300*time.Millisecond {
		t.Fatalf("delay %v", v.Get())
	}
}

func TestSleepStopsWithTheContext(t *testing.T) {
	v := latency.New(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	began := time.Now()
	v.Sleep(ctx)
	if time.Since(began) > 5*time.Second {
		t.Fatal("Sleep ignored the context")
	}
}
