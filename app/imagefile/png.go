package imagefile

import (
	"encoding/binary"
	"hash/crc32"
)

const pngSignature = "\x89PNG\r\n\x1a\n"

// pngKept are the chunks that say how the pixels look, copied as they are.
// Every other ancillary chunk is dropped: text (tEXt, zTXt, iTXt, where XMP
// lives), eXIf, tIME, private chunks, and the APNG animation chunks (acTL,
// fcTL, fdAT), whose frames no decoder here checks: an animated PNG is kept
// as its still default image, as viewers without APNG show it.
var pngKept = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "cHRM": true, "gAMA": true, "iCCP": true, "sBIT": true, "sRGB": true,
	"cICP": true, "mDCV": true, "cLLI": true, "bKGD": true, "hIST": true, "pHYs": true, "sPLT": true,
}

// png copies the chunks that describe the pixels, checking each one's CRC,
// from IHDR to IEND.
func (c *cleaner) png() error {
	var header [8]byte
	if err := c.read(header[:]); err != nil {
		return err
	}
	if string(header[:]) != pngSignature {
		return ErrMalformed
	}
	if err := c.write(header[:]); err != nil {
		return err
	}
	for first := true; ; first = false {
		var chunk [8]byte
		if err := c.read(chunk[:]); err != nil {
			return err
		}
		length, kind := binary.BigEndian.Uint32(chunk[:4]), string(chunk[4:])
		if length > 1<<31-1 || !pngChunkName(kind) || first != (kind == "IHDR") {
			return ErrMalformed
		}
		critical := kind[0] >= 'A' && kind[0] <= 'Z'
		if !pngKept[kind] {
			if critical { // a decoder must refuse what it does not know
				return ErrMalformed
			}
			if err := c.skip(int64(length) + 4); err != nil {
				return err
			}
			continue
		}
		switch kind {
		case "IHDR":
			if length != 13 {
				return ErrMalformed
			}
			ihdr, err := c.r.Peek(13)
			if err != nil {
				return readErr(err)
			}
			c.info.Interlaced = ihdr[12] == 1
		case "IEND":
			if length != 0 {
				return ErrMalformed
			}
		}
		if err := c.write(chunk[:]); err != nil {
			return err
		}
		sum := crc32.NewIEEE()
		_, _ = sum.Write(chunk[4:])
		if err := c.copyN(int64(length), sum); err != nil {
			return err
		}
		var crc [4]byte
		if err := c.read(crc[:]); err != nil {
			return err
		}
		if binary.BigEndian.Uint32(crc[:]) != sum.Sum32() {
			return ErrMalformed
		}
		if err := c.write(crc[:]); err != nil {
			return err
		}
		if kind == "IEND" {
			return c.end()
		}
	}
}

// pngChunkName reports whether kind is four ASCII letters.
func pngChunkName(kind string) bool {
	for _, b := range []byte(kind) {
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z') {
			return false
		}
	}
	return true
}
