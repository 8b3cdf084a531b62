package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func codecSessions(t testing.TB) map[string]*Session {
	h := &harness{now: newFakeClock().Now}
	full := fullSession(t, h)
	noCC := fullSession(t, h)
	noCC.CCRequired = false
	noCC.CreatedAt = time.Time{}
	return map[string]*Session{
		"full":                full,
		"no CC, no createdAt": noCC,
		"minimal":             {TransactionID: []byte{1}, Step: StepCancelled, Deadline: time.Unix(1, 0)},
		"nanoseconds":         {TransactionID: bytes.Repeat([]byte{0xFF}, 16), Step: StepDone, Deadline: time.Unix(1_800_000_000, 999_999_999), CreatedAt: time.Unix(1_800_000_000, 1)},
		"before 1970":         {TransactionID: []byte{2}, Step: StepInitiated, Deadline: time.Date(1960, 1, 1, 0, 0, 0, 5, time.UTC), CreatedAt: time.Date(1959, 1, 1, 0, 0, 0, 0, time.UTC)},
		"year 3000":           {TransactionID: []byte{3}, Step: StepBPPSent, Deadline: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"utf-8 strings":       {TransactionID: []byte{4}, Step: StepInitiated, Deadline: time.Unix(2e9, 0), OperatorID: "opérateur ✓", MatchingID: "A-B-C"},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for name, s := range codecSessions(t) {
		t.Run(name, func(t *testing.T) {
			data := encode(s)
			got, err := decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameSession(got, s); d != "" {
				t.Fatal(d)
			}
			if again := encode(got); !bytes.Equal(again, data) {
				t.Errorf("re-encoding differs:\n%x\n%x", again, data)
			}
		})
	}
}

// TestCodecMalformed feeds decode damaged encodings: each must give ErrCorrupt, never a panic.
func TestCodecMalformed(t *testing.T) {
	valid := encode(codecSessions(t)["full"])
	with := func(i int, b byte) []byte {
		d := bytes.Clone(valid)
		d[i] = b
		return d
	}
	// minimal builds a v1 encoding by hand: header, deadline and every field given.
	minimal := func(step, flags byte, fields ...[]byte) []byte {
		b := []byte{codecV1, step, flags}
		b = binary.AppendVarint(b, 2e9)
		b = binary.AppendUvarint(b, 0)
		for _, f := range fields {
			b = binary.AppendUvarint(b, uint64(len(f)))
			b = append(b, f...)
		}
		return b
	}
	var probe Session
	emptyFields := make([][]byte, len(probe.byteFields())+len(probe.stringFields()))
	withID := append([][]byte{{0x01}}, emptyFields[1:]...)
	if _, err := decode(minimal(byte(StepInitiated), 0, withID...)); err != nil {
		t.Fatalf("the hand-built encoding is itself invalid: %v", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version 0", with(0, 0)},
		{"version 2", with(0, 2)},
		{"JSON", []byte(`{"transactionId":"00"}`)},
		{"step 0", with(1, 0)},
		{"unknown step", with(1, byte(stepLimit))},
		{"unknown flag", with(2, valid[2]|0x80)},
		{"trailing byte", append(bytes.Clone(valid), 0)},
		{"header only", valid[:3]},
		{"nanoseconds ≥ 1e9", append(binary.AppendUvarint(binary.AppendVarint([]byte{codecV1, 1, 0}, 5), 1e9), make([]byte, 14)...)},
		{"varint overflow", append([]byte{codecV1, 1, 0}, bytes.Repeat([]byte{0xFF}, 11)...)},
		{"field longer than data", append(minimal(byte(StepInitiated), 0), 5, 1, 2)},
		{"huge field length", append(minimal(byte(StepInitiated), 0), binary.AppendUvarint(nil, 1<<63)...)},
		{"no transactionId", minimal(byte(StepInitiated), 0, emptyFields...)},
		{"17-byte transactionId", minimal(byte(StepInitiated), 0, append([][]byte{make([]byte, 17)}, emptyFields[1:]...)...)},
		{"15 fields", minimal(byte(StepInitiated), 0, append(withID, nil)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := decode(tc.data)
			if !errors.Is(err, ErrCorrupt) || s != nil {
				t.Fatalf("decode = %v, %v; want nil, ErrCorrupt", s, err)
			}
			t.Log(err)
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(valid) {
			if _, err := decode(valid[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode of the first %d of %d bytes = %v, want ErrCorrupt", n, len(valid), err)
			}
		}
	})
}

// TestDecodeCopies checks that a decoded session does not share memory with its input, and that
// appending to one field cannot overwrite the next.
func TestDecodeCopies(t *testing.T) {
	s := codecSessions(t)["full"]
	data := encode(s)
	got, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	clear(data)
	got.EuiccChallenge = append(got.EuiccChallenge, 0xAA)
	want := s.Clone()
	want.EuiccChallenge = append(want.EuiccChallenge, 0xAA)
	if d := sameSession(got, want); d != "" {
		t.Error(d)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range codecSessions(f) {
		f.Add(encode(s))
	}
	f.Add([]byte{})
	f.Add([]byte{codecV1, 1, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// Whatever decodes re-encodes to something that decodes to the same session.
		again, err := decode(encode(s))
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip differs: %s", sameSession(again, s))
		}
	})
}

func TestStepString(t *testing.T) {
	for s, want := range map[Step]string{
		StepInitiated: "initiated", StepAuthenticated: "authenticated", StepBPPSent: "bppSent",
		StepDone: "done", StepCancelled: "cancelled", 0: "Step(0)", stepLimit: "Step(6)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Step(%d).String() = %q, want %q", s, got, want)
		}
		if s.Valid() != (s != 0 && s != stepLimit) {
			t.Errorf("Step(%d).Valid() = %v", s, s.Valid())
		}
	}
}

// TestSessionStringHidesSecrets: logging a session shows its transactionId and step only.
func TestSessionStringHidesSecrets(t *testing.T) {
	s := &Session{TransactionID: []byte{0xAB, 0xCD}, Step: StepBPPSent, SmdpOtsk: []byte("secret-key"), EID: "8904"}
	for _, got := range []string{s.String(), fmtV(s)} {
		if got != "session abcd bppSent" {
			t.Errorf("got %q, want %q", got, "session abcd bppSent")
		}
	}
	if got := (*Session)(nil).String(); got != "session <nil>" {
		t.Errorf("nil: %q", got)
	}
}

func fmtV(s *Session) string { return fmt.Sprintf("%+v", s) }

// TestEncodeExactCapacity: the Memory store keeps encode's slice, so it must have no spare room.
func TestEncodeExactCapacity(t *testing.T) {
	for name, s := range codecSessions(t) {
		if b := encode(s); cap(b) != len(b) {
			t.Errorf("%s: encode gives len %d, cap %d", name, len(b), cap(b))
		}
	}
}
