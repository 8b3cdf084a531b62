package activation

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	long := "1$smdp.example.com$" + strings.Repeat("A", MaxLength-len("1$smdp.example.com$"))
	tests := []struct {
		name  string
		in    string
		want  Code
		canon string // String() of the result; empty means the input without any prefix
		bad   bool
	}{
		// Good codes.
		{name: "minimal", in: "1$smdp.example.com$ABC-123",
			want: Code{Address: "smdp.example.com", MatchingID: "ABC-123"}},
		{name: "QR prefix", in: "LPA:1$smdp.example.com$ABC-123",
			want: Code{Address: "smdp.example.com", MatchingID: "ABC-123"}, canon: "1$smdp.example.com$ABC-123"},
		{name: "lower-case QR prefix", in: "lpa:1$smdp.example.com$ABC-123",
			want: Code{Address: "smdp.example.com", MatchingID: "ABC-123"}, canon: "1$smdp.example.com$ABC-123"},
		{name: "mixed-case QR prefix", in: "Lpa:1$smdp.example.com$X",
			want: Code{Address: "smdp.example.com", MatchingID: "X"}, canon: "1$smdp.example.com$X"},
		{name: "IPv4 and port", in: "LPA:1$127.0.0.1:8443$MATCHINGID",
			want: Code{Address: "127.0.0.1:8443", MatchingID: "MATCHINGID"}, canon: "1$127.0.0.1:8443$MATCHINGID"},
		{name: "IPv6 and port", in: "1$[::1]:8443$M",
			want: Code{Address: "[::1]:8443", MatchingID: "M"}},
		{name: "IPv6 without port", in: "1$[2001:db8::1]$M",
			want: Code{Address: "[2001:db8::1]", MatchingID: "M"}},
		{name: "host case kept", in: "1$SMDP.Example.COM$m",
			want: Code{Address: "SMDP.Example.COM", MatchingID: "m"}},
		{name: "lower-case matching ID", in: "1$smdp.example.com$abc-def",
			want: Code{Address: "smdp.example.com", MatchingID: "abc-def"}},
		{name: "empty matching ID", in: "1$smdp.example.com$",
			want: Code{Address: "smdp.example.com"}},
		{name: "OID", in: "1$smdp.example.com$M$1.3.6.1.4.1.31746",
			want: Code{Address: "smdp.example.com", MatchingID: "M", OID: "1.3.6.1.4.1.31746"}},
		{name: "OID under arc 2 with large second arc", in: "1$h$M$2.999.1",
			want: Code{Address: "h", MatchingID: "M", OID: "2.999.1"}},
		{name: "confirmation code required", in: "1$smdp.example.com$M$1.3.6.1.4.1.31746$1",
			want: Code{Address: "smdp.example.com", MatchingID: "M", OID: "1.3.6.1.4.1.31746", ConfirmationCodeRequired: true}},
		{name: "flag without OID", in: "1$smdp.example.com$M$$1",
			want: Code{Address: "smdp.example.com", MatchingID: "M", ConfirmationCodeRequired: true}},
		{name: "empty flag dropped", in: "1$smdp.example.com$M$1.2.3$",
			want: Code{Address: "smdp.example.com", MatchingID: "M", OID: "1.2.3"}, canon: "1$smdp.example.com$M$1.2.3"},
		{name: "trailing dollar", in: "1$smdp.example.com$M$",
			want: Code{Address: "smdp.example.com", MatchingID: "M"}, canon: "1$smdp.example.com$M"},
		{name: "trailing dollars", in: "1$smdp.example.com$M$$$$",
			want: Code{Address: "smdp.example.com", MatchingID: "M"}, canon: "1$smdp.example.com$M"},
		{name: "v3 extra fields kept", in: "1$smdp.example.com$M$1.2.3$1$x$Y-2",
			want: Code{Address: "smdp.example.com", MatchingID: "M", OID: "1.2.3", ConfirmationCodeRequired: true, Extra: []string{"x", "Y-2"}}},
		{name: "extra field after empty fields", in: "1$smdp.example.com$M$$$x",
			want: Code{Address: "smdp.example.com", MatchingID: "M", Extra: []string{"x"}}},
		{name: "empty extra field in the middle", in: "1$h$M$$$$x",
			want: Code{Address: "h", MatchingID: "M", Extra: []string{"", "x"}}},
		{name: "255 characters", in: long,
			want: Code{Address: "smdp.example.com", MatchingID: long[len("1$smdp.example.com$"):]}},
		{name: "255 characters after the prefix", in: "LPA:" + long,
			want: Code{Address: "smdp.example.com", MatchingID: long[len("1$smdp.example.com$"):]}, canon: long},
		{name: "port 65535", in: "1$h:65535$M", want: Code{Address: "h:65535", MatchingID: "M"}},

		// Bad codes.
		{name: "empty", in: "", bad: true},
		{name: "prefix only", in: "LPA:", bad: true},
		{name: "double prefix", in: "LPA:LPA:1$h$M", bad: true},
		{name: "format 2", in: "2$smdp.example.com$M", bad: true},
		{name: "format empty", in: "$smdp.example.com$M", bad: true},
		{name: "format 01", in: "01$smdp.example.com$M", bad: true},
		{name: "only format", in: "1", bad: true},
		{name: "no matching ID field", in: "1$smdp.example.com", bad: true},
		{name: "empty address", in: "1$$M", bad: true},
		{name: "extra dollar before address", in: "1$$smdp.example.com$M", bad: true},
		{name: "extra dollar before matching ID", in: "1$smdp.example.com$$M", bad: true},
		{name: "scheme in address", in: "1$https://smdp.example.com$M", bad: true},
		{name: "path in address", in: "1$smdp.example.com/x$M", bad: true},
		{name: "user info in address", in: "1$u@smdp.example.com$M", bad: true},
		{name: "trailing dot", in: "1$smdp.example.com.$M", bad: true},
		{name: "empty label", in: "1$smdp..example.com$M", bad: true},
		{name: "label starts with hyphen", in: "1$-smdp.example.com$M", bad: true},
		{name: "label ends with hyphen", in: "1$smdp-.example.com$M", bad: true},
		{name: "label of 64", in: "1$" + strings.Repeat("a", 64) + ".com$M", bad: true},
		{name: "underscore in host", in: "1$sm_dp.example.com$M", bad: true},
		{name: "empty port", in: "1$smdp.example.com:$M", bad: true},
		{name: "port 0", in: "1$smdp.example.com:0$M", bad: true},
		{name: "port 65536", in: "1$smdp.example.com:65536$M", bad: true},
		{name: "port with leading zero", in: "1$smdp.example.com:0443$M", bad: true},
		{name: "port not a number", in: "1$smdp.example.com:https$M", bad: true},
		{name: "port with sign", in: "1$smdp.example.com:+443$M", bad: true},
		{name: "empty host with port", in: "1$:443$M", bad: true},
		{name: "two ports", in: "1$h:1:2$M", bad: true},
		{name: "bare IPv6", in: "1$::1$M", bad: true},
		{name: "IPv4 in brackets", in: "1$[127.0.0.1]:443$M", bad: true},
		{name: "host in brackets", in: "1$[smdp]$M", bad: true},
		{name: "IPv6 zone", in: "1$[fe80::1%25eth0]:443$M", bad: true},
		{name: "underscore in matching ID", in: "1$smdp.example.com$A_B", bad: true},
		{name: "space in matching ID", in: "1$smdp.example.com$A B", bad: true},
		{name: "dot in matching ID", in: "1$smdp.example.com$A.B", bad: true},
		{name: "unicode in matching ID", in: "1$smdp.example.com$ÄBC", bad: true},
		{name: "unicode host", in: "1$smdp.exämple.com$M", bad: true},
		{name: "fullwidth digit", in: "1$smdp.example.com$１", bad: true},
		{name: "NUL", in: "1$smdp.example.com$M\x00", bad: true},
		{name: "newline", in: "1$smdp.example.com$M\n", bad: true},
		{name: "leading space", in: " 1$smdp.example.com$M", bad: true},
		{name: "OID one arc", in: "1$h$M$1", bad: true},
		{name: "OID letters", in: "1$h$M$1.3.a", bad: true},
		{name: "OID empty arc", in: "1$h$M$1..3", bad: true},
		{name: "OID trailing dot", in: "1$h$M$1.3.", bad: true},
		{name: "OID leading zero", in: "1$h$M$1.03", bad: true},
		{name: "OID first arc 3", in: "1$h$M$3.1", bad: true},
		{name: "OID second arc 40 under 1", in: "1$h$M$1.40", bad: true},
		{name: "OID huge arc", in: "1$h$M$1.2." + strings.Repeat("9", 30), bad: true},
		{name: "flag 0", in: "1$h$M$1.2$0", bad: true},
		{name: "flag true", in: "1$h$M$1.2$true", bad: true},
		{name: "flag 11", in: "1$h$M$$11", bad: true},
		{name: "256 characters", in: long + "A", bad: true},
		{name: "256 characters after the prefix", in: "LPA:" + long + "A", bad: true},
		{name: "space in extra field", in: "1$h$M$$$a b", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want an error", tc.in, got)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
			canon := tc.canon
			if canon == "" {
				canon = tc.in
			}
			if s := got.String(); s != canon {
				t.Errorf("String() = %q, want %q", s, canon)
			}
			if s := got.QRString(); s != "LPA:"+canon {
				t.Errorf("QRString() = %q, want %q", s, "LPA:"+canon)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Code
		ok   bool
	}{
		{name: "good", c: Code{Address: "h:1", MatchingID: "M", OID: "1.2", ConfirmationCodeRequired: true, Extra: []string{"x"}}, ok: true},
		{name: "empty address", c: Code{MatchingID: "M"}},
		{name: "dollar in matching ID", c: Code{Address: "h", MatchingID: "A$B"}},
		{name: "dollar in extra", c: Code{Address: "h", MatchingID: "M", Extra: []string{"a$b"}}},
		{name: "trailing empty extra", c: Code{Address: "h", MatchingID: "M", Extra: []string{"a", ""}}},
		{name: "bad OID", c: Code{Address: "h", OID: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tc.c, err, tc.ok)
			}
		})
	}
}

