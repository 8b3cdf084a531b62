package hsm

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// URIScheme is the prefix of a PKCS#11 URI; a configured key that starts with it names an HSM
// key rather than a file.
const URIScheme = "pkcs11:"

// URI names one private key in a PKCS#11 token: the supported subset of RFC 7512.
//
// Path attributes (separated by ";"): token, serial, slot-id, object, id, type. Query attributes
// (after "?", separated by "&"): module-path, pin-source, pin-value. For configuration files the
// query attributes may also be written in the path, and module is accepted for module-path:
//
//	pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=smdpp;object=dpauth;pin-source=file:/etc/smdpp/hsm.pin
//
// Values are percent-decoded (RFC 3986 §2.1); an unescaped "/" is accepted in a path value.
// ParseURI requires module-path, token or serial, object, and one of pin-source and pin-value;
// type, if given, must be "private". Unknown and repeated attributes are rejected, so a typo in a
// configuration file is an error rather than a silently different key. module-name and the
// library-* and slot-* attributes other than slot-id are not supported.
type URI struct {
	// ModulePath is the file name of the PKCS#11 library (module-path).
	ModulePath string
	// Token is the token label (token); Serial its serial number (serial). At least one is set.
	Token  string
	Serial string
	// SlotID restricts the token to one slot when HasSlotID is true (slot-id).
	SlotID    uint
	HasSlotID bool
	// Object is the key's CKA_LABEL (object).
	Object string
	// ID is the key's CKA_ID (id), nil when the URI does not restrict it.
	ID []byte
	// PINSource is the file holding the user PIN (pin-source, "file:" removed).
	PINSource string
	// PINValue is the user PIN given in the URI itself (pin-value): for tests and development;
	// configuration should use pin-source, so that the secret stays in a file.
	PINValue string
}

// IsURI reports whether s is written as a PKCS#11 URI.
func IsURI(s string) bool { return strings.HasPrefix(s, URIScheme) }

// ParseURI parses a PKCS#11 URI naming a private key; see [URI] for the supported attributes.
func ParseURI(s string) (*URI, error) {
	if !IsURI(s) {
		return nil, fmt.Errorf("%w: %q does not start with %q", ErrInvalidURI, redactURI(s), URIScheme)
	}
	rest := s[len(URIScheme):]
	path, query, hasQuery := strings.Cut(rest, "?")
	var u URI
	seen := map[string]bool{}
	set := func(part, name, raw string) error {
		if name == "module" {
			name = "module-path"
		}
		if seen[name] {
			return fmt.Errorf("%w: attribute %s given twice", ErrInvalidURI, name)
		}
		seen[name] = true
		v, err := percentDecode(raw)
		if err != nil {
			return fmt.Errorf("%w: attribute %s: %v", ErrInvalidURI, name, err)
		}
		if v == "" {
			return fmt.Errorf("%w: attribute %s is empty", ErrInvalidURI, name)
		}
		switch name {
		case "token":
			u.Token = v
		case "serial":
			u.Serial = v
		case "slot-id":
			id, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return fmt.Errorf("%w: slot-id %q is not a decimal number", ErrInvalidURI, v)
			}
			u.SlotID, u.HasSlotID = uint(id), true
		case "object":
			u.Object = v
		case "id":
			u.ID = []byte(v)
		case "type":
			if v != "private" {
				return fmt.Errorf("%w: type=%s: only private keys can be named", ErrInvalidURI, v)
			}
		case "module-path":
			u.ModulePath = v
		case "pin-source":
			p, ok := strings.CutPrefix(v, "file:")
			if ok {
				// file:///path and file:/path both name /path (RFC 8089).
				if strings.HasPrefix(p, "//") {
					p = strings.TrimPrefix(p, "//")
					if !strings.HasPrefix(p, "/") {
						return fmt.Errorf("%w: pin-source %q: only local files are supported", ErrInvalidURI, v)
					}
				}
			} else if strings.Contains(v, ":") || strings.HasPrefix(v, "|") {
				return fmt.Errorf("%w: pin-source %q: only file: sources are supported", ErrInvalidURI, v)
			}
			if p == "" {
				return fmt.Errorf("%w: pin-source %q names no file", ErrInvalidURI, v)
			}
			u.PINSource = p
		case "pin-value":
			u.PINValue = v
		case "module-name":
			return fmt.Errorf("%w: module-name is not supported; give module-path", ErrInvalidURI)
		default:
			return fmt.Errorf("%w: unknown %s attribute %q", ErrInvalidURI, part, name)
		}
		return nil
	}
	parse := func(part, text, sep string, allowed func(string) bool) error {
		if text == "" {
			return nil
		}
		for _, attr := range strings.Split(text, sep) {
			name, value, ok := strings.Cut(attr, "=")
			if !ok || name == "" {
				return fmt.Errorf("%w: %s attribute %q is not name=value", ErrInvalidURI, part, redactAttr(attr))
			}
			if !allowed(name) {
				return fmt.Errorf("%w: attribute %s is not allowed in the %s", ErrInvalidURI, name, part)
			}
			if err := set(part, name, value); err != nil {
				return err
			}
		}
		return nil
	}
	if err := parse("path", path, ";", func(string) bool { return true }); err != nil {
		return nil, err
	}
	if hasQuery && query == "" {
		return nil, fmt.Errorf("%w: empty query after \"?\"", ErrInvalidURI)
	}
	queryOnly := func(n string) bool {
		switch n {
		case "module-path", "module", "module-name", "pin-source", "pin-value":
			return true
		}
		return false
	}
	if err := parse("query", query, "&", queryOnly); err != nil {
		return nil, err
	}
	switch {
	case u.ModulePath == "":
		return nil, fmt.Errorf("%w: module-path is required", ErrInvalidURI)
	case u.Token == "" && u.Serial == "":
		return nil, fmt.Errorf("%w: token or serial is required", ErrInvalidURI)
	case u.Object == "":
		return nil, fmt.Errorf("%w: object (the key's label) is required", ErrInvalidURI)
	case u.PINSource == "" && u.PINValue == "":
		return nil, fmt.Errorf("%w: pin-source (or pin-value) is required", ErrInvalidURI)
	case u.PINSource != "" && u.PINValue != "":
		return nil, fmt.Errorf("%w: give pin-source or pin-value, not both", ErrInvalidURI)
	}
	return &u, nil
}

