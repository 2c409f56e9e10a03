package imagefile_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/gif"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"webdemo/app/imagefile"
	"webdemo/app/internal/testimage"
)

func clean(contentType string, data []byte) ([]byte, imagefile.Info, error) {
	var out testimage.MemFile
	info, err := imagefile.Clean(contentType, bytes.NewReader(data), &out)
	return out.Data, info, err
}

// decodeAll decodes every frame, for comparing pixels.
func decodeAll(t *testing.T, contentType string, data []byte) any {
	t.Helper()
	if contentType == "image/gif" {
		g, err := gif.DecodeAll(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		return g.Image
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Metadata goes; the pixels stay exactly as they were, never re-encoded.
func TestCleanDropsMetadataAndKeepsPixels(t *testing.T) {
	for _, tc := range []struct {
		name, contentType string
		data              []byte
		keep              []string
	}{
		{"JPEG", "image/jpeg", testimage.JPEGWithMetadata(64, 48, 6), []string{"ICC_PROFILE\x00", "Adobe", "JFIF\x00"}},
		{"PNG", "image/png", testimage.PNGWithMetadata(64, 48), []string{"IHDR", "IDAT"}},
		{"GIF", "image/gif", testimage.GIFWithMetadata(32, 24, 3), []string{"NETSCAPE2.0"}},
		{"WebP", "image/webp", testimage.WebPWithMetadata(16, 8), []string{"VP8X", "VP8L"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(tc.data, []byte(testimage.Secret)) {
				t.Fatal("the sample carries no metadata to drop")
			}
			out, info, err := clean(tc.contentType, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte(testimage.Secret)) || bytes.Contains(out, []byte("xmpmeta")) {
				t.Fatal("metadata survived")
			}
			for _, s := range tc.keep {
				if !bytes.Contains(out, []byte(s)) {
					t.Errorf("%q was dropped", s)
				}
			}
			if info.Removed == 0 || info.Size != int64(len(out)) {
				t.Errorf("info %+v for %d bytes", info, len(out))
			}
			if !reflect.DeepEqual(decodeAll(t, tc.contentType, tc.data), decodeAll(t, tc.contentType, out)) {
				t.Fatal("the pixels changed")
			}
		})
	}
}

// The JPEG keeps its orientation in a fresh EXIF segment with nothing else,
// and loses the JFIF thumbnail.
func TestJPEGKeepsOnlyTheOrientation(t *testing.T) {
	orientationOnly := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	out, _, err := clean("image/jpeg", testimage.JPEGWithMetadata(16, 16, 6))
	if err != nil {
		t.Fatal(err)
	}
	segments := jpegSegments(t, out)
	if got := segments[0xe1]; len(got) != 1 || !bytes.Equal(got[0], orientationOnly) {
		t.Fatalf("APP1 segments %q; want only the orientation", got)
	}
	if got := segments[0xe0]; len(got) != 1 || len(got[0]) != 14 || got[0][12] != 0 || got[0][13] != 0 {
		t.Fatalf("APP0 %q; want JFIF without a thumbnail", got)
	}
	for _, marker := range []byte{0xed, 0xfe} {
		if len(segments[marker]) != 0 {
			t.Errorf("segment %#x kept", marker)
		}
	}

	// An upright photo needs no EXIF at all.
	out, _, err = clean("image/jpeg", testimage.JPEGWithMetadata(16, 16, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := jpegSegments(t, out)[0xe1]; len(got) != 0 {
		t.Fatalf("APP1 kept for orientation 1: %q", got)
	}
}

// jpegSegments lists the payloads of the segments before the first scan.
func jpegSegments(t *testing.T, data []byte) map[byte][][]byte {
	t.Helper()
	out := map[byte][][]byte{}
	for i := 2; i+4 <= len(data) && data[i] == 0xff && data[i+1] != 0xda; {
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		out[data[i+1]] = append(out[data[i+1]], data[i+4:i+2+n])
		i += 2 + n
	}
	return out
}

// Files with nothing to drop come out byte for byte.
func TestCleanLeavesCleanFilesAlone(t *testing.T) {
	files := map[string]string{
		"progressive.jpeg": "video-001.q50.420.progressive.jpeg", "restart.jpeg": "video-001.restart2.jpeg",
		"gray.jpeg": "video-005.gray.q50.jpeg", "interlaced.gif": "video-001.interlaced.gif",
		"lossy.webp": "blue-purple-pink.lossy.webp", "lossless.webp": "gopher-doc.1bpp.lossless.webp",
		"alpha.webp": "yellow_rose.lossy-with-alpha.webp",
	}
	samples := map[string][]byte{"go.png": testimage.PNG(40, 30), "go.jpeg": testimage.JPEG(40, 30), "go.gif": testimage.GIF(20, 10, 2)}
	for name, file := range files {
		samples[name] = testdata(t, file)
	}
	for name, data := range samples {
		contentType := "image/" + strings.TrimPrefix(filepath.Ext(name), ".")
		out, info, err := clean(contentType, data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(out, data) || info.Removed != 0 {
			t.Errorf("%s: %d bytes in, %d out, %d removed", name, len(data), len(out), info.Removed)
		}
	}
}

func TestCleanReportsWhatDecodingCosts(t *testing.T) {
	// 150×103 in 4:2:0: 10×7 MCUs of 16×16, six blocks each, of 256 bytes.
	if _, info, _ := clean("image/jpeg", testdata(t, "video-001.q50.420.progressive.jpeg")); !info.Progressive || info.Coefficients != 10*7*6*256 {
		t.Errorf("progressive JPEG info %+v; want %d bytes of coefficients", info, 10*7*6*256)
	}
	if _, info, _ := clean("image/webp", testdata(t, "gopher-doc.1bpp.lossless.webp")); !info.Lossless {
		t.Error("a lossless WebP is not reported")
	}
	if _, info, _ := clean("image/gif", testimage.GIF(30, 20, 4)); info.Frames != 4 || info.FramePixels != 4*30*20 {
		t.Errorf("GIF info %+v; want 4 frames of 600 pixels", info)
	}
}

// Phones append a gain map after the primary image and say so in an MPF
// segment: the appended images are dropped, the primary kept.
func TestMultiPictureJPEGKeepsThePrimaryImage(t *testing.T) {
	data := testimage.MultiPictureJPEG(32, 16)
	out, _, err := clean("image/jpeg", data)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("MPF\x00")) || bytes.Count(out, []byte{0xff, 0xd8}) != 1 || !bytes.HasSuffix(out, []byte{0xff, 0xd9}) {
		t.Fatalf("output %d bytes still holds the appended image or its index", len(out))
	}
	if !reflect.DeepEqual(decodeAll(t, "image/jpeg", data), decodeAll(t, "image/jpeg", out)) {
		t.Fatal("the primary image changed")
	}
}

func TestCleanRefuses(t *testing.T) {
	png, jpg, gifData := testimage.PNG(8, 8), testimage.JPEG(8, 8), testimage.GIF(8, 8, 2)
	webp := testimage.WebP(8, 8)
	longRIFF := bytes.Clone(webp)
	binary.LittleEndian.PutUint32(longRIFF[4:], binary.LittleEndian.Uint32(webp[4:])+100)
	badCRC := bytes.Clone(png)
	badCRC[len(badCRC)-13] ^= 1 // last byte of the IDAT chunk's CRC
	iend := len(png) - 12
	for _, tc := range []struct {
		name, contentType string
		data              []byte
		want              error
	}{
		{"PNG, data after IEND", "image/png", slices.Concat(png, []byte("<html>")), imagefile.ErrTrailingData},
		{"JPEG, data after EOI", "image/jpeg", slices.Concat(jpg, []byte("PK\x03\x04")), imagefile.ErrTrailingData},
		{"GIF, data after the trailer", "image/gif", slices.Concat(gifData, []byte{0}), imagefile.ErrTrailingData},
		{"WebP, RIFF size short of the file", "image/webp", slices.Concat(webp, []byte("junk")), imagefile.ErrTrailingData},
		{"WebP, RIFF size past the file", "image/webp", longRIFF, imagefile.ErrTruncated},
		{"PNG, bad CRC", "image/png", badCRC, imagefile.ErrMalformed},
		{"PNG, unknown critical chunk", "image/png", slices.Concat(png[:iend], testimage.PNGChunk("XYZW", nil), png[iend:]), imagefile.ErrMalformed},
		{"PNG, no IHDR first", "image/png", slices.Concat(png[:8], png[33:]), imagefile.ErrMalformed},
		{"JPEG, bytes between segments", "image/jpeg", slices.Concat(jpg[:2], []byte("hidden"), jpg[2:]), imagefile.ErrMalformed},
		{"JPEG, no SOI", "image/jpeg", jpg[2:], imagefile.ErrMalformed},
		{"GIF, unknown block", "image/gif", slices.Concat(gifData[:len(gifData)-1], []byte{0x99, 0x3b}), imagefile.ErrMalformed},
		{"animated WebP", "image/webp", testimage.AnimatedWebP(), imagefile.ErrAnimatedWebP},
		{"empty", "image/png", nil, imagefile.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := clean(tc.contentType, tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("Clean = %v; want %v", err, tc.want)
			}
		})
	}
}

// Every file cut short anywhere is refused as cut short.
func TestEveryTruncationIsRefused(t *testing.T) {
	for contentType, data := range map[string][]byte{
		"image/png":  testimage.PNGWithMetadata(8, 8),
		"image/jpeg": testimage.JPEGWithMetadata(8, 8, 3),
		"image/gif":  testimage.GIFWithMetadata(8, 8, 2),
		"image/webp": testimage.WebPWithMetadata(8, 8),
	} {
		for n := range len(data) {
			if _, _, err := clean(contentType, data[:n]); !errors.Is(err, imagefile.ErrTruncated) {
				t.Fatalf("%s cut to %d of %d bytes: %v; want ErrTruncated", contentType, n, len(data), err)
			}
		}
	}
}

// The reader's own failure comes back as itself, even one that wraps
// io.ErrUnexpectedEOF, so a cut connection is not called a cut image.
func TestReaderErrorsPassThrough(t *testing.T) {
	type connError struct{ error }
	cut := connError{io.ErrUnexpectedEOF}
	data := testimage.PNG(8, 8)
	r := io.MultiReader(bytes.NewReader(data[:20]), &failingReader{cut})
	_, err := imagefile.Clean("image/png", r, &testimage.MemFile{})
	if !errors.As(err, new(connError)) || errors.Is(err, imagefile.ErrTruncated) {
		t.Fatalf("Clean = %v; want the reader's error", err)
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

// Decode decodes every frame: a GIF whose second frame is broken fails.
func TestDecodeChecksEveryGIFFrame(t *testing.T) {
	data := testimage.GIF(16, 16, 2)
	if err := imagefile.Decode("image/gif", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// Keep the second frame's descriptor, colour table and LZW code size,
	// and give it no pixel data at all.
	second := bytes.LastIndex(data, []byte{0x2c, 0, 0, 0, 0, 16, 0, 16, 0})
	lzw := second + 10
	if flags := data[second+9]; flags&0x80 != 0 {
		lzw += 3 << (flags&7 + 1)
	}
	broken := slices.Concat(data[:lzw+1], []byte{0, 0x3b})
	if _, _, err := clean("image/gif", broken); err != nil {
		t.Fatalf("the broken GIF is not even well-formed: %v", err)
	}
	if _, _, err := image.Decode(bytes.NewReader(broken)); err != nil {
		t.Fatalf("the first frame alone should decode: %v", err)
	}
	if err := imagefile.Decode("image/gif", bytes.NewReader(broken)); err == nil {
		t.Fatal("Decode accepted a GIF whose second frame has no pixels")
	}
}

// DecodeCost is never below what decoding really allocates.
func TestDecodeCostIsAnUpperBound(t *testing.T) {
	for name, data := range map[string][]byte{
		"png rgba":         testimage.NoisePNG(600, 400, 1),
		"png sparse":       testimage.PNG(1200, 900),
		"jpeg":             testimage.JPEG(800, 600),
		"jpeg progressive": testdata(t, "video-001.q50.420.progressive.jpeg"),
		"gif":              testimage.GIF(500, 400, 5),
		"webp lossless":    testimage.WebP(900, 700),
		"webp lossy":       testdata(t, "blue-purple-pink.lossy.webp"),
		"webp lossy alpha": testdata(t, "yellow_rose.lossy-with-alpha.webp"),
	} {
		contentType := "image/" + strings.Fields(name)[0]
		out, info, err := clean(contentType, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cost := imagefile.DecodeCost(contentType, cfg, info)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := imagefile.Decode(contentType, bytes.NewReader(out)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		runtime.ReadMemStats(&after)
		// Decoders also allocate fixed buffers (zlib's window, tables).
		const fixed = 256 << 10
		allocated := int64(after.TotalAlloc - before.TotalAlloc)
		if allocated > cost+fixed {
			t.Errorf("%s: decoding allocated %d bytes; DecodeCost said %d", name, allocated, cost)
		}
		t.Logf("%s: allocated %d, estimated %d", name, allocated, cost)
	}
}