func TestCheckAddress(t *testing.T) {
	for _, a := range []string{"smdp.example.com", "smdp.example.com:443", "127.0.0.1:8443", "[::1]:1", "localhost"} {
		if err := CheckAddress(a); err != nil {
			t.Errorf("CheckAddress(%q): %v", a, err)
		}
	}
	for _, a := range []string{"", "smdp.example.com/", "smdp.example.com?x", "smdp.example.com#x", "a b", "smdp.example.com:443/gsma"} {
		if err := CheckAddress(a); err == nil {
			t.Errorf("CheckAddress(%q) = nil, want an error", a)
		}
	}
}

// FuzzParse checks that whatever Parse accepts survives String: Parse(String(Parse(x))) gives
// the same code, and String is then a fixed point.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"LPA:1$smdp.example.com$ABC-123",
		"1$127.0.0.1:8443$MATCHINGID",
		"1$[::1]:8443$M$1.3.6.1.4.1.31746$1",
		"1$h$M$$$x$$y",
		"lpa:1$h$$",
		"1$h$M$1.2$0",
		"1$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		out := c.String()
		if len(out) > MaxLength {
			t.Fatalf("String() of %q is %d characters", s, len(out))
		}
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) ok but Parse(String() = %q): %v", s, out, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("Parse(%q) = %#v, Parse(%q) = %#v", s, c, out, c2)
		}
		if out2 := c2.String(); out2 != out {
			t.Fatalf("String not canonical: %q then %q", out, out2)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate of parsed %q: %v", s, err)
		}
		if c2, err := Parse(c.QRString()); err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("QR form %q does not read back: %v", c.QRString(), err)
		}
	})
}
