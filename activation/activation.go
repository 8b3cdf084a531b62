// Package activation reads and writes SGP.22 Activation Codes (SGP.22 §4.1), the string an end
// user scans as a QR code or types to start a Profile download:
//
//	1$SM-DP+ address$Matching ID[$SM-DP+ OID[$Confirmation Code Required Flag]]
//
// and, in a QR code, the same string after the "LPA:" prefix (§4.1.3). Later versions of SGP.22
// append further '$'-separated fields; Parse keeps them, unread, in Code.Extra, and String writes
// them back.
//
// Parse is as strict as the LPAs that will read the same code, so a code that parses here works
// on a phone and with lpac:
//
//   - AC_Format must be "1".
//   - The SM-DP+ address is a host name (LDH labels, as SGP.22 asks for an FQDN; an IPv4
//     literal fits that shape) or a bracketed IPv6 literal, optionally followed by ":port". No
//     scheme, path, user information or trailing dot. Letter case is kept as given, since LPAs
//     send the address to the SM-DP+ exactly as typed.
//   - The Matching ID holds only ASCII letters, digits and '-'; lpac refuses anything else
//     (notably '_'). It may be empty (the eUICC then sends an empty or absent matchingId), but
//     the field itself is mandatory.
//   - The SM-DP+ OID, when present and not empty, is a dotted-decimal OBJECT IDENTIFIER.
//   - The Confirmation Code Required Flag is "1", or empty / absent for "not required".
//   - No field may contain spaces, control characters or non-ASCII characters.
//   - The whole code, without the "LPA:" prefix, is at most 255 characters (§4.1).
//
// Decisions where SGP.22 leaves room: the "LPA:" prefix is matched without regard to letter
// case (it is a URI scheme, and RFC 3986 §3.1 makes schemes case-insensitive), though String and
// QRString always write "LPA:"; trailing empty optional fields ("1$host$ID$", "1$host$ID$$") are
// accepted and dropped, so every code has one canonical form, the one String returns; anything
// outside ASCII is refused (an internationalised host name must be written in its A-label form).
package activation

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// MaxLength is the longest Activation Code, in characters, without the "LPA:" prefix
// (SGP.22 §4.1).
const MaxLength = 255

// QRPrefix is the URI scheme that precedes an Activation Code in a QR code (SGP.22 §4.1.3).
const QRPrefix = "LPA:"

// Format is the only AC_Format value SGP.22 defines.
const Format = "1"

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("activation: invalid activation code")

// Code is a parsed Activation Code (SGP.22 §4.1).
type Code struct {
	// Address is the SM-DP+ address: a host name, or host:port, as given.
	Address string
	// MatchingID is the AC_Token the eUICC sends back as ctxParams1.matchingId; may be empty.
	MatchingID string
	// OID is the SM-DP+ OID in dotted-decimal form, or empty when not given.
	OID string
	// ConfirmationCodeRequired is the Confirmation Code Required Flag.
	ConfirmationCodeRequired bool
	// Extra holds the fields after the fifth, as received (later SGP.22 versions), or nil.
	Extra []string
}

// Parse reads an Activation Code, with or without the "LPA:" prefix, checked as the package
// documentation describes. Every error wraps ErrInvalid.
func Parse(s string) (Code, error) {
	if len(s) >= len(QRPrefix) && strings.EqualFold(s[:len(QRPrefix)], QRPrefix) {
		s = s[len(QRPrefix):]
	}
	if s == "" {
		return Code{}, invalid("empty")
	}
	if len(s) > MaxLength {
		return Code{}, invalid("%d characters, longer than %d", len(s), MaxLength)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }); i >= 0 {
		return Code{}, invalid("space, control or non-ASCII character at offset %d", i)
	}
	f := strings.Split(s, "$")
	if f[0] != Format {
		return Code{}, invalid("AC_Format %q is not %q", f[0], Format)
	}
	if len(f) < 3 {
		return Code{}, invalid("want at least 3 '$'-separated fields (format, SM-DP+ address, matching ID), got %d", len(f))
	}
	// Trailing empty optional fields carry nothing; dropping them gives one canonical form.
	for len(f) > 3 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	c := Code{Address: f[1], MatchingID: f[2]}
	if err := CheckAddress(c.Address); err != nil {
		return Code{}, err
	}
	if err := CheckMatchingID(c.MatchingID); err != nil {
		return Code{}, err
	}
	if len(f) > 3 {
		c.OID = f[3]
		if c.OID != "" {
			if err := checkOID(c.OID); err != nil {
				return Code{}, err
			}
		}
	}
	if len(f) > 4 {
		switch f[4] {
		case "1":
			c.ConfirmationCodeRequired = true
		case "":
		default:
			return Code{}, invalid("confirmation code required flag %q is neither \"1\" nor empty", f[4])
		}
	}
	if len(f) > 5 {
		c.Extra = append([]string(nil), f[5:]...)
	}
	return c, nil
}

// String returns the Activation Code without the "LPA:" prefix, in canonical form: optional
// fields are written only as far as the last one that is set.
func (c Code) String() string {
	var b strings.Builder
	b.WriteString(Format)
	b.WriteByte('$')
	b.WriteString(c.Address)
	b.WriteByte('$')
	b.WriteString(c.MatchingID)
	n := 3 // fields to write
	switch {
	case len(c.Extra) > 0:
		n = 5 + len(c.Extra)
	case c.ConfirmationCodeRequired:
		n = 5
	case c.OID != "":
		n = 4
	}
	if n > 3 {
		b.WriteByte('$')
		b.WriteString(c.OID)
	}
	if n > 4 {
		b.WriteByte('$')
		if c.ConfirmationCodeRequired {
			b.WriteByte('1')
		}
	}
	for _, x := range c.Extra {
		b.WriteByte('$')
		b.WriteString(x)
	}
	return b.String()
}

