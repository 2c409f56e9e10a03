// Command uploadmem measures the app's memory under many concurrent uploads
// near the size cap. For each scenario it builds ./app, starts it on
// loopback with the default settings (MAX_UPLOAD_BYTES 10 MiB,
// MAX_CONCURRENT_UPLOADS 8), logs in, sends the uploads all at once, each
// on its own connection, and prints how they were answered and the
// process's resident memory: before, and at its peak (VmHWM in
// /proc/PID/status). It imports only the standard library: it drives the
// app as a separate binary.
//
//	scripts/upload-memory.sh                 # or: go run ./scripts/uploadmem
//	go run ./scripts/uploadmem -uploads 64 -scenarios junk,png
//
// An upload answered 503 is sent again after a short pause (not the
// Retry-After the server asks for, to keep its slots full), so every upload
// is read in the end. Linux only: it reads /proc.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "uploadmem:", err)
		os.Exit(1)
	}
}

// maxUploadBytes is the app's default MAX_UPLOAD_BYTES.
const maxUploadBytes = 10 << 20

// scenario is one kind of upload, sent many times at once.
type scenario struct {
	name, what string
	filename   string
	make       func() []byte
}

var scenarios = []scenario{
	{"junk", "a PNG signature, then junk, to 10 MiB (the abuse case)", "junk.png", func() []byte {
		data := make([]byte, maxUploadBytes-(4<<10))
		copy(data, "\x89PNG\r\n\x1a\n")
		return data
	}},
	{"png", "a valid PNG of noise, just under 10 MiB (2.5 megapixels)", "noise.png", func() []byte {
		return noisePNG(1580, 1580)
	}},
	{"jpeg", "a valid JPEG of noise, just under 10 MiB", "noise.jpg", func() []byte {
		return noiseJPEG(maxUploadBytes - (256 << 10))
	}},
	{"pixels", "a valid PNG at the pixel cap: 6324×6324, 40 megapixels, a small file", "huge.png", func() []byte {
		return flatPNG(6324, 6324)
	}},
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("uploadmem", flag.ContinueOnError)
	uploads := flags.Int("uploads", 64, "uploads sent at once")
	only := flags.String("scenarios", "junk,png,jpeg,pixels", "comma-separated scenarios: "+names())
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *uploads < 1 {
		return errors.New("-uploads: must be at least 1")
	}
	work, err := os.MkdirTemp("", "uploadmem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	binary := filepath.Join(work, "webdemo")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./app")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./app: %w", err)
	}

	table := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(stdout, "%d concurrent uploads per scenario, each on its own connection, one logged-in user\n\n", *uploads)
	fmt.Fprintln(table, "scenario\tupload\tanswers\tRSS idle\tRSS peak (VmHWM)\ttime\t")
	for _, name := range strings.Split(*only, ",") {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			return fmt.Errorf("-scenarios: no scenario %q (%s)", name, names())
		}
		sc := scenarios[i]
		data := sc.make()
		result, err := measure(ctx, binary, filepath.Join(work, sc.name), sc.filename, data, *uploads)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Fprintf(table, "%s\t%.1f MiB\t%s\t%s\t%s\t%s\t\n", sc.name, float64(len(data))/(1<<20), result.answers,
			mib(result.idle), mib(result.peak), result.took.Round(100*time.Millisecond))
	}
	if err := table.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, sc := range scenarios {
		fmt.Fprintf(stdout, "%-7s %s\n", sc.name, sc.what)
	}
	return nil
}

func names() string {
	var out []string
	for _, s := range scenarios {
		out = append(out, s.name)
	}
	return strings.Join(out, ", ")
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MB", float64(kib)*1024/1e6) }

// result is one scenario's outcome.
type result struct {
	answers    string // final statuses, "303×64"
	idle, peak int64  // KiB
	took       time.Duration
}

// measure starts the app in dir, sends n uploads of data at once, and
// reads its memory.
func measure(ctx context.Context, binary, dir, filename string, data []byte, n int) (result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	app := exec.CommandContext(ctx, binary)
	app.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + dir,
		"ADDR=127.0.0.1:0",
		"SQLITE_PATH=" + filepath.Join(dir, "webdemo.db"),
		"UPLOAD_DIR=" + filepath.Join(dir, "uploads"),
	}
	app.Cancel = func() error { return app.Process.Signal(os.Interrupt) }
	app.WaitDelay = 10 * time.Second
	out, err := app.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	app.Stderr = os.Stderr
	if err := app.Start(); err != nil {
		return result{}, err
	}
	defer func() { cancel(); _ = app.Wait() }()
	base, err := listening(out)
	if err != nil {
		return result{}, err
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()

	jar, _ := cookiejar.New(nil)
	login := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if err := post(login, base+"/login", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"name": {"uploader"}}.Encode())); err != nil {
		return result{}, fmt.Errorf("log in: %w", err)
	}
	pid := app.Process.Pid
	idle, err := status(pid, "VmRSS")
	if err != nil {
		return result{}, err
	}

	start := time.Now()
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Its own transport: its own connection, as separate browsers.
			client := &http.Client{Jar: jar, Timeout: 2 * time.Minute, Transport: &http.Transport{},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for {
				statuses[i] = upload(ctx, client, base, filename, data)
				if statuses[i] != http.StatusServiceUnavailable || ctx.Err() != nil {
					return
				}
				time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	peak, err := status(pid, "VmHWM")
	if err != nil {
		return result{}, err
	}
	return result{answers: tally(statuses), idle: idle, peak: peak, took: took}, nil
}

var listeningLine = regexp.MustCompile(`msg=listening url=(http://\S+)`)

// listening reads the app's log until it says where it listens.
func listening(out io.Reader) (string, error) {
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if m := listeningLine.FindStringSubmatch(lines.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", errors.New("the app exited before listening")
}

func post(client *http.Client, target, contentType string, body io.Reader) error {
	req, err := http.NewRequest(http.MethodPost, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// upload sends one photo and returns the status, or 0 if the request
// failed.
func upload(ctx context.Context, client *http.Client, base, filename string, data []byte) int {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("photo", filename)
	_, _ = part.Write(data)
	_ = w.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/upload", &body)
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func tally(statuses []int) string {
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	var keys []int
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

// status reads a "kB" field of /proc/PID/status, in KiB.
func status(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func noisePNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

func flatPNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, G: uint8(x), B: 40, A: 255})
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// noiseJPEG returns the largest square JPEG of noise, at quality 95, that
// fits in limit bytes.
func noiseJPEG(limit int) []byte {
	encode := func(side int) []byte {
		img := image.NewRGBA(image.Rect(0, 0, side, side))
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.Uint32())
		}
		var buf bytes.Buffer
		_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
		return buf.Bytes()
	}
	// Bytes grow with the area: scale from a sample, then step down.
	sample := 512
	side := int(float64(sample) * math.Sqrt(float64(limit)/float64(len(encode(sample)))))
	for {
		if data := encode(side); len(data) <= limit {
			return data
		}
		side = side * 98 / 100
	}
}
