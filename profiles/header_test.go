package profiles

import "testing"

// TestLuhnDigit checks the check digit against ICCIDs no one here computed: the TS.48 test
// profiles' (testdata/upp, INDEX.md) and the GSMA generic test ICCID.
func TestLuhnDigit(t *testing.T) {
	for _, iccid := range []string{"8949449999999990023", "8949449999999990031", "8949449999999990049", "89000123456789012341"} {
		body := iccid[:len(iccid)-1]
		if got := WithLuhn(body); got != iccid {
			t.Errorf("WithLuhn(%s) = %s, want %s", body, got, iccid)
		}
		if !luhnValid([]byte(iccid)) {
			t.Errorf("luhnValid(%s) = false", iccid)
		}
		wrong := body + string('0'+(iccid[len(iccid)-1]-'0'+1)%10)
		if luhnValid([]byte(wrong)) {
			t.Errorf("luhnValid(%s) = true", wrong)
		}
	}
}
