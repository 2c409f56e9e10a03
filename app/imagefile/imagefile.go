// Package imagefile checks that an uploaded file holds exactly one whole
// image of an accepted type, and copies it without the metadata that can
// tell where, when or with what it was taken. It imports only the standard
// library and golang.org/x/image, no package of the app.
//
// Clean walks the file's own structure (JPEG segments, PNG chunks, GIF
// blocks, WebP chunks) as it streams, so it needs memory for one segment at
// most, never the whole file. It never decodes or re-encodes pixels: what it
// keeps is copied byte for byte. Decode then proves the pixels decode.
package imagefile

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	_ "image/jpeg" // decoders for image.Decode
	_ "image/png"
	"io"

	_ "golang.org/x/image/webp"
)

// Errors Clean returns for a file it refuses. Any other error is the
// reader's or the writer's.
var (
	// ErrTruncated: the file ends before the image does.
	ErrTruncated = errors.New("imagefile: the image is cut short")
	// ErrTrailingData: bytes follow the image's end marker.
	ErrTrailingData = errors.New("imagefile: data after the end of the image")
	// ErrMalformed: the file breaks its format's structure.
	ErrMalformed = errors.New("imagefile: malformed image")
	// ErrAnimatedWebP: animated WebP, which no decoder here can check.
	ErrAnimatedWebP = errors.New("imagefile: animated WebP is not supported")
)

// Info describes a cleaned image, for estimating what decoding it costs.
type Info struct {
	// Size is the number of bytes written.
	Size int64
	// Frames counts a GIF's frames; other formats have 1.
	Frames int
	// FramePixels is the sum of every GIF frame's width × height.
	FramePixels int64
	// Progressive is a progressive JPEG, whose decoder holds every
	// coefficient in memory.
	Progressive bool
	// Coefficients is how many bytes those coefficients take.
	Coefficients int64
	// Interlaced is an Adam7-interlaced PNG.
	Interlaced bool
	// Lossless is a lossless (VP8L) WebP.
	Lossless bool
	// Alpha is a lossy WebP with an alpha channel, which is decoded as a
	// lossless image of its own.
	Alpha bool
	// Removed counts the metadata segments, chunks or blocks dropped.
	Removed int
}

// Clean copies the image of contentType (image/jpeg, image/png, image/gif or
// image/webp) from r to w, dropping metadata, and checks its structure from
// the first byte to the end marker and that nothing follows. w must be at
// its start; WebP rewrites its header at the end.
//
// r's own failures are returned as they are, unless they are the values
// io.EOF or io.ErrUnexpectedEOF, which Clean reports as ErrTruncated.
func Clean(contentType string, r io.Reader, w io.WriteSeeker) (Info, error) {
	c := &cleaner{r: bufio.NewReaderSize(r, 32<<10), w: w, info: Info{Frames: 1}}
	var err error
	switch contentType {
	case "image/jpeg":
		err = c.jpeg()
	case "image/png":
		err = c.png()
	case "image/gif":
		c.info.Frames = 0
		err = c.gif()
	case "image/webp":
		err = c.webp()
	default:
		return Info{}, fmt.Errorf("imagefile: unsupported content type %q", contentType)
	}
	c.info.Size = c.written
	return c.info, err
}

// cleaner is one Clean call: a buffered reader, the writer and what it has
// seen so far.
type cleaner struct {
	r       *bufio.Reader
	w       io.WriteSeeker
	written int64
	info    Info
	// segment holds one JPEG segment's payload at a time.
	segment [1 << 16]byte
}

// readErr turns an early end of the input into ErrTruncated. It compares
// the values themselves, not what they wrap, so a reader can report its own
// failure with an error that wraps io.ErrUnexpectedEOF.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}

func (c *cleaner) read(p []byte) error {
	_, err := io.ReadFull(c.r, p)
	return readErr(err)
}

func (c *cleaner) readByte() (byte, error) {
	b, err := c.r.ReadByte()
	return b, readErr(err)
}

func (c *cleaner) write(p []byte) error {
	n, err := c.w.Write(p)
	c.written += int64(n)
	if err != nil {
		return fmt.Errorf("imagefile: write: %w", err)
	}
	return nil
}

// copyN copies n bytes from the input to the output and to also, if set.
func (c *cleaner) copyN(n int64, also io.Writer) error {
	for n > 0 {
		chunk, err := c.r.Peek(int(min(n, int64(c.r.Size()))))
		if len(chunk) == 0 {
			return readErr(err)
		}
		if also != nil {
			_, _ = also.Write(chunk)
		}
		if err := c.write(chunk); err != nil {
			return err
		}
		_, _ = c.r.Discard(len(chunk))
		n -= int64(len(chunk))
	}
	return nil
}

// skip drops n bytes of the input.
func (c *cleaner) skip(n int64) error {
	c.info.Removed++
	for n > 0 {
		step := int(min(n, 1<<30))
		skipped, err := c.r.Discard(step)
		if err != nil {
			return readErr(err)
		}
		n -= int64(skipped)
	}
	return nil
}

// end checks that the input ends here.
func (c *cleaner) end() error {
	_, err := c.r.Peek(1)
	switch {
	case err == nil:
		return ErrTrailingData
	case err == io.EOF:
		return nil
	default:
		return err
	}
}

// Decode decodes the whole image, every frame of a GIF, and discards it. It
// proves that a file Clean accepted is an image a browser can show, not
// just a well-formed header. Check the dimensions with image.DecodeConfig
// first, and the memory with DecodeCost.
func Decode(contentType string, r io.Reader) error {
	if contentType == "image/gif" {
		_, err := gif.DecodeAll(r)
		return err
	}
	_, _, err := image.Decode(r)
	return err
}

// DecodeCost is an upper estimate, in bytes, of the memory Decode needs for
// an image whose header says cfg.
func DecodeCost(contentType string, cfg image.Config, info Info) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	switch contentType {
	case "image/gif":
		// Every frame is kept, one byte per pixel, and each has its own
		// LZW decoder.
		return max(info.FramePixels, pixels) + int64(info.Frames)*(64<<10)
	case "image/webp":
		// Lossless: NRGBA output plus the decoder's 32-bit working pixels.
		const lossless = 12
		if info.Lossless {
			return pixels * lossless
		}
		if info.Alpha {
			return pixels * (3 + lossless)
		}
		return pixels * 3 // YCbCr 4:2:0, rounded up
	case "image/jpeg":
		bytesPerPixel := int64(3) // YCbCr, 4:4:4 at most
		switch cfg.ColorModel {
		case color.GrayModel:
			bytesPerPixel = 1
		case color.CMYKModel:
			bytesPerPixel = 8 // YCCK passes through YCbCr
		}
		return pixels*bytesPerPixel + info.Coefficients
	default: // PNG
		bytesPerPixel := int64(8)
		switch cfg.ColorModel {
		case color.GrayModel:
			bytesPerPixel = 1
		case color.Gray16Model:
			bytesPerPixel = 2
		case color.RGBAModel, color.NRGBAModel:
			bytesPerPixel = 4
		default:
			if _, ok := cfg.ColorModel.(color.Palette); ok {
				bytesPerPixel = 1
			}
		}
		if info.Interlaced {
			bytesPerPixel *= 2 // each pass is decoded apart, then merged
		}
		// Plus the current and previous rows, unfiltered.
		return pixels*bytesPerPixel + int64(cfg.Width)*16
	}
}
