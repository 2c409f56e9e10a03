package imagefile

import (
	"encoding/binary"
	"fmt"
	"io"
)

// VP8X flags.
const (
	webpAnimation = 1 << 1
	webpXMP       = 1 << 2
	webpEXIF      = 1 << 3
)

// webp copies the RIFF chunks that describe the pixels (VP8X, ICCP, ALPH
// and one VP8 or VP8L image) and drops EXIF, XMP and unknown chunks,
// clearing their VP8X flags. The RIFF size must be the file's size; the
// output's is rewritten at the end.
func (c *cleaner) webp() error {
	var header [12]byte
	if err := c.read(header[:]); err != nil {
		return err
	}
	if string(header[:4]) != "RIFF" || string(header[8:]) != "WEBP" {
		return ErrMalformed
	}
	remaining := int64(binary.LittleEndian.Uint32(header[4:])) - 4
	if remaining < 0 {
		return ErrMalformed
	}
	if err := c.write(header[:]); err != nil {
		return err
	}
	sawImage := false
	for first := true; remaining > 0; first = false {
		var chunk [8]byte
		if remaining < int64(len(chunk)) {
			return ErrMalformed
		}
		if err := c.read(chunk[:]); err != nil {
			return err
		}
		size := int64(binary.LittleEndian.Uint32(chunk[4:]))
		padded := size + size&1
		remaining -= int64(len(chunk)) + padded
		if remaining < 0 {
			return ErrMalformed // the chunk runs past the RIFF size
		}
		kind := string(chunk[:4])
		switch kind {
		case "ANIM", "ANMF":
			return ErrAnimatedWebP
		case "EXIF", "XMP ":
			if err := c.skip(padded); err != nil {
				return err
			}
			continue
		case "VP8X", "ICCP", "ALPH", "VP8 ", "VP8L":
		default:
			if err := c.skip(padded); err != nil {
				return err
			}
			continue
		}
		// What describes the image comes before it, VP8X first.
		if sawImage || kind == "VP8X" && !first {
			return ErrMalformed
		}
		if err := c.write(chunk[:]); err != nil {
			return err
		}
		switch kind {
		case "VP8X":
			if size != 10 {
				return ErrMalformed
			}
			var vp8x [10]byte
			if err := c.read(vp8x[:]); err != nil {
				return err
			}
			if vp8x[0]&webpAnimation != 0 {
				return ErrAnimatedWebP
			}
			vp8x[0] &^= webpXMP | webpEXIF
			if err := c.write(vp8x[:]); err != nil {
				return err
			}
			continue
		case "ALPH":
			c.info.Alpha = true
		case "VP8L":
			c.info.Lossless = true
			sawImage = true
		case "VP8 ":
			sawImage = true
		}
		if err := c.copyN(padded, nil); err != nil {
			return err
		}
	}
	if !sawImage {
		return ErrMalformed
	}
	if err := c.end(); err != nil {
		return err
	}
	return c.patchRIFFSize()
}

// patchRIFFSize writes the output's RIFF size, which drops may have changed.
func (c *cleaner) patchRIFFSize() error {
	var size [4]byte
	binary.LittleEndian.PutUint32(size[:], uint32(c.written-8))
	if _, err := c.w.Seek(4, io.SeekStart); err != nil {
		return fmt.Errorf("imagefile: write: %w", err)
	}
	if _, err := c.w.Write(size[:]); err != nil {
		return fmt.Errorf("imagefile: write: %w", err)
	}
	if _, err := c.w.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("imagefile: write: %w", err)
	}
	return nil
}
