// Package qr draws activation codes as QR codes (SGP.22 §4.1.3: the "LPA:"-prefixed activation
// code an end user scans with the device camera), as PNG or SVG images.
//
// Codes are encoded by rsc.io/qr (ISO/IEC 18004) at error correction level M, which restores
// about 15 % of damaged modules and keeps a 100-character activation code at version 5 to 6
// (37 to 41 modules a side); every image has the 4-module white quiet zone the standard asks
// for. Both images are black on white and carry nothing but the code.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"

	"rsc.io/qr"
)

// QuietZone is the white border around the code, in modules (ISO/IEC 18004 §7.3.8).
const QuietZone = 4

// MaxText bounds the text encoded: an activation code is at most 255 characters plus "LPA:"
// (SGP.22 §4.1); the margin leaves room for later formats.
const MaxText = 512

// Modules returns the QR code of text as a square matrix, true for black, without quiet zone.
func Modules(text string) ([][]bool, error) {
	if text == "" {
		return nil, errors.New("qr: empty text")
	}
	if len(text) > MaxText {
		return nil, fmt.Errorf("qr: text of %d bytes is longer than %d", len(text), MaxText)
	}
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	m := make([][]bool, c.Size)
	for y := range m {
		m[y] = make([]bool, c.Size)
		for x := range m[y] {
			m[y][x] = c.Black(x, y)
		}
	}
	return m, nil
}

// PNG returns a size×size pixel PNG of the QR code of text. Each module is the same whole
// number of pixels, as many as fit with the quiet zone; what is left over widens the white
// border. size must leave at least one pixel per module.
func PNG(text string, size int) ([]byte, error) {
	m, err := Modules(text)
	if err != nil {
		return nil, err
	}
	n := len(m) + 2*QuietZone
	if size < n {
		return nil, fmt.Errorf("qr: %d pixels are too few for %d modules with the quiet zone (need %d)", size, len(m), n)
	}
	if size > 1<<14 {
		return nil, fmt.Errorf("qr: %d pixels a side is too large", size)
	}
	scale := size / n
	origin := (size-scale*n)/2 + QuietZone*scale
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.Gray{Y: 0xff}, color.Gray{Y: 0}})
	for y, row := range m {
		for x, black := range row {
			if !black {
				continue
			}
			for py := origin + y*scale; py < origin+(y+1)*scale; py++ {
				line := img.Pix[py*img.Stride:]
				for px := origin + x*scale; px < origin+(x+1)*scale; px++ {
					line[px] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG returns the QR code of text as an SVG document whose user units are modules: the viewBox
// is the code plus its quiet zone, and the image scales to whatever size it is given. Black
// modules are one path of horizontal runs.
func SVG(text string) ([]byte, error) {
	m, err := Modules(text)
	if err != nil {
		return nil, err
	}
	n := strconv.Itoa(len(m) + 2*QuietZone)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 ` + n + ` ` + n +
		`" width="` + n + `" height="` + n + `" shape-rendering="crispEdges">` + "\n")
	b.WriteString(`<rect width="` + n + `" height="` + n + `" fill="#fff"/>` + "\n")
	b.WriteString(`<path fill="#000" d="`)
	for y, row := range m {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+QuietZone, y+QuietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/>` + "\n</svg>\n")
	return b.Bytes(), nil
}
