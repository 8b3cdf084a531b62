// Package apdu is the APDU layer between an LPA and the ISD-R of an eUICC: everything between the
// bytes on the wire and the ES10x logic of the card.
//
// SGP.22 §5.7 carries every ES10x function (ES10a, ES10b, ES10c) as one DER-encoded request, such as
// GetEuiccChallengeRequest (BF2E) or AuthenticateServerRequest (BF38), sent to the ISD-R
// (AID A0000005591010FFFFFFFF8900000100) in a sequence of GlobalPlatform STORE DATA commands
// (GlobalPlatform Card Specification §11.11): CLA 0x80 on the logical channel, INS E2, P1 0x11 while
// more blocks follow and 0x91 on the last one, P2 the block number from 0. The eUICC answers the last
// block with the DER response; what does not fit in one response APDU is fetched with GET RESPONSE
// after SW 61xx (ISO/IEC 7816-4, "Status bytes"). The ISD-R is reached on a logical channel opened
// with MANAGE CHANNEL and selected with SELECT by DF name (ISO/IEC 7816-4; ETSI TS 102 221 allows a
// UICC up to 19 logical channels besides the basic channel 0).
//
// The card side is Card, a virtual UICC that decodes command APDUs, keeps per-channel state and
// hands each complete request to an Applet, the ES10x handler of the ISD-R. The LPA side is ES10,
// a client that segments requests into STORE DATA blocks over any Transport: CardTransport reaches
// a Card in the same process, and StdioTransport reaches one in another process through the
// newline-delimited JSON protocol of lpac's "stdio" APDU driver, which ServeStdio answers on the
// card side. Both of our LPAs and an external lpac thus drive the same APDU layer a physical card
// would see.
//
// Only short APDUs are handled (Lc and Le of one byte); a card without extended-length support
// answers an extended one with 6700, as this one does. Secure messaging and ISO command chaining
// are not supported (6882, 6884).
package apdu
