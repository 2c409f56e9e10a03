// Package testimage builds image files for tests: plain ones from the
// standard encoders, and ones carrying the metadata, damage or trailing
// bytes that an upload must be checked for. It imports only the standard
// library; only tests import it.
package testimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
)

// Secret is written into every piece of metadata these builders add, so a
// test can check that none of it was kept.
const Secret = "secret-gps-51.5007N-0.1246W"

// PNG encodes a w×h RGBA image with a few coloured pixels; it compresses
// well, so even a large one is a small file.
func PNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range min(w, 256) {
		img.Set(x, x%h, color.RGBA{R: 200, G: uint8(x), B: 40, A: 255})
	}
	return encodePNG(img)
}

// NoisePNG encodes w×h pixels of noise, about four bytes a pixel: the
// largest PNG for its pixel count.
func NoisePNG(w, h int, seed uint64) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, seed))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	return encodePNG(img)
}

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// JPEG encodes a w×h gradient.
func JPEG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: uint8(x + y), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// GIF encodes an animation of frames w×h frames that loops forever.
func GIF(w, h, frames int) []byte {
	anim := &gif.GIF{LoopCount: 0}
	for i := range frames {
		img := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for x := range min(w, 64) {
			img.SetColorIndex(x, (x+i)%h, uint8(i+x))
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// WebP is a lossless w×h WebP of one colour. Each prefix code has a single
// symbol, so the pixels take no bits at all: a tiny file can claim any size.
func WebP(w, h int) []byte {
	return riff(chunk("VP8L", vp8l(w, h)))
}

// WebPWithMetadata is WebP(w, h) in the extended format, with EXIF and XMP
// chunks after the image, flagged in VP8X.
func WebPWithMetadata(w, h int) []byte {
	const xmpFlag, exifFlag = 1 << 2, 1 << 3
	return riff(vp8x(w, h, xmpFlag|exifFlag), chunk("VP8L", vp8l(w, h)),
		chunk("EXIF", exif(6)), chunk("XMP ", []byte("<x:xmpmeta>"+Secret+"</x:xmpmeta>")))
}

// AnimatedWebP has the animation flag and an ANIM chunk.
func AnimatedWebP() []byte {
	return riff(vp8x(1, 1, 1<<1), chunk("ANIM", make([]byte, 6)), chunk("ANMF", make([]byte, 16)))
}

func vp8x(w, h int, flags byte) []byte {
	data := make([]byte, 10)
	data[0] = flags
	putUint24(data[4:], uint32(w-1))
	putUint24(data[7:], uint32(h-1))
	return chunk("VP8X", data)
}

func putUint24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }

func riff(chunks ...[]byte) []byte {
	body := bytes.Join(chunks, nil)
	out := []byte("RIFF\x00\x00\x00\x00WEBP")
	binary.LittleEndian.PutUint32(out[4:], uint32(4+len(body)))
	return append(out, body...)
}

func chunk(kind string, data []byte) []byte {
	out := append([]byte(kind), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(data)))
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// vp8l is a VP8L bitstream of w×h pixels of one colour.
func vp8l(w, h int) []byte {
	var b bitWriter
	b.write(0x2f, 8)
	b.write(uint32(w-1), 14)
	b.write(uint32(h-1), 14)
	b.write(0, 1) // alpha unused
	b.write(0, 3) // version
	b.write(0, 1) // no transform
	b.write(0, 1) // no colour cache
	b.write(0, 1) // no meta prefix codes
	// Five simple prefix codes of one 8-bit symbol each: green, red,
	// blue, alpha, distance.
	for _, symbol := range []uint32{120, 200, 40, 255, 0} {
		b.write(1, 1)      // simple code
		b.write(0, 1)      // one symbol
		b.write(1, 1)      // of 8 bits
		b.write(symbol, 8) // the symbol
	}
	return b.bytes()
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	out  []byte
	bits uint64
	n    uint
}

func (b *bitWriter) write(v uint32, n uint) {
	b.bits |= uint64(v) << b.n
	b.n += n
	for b.n >= 8 {
		b.out = append(b.out, byte(b.bits))
		b.bits >>= 8
		b.n -= 8
	}
}

func (b *bitWriter) bytes() []byte {
	if b.n > 0 {
		return append(b.out, byte(b.bits))
	}
	return b.out
}

// JPEGWithMetadata is JPEG(w, h) carrying what a phone writes: a JFIF
// thumbnail, EXIF with the orientation and a GPS position, XMP, IPTC, a
// comment, and the colour segments that must stay (ICC profile, Adobe).
func JPEGWithMetadata(w, h int, orientation uint16) []byte {
	plain := JPEG(w, h)
	thumbnail := append([]byte("JFIF\x00\x01\x02\x00\x00\x48\x00\x48\x01\x01"), []byte(Secret[:3])...)
	segments := [][]byte{
		segment(0xe0, thumbnail),
		segment(0xe1, append([]byte("Exif\x00\x00"), exif(orientation)...)),
		segment(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+Secret+"</x:xmpmeta>")),
		segment(0xe2, []byte("ICC_PROFILE\x00\x01\x01fake profile")),
		segment(0xed, []byte("Photoshop 3.0\x00"+Secret)),
		segment(0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")),
		segment(0xfe, []byte(Secret)),
	}
	return InsertJPEGSegments(plain, segments...)
}

// InsertJPEGSegments puts segments right after a JPEG's SOI marker.
func InsertJPEGSegments(jpegData []byte, segments ...[]byte) []byte {
	out := append([]byte{}, jpegData[:2]...)
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpegData[2:]...)
}

func segment(marker byte, payload []byte) []byte {
	out := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(out[2:], uint16(len(payload)+2))
	return append(out, payload...)
}

// ProgressiveBomb is a JPEG that is only the headers of a progressive w×h
// frame in three full-resolution components and of an empty first scan: a
// few bytes that would make a decoder allocate 12 bytes a pixel for
// coefficients.
func ProgressiveBomb(w, h int) []byte {
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0}
	sos := []byte{3, 1, 0, 2, 0, 3, 0, 0, 0, 0}
	out := append([]byte{0xff, 0xd8}, segment(0xc2, sof)...)
	out = append(out, segment(0xda, sos)...)
	return append(out, 0xff, 0xd9)
}

