// Command uploadbench measures uploads per second against a running app:
// sessions logged-in users each send a noise JPEG of about -size bytes,
// one after another, for -duration. Afterwards it checks, in the app's
// MariaDB database and upload directory, that every acknowledged upload
// (303) is recorded and its file stored, and fails if one is not. It
// imports package photo and the MySQL driver.
//
//	go run ./scripts/uploadbench -url http://127.0.0.1:8080 -dsn 'user:pw@tcp(127.0.0.1:3306)/db' -upload-dir /tmp/uploads
//
// scripts/bench.sh runs it; it prints one line: uploads/s, acknowledged,
// refused, and whether all are present.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"webdemo/app/photo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "uploadbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("uploadbench", flag.ContinueOnError)
	base := flags.String("url", "http://127.0.0.1:8080", "the app's base URL")
	dsn := flags.String("dsn", "", "the app's MariaDB DSN, to check the uploads")
	uploadDir := flags.String("upload-dir", "", "the app's UPLOAD_DIR, to check the files")
	sessions := flags.Int("sessions", 16, "concurrent logged-in uploaders")
	duration := flags.Duration("duration", 10*time.Second, "how long to upload")
	size := flags.Int("size", 200<<10, "approximate JPEG size in bytes")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *dsn == "" || *uploadDir == "" || *sessions < 1 {
		return errors.New("-dsn and -upload-dir are required, and -sessions must be at least 1")
	}
	if _, err := mysql.ParseDSN(*dsn); err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	img, err := noiseJPEG(*size)
	if err != nil {
		return err
	}
	run := fmt.Sprintf("ub%d", time.Now().UnixNano()%1e9)

	type result struct {
		user   string
		tokens []string
		// refused counts answers other than 303, by status.
		refused map[int]int
		err     error
	}
	results := make([]result, *sessions)
	ctx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.user, r.refused = fmt.Sprintf("%s-%d", run, i), map[int]int{}
			client, err := login(*base, r.user)
			if err != nil {
				r.err = err
				return
			}
			for ctx.Err() == nil {
				token := photo.NewUploadToken()
				status, err := upload(client, *base, token, img)
				switch {
				case err != nil && ctx.Err() != nil:
					return // cut off by the end of the run: not acknowledged
				case err != nil:
					r.err = err
					return
				case status == http.StatusSeeOther:
					r.tokens = append(r.tokens, token)
				default:
					r.refused[status]++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	acknowledged, refused := 0, map[int]int{}
	for _, r := range results {
		if r.err != nil {
			return fmt.Errorf("%s: %w", r.user, r.err)
		}
		acknowledged += len(r.tokens)
		for status, n := range r.refused {
			refused[status] += n
		}
	}
	db, err := sql.Open("mysql", *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	missing := 0
	for _, r := range results {
		stored, err := storedFiles(context.Background(), db, r.user)
		if err != nil {
			return err
		}
		for _, token := range r.tokens {
			file, ok := stored[token]
			if !ok {
				missing++
				continue
			}
			if info, err := os.Stat(filepath.Join(*uploadDir, file)); err != nil || info.Size() == 0 {
				missing++
			}
		}
	}
	fmt.Fprintf(stdout, "%.0f uploads/s (%d acknowledged of %d bytes in %.1fs, %d sessions), refused %v, missing afterwards %d\n",
		float64(acknowledged)/elapsed.Seconds(), acknowledged, len(img), elapsed.Seconds(), *sessions, refused, missing)
	if missing > 0 {
		return fmt.Errorf("%d acknowledged uploads are not stored", missing)
	}
	return nil
}

// storedFiles maps each upload token of user's photos to its file name.
func storedFiles(ctx context.Context, db *sql.DB, user string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT upload_token, filename FROM upload_images WHERE username = ?", user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := map[string]string{}
	for rows.Next() {
		var token sql.NullString
		var file string
		if err := rows.Scan(&token, &file); err != nil {
			return nil, err
		}
		stored[token.String] = file
	}
	return stored, rows.Err()
}

// login returns a client holding user's session.
func login(base, user string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"name": {user}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login: %s", resp.Status)
	}
	return client, nil
}

// upload sends one photo with its form's token and returns the status.
func upload(client *http.Client, base, token string, img []byte) (int, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("upload_token", token)
	part, _ := w.CreateFormFile("photo", "photo.jpg")
	_, _ = part.Write(img)
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, base+"/upload", &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// noiseJPEG encodes random pixels as a JPEG of at least size bytes: a real
// image that the app decodes in full, as a photo.
func noiseJPEG(size int) ([]byte, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	for side := 128; side < 4096; side += 16 {
		img := image.NewRGBA(image.Rect(0, 0, side, side))
		for i := range img.Pix {
			img.Pix[i] = uint8(rng.UintN(256))
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
			return nil, err
		}
		if buf.Len() >= size {
			return buf.Bytes(), nil
		}
	}
	return nil, fmt.Errorf("no JPEG of %d bytes", size)
}
