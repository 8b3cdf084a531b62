package loadgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/smdpp/smdpp/bsp"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
)

// Primitive is the measured cost of one server-side cryptographic operation.
type Primitive struct {
	Name string `json:"name"`
	// PerDownload is how many times one download needs it.
	PerDownload int `json:"per_download"`
	// CPU is the CPU time of one operation, in microseconds.
	CPU        float64 `json:"cpu_us"`
	Iterations int     `json:"iterations"`
}

// Floor is the crypto floor of one download: the CPU time of the public-key and BSP operations
// the SM-DP+ must do for it (SGP.22 §3.1.3), measured one at a time on one thread of this
// machine. No server can spend less per download on the same hardware and curve; what it spends
// beyond this goes to TLS, HTTP, JSON, ASN.1, the database, the session store and logging.
type Floor struct {
	Curve        string      `json:"curve"`
	ProfileBytes int         `json:"profile_bytes"`
	Primitives   []Primitive `json:"primitives"`
	// PerDownload is the sum, in milliseconds of CPU.
	PerDownload float64 `json:"per_download_ms"`
	// Clock is "thread-cpu" (getrusage RUSAGE_THREAD) or "wall" where that is unavailable.
	Clock string `json:"clock"`
}

// MeasureFloor times each primitive of a download with the server's own keys from pkiDir
// (dpauth.key, dppb.key, its CI and EUM) and the eUICC identity id, for a profile package of
// pkg, running each one for at least minTime (default 200ms).
func MeasureFloor(a *Authority, pkiDir string, id Identity, pkg []byte, minTime time.Duration) (*Floor, error) {
	if minTime <= 0 {
		minTime = 200 * time.Millisecond
	}
	dpauth, err := readKey(pkiDir, devpki.DPauthKeyFile)
	if err != nil {
		return nil, err
	}
	dppb, err := readKey(pkiDir, devpki.DPpbKeyFile)
	if err != nil {
		return nil, err
	}
	euiccCert, err := certs.ParseCertificate(id.Certificate)
	if err != nil {
		return nil, err
	}
	curve := id.Key.Curve
	eid, err := hex.DecodeString(id.EID)
	if err != nil {
		return nil, err
	}

	// Messages of the sizes a download signs and verifies (SGP.22 §5.6): serverSigned1 is about
	// 80 bytes, euiccSigned1 with euiccInfo2 about 300, euiccSigned2 about 100, the PIR data
	// about 60. ECDSA hashes them, so their sizes hardly matter.
	msg := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	ss1, es1, es2, pir, ss2, isc := msg(80), msg(300), msg(100), msg(60), msg(90), msg(120)
	sigs := make([][]byte, 3)
	for i, m := range [][]byte{es1, es2, pir} {
		if sigs[i], err = certs.SignRaw(id.Key, m); err != nil {
			return nil, err
		}
	}
	sig1, sig2, sigPIR := sigs[0], sigs[1], sigs[2]
	euiccOT, err := bsp.GenerateOneTimeKey(curve, rand.Reader)
	if err != nil {
		return nil, err
	}
	euiccOtpk, err := bsp.MarshalUncompressedPoint(&euiccOT.PublicKey)
	if err != nil {
		return nil, err
	}
	serverOT, err := bsp.GenerateOneTimeKey(curve, rand.Reader)
	if err != nil {
		return nil, err
	}
	shared, err := bsp.SharedSecret(serverOT, &euiccOT.PublicKey)
	if err != nil {
		return nil, err
	}
	keys, err := bsp.DeriveSessionKeys(shared, bsp.KeyTypeAES, bsp.KeyLength, []byte("smdpp"), eid)
	if err != nil {
		return nil, err
	}
	metadata := msg(110)
	configure := []byte{0xBF, 0x24, 0x00}

	sign := func(k crypto.Signer, m []byte) func() error {
		return func() error { _, err := certs.SignRaw(k, m); return err }
	}
	verify := func(what string, m, sig []byte) func() error {
		return func() error {
			if !certs.VerifyRaw(euiccCert.PublicKey, m, sig) {
				return fmt.Errorf("%s does not verify", what)
			}
			return nil
		}
	}
	ops := []struct {
		name string
		fn   func() error
	}{
		// CERT.EUM's signature is not here: the server verifies it once per EUM certificate
		// (certs.VerifiedSignatures), not once per download.
		{"sign serverSigned1 (SK.DPauth)", sign(dpauth, ss1)},
		{"verify CERT.EUICC (PK.EUM)", func() error { return euiccCert.CheckSignatureFrom(a.EUM) }},
		{"verify euiccSignature1", verify("euiccSignature1", es1, sig1)},
		{"sign smdpSigned2 (SK.DPpb)", sign(dppb, ss2)},
		{"verify euiccSignature2", verify("euiccSignature2", es2, sig2)},
		{"generate otSK.DP.ECKA", func() error { _, err := bsp.GenerateOneTimeKey(curve, rand.Reader); return err }},
		{"ECDH with otPK.EUICC.ECKA (incl. point check)", func() error {
			peer, err := bsp.ParseUncompressedPoint(curve, euiccOtpk)
			if err != nil {
				return err
			}
			_, err = bsp.SharedSecret(serverOT, peer)
			return err
		}},
		{"KDF (X9.63, SHA-256)", func() error {
			_, err := bsp.DeriveSessionKeys(shared, bsp.KeyTypeAES, bsp.KeyLength, []byte("smdpp"), eid)
			return err
		}},
		{"sign InitialiseSecureChannel (SK.DPpb)", sign(dppb, isc)},
		{fmt.Sprintf("BPP encryption (SCP03t, %d-byte profile)", len(pkg)), func() error {
			s := bsp.NewSession(keys)
			for _, part := range []struct {
				tag  byte
				data []byte
			}{{0x87, configure}, {0x88, metadata}, {0x86, pkg}} {
				if _, err := s.WrapSegments(part.tag, part.data); err != nil {
					return err
				}
			}
			return nil
		}},
		{"verify euiccSignPIR", verify("euiccSignPIR", pir, sigPIR)},
	}

	f := &Floor{Curve: certs.CurveName(curve), ProfileBytes: len(pkg), Clock: "thread-cpu"}
	if !haveThreadCPU {
		f.Clock = "wall"
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var total float64
	for _, op := range ops {
		for range 5 { // warm up, and check the operation works at all
			if err := op.fn(); err != nil {
				return nil, fmt.Errorf("loadgen: crypto floor: %s: %w", op.name, err)
			}
		}
		iters := 0
		wall0, cpu0 := time.Now(), threadCPU()
		for time.Since(wall0) < minTime {
			if err := op.fn(); err != nil {
				return nil, fmt.Errorf("loadgen: crypto floor: %s: %w", op.name, err)
			}
			iters++
		}
		spent := threadCPU() - cpu0
		if !haveThreadCPU {
			spent = time.Since(wall0)
		}
		us := float64(spent) / float64(iters) / 1e3
		f.Primitives = append(f.Primitives, Primitive{Name: op.name, PerDownload: 1, CPU: math.Round(us*10) / 10, Iterations: iters})
		total += us
	}
	f.PerDownload = math.Round(total) / 1e3
	return f, nil
}

func readKey(dir, name string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("loadgen: crypto floor: %w", err)
	}
	k, err := certs.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("loadgen: crypto floor: %s: %w", name, err)
	}
	return k, nil
}
