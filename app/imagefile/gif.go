package imagefile

import (
	"encoding/binary"
)

// GIF block introducers and extension labels.
const (
	gifExtension     = 0x21
	gifImage         = 0x2c
	gifTrailer       = 0x3b
	gifPlainText     = 0x01
	gifGraphicCtrl   = 0xf9
	gifComment       = 0xfe
	gifApplication   = 0xff
	gifColorTableBit = 0x80
)

// gif copies the header, colour tables, frames, graphic controls and the
// looping extension up to the trailer. Comments and other application
// extensions (XMP lives in one) are dropped.
func (c *cleaner) gif() error {
	var header [13]byte // signature and logical screen descriptor
	if err := c.read(header[:]); err != nil {
		return err
	}
	if sig := string(header[:6]); sig != "GIF87a" && sig != "GIF89a" {
		return ErrMalformed
	}
	if err := c.write(header[:]); err != nil {
		return err
	}
	if err := c.colorTable(header[10]); err != nil {
		return err
	}
	for {
		introducer, err := c.readByte()
		if err != nil {
			return err
		}
		switch introducer {
		case gifTrailer:
			if err := c.write([]byte{gifTrailer}); err != nil {
				return err
			}
			return c.end()
		case gifImage:
			var desc [9]byte // left, top, width, height, flags
			if err := c.read(desc[:]); err != nil {
				return err
			}
			c.info.Frames++
			c.info.FramePixels += int64(binary.LittleEndian.Uint16(desc[4:])) * int64(binary.LittleEndian.Uint16(desc[6:]))
			if err := c.write(append([]byte{gifImage}, desc[:]...)); err != nil {
				return err
			}
			if err := c.colorTable(desc[8]); err != nil {
				return err
			}
			if err := c.copyN(1, nil); err != nil { // LZW minimum code size
				return err
			}
			if err := c.subBlocks(true); err != nil {
				return err
			}
		case gifExtension:
			if err := c.gifExtension(); err != nil {
				return err
			}
		default:
			return ErrMalformed
		}
	}
}

func (c *cleaner) gifExtension() error {
	label, err := c.readByte()
	if err != nil {
		return err
	}
	switch label {
	case gifGraphicCtrl, gifPlainText:
		if err := c.write([]byte{gifExtension, label}); err != nil {
			return err
		}
		return c.subBlocks(true)
	case gifComment:
		c.info.Removed++
		return c.subBlocks(false)
	case gifApplication:
		size, err := c.readByte()
		if err != nil {
			return err
		}
		id := make([]byte, size)
		if err := c.read(id); err != nil {
			return err
		}
		if app := string(id); app != "NETSCAPE2.0" && app != "ANIMEXTS1.0" {
			c.info.Removed++
			return c.subBlocks(false)
		}
		if err := c.write(append([]byte{gifExtension, label, size}, id...)); err != nil {
			return err
		}
		return c.subBlocks(true)
	default:
		return ErrMalformed // as the decoder would
	}
}

// colorTable copies the colour table that flags announce, if any.
func (c *cleaner) colorTable(flags byte) error {
	if flags&gifColorTableBit == 0 {
		return nil
	}
	return c.copyN(3<<(flags&7+1), nil)
}

// subBlocks copies (or drops) data sub-blocks up to the empty one.
func (c *cleaner) subBlocks(keep bool) error {
	for {
		size, err := c.readByte()
		if err != nil {
			return err
		}
		if keep {
			if err := c.write([]byte{size}); err != nil {
				return err
			}
		}
		if size == 0 {
			return nil
		}
		if keep {
			err = c.copyN(int64(size), nil)
		} else {
			_, err = c.r.Discard(int(size))
			err = readErr(err)
		}
		if err != nil {
			return err
		}
	}
}
