package imagefile_test

import (
	"bytes"
	"image"
	"image/gif"
	"reflect"
	"testing"
)

var contentTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// FuzzClean feeds any bytes to Clean as every type. Whatever it accepts
// must come out the same when cleaned again, keep its dimensions, and, when
// small enough to decode here (4,096 pixels), keep every pixel.
func FuzzClean(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzClean: the samples these tests use.
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, contentType := range contentTypes {
			out, info, err := clean(contentType, data)
			if err != nil {
				continue
			}
			if info.Size != int64(len(out)) || len(out) > len(data)+64 {
				t.Fatalf("%s: %d bytes in, %d out, Info.Size %d", contentType, len(data), len(out), info.Size)
			}
			again, _, err := clean(contentType, out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("%s: cleaning the output again: %v, %d bytes became %d", contentType, err, len(out), len(again))
			}
			before, _, errBefore := image.DecodeConfig(bytes.NewReader(data))
			if errBefore != nil {
				continue
			}
			after, _, errAfter := image.DecodeConfig(bytes.NewReader(out))
			if errAfter != nil || after.Width != before.Width || after.Height != before.Height {
				t.Fatalf("%s: dimensions %dx%d became %dx%d (%v)", contentType, before.Width, before.Height, after.Width, after.Height, errAfter)
			}
			// Decoding is what makes an input slow: only small ones, so
			// the fuzzer stays quick.
			if int64(before.Width)*int64(before.Height) > 1<<12 || info.FramePixels > 1<<12 {
				continue
			}
			if want, ok := decodeFrames(contentType, data); ok {
				if got, ok := decodeFrames(contentType, out); !ok || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: the pixels changed", contentType)
				}
			}
		}
	})
}

func decodeFrames(contentType string, data []byte) (any, bool) {
	if contentType == "image/gif" {
		g, err := gif.DecodeAll(bytes.NewReader(data))
		if err != nil {
			return nil, false
		}
		return g.Image, true
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	return img, err == nil
}
