package server_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"webdemo/app/latency"
	"webdemo/app/memory"
	"webdemo/app/server"
)

// serverTiming parses a Server-Timing header into each entry's duration in
// milliseconds and its description, failing on anything malformed.
func serverTiming(t *testing.T, r response) map[string]timingEntry {
	t.Helper()
	raw := r.header.Get("Server-Timing")
	if raw == "" {
		t.Fatalf("no Server-Timing header (status %d)", r.status)
	}
	entries := map[string]timingEntry{}
	for _, part := range strings.Split(raw, ", ") {
		m := timingEntryPattern.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("Server-Timing entry %q is malformed in %q", part, raw)
		}
		dur, err := strconv.ParseFloat(m[2], 64)
		if err != nil || dur < 0 {
			t.Fatalf("Server-Timing entry %q has a bad duration", part)
		}
		if _, dup := entries[m[1]]; dup {
			t.Fatalf("Server-Timing names %s twice: %q", m[1], raw)
		}
		entries[m[1]] = timingEntry{ms: dur, desc: m[3]}
	}
	return entries
}

type timingEntry struct {
	ms   float64
	desc string
}

var timingEntryPattern = regexp.MustCompile(`^([a-z]+);dur=([0-9.]+)(?:;desc="([a-z]+)")?$`)

// assertStages checks that exactly the stages named, plus total, appear.
func assertStages(t *testing.T, what string, got map[string]timingEntry, want ...string) {
	t.Helper()
	want = append(want, "total")
	if len(got) != len(want) {
		t.Errorf("%s: Server-Timing has %v, want %v", what, got, want)
	}
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: Server-Timing lacks %s: %v", what, name, got)
		}
	}
}

// Every answer says where its time went: each backend it waited on, the
// simulated latency and rendering.
func TestServerTimingNamesWhereTheTimeWent(t *testing.T) {
	const simulated = 20 * time.Millisecond
	s := newSite(t, func(d *server.Deps, _ *server.Options) {
		d.Cache = memory.NewCache()
		d.Latency = latency.New(simulated)
	})

	login := serverTiming(t, s.login("ada"))
	assertStages(t, "login", login, "session")

	upload := s.upload("a.png", pngImage(t, 4, 4))
	if upload.status != http.StatusSeeOther {
		t.Fatalf("upload = %d", upload.status)
	}
	// Find the session, store the image, record it, bump the cache.
	assertStages(t, "upload", serverTiming(t, upload), "session", "blob", "db", "cache")

	miss := serverTiming(t, s.get("/"))
	assertStages(t, "front page, cache miss", miss, "db", "cache", "presign", "session", "latency", "render")
	if miss["cache"].desc != "miss" {
		t.Errorf("first front page: cache desc = %q, want miss", miss["cache"].desc)
	}
	if miss["latency"].ms < float64(simulated.Milliseconds()) {
		t.Errorf("latency;dur=%v, want at least the simulated %v", miss["latency"].ms, simulated)
	}
	if miss["total"].ms < miss["latency"].ms+miss["db"].ms {
		t.Errorf("total %v is less than its parts: %v", miss["total"].ms, miss)
	}

	hit := serverTiming(t, s.get("/"))
	assertStages(t, "front page, cache hit", hit, "cache", "session", "latency", "render")
	if hit["cache"].desc != "hit" {
		t.Errorf("second front page: cache desc = %q, want hit", hit["cache"].desc)
	}

	key := s.latest()[0].Key
	assertStages(t, "image", serverTiming(t, s.get("/images/"+key)), "blob")
	assertStages(t, "not found", serverTiming(t, s.get("/nowhere")), "render")
	assertStages(t, "health", serverTiming(t, s.get("/healthz")))
	assertStages(t, "readiness", serverTiming(t, s.get("/readyz")), "db")
}
