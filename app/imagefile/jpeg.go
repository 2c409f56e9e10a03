package imagefile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
)

// JPEG markers (ITU T.81, table B.1).
const (
	markerSOI   = 0xd8
	markerEOI   = 0xd9
	markerSOS   = 0xda
	markerRST0  = 0xd0
	markerRST7  = 0xd7
	markerTEM   = 0x01
	markerAPP0  = 0xe0
	markerAPP1  = 0xe1
	markerAPP2  = 0xe2
	markerAPP14 = 0xee
	markerAPP15 = 0xef
	markerCOM   = 0xfe
)

// jpeg copies the segments that describe the pixels (tables, frame, scans)
// and their entropy-coded data, and of the metadata keeps only what changes
// how the pixels look:
//
//   - APP0 JFIF, without its thumbnail, which could show the uncropped photo;
//   - APP2 ICC_PROFILE, the colour profile;
//   - APP14 Adobe's 12 bytes, which say how to read the colour channels;
//   - the EXIF orientation, rewritten as a fresh EXIF segment holding that one
//     tag, so a photo taken sideways is still shown upright.
//
// Everything else goes: EXIF (GPS position, time, camera serial number,
// thumbnail), XMP, IPTC, comments, maker notes. A primary image that
// announces a Multi-Picture Format index (phones append a gain map or depth
// map after it) is kept alone, and the appended images are dropped; any
// other data after EOI is refused.
func (c *cleaner) jpeg() error {
	var soi [2]byte
	if err := c.read(soi[:]); err != nil {
		return err
	}
	if soi != [2]byte{0xff, markerSOI} {
		return ErrMalformed
	}
	if err := c.write(soi[:]); err != nil {
		return err
	}
	var (
		multiPicture   bool
		sawOrientation bool
		marker         byte
		err            error
	)
	pending := false // marker already read, by the end of a scan
	for {
		if !pending {
			if marker, err = c.nextMarker(); err != nil {
				return err
			}
		}
		pending = false
		switch {
		case marker == markerEOI:
			if err := c.write([]byte{0xff, markerEOI}); err != nil {
				return err
			}
			err := c.end()
			if err == ErrTrailingData && multiPicture {
				c.info.Removed++
				_, err = io.Copy(io.Discard, c.r)
			}
			return err
		case marker == markerSOI, marker == 0x00:
			return ErrMalformed
		case markerRST0 <= marker && marker <= markerRST7, marker == markerTEM:
			if err := c.write([]byte{0xff, marker}); err != nil {
				return err
			}
			continue
		}
		var length [2]byte
		if err := c.read(length[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint16(length[:])) - 2
		if n < 0 {
			return ErrMalformed
		}
		switch {
		case marker >= markerAPP0 && marker <= markerAPP15 || marker == markerCOM:
			payload := c.segment[:n]
			if err := c.read(payload); err != nil {
				return err
			}
			keep := c.metadata(marker, payload, &sawOrientation, &multiPicture)
			if keep == nil {
				c.info.Removed++
				continue
			}
			if err := c.writeSegment(marker, keep); err != nil {
				return err
			}
		case marker == markerSOS:
			if err := c.write([]byte{0xff, marker, length[0], length[1]}); err != nil {
				return err
			}
			if err := c.copyN(int64(n), nil); err != nil {
				return err
			}
			if marker, err = c.entropyCoded(); err != nil {
				return err
			}
			pending = true
		case isSOF(marker):
			payload := c.segment[:n]
			if err := c.read(payload); err != nil {
				return err
			}
			// SOF2, 6, 10 and 14 are progressive.
			if marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce {
				c.info.Progressive = true
				c.info.Coefficients = max(c.info.Coefficients, coefficientBytes(payload))
			}
			if err := c.writeSegment(marker, payload); err != nil {
				return err
			}
		default:
			if err := c.write([]byte{0xff, marker, length[0], length[1]}); err != nil {
				return err
			}
			if err := c.copyN(int64(n), nil); err != nil {
				return err
			}
		}
	}
}

// isSOF reports whether marker starts a frame: SOF0 to SOF15, less DHT
// (0xc4), JPG (0xc8) and DAC (0xcc).
func isSOF(marker byte) bool {
	return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc
}

// coefficientBytes is what a progressive decoder holds for a frame: one
// block of 64 32-bit coefficients for every 8×8 block of every component,
// over whole MCUs. A header it cannot read counts as nothing: the decoder
// refuses it first.
func coefficientBytes(sof []byte) int64 {
	if len(sof) < 6 {
		return 0
	}
	height, width, components := int64(binary.BigEndian.Uint16(sof[1:])), int64(binary.BigEndian.Uint16(sof[3:])), int(sof[5])
	if len(sof) < 6+3*components {
		return 0
	}
	var hmax, vmax int64 = 1, 1
	for i := range components {
		factors := sof[6+3*i+1]
		hmax, vmax = max(hmax, int64(factors>>4)), max(vmax, int64(factors&15))
	}
	mcusAcross, mcusDown := (width+8*hmax-1)/(8*hmax), (height+8*vmax-1)/(8*vmax)
	var blocks int64
	for i := range components {
		factors := sof[6+3*i+1]
		blocks += mcusAcross * int64(factors>>4) * mcusDown * int64(factors&15)
	}
	return blocks * 64 * 4
}

// metadata decides what of an APPn or COM segment to keep: the bytes to
// write as its payload, or nil to drop it.
func (c *cleaner) metadata(marker byte, payload []byte, sawOrientation, multiPicture *bool) []byte {
	switch marker {
	case markerAPP0:
		// JFIF header: identifier, version, units, densities, and the
		// thumbnail's width and height, set to 0 with the thumbnail gone.
		// Even a short one stays: it tells decoders the colours are YCbCr.
		if bytes.HasPrefix(payload, []byte("JFIF\x00")) {
			if len(payload) < 14 {
				return payload
			}
			keep := payload[:14]
			keep[12], keep[13] = 0, 0
			return keep
		}
	case markerAPP1:
		if !*sawOrientation && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
			*sawOrientation = true
			if o := exifOrientation(payload[6:]); o > 1 {
				c.info.Removed++ // the original segment
				return orientationExif(o)
			}
		}
	case markerAPP2:
		if bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")) {
			return payload
		}
		if bytes.HasPrefix(payload, []byte("MPF\x00")) {
			*multiPicture = true
		}
	case markerAPP14:
		// Identifier, version, flags and the colour transform: 12 bytes,
		// all decoders read; a shorter one they ignore.
		if len(payload) >= 12 && bytes.HasPrefix(payload, []byte("Adobe")) {
			return payload[:12]
		}
	}
	return nil
}

