// Command cluster runs a tutorial level on this machine, on loopback only:
// the same app binary as on AWS, configured by the same code that renders
// the AWS user-data, with stand-ins for each AWS service: HAProxy for the
// ALB, MariaDB for RDS, memcached for ElastiCache, a directory for EFS and
// an S3-compatible endpoint for S3.
//
//	scripts/local-cluster.sh --level 2 --instances 3
//	scripts/local-cluster.sh --level 1 --data photos
//
// Ctrl-C stops everything and removes its files, except what --data DIR
// keeps: the database, the uploads and the S3 objects, moved into the new
// level's stores when the next run in DIR is at another level. This
// command holds only the flags and the wiring; package localcluster runs
// the level. It imports only localcluster and the app's package config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"webdemo/app/config"
	"webdemo/scripts/internal/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "local-cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("local-cluster", flag.ContinueOnError)
	flags.SetOutput(stdout)
	levelNumber := flags.Int("level", -1, "tutorial level to run, 0 to 4 (required)")
	instances := flags.Int("instances", 0, "app servers behind HAProxy (default 2; level 0 has 1)")
	port := flags.Int("port", 8080, "port the site answers on")
	unshared := flags.Bool("unshared", false, "level 1 before the tutorial's fix: per-server sessions and uploads")
	latency := flags.String("latency", "0", "simulated front-page delay, such as 1.5 or 200ms")
	data := flags.String("data", "", "keep the photos in this directory between runs, and move them when the level changes (default: throwaway)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *levelNumber < 0 {
		return errors.New("--level is required: 0 to 4")
	}
	delay, err := config.ParseDuration(*latency)
	if err != nil {
		return fmt.Errorf("--latency: %w", err)
	}
	if *instances == 0 {
		*instances = 2
		if *levelNumber == 0 {
			*instances = 1
		}
	}
	c, err := localcluster.Start(ctx, localcluster.Options{Level: *levelNumber, Instances: *instances, Port: *port, Unshared: *unshared, Latency: delay, Data: *data, Log: stdout})
	if err != nil {
		return err
	}
	defer c.Stop()
	describe(stdout, c, *levelNumber, *unshared)
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nStopping…")
	c.Stop()
	fmt.Fprintln(stdout, "Stopped; nothing is left running.")
	return nil
}

func describe(w io.Writer, c *localcluster.Cluster, levelNumber int, unshared bool) {
	state := ""
	if unshared {
		state = " (unshared: before the tutorial's fix)"
	}
	fmt.Fprintf(w, "\nweb-demo level %d%s is running at %s\n\n", levelNumber, state, c.URL)
	for _, in := range c.Instances {
		fmt.Fprintf(w, "  %-7s %s   log: %s\n", in.Name, in.URL, in.LogPath)
		fmt.Fprintf(w, "  %-7s metrics: %s\n", "", in.MetricsURL)
	}
	if c.StatsURL != "" {
		fmt.Fprintf(w, "  HAProxy (ALB stand-in) stats: %s\n", c.StatsURL)
	}
	for _, s := range c.Services {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if c.DataDir != "" {
		fmt.Fprintf(w, "\nThe photos stay in %s: run again with --data at any level, and they move to its stores.\n", c.DataDir)
	}
	fmt.Fprintf(w, "\nChange every server's latency: echo 1.5s > %s\n", c.LatencyFile)
	fmt.Fprintln(w, "Press Ctrl-C to stop everything.")
}
