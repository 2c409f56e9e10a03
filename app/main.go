// Command app is the web-demo photo-sharing site. With no settings it runs
// on an embedded SQLite file, uploads under ./data and in-memory sessions;
// environment variables (see package config) move each part to its tutorial
// level's backend. `webdemo doctor` checks each of those backends instead
// (see package doctor); `webdemo copy` copies the photos from another
// level's stores (see package photocopy). It is the one package that
// imports the backends: it picks them from the settings and wires them in.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"webdemo/app/config"
	"webdemo/app/latency"
	"webdemo/app/photo"
	"webdemo/app/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webdemo:", err)
		os.Exit(exitStatus(err))
	}
}

// exitStatus is 1 for any error, or the status the error carries.
func exitStatus(err error) int {
	var coded interface{ ExitStatus() int }
	if errors.As(err, &coded) {
		return coded.ExitStatus()
	}
	return 1
}

// run starts the app and blocks until ctx ends, then shuts down gracefully.
// "doctor" as the first argument checks the dependencies instead; "copy"
// copies the photos from the FROM_ settings' stores and exits. lookupEnv is
// os.LookupEnv: a variable set to empty is a value, not the default.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout io.Writer) error {
	if len(args) > 0 && args[0] == "doctor" {
		return runDoctor(ctx, args[1:], lookupEnv, stdout)
	}
	if len(args) > 0 && args[0] == "copy" {
		return runCopy(ctx, args[1:], lookupEnv, stdout)
	}
	cfg, err := config.Load(args, lookupEnv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))

	// Listen before opening anything: a port in use or an address this
	// host lacks must not leave a database file or directory behind.
	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR: %w", err)
	}
	defer listener.Close()
	var metricsListener net.Listener
	if cfg.MetricsAddr != "" {
		if metricsListener, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("METRICS_ADDR: %w", err)
		}
		defer metricsListener.Close()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b, err := openBackends(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer b.close()

	// A private registry: only what this app registers is served.
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registry.MustRegister(b.collectors...)
	metrics, err := server.NewMetrics(registry)
	if err != nil {
		return err
	}

	delay := latency.New(cfg.Latency)
	if b.latencySource != nil {
		go delay.Poll(ctx, cfg.LatencyPoll, b.latencySource, logger)
	}
	srv := server.New(server.Deps{
		Logger:       logger,
		Metadata:     b.metadata,
		Blobs:        b.blobs,
		Cache:        b.cache,
		SessionStore: b.sessions,
		Latency:      delay,
		Identity:     b.identity,
		Metrics:      metrics,
	}, server.Options{
		PageSize:       cfg.PageSize,
		MaxUploadBytes: cfg.MaxUploadBytes,
		MaxImagePixels: cfg.MaxImagePixels,
		CacheTTL:       listAge(cfg),
		CookieSecure:   cfg.CookieSecure,

		SessionLifetime:    cfg.SessionLifetime,
		SessionIdleTimeout: cfg.SessionIdle,
		LoginsPerMinute:    cfg.LoginsPerMinute,
		TrustedProxies:     cfg.TrustedProxies,

		MaxConcurrentUploads: cfg.UploadsAtOnce,
	})
	// The schema is usually there in a moment; if the database is still
	// down, keep trying in the background while the server answers 503s.
	firstTry, cancelFirstTry := context.WithTimeout(ctx, 5*time.Second)
	err = b.migrate(firstTry)
	cancelFirstTry()
	if err != nil {
		logger.Warn("database not ready; retrying", "err", err)
		go migrate(ctx, b, logger)
	}

	swept := make(chan struct{})
	go func() { defer close(swept); sweepOrphans(ctx, b, cfg.OrphanSweepAfter, logger) }()
	// Stop the sweep before the stores close.
	defer func() { cancel(); <-swept }()

	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       2 * time.Minute, // uploads on slow links
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       75 * time.Second, // longer than the ALB's 60 s
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "url", "http://"+listener.Addr().String(), "server", b.identity.Name,
		"db", cfg.DBDriver, "storage", cfg.Storage, "sessions", cfg.Sessions, "page_cache", cfg.PageCache)

	serveErr := make(chan error, 2)
	go func() { serveErr <- httpServer.Serve(listener) }()
	var metricsServer *http.Server
	if metricsListener != nil {
		metricsServer = newMetricsServer(registry, logger)
		logger.Info("serving metrics", "url", "http://"+metricsListener.Addr().String()+"/metrics")
		go func() { serveErr <- metricsServer.Serve(metricsListener) }()
	}
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}

	logger.Info("shutting down", "drain", cfg.ShutdownDrain)
	srv.Drain()
	time.Sleep(cfg.ShutdownDrain)
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancelShutdown()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Metrics last, so a scrape during the drain still answers.
	if metricsServer != nil {
		if err := metricsServer.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("metrics shutdown: %w", err)
		}
	}
	logger.Info("stopped")
	return nil
}

// newMetricsServer serves reg's metrics at /metrics, for METRICS_ADDR.
func newMetricsServer(reg *prometheus.Registry, logger *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}))
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// migrate creates the schema, retrying while the database is unreachable:
// the server answers meanwhile, with 503s that say why.
func migrate(ctx context.Context, b *backends, logger *slog.Logger) {
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		err := b.migrate(ctx)
		if err == nil {
			return
		}
		logger.Warn("database not ready; retrying", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// sweepOrphans deletes, at start and then every olderThan, the uploads
// older than olderThan that no photo records: the images of uploads whose
// server died between storing and recording them. A failed sweep is logged
// and tried again next time.
func sweepOrphans(ctx context.Context, b *backends, olderThan time.Duration, logger *slog.Logger) {
	for {
		deleted, err := photo.SweepOrphans(ctx, b.blobs, b.metadata, time.Now().Add(-olderThan), logger)
		if err != nil {
			logger.Warn("orphan sweep failed", "deleted", deleted, "err", err)
		} else {
			logger.Info("orphan sweep", "deleted", deleted, "older_than", olderThan)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(olderThan):
		}
	}
}

// listAge is how long a rendered photo list may be served: PAGE_CACHE_TTL,
// and with presigned S3 URLs at most a quarter of their life. A URL is
// signed at the start of a window of up to a quarter of its life, so a
// page never carries one with less than half its life left.
func listAge(cfg config.Config) time.Duration {
	if cfg.Storage == config.StorageS3 && cfg.CDNBaseURL == "" {
		return min(cfg.PageCacheTTL, cfg.S3PresignExpiry/4)
	}
	return cfg.PageCacheTTL
}