// PIN returns the user PIN: pin-value, or the contents of the pin-source file without one
// trailing newline.
func (u *URI) PIN() (string, error) {
	if u.PINSource == "" {
		return u.PINValue, nil
	}
	data, err := os.ReadFile(u.PINSource)
	if err != nil {
		return "", fmt.Errorf("hsm: reading PIN: %w", err)
	}
	pin := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if pin == "" {
		return "", fmt.Errorf("hsm: PIN file %s is empty", u.PINSource)
	}
	return pin, nil
}

// String returns the URI in RFC 7512 form, path attributes first. A pin-value is replaced by
// "redacted", so the result is safe to log.
func (u *URI) String() string {
	var path, query []string
	add := func(list *[]string, name, v string, query bool) {
		if v != "" {
			*list = append(*list, name+"="+percentEncode(v, query))
		}
	}
	add(&path, "token", u.Token, false)
	add(&path, "serial", u.Serial, false)
	if u.HasSlotID {
		path = append(path, "slot-id="+strconv.FormatUint(uint64(u.SlotID), 10))
	}
	add(&path, "object", u.Object, false)
	add(&path, "id", string(u.ID), false)
	path = append(path, "type=private")
	add(&query, "module-path", u.ModulePath, true)
	if u.PINSource != "" {
		add(&query, "pin-source", "file:"+u.PINSource, true)
	}
	if u.PINValue != "" {
		query = append(query, "pin-value=redacted")
	}
	s := URIScheme + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// percentDecode decodes RFC 3986 percent escapes and rejects a malformed one.
func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", errors.New("malformed percent escape")
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

// percentEncode escapes everything RFC 7512 does not allow unescaped in a path (or, with query,
// a query) attribute value.
func percentEncode(s string, query bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || strings.IndexByte(":[]@!$'()*+,=", c) >= 0 ||
			(query && strings.IndexByte("/?|", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// redactURI hides any pin-value before a URI is quoted in an error.
func redactURI(s string) string {
	i := strings.Index(s, "pin-value=")
	if i < 0 {
		return s
	}
	j := strings.IndexAny(s[i:], ";&")
	if j < 0 {
		return s[:i] + "pin-value=redacted"
	}
	return s[:i] + "pin-value=redacted" + redactURI(s[i+j:])
}

func redactAttr(a string) string {
	if strings.HasPrefix(a, "pin-value") {
		return "pin-value=redacted"
	}
	return a
}
