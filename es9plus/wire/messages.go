// Package wire holds the ES9+ messages in the JSON binding of SGP.22 §6.5.2, shared by the
// server front end (es9plus) and clients (the test LPA) without pulling in the server.
package wire

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/smdpp/smdpp/web"
)

// TransactionID is an SGP.22 TransactionId in the JSON binding: upper-case hex (SGP.22 §6.5.2),
// read in either case.
type TransactionID []byte

// MarshalJSON writes upper-case hex.
func (t TransactionID) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.ToUpper(hex.EncodeToString(t)))
}

// UnmarshalJSON reads hex of 1 to 16 bytes.
func (t *TransactionID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil || len(v) == 0 || len(v) > 16 {
		return fmt.Errorf("transactionId %q is not 1 to 16 bytes of hex", s)
	}
	*t = v
	return nil
}

// Fields of type []byte travel as standard base64 with padding, as encoding/json writes and
// reads them; that is the only form LPAs decode (SGP.22 §6.5.2).

// InitiateAuthenticationRequest is the ES9+.InitiateAuthentication input (SGP.22 §5.6.1, §6.5.2.6).
type InitiateAuthenticationRequest struct {
	EUICCChallenge []byte `json:"euiccChallenge"`
	EUICCInfo1     []byte `json:"euiccInfo1"`
	SMDPAddress    string `json:"smdpAddress"`
}

// InitiateAuthenticationResponse is the ES9+.InitiateAuthentication output.
type InitiateAuthenticationResponse struct {
	web.Response
	TransactionID       TransactionID `json:"transactionId"`
	ServerSigned1       []byte        `json:"serverSigned1"`
	ServerSignature1    []byte        `json:"serverSignature1"`
	EUICCCiPKIdToBeUsed []byte        `json:"euiccCiPKIdToBeUsed"`
	ServerCertificate   []byte        `json:"serverCertificate"`
}

// AuthenticateClientRequest is the ES9+.AuthenticateClient input (SGP.22 §5.6.3, §6.5.2.7).
type AuthenticateClientRequest struct {
	TransactionID              TransactionID `json:"transactionId"`
	AuthenticateServerResponse []byte        `json:"authenticateServerResponse"`
}

// AuthenticateClientResponse is the ES9+.AuthenticateClient output.
type AuthenticateClientResponse struct {
	web.Response
	TransactionID   TransactionID `json:"transactionId"`
	ProfileMetadata []byte        `json:"profileMetadata"`
	SMDPSigned2     []byte        `json:"smdpSigned2"`
	SMDPSignature2  []byte        `json:"smdpSignature2"`
	SMDPCertificate []byte        `json:"smdpCertificate"`
}

// GetBoundProfilePackageRequest is the ES9+.GetBoundProfilePackage input (SGP.22 §5.6.2, §6.5.2.8).
type GetBoundProfilePackageRequest struct {
	TransactionID           TransactionID `json:"transactionId"`
	PrepareDownloadResponse []byte        `json:"prepareDownloadResponse"`
}

// GetBoundProfilePackageResponse is the ES9+.GetBoundProfilePackage output.
type GetBoundProfilePackageResponse struct {
	web.Response
	TransactionID       TransactionID `json:"transactionId"`
	BoundProfilePackage []byte        `json:"boundProfilePackage"`
}

// HandleNotificationRequest is the ES9+.HandleNotification input (SGP.22 §5.6.4, §6.5.2.9);
// the function answers 204 No Content.
type HandleNotificationRequest struct {
	PendingNotification []byte `json:"pendingNotification"`
}

// CancelSessionRequest is the ES9+.CancelSession input (SGP.22 §5.6.5, §6.5.2.10).
type CancelSessionRequest struct {
	TransactionID         TransactionID `json:"transactionId"`
	CancelSessionResponse []byte        `json:"cancelSessionResponse"`
}

// CancelSessionResponse is the ES9+.CancelSession output: the header only.
type CancelSessionResponse struct {
	web.Response
}
