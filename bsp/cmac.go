package bsp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
)

// cmac is AES-CMAC (NIST SP 800-38B, RFC 4493), the MAC of SCP03 and of the
// BSP. Neither the standard library nor golang.org/x/crypto exports one.
type cmac struct {
	b      cipher.Block
	k1, k2 [aes.BlockSize]byte
}

func newCMAC(b cipher.Block) *cmac {
	c := &cmac{b: b}
	// RFC 4493 §2.3: L = AES-K(0^128); K1 = L<<1 (^ Rb if MSB(L)); K2 = K1<<1 (^ Rb if MSB(K1)).
	var l [aes.BlockSize]byte
	b.Encrypt(l[:], l[:])
	c.k1 = doubleBlock(l)
	c.k2 = doubleBlock(c.k1)
	return c
}

// doubleBlock multiplies x by the generator in GF(2^128) with the CMAC
// polynomial: a left shift, then Rb = 0x87 into the last byte if a bit fell
// off. Written without branches on the secret bit.
func doubleBlock(x [aes.BlockSize]byte) [aes.BlockSize]byte {
	var out [aes.BlockSize]byte
	msb := x[0] >> 7
	for i := 0; i < aes.BlockSize-1; i++ {
		out[i] = x[i]<<1 | x[i+1]>>7
	}
	out[aes.BlockSize-1] = x[aes.BlockSize-1]<<1 ^ (0x87 & -msb)
	return out
}

// sum returns the full 16-byte CMAC of the concatenation of parts, without
// concatenating them.
func (c *cmac) sum(parts ...[]byte) [aes.BlockSize]byte {
	var x, buf [aes.BlockSize]byte
	n := 0 // bytes held in buf
	for _, p := range parts {
		for len(p) > 0 {
			if n == aes.BlockSize {
				// buf is full and more data follows, so it is not the last block.
				subtle.XORBytes(x[:], x[:], buf[:])
				c.b.Encrypt(x[:], x[:])
				n = 0
			}
			k := copy(buf[n:], p)
			n += k
			p = p[k:]
		}
	}
	// RFC 4493 §2.4 steps 4 and 6: a complete last block is XORed with K1;
	// an incomplete (or empty) one is padded with 10...0 and XORed with K2.
	if n == aes.BlockSize {
		subtle.XORBytes(buf[:], buf[:], c.k1[:])
	} else {
		buf[n] = 0x80
		clear(buf[n+1:])
		subtle.XORBytes(buf[:], buf[:], c.k2[:])
	}
	subtle.XORBytes(x[:], x[:], buf[:])
	c.b.Encrypt(x[:], x[:])
	return x
}
