package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"os"
	"testing"
	"time"

	"webdemo/app/imagefile"
	"webdemo/app/internal/testimage"
)

func TestMemoryBudget(t *testing.T) {
	b := newMemoryBudget(100)
	ctx := context.Background()
	releaseBig, err := b.acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	releaseSmall, err := b.acquire(ctx, 40)
	if err != nil {
		t.Fatal(err)
	}

	// Nothing is left: the next one waits, and gives up with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire on a spent budget = %v; want the context's error", err)
	}

	// One larger than the whole budget waits until it can run alone.
	alone := make(chan func())
	go func() {
		release, err := b.acquire(ctx, 1000)
		if err != nil {
			t.Error(err)
		}
		alone <- release
	}()
	releaseBig()
	releaseBig() // a second release gives nothing back twice
	select {
	case <-alone:
		t.Fatal("an oversized decode started beside another")
	case <-time.After(50 * time.Millisecond):
	}
	releaseSmall()
	release := <-alone
	if b.free != 0 {
		t.Fatalf("an oversized decode left %d free; want the whole budget taken", b.free)
	}
	release()
	if b.free != 100 {
		t.Fatalf("after every release %d is free; want 100", b.free)
	}
}

// FuzzReadForm feeds any body to the form reader. Whatever happens, no
// temporary file is left behind and a refusal is a message for the user;
// an accepted photo is a file Clean accepts again as it is.
func FuzzReadForm(f *testing.F) {
	dir := f.TempDir()
	s := &Server{opts: Options{MaxUploadBytes: 64 << 10, TempDir: dir}}
	f.Fuzz(func(t *testing.T, data []byte) {
		body := &formBody{r: bytes.NewReader(data), allowance: multipartOverhead}
		form, err := s.readForm(multipart.NewReader(body, "B"), body)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) {
				t.Fatalf("refused without a message: %v", err)
			}
		} else {
			_, _ = form.file.Seek(0, io.SeekStart)
			stored, readErr := io.ReadAll(form.file)
			if readErr != nil || int64(len(stored)) != form.info.Size {
				t.Fatalf("the file holds %d bytes (%v); Clean wrote %d", len(stored), readErr, form.info.Size)
			}
			var again testimage.MemFile
			if _, err := imagefile.Clean(form.contentType, bytes.NewReader(stored), &again); err != nil || !bytes.Equal(again.Data, stored) {
				t.Fatalf("the accepted %s does not clean to itself: %v", form.contentType, err)
			}
			form.close()
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("%d temporary files left behind", len(entries))
		}
	})
}
