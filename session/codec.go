package session

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// The stored form of a session, owned by this package and shared by both stores (the Redis value
// and the Memory map entry). Version 1:
//
//	version  1 byte, = 1
//	step     1 byte
//	flags    1 byte: bit 0 CCRequired, bit 1 CreatedAt present; other bits must be 0
//	deadline varint Unix seconds, uvarint nanoseconds (< 1e9)
//	created  the same, when flag bit 1 is set
//	then each byte field of byteFields and each string field of stringFields, in that order,
//	as uvarint length ‖ bytes
//
// Nothing may follow. A future version gets a new first byte; decode rejects versions it does not
// know rather than guess.
const (
	codecV1 = 1

	flagCCRequired = 1 << 0
	flagCreatedAt  = 1 << 1
	flagsKnown     = flagCCRequired | flagCreatedAt
)

// encode returns the stored form of s.
func encode(s *Session) []byte {
	var flags byte
	if s.CCRequired {
		flags |= flagCCRequired
	}
	if !s.CreatedAt.IsZero() {
		flags |= flagCreatedAt
	}
	// The exact size: the Memory store keeps this slice, so spare capacity would be kept too.
	n := 3 + timeLen(s.Deadline)
	if flags&flagCreatedAt != 0 {
		n += timeLen(s.CreatedAt)
	}
	for _, p := range s.byteFields() {
		n += uvarintLen(uint64(len(*p))) + len(*p)
	}
	for _, p := range s.stringFields() {
		n += uvarintLen(uint64(len(*p))) + len(*p)
	}
	b := make([]byte, 0, n)
	b = append(b, codecV1, byte(s.Step), flags)
	b = appendTime(b, s.Deadline)
	if flags&flagCreatedAt != 0 {
		b = appendTime(b, s.CreatedAt)
	}
	for _, p := range s.byteFields() {
		b = binary.AppendUvarint(b, uint64(len(*p)))
		b = append(b, *p...)
	}
	for _, p := range s.stringFields() {
		b = binary.AppendUvarint(b, uint64(len(*p)))
		b = append(b, *p...)
	}
	return b
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func timeLen(t time.Time) int {
	sec := t.Unix()
	zigzag := uint64(sec<<1) ^ uint64(sec>>63) // as binary.AppendVarint encodes it
	return uvarintLen(zigzag) + uvarintLen(uint64(t.Nanosecond()))
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// decode parses the stored form of a session. Any defect is an error wrapping ErrCorrupt; decode
// never panics, whatever data holds. The byte fields of the result share one fresh copy of data.
func decode(data []byte) (*Session, error) {
	d := decoder{buf: append([]byte(nil), data...)}
	if len(d.buf) < 3 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(data))
	}
	if v := d.buf[0]; v != codecV1 {
		return nil, fmt.Errorf("%w: unknown encoding version %d", ErrCorrupt, v)
	}
	s := &Session{Step: Step(d.buf[1])}
	flags := d.buf[2]
	if flags&^flagsKnown != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#02x", ErrCorrupt, flags)
	}
	s.CCRequired = flags&flagCCRequired != 0
	d.off = 3
	s.Deadline = d.time("deadline")
	if flags&flagCreatedAt != 0 {
		s.CreatedAt = d.time("createdAt")
	}
	for i, p := range s.byteFields() {
		*p = d.field(i)
	}
	for i, p := range s.stringFields() {
		if b := d.field(len(s.byteFields()) + i); len(b) > 0 {
			*p = string(b)
		}
	}
	if d.err == nil && d.off != len(d.buf) {
		d.err = fmt.Errorf("%d trailing bytes", len(d.buf)-d.off)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, d.err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, strings.TrimPrefix(err.Error(), "session: "))
	}
	return s, nil
}

// decoder reads the variable part of the stored form; after the first error it reads nothing.
type decoder struct {
	buf []byte
	off int
	err error
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.err = fmt.Errorf("bad %s at offset %d", what, d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) time(what string) time.Time {
	if d.err != nil {
		return time.Time{}
	}
	sec, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		d.err = fmt.Errorf("bad %s at offset %d", what, d.off)
		return time.Time{}
	}
	d.off += n
	nsec := d.uvarint(what)
	if d.err == nil && nsec >= 1e9 {
		d.err = fmt.Errorf("bad %s nanoseconds %d", what, nsec)
	}
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// field reads field i (for messages only) and returns it as a capacity-limited slice of d.buf, or
// nil when it is empty.
func (d *decoder) field(i int) []byte {
	n := d.uvarint("field length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)-d.off) {
		d.err = fmt.Errorf("field %d: length %d exceeds the %d bytes left", i, n, len(d.buf)-d.off)
		return nil
	}
	if n == 0 {
		return nil
	}
	end := d.off + int(n)
	b := d.buf[d.off:end:end]
	d.off = end
	return b
}