// TinyFramesGIF is an animation of frames 1×1 frames in two colours.
func TinyFramesGIF(frames int) []byte {
	anim := &gif.GIF{}
	for range frames {
		anim.Image = append(anim.Image, image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.Black, color.White}))
		anim.Delay = append(anim.Delay, 1)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// MultiPictureJPEG is a primary JPEG that announces a Multi-Picture Format
// index, followed by a second JPEG, as phones store a gain map.
func MultiPictureJPEG(w, h int) []byte {
	primary := InsertJPEGSegments(JPEG(w, h), segment(0xe2, []byte("MPF\x00MM\x00\x2a\x00\x00\x00\x08")))
	return append(primary, JPEGWithMetadata(8, 8, 1)...)
}

// exif is a big-endian TIFF structure: IFD0 with ImageDescription, the
// orientation and a pointer to a GPS IFD holding a latitude reference.
func exif(orientation uint16) []byte {
	var b bytes.Buffer
	be := binary.BigEndian
	b.WriteString("MM\x00\x2a")
	_ = binary.Write(&b, be, uint32(8))
	description := []byte(Secret + "\x00")
	const entries = 3
	descOffset := uint32(8 + 2 + entries*12 + 4)
	gpsOffset := descOffset + uint32(len(description))
	_ = binary.Write(&b, be, uint16(entries))
	for _, e := range []struct {
		tag, kind uint16
		count     uint32
		value     uint32
	}{
		{0x010e, 2, uint32(len(description)), descOffset}, // ImageDescription
		{0x0112, 3, 1, uint32(orientation) << 16},         // Orientation
		{0x8825, 4, 1, gpsOffset},                         // GPS IFD
	} {
		_ = binary.Write(&b, be, e.tag)
		_ = binary.Write(&b, be, e.kind)
		_ = binary.Write(&b, be, e.count)
		_ = binary.Write(&b, be, e.value)
	}
	_ = binary.Write(&b, be, uint32(0)) // no IFD1
	b.Write(description)
	_ = binary.Write(&b, be, uint16(1))
	_ = binary.Write(&b, be, uint16(1)) // GPSLatitudeRef
	_ = binary.Write(&b, be, uint16(2))
	_ = binary.Write(&b, be, uint32(2))
	b.WriteString("N\x00\x00\x00")
	_ = binary.Write(&b, be, uint32(0))
	return b.Bytes()
}

