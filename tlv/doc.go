// Package tlv owns the byte-exact reading and writing of BER-TLV / DER data objects on the SGP.22
// interfaces: the ES9+/ES10x ASN.1 messages (SGP.22 §5 and §6, RSPDefinitions), the Bound Profile
// Package segments (§2.5.5) and the SAIP profile package.
//
// It follows the shape of golang.org/x/crypto/cryptobyte — a String consumed by Read methods
// that report success, and a Builder whose AddTLV continuations compute lengths — but it handles
// the multi-octet tags SGP.22 is full of (BF38, BF20, 5F49, 5F37, 7F21, 9F70 …), which cryptobyte
// cannot. A Tag is held as its encoded identifier octets, so constants read as the specification
// writes them: Tag(0xBF38).
//
// Reading is DER only: definite, minimal lengths (short form, 81, 82, 83), canonical tags,
// and no trailing bytes when callers check Empty at every level. ReadBERTLV is the single
// exception, for BER data that is not an SGP.22 type. The meaning of each element (which
// tags, which are optional) belongs to the packages that use tlv, such as rsp.
package tlv
