package profiles

import (
	"errors"
	"fmt"

	"github.com/smdpp/smdpp/tlv"
)

// ExtCardResource is the Extended Card Resources Information of ETSI TS 102 226 §8.2.1.7.2, which
// the eUICC sends as EUICCInfo2.extCardResource (SGP.22 ES10b.GetEUICCInfo).
type ExtCardResource struct {
	InstalledApplications int64 // tag 81; zero when absent
	FreeNonVolatile       int64 // tag 82, bytes
	FreeVolatile          int64 // tag 83, bytes
}

// ErrExtCardResource is wrapped by every ParseExtCardResource error.
var ErrExtCardResource = errors.New("profiles: malformed extCardResource")

// ParseExtCardResource parses the content of EUICCInfo2.extCardResource: TLVs 81 (number of
// installed applications), 82 (free non-volatile memory) and 83 (free volatile memory), each an
// unsigned big-endian integer of 1 to 4 octets. 82 and 83 are required; 81 may be missing. Each tag
// may appear once, in any order; other tags are skipped, for later versions of TS 102 226. The
// data is simple BER-TLV, not DER, so long-form lengths that could be short are accepted.
func ParseExtCardResource(b []byte) (ExtCardResource, error) {
	var r ExtCardResource
	fail := func(format string, a ...any) (ExtCardResource, error) {
		return ExtCardResource{}, fmt.Errorf("%w: "+format, append([]any{ErrExtCardResource}, a...)...)
	}
	s := tlv.String(b)
	var seen [3]bool
	for !s.Empty() {
		var tag tlv.Tag
		var v tlv.String
		if !s.ReadBERTLV(&tag, &v) {
			return fail("invalid TLV at % X", []byte(s[:min(len(s), 8)]))
		}
		if tag < 0x81 || tag > 0x83 {
			continue
		}
		i := int(tag - 0x81)
		if seen[i] {
			return fail("tag %s twice", tag)
		}
		seen[i] = true
		if outside(len(v), 1, 4) {
			return fail("tag %s has %d octets, want 1 to 4", tag, len(v))
		}
		var n int64
		for _, x := range v {
			n = n<<8 | int64(x)
		}
		switch tag {
		case 0x81:
			r.InstalledApplications = n
		case 0x82:
			r.FreeNonVolatile = n
		default:
			r.FreeVolatile = n
		}
	}
	if !seen[1] || !seen[2] {
		return fail("free non-volatile (82) or free volatile (83) memory missing")
	}
	return r, nil
}

// Card returns the card of the memory model for these resources: M is the free volatile memory and
// NonVolatile the free non-volatile memory. The number of logical channels and the per-channel
// deselect-transient reserve are not in extCardResource; the caller supplies them.
func (r ExtCardResource) Card(channels, deselectReserve int64) Card {
	return Card{M: r.FreeVolatile, N: channels, Dc: deselectReserve, NonVolatile: r.FreeNonVolatile}
}
