// Package servable keeps the app from listing a photo it cannot serve: a
// photo.Metadata whose Latest leaves out the photos whose image is missing
// from the upload store, such as those a level step has not copied yet.
// It imports package photo and Prometheus.
package servable

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"webdemo/app/photo"
)

// Metadata is a photo.Metadata whose Latest lists only photos whose image
// exists. Images never change and are deleted only once no photo names
// them, so an image seen once is remembered, and listing photos already
// seen costs no request to the upload store. A missing image is asked
// about again after a while, since a copy may bring it.
type Metadata struct {
	photo.Metadata
	blobs  photo.Blobs
	logger *slog.Logger
	hidden prometheus.Counter
	now    func() time.Time

	mu      sync.Mutex
	present map[string]bool
	// missing holds when each missing image was last asked about.
	missing map[string]time.Time
}

var (
	_ photo.Metadata       = (*Metadata)(nil)
	_ prometheus.Collector = (*Metadata)(nil)
)

const (
	// askAgainAfter is how long an image found missing is taken as
	// missing without asking again.
	askAgainAfter = 30 * time.Second
	// maxRemembered bounds each set of remembered keys; a full set is
	// forgotten and filled again.
	maxRemembered = 100_000
	// parallelChecks bounds the requests to the upload store at once.
	parallelChecks = 16
)

// New wraps metadata so that Latest leaves out photos whose image is
// missing from blobs, logging each and counting it in the
// webdemo_photos_hidden_total series (Metadata is its Collector).
func New(metadata photo.Metadata, blobs photo.Blobs, logger *slog.Logger) *Metadata {
	return &Metadata{
		Metadata: metadata,
		blobs:    blobs,
		logger:   logger,
		hidden: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "webdemo_photos_hidden_total",
			Help: "Photos left off a listing because their image is missing from the upload store.",
		}),
		now:     time.Now,
		present: map[string]bool{},
		missing: map[string]time.Time{},
	}
}

// Describe implements prometheus.Collector.
func (m *Metadata) Describe(ch chan<- *prometheus.Desc) { m.hidden.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *Metadata) Collect(ch chan<- prometheus.Metric) { m.hidden.Collect(ch) }

// Latest returns up to n photos whose image exists, newest first. It reads
// n extra records, so a few missing images still leave a full page.
func (m *Metadata) Latest(ctx context.Context, n int) ([]photo.Photo, error) {
	candidates, err := m.Metadata.Latest(ctx, 2*n)
	if err != nil {
		return nil, err
	}
	shown := make([]photo.Photo, 0, min(n, len(candidates)))
	// Check just as many as could still be shown, so a page of photos
	// not seen before asks about n images, not 2n.
	for next := 0; len(shown) < n && next < len(candidates); {
		batch := candidates[next:min(len(candidates), next+n-len(shown))]
		next += len(batch)
		missing := m.missingOf(ctx, batch)
		for _, p := range batch {
			if missing[p.Key] {
				m.hidden.Inc()
				continue
			}
			shown = append(shown, p)
		}
	}
	return shown, nil
}

// missingOf returns which of photos' images are missing. An image the
// store cannot answer for counts as there: an outage of the upload store
// must not empty the front page.
func (m *Metadata) missingOf(ctx context.Context, photos []photo.Photo) map[string]bool {
	missing := map[string]bool{}
	var ask []photo.Photo
	now := m.now()
	m.mu.Lock()
	for _, p := range photos {
		switch asked, ok := m.missing[p.Key]; {
		case m.present[p.Key]:
		case ok && now.Sub(asked) < askAgainAfter:
			missing[p.Key] = true
		default:
			ask = append(ask, p)
		}
	}
	m.mu.Unlock()
	if len(ask) == 0 {
		return missing
	}

	found := make([]bool, len(ask))
	errs := make([]error, len(ask))
	var wg sync.WaitGroup
	limit := make(chan struct{}, parallelChecks)
	for i, p := range ask {
		limit <- struct{}{}
		wg.Go(func() {
			defer func() { <-limit }()
			found[i], errs[i] = m.blobs.Exists(ctx, p.Key)
		})
	}
	wg.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range ask {
		switch {
		case errs[i] != nil:
			m.logger.Warn("cannot tell whether a photo's image exists; listing it", "key", p.Key, "err", errs[i])
		case found[i]:
			remember(m.present, p.Key, true)
			delete(m.missing, p.Key)
		default:
			missing[p.Key] = true
			remember(m.missing, p.Key, now)
			m.logger.Warn("photo left off the list: its image is missing from the upload store",
				"key", p.Key, "user", p.Username, "uploaded", p.CreatedAt.UTC().Format(time.RFC3339))
		}
	}
	return missing
}

// remember sets key in a set bounded by maxRemembered.
func remember[V any](set map[string]V, key string, v V) {
	if len(set) >= maxRemembered {
		clear(set)
	}
	set[key] = v
}
