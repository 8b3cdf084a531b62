package bsp_test

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"github.com/smdpp/smdpp/bsp"
)

// Example shows one profile download: the SM-DP+ binds a profile to the
// eUICC's one-time key and the eUICC opens it. In a real download the points
// and segments travel inside PrepareDownloadResponse and the
// BoundProfilePackage.
func Example() {
	curve := bsp.P256() // or bsp.BrainpoolP256r1(), as the eUICC's CI requires
	hostID := []byte("smdpp-01")
	eid := bytes.Repeat([]byte{0x89}, bsp.EIDLength)
	profile := bytes.Repeat([]byte("profile element "), 800) // 12.8 KB

	euicc, _ := bsp.GenerateOneTimeKey(curve, rand.Reader) // otSK.EUICC.ECKA
	euiccOtpk, _ := bsp.MarshalUncompressedPoint(&euicc.PublicKey)

	// SM-DP+: ECKA, key derivation, then the protected sequences.
	dp, _ := bsp.GenerateOneTimeKey(curve, rand.Reader) // otSK.DP.ECKA
	smdpOtpk, _ := bsp.MarshalUncompressedPoint(&dp.PublicKey)
	peer, _ := bsp.ParseUncompressedPoint(curve, euiccOtpk)
	shs, _ := bsp.SharedSecret(dp, peer)
	keys, _ := bsp.DeriveSessionKeys(shs, bsp.KeyTypeAES, bsp.KeyLength, hostID, eid)
	ppk, _ := bsp.GenerateProfileProtectionKeys(rand.Reader)

	server := bsp.NewSession(keys)
	first87, _ := server.WrapSegments(bsp.Tag87, []byte{0xBF, 0x24, 0x00}) // ConfigureISDP
	seq88, _ := server.WrapSegments(bsp.Tag88, []byte{0xBF, 0x25, 0x00})   // StoreMetadata
	second87, _ := server.WrapSegments(bsp.Tag87, bsp.MarshalReplaceSessionKeysRequest(ppk))
	server.ReplaceSessionKeys(ppk)
	seq86, _ := server.WrapSegments(bsp.Tag86, profile)

	// eUICC: the same keys from the other side, then verify and decrypt.
	peer, _ = bsp.ParseUncompressedPoint(curve, smdpOtpk)
	shs, _ = bsp.SharedSecret(euicc, peer)
	keys, _ = bsp.DeriveSessionKeys(shs, bsp.KeyTypeAES, bsp.KeyLength, hostID, eid)
	card := bsp.NewSession(keys)
	configureISDP, _ := card.UnwrapSegments(bsp.Tag87, first87)
	metadata, _ := card.UnwrapSegments(bsp.Tag88, seq88)
	rsk, _ := card.UnwrapSegments(bsp.Tag87, second87)
	cardPPK, err := bsp.ParseReplaceSessionKeysRequest(rsk)
	if err != nil {
		fmt.Println(err)
		return
	}
	card.ReplaceSessionKeys(cardPPK)
	upp, err := card.UnwrapSegments(bsp.Tag86, seq86)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ConfigureISDP %X, StoreMetadata %X\n", configureISDP, metadata)
	fmt.Printf("%d '86' segments, profile intact: %v\n", len(seq86), bytes.Equal(upp, profile))
	// Output:
	// ConfigureISDP BF2400, StoreMetadata BF2500
	// 13 '86' segments, profile intact: true
}