// PNGWithMetadata is PNG(w, h) with text, XMP, EXIF, time and private
// chunks before IEND.
func PNGWithMetadata(w, h int) []byte {
	plain := PNG(w, h)
	iend := len(plain) - 12
	out := append([]byte{}, plain[:iend]...)
	for _, c := range []struct{ kind, data string }{
		{"tEXt", "Comment\x00" + Secret},
		{"iTXt", "XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>" + Secret + "</x:xmpmeta>"},
		{"eXIf", string(exif(6))},
		{"tIME", "\x07\xea\x03\x04\x05\x06\x07"},
		{"prVt", Secret},
	} {
		out = append(out, PNGChunk(c.kind, []byte(c.data))...)
	}
	return append(out, plain[iend:]...)
}

// PNGChunk encodes one chunk with its CRC.
func PNGChunk(kind string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, kind...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// PNGWithBadPixels is a PNG whose chunks are sound (every CRC matches) but
// whose compressed pixels are not: only a full decode finds out.
func PNGWithBadPixels(w, h int) []byte {
	data := PNG(w, h)
	at := bytes.Index(data, []byte("IDAT"))
	length := int(binary.BigEndian.Uint32(data[at-4:]))
	payload := data[at+4 : at+4+length]
	for i := 2; i < len(payload)-4; i++ { // keep the zlib header, break the rest
		payload[i] ^= 0x5a
	}
	binary.BigEndian.PutUint32(data[at+4+length:], crc32.ChecksumIEEE(data[at:at+4+length]))
	return data
}

// GIFWithMetadata is GIF(w, h, frames) with a comment and an XMP
// application extension before the trailer.
func GIFWithMetadata(w, h, frames int) []byte {
	plain := GIF(w, h, frames)
	body := plain[:len(plain)-1]
	comment := append([]byte{0x21, 0xfe}, subBlocks([]byte(Secret))...)
	xmp := append([]byte{0x21, 0xff, 11}, "XMP DataXMP"...)
	xmp = append(xmp, subBlocks([]byte("<x:xmpmeta>"+Secret+"</x:xmpmeta>"))...)
	out := append(append(append([]byte{}, body...), comment...), xmp...)
	return append(out, 0x3b)
}

func subBlocks(data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		n := min(len(data), 255)
		out = append(out, byte(n))
		out = append(out, data[:n]...)
		data = data[n:]
	}
	return append(out, 0)
}

// MemFile is an in-memory io.WriteSeeker, standing in for the temporary
// file an upload is cleaned into.
type MemFile struct {
	Data []byte
	off  int64
}

// Write writes at the current offset, growing the file as needed.
func (m *MemFile) Write(p []byte) (int, error) {
	if end := m.off + int64(len(p)); end > int64(len(m.Data)) {
		m.Data = append(m.Data, make([]byte, end-int64(len(m.Data)))...)
	}
	copy(m.Data[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

// Seek moves the offset as io.Seeker does.
func (m *MemFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.off = offset
	case io.SeekCurrent:
		m.off += offset
	case io.SeekEnd:
		m.off = int64(len(m.Data)) + offset
	}
	return m.off, nil
}