func (c *cleaner) writeSegment(marker byte, payload []byte) error {
	header := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(header[2:], uint16(len(payload)+2))
	if err := c.write(header); err != nil {
		return err
	}
	return c.write(payload)
}

// nextMarker reads the marker that must come next, skipping fill bytes.
// Unlike some decoders it refuses stray bytes between segments, where a
// second file could hide.
func (c *cleaner) nextMarker() (byte, error) {
	b, err := c.readByte()
	if err != nil {
		return 0, err
	}
	if b != 0xff {
		return 0, ErrMalformed
	}
	for b == 0xff {
		if b, err = c.readByte(); err != nil {
			return 0, err
		}
	}
	return b, nil
}

// entropyCoded copies a scan's entropy-coded data, with its stuffed zero
// bytes and restart markers, and returns the marker that ends it.
func (c *cleaner) entropyCoded() (byte, error) {
	for {
		data, err := c.r.ReadSlice(0xff)
		if err == bufio.ErrBufferFull { // no 0xff in a whole buffer
			if err := c.write(data); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, readErr(err)
		}
		// data ends with 0xff; what follows says what it is.
		if err := c.write(data[:len(data)-1]); err != nil {
			return 0, err
		}
		next, err := c.readByte()
		if err != nil {
			return 0, err
		}
		for next == 0xff {
			if next, err = c.readByte(); err != nil {
				return 0, err
			}
		}
		if next == 0x00 || markerRST0 <= next && next <= markerRST7 {
			if err := c.write([]byte{0xff, next}); err != nil {
				return 0, err
			}
			continue
		}
		return next, nil
	}
}

// exifOrientation returns the Orientation tag (1 to 8) of IFD0 in a TIFF
// structure, or 0 if there is none or the structure is broken.
func exifOrientation(tiff []byte) uint16 {
	if len(tiff) < 8 {
		return 0
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0
	}
	if order.Uint16(tiff[2:]) != 42 {
		return 0
	}
	ifd := uint64(order.Uint32(tiff[4:]))
	if ifd+2 > uint64(len(tiff)) {
		return 0
	}
	count := uint64(order.Uint16(tiff[ifd:]))
	for i := range count {
		entry := ifd + 2 + 12*i
		if entry+12 > uint64(len(tiff)) {
			return 0
		}
		if order.Uint16(tiff[entry:]) != 0x0112 {
			continue
		}
		const typeShort = 3
		if order.Uint16(tiff[entry+2:]) != typeShort || order.Uint32(tiff[entry+4:]) != 1 {
			return 0
		}
		if o := order.Uint16(tiff[entry+8:]); o >= 1 && o <= 8 {
			return o
		}
		return 0
	}
	return 0
}

// orientationExif is the payload of an APP1 segment whose EXIF holds only
// the Orientation tag: big-endian TIFF, IFD0 with one SHORT entry, no next
// IFD.
func orientationExif(orientation uint16) []byte {
	return []byte{
		'E', 'x', 'i', 'f', 0, 0,
		'M', 'M', 0, 42, 0, 0, 0, 8,
		0, 1,
		0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(orientation >> 8), byte(orientation), 0, 0,
		0, 0, 0, 0,
	}
}