// QRString returns the code as a QR code carries it: "LPA:" followed by String.
func (c Code) QRString() string { return QRPrefix + c.String() }

// Validate checks c as Parse checks an Activation Code, and that its String form reads back as
// c (an Extra field holding '$', or ending in empty fields, would not). The error wraps
// ErrInvalid.
func (c Code) Validate() error {
	p, err := Parse(c.String())
	if err != nil {
		return err
	}
	if !p.equal(c) {
		return invalid("fields do not survive encoding (a '$' or trailing empty field in Extra?)")
	}
	return nil
}

func (c Code) equal(o Code) bool {
	return c.Address == o.Address && c.MatchingID == o.MatchingID && c.OID == o.OID &&
		c.ConfirmationCodeRequired == o.ConfirmationCodeRequired && slices.Equal(c.Extra, o.Extra)
}

// CheckAddress reports whether addr is an SM-DP+ address as an Activation Code and ES9+ carry
// it: a host name or IPv4 literal, or a bracketed IPv6 literal, optionally with ":port" (1 to
// 65535, decimal). It is also the check an LPA applies before putting an address from a card
// (a notificationAddress) into a URL. The error wraps ErrInvalid.
func CheckAddress(addr string) error {
	if addr == "" {
		return invalid("empty SM-DP+ address")
	}
	host, port := addr, ""
	if strings.HasPrefix(addr, "[") || strings.Count(addr, ":") == 1 {
		h, p, err := net.SplitHostPort(addr)
		if err != nil && strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
			h, p, err = addr[1:len(addr)-1], "", nil
			if !strings.Contains(h, ":") {
				return invalid("SM-DP+ address %q: brackets around a host that is not IPv6", addr)
			}
		}
		if err != nil {
			return invalid("SM-DP+ address %q: %v", addr, err)
		}
		host, port = h, p
		if strings.HasSuffix(addr, ":") {
			return invalid("SM-DP+ address %q: empty port", addr)
		}
		if strings.HasPrefix(addr, "[") {
			ip := net.ParseIP(host)
			if ip == nil || ip.To4() != nil || strings.Contains(host, "%") {
				return invalid("SM-DP+ address %q: not an IPv6 literal in brackets", addr)
			}
			return checkPort(addr, port)
		}
	}
	if err := checkPort(addr, port); err != nil {
		return err
	}
	return checkHostName(addr, host)
}

func checkPort(addr, port string) error {
	if port == "" {
		return nil
	}
	if len(port) > 5 || strings.Trim(port, "0123456789") != "" || port[0] == '0' {
		return invalid("SM-DP+ address %q: port %q is not a decimal number from 1 to 65535", addr, port)
	}
	if n, _ := strconv.Atoi(port); n < 1 || n > 65535 {
		return invalid("SM-DP+ address %q: port %s out of range 1 to 65535", addr, port)
	}
	return nil
}

// checkHostName accepts LDH host names (RFC 1123 §2.1): dot-separated labels of 1 to 63
// letters, digits and hyphens, not starting or ending with a hyphen, 253 characters at most.
func checkHostName(addr, host string) error {
	if host == "" {
		return invalid("SM-DP+ address %q: empty host", addr)
	}
	if len(host) > 253 {
		return invalid("SM-DP+ address %q: host name longer than 253 characters", addr)
	}
	for _, label := range strings.Split(host, ".") {
		switch {
		case label == "":
			return invalid("SM-DP+ address %q: empty label in host name", addr)
		case len(label) > 63:
			return invalid("SM-DP+ address %q: host name label longer than 63 characters", addr)
		case label[0] == '-' || label[len(label)-1] == '-':
			return invalid("SM-DP+ address %q: host name label %q starts or ends with '-'", addr, label)
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' {
				return invalid("SM-DP+ address %q: character %q not allowed in a host name (no scheme or path)", addr, label[i])
			}
		}
	}
	return nil
}

// CheckMatchingID reports whether id may be the Matching ID of an Activation Code: ASCII
// letters, digits and '-' only, possibly empty. The error wraps ErrInvalid.
func CheckMatchingID(id string) error {
	for i := 0; i < len(id); i++ {
		if !isAlnum(id[i]) && id[i] != '-' {
			return invalid("matching ID: character %q not allowed (letters, digits and '-' only)", id[i])
		}
	}
	return nil
}

// checkOID accepts a dotted-decimal OBJECT IDENTIFIER (X.660): at least two arcs, the first 0,
// 1 or 2, the second below 40 under 0 and 1, decimal without leading zeros.
func checkOID(oid string) error {
	arcs := strings.Split(oid, ".")
	if len(arcs) < 2 {
		return invalid("SM-DP+ OID %q: fewer than two arcs", oid)
	}
	for i, a := range arcs {
		if a == "" || strings.Trim(a, "0123456789") != "" || len(a) > 1 && a[0] == '0' {
			return invalid("SM-DP+ OID %q: arc %q is not a decimal number", oid, a)
		}
		if len(a) > 19 {
			return invalid("SM-DP+ OID %q: arc %q too large", oid, a)
		}
		n, _ := strconv.ParseUint(a, 10, 64)
		if i == 0 && n > 2 {
			return invalid("SM-DP+ OID %q: first arc must be 0, 1 or 2", oid)
		}
		if i == 1 && arcs[0] != "2" && n > 39 {
			return invalid("SM-DP+ OID %q: second arc must be below 40 under arc %s", oid, arcs[0])
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
