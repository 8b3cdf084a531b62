package certs

import "math/big"

// EIDLength is the number of decimal digits in an EID (GSMA SGP.29 §2).
const EIDLength = 32

// ValidEID reports whether eid is 32 decimal digits whose last two are the check digits of
// SGP.29 §2.2: the whole number taken mod 97 equals 1 (the ISO 7064 MOD 97-10 scheme IBANs use).
func ValidEID(eid string) bool {
	if len(eid) != EIDLength || !allDigits(eid) {
		return false
	}
	n, _ := new(big.Int).SetString(eid, 10)
	return new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// EIDWithCheckDigits completes the first 30 digits of an EID with its two check digits.
// It returns "" when prefix is not 30 decimal digits.
func EIDWithCheckDigits(prefix string) string {
	if len(prefix) != EIDLength-2 || !allDigits(prefix) {
		return ""
	}
	n, _ := new(big.Int).SetString(prefix+"00", 10)
	check := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return prefix + string(rune('0'+check/10)) + string(rune('0'+check%10))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
